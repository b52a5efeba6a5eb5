//! The one public error type.
//!
//! Every backend converts its private errors into [`Error`]. Each variant carries an
//! [`ErrorContext`] (backend, operation, provider code, request id, message), so a caller can
//! log one line that a provider's support desk can act on, and can decide with
//! [`Error::is_retryable`] / [`Error::retry_after`] whether trying again may help.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// A boxed error source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The operation an error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Operation {
    /// [`crate::BatchBackend::terminate_job`].
    TerminateJob,
    /// [`crate::BatchBackend::reactivate_task`].
    ReactivateTask,
    /// [`crate::BatchBackend::job_status`].
    JobStatus,
    /// [`crate::BatchBackend::task_status`].
    TaskStatus,
    /// [`crate::BatchBackend::list_prep_release_status`].
    ListPrepReleaseStatus,
    /// [`crate::BatchBackend::retry_failed_tasks`].
    RetryFailedTasks,
    /// [`crate::BatchBackend::submit_job`].
    SubmitJob,
    /// [`crate::BatchBackend::job_statuses`].
    JobStatuses,
    /// [`crate::BatchBackend::delete_job`].
    DeleteJob,
    /// [`crate::BatchBackend::list_jobs`].
    ListJobs,
    /// [`crate::BatchBackend::list_tasks`].
    ListTasks,
    /// [`crate::BatchBackend::export_job`].
    ExportJob,
    /// [`crate::BatchBackend::task_output`].
    TaskOutput,
    /// [`crate::BatchBackend::terminate_task`].
    TerminateTask,
    /// Building a backend from configuration.
    Configure,
    /// A provider-specific operation (for example Tencent's `SubmitJob`).
    Other(&'static str),
}

impl Operation {
    /// Every operation of the [`crate::BatchBackend`] trait, in declaration order.
    pub const TRAIT_OPERATIONS: [Operation; 14] = [
        Operation::TerminateJob,
        Operation::ReactivateTask,
        Operation::JobStatus,
        Operation::TaskStatus,
        Operation::ListPrepReleaseStatus,
        Operation::RetryFailedTasks,
        Operation::SubmitJob,
        Operation::JobStatuses,
        Operation::DeleteJob,
        Operation::ListJobs,
        Operation::ListTasks,
        Operation::ExportJob,
        Operation::TaskOutput,
        Operation::TerminateTask,
    ];

    /// The snake-case name, as used in logs and JSON output.
    pub fn as_str(&self) -> &'static str {
        match self {
            Operation::TerminateJob => "terminate_job",
            Operation::ReactivateTask => "reactivate_task",
            Operation::JobStatus => "job_status",
            Operation::TaskStatus => "task_status",
            Operation::ListPrepReleaseStatus => "list_prep_release_status",
            Operation::RetryFailedTasks => "retry_failed_tasks",
            Operation::SubmitJob => "submit_job",
            Operation::JobStatuses => "job_statuses",
            Operation::DeleteJob => "delete_job",
            Operation::ListJobs => "list_jobs",
            Operation::ListTasks => "list_tasks",
            Operation::ExportJob => "export_job",
            Operation::TaskOutput => "task_output",
            Operation::TerminateTask => "terminate_task",
            Operation::Configure => "configure",
            Operation::Other(name) => name,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What every error knows about where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorContext {
    /// The backend's short name (`"azure"`, `"tencent"`, `"memory"`, ...).
    pub backend: Cow<'static, str>,
    /// The operation that failed.
    pub operation: Operation,
    /// The provider's error code, when the provider sent one (`JobCompleted`,
    /// `ResourceNotFound.Job`, ...).
    pub code: Option<String>,
    /// The provider's request id, when there is one: quote it in support requests.
    pub request_id: Option<String>,
    /// A human-readable message (the provider's text when there is one). Never holds secrets.
    pub message: String,
    /// When the operation was tried more than once: every attempt, in order, with why it
    /// failed (the last is this error). Empty for an operation that failed on its only try.
    pub attempts: Vec<Attempt>,
}

/// One failed attempt of a retried operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// [`Error::kind`] of that attempt's error.
    pub kind: &'static str,
    /// The provider's code, when it sent one.
    pub code: Option<String>,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind)?;
        match &self.code {
            Some(code) => write!(f, " [{code}]"),
            None => Ok(()),
        }
    }
}

impl ErrorContext {
    /// A context with no code, request id or message.
    pub fn new(backend: impl Into<Cow<'static, str>>, operation: Operation) -> Self {
        ErrorContext {
            backend: backend.into(),
            operation,
            code: None,
            request_id: None,
            message: String::new(),
            attempts: Vec::new(),
        }
    }

    /// Sets the provider's error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Sets the provider's request id.
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// Sets the message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }
}

impl fmt::Display for ErrorContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(code) = &self.code {
            write!(f, " [{code}]")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        if !self.attempts.is_empty() {
            write!(f, " after {} attempts:", self.attempts.len())?;
            for (n, attempt) in self.attempts.iter().enumerate() {
                let sep = if n == 0 { " " } else { ", " };
                write!(f, "{sep}{attempt}")?;
            }
        }
        Ok(())
    }
}

/// The kind of resource a [`Error::NotFound`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResourceKind {
    /// A job.
    Job,
    /// A task.
    Task,
    /// One instance of a task (Tencent).
    TaskInstance,
    /// A compute node.
    Node,
    /// A pool or compute environment.
    Pool,
    /// Something else the provider reported missing.
    Other,
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ResourceKind::Job => "job",
            ResourceKind::Task => "task",
            ResourceKind::TaskInstance => "task instance",
            ResourceKind::Node => "node",
            ResourceKind::Pool => "pool",
            ResourceKind::Other => "resource",
        })
    }
}

/// The one error type of polybatch.
///
/// `#[non_exhaustive]`: match the variants you care about and keep a fallback arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The job, task or other resource does not exist.
    #[error("{} {}: {resource} {id:?} not found{ctx}", ctx.backend, ctx.operation)]
    NotFound {
        /// What kind of resource was missing.
        resource: ResourceKind,
        /// Its id, as the caller gave it.
        id: String,
        /// Where the error came from.
        ctx: Box<ErrorContext>,
    },

    /// The operation is not allowed in the resource's current state (for example reactivating
    /// a task that succeeded). The provider's code is in the context.
    #[error("{} {}: invalid state{}{ctx}", ctx.backend, ctx.operation, state_suffix(.state))]
    InvalidState {
        /// The resource's current provider state, when known.
        state: Option<String>,
        /// Where the error came from.
        ctx: Box<ErrorContext>,
    },

    /// A conditional request's precondition (ETag or modification time) was not met.
    #[error("{} {}: precondition failed{ctx}", ctx.backend, ctx.operation)]
    PreconditionFailed {
        /// Where the error came from.
        ctx: Box<ErrorContext>,
    },

    /// The provider is throttling the caller.
    #[error("{} {}: throttled{}{ctx}", ctx.backend, ctx.operation, retry_after_suffix(.retry_after))]
    Throttled {
        /// How long the provider asked the caller to wait, when it said.
        retry_after: Option<Duration>,
        /// Where the error came from.
        ctx: Box<ErrorContext>,
    },

    /// The credentials were rejected (bad signature, unknown key, expired token, clock skew).
    #[error("{} {}: unauthenticated{ctx}", ctx.backend, ctx.operation)]
    Unauthenticated {
        /// Where the error came from.
        ctx: Box<ErrorContext>,
    },

    /// The credentials are valid but not allowed to do this.
    #[error("{} {}: permission denied{ctx}", ctx.backend, ctx.operation)]
    PermissionDenied {
        /// Where the error came from.
        ctx: Box<ErrorContext>,
    },

    /// The backend does not support this operation, or this option of it. Returned before any
    /// request is sent.
    #[error("{} does not support {}{}{ctx}", ctx.backend, ctx.operation, option_suffix(.option))]
    Unsupported {
        /// The unsupported option of the operation, if the operation itself is supported.
        option: Option<&'static str>,
        /// Where the error came from.
        ctx: Box<ErrorContext>,
    },

    /// The caller's input broke a rule. Returned before any request is sent.
    #[error("{} {}: invalid {field}: {rule}", ctx.backend, ctx.operation)]
    InvalidInput {
        /// Which field or argument.
        field: Cow<'static, str>,
        /// Which rule it broke.
        rule: String,
        /// Where the error came from.
        ctx: Box<ErrorContext>,
    },

    /// Configuration is missing or malformed (a builder could not build a backend).
    #[error("{} configuration: {key}: {rule}", ctx.backend)]
    Configuration {
        /// The configuration key or environment variable.
        key: Cow<'static, str>,
        /// What is wrong with it.
        rule: String,
        /// Where the error came from.
        ctx: Box<ErrorContext>,
    },

    /// The operation, or the server working on it, timed out.
    #[error("{} {}: timed out{ctx}", ctx.backend, ctx.operation)]
    Timeout {
        /// Where the error came from.
        ctx: Box<ErrorContext>,
    },

    /// The request could not be sent or its response could not be read.
    #[error("{} {}: transport error{ctx}", ctx.backend, ctx.operation)]
    Transport {
        /// Whether the request may have reached the server (false: it certainly did not).
        maybe_sent: bool,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
        /// Where the error came from.
        ctx: Box<ErrorContext>,
    },

    /// Any other error the service reported, or a response the client could not understand.
    #[error("{} {}: service error{}{ctx}", ctx.backend, ctx.operation, status_suffix(.status))]
    Service {
        /// The HTTP status, when there was one.
        status: Option<u16>,
        /// Whether the provider documents this error as transient.
        retryable: bool,
        /// Where the error came from.
        ctx: Box<ErrorContext>,
    },
}

fn state_suffix(state: &Option<String>) -> String {
    state
        .as_ref()
        .map(|s| format!(" (state {s})"))
        .unwrap_or_default()
}

fn retry_after_suffix(retry_after: &Option<Duration>) -> String {
    retry_after
        .map(|d| format!(" (retry after {} ms)", d.as_millis()))
        .unwrap_or_default()
}

fn option_suffix(option: &Option<&'static str>) -> String {
    option.map(|o| format!(" option `{o}`")).unwrap_or_default()
}

fn status_suffix(status: &Option<u16>) -> String {
    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
}

impl Error {
    /// The context every variant carries.
    pub fn context(&self) -> &ErrorContext {
        match self {
            Error::NotFound { ctx, .. }
            | Error::InvalidState { ctx, .. }
            | Error::PreconditionFailed { ctx }
            | Error::Throttled { ctx, .. }
            | Error::Unauthenticated { ctx }
            | Error::PermissionDenied { ctx }
            | Error::Unsupported { ctx, .. }
            | Error::InvalidInput { ctx, .. }
            | Error::Configuration { ctx, .. }
            | Error::Timeout { ctx }
            | Error::Transport { ctx, .. }
            | Error::Service { ctx, .. } => ctx,
        }
    }

    fn context_mut(&mut self) -> &mut ErrorContext {
        match self {
            Error::NotFound { ctx, .. }
            | Error::InvalidState { ctx, .. }
            | Error::PreconditionFailed { ctx }
            | Error::Throttled { ctx, .. }
            | Error::Unauthenticated { ctx }
            | Error::PermissionDenied { ctx }
            | Error::Unsupported { ctx, .. }
            | Error::InvalidInput { ctx, .. }
            | Error::Configuration { ctx, .. }
            | Error::Timeout { ctx }
            | Error::Transport { ctx, .. }
            | Error::Service { ctx, .. } => ctx,
        }
    }

    /// The backend's short name.
    pub fn backend(&self) -> &str {
        &self.context().backend
    }

    /// The operation that failed.
    pub fn operation(&self) -> Operation {
        self.context().operation
    }

    /// The provider's error code, when there is one.
    pub fn code(&self) -> Option<&str> {
        self.context().code.as_deref()
    }

    /// The provider's request id, when there is one.
    pub fn request_id(&self) -> Option<&str> {
        self.context().request_id.as_deref()
    }

    /// The message (the provider's text when there is one).
    pub fn message(&self) -> &str {
        &self.context().message
    }

    /// A stable snake-case name of the variant, for JSON output and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "not_found",
            Error::InvalidState { .. } => "invalid_state",
            Error::PreconditionFailed { .. } => "precondition_failed",
            Error::Throttled { .. } => "throttled",
            Error::Unauthenticated { .. } => "unauthenticated",
            Error::PermissionDenied { .. } => "permission_denied",
            Error::Unsupported { .. } => "unsupported",
            Error::InvalidInput { .. } => "invalid_input",
            Error::Configuration { .. } => "configuration",
            Error::Timeout { .. } => "timeout",
            Error::Transport { .. } => "transport",
            Error::Service { .. } => "service",
        }
    }

    /// Whether trying the same request again may succeed.
    ///
    /// True for throttling, timeouts, transport failures and service errors the provider
    /// documents as transient. A retry layer must still check that the operation is safe to
    /// replay (see [`crate::retry`]).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Throttled { .. } | Error::Timeout { .. } | Error::Transport { .. } => true,
            Error::Service { retryable, .. } => *retryable,
            _ => false,
        }
    }

    /// How long the provider asked the caller to wait before retrying, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Throttled { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the request certainly never reached the server (so even a non-idempotent
    /// operation can be replayed).
    pub fn certainly_not_sent(&self) -> bool {
        matches!(
            self,
            Error::Transport {
                maybe_sent: false,
                ..
            }
        )
    }

    /// Every attempt of a retried operation and why each failed, in order (this error's is
    /// the last); empty when the operation was tried once.
    pub fn attempts(&self) -> &[Attempt] {
        &self.context().attempts
    }

    /// This error as one [`Attempt`].
    pub fn as_attempt(&self) -> Attempt {
        Attempt {
            kind: self.kind(),
            code: self.context().code.clone(),
        }
    }

    /// Records the attempts that led to this error (the retry loop does, when it gives up
    /// after more than one).
    pub fn with_attempts(mut self, attempts: Vec<Attempt>) -> Self {
        self.context_mut().attempts = attempts;
        self
    }

    /// Replaces the request id (used by clients that learn it from a response header).
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.context_mut().request_id = Some(request_id.into());
        self
    }

    /// Names the backend and the trait operation the error surfaced from (done once, by the
    /// trait's provided methods, for every backend).
    pub fn stamped(mut self, backend: &'static str, operation: Operation) -> Self {
        let ctx = self.context_mut();
        ctx.backend = Cow::Borrowed(backend);
        ctx.operation = operation;
        self
    }

    /// Replaces the operation (used by wrappers that call one operation to serve another).
    pub fn with_operation(mut self, operation: Operation) -> Self {
        self.context_mut().operation = operation;
        self
    }

    // ----- constructors -----

    /// A [`Error::NotFound`].
    pub fn not_found(resource: ResourceKind, id: impl Into<String>, ctx: ErrorContext) -> Self {
        Error::NotFound {
            resource,
            id: id.into(),
            ctx: Box::new(ctx),
        }
    }

    /// An [`Error::InvalidState`].
    pub fn invalid_state(state: Option<String>, ctx: ErrorContext) -> Self {
        Error::InvalidState {
            state,
            ctx: Box::new(ctx),
        }
    }

    /// A [`Error::PreconditionFailed`].
    pub fn precondition_failed(ctx: ErrorContext) -> Self {
        Error::PreconditionFailed { ctx: Box::new(ctx) }
    }

    /// A [`Error::Throttled`].
    pub fn throttled(retry_after: Option<Duration>, ctx: ErrorContext) -> Self {
        Error::Throttled {
            retry_after,
            ctx: Box::new(ctx),
        }
    }

    /// An [`Error::Unauthenticated`].
    pub fn unauthenticated(ctx: ErrorContext) -> Self {
        Error::Unauthenticated { ctx: Box::new(ctx) }
    }

    /// A [`Error::PermissionDenied`].
    pub fn permission_denied(ctx: ErrorContext) -> Self {
        Error::PermissionDenied { ctx: Box::new(ctx) }
    }

    /// An [`Error::Unsupported`] for a whole operation.
    pub fn unsupported(backend: impl Into<Cow<'static, str>>, operation: Operation) -> Self {
        let ctx = ErrorContext::new(backend, operation);
        Error::Unsupported {
            option: None,
            ctx: Box::new(ctx),
        }
    }

    /// An [`Error::Unsupported`] for one option of an otherwise supported operation.
    pub fn unsupported_option(
        backend: impl Into<Cow<'static, str>>,
        operation: Operation,
        option: &'static str,
    ) -> Self {
        Error::Unsupported {
            option: Some(option),
            ctx: Box::new(ErrorContext::new(backend, operation)),
        }
    }

    /// An [`Error::InvalidInput`].
    pub fn invalid_input(
        field: impl Into<Cow<'static, str>>,
        rule: impl Into<String>,
        ctx: ErrorContext,
    ) -> Self {
        Error::InvalidInput {
            field: field.into(),
            rule: rule.into(),
            ctx: Box::new(ctx),
        }
    }

    /// An [`Error::Configuration`].
    pub fn configuration(
        backend: impl Into<Cow<'static, str>>,
        key: impl Into<Cow<'static, str>>,
        rule: impl Into<String>,
    ) -> Self {
        Error::Configuration {
            key: key.into(),
            rule: rule.into(),
            ctx: Box::new(ErrorContext::new(backend, Operation::Configure)),
        }
    }

    /// A [`Error::Timeout`].
    pub fn timeout(ctx: ErrorContext) -> Self {
        Error::Timeout { ctx: Box::new(ctx) }
    }

    /// A [`Error::Transport`].
    pub fn transport(maybe_sent: bool, source: Option<BoxError>, ctx: ErrorContext) -> Self {
        Error::Transport {
            maybe_sent,
            source,
            ctx: Box::new(ctx),
        }
    }

    /// A [`Error::Service`].
    pub fn service(status: Option<u16>, retryable: bool, ctx: ErrorContext) -> Self {
        Error::Service {
            status,
            retryable,
            ctx: Box::new(ctx),
        }
    }
}

/// The one place an HTTP status (with no more specific provider code) becomes an [`Error`].
///
/// Providers map their codes first; this is the fallback both clients share, so the same
/// status means the same thing everywhere.
pub fn error_from_status(
    status: u16,
    retry_after: Option<Duration>,
    resource: ResourceKind,
    id: &str,
    ctx: ErrorContext,
) -> Error {
    match status {
        304 | 412 => Error::precondition_failed(ctx),
        401 => Error::unauthenticated(ctx),
        403 => Error::permission_denied(ctx),
        404 => Error::not_found(resource, id, ctx),
        408 => Error::timeout(ctx),
        409 => Error::invalid_state(None, ctx),
        429 => Error::throttled(retry_after, ctx),
        503 if retry_after.is_some() => Error::throttled(retry_after, ctx),
        500 | 502 | 503 | 504 => Error::service(Some(status), true, ctx),
        _ => Error::service(Some(status), false, ctx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ErrorContext {
        ErrorContext::new("azure", Operation::TerminateJob)
            .with_code("JobBeingDeleted")
            .with_request_id("rid-1")
            .with_message("The job is being deleted.")
    }

    #[test]
    fn display_is_one_line_with_code_and_request_id() {
        let e = Error::invalid_state(Some("deleting".into()), ctx());
        let s = e.to_string();
        assert_eq!(
            s,
            "azure terminate_job: invalid state (state deleting) [JobBeingDeleted]: The job is being deleted. (request id rid-1)"
        );
        assert!(!s.contains('\n'));
    }

    #[test]
    fn accessors_read_the_context() {
        let e = Error::throttled(Some(Duration::from_secs(3)), ctx());
        assert_eq!(e.backend(), "azure");
        assert_eq!(e.operation(), Operation::TerminateJob);
        assert_eq!(e.code(), Some("JobBeingDeleted"));
        assert_eq!(e.request_id(), Some("rid-1"));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert!(e.is_retryable());
        assert_eq!(e.kind(), "throttled");
    }

    #[test]
    fn retryability_by_variant() {
        assert!(!Error::invalid_state(None, ctx()).is_retryable());
        assert!(!Error::precondition_failed(ctx()).is_retryable());
        assert!(Error::timeout(ctx()).is_retryable());
        assert!(Error::service(Some(503), true, ctx()).is_retryable());
        assert!(!Error::service(Some(400), false, ctx()).is_retryable());
        assert!(
            Error::unsupported("tencent", Operation::ReactivateTask)
                .retry_after()
                .is_none()
        );
        assert!(Error::transport(false, None, ctx()).certainly_not_sent());
        assert!(!Error::transport(true, None, ctx()).certainly_not_sent());
    }

    #[test]
    fn status_mapping() {
        let m = |s, ra| error_from_status(s, ra, ResourceKind::Job, "j", ctx()).kind();
        assert_eq!(m(404, None), "not_found");
        assert_eq!(m(412, None), "precondition_failed");
        assert_eq!(m(304, None), "precondition_failed");
        assert_eq!(m(401, None), "unauthenticated");
        assert_eq!(m(403, None), "permission_denied");
        assert_eq!(m(409, None), "invalid_state");
        assert_eq!(m(429, None), "throttled");
        assert_eq!(m(503, Some(Duration::from_secs(1))), "throttled");
        assert_eq!(m(503, None), "service");
        assert!(error_from_status(500, None, ResourceKind::Job, "j", ctx()).is_retryable());
        assert!(!error_from_status(400, None, ResourceKind::Job, "j", ctx()).is_retryable());
    }

    #[test]
    fn unsupported_names_operation_and_option() {
        let e = Error::unsupported_option("tencent", Operation::TerminateJob, "force");
        assert_eq!(
            e.to_string(),
            "tencent does not support terminate_job option `force`"
        );
    }
}
