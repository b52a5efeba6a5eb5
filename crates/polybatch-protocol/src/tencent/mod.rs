//! Tencent Cloud Batch, API 3.0: TC3-HMAC-SHA256 signing and verification, the API version, the
//! action names and the documented per-action rate limits.

mod rate_limits;
pub mod tc3;
pub mod verify;

pub use rate_limits::{ActionLimit, RATE_LIMITS, Site, documented_limit, documented_limit_at};

/// The API version of Tencent Cloud Batch (`X-TC-Version`).
pub const API_VERSION: &str = "2017-03-12";

/// How far `X-TC-Timestamp` may be from the server's clock, in seconds.
pub const MAX_TIMESTAMP_SKEW_SECS: u64 = 300;

/// Whether `id` has the service's job-id shape, `job-` and 8 of `[0-9a-z]`: anything else
/// names no Tencent job (the service answers `InvalidParameter.JobIdMalformed`).
pub fn is_job_id(id: &str) -> bool {
    id.strip_prefix("job-").is_some_and(|s| {
        s.len() == 8
            && s.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    })
}

/// The most bytes of a task instance's stdout or stderr `DescribeTaskLogs` returns (decoded:
/// "up to 2048 bytes"); which bytes is not documented, and the emulator sends the last ones.
pub const MAX_LOG_BYTES: usize = 2048;

/// The most instances one `DescribeTaskLogs` answers for (`Limit`, default 5).
pub const MAX_LOG_INSTANCES: u64 = 10;

/// The action names (`X-TC-Action`) polybatch calls and the emulator serves.
pub mod action {
    /// `SubmitJob`.
    pub const SUBMIT_JOB: &str = "SubmitJob";
    /// `DescribeJob`.
    pub const DESCRIBE_JOB: &str = "DescribeJob";
    /// `DescribeJobs`.
    pub const DESCRIBE_JOBS: &str = "DescribeJobs";
    /// `TerminateJob`.
    pub const TERMINATE_JOB: &str = "TerminateJob";
    /// `TerminateTaskInstance`.
    pub const TERMINATE_TASK_INSTANCE: &str = "TerminateTaskInstance";
    /// `RetryJobs`.
    pub const RETRY_JOBS: &str = "RetryJobs";
    /// `DeleteJob`.
    pub const DELETE_JOB: &str = "DeleteJob";
    /// `DescribeTask`.
    pub const DESCRIBE_TASK: &str = "DescribeTask";
    /// `DescribeJobSubmitInfo`.
    pub const DESCRIBE_JOB_SUBMIT_INFO: &str = "DescribeJobSubmitInfo";
    /// `DescribeTaskLogs`.
    pub const DESCRIBE_TASK_LOGS: &str = "DescribeTaskLogs";

    /// Every action above.
    pub const ALL: [&str; 10] = [
        SUBMIT_JOB,
        DESCRIBE_JOB,
        DESCRIBE_JOBS,
        TERMINATE_JOB,
        TERMINATE_TASK_INSTANCE,
        RETRY_JOBS,
        DELETE_JOB,
        DESCRIBE_TASK,
        DESCRIBE_JOB_SUBMIT_INFO,
        DESCRIBE_TASK_LOGS,
    ];
}

#[cfg(test)]
mod job_id_tests {
    use super::is_job_id;

    #[test]
    fn job_id_shape() {
        assert!(is_job_id("job-abcd1234"));
        assert!(!is_job_id("job-ABCD1234"));
        assert!(!is_job_id("job-abcd123"));
        assert!(!is_job_id("jb-abcd1234"));
        assert!(!is_job_id("job-abcd12345"));
        assert!(!is_job_id("render-1"));
    }
}
