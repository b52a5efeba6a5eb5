//! How requests are authorized: Shared Key (sign each request) or Microsoft Entra ID (a cached
//! client-credentials bearer token).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use polybatch::secret::{Secret, redact};
use polybatch::{Error, ErrorContext, Operation, Result};
use polybatch_http::Request;
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::Deserialize;
use tokio::time::Instant;
use url::Url;

use crate::BACKEND;

/// The scope of the Azure Batch resource in the public cloud
/// (`https://batch.core.windows.net/` + `/.default`, as the Python, Go and TypeSpec clients
/// spell it).
pub const BATCH_SCOPE: &str = "https://batch.core.windows.net//.default";

/// The scope of the Azure Batch resource in Azure China (21Vianet): the cloud's Batch resource
/// id `https://batch.chinacloudapi.cn/` (Azure CLI `AzureChinaCloud.batch_resource_id`) +
/// `/.default`, spelled as [`BATCH_SCOPE`] is.
pub const BATCH_SCOPE_CHINA: &str = "https://batch.chinacloudapi.cn//.default";

/// The scope of the Azure Batch resource in Azure US Government: the cloud's Batch resource id
/// `https://batch.core.usgovcloudapi.net/` (Azure CLI `AzureUSGovernment.batch_resource_id`) +
/// `/.default`, spelled as [`BATCH_SCOPE`] is.
pub const BATCH_SCOPE_US_GOV: &str = "https://batch.core.usgovcloudapi.net//.default";

/// The Azure clouds whose Batch endpoints polybatch tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cloud {
    Public,
    China,
    UsGovernment,
}

/// The cloud of a Batch account endpoint, from its host (`*.batch.chinacloudapi.cn` → China,
/// `*.batch.usgovcloudapi.net` → US Government); any other host, loopback emulators
/// included, is the public cloud.
fn cloud_of(endpoint: &Url) -> Cloud {
    let host = endpoint
        .host_str()
        .unwrap_or("")
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if host.ends_with(".batch.chinacloudapi.cn") {
        Cloud::China
    } else if host.ends_with(".batch.usgovcloudapi.net") {
        Cloud::UsGovernment
    } else {
        Cloud::Public
    }
}

/// The Entra ID scope for a Batch account endpoint: its cloud's Batch resource.
pub fn batch_scope(endpoint: &Url) -> &'static str {
    match cloud_of(endpoint) {
        Cloud::Public => BATCH_SCOPE,
        Cloud::China => BATCH_SCOPE_CHINA,
        Cloud::UsGovernment => BATCH_SCOPE_US_GOV,
    }
}

/// The Microsoft Entra ID authority host of the public cloud (the default).
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";

/// The authority host of Azure China (`azure-identity`'s `AzureAuthorityHosts.AZURE_CHINA`).
pub const AUTHORITY_HOST_CHINA: &str = "https://login.chinacloudapi.cn";

/// The authority host of Azure US Government (`AzureAuthorityHosts.AZURE_GOVERNMENT`).
pub const AUTHORITY_HOST_US_GOV: &str = "https://login.microsoftonline.us";

/// The Entra ID authority host for a Batch account endpoint: its cloud's, unless the caller
/// names one (`AZURE_AUTHORITY_HOST`, as the Azure SDKs read it).
pub fn authority_host(endpoint: &Url) -> &'static str {
    match cloud_of(endpoint) {
        Cloud::Public => DEFAULT_AUTHORITY_HOST,
        Cloud::China => AUTHORITY_HOST_CHINA,
        Cloud::UsGovernment => AUTHORITY_HOST_US_GOV,
    }
}

/// The `azure_identity` cloud of an authority host: the three known clouds by name, any
/// other host as a custom cloud (which `azure_identity` accepts over https only).
pub(crate) fn cloud_configuration(authority: &Url) -> azure_core::cloud::CloudConfiguration {
    use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
    let host = authority.as_str().trim_end_matches('/');
    match host {
        DEFAULT_AUTHORITY_HOST => CloudConfiguration::AzurePublic,
        AUTHORITY_HOST_CHINA => CloudConfiguration::AzureChina,
        AUTHORITY_HOST_US_GOV => CloudConfiguration::AzureGovernment,
        other => {
            let mut custom = CustomConfiguration::default();
            custom.authority_host = other.to_string();
            CloudConfiguration::Custom(custom)
        }
    }
}

/// Refresh when less than this much of a token's life remains (or less than half of it).
/// The longest token lifetime believed: a day.
const MAX_TOKEN_LIFETIME_SECS: u64 = 24 * 3600;

const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The largest token response read (a real one is a few KiB).
const MAX_TOKEN_RESPONSE: usize = 1024 * 1024;

/// A cached token that failed to refresh is still used while it has at least this long left.
const MIN_USABLE: Duration = Duration::from_secs(30);

/// How requests are authorized.
#[derive(Clone)]
pub(crate) enum Credential {
    /// Shared Key: the account name, its base64 key (for redaction) and the key's bytes,
    /// decoded once when built rather than on every attempt.
    SharedKey {
        account: String,
        key: Secret,
        decoded: Arc<KeyBytes>,
    },
    /// Microsoft Entra ID: a bearer token from the cache.
    Entra(Arc<TokenCache>),
}

/// A decoded Shared Key: never printed, overwritten when dropped.
pub(crate) struct KeyBytes(Vec<u8>);

impl KeyBytes {
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        KeyBytes(bytes)
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for KeyBytes {
    fn drop(&mut self) {
        self.0.iter_mut().for_each(|b| *b = 0);
        std::hint::black_box(&self.0);
    }
}

impl Credential {
    /// The secrets to redact from any server text.
    pub(crate) fn secrets(&self) -> Vec<Secret> {
        match self {
            Credential::SharedKey { key, .. } => vec![key.clone()],
            Credential::Entra(cache) => {
                let mut out = cache.source.secrets();
                if let Some(t) = cache.peek() {
                    out.push(t);
                }
                out
            }
        }
    }

    /// `"shared_key"` or `"entra_id"`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Credential::SharedKey { .. } => "shared_key",
            Credential::Entra(_) => "entra_id",
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::SharedKey { account, key, .. } => f
                .debug_struct("SharedKey")
                .field("account", account)
                .field("key", key)
                .finish(),
            Credential::Entra(cache) => f.debug_tuple("EntraId").field(cache).finish(),
        }
    }
}

/// A fetched access token.
pub(crate) struct AccessToken {
    /// The bearer token.
    pub token: Secret,
    /// Its lifetime from now.
    pub expires_in: Duration,
}

/// Where tokens come from: the client-credentials HTTP flow, or a test double.
#[async_trait]
pub(crate) trait TokenSource: fmt::Debug + Send + Sync + 'static {
    /// Fetches a fresh token; `operation` is the operation waiting for it (for errors).
    async fn fetch(&self, operation: Operation) -> Result<AccessToken>;

    /// The secrets this source holds, for redaction.
    fn secrets(&self) -> Vec<Secret> {
        Vec::new()
    }
}

struct Cached {
    token: Secret,
    expires_at: Instant,
    refresh_at: Instant,
}

/// Caches a token and refreshes it before it expires, one refresh at a time.
pub(crate) struct TokenCache {
    source: Arc<dyn TokenSource>,
    current: Mutex<Option<Cached>>,
    // Held while fetching, so concurrent callers wait for the one refresh instead of each
    // fetching their own.
    refresh: tokio::sync::Mutex<()>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cached = self.peek().is_some();
        f.debug_struct("TokenCache")
            .field("source", &self.source)
            .field("token", &if cached { Some(Secret::new("")) } else { None })
            .finish()
    }
}

impl TokenCache {
    /// A cache over `source`, empty until first used.
    pub(crate) fn new(source: Arc<dyn TokenSource>) -> Self {
        TokenCache {
            source,
            current: Mutex::new(None),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Cached>> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn peek(&self) -> Option<Secret> {
        self.lock().as_ref().map(|c| c.token.clone())
    }

    /// The cached token if it does not need refreshing yet.
    fn fresh(&self) -> Option<Secret> {
        let now = Instant::now();
        self.lock()
            .as_ref()
            .filter(|c| now < c.refresh_at)
            .map(|c| c.token.clone())
    }

    /// The cached token if it is still usable, even though it is due for refresh.
    fn usable(&self) -> Option<Secret> {
        let now = Instant::now();
        self.lock()
            .as_ref()
            .filter(|c| now + MIN_USABLE < c.expires_at)
            .map(|c| c.token.clone())
    }

    /// A valid token: the cached one, or a new one when it is due for refresh.
    pub(crate) async fn token(&self, operation: Operation) -> Result<Secret> {
        if let Some(t) = self.fresh() {
            return Ok(t);
        }
        let _refreshing = self.refresh.lock().await;
        // Another caller may have refreshed while this one waited.
        if let Some(t) = self.fresh() {
            return Ok(t);
        }
        match self.source.fetch(operation).await {
            Ok(fetched) => {
                let now = Instant::now();
                let life = fetched.expires_in;
                let refresh_after = (life / 2).min(life.saturating_sub(REFRESH_MARGIN));
                // Checked: a credential other than ours may hand back any lifetime.
                let far = now + Duration::from_secs(MAX_TOKEN_LIFETIME_SECS);
                *self.lock() = Some(Cached {
                    token: fetched.token.clone(),
                    expires_at: now.checked_add(life).unwrap_or(far),
                    refresh_at: now.checked_add(refresh_after).unwrap_or(far),
                });
                tracing::debug!(
                    expires_in_s = life.as_secs(),
                    refresh_in_s = refresh_after.as_secs(),
                    "azure: fetched an Entra ID token"
                );
                Ok(fetched.token)
            }
            Err(e) => match self.usable() {
                Some(t) => {
                    tracing::warn!(error = %e, "azure: token refresh failed; using the cached token until it expires");
                    Ok(t)
                }
                None => Err(e),
            },
        }
    }
}

/// The OAuth2 client-credentials flow against Microsoft Entra ID.
pub(crate) struct ClientSecretSource {
    http: reqwest::Client,
    token_url: Url,
    scope: &'static str,
    client_id: String,
    client_secret: Secret,
}

impl fmt::Debug for ClientSecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSecretSource")
            .field("token_url", &self.token_url.as_str())
            .field("scope", &self.scope)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .finish()
    }
}

impl ClientSecretSource {
    /// `{authority}/{tenant}/oauth2/v2.0/token`, asking for `scope` (see [`batch_scope`]).
    pub(crate) fn new(
        http: reqwest::Client,
        authority: &Url,
        tenant: &str,
        scope: &'static str,
        client_id: String,
        client_secret: Secret,
    ) -> Result<Self> {
        let mut token_url = authority.clone();
        token_url
            .path_segments_mut()
            .map_err(|_| {
                Error::configuration(BACKEND, "AZURE_AUTHORITY_HOST", "cannot be a base URL")
            })?
            .pop_if_empty()
            .extend([tenant, "oauth2", "v2.0", "token"]);
        Ok(ClientSecretSource {
            http,
            token_url,
            scope,
            client_id,
            client_secret,
        })
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenError {
    error: Option<String>,
    error_description: Option<String>,
}

#[async_trait]
impl TokenSource for ClientSecretSource {
    async fn fetch(&self, operation: Operation) -> Result<AccessToken> {
        let ctx = || {
            ErrorContext::new(BACKEND, operation)
                .with_message(format!("token endpoint {}", self.token_url))
        };
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.client_id)
            .append_pair("client_secret", self.client_secret.expose())
            .append_pair("grant_type", "client_credentials")
            .append_pair("scope", self.scope)
            .finish();
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let host = self.token_url.host_str().unwrap_or("");
        let request = Request::new(
            Method::POST,
            &self.token_url,
            ErrorContext::new(BACKEND, operation).with_message(format!("token endpoint {host}")),
        )
        .headers(headers)
        .body(Some(form.into_bytes()))
        .max_body(MAX_TOKEN_RESPONSE)
        .request_id_header("x-ms-request-id")
        .secret(&self.client_secret);
        let response = polybatch_http::send(&self.http, request)
            .await
            // The Batch request itself was certainly not sent, so even a non-idempotent
            // operation may retry.
            .map_err(|e| match e {
                Error::Transport { source, ctx, .. } => Error::transport(false, source, *ctx),
                other => other,
            })?;
        let status = response.status;
        if response.truncated {
            return Err(Error::service(
                Some(status),
                false,
                ctx().with_message(format!(
                    "token endpoint {} sent a response over {MAX_TOKEN_RESPONSE} bytes",
                    self.token_url
                )),
            ));
        }
        let body = response.body;
        if (200..300).contains(&status) {
            let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|_| {
                Error::unauthenticated(ctx().with_message(format!(
                    "token endpoint {} returned HTTP {status} without a token response",
                    self.token_url
                )))
            })?;
            let token = parsed
                .access_token
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    Error::unauthenticated(ctx().with_message("token response has no access_token"))
                })?;
            let expires_in = match parsed.expires_in {
                Some(serde_json::Value::Number(n)) => n.as_u64(),
                Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
                _ => None,
            }
            .unwrap_or(3600)
            // Entra ID tokens live hours; an absurd lifetime from a server must not overflow
            // the clock arithmetic of the cache (a day is far more than any token gets).
            .min(MAX_TOKEN_LIFETIME_SECS);
            return Ok(AccessToken {
                token: Secret::new(token),
                expires_in: Duration::from_secs(expires_in),
            });
        }
        let err: TokenError = serde_json::from_slice(&body).unwrap_or_default();
        // AAD descriptions carry trace/correlation ids on following lines: keep the first.
        let description = err
            .error_description
            .as_deref()
            .and_then(|d| d.lines().next())
            .map(|d| redact(d.trim(), &[&self.client_secret]))
            .unwrap_or_else(|| format!("HTTP {status}"));
        let mut c = ctx().with_message(format!(
            "token endpoint {} refused the client credentials: {description}",
            self.token_url
        ));
        if let Some(code) = err.error {
            c = c.with_code(code);
        }
        Err(match status {
            429 | 500..=599 => Error::service(Some(status), true, c),
            _ => Error::unauthenticated(c),
        })
    }

    fn secrets(&self) -> Vec<Secret> {
        vec![self.client_secret.clone()]
    }
}

/// Any Microsoft Entra ID token source of the official Azure SDK for Rust: every credential
/// of `azure_identity` (managed identity, workload identity, Azure CLI, client certificate,
/// client secret…) or the caller's own, asked for the Batch scope of the endpoint's cloud.
pub(crate) struct IdentitySource {
    credential: Arc<dyn azure_core::credentials::TokenCredential>,
    scope: &'static str,
    /// What the credential is, for Debug and errors (`azure_identity` types' Debug output is
    /// not guaranteed free of secrets, so it is never shown).
    kind: &'static str,
}

impl fmt::Debug for IdentitySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentitySource")
            .field("credential", &self.kind)
            .field("scope", &self.scope)
            .finish()
    }
}

impl IdentitySource {
    pub(crate) fn new(
        credential: Arc<dyn azure_core::credentials::TokenCredential>,
        scope: &'static str,
        kind: &'static str,
    ) -> Self {
        IdentitySource {
            credential,
            scope,
            kind,
        }
    }
}

#[async_trait]
impl TokenSource for IdentitySource {
    async fn fetch(&self, operation: Operation) -> Result<AccessToken> {
        let token = self
            .credential
            .get_token(&[self.scope], None)
            .await
            .map_err(|e| {
                let retryable = matches!(e.kind(), azure_core::error::ErrorKind::Io);
                let reason = sdk_reason(&e);
                let ctx = ErrorContext::new(BACKEND, operation).with_message(format!(
                    "{} could not get a token for {}: {reason}",
                    self.kind, self.scope
                ));
                if retryable {
                    Error::transport(false, Some(Box::new(e)), ctx)
                } else {
                    Error::unauthenticated(ctx)
                }
            })?;
        let now = time::OffsetDateTime::now_utc();
        let left = (token.expires_on - now).whole_seconds();
        Ok(AccessToken {
            token: Secret::new(token.token.secret()),
            expires_in: Duration::from_secs(u64::try_from(left).unwrap_or(0)),
        })
    }
}

/// Why an `azure_identity` call failed, in one line: its messages end with a troubleshooting
/// link on a line of its own.
pub(crate) fn sdk_reason(e: &azure_core::Error) -> String {
    e.to_string()
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}

/// The HTTP client `azure_identity` credentials send through: polybatch's own (the same
/// proxy, TLS roots and timeouts as the Batch requests), instead of the SDK's default stack,
/// which would compile a second version of reqwest. Written here because no crate adapts one
/// to the other; it only copies a request and a response across.
#[derive(Debug, Clone)]
pub(crate) struct IdentityTransport {
    http: reqwest::Client,
}

impl IdentityTransport {
    pub(crate) fn new(http: reqwest::Client) -> Self {
        IdentityTransport { http }
    }

    /// An `azure_core` transport sending through this client.
    pub(crate) fn transport(&self) -> azure_core::http::Transport {
        azure_core::http::Transport::new(Arc::new(self.clone()))
    }
}

#[async_trait]
impl azure_core::http::HttpClient for IdentityTransport {
    async fn execute_request(
        &self,
        request: &azure_core::http::Request,
    ) -> azure_core::Result<azure_core::http::AsyncRawResponse> {
        use azure_core::error::ErrorKind;
        let method = Method::from_bytes(request.method().as_str().as_bytes())
            .map_err(|e| azure_core::Error::new(ErrorKind::Other, e))?;
        let mut builder = self.http.request(method, request.url().clone());
        for (name, value) in request.headers().iter() {
            builder = builder.header(name.as_str(), value.as_str());
        }
        match request.body() {
            azure_core::http::Body::Bytes(bytes) => builder = builder.body(bytes.to_vec()),
            azure_core::http::Body::SeekableStream(_) => {
                return Err(azure_core::Error::with_message(
                    ErrorKind::Other,
                    "streamed bodies are not sent by credential requests",
                ));
            }
        }
        let response = builder
            .send()
            .await
            .map_err(|e| azure_core::Error::new(ErrorKind::Io, e))?;
        let status = azure_core::http::StatusCode::from(response.status().as_u16());
        let mut headers = azure_core::http::headers::Headers::new();
        for (name, value) in response.headers() {
            if let Ok(v) = value.to_str() {
                headers.insert(name.as_str().to_string(), v.to_string());
            }
        }
        let mut body = Vec::new();
        let mut response = response;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| azure_core::Error::new(ErrorKind::Io, e))?
        {
            if body.len() + chunk.len() > MAX_TOKEN_RESPONSE {
                return Err(azure_core::Error::with_message(
                    ErrorKind::Io,
                    format!("credential response over {MAX_TOKEN_RESPONSE} bytes"),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(azure_core::http::AsyncRawResponse::from_bytes(
            status,
            headers,
            bytes::Bytes::from(body),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[derive(Debug)]
    struct Counting {
        calls: AtomicU32,
        life: Duration,
        fail_after: u32,
    }

    #[async_trait]
    impl TokenSource for Counting {
        async fn fetch(&self, operation: Operation) -> Result<AccessToken> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            // Slow enough that concurrent callers overlap.
            tokio::time::sleep(Duration::from_millis(200)).await;
            if n > self.fail_after {
                return Err(Error::unauthenticated(
                    ErrorContext::new(BACKEND, operation).with_code("invalid_client"),
                ));
            }
            Ok(AccessToken {
                token: Secret::new(format!("token-{n}")),
                expires_in: self.life,
            })
        }
    }

    fn cache(life: Duration, fail_after: u32) -> (Arc<Counting>, Arc<TokenCache>) {
        let source = Arc::new(Counting {
            calls: AtomicU32::new(0),
            life,
            fail_after,
        });
        (source.clone(), Arc::new(TokenCache::new(source)))
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_fetch() {
        let (source, cache) = cache(Duration::from_secs(3600), u32::MAX);
        let calls = (0..16).map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.token(Operation::JobStatus).await })
        });
        for r in futures::future::join_all(calls).await {
            assert_eq!(r.unwrap().unwrap().expose(), "token-1");
        }
        assert_eq!(source.calls.load(Ordering::SeqCst), 1);
    }

    /// A `TokenCredential` whose tokens live 10 minutes, counting its calls.
    #[derive(Debug, Default)]
    struct TenMinutes {
        calls: AtomicU32,
    }

    #[async_trait]
    impl azure_core::credentials::TokenCredential for TenMinutes {
        async fn get_token(
            &self,
            scopes: &[&str],
            _: Option<azure_core::credentials::TokenRequestOptions<'_>>,
        ) -> azure_core::Result<azure_core::credentials::AccessToken> {
            assert_eq!(scopes, [BATCH_SCOPE_CHINA]);
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(azure_core::credentials::AccessToken::new(
                format!("sdk-token-{n}"),
                time::OffsetDateTime::now_utc() + time::Duration::minutes(10),
            ))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_azure_identity_credential_is_refreshed_five_minutes_before_expiry() {
        let sdk = Arc::new(TenMinutes::default());
        let source = IdentitySource::new(sdk.clone(), BATCH_SCOPE_CHINA, "TokenCredential");
        let cache = TokenCache::new(Arc::new(source));
        let token = || async {
            cache
                .token(Operation::JobStatus)
                .await
                .unwrap()
                .expose()
                .to_string()
        };
        assert_eq!(token().await, "sdk-token-1");
        // The SDK's expiry is read once; the refresh runs on the (paused) tokio clock.
        tokio::time::advance(Duration::from_secs(4 * 60 + 58)).await;
        assert_eq!(token().await, "sdk-token-1");
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(token().await, "sdk-token-2");
        assert_eq!(sdk.calls.load(Ordering::SeqCst), 2);
        assert!(!format!("{cache:?}").contains("sdk-token"));
    }

    #[tokio::test(start_paused = true)]
    async fn refreshes_before_expiry() {
        // One hour: half its life (30 min) comes before "5 minutes left" (55 min).
        let (source, cache) = cache(Duration::from_secs(3600), u32::MAX);
        assert_eq!(
            cache.token(Operation::JobStatus).await.unwrap().expose(),
            "token-1"
        );
        tokio::time::advance(Duration::from_secs(29 * 60)).await;
        assert_eq!(
            cache.token(Operation::JobStatus).await.unwrap().expose(),
            "token-1"
        );
        assert_eq!(source.calls.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(2 * 60)).await;
        assert_eq!(
            cache.token(Operation::JobStatus).await.unwrap().expose(),
            "token-2"
        );
        assert_eq!(source.calls.load(Ordering::SeqCst), 2);

        // Eight minutes: "5 minutes left" (after 3 min) comes before half its life (4 min).
        let (source, cache) = super::tests::cache(Duration::from_secs(8 * 60), u32::MAX);
        cache.token(Operation::JobStatus).await.unwrap();
        tokio::time::advance(Duration::from_secs(2 * 60)).await;
        cache.token(Operation::JobStatus).await.unwrap();
        assert_eq!(source.calls.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(
            cache.token(Operation::JobStatus).await.unwrap().expose(),
            "token-2"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failed_refresh_keeps_a_still_valid_token_then_fails() {
        let (_source, cache) = cache(Duration::from_secs(3600), 1);
        assert_eq!(
            cache.token(Operation::JobStatus).await.unwrap().expose(),
            "token-1"
        );
        tokio::time::advance(Duration::from_secs(40 * 60)).await;
        assert_eq!(
            cache.token(Operation::JobStatus).await.unwrap().expose(),
            "token-1"
        );
        tokio::time::advance(Duration::from_secs(20 * 60)).await;
        let e = cache.token(Operation::JobStatus).await.unwrap_err();
        assert_eq!(e.kind(), "unauthenticated");
        assert_eq!(e.code(), Some("invalid_client"));
    }

    #[test]
    fn the_authority_follows_the_cloud_of_the_endpoint() {
        let authority = |e: &str| authority_host(&Url::parse(e).unwrap());
        assert_eq!(
            authority("https://acct.westus.batch.azure.com"),
            "https://login.microsoftonline.com"
        );
        assert_eq!(
            authority("https://acct.chinanorth.batch.chinacloudapi.cn"),
            "https://login.chinacloudapi.cn"
        );
        assert_eq!(
            authority("https://acct.usgovvirginia.batch.usgovcloudapi.net"),
            "https://login.microsoftonline.us"
        );
        assert_eq!(authority("http://127.0.0.1:8990"), DEFAULT_AUTHORITY_HOST);
    }

    #[test]
    fn the_scope_follows_the_cloud_of_the_endpoint() {
        let scope = |u: &str| batch_scope(&Url::parse(u).unwrap());
        assert_eq!(
            scope("https://acct.westus.batch.azure.com"),
            "https://batch.core.windows.net//.default"
        );
        assert_eq!(
            scope("https://acct.chinanorth.batch.chinacloudapi.cn"),
            "https://batch.chinacloudapi.cn//.default"
        );
        assert_eq!(
            scope("https://ACCT.ChinaEast2.Batch.ChinaCloudAPI.cn./"),
            BATCH_SCOPE_CHINA
        );
        assert_eq!(
            scope("https://acct.usgovvirginia.batch.usgovcloudapi.net"),
            "https://batch.core.usgovcloudapi.net//.default"
        );
        // Loopback emulators and anything else: the public cloud.
        assert_eq!(scope("http://127.0.0.1:8080"), BATCH_SCOPE);
        assert_eq!(
            scope("https://batch.chinacloudapi.cn.evil.example"),
            BATCH_SCOPE
        );
    }

    #[tokio::test(start_paused = true)]
    async fn debug_never_shows_token_or_secret() {
        let (_source, cache) = cache(Duration::from_secs(3600), u32::MAX);
        cache.token(Operation::JobStatus).await.unwrap();
        let cred = Credential::Entra(cache);
        let shown = format!("{cred:?}");
        assert!(!shown.contains("token-1"), "{shown}");
        let source = ClientSecretSource::new(
            reqwest::Client::new(),
            &Url::parse(DEFAULT_AUTHORITY_HOST).unwrap(),
            "tenant-1",
            BATCH_SCOPE,
            "client-1".into(),
            Secret::new("s3cr3t-value"),
        )
        .unwrap();
        assert_eq!(
            source.token_url.as_str(),
            "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token"
        );
        let shown = format!("{source:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        let key = Credential::SharedKey {
            account: "a".into(),
            key: Secret::new("a2V5a2V5"),
            decoded: Arc::new(KeyBytes::new(b"keykey".to_vec())),
        };
        assert!(!format!("{key:?}").contains("a2V5a2V5"));
    }
}
