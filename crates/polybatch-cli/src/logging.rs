//! `--verbose`: request-level logs of the polybatch crates on stderr.
//!
//! The clients log ids, statuses and timings at debug level and never secrets; this only
//! decides what is shown. `RUST_LOG`, when set, wins.

use std::io::IsTerminal;

use tracing::{Level, Metadata};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::prelude::*;

/// The filter `--verbose` turns on.
pub const VERBOSE_FILTER: &str =
    "warn,polybatch=debug,polybatch_azure=debug,polybatch_tencent=debug,polybatch_cli=debug";

/// The filter `polybatch emulator --verbose` turns on: one line per request served.
pub const EMULATOR_FILTER: &str = "warn,polybatch_emulator=info";

/// Targets of the official AWS SDK whose TRACE events dump whole signed requests
/// (`Authorization`, `x-amz-security-token`, the canonical request): their TRACE events are
/// dropped whatever `RUST_LOG` says, so the CLI never prints a credential
/// (tests/tests/secret_canary.rs).
pub const CREDENTIAL_DUMPING_TARGETS: [&str; 2] =
    ["aws_smithy_runtime::client::orchestrator", "aws_sigv4"];

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
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        // Colour only on a terminal: logs redirected to a file or CI stay plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(true)
        .with_filter(filter)
        .with_filter(filter_fn(|meta| !dumps_credentials(meta)));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// Whether an event is one of the AWS SDK's TRACE request dumps.
fn dumps_credentials(meta: &Metadata<'_>) -> bool {
    *meta.level() == Level::TRACE
        && CREDENTIAL_DUMPING_TARGETS
            .iter()
            .any(|t| meta.target().starts_with(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sdks_trace_request_dumps_are_dropped() {
        use tracing::callsite::Identifier;
        use tracing::metadata::Kind;
        struct Site;
        impl tracing::Callsite for Site {
            fn set_interest(&self, _: tracing::subscriber::Interest) {}
            fn metadata(&self) -> &Metadata<'_> {
                unreachable!()
            }
        }
        static SITE: Site = Site;
        let meta = |target: &'static str, level: Level| {
            Metadata::new(
                "event",
                target,
                level,
                None,
                None,
                None,
                tracing::field::FieldSet::new(&[], Identifier(&SITE)),
                Kind::EVENT,
            )
        };
        let orchestrator = "aws_smithy_runtime::client::orchestrator";
        assert!(dumps_credentials(&meta(orchestrator, Level::TRACE)));
        assert!(dumps_credentials(&meta(
            "aws_sigv4::http_request::sign",
            Level::TRACE
        )));
        assert!(!dumps_credentials(&meta(orchestrator, Level::DEBUG)));
        assert!(!dumps_credentials(&meta("polybatch_aws", Level::TRACE)));
    }
}
