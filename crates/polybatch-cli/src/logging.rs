//! `--verbose`: request-level logs of the polybatch crates on stderr.
//!
//! The clients log ids, statuses and timings at debug level and never secrets; this only
//! decides what is shown. `RUST_LOG`, when set, wins.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The filter `--verbose` turns on.
pub const VERBOSE_FILTER: &str =
    "warn,polybatch=debug,polybatch_azure=debug,polybatch_tencent=debug,polybatch_cli=debug";

/// Installs the stderr subscriber: warnings only, `--verbose` for request logs.
pub fn init(verbose: bool) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(s) if !s.is_empty() => EnvFilter::try_new(s).unwrap_or_else(|_| EnvFilter::new("warn")),
        _ if verbose => EnvFilter::new(VERBOSE_FILTER),
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
