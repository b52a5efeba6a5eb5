//! The output format every command takes (`--output`).

use clap::ValueEnum;

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable tables and lines.
    Table,
    /// JSON (one document; JSON Lines for streamed listings).
    Json,
}
