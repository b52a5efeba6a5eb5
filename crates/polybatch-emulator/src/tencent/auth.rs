//! TC3-HMAC-SHA256 verification of a received request: the one verifier of
//! `polybatch-protocol`, over this emulator's configured credentials and auth clock.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use polybatch_protocol::tencent::verify::{Credentials, Received, verify as verify_tc3};

pub use polybatch_protocol::tencent::verify::Verified;

use super::errors::ApiError;
use crate::config::TencentConfig;

/// Verifies a POST to `/` with query `query` (empty for the SDKs), `headers` and `body`
/// against `config` at auth-clock time `now`.
pub fn verify(
    config: &TencentConfig,
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
    let credentials = Credentials {
        secret_id: &config.secret_id,
        secret_key: config.secret_key.expose(),
        session_token: config.session_token.as_ref().map(|t| t.expose()),
    };
    verify_tc3(&request, &credentials, now.timestamp())
        .map_err(|f| ApiError::new(f.code(), f.message()))
}
