//! Exit codes and the one-line error report.
//!
//! 0: success. 1: an operation failed (the provider refused, the job was not found, the
//! network failed, a wait timed out). 2: usage or configuration error (bad flags, missing
//! credentials, a malformed id, an option the provider does not support).

use std::process::ExitCode;

use serde_json::{Value, json};

use crate::format::OutputFormat;

/// Exit code: an operation failed.
pub const FAILED: u8 = 1;
/// Exit code: usage or configuration error.
pub const USAGE: u8 = 2;

/// Why a command did not succeed: its exit code and what to print.
#[derive(Debug)]
pub struct CliError {
    code: u8,
    /// One line, safe to print (no secrets).
    message: String,
    /// The same, as JSON for `--output json`.
    json: Value,
}

impl CliError {
    /// A usage or configuration error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        let message = one_line(&message.into());
        CliError {
            code: USAGE,
            json: json!({"kind": "usage", "message": message}),
            message,
        }
    }

    /// An operation failed (exit 1).
    pub fn failed(message: impl Into<String>) -> Self {
        let message = one_line(&message.into());
        CliError {
            code: FAILED,
            json: json!({"kind": "failed", "message": message}),
            message,
        }
    }

    /// Prints the error as one line on stderr.
    pub fn report(&self, output: OutputFormat) {
        match output {
            OutputFormat::Table => eprintln!("error: {}", self.message),
            OutputFormat::Json => eprintln!("{}", json!({"error": self.json})),
        }
    }

    /// The one-line message (no secrets).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The process exit code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}

impl From<polybatch::Error> for CliError {
    fn from(e: polybatch::Error) -> Self {
        // A value the library refused before any backend saw it (a malformed id): say what is
        // wrong in the user's words, without the library's internal operation name.
        let message = match &e {
            polybatch::Error::InvalidInput { field, rule, .. } if e.backend() == "polybatch" => {
                format!("invalid {field}: {rule}")
            }
            polybatch::Error::Unsupported { option, .. } => unsupported(&e, *option),
            _ => e.to_string(),
        };
        CliError {
            code: exit_code_of(&e),
            message: one_line(&message),
            json: error_json(&e),
        }
    }
}

/// An unsupported operation or option, in the command line's words: the flag, and what to do
/// instead where there is something.
fn unsupported(e: &polybatch::Error, option: Option<&'static str>) -> String {
    use polybatch::Operation;
    let backend = e.backend();
    let flag = |o: &str| match o {
        "if_match" | "if_none_match" | "if_modified_since" | "if_unmodified_since" => {
            format!("--{}", o.replace('_', "-"))
        }
        "select" | "filter" | "reason" | "force" => format!("--{o}"),
        other => other.replace('_', " "),
    };
    let instead = match (backend, e.operation(), option) {
        ("tencent", Operation::ReactivateTask, None) => {
            "; Tencent re-runs failed tasks per job: use `polybatch job retry-failed JOB` \
             (RetryJobs, once the job is FAILED)"
        }
        ("tencent", Operation::ListPrepReleaseStatus, None) => {
            "; Tencent jobs have no preparation or release tasks"
        }
        ("tencent", Operation::TerminateJob, Some("reason")) => {
            "; Tencent records no terminate reason: leave --reason out"
        }
        ("azure", Operation::TerminateJob, Some("force")) => {
            "; --force needs --api-version 2024-07-01.20.0 or later"
        }
        _ => "",
    };
    match option {
        Some(o) => format!(
            "{backend} does not support {} on {}{instead}",
            flag(o),
            e.operation()
        ),
        None => format!("{backend} does not support {}{instead}", e.operation()),
    }
}

/// The exit code for a library error: 2 for what the user must fix before anything can be sent
/// (configuration, malformed input, unsupported options), 1 for everything else.
pub fn exit_code_of(e: &polybatch::Error) -> u8 {
    match e {
        polybatch::Error::Configuration { .. }
        | polybatch::Error::InvalidInput { .. }
        | polybatch::Error::Unsupported { .. } => USAGE,
        _ => FAILED,
    }
}

/// A library error as JSON: the stable shape documented in `docs/cli.md`.
pub fn error_json(e: &polybatch::Error) -> Value {
    json!({
        "kind": e.kind(),
        "backend": e.backend(),
        "operation": e.operation().as_str(),
        "code": e.code(),
        "request_id": e.request_id(),
        "message": one_line(&e.to_string()),
        "retryable": e.is_retryable(),
    })
}

/// Collapses line breaks so every report is one line, whatever a server put in its message.
pub fn one_line(s: &str) -> String {
    if s.contains(['\n', '\r']) {
        s.split(['\n', '\r'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        s.to_string()
    }
}

/// A TOML parse error as "line N: what", without the source line toml quotes: a config file's
/// line may hold a value that must not be echoed (a secret pasted where it does not belong).
pub fn toml_message(text: &str, e: &toml::de::Error) -> String {
    let line = e
        .span()
        .map(|span| text.get(..span.start).unwrap_or(text).matches('\n').count() + 1);
    match line {
        Some(n) => format!("line {n}: {}", one_line(e.message())),
        None => one_line(e.message()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polybatch::{ErrorContext, Operation};

    #[test]
    fn codes_by_kind() {
        let cfg = polybatch::Error::configuration("azure", "AZURE_BATCH_ACCOUNT", "is not set");
        assert_eq!(exit_code_of(&cfg), USAGE);
        let bad = polybatch::JobId::new("a b").unwrap_err();
        assert_eq!(exit_code_of(&bad), USAGE);
        let nf = polybatch::Error::not_found(
            polybatch::ResourceKind::Job,
            "j",
            ErrorContext::new("azure", Operation::JobStatus).with_code("JobNotFound"),
        );
        assert_eq!(exit_code_of(&nf), FAILED);
    }

    #[test]
    fn a_malformed_id_is_said_in_the_users_words() {
        let e = CliError::from(polybatch::JobId::new("bad id!").unwrap_err());
        assert!(e.message.starts_with("invalid job id: "), "{}", e.message);
        assert!(!e.message.contains("parse_id"), "{}", e.message);
        assert_eq!(e.code, USAGE);
    }

    #[test]
    fn messages_are_one_line() {
        let e = polybatch::Error::service(
            Some(500),
            true,
            ErrorContext::new("azure", Operation::JobStatus)
                .with_message("line one\r\nline two\n")
                .with_request_id("rid-9"),
        );
        let c = CliError::from(e);
        assert!(!c.message.contains('\n'));
        assert!(c.message.contains("line one line two"));
        assert!(c.message.contains("rid-9"));
        assert_eq!(c.json["request_id"], "rid-9");
    }
}
