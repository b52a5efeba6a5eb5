//! What the simulated Batch service refuses a request with: the kind of refusal (which HTTP
//! status a front end answers) and the `BatchError` code and values.

use polybatch_protocol::azure::message_for;
use serde_json::Value;

/// The class of a refusal; an HTTP front end answers 400, 404, 409, 412 or 304.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The request is malformed (400).
    BadRequest,
    /// The job or task does not exist (404).
    NotFound,
    /// The resource's state forbids the request (409).
    Conflict,
    /// A conditional request's condition is not met (412).
    PreconditionFailed,
    /// A conditional read's resource has not changed (304).
    NotModified,
}

/// A refused request: its kind, the Batch code and the `values` of the `BatchError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Which class of refusal.
    pub kind: RefusalKind,
    /// The `BatchError` code (`JobNotFound`, `TaskSucceeded`, ...).
    pub code: String,
    /// The `BatchError` values (`PropertyName`, ...), in order.
    pub values: Vec<(String, String)>,
}

impl Refusal {
    /// A refusal of `kind` with `code`.
    pub fn of_kind(kind: RefusalKind, code: &str) -> Refusal {
        Refusal {
            kind,
            code: code.to_string(),
            values: Vec::new(),
        }
    }

    /// A 404 with `code`.
    pub fn not_found(code: &str) -> Refusal {
        Refusal::of_kind(RefusalKind::NotFound, code)
    }

    /// A 409 with `code`.
    pub fn conflict(code: &str) -> Refusal {
        Refusal::of_kind(RefusalKind::Conflict, code)
    }

    /// A 400 with `code`.
    pub fn bad_request(code: &str) -> Refusal {
        Refusal::of_kind(RefusalKind::BadRequest, code)
    }

    /// `InvalidRequestBody`.
    pub fn invalid_body() -> Refusal {
        Refusal::bad_request("InvalidRequestBody")
    }

    /// `MissingRequiredProperty` naming the property.
    pub fn missing_property(name: &str) -> Refusal {
        Refusal::bad_request("MissingRequiredProperty").value("PropertyName", name)
    }

    /// `InvalidPropertyValue` naming the property and the value received.
    pub fn invalid_property(name: &str, value: &Value) -> Refusal {
        let shown = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Refusal::bad_request("InvalidPropertyValue")
            .value("PropertyName", name)
            .value("PropertyValue", &shown)
    }

    /// The service's message for this refusal's code.
    pub fn message(&self) -> &'static str {
        message_for(&self.code)
    }

    /// The same refusal with one more value.
    pub fn value(mut self, key: &str, value: &str) -> Refusal {
        self.values.push((key.to_string(), value.to_string()));
        self
    }
}
