//! TC3-HMAC-SHA256 verification of a received request: the one verifier of
//! `polybatch-protocol`, over this emulator's configured credentials and auth clock.
//!
//! The service listens on the default port only, where a client's `Host` header and the `host`
//! it signs agree. The emulator listens on any port, and there the official Node SDK signs the
//! host without the port its `Host` header carries; so the signed `host` may also be the
//! received `Host` without an explicit non-default port ([`HostRule::PortOptional`]). Any other
//! difference is still a signature failure.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
pub use polybatch_protocol::tencent::verify::Credentials;
use polybatch_protocol::tencent::verify::{HostRule, Received, verify_with};

pub use polybatch_protocol::tencent::verify::Verified;

use super::errors::ApiError;
use crate::config::TencentConfig;

/// The emulator serves plain HTTP: clients leave port 80 out of `Host`.
const HOST_RULE: HostRule = HostRule::PortOptional { default_port: 80 };

/// The credentials a request is verified with: the configured long-term key.
pub fn configured(config: &TencentConfig) -> Credentials<'_> {
    Credentials {
        secret_id: &config.secret_id,
        secret_key: config.secret_key.expose(),
        session_token: config.session_token.as_ref().map(|t| t.expose()),
    }
}

/// Verifies a POST to `/` with query `query` (empty for the SDKs), `headers` and `body`
/// against `credentials` at auth-clock time `now`.
pub fn verify(
    credentials: &Credentials<'_>,
    headers: &HeaderMap,
    query: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Verified, ApiError> {
    // Header values that are not visible ASCII cannot be part of a valid signature; leaving
    // them out makes a signed one "missing", as the service answers.
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
        .collect();
    let request = Received {
        query,
        headers: &pairs,
        body,
    };
    verify_with(&request, credentials, now.timestamp(), HOST_RULE)
        .map_err(|f| ApiError::new(f.code(), f.message()))
}
