//! What the mutating operations return.

use std::fmt;

use serde::Serialize;

use crate::error::Error;
use crate::id::{JobId, TaskId};
use crate::spec::IdempotencyKey;
use crate::status::ETag;

/// What a terminate request found. Terminate is idempotent: the last two are not errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TerminateDisposition {
    /// The job was running and is now terminating.
    Accepted,
    /// A previous terminate is still in progress.
    AlreadyTerminating,
    /// The job had already finished; nothing changed.
    AlreadyCompleted,
    /// The job had not started: it was cancelled and will never run (AWS Batch, whose
    /// `TerminateJob` cancels a job before `STARTING` and stops one after).
    Cancelled,
}

impl fmt::Display for TerminateDisposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TerminateDisposition::Accepted => "accepted",
            TerminateDisposition::AlreadyTerminating => "already_terminating",
            TerminateDisposition::AlreadyCompleted => "already_completed",
            TerminateDisposition::Cancelled => "cancelled",
        })
    }
}

/// The result of [`crate::BatchBackend::terminate_job`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TerminateJobOutcome {
    /// What happened.
    pub disposition: TerminateDisposition,
    /// The job's new ETag, when the provider returned one.
    pub etag: Option<ETag>,
    /// The provider's request id, when there is one.
    pub request_id: Option<String>,
    /// Whether a terminate asked with `force` was applied as forced, when the backend says:
    /// `Some(true)` when the provider accepted the forced terminate; `Some(false)` when it
    /// did not force anything, as when an earlier, unforced terminate was already under way
    /// (Azure `JobBeingTerminated`: the job ends at that terminate's pace); `None` when
    /// `force` was not asked or the backend does not tell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forced: Option<bool>,
}

impl TerminateJobOutcome {
    /// An outcome with only the disposition known.
    pub fn new(disposition: TerminateDisposition) -> Self {
        TerminateJobOutcome {
            disposition,
            etag: None,
            request_id: None,
            forced: None,
        }
    }
}

/// The result of [`crate::BatchBackend::terminate_task`]: `Accepted` (the task, or the
/// instances asked, are being stopped) or `AlreadyCompleted` (nothing was left to stop).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TerminateTaskOutcome {
    /// What happened.
    pub disposition: TerminateDisposition,
    /// The task's new ETag, when the provider returned one.
    pub etag: Option<ETag>,
    /// The provider's request id (of the last request, when there were several).
    pub request_id: Option<String>,
}

impl TerminateTaskOutcome {
    /// An outcome with only the disposition known.
    pub fn new(disposition: TerminateDisposition) -> Self {
        TerminateTaskOutcome {
            disposition,
            etag: None,
            request_id: None,
        }
    }
}

/// The result of [`crate::BatchBackend::reactivate_task`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ReactivateTaskOutcome {
    /// The task's new ETag, when the provider returned one.
    pub etag: Option<ETag>,
    /// The provider's request id, when there is one.
    pub request_id: Option<String>,
}

/// A task that could not be retried, and why.
#[derive(Debug)]
#[non_exhaustive]
pub struct RetryFailure {
    /// The task.
    pub task_id: TaskId,
    /// Why it was not retried.
    pub error: Error,
}

impl RetryFailure {
    /// A failure record.
    pub fn new(task_id: TaskId, error: Error) -> Self {
        RetryFailure { task_id, error }
    }
}

/// The result of [`crate::BatchBackend::retry_failed_tasks`]: per task, what was retried and
/// what could not be.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct RetryFailedTasksOutcome {
    /// Tasks made eligible to run again.
    pub retried: Vec<TaskId>,
    /// Failed tasks that could not be retried.
    pub not_retried: Vec<RetryFailure>,
    /// Jobs submitted to run the failed tasks again, by backends that cannot rerun them in
    /// place (`Capabilities::retry_failed_tasks_in_place` false): follow these, not the old job.
    pub resubmitted: Vec<crate::JobId>,
}

impl RetryFailedTasksOutcome {
    /// An empty outcome.
    pub fn new() -> Self {
        RetryFailedTasksOutcome::default()
    }

    /// Whether every failed task was retried.
    pub fn is_complete(&self) -> bool {
        self.not_retried.is_empty()
    }
}

/// The result of [`crate::BatchBackend::submit_job`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SubmitJobOutcome {
    /// The provider's id of the job.
    pub job: JobId,
    /// `true` when this call created the job; `false` when a job submitted earlier with the
    /// same idempotency key was found (a repeat, or a retry after a lost answer).
    pub created: bool,
    /// The key the job carries (the caller's, or the one generated for this submit).
    pub idempotency_key: IdempotencyKey,
    /// The provider's request id of the creating (or finding) request, when there is one.
    pub request_id: Option<String>,
}

impl SubmitJobOutcome {
    /// An outcome.
    pub fn new(job: JobId, created: bool, idempotency_key: IdempotencyKey) -> Self {
        SubmitJobOutcome {
            job,
            created,
            idempotency_key,
            request_id: None,
        }
    }
}

/// What a delete request found. Delete is idempotent: a job already gone is not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeleteDisposition {
    /// The job is deleted, or being deleted (Azure moves through `deleting`).
    Accepted,
    /// An earlier delete is still in progress.
    AlreadyDeleting,
    /// There was no such job (already deleted, or a replay of a delete that succeeded).
    AlreadyGone,
}

impl fmt::Display for DeleteDisposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeleteDisposition::Accepted => "accepted",
            DeleteDisposition::AlreadyDeleting => "already_deleting",
            DeleteDisposition::AlreadyGone => "already_gone",
        })
    }
}

/// The result of [`crate::BatchBackend::delete_job`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DeleteJobOutcome {
    /// What happened.
    pub disposition: DeleteDisposition,
    /// The provider's request id, when there is one.
    pub request_id: Option<String>,
}

impl DeleteJobOutcome {
    /// An outcome with only the disposition known.
    pub fn new(disposition: DeleteDisposition) -> Self {
        DeleteJobOutcome {
            disposition,
            request_id: None,
        }
    }
}

/// What [`crate::BatchBackend::task_output`] read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TaskOutput {
    /// The bytes (of the range asked, when one was).
    pub bytes: Vec<u8>,
    /// Whether these are all the bytes the service holds of the range: `false` when it keeps
    /// only part of a task's output (Tencent's logs are at most 2048 bytes; the rest is where
    /// `location` says).
    pub complete: bool,
    /// Where the whole output is, when the provider says (Tencent's redirect path).
    pub location: Option<String>,
    /// The provider's request id, when there is one.
    pub request_id: Option<String>,
}

impl TaskOutput {
    /// Output of which `bytes` are all there is.
    pub fn new(bytes: Vec<u8>) -> Self {
        TaskOutput {
            bytes,
            complete: true,
            location: None,
            request_id: None,
        }
    }

    /// Keeps only the bytes of `range`, clamped to what there is (as a ranged read answers).
    pub(crate) fn keep_range(&mut self, range: &std::ops::Range<u64>) {
        let at = |n: u64| {
            usize::try_from(n)
                .unwrap_or(usize::MAX)
                .min(self.bytes.len())
        };
        let (start, end) = (at(range.start), at(range.end));
        self.bytes = self
            .bytes
            .get(start..end)
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
    }
}
