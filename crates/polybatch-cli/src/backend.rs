//! Builds the backend an operator command talks to, from `--provider` and the configuration.
//!
//! The libraries' own `from_env()` reads the environment and credential files; flags override
//! single settings. Secrets come only from the environment or credential files.

use std::sync::Arc;

use polybatch::BatchBackend;
use polybatch::retry::RetryPolicy;
use polybatch_azure::{AzureBatchBuilder, ClientOptions};
use polybatch_tencent::{Endpoint, TencentBatchBuilder};

use crate::cli::{ConnectionArgs, OperatorArgs, ProviderName};
use crate::exit::CliError;

/// The backend for `--provider`, configured from the environment, credential files and flags.
pub fn build(options: &OperatorArgs) -> Result<Arc<dyn BatchBackend>, CliError> {
    let provider = options.provider.ok_or_else(|| {
        CliError::usage("no provider: pass --provider azure|tencent or set POLYBATCH_PROVIDER")
    })?;
    match provider {
        ProviderName::Azure => azure(&options.connection),
        ProviderName::Tencent => tencent(&options.connection),
    }
}

/// A flag that only makes sense for the other provider is a usage error, not silently ignored.
fn reject(provider: &str, flag: &str, set: bool) -> Result<(), CliError> {
    if set {
        Err(CliError::usage(format!(
            "{flag} does not apply to --provider {provider}"
        )))
    } else {
        Ok(())
    }
}

fn azure(c: &ConnectionArgs) -> Result<Arc<dyn BatchBackend>, CliError> {
    reject("azure", "--region", c.region.is_some())?;
    reject("azure", "--secret-id", c.secret_id.is_some())?;
    let mut b = AzureBatchBuilder::from_env()?;
    if let Some(e) = &c.endpoint {
        b = b.with_endpoint(e.clone());
    }
    if let Some(a) = &c.account {
        b = b.with_account(a.clone());
    }
    if let Some(v) = &c.api_version {
        let version = polybatch_azure::parse_api_version(v).map_err(|e| blame(e, c))?;
        b = b.with_api_version(version);
    }
    if let Some(policy) = retry_policy(c) {
        b = b.with_retry_policy(policy);
    }
    b = b.with_client_options(client_options(c));
    Ok(Arc::new(b.build().map_err(|e| blame(e, c))?))
}

/// A configuration error about a setting the user gave as a flag names the flag, not the
/// environment variable the library reads (the flag overrode it).
fn blame(e: polybatch::Error, c: &ConnectionArgs) -> CliError {
    let polybatch::Error::Configuration { key, rule, .. } = &e else {
        return e.into();
    };
    let given = [
        ("AZURE_BATCH_ENDPOINT", "--endpoint", c.endpoint.is_some()),
        ("endpoint", "--endpoint", c.endpoint.is_some()),
        ("AZURE_BATCH_ACCOUNT", "--account", c.account.is_some()),
        (
            "AZURE_BATCH_API_VERSION",
            "--api-version",
            c.api_version.is_some(),
        ),
        ("TENCENTCLOUD_REGION", "--region", c.region.is_some()),
        (
            "TENCENTCLOUD_SECRET_ID",
            "--secret-id",
            c.secret_id.is_some(),
        ),
    ];
    match given.iter().find(|(k, _, set)| *set && k == key) {
        Some((_, flag, _)) => CliError::usage(format!("{flag}: {rule}")),
        None => e.into(),
    }
}

/// `--timeout` and `--total-timeout`: defaults that give up in a minute on a server that
/// accepts and never answers, rather than the library's two.
fn client_options(c: &ConnectionArgs) -> ClientOptions {
    ClientOptions::default()
        .with_timeout(c.timeout)
        .with_total_timeout(c.total_timeout)
}

/// `--max-attempts` on top of the library's default policy.
fn retry_policy(c: &ConnectionArgs) -> Option<RetryPolicy> {
    c.max_attempts
        .map(|n| RetryPolicy::default().with_max_attempts(n))
}

/// `--endpoint` for Tencent: a keyword or a URL.
fn tencent_endpoint(value: &str) -> Endpoint {
    match value {
        "default" => Endpoint::Default,
        "regional" => Endpoint::Regional,
        "international" | "intl" => Endpoint::International,
        url => Endpoint::Custom(url.to_string()),
    }
}

fn tencent(c: &ConnectionArgs) -> Result<Arc<dyn BatchBackend>, CliError> {
    reject("tencent", "--account", c.account.is_some())?;
    reject("tencent", "--api-version", c.api_version.is_some())?;
    let mut b = TencentBatchBuilder::from_env()?;
    if let Some(e) = &c.endpoint {
        b = b.with_endpoint(tencent_endpoint(e));
    }
    if let Some(r) = &c.region {
        b = b.with_region(r.clone());
    }
    if let Some(id) = &c.secret_id {
        b = b.with_secret_id(id.clone());
    }
    if let Some(policy) = retry_policy(c) {
        b = b.with_retry_policy(policy);
    }
    b = b.with_client_options(client_options(c));
    Ok(Arc::new(b.build().map_err(|e| blame(e, c))?))
}
