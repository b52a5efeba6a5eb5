//! AWS Batch errors as `polybatch::Error`: the one mapping function, over the SDK's
//! `SdkError` (its service error's code and message, the HTTP status, the request id).

use aws_sdk_batch::config::http::HttpResponse;
use aws_sdk_batch::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use polybatch::{Error, ErrorContext, Operation, ResourceKind, error_from_status};

/// The backend name in errors.
pub use polybatch::translate::aws::BACKEND;

/// What a request was about, for not-found errors.
#[derive(Debug, Clone, Default)]
pub(crate) struct Subject {
    pub resource: Option<(ResourceKind, String)>,
}

impl Subject {
    pub(crate) fn job(id: &str) -> Self {
        Subject {
            resource: Some((ResourceKind::Job, id.to_string())),
        }
    }
}

/// Any SDK failure as a neutral error.
///
/// - `TooManyRequestsException` (HTTP 429) is `Throttled`, and `ServerException` (5xx) a
///   retryable service error: the SDK has already retried both within its own budget, so
///   what reaches here is what survived it.
/// - `ClientException` is the service's "bad request": a message naming a job that does not
///   exist becomes `NotFound`; others stay a non-retryable service error with the code.
/// - A refused signature or key is `Unauthenticated`; `AccessDeniedException`
///   `PermissionDenied`.
/// - A success status with a body that could not be read (answers.rs makes it a response
///   error) is a retryable service error: the answer was garbled on the way.
/// - No answer (construction, dispatch, timeout) is a transport or timeout error, and says
///   whether the request may have been sent.
pub(crate) fn map_sdk_error<E>(
    err: SdkError<E, HttpResponse>,
    op: Operation,
    subject: &Subject,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let ctx = ErrorContext::new(BACKEND, op);
    match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let request_id = service
                .raw()
                .headers()
                .get("x-amzn-requestid")
                .map(str::to_string);
            let e = service.err();
            let code = e.code().unwrap_or("").to_string();
            let message = e.message().unwrap_or("").to_string();
            let mut ctx = ctx.with_message(if message.is_empty() {
                format!("HTTP {status}")
            } else {
                message.clone()
            });
            if let Some(id) = request_id {
                ctx = ctx.with_request_id(id);
            }
            answered(status, &code, &message, subject, ctx)
        }
        // The SDK's own words say which ran out: the attempt's timeout or the operation's.
        SdkError::TimeoutError(_) => {
            Error::timeout(ctx.with_message(match std::error::Error::source(&err) {
                Some(why) => format!("no answer in time: {why}"),
                None => "no answer in time".to_string(),
            }))
        }
        SdkError::DispatchFailure(d) => {
            // An I/O failure of the connector (refused, reset before writing) is treated as
            // possibly sent unless it is the connect itself: the SDK does not say more.
            let maybe_sent = !d.is_io();
            let message = d
                .as_connector_error()
                .map(|c| c.to_string())
                .unwrap_or_else(|| "the request could not be sent".to_string());
            Error::transport(maybe_sent, None, ctx.with_message(message))
        }
        SdkError::ConstructionFailure(_) => {
            Error::invalid_input("request", "the SDK could not build the request", ctx)
        }
        // An answer that could not be read (cut, garbled, oversized, incomplete: see
        // answers.rs) on every attempt the SDK made: another may read it.
        SdkError::ResponseError(ref r) => {
            let status = r.raw().status().as_u16();
            let why = DisplayErrorContext(&err).to_string();
            Error::service(
                Some(status),
                true,
                ctx.with_message(format!("the answer could not be read: {why}")),
            )
        }
        other => Error::service(None, false, ctx.with_message(other.to_string())),
    }
}

/// The neutral error of an error answer: its HTTP `status`, the error type `code` (`""`
/// when it named none) and `message`. `map_sdk_error` uses it for the answer that ends a
/// call, `attempts.rs` for each attempt before it.
pub(crate) fn answered(
    status: u16,
    code: &str,
    message: &str,
    subject: &Subject,
    mut ctx: ErrorContext,
) -> Error {
    if !code.is_empty() {
        ctx = ctx.with_code(code.to_string());
    }
    let (resource, id) = subject
        .resource
        .clone()
        .unwrap_or((ResourceKind::Other, String::new()));
    match code {
        "TooManyRequestsException" => Error::throttled(None, ctx),
        "ServerException" => Error::service(Some(status), true, ctx),
        "ClientException" if names_missing(message) => Error::not_found(resource, id, ctx),
        "ClientException" => Error::service(Some(status), false, ctx),
        // The signature or the key was refused: the credentials are wrong.
        c if AUTHENTICATION_CODES.contains(&c) => Error::unauthenticated(ctx),
        "AccessDeniedException" => Error::permission_denied(ctx),
        _ => error_from_status(status, None, resource, &id, ctx),
    }
}

/// The codes AWS answers (HTTP 403, or 400 for an expired token) when it does not accept who
/// signed a request.
const AUTHENTICATION_CODES: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "IncompleteSignatureException",
    "MissingAuthenticationTokenException",
    "ExpiredTokenException",
];

/// Whether a `ClientException` message says the job (or queue, or definition) is not there.
fn names_missing(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("not found") || m.contains("does not exist")
}
