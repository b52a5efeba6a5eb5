//! Where temporary Tencent keys come from, offline: the CVM instance metadata service
//! (`GET /latest/meta-data/cam/security-credentials/[ROLE]`) and STS's
//! `AssumeRoleWithWebIdentity` (version `2018-08-13`, sent unsigned as the SDKs send it), and
//! the keys they issued, which the Batch front end then accepts until they expire.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use polybatch::secret::Secret;
use serde_json::{Map, Value, json};

use super::TencentService;
use super::errors::ApiError;
use crate::faults::Provider;

/// The STS API version.
pub const STS_VERSION: &str = "2018-08-13";
/// The STS action served.
pub const ASSUME_ROLE_WITH_WEB_IDENTITY: &str = "AssumeRoleWithWebIdentity";
/// How the emulator's request counters name a metadata read of the role's name.
pub const METADATA_ROLE_NAME: &str = "metadata:role-name";
/// How the emulator's request counters name a metadata read of the role's keys.
pub const METADATA_ROLE_KEYS: &str = "metadata:role-keys";
/// The longest `DurationSeconds` STS grants.
const MAX_DURATION_SECONDS: i64 = 43_200;

/// Keys the emulator issued.
#[derive(Clone)]
pub struct IssuedKeys {
    /// The key requests signed with this SecretId are verified with.
    pub secret_key: Secret,
    /// The `X-TC-Token` they must carry.
    pub token: Secret,
    expires_at: i64,
}

/// One issue of keys, in the fields both answers use.
struct Issue {
    keys: Map<String, Value>,
    expiry: Map<String, Value>,
}

/// Every temporary key issued, by SecretId.
#[derive(Default)]
pub struct Issued {
    keys: Mutex<HashMap<String, IssuedKeys>>,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("keys", &self.lock().len())
            .finish()
    }
}

impl Issued {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, IssuedKeys>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// New keys living `seconds` from `now`, as both answers spell them: `TmpSecretId`,
    /// `TmpSecretKey`, `Token` (`keys`), and `ExpiredTime`, `Expiration` (`expiry`).
    fn issue(&self, now: DateTime<Utc>, seconds: i64) -> Issue {
        let id = format!("AKIDtmp{}", uuid::Uuid::new_v4().simple());
        let key = uuid::Uuid::new_v4().simple().to_string();
        let token = format!("tmptoken-{}", uuid::Uuid::new_v4().simple());
        let expires_at = now.timestamp() + seconds;
        let expiration = DateTime::from_timestamp(expires_at, 0)
            .unwrap_or(now)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let mut keys = Map::new();
        keys.insert("TmpSecretId".into(), json!(id));
        keys.insert("TmpSecretKey".into(), json!(key));
        keys.insert("Token".into(), json!(token));
        let mut expiry = Map::new();
        expiry.insert("ExpiredTime".into(), json!(expires_at));
        expiry.insert("Expiration".into(), json!(expiration));
        self.lock().insert(
            id,
            IssuedKeys {
                secret_key: Secret::new(key),
                token: Secret::new(token),
                expires_at,
            },
        );
        Issue { keys, expiry }
    }

    /// The issued keys of `secret_id`, if it is one the emulator issued (else the request is
    /// checked against the configured long-term key); an expired one is refused as the
    /// service refuses an expired token.
    pub fn lookup(
        &self,
        secret_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IssuedKeys>, ApiError> {
        let Some(keys) = self.lock().get(secret_id).cloned() else {
            return Ok(None);
        };
        if now.timestamp() >= keys.expires_at {
            return Err(ApiError::new(
                "AuthFailure.TokenFailure",
                "The temporary credential has expired.",
            ));
        }
        Ok(Some(keys))
    }
}

/// The SecretId an `Authorization: TC3-HMAC-SHA256 Credential=ID/...` header names.
pub fn signed_secret_id(authorization: &str) -> Option<&str> {
    let credential = authorization.split("Credential=").nth(1)?;
    credential.split('/').next().filter(|id| !id.is_empty())
}

/// `AssumeRoleWithWebIdentity`: checks the parameters STS requires and issues keys. The
/// emulator cannot verify an OIDC token's issuer, so any token of JWT shape (three
/// dot-separated base64url parts) is taken as valid.
pub fn assume_role_with_web_identity(
    issued: &Issued,
    version: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Map<String, Value>, ApiError> {
    match version {
        None => return Err(ApiError::missing("X-TC-Version")),
        Some(STS_VERSION) => {}
        Some(other) => {
            return Err(ApiError::new(
                "NoSuchVersion",
                format!("The API version `{other}` does not exist."),
            ));
        }
    }
    let body: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("The request body is not valid JSON: {e}.")))?;
    let field = |name: &str| -> Result<String, ApiError> {
        match body.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            None | Some(Value::Null) => Err(ApiError::missing(name)),
            Some(_) => Err(ApiError::invalid(format!(
                "The parameter `{name}` must be a non-empty string."
            ))),
        }
    };
    field("ProviderId")?;
    let token = field("WebIdentityToken")?;
    let role_arn = field("RoleArn")?;
    field("RoleSessionName")?;
    let jwt_shaped = {
        let parts: Vec<&str> = token.split('.').collect();
        parts.len() == 3
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
    };
    if !jwt_shaped {
        return Err(ApiError::new(
            "InvalidParameter.WebIdentityTokenError",
            "The WebIdentityToken is not a valid OIDC token.",
        ));
    }
    if !role_arn.starts_with("qcs::cam::uin/") || !role_arn.contains(":roleName/") {
        return Err(ApiError::invalid(format!(
            "The RoleArn `{role_arn}` is not of the form qcs::cam::uin/UIN:roleName/NAME."
        )));
    }
    let seconds = match body.get("DurationSeconds") {
        None | Some(Value::Null) => 7200,
        Some(v) => match v.as_i64() {
            Some(s) if (1..=MAX_DURATION_SECONDS).contains(&s) => s,
            _ => {
                return Err(ApiError::invalid(format!(
                    "DurationSeconds must be 1 to {MAX_DURATION_SECONDS}."
                )));
            }
        },
    };
    // STS nests the keys under `Credentials`; the expiry stands beside them.
    let Issue { keys, mut expiry } = issued.issue(now, seconds);
    expiry.insert("Credentials".into(), Value::Object(keys));
    Ok(expiry)
}

fn text(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/plain"),
    );
    resp
}

/// `GET /latest/meta-data/cam/security-credentials/`: the instance's role name.
pub async fn role_name(State(service): State<std::sync::Arc<TencentService>>) -> Response {
    let role = service.ctx.config.tencent.cvm_role.clone();
    service
        .ctx
        .stats
        .record_request(Provider::Tencent, METADATA_ROLE_NAME);
    crate::log::served(
        "tencent",
        "GET /latest/meta-data/cam/security-credentials/",
        "metadata",
        StatusCode::OK,
        None,
        None,
    );
    text(StatusCode::OK, role)
}

/// `GET /latest/meta-data/cam/security-credentials/{role}`: fresh keys of the instance's
/// role (404 for any other role, as the metadata service answers).
pub async fn role_keys(
    State(service): State<std::sync::Arc<TencentService>>,
    Path(role): Path<String>,
) -> Response {
    let config = &service.ctx.config.tencent;
    service
        .ctx
        .stats
        .record_request(Provider::Tencent, METADATA_ROLE_KEYS);
    let status = if role == config.cvm_role {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    crate::log::served(
        "tencent",
        "GET /latest/meta-data/cam/security-credentials/{role}",
        "metadata",
        status,
        None,
        None,
    );
    if status != StatusCode::OK {
        return text(status, "Not Found".into());
    }
    let seconds = i64::try_from(config.cvm_role_seconds).unwrap_or(MAX_DURATION_SECONDS);
    // The metadata service answers the keys and expiry side by side.
    let Issue { mut keys, expiry } = service.issued.issue(service.ctx.auth_clock.now(), seconds);
    keys.extend(expiry);
    keys.insert("Code".into(), json!("Success"));
    let fields = keys;
    let mut resp = (StatusCode::OK, Value::Object(fields).to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_secret_id_is_read_from_the_credential() {
        assert_eq!(
            signed_secret_id(
                "TC3-HMAC-SHA256 Credential=AKIDx/2025-01-01/batch/tc3_request, SignedHeaders=host"
            ),
            Some("AKIDx")
        );
        assert_eq!(signed_secret_id("SKIP"), None);
        assert_eq!(signed_secret_id("TC3-HMAC-SHA256 Credential=/d"), None);
    }

    #[test]
    fn issued_keys_are_valid_until_they_expire() {
        let issued = Issued::default();
        let now = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        let fields = issued.issue(now, 600).keys;
        let id = fields["TmpSecretId"].as_str().unwrap().to_string();
        let keys = issued.lookup(&id, now).unwrap().expect("issued keys found");
        assert_eq!(Some(keys.token.expose()), fields["Token"].as_str());
        assert_eq!(
            Some(keys.secret_key.expose()),
            fields["TmpSecretKey"].as_str()
        );
        let later = now + chrono::Duration::seconds(600);
        assert_eq!(
            issued.lookup(&id, later).err().map(|e| e.code),
            Some("AuthFailure.TokenFailure".to_string())
        );
        assert!(matches!(issued.lookup("AKIDother", now), Ok(None)));
    }

    #[test]
    fn assume_role_checks_what_sts_requires() {
        let issued = Issued::default();
        let now = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        let good = json!({
            "ProviderId": "p", "WebIdentityToken": "aGVhZA.Ym9keQ.c2ln",
            "RoleArn": "qcs::cam::uin/100000000001:roleName/batch", "RoleSessionName": "s",
            "DurationSeconds": 900,
        });
        let fields = assume_role_with_web_identity(
            &issued,
            Some(STS_VERSION),
            good.to_string().as_bytes(),
            now,
        )
        .unwrap();
        assert_eq!(fields["ExpiredTime"], json!(now.timestamp() + 900));
        assert!(fields["Credentials"]["TmpSecretId"].is_string());
        let code = |body: Value, version: Option<&str>| {
            assume_role_with_web_identity(&issued, version, body.to_string().as_bytes(), now)
                .err()
                .map(|e| e.code)
                .unwrap_or_default()
        };
        assert_eq!(code(good.clone(), Some("2017-03-12")), "NoSuchVersion");
        let mut b = good.clone();
        b.as_object_mut().unwrap().remove("RoleArn");
        assert_eq!(code(b, Some(STS_VERSION)), "MissingParameter");
        let mut b = good.clone();
        b["WebIdentityToken"] = json!("not a jwt");
        assert_eq!(
            code(b, Some(STS_VERSION)),
            "InvalidParameter.WebIdentityTokenError"
        );
        let mut b = good;
        b["DurationSeconds"] = json!(43_201);
        assert_eq!(code(b, Some(STS_VERSION)), "InvalidParameter");
    }
}
