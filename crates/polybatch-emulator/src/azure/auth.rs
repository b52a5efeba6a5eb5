//! Checking a request's credentials as the service does: Shared Key signatures rebuilt from the
//! request as received, the 15-minute date window, and Entra ID bearer tokens this emulator
//! issued.

use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Duration, Utc};
use polybatch_azure::signing::{
    QueryNameCase, decode_key, parse_authorization, sign, string_to_sign,
};

use super::errors::Reject;
use super::token::TokenStore;
use crate::Context;

/// How far `ocp-date`/`Date` may be from the service's clock.
pub(crate) const MAX_SKEW_MINUTES: i64 = 15;

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

/// Constant-time comparison, so a verifier leaks nothing about how much of a signature matched.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
    let Some((account, signature)) = parse_authorization(auth) else {
        return Err(forbidden(format!(
            "The Authorization header '{}' is not in the form 'SharedKey <account>:<signature>' or 'Bearer <token>'.",
            auth.split_whitespace().next().unwrap_or("")
        )));
    };
    let headers: Vec<(&str, &str)> = parts
        .headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
        .collect();
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(polybatch_azure::signing::decode_query)
        .unwrap_or_default();
    let query: Vec<(&str, &str)> = query
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let method = parts.method.as_str();
    let path = parts.uri.path();
    let expected_account = &ctx.config.azure.account;
    let documented = string_to_sign(
        method,
        &headers,
        expected_account,
        path,
        &query,
        QueryNameCase::Lowercase,
    );
    let mismatch = || {
        forbidden(format!(
            "The MAC signature found in the HTTP request '{signature}' is not the same as any computed signature. Server used following string to sign: '{documented}'."
        ))
    };
    if account != expected_account.as_str() {
        return Err(mismatch());
    }
    // A key that is not base64 verifies nothing (the emulator was misconfigured).
    let Ok(key) = decode_key(ctx.config.azure.key.expose()) else {
        return Err(mismatch());
    };
    let as_sent = string_to_sign(
        method,
        &headers,
        expected_account,
        path,
        &query,
        QueryNameCase::AsSent,
    );
    let matches = [&documented, &as_sent]
        .iter()
        .any(|sts| same(sign(&key, sts).as_bytes(), signature.as_bytes()));
    if !matches {
        return Err(mismatch());
    }
    check_date(ctx, &parts.headers)
}

fn check_date(ctx: &Context, headers: &HeaderMap) -> Result<(), Reject> {
    // `ocp-date` wins when both are present.
    let Some(raw) = header(headers, "ocp-date").or_else(|| header(headers, "date")) else {
        return Err(forbidden(
            "Request date header not specified. Set ocp-date (or Date) to the request time in RFC 1123 format.".into(),
        ));
    };
    let Ok(sent) = httpdate::parse_http_date(raw.trim()) else {
        return Err(forbidden(format!(
            "The request date header '{raw}' is not a valid RFC 1123 date."
        )));
    };
    let sent: DateTime<Utc> = sent.into();
    let now = ctx.auth_clock.now();
    if (now - sent).abs() > Duration::minutes(MAX_SKEW_MINUTES) {
        return Err(forbidden(format!(
            "The request date '{raw}' is outside the allowed window: requests must be received within {MAX_SKEW_MINUTES} minutes of their ocp-date/Date (server time {}).",
            now.format("%a, %d %b %Y %H:%M:%S GMT")
        )));
    }
    Ok(())
}
