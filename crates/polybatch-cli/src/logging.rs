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

/// Targets of the official AWS SDK whose TRACE events dump whole signed requests
/// (`Authorization`, `x-amz-security-token`, the canonical request): capped at debug whatever
/// `RUST_LOG` says, so the CLI never prints a credential (tests/tests/secret_canary.rs).
pub const CREDENTIAL_DUMPING_TARGETS: [&str; 2] =
    ["aws_smithy_runtime::client::orchestrator", "aws_sigv4"];

/// Installs the stderr subscriber: warnings only, `--verbose` for request logs (`verbose`:
/// the filter it turns on).
pub fn init(verbose: Option<&str>) {
    let filter = capped(match (std::env::var("RUST_LOG"), verbose) {
        (Ok(s), _) if !s.is_empty() => {
            EnvFilter::try_new(s).unwrap_or_else(|_| EnvFilter::new("warn"))
        }
        (_, Some(verbose)) => EnvFilter::new(verbose),
        _ => EnvFilter::new("warn"),
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only on a terminal: logs redirected to a file or CI stay plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(true)
        .try_init();
}

/// `filter` with [`CREDENTIAL_DUMPING_TARGETS`] at debug at most.
fn capped(mut filter: EnvFilter) -> EnvFilter {
    for target in CREDENTIAL_DUMPING_TARGETS {
        if let Ok(directive) = format!("{target}=debug").parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdks_request_dumps_stay_off_even_at_trace() {
        let filter = capped(EnvFilter::new("trace"));
        let shown = filter.to_string();
        for target in CREDENTIAL_DUMPING_TARGETS {
            assert!(shown.contains(&format!("{target}=debug")), "{shown}");
        }
        assert!(shown.contains("trace"), "{shown}");
    }
}
