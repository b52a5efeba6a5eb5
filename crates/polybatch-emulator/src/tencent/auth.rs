//! TC3-HMAC-SHA256 verification, as the service does it: the canonical request is rebuilt from
//! the request as received (the headers `SignedHeaders` names, the exact body bytes) and
//! signed again with the configured SecretKey.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use polybatch_tencent::signing;

use super::envelope::ApiError;
use crate::config::TencentConfig;

/// How far `X-TC-Timestamp` may be from the server's clock.
pub const MAX_SKEW_SECS: i64 = 300;

/// The payload hash input when `X-TC-Content-SHA256: UNSIGNED-PAYLOAD` is sent.
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Who signed a request that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The SecretId (the rate-limit key's credential part).
    pub secret_id: String,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn signature_failure(detail: &str) -> ApiError {
    ApiError::new(
        "AuthFailure.SignatureFailure",
        format!(
            "The provided credentials could not be validated. Please check your signature is correct. ({detail})"
        ),
    )
}

/// Compares two strings in time independent of where they differ.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Verifies a POST to `/` with query `query` (empty for the SDKs), `headers` and `body`
/// against `config` at auth-clock time `now`.
pub fn verify(
    config: &TencentConfig,
    headers: &HeaderMap,
    query: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Verified, ApiError> {
    let invalid_auth = |detail: &str| {
        ApiError::new(
            "AuthFailure.InvalidAuthorization",
            format!("Authorization header is invalid: {detail}."),
        )
    };
    let raw = header(headers, "authorization").ok_or_else(|| invalid_auth("missing"))?;
    let auth = signing::parse_authorization(raw).ok_or_else(|| invalid_auth("malformed"))?;
    if auth.algorithm != signing::ALGORITHM {
        return Err(invalid_auth("unsupported algorithm"));
    }
    if auth.secret_id != config.secret_id {
        return Err(ApiError::new(
            "AuthFailure.SecretIdNotFound",
            "The SecretId is not found, please ensure that your SecretId is correct. \
             Note: whitespaces should not exist before or after the key.",
        ));
    }
    let timestamp: i64 = match header(headers, "x-tc-timestamp") {
        None => return Err(ApiError::missing("X-TC-Timestamp")),
        Some(t) => t
            .trim()
            .parse()
            .map_err(|_| ApiError::invalid("X-TC-Timestamp must be an integer UNIX time."))?,
    };
    if timestamp.abs_diff(now.timestamp()) > MAX_SKEW_SECS.unsigned_abs() {
        return Err(ApiError::new(
            "AuthFailure.SignatureExpire",
            "Signature expired. Timestamp and server time cannot differ by more than five minutes.",
        ));
    }
    if signing::date_of(timestamp).as_deref() != Some(auth.date.as_str()) {
        return Err(signature_failure(
            "the credential date is not the UTC date of X-TC-Timestamp",
        ));
    }
    if auth.service != signing::SERVICE {
        return Err(signature_failure("the credential service is not batch"));
    }
    for required in ["content-type", "host"] {
        if !auth.signed_headers.iter().any(|h| h == required) {
            return Err(signature_failure(
                "SignedHeaders must include content-type and host",
            ));
        }
    }
    let mut signed: Vec<(String, String)> = Vec::with_capacity(auth.signed_headers.len());
    for name in &auth.signed_headers {
        if name.as_str() != name.to_ascii_lowercase() {
            return Err(signature_failure("SignedHeaders names must be lowercase"));
        }
        let value = header(headers, name)
            .ok_or_else(|| signature_failure("a signed header is missing"))?
            .trim();
        // The documented variant that signs `x-tc-action` signs its value lower-cased.
        let value = if name == "x-tc-action" {
            value.to_ascii_lowercase()
        } else {
            value.to_string()
        };
        signed.push((name.clone(), value));
    }
    let pairs: Vec<(&str, &str)> = signed
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let payload = if header(headers, "x-tc-content-sha256") == Some(UNSIGNED_PAYLOAD) {
        UNSIGNED_PAYLOAD.as_bytes()
    } else {
        body
    };
    let canonical = signing::canonical_request("POST", "/", query, &pairs, payload);
    let scope = signing::credential_scope(&auth.date, signing::SERVICE);
    let to_sign = signing::string_to_sign(timestamp, &scope, &canonical);
    let key = signing::signing_key(config.secret_key.expose(), &auth.date, signing::SERVICE);
    let expected = signing::signature(&key, &to_sign);
    if !constant_time_eq(&expected, &auth.signature.to_ascii_lowercase()) {
        return Err(signature_failure("signature mismatch"));
    }
    if let Some(token) = header(headers, "x-tc-token").filter(|t| !t.is_empty()) {
        let ok = config
            .session_token
            .as_ref()
            .is_some_and(|expected| constant_time_eq(expected.expose(), token));
        if !ok {
            return Err(ApiError::new("AuthFailure.TokenFailure", "Invalid token."));
        }
    }
    Ok(Verified {
        secret_id: auth.secret_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use polybatch::secret::Secret;

    /// Vector 3 of the reference (official Python SDK), accepted at its own timestamp.
    #[test]
    fn accepts_the_sdk_vector_and_checks_each_rule() {
        let config = TencentConfig {
            secret_id: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE".into(),
            secret_key: Secret::new("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"),
            ..TencentConfig::default()
        };
        let mut h = HeaderMap::new();
        let set = |h: &mut HeaderMap, k: &'static str, v: &str| {
            h.insert(k, HeaderValue::from_str(v).unwrap());
        };
        set(
            &mut h,
            "authorization",
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/batch/tc3_request, SignedHeaders=content-type;host, Signature=3ee20023dae49da55b2ce0f512e7d4d67bab8bdaf0980ea3d448e74babd3f976",
        );
        set(&mut h, "content-type", "application/json");
        set(&mut h, "host", "batch.tencentcloudapi.com");
        set(&mut h, "x-tc-timestamp", "1551113065");
        let body = br#"{"JobId": "job-abcd1234"}"#;
        let at = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        let code = |r: Result<Verified, ApiError>| r.err().map(|e| e.code);
        assert_eq!(code(verify(&config, &h, "", body, at(1551113065))), None);
        assert_eq!(
            code(verify(&config, &h, "", body, at(1551113065 + 300))),
            None
        );
        assert_eq!(
            code(verify(&config, &h, "", body, at(1551113065 + 301))).as_deref(),
            Some("AuthFailure.SignatureExpire")
        );
        assert_eq!(
            code(verify(&config, &h, "", b"{}", at(1551113065))).as_deref(),
            Some("AuthFailure.SignatureFailure")
        );
        set(&mut h, "x-tc-token", "tok");
        assert_eq!(
            code(verify(&config, &h, "", body, at(1551113065))).as_deref(),
            Some("AuthFailure.TokenFailure")
        );
        let with_token = TencentConfig {
            session_token: Some(Secret::new("tok")),
            ..config.clone()
        };
        assert_eq!(
            code(verify(&with_token, &h, "", body, at(1551113065))),
            None
        );
        set(&mut h, "host", "batch.ap-shanghai.tencentcloudapi.com");
        assert_eq!(
            code(verify(&with_token, &h, "", body, at(1551113065))).as_deref(),
            Some("AuthFailure.SignatureFailure")
        );
    }

    /// The documented `x-tc-action` variant (reference Appendix B, batch TerminateJob).
    #[test]
    fn accepts_the_x_tc_action_variant() {
        let config = TencentConfig {
            secret_id: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE".into(),
            secret_key: Secret::new("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"),
            ..TencentConfig::default()
        };
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/batch/tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature=aa4bd73944f5a6868b0800cab411fffffdea5f09f92448d452bb2bd5ffce7b83"));
        h.insert(
            "content-type",
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        h.insert(
            "host",
            HeaderValue::from_static("batch.tencentcloudapi.com"),
        );
        h.insert("x-tc-action", HeaderValue::from_static("TerminateJob"));
        h.insert("x-tc-timestamp", HeaderValue::from_static("1551113065"));
        let now = DateTime::from_timestamp(1551113065, 0).unwrap();
        let r = verify(&config, &h, "", br#"{"JobId":"job-abcd1234"}"#, now);
        assert!(r.is_ok(), "{r:?}");
    }
}
