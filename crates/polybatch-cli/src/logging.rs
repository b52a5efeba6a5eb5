//! `--verbose`: request-level logs of the polybatch crates on stderr.
//!
//! The clients log ids, statuses and timings at debug level and never secrets; this only
//! decides what is shown. `RUST_LOG`, when set, wins.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The filter `--verbose` turns on.
pub const VERBOSE_FILTER: &str =
    "warn,polybatch=debug,polybatch_azure=debug,polybatch_tencent=debug,polybatch_cli=debug";

/// The filter `polybatch emulator --verbose` turns on: one line per request served.
pub const EMULATOR_FILTER: &str = "warn,polybatch_emulator=info";

/// Installs the stderr subscriber: warnings only, `--verbose` for request logs (`verbose`:
/// the filter it turns on).
pub fn init(verbose: Option<&str>) {
    let filter = match (std::env::var("RUST_LOG"), verbose) {
        (Ok(s), _) if !s.is_empty() => {
            EnvFilter::try_new(s).unwrap_or_else(|_| EnvFilter::new("warn"))
        }
        (_, Some(verbose)) => EnvFilter::new(verbose),
        _ => EnvFilter::new("warn"),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only on a terminal: logs redirected to a file or CI stay plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(true)
        .try_init();
}
