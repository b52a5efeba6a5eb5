//! Per-operation options. Every operation takes one, so knobs can be added without breaking
//! the trait. All are `Default`; set fields with the `with_*` methods.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::status::ETag;

/// The reason Azure records when none is given.
pub const DEFAULT_TERMINATE_REASON: &str = "UserTerminate";

/// Conditional-request preconditions (HTTP `If-Match` and friends).
///
/// A backend without ETags reports `conditional_requests: false` in its
/// [`crate::Capabilities`], and then any set precondition is an `Unsupported` error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Preconditions {
    /// Proceed only if the resource's ETag equals this one.
    pub if_match: Option<ETag>,
    /// Proceed only if the resource's ETag differs from this one.
    pub if_none_match: Option<ETag>,
    /// Proceed only if the resource changed after this time.
    pub if_modified_since: Option<DateTime<Utc>>,
    /// Proceed only if the resource has not changed after this time.
    pub if_unmodified_since: Option<DateTime<Utc>>,
}

impl Preconditions {
    /// Whether any precondition is set.
    pub fn is_empty(&self) -> bool {
        self.if_match.is_none()
            && self.if_none_match.is_none()
            && self.if_modified_since.is_none()
            && self.if_unmodified_since.is_none()
    }

    /// Sets `If-Match`.
    pub fn with_if_match(mut self, etag: impl Into<ETag>) -> Self {
        self.if_match = Some(etag.into());
        self
    }

    /// Sets `If-None-Match`.
    pub fn with_if_none_match(mut self, etag: impl Into<ETag>) -> Self {
        self.if_none_match = Some(etag.into());
        self
    }

    /// Sets `If-Modified-Since`.
    pub fn with_if_modified_since(mut self, t: DateTime<Utc>) -> Self {
        self.if_modified_since = Some(t);
        self
    }

    /// Sets `If-Unmodified-Since`.
    pub fn with_if_unmodified_since(mut self, t: DateTime<Utc>) -> Self {
        self.if_unmodified_since = Some(t);
        self
    }
}

/// Options of [`crate::BatchBackend::terminate_job`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TerminateJobOptions {
    /// The reason recorded on the job. `None` means the provider default
    /// ([`DEFAULT_TERMINATE_REASON`] on Azure). Some providers do not record reasons.
    pub reason: Option<String>,
    /// Terminate even if nodes have not fully processed the termination (Azure 2024-07-01.20.0+).
    pub force: bool,
    /// Preconditions on the job.
    pub preconditions: Preconditions,
    /// How long the server may spend on the request.
    pub server_timeout: Option<Duration>,
}

impl TerminateJobOptions {
    /// Sets the reason.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Sets `force`.
    pub fn with_force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Sets the preconditions.
    pub fn with_preconditions(mut self, preconditions: Preconditions) -> Self {
        self.preconditions = preconditions;
        self
    }

    /// Sets the server timeout.
    pub fn with_server_timeout(mut self, timeout: Duration) -> Self {
        self.server_timeout = Some(timeout);
        self
    }
}

/// Options of [`crate::BatchBackend::terminate_task`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TerminateTaskOptions {
    /// Only this instance of the task (Tencent task instances); `None`: every unfinished one.
    pub instance: Option<u32>,
    /// Preconditions on the task.
    pub preconditions: Preconditions,
    /// How long the server may spend on the request.
    pub server_timeout: Option<Duration>,
}

impl TerminateTaskOptions {
    /// Only instance `n`.
    pub fn with_instance(mut self, n: u32) -> Self {
        self.instance = Some(n);
        self
    }

    /// Sets the preconditions.
    pub fn with_preconditions(mut self, preconditions: Preconditions) -> Self {
        self.preconditions = preconditions;
        self
    }

    /// Sets the server timeout.
    pub fn with_server_timeout(mut self, timeout: Duration) -> Self {
        self.server_timeout = Some(timeout);
        self
    }
}

/// Options of [`crate::BatchBackend::reactivate_task`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReactivateTaskOptions {
    /// Preconditions on the task.
    pub preconditions: Preconditions,
    /// How long the server may spend on the request.
    pub server_timeout: Option<Duration>,
}

impl ReactivateTaskOptions {
    /// Sets the preconditions.
    pub fn with_preconditions(mut self, preconditions: Preconditions) -> Self {
        self.preconditions = preconditions;
        self
    }

    /// Sets the server timeout.
    pub fn with_server_timeout(mut self, timeout: Duration) -> Self {
        self.server_timeout = Some(timeout);
        self
    }
}

/// Options of [`crate::BatchBackend::job_status`] and [`crate::BatchBackend::task_status`].
///
/// `select` and `if_none_match` make polling cheap where the provider allows it (Azure
/// `$select` and `If-None-Match`); a backend without them refuses them as `Unsupported`
/// before any request ([`crate::Capabilities::status_select`],
/// [`crate::Capabilities::conditional_requests`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusOptions {
    /// How long the server may spend on the request.
    pub server_timeout: Option<Duration>,
    /// The provider properties to return (Azure OData `$select`, e.g. `state`, `eTag`,
    /// `executionInfo`); empty means all. Fields of the status whose properties were not
    /// selected are left unset (a state not selected is `Unknown`).
    pub select: Vec<String>,
    /// Answer only if the resource changed: its ETag differs from this one (HTTP
    /// `If-None-Match`). An unchanged resource is [`crate::Error::PreconditionFailed`] whose
    /// message says "not modified" (Azure answers 304 without a body): the status held is
    /// current.
    pub if_none_match: Option<ETag>,
}

impl StatusOptions {
    /// Sets the server timeout.
    pub fn with_server_timeout(mut self, timeout: Duration) -> Self {
        self.server_timeout = Some(timeout);
        self
    }

    /// Sets the properties to return.
    pub fn with_select<I, S>(mut self, select: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.select = select.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `If-None-Match`: answer only if the resource's ETag differs from `etag`.
    pub fn with_if_none_match(mut self, etag: impl Into<ETag>) -> Self {
        self.if_none_match = Some(etag.into());
        self
    }
}

/// Options of [`crate::BatchBackend::list_prep_release_status`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListPrepReleaseOptions {
    /// A provider filter expression (Azure OData `$filter`, e.g. `nodeId eq 'tvm-1'`).
    pub filter: Option<String>,
    /// Properties to return (Azure OData `$select`).
    pub select: Vec<String>,
    /// Entries per page (Azure `maxresults`, 1 to 1000).
    pub page_size: Option<u32>,
    /// How long the server may spend on each page request.
    pub server_timeout: Option<Duration>,
}

impl ListPrepReleaseOptions {
    /// Sets the filter.
    pub fn with_filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = Some(filter.into());
        self
    }

    /// Sets the selected properties.
    pub fn with_select<I, S>(mut self, select: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.select = select.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the page size.
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = Some(page_size);
        self
    }
}

/// Options of [`crate::BatchBackend::retry_failed_tasks`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryFailedTasksOptions {
    /// How many tasks to reactivate at once, where the provider retries task by task.
    pub concurrency: usize,
}

impl Default for RetryFailedTasksOptions {
    fn default() -> Self {
        RetryFailedTasksOptions { concurrency: 8 }
    }
}

impl RetryFailedTasksOptions {
    /// Sets the concurrency (at least 1).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }
}

/// Options of [`crate::BatchBackend::submit_job`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubmitJobOptions {
    /// How long the server may spend on each request.
    pub server_timeout: Option<Duration>,
}

/// Options of [`crate::BatchBackend::delete_job`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteJobOptions {
    /// Preconditions on the job.
    pub preconditions: Preconditions,
    /// How long the server may spend on the request.
    pub server_timeout: Option<Duration>,
}

impl DeleteJobOptions {
    /// Sets the preconditions.
    pub fn with_preconditions(mut self, preconditions: Preconditions) -> Self {
        self.preconditions = preconditions;
        self
    }
}

/// Options of [`crate::BatchBackend::job_statuses`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobStatusesOptions {
    /// How many requests may be in flight at once (each asks about as many jobs as the
    /// provider allows, [`crate::Capabilities::job_statuses_per_request`]).
    pub concurrency: usize,
}

impl Default for JobStatusesOptions {
    fn default() -> Self {
        JobStatusesOptions { concurrency: 8 }
    }
}

impl JobStatusesOptions {
    /// Sets the concurrency.
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }
}

/// Options of [`crate::BatchBackend::list_jobs`]: which jobs to list. Every filter given is
/// applied (all must match); the backend sends the ones its service can apply
/// ([`crate::Capabilities::list_jobs_server_filters`]) and the trait applies every one to
/// what comes back, so the answer is the same everywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListJobsOptions {
    /// Only jobs in one of these states (empty: any).
    pub states: Vec<crate::JobState>,
    /// Only jobs carrying every one of these labels.
    pub labels: std::collections::BTreeMap<String, String>,
    /// Only jobs whose name starts with this.
    pub name_prefix: Option<String>,
    /// Only jobs created at or after this time.
    pub created_after: Option<DateTime<Utc>>,
    /// Only jobs created before this time.
    pub created_before: Option<DateTime<Utc>>,
    /// Jobs per page request (the provider's default when `None`).
    pub page_size: Option<u32>,
}

impl ListJobsOptions {
    /// Only jobs in `state` (adds to the states asked).
    pub fn with_state(mut self, state: crate::JobState) -> Self {
        self.states.push(state);
        self
    }

    /// Only jobs carrying this label.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Only jobs whose name starts with `prefix`.
    pub fn with_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.name_prefix = Some(prefix.into());
        self
    }

    /// Only jobs created in `[after, before)`.
    pub fn with_created(
        mut self,
        after: Option<DateTime<Utc>>,
        before: Option<DateTime<Utc>>,
    ) -> Self {
        self.created_after = after;
        self.created_before = before;
        self
    }

    /// Sets the page size.
    pub fn with_page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n);
        self
    }

    /// Whether `status` passes every filter (a filter on a field the status lacks fails).
    pub fn matches(&self, status: &crate::JobStatus) -> bool {
        (self.states.is_empty() || self.states.contains(&status.state))
            && self
                .labels
                .iter()
                .all(|(k, v)| status.labels.get(k) == Some(v))
            && self.name_prefix.as_ref().is_none_or(|p| {
                status
                    .name
                    .as_deref()
                    .is_some_and(|n| n.starts_with(p.as_str()))
            })
            && self
                .created_after
                .is_none_or(|t| status.creation_time.is_some_and(|c| c >= t))
            && self
                .created_before
                .is_none_or(|t| status.creation_time.is_some_and(|c| c < t))
    }
}

/// Which output stream of a task.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OutputStream {
    /// Standard output (Azure `stdout.txt`, Tencent `StdoutLog`).
    #[default]
    Stdout,
    /// Standard error (Azure `stderr.txt`, Tencent `StderrLog`).
    Stderr,
}

/// Options of [`crate::BatchBackend::task_output`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskOutputOptions {
    /// Which stream.
    pub stream: OutputStream,
    /// Only these bytes of it (`start..end`, end exclusive); `None` is all of it. Sent to the
    /// service where it takes ranges (Azure `ocp-range`), applied to what it sends otherwise.
    pub range: Option<std::ops::Range<u64>>,
    /// Which instance of the task (Tencent task instances; 0 elsewhere).
    pub instance: u32,
}

impl TaskOutputOptions {
    /// Standard error instead of standard output.
    pub fn stderr(mut self) -> Self {
        self.stream = OutputStream::Stderr;
        self
    }

    /// Only bytes `range`.
    pub fn with_range(mut self, range: std::ops::Range<u64>) -> Self {
        self.range = Some(range);
        self
    }

    /// Instance `n`.
    pub fn with_instance(mut self, n: u32) -> Self {
        self.instance = n;
        self
    }
}

/// Options of [`crate::BatchBackend::export_job`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportJobOptions {}

/// Options of [`crate::BatchBackend::list_tasks`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListTasksOptions {
    /// Tasks per page request (the provider's default when `None`).
    pub page_size: Option<u32>,
}

/// How [`crate::BatchBackendExt`] waits: poll interval and deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitOptions {
    /// Time between polls.
    pub interval: Duration,
    /// Give up after this long.
    pub deadline: Duration,
}

impl Default for WaitOptions {
    /// Poll every 5 s (as Azure's SDKs do) for up to 10 minutes.
    fn default() -> Self {
        WaitOptions {
            interval: Duration::from_secs(5),
            deadline: Duration::from_secs(600),
        }
    }
}

impl WaitOptions {
    /// Wait options with the given interval and deadline.
    pub fn new(interval: Duration, deadline: Duration) -> Self {
        WaitOptions { interval, deadline }
    }
}
