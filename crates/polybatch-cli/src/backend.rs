//! Builds the backend an operator command talks to, from `--provider` and the configuration.

use std::sync::Arc;

use polybatch::BatchBackend;

use crate::cli::{ConnectionArgs, ProviderName};
use crate::exit::CliError;

/// The backend for `--provider`, configured from the environment, credential files and flags.
pub fn build(
    provider: Option<ProviderName>,
    connection: &ConnectionArgs,
) -> Result<Arc<dyn BatchBackend>, CliError> {
    let provider = provider.ok_or_else(|| {
        CliError::usage("no provider: pass --provider azure|tencent or set POLYBATCH_PROVIDER")
    })?;
    let _ = connection;
    Err(CliError::usage(format!(
        "provider {} is not available yet",
        provider.as_str()
    )))
}
