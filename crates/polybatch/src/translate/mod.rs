//! How each provider spells a [`crate::JobSpec`]: the request bodies a submit sends and the
//! labels a status reads back, written once and used by both the provider crates' clients and
//! the in-memory flavours, so a spec means the same thing over HTTP and in memory.
//!
//! Pure functions over JSON: no I/O, no clock.

pub mod aws;
pub mod azure;
pub mod tencent;

use serde_json::{Map, Value};

use crate::error::{Error, ErrorContext, Operation, Result};
use crate::spec::{Command, JobSpec};

fn ctx(backend: &'static str) -> ErrorContext {
    ErrorContext::new(backend, Operation::SubmitJob)
}

/// One word quoted for a POSIX shell (as `shlex` does: unquoted when it is safe).
fn quote(backend: &'static str, word: &str) -> Result<String> {
    shlex::try_quote(word).map(|q| q.into_owned()).map_err(|_| {
        Error::invalid_input(
            "tasks[].command",
            "must not contain a NUL byte",
            ctx(backend),
        )
    })
}

/// An argv as one shell line whose words split back into the same argv.
fn join_argv(backend: &'static str, argv: &[String]) -> Result<String> {
    let words: Result<Vec<String>> = argv.iter().map(|a| quote(backend, a)).collect();
    Ok(words?.join(" "))
}

/// The shell line a provider that runs commands through a shell is given.
fn shell_line(backend: &'static str, command: &Command) -> Result<String> {
    match command {
        Command::Shell(line) if line.contains('\0') => Err(Error::invalid_input(
            "tasks[].command",
            "must not contain a NUL byte",
            ctx(backend),
        )),
        Command::Shell(line) => Ok(line.clone()),
        Command::Argv(argv) => join_argv(backend, argv),
    }
}

/// Merges the spec's extension for `backend` into `target`; a key the spec already sets is
/// refused rather than silently overridden either way.
fn merge_extension(
    backend: &'static str,
    spec: &JobSpec,
    target: &mut Map<String, Value>,
) -> Result<()> {
    let Some(ext) = spec.extensions.get(backend) else {
        return Ok(());
    };
    let Some(fields) = ext.as_object() else {
        return Err(Error::invalid_input(
            "extensions",
            format!("the {backend:?} extension must be a JSON object"),
            ctx(backend),
        ));
    };
    for (k, v) in fields {
        if target.contains_key(k) {
            return Err(Error::invalid_input(
                "extensions",
                format!("{backend}.{k} is set by the spec itself; set it there"),
                ctx(backend),
            ));
        }
        target.insert(k.clone(), v.clone());
    }
    Ok(())
}
