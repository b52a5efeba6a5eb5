//! Batch error answers: the codes, their statuses and the service's messages.

use axum::http::StatusCode;
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

    pub(crate) fn conflict(code: &str) -> Reject {
        Refusal::conflict(code).into()
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

    pub(crate) fn condition_not_met(status: StatusCode) -> Reject {
        Reject::new(status, "ConditionNotMet")
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

/// The service's message for a code (DOC-ERR wording where it has one).
pub(crate) fn message_for(code: &str) -> &'static str {
    match code {
        "AuthenticationFailed" => {
            "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature."
        }
        "ConditionNotMet" => "The condition specified using HTTP conditional header(s) is not met.",
        "MissingRequiredQueryParameter" => {
            "A query parameter that's mandatory for this request is not specified."
        }
        "UnsupportedQueryParameter" => {
            "One of the query parameters specified in the request URI is not supported."
        }
        "InvalidQueryParameterValue" => {
            "Value for one of the query parameters specified in the request URI is invalid."
        }
        "OutOfRangeQueryParameterValue" => {
            "One of the query parameters specified in the request URI is outside the permissible range."
        }
        "UnsupportedRequestVersion" => "The specified Request Version is not supported.",
        "InvalidHeaderValue" => {
            "The value for one of the HTTP headers is not in the correct format."
        }
        "MultipleConditionHeadersNotSupported" => "Multiple condition headers are not supported.",
        "MissingRequiredProperty" => {
            "A property that's mandatory for this request is not specified in the request body."
        }
        "InvalidPropertyValue" => {
            "The value provided for one of the properties in the request body is invalid."
        }
        "InvalidRequestBody" => "The specified Request Body is not syntactically valid.",
        "RequestBodyTooLarge" => {
            "The request body is too large and exceeds the maximum permissible limit."
        }
        "ResourceNotFound" => "The specified resource does not exist.",
        "UnsupportedHttpVerb" => "The resource doesn't support the specified HTTP verb.",
        "NotImplemented" => "The polybatch emulator does not implement this operation.",
        "InternalError" => "Server encountered an internal error. Please retry the request.",
        "OperationTimedOut" => "The operation could not be completed within the permitted time.",
        "ServerBusy" => {
            "The server is currently unable to receive requests. Please retry your request."
        }
        "TooManyRequests" => {
            "The server is currently throttling requests. Please retry your request."
        }
        "JobNotFound" => "The specified job does not exist.",
        "TaskNotFound" => "The specified task does not exist.",
        "JobExists" => "The specified job already exists.",
        "TaskExists" => "The specified task already exists.",
        "JobCompleted" => "The specified job is already in a completed state.",
        "JobBeingTerminated" => "The specified job is being terminated.",
        "JobBeingDeleted" => {
            "The specified job has been marked for deletion and is being garbage collected."
        }
        "TaskCompleted" => "The specified task is already in a completed state.",
        "TaskNotCompleted" => "The specified task is not in the completed state.",
        "TaskSucceeded" => "The specified task completed successfully and cannot be reactivated.",
        "JobPreparationTaskNotSpecified" => {
            "The specified job does not have a job preparation task."
        }
        "TaskIdSameAsJobPreparationTask" => {
            "The specified task id is the same as the job preparation task id."
        }
        "TaskIdSameAsJobReleaseTask" => {
            "The specified task id is the same as the job release task id."
        }
        "TaskDependenciesNotSpecifiedOnJob" => {
            "The job does not have task dependencies enabled, but the task specifies dependencies."
        }
        _ => "The request failed.",
    }
}
