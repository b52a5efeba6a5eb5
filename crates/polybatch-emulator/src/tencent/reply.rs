//! The API 3.0 response envelope: `{"Response": {..., "RequestId"}}`, errors inside it, and
//! HTTP 200 for both (the SDKs treat any other status as a transport failure).

use super::errors::ApiError;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// A fresh request id (a UUID, as the service sends).
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `200 application/json` with `body`.
fn json_response(body: &Value) -> Response {
    let mut resp = (StatusCode::OK, body.to_string()).into_response();
    // Exactly `application/json`: the Python SDK parses errors only for that exact value.
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// A success envelope with the action's fields and `request_id`.
pub fn success(fields: Map<String, Value>, request_id: &str) -> Response {
    let mut fields = fields;
    fields.insert("RequestId".into(), Value::String(request_id.into()));
    json_response(&json!({ "Response": fields }))
}

/// An error envelope.
pub fn failure(err: &ApiError, request_id: &str) -> Response {
    json_response(&json!({
        "Response": {
            "Error": {"Code": err.code, "Message": err.message},
            "RequestId": request_id,
        }
    }))
}

/// A non-envelope answer with another HTTP status (injected faults only).
pub fn raw_status(status: u16, code: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, format!("{} {code}", status.as_u16())).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    resp
}
