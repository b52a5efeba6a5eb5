//! The messages Azure Batch sends with its `BatchError` codes, so every simulation of the
//! service (the emulator, the in-memory backend) words them alike.

/// The service's message for a code (DOC-ERR wording where it has one).
pub fn message_for(code: &str) -> &'static str {
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
