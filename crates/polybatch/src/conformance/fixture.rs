//! The contract every backend's test fixture implements.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::Result;
use crate::id::{JobId, TaskId};
use crate::spec::Placement;

/// Seeds the backend under test with jobs in known situations.
///
/// Every method creates fresh resources (unique ids), so checks never interfere. "Active"
/// means not terminal and accepting terminate: Azure `active`, Tencent `RUNNING`.
#[async_trait]
pub trait Fixture: Send + Sync {
    /// An active job with one task that keeps running until terminated.
    async fn running_job(&self) -> Result<(JobId, TaskId)>;

    /// A job that finished successfully (terminal state).
    async fn completed_job(&self) -> Result<JobId>;

    /// A job in which one task finished with a non-zero exit code, and which the backend's
    /// `retry_failed_tasks` can retry (Azure: the job is still active; Tencent: the job is
    /// `FAILED`).
    async fn job_with_failed_task(&self) -> Result<(JobId, TaskId)>;

    /// An active job in which one task finished with exit code 0.
    async fn job_with_succeeded_task(&self) -> Result<(JobId, TaskId)>;

    /// A job whose preparation task has run on `nodes` nodes. Only called when the backend
    /// supports `list_prep_release_status`.
    async fn job_with_prep_release(&self, nodes: usize) -> Result<JobId>;

    /// How many nodes [`Fixture::job_with_prep_release`] can provide (the paging check asks
    /// for this many).
    fn max_prep_release_nodes(&self) -> usize {
        25
    }

    /// Moves simulated time forward so asynchronous transitions (terminating → completed,
    /// task runs) happen. Real-time fixtures may sleep briefly instead.
    async fn advance(&self, by: Duration);

    /// Requests the service behind the backend has received so far, when observable; used to
    /// assert that unsupported operations fail before any I/O.
    async fn requests_seen(&self) -> Option<u64>;

    /// Where jobs submitted through `submit_job` run on this backend (an Azure pool, a Tencent
    /// environment in the fixture's region). Only called when the backend supports
    /// `submit_job`; the default, `None`, fails those checks with a message saying so.
    fn placement(&self) -> Option<Placement> {
        None
    }

    /// A job id the backend accepts as well-formed but that names no job. The default,
    /// `job-00000000`, fits every provider's id format.
    fn unknown_job_id(&self) -> JobId {
        JobId::new("job-00000000").unwrap_or_else(|e| panic!("built-in job id: {e}"))
    }

    /// A task id that names no task in any job the fixture creates.
    fn unknown_task_id(&self) -> TaskId {
        TaskId::new("polybatch-no-such-task").unwrap_or_else(|e| panic!("built-in task id: {e}"))
    }
}
