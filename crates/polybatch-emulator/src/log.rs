//! One log event per answered request (target `polybatch_emulator`, level info), for
//! `polybatch emulator -v` and `RUST_LOG`. Only what identifies the request and its outcome:
//! never a header, a body or a signature.

use axum::http::StatusCode;

/// Logs one answered request. `outcome` is the error code answered (an authentication failure
/// is its code, e.g. `AuthenticationFailed`, `AuthFailure.SignatureFailure`); `None` is success.
pub(crate) fn served(
    provider: &str,
    request: &str,
    operation: &str,
    status: StatusCode,
    request_id: Option<&str>,
    outcome: Option<&str>,
) {
    tracing::info!(
        provider,
        request,
        operation,
        status = status.as_u16(),
        request_id = request_id.unwrap_or("-"),
        outcome = outcome.unwrap_or("ok"),
        "served"
    );
}
