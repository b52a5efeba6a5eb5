//! SigV4 verification of a received request: the one verifier of `polybatch-protocol`
//! (which recomputes the signature with the official `aws-sigv4`), over this emulator's
//! configured credentials, regions and auth clock.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use polybatch_protocol::aws::SERVICE;
use polybatch_protocol::aws::verify::{Credentials, Received, verify as verify_sigv4};

pub use polybatch_protocol::aws::verify::{Failure, Verified};

use crate::config::AwsConfig;

/// Verifies a request against the configured credentials at auth-clock time `now`.
pub fn verify(
    config: &AwsConfig,
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Verified, Failure> {
    // Header values that are not visible ASCII cannot be part of a valid signature; leaving
    // them out makes a signed one "missing".
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
        .collect();
    let credentials = Credentials {
        access_key_id: &config.access_key_id,
        secret_access_key: config.secret_access_key.expose(),
        session_token: config.session_token.as_ref().map(|t| t.expose()),
    };
    let regions: Vec<&str> = config.regions.iter().map(String::as_str).collect();
    verify_sigv4(
        &Received {
            method,
            path_and_query,
            headers: &pairs,
            body,
        },
        &credentials,
        SERVICE,
        &regions,
        now.timestamp(),
    )
}
