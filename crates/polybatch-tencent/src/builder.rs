//! [`TencentBatchBuilder`]: configuration from code, the environment and the SDK credentials
//! file, checked once in [`TencentBatchBuilder::build`].

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use polybatch::clock::{Clock, SystemClock};
use polybatch::rate::{PermitSource, Quota};
use polybatch::retry::RetryPolicy;
use polybatch::secret::Secret;
use polybatch::{Error, Result};
use polybatch_http::{ClientOptions, parse_endpoint};
use url::Url;

use crate::backend::TencentBatchBackend;
use crate::client::Client;
use crate::credential::mask_id;
use crate::credential::{
    Credentials, DEFAULT_STS_ENDPOINT, INTL_STS_ENDPOINT, Keys, TemporaryCredential,
    check_credential, file_credential, missing,
};
use crate::error::BACKEND;
use crate::rate_limit::{LimitSettings, Site, limiter};

/// Environment variable: the SecretId.
pub const ENV_SECRET_ID: &str = "TENCENTCLOUD_SECRET_ID";
/// Environment variable: the SecretKey.
pub const ENV_SECRET_KEY: &str = "TENCENTCLOUD_SECRET_KEY";
/// Environment variable: a temporary credential's token (tccli's name).
pub const ENV_TOKEN: &str = "TENCENTCLOUD_TOKEN";
/// Environment variable: a temporary credential's token (Terraform's name).
pub const ENV_SECURITY_TOKEN: &str = "TENCENTCLOUD_SECURITY_TOKEN";
/// Environment variable: the region, e.g. `ap-guangzhou`.
pub const ENV_REGION: &str = "TENCENTCLOUD_REGION";
pub use crate::credential::ENV_CREDENTIALS_FILE;

/// The `X-TC-Language` sent when none is configured. The SDKs always send the header (their
/// default is `zh-CN`); English messages are what this crate's errors are written in.
pub const DEFAULT_LANGUAGE: &str = "en-US";

/// Which host requests go to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Endpoint {
    /// `batch.tencentcloudapi.com`: resolved to the nearest region; `X-TC-Region` still picks
    /// the resources' region.
    #[default]
    Default,
    /// `batch.{region}.tencentcloudapi.com`.
    Regional,
    /// `batch.intl.tencentcloudapi.com` (the international site).
    International,
    /// Any URL: https, or plain http to loopback only (emulators).
    Custom(String),
}

impl Endpoint {
    fn resolve(&self, region: &str) -> Result<Url> {
        let url = match self {
            Endpoint::Default => "https://batch.tencentcloudapi.com".to_string(),
            Endpoint::Regional => format!("https://batch.{region}.tencentcloudapi.com"),
            Endpoint::International => "https://batch.intl.tencentcloudapi.com".to_string(),
            Endpoint::Custom(s) => s.clone(),
        };
        parse_endpoint(BACKEND, "endpoint", &url)
    }
}

/// Builds a [`TencentBatchBackend`].
///
/// ```no_run
/// use polybatch_tencent::{Endpoint, TencentBatchBuilder};
/// # fn run() -> polybatch::Result<()> {
/// let backend = TencentBatchBuilder::new()
///     .with_secret_id("AKID...")
///     .with_secret_key("...")
///     .with_region("ap-guangzhou")
///     .with_endpoint(Endpoint::Regional)
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TencentBatchBuilder {
    secret_id: Option<String>,
    secret_key: Option<Secret>,
    token: Option<Secret>,
    temporary: Option<TemporaryCredential>,
    region: Option<String>,
    endpoint: Endpoint,
    limits: LimitSettings,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    language: Option<String>,
    client_options: ClientOptions,
}

impl fmt::Debug for TencentBatchBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TencentBatchBuilder")
            .field("secret_id", &self.secret_id.as_deref().map(mask_id))
            .field("secret_key", &self.secret_key)
            .field("token", &self.token)
            .field("temporary", &self.temporary)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("rate_limits", &self.limits.overrides)
            .field("rate_limits_disabled", &self.limits.disabled)
            .field("rate_limits_fixed", &self.limits.fixed)
            .field("permit_source", &self.limits.permits)
            .field("retry", &self.retry)
            .field("language", &self.language)
            .field("client_options", &self.client_options)
            .finish()
    }
}

impl Default for TencentBatchBuilder {
    fn default() -> Self {
        TencentBatchBuilder::new()
    }
}

impl TencentBatchBuilder {
    /// An empty builder: set the credentials and region, or use [`TencentBatchBuilder::from_env`].
    pub fn new() -> Self {
        TencentBatchBuilder {
            secret_id: None,
            secret_key: None,
            token: None,
            temporary: None,
            region: None,
            endpoint: Endpoint::Default,
            limits: LimitSettings::default(),
            retry: RetryPolicy::default(),
            clock: Arc::new(SystemClock),
            language: None,
            client_options: ClientOptions::default(),
        }
    }

    /// Reads the process environment and `~/.tencentcloud/credentials`; see
    /// [`TencentBatchBuilder::from_env_map`].
    pub fn from_env() -> Result<Self> {
        TencentBatchBuilder::from_env_map(std::env::vars(), dirs::home_dir())
    }

    /// Reads configuration from `vars` (instead of the process environment) and `home`:
    ///
    /// - `TENCENTCLOUD_SECRET_ID`, `TENCENTCLOUD_SECRET_KEY`;
    /// - the token from `TENCENTCLOUD_TOKEN`, else `TENCENTCLOUD_SECURITY_TOKEN`, used only
    ///   with the SecretId and SecretKey from the environment;
    /// - `TENCENTCLOUD_REGION`;
    /// - if the SecretId or SecretKey is still missing, `secret_id` / `secret_key` of the
    ///   `[default]` section of the SDK credentials file: `TENCENTCLOUD_CREDENTIALS_FILE`, else
    ///   `<home>/.tencentcloud/credentials` (as the Go SDK does). A key from the file is a
    ///   long-term key: it never carries the environment's token (the Go SDK's profile
    ///   provider, `profile_provider.go`, always returns an empty token).
    ///
    /// - if there are still no keys and `TKE_REGION`, `TKE_PROVIDER_ID`,
    ///   `TKE_WEB_IDENTITY_TOKEN_FILE` and `TKE_ROLE_ARN` are all set, the pod's TKE OIDC role
    ///   ([`TemporaryCredential::OidcRole`], as the Python SDK's default chain ends).
    ///
    /// The CVM instance role is not probed: off Tencent Cloud every misconfiguration would
    /// first wait on a metadata service that is not there. Ask for it with
    /// [`TencentBatchBuilder::with_temporary_credential`]`(`[`TemporaryCredential::cvm_role`]`())`,
    /// as tccli's `--use-cvm-role` does.
    ///
    /// A missing default credentials file is not an error (the builder then reports what is
    /// missing); an explicitly named file that cannot be read is.
    pub fn from_env_map(
        vars: impl IntoIterator<Item = (String, String)>,
        home: Option<PathBuf>,
    ) -> Result<Self> {
        let vars: HashMap<String, String> = vars.into_iter().collect();
        let get = |k: &str| vars.get(k).filter(|v| !v.is_empty()).cloned();
        let mut b = TencentBatchBuilder::new();
        b.secret_id = get(ENV_SECRET_ID);
        b.secret_key = get(ENV_SECRET_KEY).map(Secret::new);
        b.token = get(ENV_TOKEN)
            .or_else(|| get(ENV_SECURITY_TOKEN))
            .map(Secret::new);
        b.region = get(ENV_REGION);

        if (b.secret_id.is_none() || b.secret_key.is_none())
            && let Some((id, key)) = file_credential(get(ENV_CREDENTIALS_FILE), home)?
        {
            // The file is one credential: take both halves from it, never mix an environment
            // SecretId with a file SecretKey, and never pair it with the environment's token
            // (a token belongs to the temporary key it was issued with).
            b.secret_id = Some(id);
            b.secret_key = Some(key);
            b.token = None;
        }
        if b.secret_id.is_none() && b.secret_key.is_none() {
            b.temporary = TemporaryCredential::oidc_from(get, DEFAULT_STS_ENDPOINT);
        }
        Ok(b)
    }

    /// Sets the SecretId.
    pub fn with_secret_id(mut self, secret_id: impl Into<String>) -> Self {
        self.temporary = None;
        self.secret_id = Some(secret_id.into());
        self
    }

    /// Sets the SecretKey.
    pub fn with_secret_key(mut self, secret_key: impl Into<String>) -> Self {
        self.temporary = None;
        self.secret_key = Some(Secret::new(secret_key.into()));
        self
    }

    /// Sets the session token of a temporary credential (sent as `X-TC-Token`).
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Secret::new(token.into()));
        self
    }

    /// Signs with temporary keys from `source` instead of a SecretId and SecretKey: fetched on
    /// first use, refreshed 300 s before they expire
    /// ([`REFRESH_BEFORE_EXPIRY`](crate::REFRESH_BEFORE_EXPIRY)), one fetch shared by
    /// concurrent callers. An OIDC role left at the default STS endpoint uses the
    /// international site's STS when the Batch endpoint is the international one.
    ///
    /// Replaces any SecretId, SecretKey and token set before (from the environment, say), as
    /// a later [`with_secret_id`](Self::with_secret_id) or
    /// [`with_secret_key`](Self::with_secret_key) replaces this: the last one given is used.
    pub fn with_temporary_credential(mut self, source: TemporaryCredential) -> Self {
        self.temporary = Some(source);
        self.secret_id = None;
        self.secret_key = None;
        self.token = None;
        self
    }

    /// Sets the region (`X-TC-Region`), e.g. `ap-guangzhou`.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Sets the endpoint (default: `batch.tencentcloudapi.com`).
    pub fn with_endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// Overrides the client-side rate limit of one action (defaults: the documented limits of
    /// the endpoint's site, see [`crate::RATE_LIMITS`] and [`crate::Site`]).
    pub fn with_rate_limit(mut self, action: &str, quota: Quota) -> Self {
        self.limits.overrides.insert(action.to_string(), quota);
        self
    }

    /// Turns client-side rate limiting off.
    pub fn with_rate_limits_disabled(mut self) -> Self {
        self.limits.disabled = true;
        self
    }

    /// Turns adaptation to throttling on (the default) or off. On, an action that Tencent
    /// throttles anyway (another process using the same sub-account, say) is sent more slowly,
    /// per (action, region, credential), and recovers to its quota as answers succeed, in the
    /// manner of the AWS SDKs' adaptive retry mode ([`polybatch::rate::AdaptiveRate`]).
    pub fn with_adaptive_rate_limits(mut self, on: bool) -> Self {
        self.limits.fixed = !on;
        self
    }

    /// Takes rate-limit permits from `permits` instead of this process's own: a store several
    /// processes share (`polybatch-redis`) keeps a fleet using one credential under the
    /// per-action limits together.
    pub fn with_permit_source(mut self, permits: Arc<dyn PermitSource>) -> Self {
        self.limits.permits = Some(permits);
        self
    }

    /// Sets the retry policy (default: 4 attempts with exponential backoff and jitter).
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the clock request timestamps are read from (default: the system clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets `X-TC-Language` (`zh-CN` or `en-US`; default [`DEFAULT_LANGUAGE`], English error
    /// messages). The header is sent on every request, as the official SDKs send it.
    pub fn with_language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }

    /// Sets the per-attempt HTTP timeout (default 60 s): shorthand for
    /// [`ClientOptions::with_timeout`] on the current client options.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.client_options = self.client_options.with_timeout(timeout);
        self
    }

    /// Sets how the HTTP client connects: timeouts, proxy, user agent, extra TLS roots
    /// (default [`ClientOptions::default`]: 60 s per attempt, connect timeout 10 s). Replaces
    /// any earlier [`TencentBatchBuilder::with_timeout`].
    ///
    /// Each attempt is bounded by the options' per-attempt timeout, and the whole call by the
    /// retry policy's total budget ([`TencentBatchBuilder::with_retry_policy`]).
    pub fn with_client_options(mut self, options: ClientOptions) -> Self {
        self.client_options = options;
        self
    }

    /// The required settings not given yet, by their environment variable names, so a caller
    /// can report them all at once. Empty does not mean [`build`](Self::build) succeeds: it
    /// still checks each value.
    pub fn missing_settings(&self) -> Vec<&'static str> {
        let keys = self.temporary.is_none();
        [
            (ENV_SECRET_ID, keys && self.secret_id.is_none()),
            (ENV_SECRET_KEY, keys && self.secret_key.is_none()),
            (ENV_REGION, self.region.is_none()),
        ]
        .into_iter()
        .filter_map(|(name, missing)| missing.then_some(name))
        .collect()
    }

    /// The SecretId, SecretKey and optional token, each checked.
    fn fixed_keys(&self) -> Result<Keys> {
        let secret_id = check_credential(ENV_SECRET_ID, self.secret_id.as_deref())?.to_string();
        let secret_key = match &self.secret_key {
            Some(k) => {
                check_credential(ENV_SECRET_KEY, Some(k.expose()))?;
                k.clone()
            }
            None => return Err(missing(ENV_SECRET_KEY)),
        };
        let token = match &self.token {
            Some(t) if t.is_empty() => None,
            Some(t) => {
                check_credential(ENV_TOKEN, Some(t.expose()))?;
                Some(t.clone())
            }
            None => None,
        };
        Ok(Keys {
            secret_id,
            secret_key,
            token,
        })
    }

    /// Checks the configuration and builds the backend. Missing or malformed settings are
    /// [`Error::Configuration`] naming the setting (the first missing one, the message listing
    /// the others).
    pub fn build(mut self) -> Result<TencentBatchBackend> {
        if let [first, rest @ ..] = self.missing_settings().as_slice()
            && !rest.is_empty()
        {
            return Err(Error::configuration(
                BACKEND,
                *first,
                format!("is not set; nor is {}", rest.join(", ")),
            ));
        }
        // Checked before anything else, so a missing key is the error reported first.
        let source = match self.temporary.take() {
            None => Err(self.fixed_keys()?),
            Some(temporary) => Ok(temporary),
        };
        let region = self.region.ok_or_else(|| missing(ENV_REGION))?;
        if region.is_empty()
            || !region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(Error::configuration(
                BACKEND,
                ENV_REGION,
                format!("must be a region name like ap-guangzhou (got {region:?})"),
            ));
        }
        if let Some(lang) = &self.language
            && lang != "zh-CN"
            && lang != "en-US"
        {
            return Err(Error::configuration(
                BACKEND,
                "language",
                format!("must be zh-CN or en-US (got {lang:?})"),
            ));
        }
        let url = self.endpoint.resolve(&region)?;
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => {
                return Err(Error::configuration(BACKEND, "endpoint", "has no host"));
            }
        };
        let http = self.client_options.build_client(BACKEND, &url)?;
        let site = Site::of_host(url.host_str().unwrap_or(""));
        let limiter = limiter(site, self.limits);
        let credentials = match source {
            Err(keys) => Credentials::Fixed(keys),
            Ok(mut source) => {
                if let TemporaryCredential::OidcRole { sts_endpoint, .. } = &mut source
                    && sts_endpoint == DEFAULT_STS_ENDPOINT
                    && self.endpoint == Endpoint::International
                {
                    *sts_endpoint = INTL_STS_ENDPOINT.to_string();
                }
                // Credential requests go straight to their endpoint: the instance metadata
                // service must never be asked through a proxy, and STS uses the same options
                // as the API.
                let http = match &source {
                    TemporaryCredential::CvmRole { .. } => reqwest::Client::builder()
                        .no_proxy()
                        .connect_timeout(Duration::from_secs(2))
                        .timeout(Duration::from_secs(5))
                        .build()
                        .map_err(|e| {
                            Error::configuration(BACKEND, "metadata client", e.to_string())
                        })?,
                    TemporaryCredential::OidcRole { .. } => http.clone(),
                };
                Credentials::temporary(source, http, self.clock.clone())?
            }
        };
        Ok(TencentBatchBackend::from_client(Client {
            credentials,
            region,
            url,
            host,
            language: self
                .language
                .unwrap_or_else(|| DEFAULT_LANGUAGE.to_string()),
            http,
            retry: polybatch_http::capped_retry(self.retry, &self.client_options),
            options: self.client_options,
            clock: self.clock,
            limiter,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::DEFAULT_METADATA_ENDPOINT;
    use polybatch::BatchBackend;
    use polybatch_http::Proxy;

    const ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
    const KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
    const TOKEN: &str = "tmp-session-token-EXAMPLE+/=";

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn config_key(r: Result<TencentBatchBackend>) -> String {
        match r {
            Err(Error::Configuration { key, .. }) => key.into_owned(),
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }

    fn full() -> TencentBatchBuilder {
        TencentBatchBuilder::new()
            .with_secret_id(ID)
            .with_secret_key(KEY)
            .with_region("ap-guangzhou")
    }

    #[test]
    fn every_missing_setting_is_named_at_once() {
        assert!(full().missing_settings().is_empty());
        let b = TencentBatchBuilder::new().with_secret_id(ID);
        assert_eq!(b.missing_settings(), [ENV_SECRET_KEY, ENV_REGION]);
        match b.build() {
            Err(Error::Configuration { key, rule, .. }) => {
                assert_eq!(key, ENV_SECRET_KEY);
                assert!(rule.contains(ENV_REGION), "{rule}");
            }
            other => panic!("{other:?}"),
        }
        // One missing: the plain message.
        let r = TencentBatchBuilder::new()
            .with_secret_id(ID)
            .with_secret_key(KEY)
            .build();
        assert_eq!(config_key(r), ENV_REGION);
    }

    #[test]
    fn env_map_reads_every_variable() {
        let b = TencentBatchBuilder::from_env_map(
            vars(&[
                (ENV_SECRET_ID, ID),
                (ENV_SECRET_KEY, KEY),
                (ENV_TOKEN, TOKEN),
                (ENV_SECURITY_TOKEN, "other"),
                (ENV_REGION, "ap-shanghai"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(b.secret_id.as_deref(), Some(ID));
        assert_eq!(b.secret_key.as_ref().map(Secret::expose), Some(KEY));
        assert_eq!(b.token.as_ref().map(Secret::expose), Some(TOKEN));
        assert_eq!(b.region.as_deref(), Some("ap-shanghai"));
        let backend = b.build().unwrap();
        assert_eq!(
            backend.to_string(),
            "TencentBatch(ap-shanghai @ batch.tencentcloudapi.com)"
        );
    }

    #[test]
    fn security_token_is_the_fallback_name() {
        let b =
            TencentBatchBuilder::from_env_map(vars(&[(ENV_SECURITY_TOKEN, "tok")]), None).unwrap();
        assert_eq!(b.token.as_ref().map(Secret::expose), Some("tok"));
    }

    #[test]
    fn credentials_file_fills_missing_credentials() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".tencentcloud")).unwrap();
        std::fs::write(
            home.path().join(".tencentcloud/credentials"),
            "# comment\n[other]\nsecret_id = WRONG\nsecret_key = WRONG\n\n[default]\nsecret_id = AKIDfile\nsecret_key = filekey\nrole_arn = x\n",
        )
        .unwrap();
        let b = TencentBatchBuilder::from_env_map(
            vars(&[(ENV_REGION, "ap-guangzhou")]),
            Some(home.path().to_path_buf()),
        )
        .unwrap();
        assert_eq!(b.secret_id.as_deref(), Some("AKIDfile"));
        assert_eq!(b.secret_key.as_ref().map(Secret::expose), Some("filekey"));
        b.build().unwrap();

        // The environment wins when it has both.
        let b = TencentBatchBuilder::from_env_map(
            vars(&[(ENV_SECRET_ID, ID), (ENV_SECRET_KEY, KEY)]),
            Some(home.path().to_path_buf()),
        )
        .unwrap();
        assert_eq!(b.secret_id.as_deref(), Some(ID));
    }

    #[test]
    fn the_environment_token_never_pairs_with_a_file_key() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".tencentcloud")).unwrap();
        std::fs::write(
            home.path().join(".tencentcloud/credentials"),
            "[default]\nsecret_id = AKIDfile\nsecret_key = filekey\n",
        )
        .unwrap();
        let home = || Some(home.path().to_path_buf());
        // Only a token in the environment: the keys come from the file, the token is dropped.
        for name in [ENV_TOKEN, ENV_SECURITY_TOKEN] {
            let b = TencentBatchBuilder::from_env_map(
                vars(&[(name, TOKEN), (ENV_REGION, "ap-guangzhou")]),
                home(),
            )
            .unwrap();
            assert_eq!(b.secret_id.as_deref(), Some("AKIDfile"), "{name}");
            assert!(b.token.is_none(), "{name}: a file key carries no token");
        }
        // Half a key in the environment: the file's key wins whole, still without the token.
        let b = TencentBatchBuilder::from_env_map(
            vars(&[(ENV_SECRET_ID, ID), (ENV_TOKEN, TOKEN)]),
            home(),
        )
        .unwrap();
        assert_eq!(b.secret_id.as_deref(), Some("AKIDfile"));
        assert!(b.token.is_none());
        // Keys and token all from the environment: they stay together.
        let b = TencentBatchBuilder::from_env_map(
            vars(&[
                (ENV_SECRET_ID, ID),
                (ENV_SECRET_KEY, KEY),
                (ENV_TOKEN, TOKEN),
            ]),
            home(),
        )
        .unwrap();
        assert_eq!(b.secret_id.as_deref(), Some(ID));
        assert_eq!(b.token.as_ref().map(Secret::expose), Some(TOKEN));
    }

    #[test]
    fn the_language_defaults_to_english() {
        let backend = full().build().unwrap();
        assert_eq!(backend.client.language, DEFAULT_LANGUAGE);
        assert_eq!(DEFAULT_LANGUAGE, "en-US");
        let backend = full().with_language("zh-CN").build().unwrap();
        assert_eq!(backend.client.language, "zh-CN");
    }

    #[test]
    fn tke_oidc_role_is_the_last_link_of_the_chain() {
        let tke = [
            ("TKE_REGION", "ap-guangzhou"),
            ("TKE_PROVIDER_ID", "p"),
            ("TKE_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"),
            ("TKE_ROLE_ARN", "qcs::cam::uin/1:roleName/r"),
            (ENV_REGION, "ap-guangzhou"),
        ];
        let home = tempfile::tempdir().unwrap();
        let b = TencentBatchBuilder::from_env_map(vars(&tke), Some(home.path().into())).unwrap();
        assert!(matches!(
            b.temporary,
            Some(TemporaryCredential::OidcRole { ref role_arn, .. }) if role_arn == "qcs::cam::uin/1:roleName/r"
        ));
        assert!(b.missing_settings().is_empty());
        assert!(b.build().is_ok());
        // Keys in the environment come first; three of the four TKE variables are not a role.
        let mut with_keys = tke.to_vec();
        with_keys.extend([(ENV_SECRET_ID, ID), (ENV_SECRET_KEY, KEY)]);
        let b = TencentBatchBuilder::from_env_map(vars(&with_keys), None).unwrap();
        assert!(b.temporary.is_none());
        let b = TencentBatchBuilder::from_env_map(vars(&tke[1..]), None).unwrap();
        assert!(b.temporary.is_none());
        assert_eq!(b.missing_settings(), [ENV_SECRET_ID, ENV_SECRET_KEY]);
        // The last source given wins.
        let b = full().with_temporary_credential(TemporaryCredential::cvm_role());
        assert!(b.secret_id.is_none() && b.temporary.is_some());
        let b = b.with_secret_id(ID).with_secret_key(KEY);
        assert!(b.temporary.is_none());
        // A bad role name or duration is refused before any request.
        let bad_role = TencentBatchBuilder::new()
            .with_region("ap-guangzhou")
            .with_temporary_credential(TemporaryCredential::CvmRole {
                role: Some("a/b".into()),
                metadata_endpoint: DEFAULT_METADATA_ENDPOINT.into(),
            });
        assert_eq!(config_key(bad_role.build()), "CVM role");
    }

    #[test]
    fn credentials_file_path_override() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds.ini");
        std::fs::write(&path, "[default]\nsecret_id=AKIDx\nsecret_key=k\n").unwrap();
        let b = TencentBatchBuilder::from_env_map(
            vars(&[(ENV_CREDENTIALS_FILE, path.to_str().unwrap())]),
            None,
        )
        .unwrap();
        assert_eq!(b.secret_id.as_deref(), Some("AKIDx"));

        // An explicitly named file that does not exist is an error naming the variable.
        let missing = dir.path().join("nope");
        let e = TencentBatchBuilder::from_env_map(
            vars(&[(ENV_CREDENTIALS_FILE, missing.to_str().unwrap())]),
            None,
        )
        .unwrap_err();
        assert!(matches!(e, Error::Configuration { ref key, .. } if key == ENV_CREDENTIALS_FILE));

        // A missing default file is not.
        let empty_home = tempfile::tempdir().unwrap();
        let b = TencentBatchBuilder::from_env_map(vec![], Some(empty_home.path().to_path_buf()))
            .unwrap();
        assert!(b.secret_id.is_none());
        assert_eq!(config_key(b.build()), ENV_SECRET_ID);
    }

    #[test]
    fn malformed_configuration_names_the_key() {
        assert_eq!(
            config_key(TencentBatchBuilder::new().build()),
            ENV_SECRET_ID
        );
        assert_eq!(
            config_key(TencentBatchBuilder::new().with_secret_id(ID).build()),
            ENV_SECRET_KEY
        );
        assert_eq!(config_key(full().with_secret_id("").build()), ENV_SECRET_ID);
        assert_eq!(
            config_key(full().with_secret_id(" AKID").build()),
            ENV_SECRET_ID
        );
        assert_eq!(
            config_key(full().with_secret_key("").build()),
            ENV_SECRET_KEY
        );
        assert_eq!(
            config_key(full().with_secret_key("key\n").build()),
            ENV_SECRET_KEY
        );
        assert_eq!(config_key(full().with_token(" t").build()), ENV_TOKEN);
        assert_eq!(
            config_key(
                TencentBatchBuilder::new()
                    .with_secret_id(ID)
                    .with_secret_key(KEY)
                    .build()
            ),
            ENV_REGION
        );
        assert_eq!(
            config_key(full().with_region("ap guangzhou").build()),
            ENV_REGION
        );
        assert_eq!(config_key(full().with_language("fr").build()), "language");
        assert_eq!(
            config_key(full().with_timeout(Duration::ZERO).build()),
            "timeout"
        );
        for bad in ["http://example.com", "ftp://127.0.0.1", "https://"] {
            assert_eq!(
                config_key(full().with_endpoint(Endpoint::Custom(bad.into())).build()),
                "endpoint",
                "{bad}"
            );
        }
    }

    #[test]
    fn the_http_client_has_a_connect_timeout() {
        // The options the client was built from: the connect timeout follows the per-attempt
        // one up to 10 s, unless set.
        let options = |b: TencentBatchBuilder| b.build().unwrap().client.options.clone();
        let o = options(full());
        assert_eq!(o.timeout(), Duration::from_secs(60));
        assert_eq!(o.connect_timeout(), Duration::from_secs(10));
        let o = options(full().with_timeout(Duration::from_secs(3)));
        assert_eq!(o.connect_timeout(), Duration::from_secs(3));
        let o = options(
            full()
                .with_client_options(
                    ClientOptions::default().with_connect_timeout(Duration::from_secs(2)),
                )
                .with_timeout(Duration::from_secs(30)),
        );
        assert_eq!(o.timeout(), Duration::from_secs(30));
        assert_eq!(o.connect_timeout(), Duration::from_secs(2));
    }

    #[test]
    fn bad_client_options_name_the_setting() {
        let with = |o: ClientOptions| config_key(full().with_client_options(o).build());
        assert_eq!(
            with(ClientOptions::default().with_connect_timeout(Duration::ZERO)),
            "connect_timeout"
        );
        assert_eq!(
            with(ClientOptions::default().with_proxy(Proxy::url("ftp://proxy"))),
            "proxy"
        );
        assert_eq!(
            with(ClientOptions::default().with_user_agent("a\nb")),
            "user_agent"
        );
        assert_eq!(
            with(ClientOptions::default().with_root_certificate("not pem")),
            "root_certificates"
        );
    }

    #[test]
    fn configuration_errors_never_show_the_secret() {
        let e = full()
            .with_secret_key(" secret-value ")
            .build()
            .unwrap_err();
        assert!(!format!("{e} {e:?}").contains("secret-value"));
        let e = full().with_token("tok\nen-value").build().unwrap_err();
        assert!(!format!("{e} {e:?}").contains("en-value"));
    }

    #[test]
    fn endpoints() {
        let host = |e: Endpoint| full().with_endpoint(e).build().unwrap().to_string();
        assert_eq!(
            host(Endpoint::Default),
            "TencentBatch(ap-guangzhou @ batch.tencentcloudapi.com)"
        );
        assert_eq!(
            host(Endpoint::Regional),
            "TencentBatch(ap-guangzhou @ batch.ap-guangzhou.tencentcloudapi.com)"
        );
        assert_eq!(
            host(Endpoint::International),
            "TencentBatch(ap-guangzhou @ batch.intl.tencentcloudapi.com)"
        );
        assert_eq!(
            host(Endpoint::Custom("http://127.0.0.1:8080".into())),
            "TencentBatch(ap-guangzhou @ 127.0.0.1:8080)"
        );
        assert_eq!(
            host(Endpoint::Custom("https://batch.example.com:443".into())),
            "TencentBatch(ap-guangzhou @ batch.example.com)"
        );
    }

    #[test]
    fn debug_redacts_secrets() {
        let b = full().with_token(TOKEN);
        let backend = b.clone().build().unwrap();
        for s in [
            format!("{b:?}"),
            format!("{backend:?}"),
            format!("{backend:#?}"),
            backend.to_string(),
        ] {
            assert!(!s.contains(KEY), "{s}");
            assert!(!s.contains(TOKEN), "{s}");
            assert!(!s.contains(ID), "{s}");
        }
        assert!(format!("{backend:?}").contains("<redacted>"));
        assert_eq!(backend.name(), "tencent");
    }
}
