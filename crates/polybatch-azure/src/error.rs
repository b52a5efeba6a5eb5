//! The Azure Batch error body and the one function that maps it to [`polybatch::Error`].

use std::time::Duration;

use polybatch::secret::{Secret, redact};
use polybatch::{Error, ErrorContext, Operation, ResourceKind, error_from_status};
use serde::Deserialize;

use crate::BACKEND;

/// A `BatchError` body: `{code, message: {lang, value}, values: [{key, value}]}`.
///
/// Parsed tolerantly: unknown fields (`odata.metadata`) are ignored and every field may be
/// missing; an empty or non-JSON body (a 304 has none) parses as an empty error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct BatchError {
    /// The error code (`JobNotFound`, `TaskSucceeded`, ...).
    pub code: Option<String>,
    /// The human-readable message.
    pub message: Option<BatchErrorMessage>,
    /// Extra key/value details (`HeaderName`, `AuthenticationErrorDetail`, ...).
    pub values: Vec<BatchErrorDetail>,
}

/// `BatchError.message`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct BatchErrorMessage {
    /// The language (`en-US`).
    pub lang: Option<String>,
    /// The text, usually followed by `\nRequestId:...\nTime:...`.
    pub value: Option<String>,
}

/// One `BatchError.values` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct BatchErrorDetail {
    /// The detail's name.
    pub key: Option<String>,
    /// The detail's value.
    pub value: Option<String>,
}

impl BatchError {
    /// Parses a response body; never fails (see the type's docs).
    pub fn parse(body: &[u8]) -> BatchError {
        serde_json::from_slice(body).unwrap_or_default()
    }

    /// The value of detail `key` (case-insensitive), if present.
    pub fn detail(&self, key: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|d| {
                d.key
                    .as_deref()
                    .is_some_and(|k| k.eq_ignore_ascii_case(key))
            })
            .and_then(|d| d.value.as_deref())
    }

    /// The message text on one line, without the `RequestId:`/`Time:` trailer the service
    /// appends.
    pub fn text(&self) -> Option<String> {
        let raw = self.message.as_ref()?.value.as_deref()?;
        let kept: Vec<&str> = raw
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("RequestId:") && !l.starts_with("Time:"))
            .collect();
        (!kept.is_empty()).then(|| kept.join(" "))
    }
}

/// What the client knows about a failed response, for [`map_error`].
#[derive(Debug, Clone, Copy)]
pub struct Failure<'a> {
    /// The HTTP status.
    pub status: u16,
    /// The parsed body (empty when there was none).
    pub error: &'a BatchError,
    /// The `request-id` response header.
    pub request_id: Option<&'a str>,
    /// The server's retry hint (`Retry-After`, `retry-after-ms`, `x-ms-retry-after-ms`).
    pub retry_after: Option<Duration>,
    /// The operation that failed.
    pub operation: Operation,
    /// The job the request was about, if any.
    pub job: Option<&'a str>,
    /// The task the request was about, if any.
    pub task: Option<&'a str>,
}

/// 409 codes that mean "not allowed in the current state", with the state they imply.
const STATE_CODES: &[(&str, Option<&str>)] = &[
    ("JobCompleted", Some("completed")),
    ("JobBeingTerminated", Some("terminating")),
    ("JobBeingDeleted", Some("deleting")),
    ("JobDisabled", Some("disabled")),
    ("JobNotActive", None),
    ("JobExists", None),
    ("JobWithSameIdExists", None),
    ("TaskCompleted", Some("completed")),
    ("TaskNotCompleted", None),
    ("TaskSucceeded", Some("completed")),
    ("TaskExists", None),
    ("TaskIdSameAsJobPreparationTask", None),
    ("TaskIdSameAsJobReleaseTask", None),
    ("JobPreparationTaskNotSpecified", None),
    ("JobReleaseTaskNotSpecified", None),
    ("OperationInvalidForCurrentState", None),
    ("ActiveJobAndScheduleQuotaReached", None),
    ("JobScheduleCompleted", Some("completed")),
    ("JobScheduleBeingTerminated", Some("terminating")),
    ("JobScheduleBeingDeleted", Some("deleting")),
    ("JobScheduleDisabled", Some("disabled")),
    ("PoolBeingDeleted", Some("deleting")),
    ("TaskFilesUnavailable", None),
    ("TaskFilesCleanedup", None),
];

/// Details that name the offending header, query parameter or property of a 400.
const FIELD_DETAILS: &[&str] = &["HeaderName", "QueryParameterName", "PropertyName"];

/// Maps a failed Azure Batch response to a [`polybatch::Error`]: the one place codes become
/// variants. Codes the table does not know fall back to [`error_from_status`].
///
/// `secrets` are redacted from every server text that reaches the error (a last line of
/// defence against a server echoing a credential).
pub fn map_error(f: Failure<'_>, secrets: &[&Secret]) -> Error {
    let code = f.error.code.as_deref().unwrap_or("");
    let server_text = f.error.text().map(|t| redact(&t, secrets));
    let fallback_text = || format!("HTTP {}", f.status);
    let mut message = server_text.clone().unwrap_or_else(fallback_text);

    let mut ctx = ErrorContext::new(BACKEND, f.operation);
    if !code.is_empty() {
        ctx = ctx.with_code(code);
    }
    if let Some(id) = f.request_id {
        ctx = ctx.with_request_id(id);
    }
    let job = f.job.unwrap_or("");
    let task = f.task.unwrap_or("");

    // A conditional read whose resource did not change (If-None-Match / If-Modified-Since):
    // the 304 has no body. "Not modified" is its meaning: the caller's copy is current.
    if f.status == 304 {
        return Error::precondition_failed(ctx.with_message(format!(
            "not modified: the resource still has the ETag given in If-None-Match (or has \
             not changed since If-Modified-Since); the copy you hold is current (HTTP 304{})",
            server_text.map(|t| format!(": {t}")).unwrap_or_default()
        )));
    }

    let not_found = match code {
        "JobNotFound" => Some((ResourceKind::Job, job)),
        "TaskNotFound" => Some((ResourceKind::Task, task)),
        "NodeNotFound" => Some((ResourceKind::Node, f.error.detail("NodeId").unwrap_or(""))),
        "PoolNotFound" => Some((ResourceKind::Pool, f.error.detail("PoolId").unwrap_or(""))),
        "ResourceNotFound" => Some(if f.task.is_some() {
            (ResourceKind::Task, task)
        } else if f.job.is_some() {
            (ResourceKind::Job, job)
        } else {
            (ResourceKind::Other, "")
        }),
        "JobScheduleNotFound"
        | "FileNotFound"
        | "NodeUserNotFound"
        | "CertificateNotFound"
        | "ApplicationNotFound"
        | "NodeAgentSKUNotFound"
        | "JobPreparationTaskNotRunOnNode"
        | "JobReleaseTaskNotRunOnNode" => Some((ResourceKind::Other, "")),
        _ => None,
    };
    if let Some((kind, id)) = not_found {
        return Error::not_found(kind, id, ctx.with_message(message));
    }

    if let Some((_, state)) = STATE_CODES.iter().find(|(c, _)| *c == code) {
        if code == "JobPreparationTaskNotSpecified" || code == "JobReleaseTaskNotSpecified" {
            message = format!(
                "job {job:?} has no job preparation or job release task{}",
                server_text.map(|t| format!(" ({t})")).unwrap_or_default()
            );
        }
        return Error::invalid_state(state.map(String::from), ctx.with_message(message));
    }

    match code {
        "ConditionNotMet" => return Error::precondition_failed(ctx.with_message(message)),
        "AuthenticationFailed" | "InvalidAuthenticationInfo" => {
            // The detail holds the server's string to sign: the one thing that explains a bad
            // signature. It never holds the key, but redact anyway.
            if let Some(detail) = f.error.detail("AuthenticationErrorDetail") {
                message = format!("{message} {}", redact(&one_line(detail), secrets));
                // A signature the service computed differently almost always means the wrong
                // account name or key: say what to check first.
                if detail.contains("MAC signature") {
                    message = format!(
                        "the Shared Key signature was refused: check the account name \
                         (AZURE_BATCH_ACCOUNT) and its key (AZURE_BATCH_ACCESS_KEY); {message}"
                    );
                }
            }
            return Error::unauthenticated(ctx.with_message(message));
        }
        "InsufficientAccountPermissions" | "AccountIsDisabled" => {
            return Error::permission_denied(ctx.with_message(message));
        }
        "OperationTimedOut" => return Error::timeout(ctx.with_message(message)),
        "ServerBusy" | "TooManyRequests" | "TooManyEnableAutoScaleRequests" => {
            return Error::throttled(f.retry_after, ctx.with_message(message));
        }
        "InternalError" => {
            return Error::service(Some(f.status), true, ctx.with_message(message));
        }
        _ => {}
    }

    if f.status == 400 && !code.is_empty() {
        let field = FIELD_DETAILS
            .iter()
            .find_map(|k| f.error.detail(k))
            .map(|name| name.to_string())
            .unwrap_or_else(|| code.to_string());
        return Error::invalid_input(field, message.clone(), ctx.with_message(message));
    }

    let (kind, id) = if f.task.is_some() {
        (ResourceKind::Task, task)
    } else if f.job.is_some() {
        (ResourceKind::Job, job)
    } else {
        (ResourceKind::Other, "")
    };
    error_from_status(f.status, f.retry_after, kind, id, ctx.with_message(message))
}

/// Replaces line breaks so a detail can sit inside a one-line error.
fn one_line(text: &str) -> String {
    text.replace("\r\n", "\\n").replace(['\n', '\r'], "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: &str) -> BatchError {
        BatchError::parse(
            format!(
                r#"{{"odata.metadata":"https://a.b.batch.azure.com/$metadata#errors/@Element","code":"{code}","message":{{"lang":"en-US","value":"Text for {code}.\nRequestId:rid\nTime:2016-01-04T22:12:33.9245931Z"}}}}"#
            )
            .as_bytes(),
        )
    }

    fn map(status: u16, error: &BatchError) -> Error {
        map_error(
            Failure {
                status,
                error,
                request_id: Some("req-1"),
                retry_after: Some(Duration::from_secs(2)),
                operation: Operation::ReactivateTask,
                job: Some("job-1"),
                task: Some("task-1"),
            },
            &[],
        )
    }

    #[test]
    fn parses_tolerantly() {
        assert_eq!(BatchError::parse(b""), BatchError::default());
        assert_eq!(
            BatchError::parse(b"<html>oops</html>"),
            BatchError::default()
        );
        assert_eq!(BatchError::parse(b"{\"code\":5}"), BatchError::default());
        let e = BatchError::parse(
            br#"{"code":"InvalidHeaderValue","message":{"lang":"en-US","value":"The value for one of the HTTP headers is not in the correct format.\nRequestId:5f4c\nTime:2016"},"values":[{"key":"HeaderName","value":"Content-Type"},{"key":"HeaderValue","value":"application/json"}],"extra":1}"#,
        );
        assert_eq!(e.code.as_deref(), Some("InvalidHeaderValue"));
        assert_eq!(
            e.text().as_deref(),
            Some("The value for one of the HTTP headers is not in the correct format.")
        );
        assert_eq!(e.detail("headername"), Some("Content-Type"));
    }

    /// Every code of reference §5.2/§5.3 that these operations can meet, with its status and
    /// the variant it must become.
    #[test]
    fn code_table() {
        let table: &[(&str, u16, &str)] = &[
            // 404
            ("JobNotFound", 404, "not_found"),
            ("TaskNotFound", 404, "not_found"),
            ("NodeNotFound", 404, "not_found"),
            ("PoolNotFound", 404, "not_found"),
            ("ResourceNotFound", 404, "not_found"),
            ("JobScheduleNotFound", 404, "not_found"),
            ("JobPreparationTaskNotRunOnNode", 404, "not_found"),
            ("JobReleaseTaskNotRunOnNode", 404, "not_found"),
            // 409 state conflicts
            ("JobCompleted", 409, "invalid_state"),
            ("JobBeingTerminated", 409, "invalid_state"),
            ("JobBeingDeleted", 409, "invalid_state"),
            ("JobDisabled", 409, "invalid_state"),
            ("JobNotActive", 409, "invalid_state"),
            ("TaskCompleted", 409, "invalid_state"),
            ("TaskNotCompleted", 409, "invalid_state"),
            ("TaskSucceeded", 409, "invalid_state"),
            ("JobPreparationTaskNotSpecified", 409, "invalid_state"),
            ("JobReleaseTaskNotSpecified", 409, "invalid_state"),
            ("OperationInvalidForCurrentState", 409, "invalid_state"),
            ("JobExists", 409, "invalid_state"),
            ("TaskExists", 409, "invalid_state"),
            ("TaskIdSameAsJobPreparationTask", 409, "invalid_state"),
            ("ActiveJobAndScheduleQuotaReached", 409, "invalid_state"),
            ("PoolBeingResized", 409, "invalid_state"),
            // conditions
            ("ConditionNotMet", 304, "precondition_failed"),
            ("ConditionNotMet", 412, "precondition_failed"),
            // auth
            ("AuthenticationFailed", 403, "unauthenticated"),
            ("InvalidAuthenticationInfo", 400, "unauthenticated"),
            ("InsufficientAccountPermissions", 403, "permission_denied"),
            ("AccountIsDisabled", 403, "permission_denied"),
            // 400 family
            ("MissingRequiredHeader", 400, "invalid_input"),
            ("MissingRequiredProperty", 400, "invalid_input"),
            ("UnsupportedHeader", 400, "invalid_input"),
            ("UnsupportedProperty", 400, "invalid_input"),
            ("InvalidHeaderValue", 400, "invalid_input"),
            ("InvalidPropertyValue", 400, "invalid_input"),
            ("MissingRequiredQueryParameter", 400, "invalid_input"),
            ("UnsupportedQueryParameter", 400, "invalid_input"),
            ("InvalidQueryParameterValue", 400, "invalid_input"),
            ("OutOfRangeQueryParameterValue", 400, "invalid_input"),
            ("RequestUrlFailedToParse", 400, "invalid_input"),
            ("InvalidUri", 400, "invalid_input"),
            ("InvalidHttpVerb", 400, "invalid_input"),
            ("InvalidRequestBody", 400, "invalid_input"),
            ("OutOfRangeInput", 400, "invalid_input"),
            ("InvalidInput", 400, "invalid_input"),
            ("MultipleConditionHeadersNotSupported", 400, "invalid_input"),
            ("UnsupportedRequestVersion", 400, "invalid_input"),
            ("TaskDependenciesNotSpecifiedOnJob", 400, "invalid_input"),
            // other statuses
            ("UnsupportedHttpVerb", 405, "service"),
            ("MissingContentLengthHeader", 411, "service"),
            ("RequestBodyTooLarge", 413, "service"),
            ("InvalidRange", 416, "service"),
            // transient
            ("InternalError", 500, "service"),
            ("OperationTimedOut", 500, "timeout"),
            ("ServerBusy", 503, "throttled"),
            ("TooManyRequests", 429, "throttled"),
            ("TooManyEnableAutoScaleRequests", 503, "throttled"),
        ];
        for &(code, status, kind) in table {
            let e = map(status, &body(code));
            assert_eq!(e.kind(), kind, "{code} ({status}) -> {e}");
            assert_eq!(e.code(), Some(code), "{code}");
            assert_eq!(e.request_id(), Some("req-1"), "{code}");
            if status == 304 {
                assert!(e.message().starts_with("not modified"), "{e}");
                assert!(e.message().contains(&format!("Text for {code}.")), "{e}");
            } else if !code.ends_with("TaskNotSpecified") {
                assert_eq!(e.message(), format!("Text for {code}."), "{code}");
            }
            assert!(!e.to_string().contains('\n'), "{code}: one line");
            assert_eq!(
                e.is_retryable(),
                matches!(code, "InternalError" | "OperationTimedOut" | "ServerBusy")
                    || code.starts_with("TooMany"),
                "{code}"
            );
        }
    }

    #[test]
    fn not_found_names_the_resource() {
        match map(404, &body("JobNotFound")) {
            Error::NotFound { resource, id, .. } => {
                assert_eq!(resource, ResourceKind::Job);
                assert_eq!(id, "job-1");
            }
            e => panic!("{e:?}"),
        }
        match map(404, &body("TaskNotFound")) {
            Error::NotFound { resource, id, .. } => {
                assert_eq!(resource, ResourceKind::Task);
                assert_eq!(id, "task-1");
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn state_codes_carry_the_state() {
        match map(409, &body("JobBeingDeleted")) {
            Error::InvalidState { state, .. } => assert_eq!(state.as_deref(), Some("deleting")),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn prep_task_not_specified_says_so() {
        let error = body("JobPreparationTaskNotSpecified");
        let e = map_error(
            Failure {
                status: 409,
                error: &error,
                request_id: Some("req-1"),
                retry_after: None,
                operation: Operation::ListPrepReleaseStatus,
                job: Some("job-1"),
                task: None,
            },
            &[],
        );
        assert_eq!(e.kind(), "invalid_state");
        assert_eq!(e.code(), Some("JobPreparationTaskNotSpecified"));
        assert!(
            e.message()
                .contains("has no job preparation or job release task"),
            "{}",
            e.message()
        );
        assert!(e.to_string().contains("job-1"));
    }

    #[test]
    fn bad_request_names_the_field() {
        let e = BatchError::parse(
            br#"{"code":"MissingRequiredQueryParameter","message":{"value":"A query parameter that's mandatory for this request is not specified."},"values":[{"key":"QueryParameterName","value":"api-version"}]}"#,
        );
        match map(400, &e) {
            Error::InvalidInput { field, .. } => assert_eq!(field, "api-version"),
            e => panic!("{e:?}"),
        }
        let e = BatchError::parse(
            br#"{"code":"InvalidHeaderValue","values":[{"key":"HeaderName","value":"ocp-date"}]}"#,
        );
        match map(400, &e) {
            Error::InvalidInput { field, .. } => assert_eq!(field, "ocp-date"),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn empty_bodies_fall_back_to_the_status() {
        let empty = BatchError::default();
        let kinds: Vec<(u16, &str)> = [304, 400, 401, 403, 404, 409, 412, 429, 500, 503]
            .into_iter()
            .map(|s| (s, map(s, &empty).kind()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (304, "precondition_failed"),
                (400, "service"),
                (401, "unauthenticated"),
                (403, "permission_denied"),
                (404, "not_found"),
                (409, "invalid_state"),
                (412, "precondition_failed"),
                (429, "throttled"),
                (500, "service"),
                (503, "throttled"),
            ]
        );
        let e = map(304, &empty);
        assert_eq!(e.code(), None);
        assert!(e.message().starts_with("not modified"), "{e}");
        assert!(e.message().contains("HTTP 304"), "{e}");
        assert_eq!(map(429, &empty).retry_after(), Some(Duration::from_secs(2)));
    }

    #[test]
    fn authentication_failure_keeps_detail_and_redacts_the_key() {
        let key = Secret::new("c2VjcmV0a2V5");
        let e = BatchError::parse(
            br#"{"code":"AuthenticationFailed","message":{"value":"Server failed to authenticate the request.\nRequestId:r\nTime:t"},"values":[{"key":"AuthenticationErrorDetail","value":"The MAC signature found in the HTTP request 'c2VjcmV0a2V5' is not the same as any computed signature. Server used following string to sign: 'GET\n\n/acct/jobs'."}]}"#,
        );
        let err = map_error(
            Failure {
                status: 403,
                error: &e,
                request_id: None,
                retry_after: None,
                operation: Operation::JobStatus,
                job: Some("j"),
                task: None,
            },
            &[&key],
        );
        assert_eq!(err.kind(), "unauthenticated");
        let shown = format!("{err} {err:?}");
        assert!(
            shown.contains("Server used following string to sign"),
            "{shown}"
        );
        assert!(!shown.contains("c2VjcmV0a2V5"), "{shown}");
        assert!(!err.to_string().contains('\n'));
        assert!(
            err.message()
                .starts_with("the Shared Key signature was refused: check the account"),
            "{}",
            err.message()
        );
    }
}
