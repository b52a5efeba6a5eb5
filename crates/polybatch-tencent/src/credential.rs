//! Where Tencent credentials come from and how they are checked: fixed keys (the environment,
//! read by the builder, or the SDK credentials file), temporary keys from a CVM instance role
//! or a TKE OIDC role (refreshed before they expire), and the rules a SecretId or SecretKey
//! must follow. Values never reach an error message.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use polybatch::clock::Clock;
use polybatch::secret::{Secret, redact};
use polybatch::{Error, ErrorContext, Operation, Result};
use polybatch_http::Request;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use url::Url;

use crate::error::BACKEND;

/// Environment variable: the path of the credentials file (as the Go SDK reads it).
pub const ENV_CREDENTIALS_FILE: &str = "TENCENTCLOUD_CREDENTIALS_FILE";

/// `[default]` `secret_id` / `secret_key` of an SDK credentials file (INI).
fn read_credentials_file(path: &Path) -> std::io::Result<(Option<String>, Option<String>)> {
    let text = std::fs::read_to_string(path)?;
    let (mut id, mut key) = (None, None);
    let mut in_default = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_default = section.trim() == "default";
            continue;
        }
        if !in_default {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            match k.trim() {
                "secret_id" => id = Some(v.trim().to_string()),
                "secret_key" => key = Some(v.trim().to_string()),
                _ => {}
            }
        }
    }
    Ok((id, key))
}

/// The credential of the SDK credentials file: `explicit` (`TENCENTCLOUD_CREDENTIALS_FILE`), else
/// `<home>/.tencentcloud/credentials` (as the Go SDK looks it up). A missing default file is no
/// credential; an explicitly named file that cannot be read is an error, and so is a default
/// file that exists but cannot be read. A file naming only one half is no credential.
pub(crate) fn file_credential(
    explicit: Option<String>,
    home: Option<PathBuf>,
) -> Result<Option<(String, Secret)>> {
    let (path, named) = match explicit {
        Some(p) => (PathBuf::from(p), true),
        None => match home {
            Some(h) => (h.join(".tencentcloud").join("credentials"), false),
            None => return Ok(None),
        },
    };
    match read_credentials_file(&path) {
        Ok((Some(id), Some(key))) => Ok(Some((id, Secret::new(key)))),
        Ok(_) => Ok(None),
        Err(e) if !named && e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::configuration(
            BACKEND,
            ENV_CREDENTIALS_FILE,
            format!("cannot read {} ({e})", path.display()),
        )),
    }
}

pub(crate) fn missing(key: &'static str) -> Error {
    Error::configuration(BACKEND, key, "is not set")
}

/// Checks a credential without ever putting its value in the error.
pub(crate) fn check_credential<'a>(key: &'static str, value: Option<&'a str>) -> Result<&'a str> {
    let value = value.ok_or_else(|| missing(key))?;
    match polybatch::secret::credential_problem(value) {
        Some(rule) => Err(Error::configuration(BACKEND, key, rule)),
        None => Ok(value),
    }
}

/// Environment variables of a TKE OIDC role (the Python SDK's `DefaultTkeOIDCRoleArnProvider`
/// reads these four).
pub const ENV_TKE_REGION: &str = "TKE_REGION";
/// The OIDC identity provider id of a TKE role.
pub const ENV_TKE_PROVIDER_ID: &str = "TKE_PROVIDER_ID";
/// The file holding the service account's OIDC token, re-read at every refresh (the kubelet
/// rotates it).
pub const ENV_TKE_WEB_IDENTITY_TOKEN_FILE: &str = "TKE_WEB_IDENTITY_TOKEN_FILE";
/// The role to assume.
pub const ENV_TKE_ROLE_ARN: &str = "TKE_ROLE_ARN";

/// The CVM instance metadata service (plain http on a link-local name, as on every cloud).
pub const DEFAULT_METADATA_ENDPOINT: &str = "http://metadata.tencentyun.com";
/// The STS endpoint `AssumeRoleWithWebIdentity` is sent to.
pub const DEFAULT_STS_ENDPOINT: &str = "https://sts.tencentcloudapi.com";
/// The STS endpoint of the international site.
pub const INTL_STS_ENDPOINT: &str = "https://sts.intl.tencentcloudapi.com";
/// The STS API version.
const STS_VERSION: &str = "2018-08-13";
/// The metadata path listing the instance's role, and, with the role appended, its keys.
const METADATA_ROLE_PATH: &str = "latest/meta-data/cam/security-credentials/";

/// Temporary keys are replaced when less than this remains: the Python SDK's CVM role and OIDC
/// providers refresh at 300 s ("signature will fail if request timestamp gap is larger than
/// 300s"), since a request signed near expiry may arrive after it.
pub const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);
/// Keys that failed to refresh are still used while at least this much of their life remains.
const MIN_USABLE: Duration = Duration::from_secs(30);
/// The largest metadata or STS answer read (a real one is well under 4 KiB).
const MAX_ANSWER: usize = 64 * 1024;

/// The SecretId identifies the key: show only enough to tell keys apart.
pub(crate) fn mask_id(id: &str) -> String {
    let prefix: String = id.chars().take(8).collect();
    format!("{prefix}…")
}

/// The keys one request is signed with.
#[derive(Clone)]
pub(crate) struct Keys {
    pub secret_id: String,
    pub secret_key: Secret,
    /// The session token of temporary keys (`X-TC-Token`).
    pub token: Option<Secret>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("secret_id", &mask_id(&self.secret_id))
            .field("secret_key", &self.secret_key)
            .field("token", &self.token)
            .finish()
    }
}

/// Where temporary keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemporaryCredential {
    /// The role attached to this CVM instance, from the instance metadata service (the Python
    /// SDK's `CVMRoleCredential`; tccli's `--use-cvm-role`). `role` names it; `None` asks the
    /// metadata service which role the instance has.
    CvmRole {
        /// The role name, or `None` to look it up.
        role: Option<String>,
        /// The metadata service (default [`DEFAULT_METADATA_ENDPOINT`]).
        metadata_endpoint: String,
    },
    /// A TKE pod's OIDC role: `AssumeRoleWithWebIdentity` with the service account token (the
    /// Python SDK's `OIDCRoleArnProvider`).
    OidcRole {
        /// The STS region (`TKE_REGION`).
        region: String,
        /// The identity provider id (`TKE_PROVIDER_ID`).
        provider_id: String,
        /// The token file (`TKE_WEB_IDENTITY_TOKEN_FILE`), re-read at every refresh.
        token_file: PathBuf,
        /// The role (`TKE_ROLE_ARN`).
        role_arn: String,
        /// The session name recorded in CloudAudit.
        session_name: String,
        /// How long the keys live (STS allows up to 43,200 s; default 7,200 s).
        duration: Duration,
        /// The STS endpoint (default [`DEFAULT_STS_ENDPOINT`]).
        sts_endpoint: String,
    },
}

impl TemporaryCredential {
    /// The instance's own role, from the real metadata service.
    pub fn cvm_role() -> Self {
        TemporaryCredential::CvmRole {
            role: None,
            metadata_endpoint: DEFAULT_METADATA_ENDPOINT.to_string(),
        }
    }

    /// The TKE OIDC role of `TKE_REGION`, `TKE_PROVIDER_ID`, `TKE_WEB_IDENTITY_TOKEN_FILE` and
    /// `TKE_ROLE_ARN` in `get`; `None` unless all four are set.
    pub(crate) fn oidc_from(
        get: impl Fn(&str) -> Option<String>,
        sts_endpoint: &str,
    ) -> Option<Self> {
        Some(TemporaryCredential::OidcRole {
            region: get(ENV_TKE_REGION)?,
            provider_id: get(ENV_TKE_PROVIDER_ID)?,
            token_file: PathBuf::from(get(ENV_TKE_WEB_IDENTITY_TOKEN_FILE)?),
            role_arn: get(ENV_TKE_ROLE_ARN)?,
            session_name: format!("polybatch-{}", std::process::id()),
            duration: Duration::from_secs(7200),
            sts_endpoint: sts_endpoint.to_string(),
        })
    }

    /// Where the rate limiter counts this credential's requests: the role, which stays the
    /// same across refreshes.
    fn label(&self) -> String {
        match self {
            TemporaryCredential::CvmRole { role, .. } => {
                format!("cvm-role:{}", role.as_deref().unwrap_or("(instance)"))
            }
            TemporaryCredential::OidcRole { role_arn, .. } => format!("oidc:{role_arn}"),
        }
    }

    /// The endpoint this source calls, checked: the metadata service is plain http by nature
    /// (as on every cloud); STS is https, or plain http to loopback (emulators).
    fn endpoint(&self) -> Result<Url> {
        match self {
            TemporaryCredential::CvmRole {
                metadata_endpoint, ..
            } => {
                let url = Url::parse(metadata_endpoint).map_err(|e| {
                    Error::configuration(
                        BACKEND,
                        "metadata endpoint",
                        format!("is not a URL ({e})"),
                    )
                })?;
                if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                    return Err(Error::configuration(
                        BACKEND,
                        "metadata endpoint",
                        "must be an http(s) URL with a host",
                    ));
                }
                Ok(url)
            }
            TemporaryCredential::OidcRole { sts_endpoint, .. } => {
                polybatch_http::parse_endpoint(BACKEND, "STS endpoint", sts_endpoint)
            }
        }
    }

    fn check(&self) -> Result<()> {
        self.endpoint()?;
        match self {
            TemporaryCredential::CvmRole { role: Some(r), .. }
                if r.is_empty() || r.contains(['/', '?', '#']) =>
            {
                Err(Error::configuration(
                    BACKEND,
                    "CVM role",
                    "must be a role name (no '/', '?' or '#')",
                ))
            }
            TemporaryCredential::OidcRole {
                region,
                provider_id,
                role_arn,
                session_name,
                duration,
                ..
            } => {
                for (key, value) in [
                    (ENV_TKE_REGION, region),
                    (ENV_TKE_PROVIDER_ID, provider_id),
                    (ENV_TKE_ROLE_ARN, role_arn),
                    ("role session name", session_name),
                ] {
                    check_credential(key, Some(value))?;
                }
                if duration.is_zero() || duration.as_secs() > 43_200 {
                    return Err(Error::configuration(
                        BACKEND,
                        "role duration",
                        "must be 1 to 43200 seconds",
                    ));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// The keys requests are signed with: fixed, or temporary and refreshed.
#[derive(Clone)]
pub(crate) enum Credentials {
    Fixed(Keys),
    Temporary(Arc<Refreshing>),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Fixed(keys) => keys.fmt(f),
            Credentials::Temporary(r) => r.fmt(f),
        }
    }
}

impl Credentials {
    /// Temporary keys from `source`, fetched on first use with `http` and refreshed
    /// [`REFRESH_BEFORE_EXPIRY`] before they expire by `clock`.
    pub(crate) fn temporary(
        source: TemporaryCredential,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        source.check()?;
        Ok(Credentials::Temporary(Arc::new(Refreshing {
            endpoint: source.endpoint()?,
            label: source.label(),
            source,
            http,
            clock,
            current: Mutex::new(None),
            refresh: tokio::sync::Mutex::new(()),
        })))
    }

    /// The keys to sign a request of `operation` with.
    pub(crate) async fn keys(&self, operation: Operation) -> Result<Keys> {
        match self {
            Credentials::Fixed(keys) => Ok(keys.clone()),
            Credentials::Temporary(r) => r.keys(operation).await,
        }
    }

    /// What the rate limiter counts requests under: the SecretId, or the role for temporary
    /// keys (their SecretId changes at each refresh; the role's limit does not).
    pub(crate) fn identity(&self) -> String {
        match self {
            Credentials::Fixed(keys) => keys.secret_id.clone(),
            Credentials::Temporary(r) => r.label.clone(),
        }
    }

    /// The secrets known now, to redact from any text.
    pub(crate) fn secrets(&self) -> Vec<Secret> {
        let keys = match self {
            Credentials::Fixed(keys) => Some(keys.clone()),
            Credentials::Temporary(r) => r.lock().as_ref().map(|c| c.keys.clone()),
        };
        keys.map(|k| std::iter::once(k.secret_key).chain(k.token).collect())
            .unwrap_or_default()
    }
}

struct Current {
    keys: Keys,
    /// When the keys expire, in Unix seconds (the answer's `ExpiredTime`).
    expires_at: i64,
}

/// Temporary keys, cached, refreshed one fetch at a time.
pub(crate) struct Refreshing {
    source: TemporaryCredential,
    endpoint: Url,
    label: String,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    current: Mutex<Option<Current>>,
    // Held while fetching, so concurrent callers share one fetch.
    refresh: tokio::sync::Mutex<()>,
}

impl fmt::Debug for Refreshing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let current = self.lock();
        f.debug_struct("TemporaryCredential")
            .field("source", &self.source)
            .field("keys", &current.as_ref().map(|c| &c.keys))
            .field("expires_at", &current.as_ref().map(|c| c.expires_at))
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MetadataKeys {
    tmp_secret_id: Option<String>,
    tmp_secret_key: Option<String>,
    token: Option<String>,
    expired_time: Option<i64>,
    code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsEnvelope {
    response: StsResponse,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsResponse {
    credentials: Option<StsKeys>,
    expired_time: Option<i64>,
    error: Option<StsError>,
    request_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsKeys {
    token: Option<String>,
    tmp_secret_id: Option<String>,
    tmp_secret_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsError {
    code: String,
    message: Option<String>,
}

impl Refreshing {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Current>> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// The cached keys if more than `margin` of their life remains.
    fn cached(&self, margin: Duration) -> Option<Keys> {
        let now = self.now();
        let margin = i64::try_from(margin.as_secs()).unwrap_or(i64::MAX);
        self.lock()
            .as_ref()
            .filter(|c| now.saturating_add(margin) < c.expires_at)
            .map(|c| c.keys.clone())
    }

    async fn keys(&self, operation: Operation) -> Result<Keys> {
        if let Some(k) = self.cached(REFRESH_BEFORE_EXPIRY) {
            return Ok(k);
        }
        let _refreshing = self.refresh.lock().await;
        if let Some(k) = self.cached(REFRESH_BEFORE_EXPIRY) {
            return Ok(k);
        }
        match self.fetch(operation).await {
            Ok(current) => {
                tracing::debug!(
                    source = %self.label,
                    expires_in_s = current.expires_at - self.now(),
                    "tencent: fetched temporary keys"
                );
                let keys = current.keys.clone();
                *self.lock() = Some(current);
                Ok(keys)
            }
            Err(e) => match self.cached(MIN_USABLE) {
                Some(k) => {
                    tracing::warn!(error = %e, "tencent: refreshing temporary keys failed; using the current ones until they expire");
                    Ok(k)
                }
                None => Err(e),
            },
        }
    }

    fn ctx(&self, operation: Operation, what: &str) -> ErrorContext {
        ErrorContext::new(BACKEND, operation).with_message(format!("{what} at {}", self.endpoint))
    }

    /// Keys checked to be whole and not already expired.
    fn keys_from(
        &self,
        operation: Operation,
        what: &str,
        id: Option<String>,
        key: Option<String>,
        token: Option<String>,
        expires_at: Option<i64>,
    ) -> Result<Current> {
        let bad = |why: &str| {
            Error::unauthenticated(
                ErrorContext::new(BACKEND, operation)
                    .with_message(format!("{what} at {} answered {why}", self.endpoint)),
            )
        };
        let (Some(id), Some(key), Some(token)) = (
            id.filter(|v| !v.is_empty()),
            key.filter(|v| !v.is_empty()),
            token.filter(|v| !v.is_empty()),
        ) else {
            return Err(bad("without TmpSecretId, TmpSecretKey and Token"));
        };
        let expires_at = expires_at.ok_or_else(|| bad("without ExpiredTime"))?;
        if expires_at <= self.now() {
            return Err(bad("keys that have already expired"));
        }
        // Keys the service sent are not the caller's configuration: a malformed one is a
        // refused sign-in, named but never shown.
        for (name, value) in [
            ("TmpSecretId", &id),
            ("TmpSecretKey", &key),
            ("Token", &token),
        ] {
            check_credential(name, Some(value)).map_err(|_| bad(&format!("a malformed {name}")))?;
        }
        Ok(Current {
            keys: Keys {
                secret_id: id,
                secret_key: Secret::new(key),
                token: Some(Secret::new(token)),
            },
            expires_at,
        })
    }

    async fn get(
        &self,
        operation: Operation,
        url: &Url,
        what: &str,
    ) -> Result<polybatch_http::Response> {
        let request =
            Request::new(Method::GET, url, self.ctx(operation, what)).max_body(MAX_ANSWER);
        polybatch_http::send(&self.http, request)
            .await
            .map_err(not_sent)
    }

    async fn fetch(&self, operation: Operation) -> Result<Current> {
        match &self.source {
            TemporaryCredential::CvmRole { role, .. } => {
                let base = self.endpoint.join(METADATA_ROLE_PATH).map_err(|e| {
                    Error::configuration(BACKEND, "metadata endpoint", e.to_string())
                })?;
                let role = match role {
                    Some(r) => r.clone(),
                    None => {
                        let what = "the CVM role name";
                        let answer = self.get(operation, &base, what).await?;
                        let text = String::from_utf8_lossy(&answer.body);
                        match (answer.status, text.lines().next().map(str::trim)) {
                            (200, Some(r)) if !r.is_empty() && !r.contains(['/', '?', '#']) => {
                                r.to_string()
                            }
                            (status, _) => {
                                return Err(Error::unauthenticated(self.ctx(operation, what).with_message(format!(
                                    "this machine has no CVM role: the metadata service at {} answered HTTP {status} for {base}",
                                    self.endpoint
                                ))));
                            }
                        }
                    }
                };
                let what = "the CVM role's keys";
                let url = base
                    .join(&role)
                    .map_err(|e| Error::configuration(BACKEND, "CVM role", e.to_string()))?;
                let answer = self.get(operation, &url, what).await?;
                if answer.status != 200 {
                    return Err(Error::unauthenticated(self.ctx(operation, what).with_message(format!(
                        "the metadata service at {} answered HTTP {} for the keys of role {role:?}",
                        self.endpoint, answer.status
                    ))));
                }
                let parsed: MetadataKeys = serde_json::from_slice(&answer.body).map_err(|_| {
                    Error::unauthenticated(self.ctx(operation, what).with_message(format!(
                        "the metadata service at {} answered the keys of role {role:?} with something that is not their JSON",
                        self.endpoint
                    )))
                })?;
                if parsed.code.as_deref().is_some_and(|c| c != "Success") {
                    return Err(Error::unauthenticated(
                        self.ctx(operation, what).with_message(format!(
                            "the metadata service refused the keys of role {role:?}: Code {:?}",
                            parsed.code.unwrap_or_default()
                        )),
                    ));
                }
                self.keys_from(
                    operation,
                    what,
                    parsed.tmp_secret_id,
                    parsed.tmp_secret_key,
                    parsed.token,
                    parsed.expired_time,
                )
            }
            TemporaryCredential::OidcRole {
                region,
                provider_id,
                token_file,
                role_arn,
                session_name,
                duration,
                ..
            } => {
                let what = "AssumeRoleWithWebIdentity";
                let web_token = std::fs::read_to_string(token_file).map_err(|e| {
                    Error::configuration(
                        BACKEND,
                        ENV_TKE_WEB_IDENTITY_TOKEN_FILE,
                        format!("cannot read {} ({e})", token_file.display()),
                    )
                })?;
                let web_token = Secret::new(web_token.trim());
                if web_token.is_empty() {
                    return Err(Error::configuration(
                        BACKEND,
                        ENV_TKE_WEB_IDENTITY_TOKEN_FILE,
                        format!("{} is empty", token_file.display()),
                    ));
                }
                let body = serde_json::json!({
                    "ProviderId": provider_id,
                    "WebIdentityToken": web_token.expose(),
                    "RoleArn": role_arn,
                    "RoleSessionName": session_name,
                    "DurationSeconds": duration.as_secs(),
                });
                let host = match (self.endpoint.host_str(), self.endpoint.port()) {
                    (Some(h), Some(p)) => format!("{h}:{p}"),
                    (Some(h), None) => h.to_string(),
                    (None, _) => String::new(),
                };
                let mut headers = HeaderMap::new();
                // The Python SDK sends this action unsigned (`Authorization: SKIP`): the web
                // identity token is the proof.
                for (name, value) in [
                    ("host", host.as_str()),
                    ("content-type", crate::model::CONTENT_TYPE),
                    ("authorization", "SKIP"),
                    ("x-tc-action", what),
                    ("x-tc-version", STS_VERSION),
                    ("x-tc-region", region.as_str()),
                    ("x-tc-timestamp", &self.now().to_string()),
                    ("x-tc-requestclient", crate::model::REQUEST_CLIENT),
                ] {
                    let value = HeaderValue::from_str(value).map_err(|_| {
                        Error::configuration(BACKEND, ENV_TKE_REGION, "must be visible ASCII")
                    })?;
                    headers.insert(HeaderName::from_static(name), value);
                }
                let request = Request::new(Method::POST, &self.endpoint, self.ctx(operation, what))
                    .headers(headers)
                    .body(Some(body.to_string().into_bytes()))
                    .max_body(MAX_ANSWER)
                    .request_id_header("x-tc-requestid")
                    .secret(&web_token);
                let answer = polybatch_http::send(&self.http, request)
                    .await
                    .map_err(not_sent)?;
                let parsed: StsEnvelope = serde_json::from_slice(&answer.body).map_err(|_| {
                    Error::service(
                        Some(answer.status),
                        (500..600).contains(&answer.status),
                        self.ctx(operation, what).with_message(format!(
                            "STS at {} answered HTTP {} without a Response envelope",
                            self.endpoint, answer.status
                        )),
                    )
                })?;
                let r = parsed.response;
                if let Some(err) = r.error {
                    let message = redact(err.message.as_deref().unwrap_or(""), &[&web_token]);
                    let mut ctx = self
                        .ctx(operation, what)
                        .with_message(format!(
                            "STS refused to assume role {role_arn:?}: {message}"
                        ))
                        .with_code(err.code.clone());
                    if let Some(id) = r.request_id {
                        ctx = ctx.with_request_id(id);
                    }
                    let retryable =
                        matches!(err.code.as_str(), "InternalError" | "RequestLimitExceeded")
                            || err.code.starts_with("InternalError.");
                    return Err(if retryable {
                        Error::service(Some(answer.status), true, ctx)
                    } else {
                        Error::unauthenticated(ctx)
                    });
                }
                let keys = r.credentials.unwrap_or(StsKeys {
                    token: None,
                    tmp_secret_id: None,
                    tmp_secret_key: None,
                });
                self.keys_from(
                    operation,
                    what,
                    keys.tmp_secret_id,
                    keys.tmp_secret_key,
                    keys.token,
                    r.expired_time,
                )
            }
        }
    }
}

/// A failed credential fetch never sent the Batch request, so even a non-idempotent operation
/// may retry it.
fn not_sent(e: Error) -> Error {
    match e {
        Error::Transport { source, ctx, .. } => Error::transport(false, source, *ctx),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_gives_a_whole_credential_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        let named = || Some(path.display().to_string());
        // An explicitly named file that is missing is an error naming the setting.
        let e = file_credential(named(), None).unwrap_err();
        assert!(e.to_string().contains(ENV_CREDENTIALS_FILE), "{e}");
        // A missing default file, or no home, is no credential.
        assert!(
            file_credential(None, Some(dir.path().into()))
                .unwrap()
                .is_none()
        );
        assert!(file_credential(None, None).unwrap().is_none());
        // Half a credential is none; the other section does not count.
        std::fs::write(
            &path,
            "[default]\nsecret_id = AKIDx\n[other]\nsecret_key = k\n",
        )
        .unwrap();
        assert!(file_credential(named(), None).unwrap().is_none());
        std::fs::write(
            &path,
            "# c\n[default]\nsecret_id = AKIDx\nsecret_key = k2\n",
        )
        .unwrap();
        let (id, key) = file_credential(named(), None).unwrap().unwrap();
        assert_eq!((id.as_str(), key.expose()), ("AKIDx", "k2"));
    }

    #[test]
    fn credentials_are_checked_without_showing_them() {
        assert!(check_credential("K", Some("AKIDok")).is_ok());
        for bad in ["", " SECRET1", "SECRET2 ", "SECRET3\tx", "SECRET4\u{fc}"] {
            let e = check_credential("K", Some(bad)).unwrap_err();
            assert!(matches!(e, Error::Configuration { .. }), "{e:?}");
            assert!(!e.to_string().contains("SECRET"), "{e}");
        }
        assert!(
            check_credential("K", None)
                .unwrap_err()
                .to_string()
                .contains("is not set")
        );
    }
}
