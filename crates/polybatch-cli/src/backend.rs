//! Builds the backend an operator command talks to, from `--provider` and the configuration.
//!
//! The libraries' own `from_env()` reads the environment and credential files; flags override
//! single settings. Secrets come only from the environment or credential files.

use std::sync::Arc;

use polybatch::BatchBackend;
use polybatch::retry::RetryPolicy;
use polybatch_azure::{self as azure, AzureBatchBuilder, ClientOptions};
use polybatch_tencent::{self as tencent, Endpoint, TemporaryCredential, TencentBatchBuilder};

use crate::cli::{ConnectionArgs, OperatorArgs, ProviderName};
use crate::exit::CliError;

/// The backend for `--provider`, configured from the environment, credential files and flags.
pub async fn build(options: &OperatorArgs) -> Result<Arc<dyn BatchBackend>, CliError> {
    let mut options = options.clone();
    let profile = match &options.profile {
        Some(name) => Some(crate::profile::load(name)?),
        None => None,
    };
    if let Some(p) = &profile {
        crate::profile::apply(p, &mut options);
    }
    let provider = options.provider.ok_or_else(|| {
        CliError::usage(
            "no provider: pass --provider azure|tencent|aws, set POLYBATCH_PROVIDER, or use a \
             --profile that names one",
        )
    })?;
    let tccli = profile.as_ref().and_then(|p| p.tccli_profile.clone());
    match provider {
        ProviderName::Azure if tccli.is_some() => Err(CliError::usage(
            "the profile's tccli_profile applies to provider tencent only",
        )),
        ProviderName::Azure => azure(&options.connection),
        ProviderName::Tencent => tencent_with(&options.connection, tccli.as_deref()),
        ProviderName::Aws if tccli.is_some() => Err(CliError::usage(
            "the profile's tccli_profile applies to provider tencent only",
        )),
        ProviderName::Aws => aws(&options.connection).await,
    }
}

/// The AWS backend: the SDK reads its own configuration (`AWS_PROFILE`, `AWS_REGION`,
/// `AWS_ENDPOINT_URL`, the credential chain); flags override the region and endpoint.
async fn aws(c: &ConnectionArgs) -> Result<Arc<dyn BatchBackend>, CliError> {
    reject("aws", "--account", c.account.is_some())?;
    reject("aws", "--api-version", c.api_version.is_some())?;
    reject("aws", "--secret-id", c.secret_id.is_some())?;
    reject("aws", "--use-cvm-role", c.use_cvm_role)?;
    let mut b =
        polybatch_aws::AwsBatchBuilder::from_env().with_timeouts(c.timeout, c.total_timeout);
    // AWS_ENDPOINT_URL is the SDK's own; only the flag and the generic variable are ours.
    if let Some((e, _)) = endpoint(c, None) {
        b = b.with_endpoint_url(e);
    }
    if let Some(r) = &c.region {
        b = b.with_region(r.clone());
    }
    if let Some(n) = c.max_attempts {
        b = b.with_max_attempts(n);
    }
    match b.build().await {
        Ok(backend) => Ok(Arc::new(backend)),
        Err(e @ polybatch::Error::Configuration { .. }) => {
            Err(blame(e, c, endpoint(c, None).as_ref().map(|(_, by)| *by)))
        }
        Err(e) => Err(e.into()),
    }
}

/// The backend of `provider` with only an endpoint override (what `polybatch migrate`
/// builds for each side), configured from that provider's variables and files.
pub async fn build_for(
    provider: ProviderName,
    endpoint: Option<String>,
) -> Result<Arc<dyn BatchBackend>, CliError> {
    let c = ConnectionArgs {
        endpoint,
        ..ConnectionArgs::defaults()
    };
    match provider {
        ProviderName::Azure => azure(&c),
        ProviderName::Tencent => tencent(&c),
        ProviderName::Aws => aws(&c).await,
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

/// The generic endpoint variable, for whichever provider is chosen.
const GENERIC_ENDPOINT: &str = "POLYBATCH_ENDPOINT";

/// The endpoint the user gave, and the name to blame for a bad one: the flag, else the
/// provider's own variable (left to the library's `from_env`: `None`), else the generic one.
fn endpoint(c: &ConnectionArgs, own_variable: Option<&str>) -> Option<(String, &'static str)> {
    if let Some(e) = &c.endpoint {
        return Some((e.clone(), "--endpoint"));
    }
    let set = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if own_variable.is_some_and(|v| set(v).is_some()) {
        return None;
    }
    set(GENERIC_ENDPOINT).map(|e| (e, GENERIC_ENDPOINT))
}

fn azure(c: &ConnectionArgs) -> Result<Arc<dyn BatchBackend>, CliError> {
    reject("azure", "--region", c.region.is_some())?;
    reject("azure", "--secret-id", c.secret_id.is_some())?;
    reject("azure", "--use-cvm-role", c.use_cvm_role)?;
    let mut b = AzureBatchBuilder::from_env()?;
    let endpoint = endpoint(c, Some(azure::ENV_ENDPOINT));
    let blame = |e| blame(e, c, endpoint.as_ref().map(|(_, by)| *by));
    if let Some((e, _)) = &endpoint {
        b = b.with_endpoint(e.clone());
    }
    if let Some(a) = &c.account {
        b = b.with_account(a.clone());
    }
    if let Some(v) = &c.api_version {
        let version = polybatch_azure::parse_api_version(v).map_err(blame)?;
        b = b.with_api_version(version);
    }
    if let Some(policy) = retry_policy(c) {
        b = b.with_retry_policy(policy);
    }
    b = b.with_client_options(client_options(c));
    missing("azure", &b.missing_settings())?;
    Ok(Arc::new(b.build().map_err(blame)?))
}

/// A configuration error about a setting the user gave as a flag names the flag, not the
/// environment variable the library reads (the flag overrode it); an endpoint names where it
/// came from (`endpoint_by`: the flag or the generic variable).
fn blame(e: polybatch::Error, c: &ConnectionArgs, endpoint_by: Option<&str>) -> CliError {
    let polybatch::Error::Configuration { key, rule, .. } = &e else {
        return e.into();
    };
    if let Some(by) = endpoint_by
        && (key == azure::ENV_ENDPOINT || key == "endpoint")
    {
        return CliError::usage(format!("{by}: {rule}"));
    }
    let given = [
        (azure::ENV_ACCOUNT, "--account", c.account.is_some()),
        (
            azure::ENV_API_VERSION,
            "--api-version",
            c.api_version.is_some(),
        ),
        (tencent::ENV_REGION, "--region", c.region.is_some()),
        (tencent::ENV_SECRET_ID, "--secret-id", c.secret_id.is_some()),
    ];
    match given.iter().find(|(k, _, set)| *set && k == key) {
        Some((_, flag, _)) => CliError::usage(format!("{flag}: {rule}")),
        None => e.into(),
    }
}

/// Every required setting still missing, in one usage error naming what can give each: the
/// flag, the variables, the credentials file.
fn missing(provider: &str, missing: &[&str]) -> Result<(), CliError> {
    if missing.is_empty() {
        return Ok(());
    }
    let sources: Vec<String> = missing
        .iter()
        .map(|name| match *name {
            azure::ENV_ENDPOINT => {
                "the endpoint (--endpoint, AZURE_BATCH_ENDPOINT or POLYBATCH_ENDPOINT)".to_string()
            }
            azure::ENV_ACCESS_KEY => "credentials (AZURE_BATCH_ACCESS_KEY for Shared Key, or \
                 AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for Microsoft Entra ID, \
                 or AZURE_TOKEN_CREDENTIALS=ManagedIdentityCredential, AzureCliCredential or \
                 WorkloadIdentityCredential)"
                .to_string(),
            tencent::ENV_SECRET_ID => "the SecretId (--secret-id, TENCENTCLOUD_SECRET_ID, or \
                 secret_id in ~/.tencentcloud/credentials or the file \
                 TENCENTCLOUD_CREDENTIALS_FILE names)"
                .to_string(),
            tencent::ENV_SECRET_KEY => {
                "the SecretKey (TENCENTCLOUD_SECRET_KEY, or secret_key in the credentials file)"
                    .to_string()
            }
            tencent::ENV_REGION => "the region (--region or TENCENTCLOUD_REGION)".to_string(),
            other => other.to_string(),
        })
        .collect();
    Err(CliError::usage(format!(
        "{provider}: missing {}",
        sources.join("; ")
    )))
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
    tencent_with(c, None)
}

/// The Tencent backend; with `tccli`, that tccli profile's keys and region (below the flags,
/// above the environment).
fn tencent_with(
    c: &ConnectionArgs,
    tccli: Option<&str>,
) -> Result<Arc<dyn BatchBackend>, CliError> {
    reject("tencent", "--account", c.account.is_some())?;
    reject("tencent", "--api-version", c.api_version.is_some())?;
    let mut b = TencentBatchBuilder::from_env()?;
    if let Some(name) = tccli {
        let t = crate::profile::tccli(name)?;
        if t.cvm_role {
            b = b.with_temporary_credential(TemporaryCredential::cvm_role());
        } else if let (Some(id), Some(key)) = (t.secret_id, t.secret_key) {
            b = b.with_secret_id(id).with_secret_key(key);
            if let Some(token) = t.token {
                b = b.with_token(token);
            }
        }
        if let Some(region) = t.region {
            b = b.with_region(region);
        }
    }
    // Tencent's tools have no endpoint variable of their own.
    let endpoint = endpoint(c, None);
    let blame = |e| blame(e, c, endpoint.as_ref().map(|(_, by)| *by));
    if let Some((e, _)) = &endpoint {
        b = b.with_endpoint(tencent_endpoint(e));
    }
    if let Some(r) = &c.region {
        b = b.with_region(r.clone());
    }
    if let Some(id) = &c.secret_id {
        b = b.with_secret_id(id.clone());
    }
    if c.use_cvm_role {
        b = b.with_temporary_credential(TemporaryCredential::cvm_role());
    }
    if let Some(policy) = retry_policy(c) {
        b = b.with_retry_policy(policy);
    }
    b = b.with_client_options(client_options(c));
    missing("tencent", &b.missing_settings())?;
    Ok(Arc::new(b.build().map_err(blame)?))
}
