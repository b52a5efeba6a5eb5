//! A Microsoft Entra ID stand-in: the OAuth2 client-credentials token endpoint
//! (`POST /{tenant}/oauth2/v2.0/token`) and the bearer tokens it issued.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::AzureService;
use crate::faults::{FaultKind, Provider};

/// Scopes a Batch client may ask for.
pub(crate) const BATCH_SCOPES: [&str; 2] = [
    "https://batch.core.windows.net//.default",
    "https://batch.core.windows.net/.default",
];

/// Issued tokens and when they expire (on the auth clock).
#[derive(Default)]
pub(crate) struct TokenStore {
    tokens: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tokens are credentials: only their number is shown.
        let n = self.lock().len();
        f.debug_struct("TokenStore").field("issued", &n).finish()
    }
}

impl TokenStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, DateTime<Utc>>> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Issues a fresh opaque token valid for `lifetime` from `now`.
    pub(crate) fn issue(&self, now: DateTime<Utc>, lifetime: Duration) -> String {
        let token = format!(
            "pbemu.{}",
            URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
        );
        let mut tokens = self.lock();
        tokens.retain(|_, expiry| *expiry > now);
        tokens.insert(token.clone(), now + lifetime);
        token
    }

    /// Whether `token` was issued here and has not expired; else the reason.
    pub(crate) fn check(&self, token: &str, now: DateTime<Utc>) -> Result<(), &'static str> {
        match self.lock().get(token) {
            Some(expiry) if *expiry > now => Ok(()),
            Some(_) => Err("The access token has expired."),
            None => Err("The access token is invalid."),
        }
    }
}

fn aad_error(
    status: StatusCode,
    error: &str,
    code: u32,
    text: &str,
    now: DateTime<Utc>,
) -> Response {
    let trace = uuid::Uuid::new_v4();
    let correlation = uuid::Uuid::new_v4();
    let stamp = now.format("%Y-%m-%d %H:%M:%SZ");
    let body = json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {text} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {stamp}"
        ),
        "error_codes": [code],
        "timestamp": stamp.to_string(),
        "trace_id": trace.to_string(),
        "correlation_id": correlation.to_string(),
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    json_response(status, &body)
}

pub(crate) fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r.headers_mut().insert(
        "cache-control",
        HeaderValue::from_static("no-store, no-cache"),
    );
    r
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) async fn issue(
    State(svc): State<Arc<AzureService>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    const OP: &str = "OAuth2_Token";
    let ctx = &svc.ctx;
    ctx.stats.record_request(Provider::Azure, OP);
    let now = ctx.auth_clock.now();
    let fault = ctx.faults.take(Provider::Azure, OP);
    let answer = match fault.clone() {
        // A token is no effect worth keeping: a lost answer is an error answer.
        Some(FaultKind::Error { status, code, .. } | FaultKind::LoseAnswer { status, code }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Err((status, code, 0, "Injected fault.".to_string()))
        }
        Some(FaultKind::Delay { millis }) => {
            tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
            check(&svc, &tenant, &body)
        }
        Some(f) if !f.applies() => Err((
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError".to_string(),
            0,
            "Injected fault.".to_string(),
        )),
        Some(_) | None => check(&svc, &tenant, &body),
    };
    let outcome = answer.as_ref().err().map(|(_, error, _, _)| error.clone());
    let response = match answer {
        Ok(()) => {
            let lifetime = ctx.config.azure.token_lifetime_secs;
            let token = svc.tokens.issue(
                now,
                Duration::seconds(i64::try_from(lifetime).unwrap_or(i64::MAX / 1000)),
            );
            json_response(
                StatusCode::OK,
                &json!({
                    "token_type": "Bearer",
                    "expires_in": lifetime,
                    "ext_expires_in": lifetime,
                    "access_token": token,
                }),
            )
        }
        Err((status, error, code, text)) => {
            ctx.stats.record_error(Provider::Azure, &error);
            aad_error(status, &error, code, &text, now)
        }
    };
    let response = crate::faults::disrupt(fault.as_ref(), response).await;
    crate::log::served(
        "azure",
        &format!("POST /{tenant}/oauth2/v2.0/token"),
        OP,
        response.status(),
        None,
        outcome.as_deref(),
    );
    response
}

type AadError = (StatusCode, String, u32, String);

fn check(svc: &AzureService, tenant: &str, body: &[u8]) -> Result<(), AadError> {
    let cfg = &svc.ctx.config.azure;
    let bad = |error: &str, code: u32, text: String| {
        Err((StatusCode::BAD_REQUEST, error.to_string(), code, text))
    };
    if tenant != cfg.tenant_id {
        return bad(
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let Some(grant) = field("grant_type") else {
        return bad(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.".into(),
        );
    };
    if grant != "client_credentials" {
        return bad(
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant}'."),
        );
    }
    let Some(client_id) = field("client_id") else {
        return bad(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.".into(),
        );
    };
    if client_id != cfg.client_id {
        return bad(
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        );
    }
    // As before client assertions: a missing scope is refused before the credential, a wrong
    // one after it.
    let Some(scope) = field("scope") else {
        return bad(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.".into(),
        );
    };
    let unauthorized = |code: u32, text: String| {
        Err((
            StatusCode::UNAUTHORIZED,
            "invalid_client".to_string(),
            code,
            text,
        ))
    };
    if let Some(assertion) = field("client_assertion") {
        if field("client_assertion_type") != Some(JWT_BEARER) {
            return bad(
                "invalid_request",
                900144,
                format!("The request body must contain 'client_assertion_type' = '{JWT_BEARER}'."),
            );
        }
        if let Err((code, text)) = check_assertion(assertion, client_id, svc.ctx.auth_clock.now()) {
            return unauthorized(code, text);
        }
    } else {
        let secret_ok = field("client_secret").is_some_and(|s| {
            polybatch_protocol::constant_time::eq(
                s.as_bytes(),
                cfg.client_secret.expose().as_bytes(),
            )
        });
        if !secret_ok {
            return unauthorized(
                7000215,
                format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                ),
            );
        }
    }
    check_scope(scope, tenant)
}

/// The assertion type of a signed client assertion (RFC 7523).
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A scope the token endpoint serves: the Batch resource's `/.default`.
fn check_scope(scope: &str, tenant: &str) -> Result<(), AadError> {
    let bad = |error: &str, code: u32, text: String| {
        Err((StatusCode::BAD_REQUEST, error.to_string(), code, text))
    };
    if !BATCH_SCOPES.contains(&scope) {
        if !scope.ends_with("/.default") {
            return bad(
                "invalid_scope",
                1002012,
                format!(
                    "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
                ),
            );
        }
        let resource = scope.trim_end_matches("/.default");
        return bad(
            "invalid_resource",
            500011,
            format!(
                "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
            ),
        );
    }
    Ok(())
}

/// A client assertion as Entra ID takes one: a JWT, not expired, that is either a federated
/// token for `api://AzureADTokenExchange` (workload identity) or a certificate assertion
/// (`x5t` header, issued by and about `client_id`). The emulator holds no certificates or
/// federation trust, so the signature itself is not verified: the shape and claims are.
fn check_assertion(
    assertion: &str,
    client_id: &str,
    now: DateTime<Utc>,
) -> Result<(), (u32, String)> {
    let invalid = || (50027, "JWT token is invalid or malformed.".to_string());
    let part = |p: &str| -> Option<serde_json::Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok()?).ok()
    };
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return Err(invalid());
    };
    let (Some(header), Some(payload)) = (part(header), part(payload)) else {
        return Err(invalid());
    };
    if signature.is_empty() || header.get("alg").is_none() {
        return Err(invalid());
    }
    match payload.get("exp").and_then(serde_json::Value::as_i64) {
        Some(exp) if exp > now.timestamp() => {}
        _ => {
            return Err((
                700024,
                "Client assertion is not within its valid time range.".into(),
            ));
        }
    }
    let audience = |aud: &str| match payload.get("aud") {
        Some(serde_json::Value::String(a)) => a == aud,
        Some(serde_json::Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(aud)),
        _ => false,
    };
    if audience("api://AzureADTokenExchange") {
        return Ok(());
    }
    let claim = |name: &str| payload.get(name).and_then(serde_json::Value::as_str);
    if header.get("x5t").is_some()
        && claim("iss") == Some(client_id)
        && claim("sub") == Some(client_id)
    {
        return Ok(());
    }
    Err((
        700211,
        "No matching federated identity record found for presented assertion issuer.".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_and_never_show_in_debug() {
        let store = TokenStore::default();
        let now = Utc::now();
        let token = store.issue(now, Duration::seconds(60));
        assert_eq!(store.check(&token, now + Duration::seconds(59)), Ok(()));
        assert!(store.check(&token, now + Duration::seconds(60)).is_err());
        assert!(store.check("other", now).is_err());
        let shown = format!("{store:?}");
        assert!(
            !shown.contains(&token) && shown.contains("issued: 1"),
            "{shown}"
        );
    }
}
