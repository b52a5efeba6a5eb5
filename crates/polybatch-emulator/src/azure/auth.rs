//! Checking a request's credentials as the service does: Shared Key signatures rebuilt from the
//! request as received, the 15-minute date window, and Entra ID bearer tokens this emulator
//! issued.

use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use polybatch_protocol::azure::verify::{Received, verify_shared_key};

use super::errors::Reject;
use super::token::TokenStore;
use crate::Context;

fn failed(status: StatusCode, detail: String) -> Reject {
    Reject::new(status, "AuthenticationFailed").value("AuthenticationErrorDetail", &detail)
}

fn forbidden(detail: String) -> Reject {
    failed(StatusCode::FORBIDDEN, detail)
}

fn unauthorized(base: &str, ctx: &Context, detail: &str) -> Reject {
    let challenge = format!(
        "Bearer authorization_uri=\"{base}/{}\", error=\"invalid_token\", error_description=\"{detail}\"",
        ctx.config.azure.tenant_id
    );
    failed(StatusCode::UNAUTHORIZED, detail.to_string())
        .message("Server failed to authenticate the request. Please refer to the information in the www-authenticate header.")
        .with_header("WWW-Authenticate", challenge)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
}

/// Authenticates one request (Shared Key or bearer token).
pub(crate) fn authenticate(
    ctx: &Context,
    tokens: &TokenStore,
    parts: &Parts,
    base: &str,
) -> Result<(), Reject> {
    let Some(auth) = header(&parts.headers, "authorization") else {
        return Err(unauthorized(
            base,
            ctx,
            "The request does not contain an Authorization header.",
        ));
    };
    let auth = auth.trim();
    if let Some(token) = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("bearer "))
    {
        return match tokens.check(token.trim(), ctx.auth_clock.now()) {
            Ok(()) => Ok(()),
            Err(detail) => Err(unauthorized(base, ctx, detail)),
        };
    }
    shared_key(ctx, parts, auth)
}

fn shared_key(ctx: &Context, parts: &Parts, auth: &str) -> Result<(), Reject> {
    let headers: Vec<(&str, &str)> = parts
        .headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
        .collect();
    let request = Received {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &headers,
    };
    let azure = &ctx.config.azure;
    verify_shared_key(
        &request,
        auth,
        &azure.account,
        azure.key.expose(),
        ctx.auth_clock.now().into(),
    )
    .map_err(|f| forbidden(f.detail()))
}
