//! Tencent's error body and the one function that maps its codes to [`polybatch::Error`].
//!
//! Tencent answers HTTP 200 with `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`
//! for every error the service processed. Codes are hierarchical (`Family.Sub`), so families
//! are matched by prefix where every member means the same thing.

use polybatch::{Error, ErrorContext, Operation, ResourceKind};

/// The backend name used in every error.
pub(crate) const BACKEND: &str = "tencent";

/// An error the service reported in the response envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiFailure {
    /// The error code.
    pub code: String,
    /// The message (already redacted of any credential it might echo).
    pub message: String,
    /// The request id, when the response had one.
    pub request_id: Option<String>,
}

/// What a request was about, so errors can name the resource and its known state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Subject {
    /// The job id.
    pub job: Option<String>,
    /// The task name.
    pub task: Option<String>,
    /// The task instance index.
    pub instance: Option<u64>,
    /// The job's state as last observed, reported in `InvalidState`.
    pub state: Option<String>,
}

impl Subject {
    /// A request about a job.
    pub fn job(job: &str) -> Self {
        Subject {
            job: Some(job.to_string()),
            ..Subject::default()
        }
    }

    /// A request about a task of a job.
    pub fn task(job: &str, task: &str) -> Self {
        Subject {
            task: Some(task.to_string()),
            ..Subject::job(job)
        }
    }

    /// Sets the observed state.
    pub fn with_state(mut self, state: Option<String>) -> Self {
        self.state = state;
        self
    }
}

/// The job state in which TerminateJob is refused until the job moves on.
pub(crate) const SUBMITTED: &str = "SUBMITTED";

/// The message of a TerminateJob refused because the job is still `SUBMITTED`.
pub(crate) fn submitted_terminate_hint(job: &str, server: &str) -> String {
    format!(
        "job {job} is still SUBMITTED and Tencent refuses to terminate it until it leaves \
         SUBMITTED; retry once it has (terminate_job_and_wait does, within its deadline) \
         (server said: {server})"
    )
}

/// Whether `code` is `family` or one of its sub-codes (`family.*`).
fn in_family(code: &str, family: &str) -> bool {
    code.strip_prefix(family)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// The field an invalid-input code is about: its sub-code, or a word for the bare code.
fn field_of(code: &str) -> String {
    if let Some((_, sub)) = code.split_once('.') {
        return sub.to_string();
    }
    match code {
        "InvalidFilter" => "filter",
        "InvalidAction" => "action",
        "NoSuchVersion" => "version",
        "UnsupportedRegion" => "region",
        "UnsupportedProtocol" => "protocol",
        "InvalidParameterValue" => "parameter value",
        "InvalidRequest" => "request body",
        "AllowedOneAttributeInEnvIdAndComputeEnv" => "ComputeEnv/EnvId",
        _ => "parameter",
    }
    .to_string()
}

/// Maps a service error to a [`polybatch::Error`], keeping code, message and request id.
pub(crate) fn map_error(failure: &ApiFailure, operation: Operation, subject: &Subject) -> Error {
    let code = failure.code.as_str();
    let mut ctx = ErrorContext::new(BACKEND, operation)
        .with_code(code)
        .with_message(failure.message.clone());
    if let Some(id) = &failure.request_id {
        ctx = ctx.with_request_id(id.clone());
    }
    let job = subject.job.clone().unwrap_or_default();
    let task = subject.task.clone().unwrap_or_default();
    let rule = || {
        if failure.message.is_empty() {
            code.to_string()
        } else {
            failure.message.clone()
        }
    };

    match code {
        "AuthFailure.SignatureExpire" => {
            let message = format!(
                "the request timestamp is more than five minutes off the server's clock; check \
                 this machine's clock (server said: {})",
                failure.message
            );
            Error::unauthenticated(ctx.with_message(message))
        }
        "AuthFailure.UnauthorizedOperation" | "AuthFailure.MFAFailure" => {
            Error::permission_denied(ctx)
        }
        c if in_family(c, "AuthFailure") => Error::unauthenticated(ctx),
        c if in_family(c, "UnauthorizedOperation")
            || c == "IpInBlacklist"
            || c == "IpNotInWhitelist" =>
        {
            Error::permission_denied(ctx)
        }
        c if in_family(c, "RequestLimitExceeded") => Error::throttled(None, ctx),
        "ResourceNotFound.Job" => Error::not_found(ResourceKind::Job, job, ctx),
        "ResourceNotFound.Task" => Error::not_found(ResourceKind::Task, task, ctx),
        "ResourceNotFound.TaskInstance" => {
            let id = match subject.instance {
                Some(i) => format!("{job}/{task}/{i}"),
                None => format!("{job}/{task}"),
            };
            Error::not_found(ResourceKind::TaskInstance, id, ctx)
        }
        "ResourceNotFound.ComputeEnv" => Error::not_found(ResourceKind::Pool, "", ctx),
        "ResourceNotFound.ComputeNode" => Error::not_found(ResourceKind::Node, "", ctx),
        c if in_family(c, "ResourceNotFound") => Error::not_found(ResourceKind::Other, job, ctx),
        "InvalidParameter.JobIdMalformed" => Error::invalid_input("job id", rule(), ctx),
        c if in_family(c, "InvalidParameter")
            || in_family(c, "InvalidParameterValue")
            || in_family(c, "InvalidZone")
            || in_family(c, "InvalidFilter")
            || matches!(
                c,
                "MissingParameter"
                    | "UnknownParameter"
                    | "InvalidAction"
                    | "NoSuchVersion"
                    | "UnsupportedRegion"
                    | "UnsupportedProtocol"
                    | "InvalidRequest"
                    | "AllowedOneAttributeInEnvIdAndComputeEnv"
            ) =>
        {
            Error::invalid_input(field_of(c), rule(), ctx)
        }
        // TerminateJob and TerminateTaskInstance refuse instances of a compute environment
        // named by EnvId ("This operation is prohibited for the task instances in the
        // specified compute environment", errorcodes.py): no retry or later state changes
        // that, so it is a permanent Unsupported rather than a state to wait out.
        "UnsupportedOperation.TerminateOperationWithEnvId" => {
            let message = format!(
                "Tencent does not terminate task instances running in a compute environment \
                 given by EnvId; this request will not succeed if repeated (server said: {})",
                failure.message
            );
            Error::Unsupported {
                option: None,
                ctx: Box::new(ctx.with_message(message)),
            }
        }
        // TerminateJob is "prohibited" while the job is SUBMITTED (TerminateJob docs), which
        // lasts only while the service parses the job: the same request succeeds once it has
        // left SUBMITTED, so the refusal is retryable, and says so.
        c if operation == Operation::TerminateJob
            && subject.state.as_deref() == Some(SUBMITTED)
            && (c == "UnsupportedOperation" || in_family(c, "ResourceInUse")) =>
        {
            Error::service(
                None,
                true,
                ctx.with_message(submitted_terminate_hint(&job, &failure.message)),
            )
        }
        c if in_family(c, "ResourceInUse") || in_family(c, "UnsupportedOperation") => {
            Error::invalid_state(subject.state.clone(), ctx)
        }
        c if in_family(c, "InternalError")
            || in_family(c, "ResourceUnavailable")
            || c == "ServiceUnavailable" =>
        {
            Error::service(None, true, ctx)
        }
        // LimitExceeded*, ResourceInsufficient*, FailedOperation*, size limits, ActionOffline,
        // NoSuchProduct, DryRunOperation and every code this version does not know: the
        // service refused for a reason a retry will not change.
        _ => Error::service(None, false, ctx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `code` answered to an operation that is not TerminateJob (about a SUBMITTED job).
    fn map(code: &str) -> Error {
        map_for(code, Operation::JobStatus)
    }

    fn map_for(code: &str, operation: Operation) -> Error {
        let f = ApiFailure {
            code: code.to_string(),
            message: format!("message of {code}"),
            request_id: Some("rid-1".to_string()),
        };
        let subject = Subject {
            job: Some("job-abcd1234".into()),
            task: Some("A".into()),
            instance: Some(2),
            state: Some("SUBMITTED".into()),
        };
        map_error(&f, operation, &subject)
    }

    /// Every code of reference §3.2 (common) and §3.3 (job APIs), with the expected variant.
    const TABLE: &[(&str, &str)] = &[
        // §3.2 common codes
        ("ActionOffline", "service"),
        ("AuthFailure.InvalidAuthorization", "unauthenticated"),
        ("AuthFailure.InvalidSecretId", "unauthenticated"),
        ("AuthFailure.MFAFailure", "permission_denied"),
        ("AuthFailure.SecretIdNotFound", "unauthenticated"),
        ("AuthFailure.SignatureExpire", "unauthenticated"),
        ("AuthFailure.SignatureFailure", "unauthenticated"),
        ("AuthFailure.TokenFailure", "unauthenticated"),
        ("AuthFailure.UnauthorizedOperation", "permission_denied"),
        ("DryRunOperation", "service"),
        ("FailedOperation", "service"),
        ("InternalError", "service"),
        ("InvalidAction", "invalid_input"),
        ("InvalidParameter", "invalid_input"),
        ("InvalidParameterValue", "invalid_input"),
        ("InvalidRequest", "invalid_input"),
        ("IpInBlacklist", "permission_denied"),
        ("IpNotInWhitelist", "permission_denied"),
        ("LimitExceeded", "service"),
        ("MissingParameter", "invalid_input"),
        ("NoSuchProduct", "service"),
        ("NoSuchVersion", "invalid_input"),
        ("RequestLimitExceeded", "throttled"),
        (
            "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
            "throttled",
        ),
        ("RequestLimitExceeded.IPLimitExceeded", "throttled"),
        ("RequestLimitExceeded.UinLimitExceeded", "throttled"),
        ("RequestSizeLimitExceeded", "service"),
        ("ResourceInUse", "invalid_state"),
        ("ResourceInsufficient", "service"),
        ("ResourceNotFound", "not_found"),
        ("ResourceUnavailable", "service"),
        ("ResponseSizeLimitExceeded", "service"),
        ("ServiceUnavailable", "service"),
        ("UnauthorizedOperation", "permission_denied"),
        ("UnknownParameter", "invalid_input"),
        ("UnsupportedOperation", "invalid_state"),
        ("UnsupportedProtocol", "invalid_input"),
        ("UnsupportedRegion", "invalid_input"),
        // §3.3 job API codes
        ("InvalidParameter.JobIdMalformed", "invalid_input"),
        ("ResourceInUse.Job", "invalid_state"),
        ("ResourceNotFound.Job", "not_found"),
        (
            "UnsupportedOperation.TerminateOperationWithEnvId",
            "unsupported",
        ),
        ("InvalidFilter", "invalid_input"),
        (
            "InvalidParameter.InvalidParameterCombination",
            "invalid_input",
        ),
        ("InvalidParameterValue.InvalidFilter", "invalid_input"),
        ("InvalidParameterValue.LimitExceeded", "invalid_input"),
        ("InvalidZone.MismatchRegion", "invalid_input"),
        ("ResourceNotFound.TaskInstance", "not_found"),
        ("ResourceNotFound.Task", "not_found"),
        ("InvalidParameter.TaskName", "invalid_input"),
        ("InvalidParameter.TaskNameTooLong", "invalid_input"),
        ("InvalidParameterValue.Negative", "invalid_input"),
        ("AllowedOneAttributeInEnvIdAndComputeEnv", "invalid_input"),
        ("InternalError.CallCvm", "service"),
        ("InternalError.CallTagAPI", "service"),
        ("InvalidParameter.CvmParameters", "invalid_input"),
        ("InvalidParameter.EnvIdMalformed", "invalid_input"),
        ("InvalidParameter.ImageIdMalformed", "invalid_input"),
        ("InvalidParameter.JobDescriptionTooLong", "invalid_input"),
        ("InvalidParameter.JobNameTooLong", "invalid_input"),
        (
            "InvalidParameter.NotificationEventNameDuplicate",
            "invalid_input",
        ),
        ("InvalidParameter.NotificationTopicName", "invalid_input"),
        (
            "InvalidParameter.NotificationTopicNameTooLong",
            "invalid_input",
        ),
        ("InvalidParameterValue.ComputeEnv", "invalid_input"),
        (
            "InvalidParameterValue.DependenceNotFoundTaskName",
            "invalid_input",
        ),
        (
            "InvalidParameterValue.DependenceUnfeasible",
            "invalid_input",
        ),
        (
            "InvalidParameterValue.InstanceTypeDuplicate",
            "invalid_input",
        ),
        ("InvalidParameterValue.InvalidDataTypeAny", "invalid_input"),
        (
            "InvalidParameterValue.InvalidZoneMismatchRegion",
            "invalid_input",
        ),
        ("InvalidParameterValue.LocalPath", "invalid_input"),
        ("InvalidParameterValue.MaxRetryCount", "invalid_input"),
        ("InvalidParameterValue.NotFloat", "invalid_input"),
        ("InvalidParameterValue.RemoteStoragePath", "invalid_input"),
        (
            "InvalidParameterValue.RemoteStorageSchemeType",
            "invalid_input",
        ),
        ("InvalidParameterValue.UnavailableZone", "invalid_input"),
        ("InvalidParameterValue.TaskInstanceNum", "invalid_input"),
        ("LimitExceeded.JobQuota", "service"),
        ("LimitExceeded.CpuQuota", "service"),
        ("ResourceNotFound.ComputeEnv", "not_found"),
        (
            "UnauthorizedOperation.UserNotAllowedToUseBatch",
            "permission_denied",
        ),
        ("InternalError.CallCam", "service"),
        (
            "UnsupportedOperation.ComputeNodeIsTerminating",
            "invalid_state",
        ),
        // Unknown codes, and near-misses of families.
        ("SomethingNew", "service"),
        ("AuthFailureX", "service"),
        ("RequestLimitExceededSoon", "service"),
    ];

    #[test]
    fn every_documented_code_maps_to_the_expected_variant() {
        for (code, kind) in TABLE {
            let e = map(code);
            assert_eq!(e.kind(), *kind, "{code}");
            assert_eq!(e.code(), Some(*code), "{code}");
            assert_eq!(e.request_id(), Some("rid-1"), "{code}");
            assert_eq!(e.backend(), "tencent");
            assert_eq!(e.operation(), Operation::JobStatus);
            if *code == "AuthFailure.SignatureExpire"
                || *code == "UnsupportedOperation.TerminateOperationWithEnvId"
            {
                assert!(
                    e.message().contains(&format!("message of {code}")),
                    "{code}"
                );
            } else {
                assert_eq!(e.message(), format!("message of {code}"), "{code}");
            }
        }
    }

    #[test]
    fn retryability() {
        for code in [
            "InternalError",
            "InternalError.CallCvm",
            "ServiceUnavailable",
            "ResourceUnavailable",
            "RequestLimitExceeded.UinLimitExceeded",
        ] {
            assert!(map(code).is_retryable(), "{code}");
        }
        for code in [
            "LimitExceeded.JobQuota",
            "ResourceInsufficient",
            "FailedOperation",
            "ActionOffline",
            "SomethingNew",
            "AuthFailure.SignatureExpire",
            "ResourceInUse.Job",
        ] {
            assert!(!map(code).is_retryable(), "{code}");
        }
        assert_eq!(map("RequestLimitExceeded").retry_after(), None);
    }

    #[test]
    fn terminate_with_env_id_is_permanently_unsupported() {
        for op in [
            Operation::TerminateJob,
            Operation::Other("terminate_task_instance"),
        ] {
            let e = map_for("UnsupportedOperation.TerminateOperationWithEnvId", op);
            assert!(
                matches!(e, Error::Unsupported { option: None, .. }),
                "{e:?}"
            );
            assert!(!e.is_retryable());
            assert_eq!(
                e.code(),
                Some("UnsupportedOperation.TerminateOperationWithEnvId")
            );
            assert!(e.message().contains("EnvId"), "{e}");
            assert_eq!(e.request_id(), Some("rid-1"));
        }
    }

    #[test]
    fn terminating_a_submitted_job_is_retryable_with_a_hint() {
        for code in ["UnsupportedOperation", "ResourceInUse.Job"] {
            let e = map_for(code, Operation::TerminateJob);
            assert!(
                matches!(
                    e,
                    Error::Service {
                        retryable: true,
                        ..
                    }
                ),
                "{code}: {e:?}"
            );
            assert!(e.is_retryable(), "{code}");
            assert_eq!(e.code(), Some(code));
            let m = e.message();
            assert!(m.contains("SUBMITTED") && m.contains("retry"), "{m}");
            assert!(m.contains(&format!("message of {code}")), "{m}");
            // Elsewhere, or in any other state, the same codes stay InvalidState.
            assert_eq!(
                map_for(code, Operation::RetryFailedTasks).kind(),
                "invalid_state"
            );
        }
        let f = ApiFailure {
            code: "UnsupportedOperation".into(),
            message: "no".into(),
            request_id: None,
        };
        let running = Subject::job("job-abcd1234").with_state(Some("RUNNING".into()));
        let e = map_error(&f, Operation::TerminateJob, &running);
        assert!(matches!(e, Error::InvalidState { .. }), "{e:?}");
    }

    #[test]
    fn signature_expire_says_check_the_clock() {
        let e = map("AuthFailure.SignatureExpire");
        assert!(e.message().contains("five minutes"), "{e}");
        assert!(e.message().contains("clock"), "{e}");
        assert!(
            e.message()
                .contains("message of AuthFailure.SignatureExpire")
        );
    }

    #[test]
    fn not_found_names_the_resource() {
        match map("ResourceNotFound.Job") {
            Error::NotFound { resource, id, .. } => {
                assert_eq!(resource, ResourceKind::Job);
                assert_eq!(id, "job-abcd1234");
            }
            e => panic!("{e:?}"),
        }
        match map("ResourceNotFound.Task") {
            Error::NotFound { resource, id, .. } => {
                assert_eq!(resource, ResourceKind::Task);
                assert_eq!(id, "A");
            }
            e => panic!("{e:?}"),
        }
        match map("ResourceNotFound.TaskInstance") {
            Error::NotFound { resource, id, .. } => {
                assert_eq!(resource, ResourceKind::TaskInstance);
                assert_eq!(id, "job-abcd1234/A/2");
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn invalid_input_and_state_details() {
        match map("InvalidParameter.JobIdMalformed") {
            Error::InvalidInput { field, rule, .. } => {
                assert_eq!(field, "job id");
                assert_eq!(rule, "message of InvalidParameter.JobIdMalformed");
            }
            e => panic!("{e:?}"),
        }
        match map("InvalidParameter.TaskNameTooLong") {
            Error::InvalidInput { field, .. } => assert_eq!(field, "TaskNameTooLong"),
            e => panic!("{e:?}"),
        }
        match map("UnsupportedRegion") {
            Error::InvalidInput { field, .. } => assert_eq!(field, "region"),
            e => panic!("{e:?}"),
        }
        for code in ["UnsupportedOperation", "ResourceInUse.Job"] {
            match map(code) {
                Error::InvalidState { state, .. } => {
                    assert_eq!(state.as_deref(), Some("SUBMITTED"))
                }
                e => panic!("{e:?}"),
            }
        }
    }
}
