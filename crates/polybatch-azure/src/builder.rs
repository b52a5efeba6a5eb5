//! [`AzureBatchBuilder`]: configuration from code or the environment, checked once in
//! [`AzureBatchBuilder::build`].

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use polybatch_http::Proxy;

use polybatch::clock::{Clock, SystemClock};
use polybatch::rate::{ActionLimiter, PermitSource};
use polybatch::retry::RetryPolicy;
use polybatch::secret::Secret;
use polybatch::{Error, Result};
use polybatch_http::{ClientOptions, parse_endpoint};
use url::Url;

use crate::ApiVersion;
use crate::BACKEND;
use crate::backend::AzureBatchBackend;
use crate::client::Client;
use crate::credential::{
    ClientSecretSource, Credential, IdentitySource, IdentityTransport, KeyBytes, TokenCache,
    authority_host, batch_scope, cloud_configuration, sdk_reason,
};
use crate::signing;

/// `https://{account}.{region}.batch.azure.com` (or a sovereign cloud's host).
pub const ENV_ENDPOINT: &str = "AZURE_BATCH_ENDPOINT";
/// The Batch account name (derived from the endpoint when unset).
pub const ENV_ACCOUNT: &str = "AZURE_BATCH_ACCOUNT";
/// The base64 account access key (Shared Key).
pub const ENV_ACCESS_KEY: &str = "AZURE_BATCH_ACCESS_KEY";
/// The Microsoft Entra ID tenant (client credentials).
pub const ENV_TENANT_ID: &str = "AZURE_TENANT_ID";
/// The application (client) id (client credentials).
pub const ENV_CLIENT_ID: &str = "AZURE_CLIENT_ID";
/// The client secret (client credentials).
pub const ENV_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
/// The Entra ID authority host (default: the endpoint cloud's, `https://login.microsoftonline.com`
/// for the public cloud).
pub const ENV_AUTHORITY_HOST: &str = "AZURE_AUTHORITY_HOST";
/// The api-version (default `2024-07-01.20.0`).
pub const ENV_API_VERSION: &str = "AZURE_BATCH_API_VERSION";
/// Which Entra ID credential to use, as the Azure SDKs' `DefaultAzureCredential` reads it:
/// `EnvironmentCredential`, `WorkloadIdentityCredential`, `ManagedIdentityCredential`,
/// `AzureCliCredential`, or `dev` (the Azure CLI) / `prod` (environment, then workload
/// identity, then managed identity).
pub const ENV_TOKEN_CREDENTIALS: &str = "AZURE_TOKEN_CREDENTIALS";
/// A PKCS #12 client certificate for Entra ID (with `AZURE_TENANT_ID` and `AZURE_CLIENT_ID`).
pub const ENV_CLIENT_CERTIFICATE_PATH: &str = "AZURE_CLIENT_CERTIFICATE_PATH";
/// The client certificate's password.
pub const ENV_CLIENT_CERTIFICATE_PASSWORD: &str = "AZURE_CLIENT_CERTIFICATE_PASSWORD";
/// The projected service account token of AKS workload identity.
pub const ENV_FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";
/// Set by App Service and Functions when the app has a managed identity.
pub const ENV_IDENTITY_ENDPOINT: &str = "IDENTITY_ENDPOINT";

/// A Microsoft Entra ID sign-in through the official `azure_identity` credentials, which
/// cache and refresh their tokens; polybatch asks them for the Batch scope of the endpoint's
/// cloud and sends their requests through its own HTTP client ([`ClientOptions`]).
#[derive(Clone)]
#[non_exhaustive]
pub enum EntraIdentity {
    /// Any token source: an `azure_identity` credential built by the caller, or their own
    /// [`TokenCredential`].
    Credential(Arc<dyn TokenCredential>),
    /// The managed identity of the Azure VM, VM scale set, App Service or Functions app
    /// (`azure_identity::ManagedIdentityCredential`): system-assigned, or user-assigned by
    /// client id. Its requests never use the system proxy (the instance metadata service is
    /// link-local); an explicit [`Proxy::Url`] is honoured.
    ManagedIdentity {
        /// A user-assigned identity's client id; `None` for the system-assigned one.
        client_id: Option<String>,
    },
    /// AKS workload identity (`azure_identity::WorkloadIdentityCredential`): the federated
    /// service account token in `token_file`, re-read as the kubelet rotates it.
    WorkloadIdentity {
        /// The tenant (`AZURE_TENANT_ID`).
        tenant_id: String,
        /// The application (`AZURE_CLIENT_ID`).
        client_id: String,
        /// The token file (`AZURE_FEDERATED_TOKEN_FILE`).
        token_file: PathBuf,
    },
    /// The account signed in to the Azure CLI (`az account get-access-token`).
    AzureCli {
        /// The tenant to ask for a token in; `None` for the CLI's current one.
        tenant_id: Option<String>,
    },
    /// A service principal's client certificate: a PKCS #12 file with its RSA private key
    /// (needs the `client-certificate` feature, on by default).
    ClientCertificate {
        /// The tenant (`AZURE_TENANT_ID`).
        tenant_id: String,
        /// The application (`AZURE_CLIENT_ID`).
        client_id: String,
        /// The PKCS #12 file (`AZURE_CLIENT_CERTIFICATE_PATH`).
        certificate_path: PathBuf,
        /// Its password (`AZURE_CLIENT_CERTIFICATE_PASSWORD`), if any.
        password: Option<Secret>,
    },
}

impl fmt::Debug for EntraIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntraIdentity::Credential(_) => f.write_str("Credential(..)"),
            EntraIdentity::ManagedIdentity { client_id } => f
                .debug_struct("ManagedIdentity")
                .field("client_id", client_id)
                .finish(),
            EntraIdentity::WorkloadIdentity {
                tenant_id,
                client_id,
                token_file,
            } => f
                .debug_struct("WorkloadIdentity")
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("token_file", token_file)
                .finish(),
            EntraIdentity::AzureCli { tenant_id } => f
                .debug_struct("AzureCli")
                .field("tenant_id", tenant_id)
                .finish(),
            EntraIdentity::ClientCertificate {
                tenant_id,
                client_id,
                certificate_path,
                password,
            } => f
                .debug_struct("ClientCertificate")
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("certificate_path", certificate_path)
                .field("password", password)
                .finish(),
        }
    }
}

impl EntraIdentity {
    /// The `azure_identity` type name, for Debug and errors.
    fn kind(&self) -> &'static str {
        match self {
            EntraIdentity::Credential(_) => "TokenCredential",
            EntraIdentity::ManagedIdentity { .. } => "ManagedIdentityCredential",
            EntraIdentity::WorkloadIdentity { .. } => "WorkloadIdentityCredential",
            EntraIdentity::AzureCli { .. } => "AzureCliCredential",
            EntraIdentity::ClientCertificate { .. } => "ClientCertificateCredential",
        }
    }
}

/// Host suffixes of Batch endpoints, from which the account name can be derived.
const BATCH_HOST_SUFFIXES: &[&str] = &[
    ".batch.azure.com",
    ".batch.chinacloudapi.cn",
    ".batch.usgovcloudapi.net",
];

/// The default per-attempt HTTP timeout: longer than the 30 s the service may spend (the
/// shared [`polybatch_http::DEFAULT_TIMEOUT`]).
pub const DEFAULT_TIMEOUT: Duration = polybatch_http::DEFAULT_TIMEOUT;

/// Builds an [`AzureBatchBackend`].
///
/// Give an endpoint and exactly one credential: a Shared Key (account + base64 key) or
/// Microsoft Entra ID client credentials (tenant, client id, client secret).
///
/// ```
/// use polybatch_azure::{ApiVersion, AzureBatchBuilder};
///
/// let backend = AzureBatchBuilder::new()
///     .with_endpoint("https://myaccount.westus.batch.azure.com")
///     .with_shared_key("MDEyMzQ1Njc4OWFiY2RlZg==")
///     .with_api_version(ApiVersion::V2025_06_01)
///     .build()?;
/// assert_eq!(backend.account(), "myaccount");
/// # Ok::<(), polybatch::Error>(())
/// ```
#[derive(Clone)]
pub struct AzureBatchBuilder {
    endpoint: Option<String>,
    account: Option<String>,
    shared_key: Option<Secret>,
    tenant_id: Option<String>,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    authority_host: Option<String>,
    identity: Option<EntraIdentity>,
    identity_http: Option<Arc<dyn azure_core::http::HttpClient>>,
    api_version: ApiVersion,
    retry_policy: RetryPolicy,
    clock: Arc<dyn Clock>,
    client_options: ClientOptions,
    /// Adapt to throttling (default on).
    adaptive: bool,
    permits: Option<Arc<dyn PermitSource>>,
}

/// Parses an api-version as configured; an unsupported one is `Error::Configuration` naming
/// `AZURE_BATCH_API_VERSION` and listing the supported versions.
pub fn parse_api_version(value: &str) -> Result<ApiVersion> {
    value.parse().map_err(|e: crate::UnknownApiVersion| {
        Error::configuration(BACKEND, ENV_API_VERSION, e.to_string())
    })
}

impl fmt::Debug for AzureBatchBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureBatchBuilder")
            .field("endpoint", &self.endpoint)
            .field("account", &self.account)
            .field("shared_key", &self.shared_key)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("authority_host", &self.authority_host)
            .field("identity", &self.identity)
            .field("identity_http", &self.identity_http.as_ref().map(|_| ".."))
            .field("api_version", &self.api_version)
            .field("retry_policy", &self.retry_policy)
            .field("client_options", &self.client_options)
            .field("adaptive_rate_limits", &self.adaptive)
            .field("permit_source", &self.permits)
            .finish()
    }
}

impl Default for AzureBatchBuilder {
    fn default() -> Self {
        AzureBatchBuilder::new()
    }
}

fn non_empty(value: impl Into<String>) -> Option<String> {
    let v = value.into();
    let trimmed = v.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

impl AzureBatchBuilder {
    /// An empty builder: default api-version, retry policy, system clock and
    /// [`ClientOptions`] (60 s per attempt).
    pub fn new() -> Self {
        AzureBatchBuilder {
            endpoint: None,
            account: None,
            shared_key: None,
            tenant_id: None,
            client_id: None,
            client_secret: None,
            authority_host: None,
            identity: None,
            identity_http: None,
            api_version: ApiVersion::default(),
            retry_policy: RetryPolicy::default(),
            clock: Arc::new(SystemClock),
            client_options: ClientOptions::default(),
            adaptive: true,
            permits: None,
        }
    }

    /// A builder from the process environment (see [`AzureBatchBuilder::from_env_map`]).
    pub fn from_env() -> Result<Self> {
        AzureBatchBuilder::from_env_map(std::env::vars())
    }

    /// A builder from `(name, value)` pairs: `AZURE_BATCH_ENDPOINT`, `AZURE_BATCH_ACCOUNT`,
    /// `AZURE_BATCH_ACCESS_KEY`, `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`,
    /// `AZURE_AUTHORITY_HOST` and `AZURE_BATCH_API_VERSION`, and for the other Entra ID
    /// sign-ins ([`EntraIdentity`]) the variables the Azure SDKs read:
    ///
    /// - `AZURE_TOKEN_CREDENTIALS` names one: `EnvironmentCredential` (a client secret, else
    ///   `AZURE_CLIENT_CERTIFICATE_PATH`), `WorkloadIdentityCredential`,
    ///   `ManagedIdentityCredential`, `AzureCliCredential`, `dev` (the Azure CLI) or `prod`
    ///   (the first of environment, workload identity and managed identity that is configured;
    ///   managed identity otherwise);
    /// - unset, and with neither a Shared Key nor a client secret: a client certificate when
    ///   `AZURE_CLIENT_CERTIFICATE_PATH` is set, else workload identity when
    ///   `AZURE_FEDERATED_TOKEN_FILE` is, else managed identity when App Service's
    ///   `IDENTITY_ENDPOINT` is. A VM's managed identity and the Azure CLI are never guessed
    ///   (off Azure, a metadata probe would only delay the error): name them.
    ///
    /// Empty values count as unset; other names are ignored. Fails only on a malformed
    /// api-version or an unknown `AZURE_TOKEN_CREDENTIALS`; everything else is checked by
    /// [`AzureBatchBuilder::build`].
    pub fn from_env_map<I>(vars: I) -> Result<Self>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let vars: HashMap<String, String> = vars
            .into_iter()
            .filter_map(|(k, v)| non_empty(v).map(|v| (k, v)))
            .collect();
        let get = |k: &str| vars.get(k).cloned();
        let mut b = AzureBatchBuilder::new();
        b.endpoint = get(ENV_ENDPOINT);
        b.account = get(ENV_ACCOUNT);
        b.shared_key = get(ENV_ACCESS_KEY).map(Secret::new);
        b.tenant_id = get(ENV_TENANT_ID);
        b.client_id = get(ENV_CLIENT_ID);
        b.client_secret = get(ENV_CLIENT_SECRET).map(Secret::new);
        b.authority_host = get(ENV_AUTHORITY_HOST);
        if let Some(v) = get(ENV_API_VERSION) {
            b.api_version = parse_api_version(&v)?;
        }
        let certificate = || {
            Some(EntraIdentity::ClientCertificate {
                tenant_id: get(ENV_TENANT_ID)?,
                client_id: get(ENV_CLIENT_ID)?,
                certificate_path: PathBuf::from(get(ENV_CLIENT_CERTIFICATE_PATH)?),
                password: get(ENV_CLIENT_CERTIFICATE_PASSWORD).map(Secret::new),
            })
        };
        let workload = || {
            Some(EntraIdentity::WorkloadIdentity {
                tenant_id: get(ENV_TENANT_ID)?,
                client_id: get(ENV_CLIENT_ID)?,
                token_file: PathBuf::from(get(ENV_FEDERATED_TOKEN_FILE)?),
            })
        };
        let managed = || EntraIdentity::ManagedIdentity {
            client_id: get(ENV_CLIENT_ID),
        };
        let has_secret = b.client_secret.is_some();
        let identity = match get(ENV_TOKEN_CREDENTIALS).as_deref() {
            None if b.shared_key.is_some() || has_secret => None,
            None => certificate().or_else(workload).or_else(|| {
                get(ENV_IDENTITY_ENDPOINT)
                    .is_some()
                    .then(managed)
            }),
            Some(named) => match named.to_ascii_lowercase().as_str() {
                // A client secret is this crate's own flow (below); a certificate is not.
                "environmentcredential" if has_secret => None,
                "environmentcredential" => Some(certificate().ok_or_else(|| {
                    Error::configuration(
                        BACKEND,
                        ENV_TOKEN_CREDENTIALS,
                        format!(
                            "EnvironmentCredential needs {ENV_TENANT_ID} and {ENV_CLIENT_ID} with {ENV_CLIENT_SECRET} or {ENV_CLIENT_CERTIFICATE_PATH}"
                        ),
                    )
                })?),
                "workloadidentitycredential" => Some(workload().ok_or_else(|| {
                    Error::configuration(
                        BACKEND,
                        ENV_TOKEN_CREDENTIALS,
                        format!(
                            "WorkloadIdentityCredential needs {ENV_TENANT_ID}, {ENV_CLIENT_ID} and {ENV_FEDERATED_TOKEN_FILE}"
                        ),
                    )
                })?),
                "managedidentitycredential" => Some(managed()),
                "azureclicredential" | "dev" => Some(EntraIdentity::AzureCli {
                    tenant_id: get(ENV_TENANT_ID),
                }),
                "prod" if has_secret => None,
                "prod" => Some(certificate().or_else(workload).unwrap_or_else(managed)),
                _ => {
                    return Err(Error::configuration(
                        BACKEND,
                        ENV_TOKEN_CREDENTIALS,
                        format!(
                            "{named:?} is not one of EnvironmentCredential, WorkloadIdentityCredential, ManagedIdentityCredential, AzureCliCredential, dev, prod"
                        ),
                    ));
                }
            },
        };
        if identity.is_some() {
            // The tenant and client id belong to the identity, not to a client secret.
            b.tenant_id = None;
            b.client_id = None;
            b.client_secret = None;
            b.identity = identity;
        }
        Ok(b)
    }

    /// The account endpoint, e.g. `https://myaccount.westus.batch.azure.com` (plain http only
    /// to loopback, for emulators).
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = non_empty(endpoint);
        self
    }

    /// The account name (default: the endpoint's first host label). Azure account names are
    /// 3 to 24 lowercase letters and digits; [`AzureBatchBuilder::build`] refuses any other.
    pub fn with_account(mut self, account: impl Into<String>) -> Self {
        self.account = non_empty(account);
        self
    }

    /// Shared Key authentication with the account's base64 access key. Replaces an
    /// [`EntraIdentity`] given before.
    pub fn with_shared_key(mut self, base64_key: impl Into<String>) -> Self {
        self.identity = None;
        self.shared_key = non_empty(base64_key).map(Secret::new);
        self
    }

    /// Microsoft Entra ID client-credentials authentication.
    pub fn with_client_credentials(
        mut self,
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        self.identity = None;
        self.tenant_id = non_empty(tenant_id);
        self.client_id = non_empty(client_id);
        self.client_secret = non_empty(client_secret).map(Secret::new);
        self
    }

    /// Microsoft Entra ID through an `azure_identity` credential or any [`TokenCredential`]
    /// ([`EntraIdentity`]). Replaces a Shared Key or client secret given before.
    pub fn with_entra_identity(mut self, identity: EntraIdentity) -> Self {
        self.shared_key = None;
        self.tenant_id = None;
        self.client_id = None;
        self.client_secret = None;
        self.identity = Some(identity);
        self
    }

    /// The HTTP client the [`EntraIdentity`] credentials send their token requests through
    /// (default: polybatch's own, with these [`ClientOptions`]): for a transport of your own,
    /// or a test double standing in for the metadata service and Entra ID.
    pub fn with_identity_http_client(
        mut self,
        client: Arc<dyn azure_core::http::HttpClient>,
    ) -> Self {
        self.identity_http = Some(client);
        self
    }

    /// Shorthand for [`with_entra_identity`](Self::with_entra_identity)`(`[`EntraIdentity::Credential`]`)`.
    pub fn with_token_credential(self, credential: Arc<dyn TokenCredential>) -> Self {
        self.with_entra_identity(EntraIdentity::Credential(credential))
    }

    /// The Entra ID authority host (default: the endpoint cloud's, `https://login.microsoftonline.com`
    /// for the public cloud).
    pub fn with_authority_host(mut self, host: impl Into<String>) -> Self {
        self.authority_host = non_empty(host);
        self
    }

    /// The api-version (default [`ApiVersion::V2024_07_01_20_0`]).
    pub fn with_api_version(mut self, version: ApiVersion) -> Self {
        self.api_version = version;
        self
    }

    /// The retry policy (default [`RetryPolicy::default`]).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// Turns adaptation to throttling on (the default) or off. Azure Batch documents no
    /// request rates, so nothing is limited until the account answers 429 or 503
    /// `ServerBusy`; from then on that operation is sent more slowly and recovers as answers
    /// succeed, in the manner of the AWS SDKs' adaptive retry mode
    /// ([`polybatch::rate::AdaptiveRate`]), on top of the retry loop's wait for `Retry-After`.
    pub fn with_adaptive_rate_limits(mut self, on: bool) -> Self {
        self.adaptive = on;
        self
    }

    /// Takes rate-limit permits from `permits` instead of this process's own (a store a fleet
    /// shares, `polybatch-redis`), for operations that adaptation has limited.
    pub fn with_permit_source(mut self, permits: Arc<dyn PermitSource>) -> Self {
        self.permits = Some(permits);
        self
    }

    /// The clock `ocp-date` is read from (default the system clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The per-attempt HTTP timeout (default 60 s): shorthand for
    /// [`ClientOptions::with_timeout`] on the current client options. Keep it above 30 s: the
    /// service may spend up to 30 s on a request.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.client_options = self.client_options.with_timeout(timeout);
        self
    }

    /// How the HTTP clients connect: timeouts, proxy, user agent, extra TLS roots (default
    /// [`ClientOptions::default`]). Used for the Batch endpoint and for the Entra ID token
    /// endpoint alike. Replaces any earlier [`AzureBatchBuilder::with_timeout`].
    ///
    /// Each attempt is bounded by the options' per-attempt timeout, and the whole call by the
    /// retry policy's total budget ([`AzureBatchBuilder::with_retry_policy`]).
    pub fn with_client_options(mut self, options: ClientOptions) -> Self {
        self.client_options = options;
        self
    }

    /// The required settings not given yet (the endpoint, `AZURE_BATCH_ENDPOINT`; credentials,
    /// `AZURE_BATCH_ACCESS_KEY` standing for either kind), so a caller can report them all at
    /// once. Empty does not mean [`build`](Self::build) succeeds: it still checks each value.
    pub fn missing_settings(&self) -> Vec<&'static str> {
        let no_credentials = self.shared_key.is_none()
            && self.identity.is_none()
            && self.tenant_id.is_none()
            && self.client_id.is_none()
            && self.client_secret.is_none();
        [
            (ENV_ENDPOINT, self.endpoint.is_none()),
            (ENV_ACCESS_KEY, no_credentials),
        ]
        .into_iter()
        .filter_map(|(name, missing)| missing.then_some(name))
        .collect()
    }

    /// Checks the configuration and builds the backend.
    ///
    /// Fails with `Error::Configuration` naming the environment variable of the setting that
    /// is missing or malformed: no endpoint, an endpoint that is not https (http is allowed to
    /// loopback only), a key that is not base64, no account name for Shared Key, or not
    /// exactly one of Shared Key and client credentials; or naming the client option that is
    /// malformed (see [`ClientOptions::build_client`]).
    pub fn build(self) -> Result<AzureBatchBackend> {
        if self.missing_settings().len() > 1 {
            return Err(Error::configuration(
                BACKEND,
                ENV_ENDPOINT,
                format!(
                    "missing, and so are credentials: set the endpoint and {ENV_ACCESS_KEY} (Shared Key) or {ENV_TENANT_ID}, {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET} (Microsoft Entra ID)"
                ),
            ));
        }
        let raw_endpoint = self.endpoint.as_deref().ok_or_else(|| {
            Error::configuration(
                BACKEND,
                ENV_ENDPOINT,
                "missing; set the Batch account endpoint, e.g. https://myaccount.westus.batch.azure.com",
            )
        })?;
        let endpoint = parse_endpoint(BACKEND, ENV_ENDPOINT, raw_endpoint)?;
        if endpoint.query().is_some() || endpoint.fragment().is_some() {
            return Err(Error::configuration(
                BACKEND,
                ENV_ENDPOINT,
                "must not have a query or fragment",
            ));
        }
        // Checked before anything is sent: a name Azure would never give an account is a
        // configuration mistake, not something for the service to refuse.
        let account = match &self.account {
            Some(a) => Some(validate_account(a, ENV_ACCOUNT)?),
            None => account_from_host(&endpoint)
                .map(|a| validate_account(&a, ENV_ENDPOINT))
                .transpose()?,
        };

        let entra_set = self.identity.is_some()
            || self.tenant_id.is_some()
            || self.client_id.is_some()
            || self.client_secret.is_some();
        let http = self.client_options.build_client(BACKEND, &endpoint)?;
        let credential = match (&self.shared_key, entra_set) {
            (Some(_), true) => {
                return Err(Error::configuration(
                    BACKEND,
                    ENV_ACCESS_KEY,
                    format!(
                        "both a Shared Key and Entra ID client credentials are set; set either {ENV_ACCESS_KEY} or {ENV_TENANT_ID}, {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET}"
                    ),
                ));
            }
            (None, false) => {
                return Err(Error::configuration(
                    BACKEND,
                    ENV_ACCESS_KEY,
                    format!(
                        "no credentials; set {ENV_ACCESS_KEY} (Shared Key) or {ENV_TENANT_ID}, {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET} (Microsoft Entra ID)"
                    ),
                ));
            }
            (Some(key), false) => {
                let decoded = signing::decode_key(key.expose())
                    .map_err(|e| Error::configuration(BACKEND, ENV_ACCESS_KEY, e.to_string()))?;
                let account = account.clone().ok_or_else(|| {
                    Error::configuration(
                        BACKEND,
                        ENV_ACCOUNT,
                        format!(
                            "missing; Shared Key needs the account name, and the endpoint host {:?} is not {{account}}.{{region}}.batch.azure.com",
                            endpoint.host_str().unwrap_or("")
                        ),
                    )
                })?;
                Credential::SharedKey {
                    account,
                    key: Secret::new(key.expose().trim()),
                    decoded: std::sync::Arc::new(KeyBytes::new(decoded)),
                }
            }
            (None, true) if self.identity.is_some() => {
                let identity = self
                    .identity
                    .clone()
                    .ok_or_else(|| missing(ENV_TENANT_ID))?;
                self.identity_credential(identity, &endpoint)?
            }
            (None, true) => {
                let tenant = self
                    .tenant_id
                    .as_deref()
                    .ok_or_else(|| missing(ENV_TENANT_ID))?;
                if tenant.contains(['/', '?', '#', '\\']) {
                    return Err(Error::configuration(
                        BACKEND,
                        ENV_TENANT_ID,
                        "must be a tenant id or domain, not a URL or path",
                    ));
                }
                let client_id = self
                    .client_id
                    .clone()
                    .ok_or_else(|| missing(ENV_CLIENT_ID))?;
                let secret = self
                    .client_secret
                    .clone()
                    .ok_or_else(|| missing(ENV_CLIENT_SECRET))?;
                let authority = parse_endpoint(
                    BACKEND,
                    ENV_AUTHORITY_HOST,
                    self.authority_host
                        .as_deref()
                        .unwrap_or_else(|| authority_host(&endpoint)),
                )?;
                let token_http = self.client_options.build_client(BACKEND, &authority)?;
                let source = ClientSecretSource::new(
                    token_http,
                    &authority,
                    tenant,
                    batch_scope(&endpoint),
                    client_id,
                    secret,
                )?;
                Credential::Entra(Arc::new(TokenCache::new(Arc::new(source))))
            }
        };

        let account = account.unwrap_or_else(|| endpoint.host_str().unwrap_or("").to_string());
        let limiter = self.limiter();
        Ok(AzureBatchBackend::from_client(Client {
            http,
            endpoint,
            account,
            credential,
            api_version: self.api_version,
            retry: polybatch_http::capped_retry(self.retry_policy, &self.client_options),
            clock: self.clock,
            limiter,
        }))
    }
}

impl AzureBatchBuilder {
    /// No configured quotas (Azure documents none): adaptation only.
    fn limiter(&self) -> ActionLimiter {
        let limiter = ActionLimiter::new(|_| None).with_adaptive(self.adaptive);
        match &self.permits {
            Some(p) => limiter.with_permits(p.clone()),
            None => limiter,
        }
    }

    /// The token cache over `identity`, built as `azure_identity` builds it, with polybatch's
    /// HTTP client and the endpoint's cloud.
    // `..Default::default()` keeps these option structs building when azure_identity adds a
    // field (it has test-only ones already).
    #[allow(clippy::needless_update)]
    fn identity_credential(&self, identity: EntraIdentity, endpoint: &Url) -> Result<Credential> {
        let kind = identity.kind();
        let scope = batch_scope(endpoint);
        let refused = |key: &'static str| {
            move |e: azure_core::Error| {
                Error::configuration(BACKEND, key, format!("{kind}: {}", sdk_reason(&e)))
            }
        };
        // Requests to the token endpoint: the authority host's client (proxy rules follow its
        // URL), in the endpoint's cloud unless AZURE_AUTHORITY_HOST names another.
        let authority = parse_endpoint(
            BACKEND,
            ENV_AUTHORITY_HOST,
            self.authority_host
                .as_deref()
                .unwrap_or_else(|| authority_host(endpoint)),
        )?;
        let transport = |url: &Url, proxy: Proxy| -> Result<azure_core::http::Transport> {
            Ok(match &self.identity_http {
                Some(client) => azure_core::http::Transport::new(client.clone()),
                None => {
                    let http = self
                        .client_options
                        .clone()
                        .with_proxy(proxy)
                        .build_client(BACKEND, url)?;
                    IdentityTransport::new(http).transport()
                }
            })
        };
        let options = || -> Result<azure_core::http::ClientOptions> {
            Ok(azure_core::http::ClientOptions {
                transport: Some(transport(&authority, self.client_options.proxy().clone())?),
                cloud: Some(Arc::new(cloud_configuration(&authority))),
                ..Default::default()
            })
        };
        let credential: Arc<dyn TokenCredential> = match identity {
            EntraIdentity::Credential(c) => c,
            EntraIdentity::ManagedIdentity { client_id } => {
                let proxy = match self.client_options.proxy() {
                    Proxy::Url(u) => Proxy::Url(u.clone()),
                    _ => Proxy::None,
                };
                let imds = Url::parse("http://169.254.169.254/").map_err(|e| {
                    Error::configuration(BACKEND, "managed identity", e.to_string())
                })?;
                let options = azure_identity::ManagedIdentityCredentialOptions {
                    user_assigned_id: client_id.map(azure_identity::UserAssignedId::ClientId),
                    client_options: azure_core::http::ClientOptions {
                        transport: Some(transport(&imds, proxy)?),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                azure_identity::ManagedIdentityCredential::new(Some(options))
                    .map_err(refused(ENV_CLIENT_ID))?
            }
            EntraIdentity::WorkloadIdentity {
                tenant_id,
                client_id,
                token_file,
            } => {
                let options = azure_identity::WorkloadIdentityCredentialOptions {
                    credential_options: azure_identity::ClientAssertionCredentialOptions {
                        client_options: options()?,
                        ..Default::default()
                    },
                    client_id: Some(client_id),
                    tenant_id: Some(tenant_id),
                    token_file_path: Some(token_file),
                };
                azure_identity::WorkloadIdentityCredential::new(Some(options))
                    .map_err(refused(ENV_FEDERATED_TOKEN_FILE))?
            }
            EntraIdentity::AzureCli { tenant_id } => {
                let options = azure_identity::AzureCliCredentialOptions {
                    tenant_id,
                    ..Default::default()
                };
                azure_identity::AzureCliCredential::new(Some(options))
                    .map_err(refused(ENV_TENANT_ID))?
            }
            #[cfg(feature = "client-certificate")]
            EntraIdentity::ClientCertificate {
                tenant_id,
                client_id,
                certificate_path,
                password,
            } => {
                let bytes = std::fs::read(&certificate_path).map_err(|e| {
                    Error::configuration(
                        BACKEND,
                        ENV_CLIENT_CERTIFICATE_PATH,
                        format!("cannot read {} ({e})", certificate_path.display()),
                    )
                })?;
                let options = azure_identity::ClientCertificateCredentialOptions {
                    client_options: options()?,
                    password: password
                        .map(|p| azure_core::credentials::Secret::new(p.expose().to_string())),
                    ..Default::default()
                };
                azure_identity::ClientCertificateCredential::new(
                    tenant_id,
                    client_id,
                    azure_core::credentials::SecretBytes::new(bytes),
                    Some(options),
                )
                .map_err(refused(ENV_CLIENT_CERTIFICATE_PATH))?
            }
            #[cfg(not(feature = "client-certificate"))]
            EntraIdentity::ClientCertificate { .. } => {
                return Err(Error::configuration(
                    BACKEND,
                    ENV_CLIENT_CERTIFICATE_PATH,
                    "needs polybatch-azure's client-certificate feature",
                ));
            }
        };
        let source = IdentitySource::new(credential, scope, kind);
        Ok(Credential::Entra(Arc::new(TokenCache::new(Arc::new(
            source,
        )))))
    }
}

fn missing(key: &'static str) -> Error {
    Error::configuration(
        BACKEND,
        key,
        format!(
            "missing; Entra ID client credentials need {ENV_TENANT_ID}, {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET}"
        ),
    )
}

/// Whether `name` is a Batch account name as Azure allows it: 3 to 24 characters, lowercase
/// letters and digits only (the Microsoft.Batch naming rule for `batchAccounts`).
pub(crate) fn is_account_name(name: &str) -> bool {
    (3..=24).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

const ACCOUNT_RULE: &str =
    "must be 3 to 24 lowercase letters and digits, as Azure names Batch accounts";

/// Checks an account name; `key` is the setting it came from.
fn validate_account(account: &str, key: &'static str) -> Result<String> {
    if is_account_name(account) {
        Ok(account.to_string())
    } else if key == ENV_ACCOUNT {
        Err(Error::configuration(
            BACKEND,
            key,
            format!("{ACCOUNT_RULE} (got {account:?})"),
        ))
    } else {
        Err(Error::configuration(
            BACKEND,
            key,
            format!("the account name {account:?} in the host {ACCOUNT_RULE}"),
        ))
    }
}

/// `myaccount` from `myaccount.westus.batch.azure.com`.
fn account_from_host(endpoint: &Url) -> Option<String> {
    let host = endpoint.host_str()?.to_ascii_lowercase();
    let prefix = BATCH_HOST_SUFFIXES
        .iter()
        .find_map(|s| host.strip_suffix(s))?;
    let (account, region) = prefix.split_once('.')?;
    (!account.is_empty() && !region.is_empty() && !region.contains('.'))
        .then(|| account.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use polybatch_http::Proxy;

    const KEY: &str =
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZg==";

    fn env(pairs: &[(&str, &str)]) -> Result<AzureBatchBackend> {
        AzureBatchBuilder::from_env_map(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))?
            .build()
    }

    fn config_key(r: Result<AzureBatchBackend>) -> String {
        match r {
            Err(Error::Configuration { key, .. }) => key.into_owned(),
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }

    fn identity_of(pairs: &[(&str, &str)]) -> Option<&'static str> {
        let mut all = vec![(ENV_ENDPOINT, "https://myaccount.westus.batch.azure.com")];
        all.extend_from_slice(pairs);
        AzureBatchBuilder::from_env_map(all.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .unwrap()
            .identity
            .map(|i| i.kind())
    }

    #[test]
    fn the_environment_picks_the_entra_identity_as_the_azure_sdks_do() {
        let ids = [(ENV_TENANT_ID, "t"), (ENV_CLIENT_ID, "c")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = ids.to_vec();
            v.extend_from_slice(extra);
            identity_of(&v)
        };
        // A client secret is this crate's own flow; nothing else is guessed without a hint.
        assert_eq!(with(&[(ENV_CLIENT_SECRET, "s")]), None);
        assert_eq!(with(&[]), None);
        assert_eq!(
            with(&[(ENV_CLIENT_CERTIFICATE_PATH, "/c.pfx")]),
            Some("ClientCertificateCredential")
        );
        assert_eq!(
            with(&[(ENV_FEDERATED_TOKEN_FILE, "/t")]),
            Some("WorkloadIdentityCredential")
        );
        assert_eq!(
            identity_of(&[(ENV_IDENTITY_ENDPOINT, "http://localhost:8081/msi/token")]),
            Some("ManagedIdentityCredential")
        );
        // A Shared Key wins over guesses.
        assert_eq!(
            identity_of(&[(ENV_ACCESS_KEY, KEY), (ENV_FEDERATED_TOKEN_FILE, "/t")]),
            None
        );
        // AZURE_TOKEN_CREDENTIALS names one, case-insensitively.
        for (named, kind) in [
            ("ManagedIdentityCredential", "ManagedIdentityCredential"),
            ("azureclicredential", "AzureCliCredential"),
            ("dev", "AzureCliCredential"),
            ("prod", "ManagedIdentityCredential"),
        ] {
            assert_eq!(
                identity_of(&[(ENV_TOKEN_CREDENTIALS, named)]),
                Some(kind),
                "{named}"
            );
        }
        assert_eq!(
            with(&[
                (ENV_TOKEN_CREDENTIALS, "prod"),
                (ENV_FEDERATED_TOKEN_FILE, "/t")
            ]),
            Some("WorkloadIdentityCredential")
        );
        let unknown = AzureBatchBuilder::from_env_map([(
            ENV_TOKEN_CREDENTIALS.to_string(),
            "Nope".to_string(),
        )]);
        assert!(matches!(unknown, Err(Error::Configuration { .. })));
        let incomplete = AzureBatchBuilder::from_env_map([(
            ENV_TOKEN_CREDENTIALS.to_string(),
            "WorkloadIdentityCredential".to_string(),
        )]);
        assert!(
            incomplete
                .unwrap_err()
                .to_string()
                .contains(ENV_FEDERATED_TOKEN_FILE)
        );
    }

    #[test]
    fn every_identity_builds_without_a_request_and_debug_hides_secrets() {
        let endpoint = "https://myaccount.westus.batch.azure.com";
        let dir = std::env::temp_dir();
        let token_file = dir.join(format!("polybatch-federated-{}", std::process::id()));
        std::fs::write(&token_file, "a.b.c").unwrap();
        let missing = AzureBatchBuilder::new()
            .with_endpoint(endpoint)
            .with_entra_identity(EntraIdentity::WorkloadIdentity {
                tenant_id: "t".into(),
                client_id: "c".into(),
                token_file: dir.join("no-such-token"),
            })
            .build();
        assert_eq!(config_key(missing), ENV_FEDERATED_TOKEN_FILE);
        for identity in [
            EntraIdentity::ManagedIdentity { client_id: None },
            EntraIdentity::WorkloadIdentity {
                tenant_id: "t".into(),
                client_id: "c".into(),
                token_file: token_file.clone(),
            },
            EntraIdentity::AzureCli { tenant_id: None },
        ] {
            let kind = identity.kind();
            let backend = AzureBatchBuilder::new()
                .with_endpoint(endpoint)
                .with_entra_identity(identity)
                .build()
                .unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert!(format!("{backend:?}").contains(kind), "{kind}");
        }
        let _ = std::fs::remove_file(&token_file);
        // A certificate that cannot be read names the setting; the password never shows.
        let cert = EntraIdentity::ClientCertificate {
            tenant_id: "t".into(),
            client_id: "c".into(),
            certificate_path: dir.join("no-such.pfx"),
            password: Some(Secret::new("PFX-SECRET")),
        };
        assert!(!format!("{cert:?}").contains("PFX-SECRET"));
        let r = AzureBatchBuilder::new()
            .with_endpoint(endpoint)
            .with_entra_identity(cert)
            .build();
        assert_eq!(config_key(r), ENV_CLIENT_CERTIFICATE_PATH);
        // A later Shared Key replaces the identity, and the other way round.
        let b = AzureBatchBuilder::new()
            .with_endpoint(endpoint)
            .with_entra_identity(EntraIdentity::AzureCli { tenant_id: None })
            .with_shared_key(KEY);
        assert!(b.identity.is_none());
    }

    #[test]
    fn shared_key_from_env_derives_the_account() {
        let b = env(&[
            (ENV_ENDPOINT, "https://myaccount.westus.batch.azure.com/"),
            (ENV_ACCESS_KEY, KEY),
            ("UNRELATED", "x"),
        ])
        .unwrap();
        assert_eq!(b.account(), "myaccount");
        assert_eq!(b.api_version(), ApiVersion::V2024_07_01_20_0);
        assert_eq!(
            b.to_string(),
            "AzureBatch(myaccount @ https://myaccount.westus.batch.azure.com/)"
        );
    }

    #[test]
    fn entra_from_env() {
        let b = env(&[
            (ENV_ENDPOINT, "https://acct.eastus.batch.azure.com"),
            (ENV_TENANT_ID, "tenant"),
            (ENV_CLIENT_ID, "client"),
            (ENV_CLIENT_SECRET, "sup3r-s3cret"),
            (ENV_AUTHORITY_HOST, "http://127.0.0.1:9"),
            (ENV_API_VERSION, "2025-06-01"),
        ])
        .unwrap();
        assert_eq!(b.api_version(), ApiVersion::V2025_06_01);
        assert!(!format!("{b:?}").contains("sup3r-s3cret"));
    }

    #[test]
    fn a_sovereign_endpoint_signs_in_at_its_clouds_authority() {
        let entra = |endpoint: &str, authority: Option<&str>| {
            let mut vars = vec![
                (ENV_ENDPOINT, endpoint),
                (ENV_TENANT_ID, "tenant"),
                (ENV_CLIENT_ID, "client"),
                (ENV_CLIENT_SECRET, "s3cret"),
            ];
            if let Some(a) = authority {
                vars.push((ENV_AUTHORITY_HOST, a));
            }
            format!("{:?}", env(&vars).unwrap())
        };
        let china = entra("https://acct.chinanorth.batch.chinacloudapi.cn", None);
        assert!(
            china.contains("https://login.chinacloudapi.cn/tenant/oauth2/v2.0/token"),
            "{china}"
        );
        let gov = entra("https://acct.usgovvirginia.batch.usgovcloudapi.net", None);
        assert!(
            gov.contains("https://login.microsoftonline.us/tenant/"),
            "{gov}"
        );
        let public = entra("https://acct.eastus.batch.azure.com", None);
        assert!(
            public.contains("https://login.microsoftonline.com/tenant/"),
            "{public}"
        );
        // A named authority wins.
        let named = entra(
            "https://acct.chinanorth.batch.chinacloudapi.cn",
            Some("https://login.example.internal"),
        );
        assert!(
            named.contains("https://login.example.internal/tenant/"),
            "{named}"
        );
    }

    #[test]
    fn configuration_errors_name_the_key() {
        let ep = (ENV_ENDPOINT, "https://acct.westus.batch.azure.com");
        assert_eq!(config_key(env(&[(ENV_ACCESS_KEY, KEY)])), ENV_ENDPOINT);
        assert_eq!(
            config_key(env(&[
                (ENV_ENDPOINT, "http://acct.westus.batch.azure.com"),
                (ENV_ACCESS_KEY, KEY)
            ])),
            ENV_ENDPOINT
        );
        assert_eq!(config_key(env(&[ep])), ENV_ACCESS_KEY);
        assert_eq!(
            config_key(env(&[ep, (ENV_ACCESS_KEY, "not*base64")])),
            ENV_ACCESS_KEY
        );
        assert_eq!(
            config_key(env(&[ep, (ENV_ACCESS_KEY, KEY), (ENV_CLIENT_SECRET, "s")])),
            ENV_ACCESS_KEY
        );
        assert_eq!(
            config_key(env(&[ep, (ENV_TENANT_ID, "t"), (ENV_CLIENT_SECRET, "s")])),
            ENV_CLIENT_ID
        );
        assert_eq!(
            config_key(env(&[ep, (ENV_CLIENT_ID, "c"), (ENV_CLIENT_SECRET, "s")])),
            ENV_TENANT_ID
        );
        assert_eq!(
            config_key(env(&[
                ep,
                (ENV_TENANT_ID, "t"),
                (ENV_CLIENT_ID, "c"),
                (ENV_CLIENT_SECRET, "s"),
                (ENV_AUTHORITY_HOST, "http://login.example.com")
            ])),
            ENV_AUTHORITY_HOST
        );
        // A loopback endpoint has no account in its host: Shared Key needs it spelled out.
        assert_eq!(
            config_key(env(&[
                (ENV_ENDPOINT, "http://127.0.0.1:8080"),
                (ENV_ACCESS_KEY, KEY)
            ])),
            ENV_ACCOUNT
        );
        let ok = env(&[
            (ENV_ENDPOINT, "http://127.0.0.1:8080"),
            (ENV_ACCOUNT, "emu"),
            (ENV_ACCESS_KEY, KEY),
        ])
        .unwrap();
        assert_eq!(ok.account(), "emu");
        assert!(matches!(
            AzureBatchBuilder::from_env_map([(ENV_API_VERSION.to_string(), "1999".to_string())]),
            Err(Error::Configuration { .. })
        ));
    }

    #[test]
    fn bad_key_error_does_not_echo_it() {
        let bad = "c2VjcmV0*c2VjcmV0";
        let e = env(&[
            (ENV_ENDPOINT, "https://acct.westus.batch.azure.com"),
            (ENV_ACCESS_KEY, bad),
        ])
        .unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(bad), "{shown}");
        assert!(shown.contains("base64"), "{shown}");
    }

    #[test]
    fn debug_redacts_key_and_secret() {
        let builder = AzureBatchBuilder::new()
            .with_endpoint("https://acct.westus.batch.azure.com")
            .with_shared_key(KEY)
            .with_client_credentials("t", "c", "client-s3cret");
        let shown = format!("{builder:?}");
        assert!(
            !shown.contains(KEY) && !shown.contains("client-s3cret"),
            "{shown}"
        );
        let backend = AzureBatchBuilder::new()
            .with_endpoint("https://acct.westus.batch.azure.com")
            .with_shared_key(KEY)
            .build()
            .unwrap();
        let shown = format!("{backend:?} {backend}");
        assert!(!shown.contains(KEY), "{shown}");
        assert!(shown.contains("shared_key"), "{shown}");
    }

    #[test]
    fn client_options_are_checked_for_both_endpoints() {
        let shared = AzureBatchBuilder::new()
            .with_endpoint("https://acct.westus.batch.azure.com")
            .with_shared_key(KEY);
        assert_eq!(
            config_key(shared.clone().with_timeout(Duration::ZERO).build()),
            "timeout"
        );
        assert_eq!(
            config_key(
                shared
                    .with_client_options(
                        ClientOptions::default().with_proxy(Proxy::url("not a url"))
                    )
                    .build()
            ),
            "proxy"
        );
        // The endpoint is loopback (never proxied), the authority is not: the error comes from
        // the token client, built from the same options.
        let entra = AzureBatchBuilder::new()
            .with_endpoint("http://127.0.0.1:9")
            .with_client_credentials("t", "c", "s")
            .with_authority_host("https://login.example.com")
            .with_client_options(ClientOptions::default().with_proxy(Proxy::url("not a url")));
        assert_eq!(config_key(entra.clone().build()), "proxy");
        entra
            .with_client_options(ClientOptions::default().with_proxy(Proxy::None))
            .build()
            .unwrap();
    }

    #[test]
    fn every_missing_setting_is_named_at_once() {
        let b = AzureBatchBuilder::new();
        assert_eq!(b.missing_settings(), [ENV_ENDPOINT, ENV_ACCESS_KEY]);
        match b.build() {
            Err(Error::Configuration { key, rule, .. }) => {
                assert_eq!(key, ENV_ENDPOINT);
                assert!(
                    rule.contains(ENV_ACCESS_KEY) && rule.contains(ENV_CLIENT_SECRET),
                    "{rule}"
                );
            }
            other => panic!("{other:?}"),
        }
        // Either kind of credential counts; the endpoint alone is then what is missing.
        let b = AzureBatchBuilder::new().with_shared_key(KEY);
        assert_eq!(b.missing_settings(), [ENV_ENDPOINT]);
        let b = AzureBatchBuilder::new()
            .with_endpoint("https://acct.westus.batch.azure.com")
            .with_client_credentials("t", "c", "s");
        assert!(b.missing_settings().is_empty());
    }

    #[test]
    fn with_timeout_changes_only_the_timeout_of_the_options() {
        let b = AzureBatchBuilder::new()
            .with_client_options(ClientOptions::default().with_user_agent("my-app/1"))
            .with_timeout(Duration::from_secs(5));
        assert_eq!(b.client_options.timeout(), Duration::from_secs(5));
        assert_eq!(b.client_options.connect_timeout(), Duration::from_secs(5));
        assert_eq!(b.client_options.user_agent(), "my-app/1");
        assert_eq!(
            AzureBatchBuilder::new().client_options,
            ClientOptions::default()
        );
        assert_eq!(DEFAULT_TIMEOUT, Duration::from_secs(60));
    }

    #[test]
    fn account_names_are_checked_as_azure_names_them() {
        let ep = (ENV_ENDPOINT, "http://127.0.0.1:8080");
        for good in ["abc", "devbatch", "a1b2c3", "abcdefghijklmnopqrstuvwx"] {
            let b = env(&[ep, (ENV_ACCOUNT, good), (ENV_ACCESS_KEY, KEY)]).unwrap();
            assert_eq!(b.account(), good);
        }
        for bad in [
            "ab",
            "abcdefghijklmnopqrstuvwxy",
            "MyAccount",
            "my-account",
            "my_account",
            "acct.name",
            "accöunt",
        ] {
            let e = env(&[ep, (ENV_ACCOUNT, bad), (ENV_ACCESS_KEY, KEY)]).unwrap_err();
            assert!(
                matches!(&e, Error::Configuration { key, .. } if key == ENV_ACCOUNT),
                "{bad}: {e:?}"
            );
            assert!(
                e.to_string().contains("lowercase letters and digits"),
                "{e}"
            );
        }
        // An account name taken from the endpoint's host is held to the same rule.
        let e = env(&[
            (ENV_ENDPOINT, "https://my-acct.westus.batch.azure.com"),
            (ENV_ACCESS_KEY, KEY),
        ])
        .unwrap_err();
        assert!(
            matches!(&e, Error::Configuration { key, .. } if key == ENV_ENDPOINT),
            "{e:?}"
        );
        // Hosts are case-insensitive: an upper-case host still names a valid account.
        let b = env(&[
            (ENV_ENDPOINT, "https://MyAcct.westus.batch.azure.com"),
            (ENV_ACCESS_KEY, KEY),
        ])
        .unwrap();
        assert_eq!(b.account(), "myacct");
    }

    #[test]
    fn derives_accounts_only_from_batch_hosts() {
        let d = |u: &str| account_from_host(&Url::parse(u).unwrap());
        assert_eq!(
            d("https://acct.westus.batch.azure.com").as_deref(),
            Some("acct")
        );
        assert_eq!(
            d("https://acct.chinanorth.batch.chinacloudapi.cn").as_deref(),
            Some("acct")
        );
        assert_eq!(d("https://batch.azure.com"), None);
        assert_eq!(d("https://a.b.c.batch.azure.com"), None);
        assert_eq!(d("http://127.0.0.1:1"), None);
    }
}
