//! Batch error answers: the codes, their statuses and the service's messages.

use axum::http::StatusCode;
use polybatch_protocol::azure::message_for;
use polybatch_sim::azure::{Refusal, RefusalKind};
use serde_json::Value;

/// An error answer in the making: status, BatchError code, `values` and extra headers.
#[derive(Debug, Clone)]
pub(crate) struct Reject {
    pub status: StatusCode,
    pub code: String,
    pub message: Option<String>,
    pub values: Vec<(String, String)>,
    pub headers: Vec<(&'static str, String)>,
}

impl From<Refusal> for Reject {
    /// The simulation's refusal as the service answers it.
    fn from(r: Refusal) -> Reject {
        let status = match r.kind {
            RefusalKind::BadRequest => StatusCode::BAD_REQUEST,
            RefusalKind::NotFound => StatusCode::NOT_FOUND,
            RefusalKind::Conflict => StatusCode::CONFLICT,
            RefusalKind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            RefusalKind::NotModified => StatusCode::NOT_MODIFIED,
        };
        let mut reject = Reject::new(status, &r.code);
        reject.values = r.values;
        reject
    }
}

impl Reject {
    pub(crate) fn new(status: StatusCode, code: &str) -> Reject {
        Reject {
            status,
            code: code.to_string(),
            message: None,
            values: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub(crate) fn bad_request(code: &str) -> Reject {
        Reject::new(StatusCode::BAD_REQUEST, code)
    }

    pub(crate) fn invalid_body() -> Reject {
        Refusal::invalid_body().into()
    }

    pub(crate) fn invalid_property(name: &str, value: &Value) -> Reject {
        Refusal::invalid_property(name, value).into()
    }

    pub(crate) fn query(code: &str, name: &str, value: Option<&str>) -> Reject {
        let mut r = Reject::bad_request(code).value("QueryParameterName", name);
        if let Some(v) = value {
            r = r.value("QueryParameterValue", v);
        }
        r
    }

    pub(crate) fn header(code: &str, name: &str, value: &str) -> Reject {
        Reject::bad_request(code)
            .value("HeaderName", name)
            .value("HeaderValue", value)
    }

    pub(crate) fn value(mut self, key: &str, value: &str) -> Reject {
        self.values.push((key.to_string(), value.to_string()));
        self
    }

    pub(crate) fn message(mut self, message: impl Into<String>) -> Reject {
        self.message = Some(message.into());
        self
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Reject {
        self.headers.push((name, value));
        self
    }

    /// The first line of `message.value`.
    pub(crate) fn text(&self) -> String {
        self.message
            .clone()
            .unwrap_or_else(|| message_for(&self.code).to_string())
    }
}
