//! Building answers the way the service sends them: its headers, JSON content type and
//! BatchError bodies.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use polybatch_protocol::azure::rfc1123;
use serde_json::{Value, json};

use super::errors::Reject;
use super::sim::{Meta, Time};

/// The JSON content type Batch answers with.
pub(crate) const JSON_CONTENT_TYPE: &str = "application/json;odata=minimalmetadata";

/// Per-request facts every answer needs.
#[derive(Debug, Clone)]
pub(crate) struct RequestInfo {
    pub request_id: String,
    /// Echoed when the caller sent `return-client-request-id: true`.
    pub echo_client_request_id: Option<String>,
    /// `scheme://host` the caller used, for URLs in bodies and headers.
    pub base: String,
}

impl RequestInfo {
    pub(crate) fn from_headers(headers: &HeaderMap) -> RequestInfo {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let echo = get("return-client-request-id")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
            .then(|| get("client-request-id").map(str::to_string))
            .flatten();
        let host = get("host").unwrap_or("localhost");
        let scheme = get("x-forwarded-proto").unwrap_or("http");
        RequestInfo {
            request_id: uuid::Uuid::new_v4().to_string(),
            echo_client_request_id: echo,
            base: format!("{scheme}://{host}"),
        }
    }
}

/// RFC 3339 with the 7 fractional digits Batch uses.
pub(crate) fn iso(t: Time) -> String {
    format!(
        "{}.{:07}Z",
        t.format("%Y-%m-%dT%H:%M:%S"),
        t.timestamp_subsec_nanos() / 100
    )
}

fn put(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

/// Adds the headers every Batch answer carries.
pub(crate) fn finish(info: &RequestInfo, mut response: Response) -> Response {
    let h = response.headers_mut();
    put(h, "request-id", &info.request_id);
    if let Some(id) = &info.echo_client_request_id {
        put(h, "client-request-id", id);
    }
    put(h, "DataServiceVersion", "3.0");
    response
}

/// ETag and Last-Modified of a resource.
pub(crate) fn with_meta(mut response: Response, meta: &Meta) -> Response {
    let h = response.headers_mut();
    put(h, "ETag", &meta.etag);
    put(h, "Last-Modified", &rfc1123(meta.last_modified));
    response
}

/// A 200 with a JSON body.
pub(crate) fn json_ok(body: &Value) -> Response {
    let mut r = (StatusCode::OK, body.to_string()).into_response();
    put(r.headers_mut(), "content-type", JSON_CONTENT_TYPE);
    r
}

/// A body-less success (201/202/204) on a resource.
pub(crate) fn accepted(status: StatusCode, meta: &Meta, data_service_id: &str) -> Response {
    let mut r = with_meta(status.into_response(), meta);
    put(r.headers_mut(), "DataServiceId", data_service_id);
    r
}

/// A BatchError answer.
pub(crate) fn error(info: &RequestInfo, reject: &Reject, now: Time) -> Response {
    let mut body = json!({
        "odata.metadata": format!(
            "{}/$metadata#Microsoft.Azure.Batch.Protocol.Entities.Container.errors/@Element",
            info.base
        ),
        "code": reject.code,
        "message": {
            "lang": "en-US",
            "value": format!("{}\nRequestId:{}\nTime:{}", reject.text(), info.request_id, iso(now)),
        },
    });
    if !reject.values.is_empty() {
        body["values"] = reject
            .values
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
    }
    let mut r = (reject.status, body.to_string()).into_response();
    let h = r.headers_mut();
    put(h, "content-type", JSON_CONTENT_TYPE);
    for (name, value) in &reject.headers {
        put(h, name, value);
    }
    r
}
