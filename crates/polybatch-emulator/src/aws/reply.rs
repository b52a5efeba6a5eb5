//! REST-JSON answers: the operation's JSON with `x-amzn-RequestId`, and errors as AWS sends
//! them, the type in both `x-amzn-ErrorType` and the body's `__type`.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A fresh request id (a UUID, as the service sends).
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn with_headers(mut resp: Response, request_id: &str) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert(HeaderName::from_static("x-amzn-requestid"), v);
    }
    resp
}

/// `200` with `body`.
pub fn success(body: &Value, request_id: &str) -> Response {
    with_headers(
        (StatusCode::OK, body.to_string()).into_response(),
        request_id,
    )
}

/// An error: `status`, `x-amzn-ErrorType: code`, `{"__type": code, "message": message}`.
pub fn failure(status: u16, code: &str, message: &str, request_id: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"__type": code, "message": message});
    let mut resp = with_headers((status, body.to_string()).into_response(), request_id);
    if let Ok(v) = HeaderValue::from_str(code) {
        resp.headers_mut()
            .insert(HeaderName::from_static("x-amzn-errortype"), v);
    }
    resp
}
