//! The provider-neutral trait.

use std::fmt::{Debug, Display};
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;

use crate::capability::Capabilities;
use crate::error::Result;
use crate::id::{JobId, TaskId};
use crate::options::{
    ListPrepReleaseOptions, ReactivateTaskOptions, RetryFailedTasksOptions, StatusOptions,
    TerminateJobOptions,
};
use crate::outcome::{ReactivateTaskOutcome, RetryFailedTasksOutcome, TerminateJobOutcome};
use crate::status::{JobStatus, PrepReleaseStatus, TaskStatus};

/// A stream of prep/release records, fetched lazily page by page.
pub type PrepReleaseStream = BoxStream<'static, Result<PrepReleaseStatus>>;

/// A cloud batch service, seen through one provider-neutral interface.
///
/// Object safe: hold it as `Arc<dyn BatchBackend>`. Every operation takes an options struct.
/// An operation or option the backend does not support (see [`BatchBackend::capabilities`])
/// fails with [`crate::Error::Unsupported`] before any request is sent.
///
/// Wrappers (rate limit, concurrency limit) are backends that wrap backends; they must forward
/// every method, so implementations should put `#[deny(clippy::missing_trait_methods)]` on
/// their `impl` block.
#[async_trait]
pub trait BatchBackend: Debug + Display + Send + Sync + 'static {
    /// The backend's short name (`"azure"`, `"tencent"`, `"memory"`, ...), used in errors.
    fn name(&self) -> &'static str;

    /// Which operations and options this backend supports.
    fn capabilities(&self) -> Capabilities;

    /// Terminates a job. Idempotent: a job that is already terminating or finished is not an
    /// error, and the outcome says which.
    async fn terminate_job(
        &self,
        job: &JobId,
        options: TerminateJobOptions,
    ) -> Result<TerminateJobOutcome>;

    /// Makes a failed task eligible to run again: resets its retry count and clears the
    /// previous execution's information.
    ///
    /// Fails with [`crate::Error::InvalidState`] when the task is not completed or completed
    /// successfully, or when its job is completed, terminating or being deleted.
    async fn reactivate_task(
        &self,
        job: &JobId,
        task: &TaskId,
        options: ReactivateTaskOptions,
    ) -> Result<ReactivateTaskOutcome>;

    /// A job's normalized status.
    async fn job_status(&self, job: &JobId, options: StatusOptions) -> Result<JobStatus>;

    /// A task's normalized status.
    async fn task_status(
        &self,
        job: &JobId,
        task: &TaskId,
        options: StatusOptions,
    ) -> Result<TaskStatus>;

    /// Per-node job preparation and release task status, fetched lazily page by page.
    ///
    /// Nothing is sent until the stream is polled. An unsupported request yields one error.
    fn list_prep_release_status(
        &self,
        job: &JobId,
        options: ListPrepReleaseOptions,
    ) -> PrepReleaseStream;

    /// The portable "re-run what failed in this job": the outcome says, per task, what was
    /// retried and what could not be.
    async fn retry_failed_tasks(
        &self,
        job: &JobId,
        options: RetryFailedTasksOptions,
    ) -> Result<RetryFailedTasksOutcome>;
}

macro_rules! forward_backend {
    ($ty:ty) => {
        #[async_trait]
        #[deny(clippy::missing_trait_methods)]
        impl<T: BatchBackend + ?Sized> BatchBackend for $ty {
            fn name(&self) -> &'static str {
                (**self).name()
            }

            fn capabilities(&self) -> Capabilities {
                (**self).capabilities()
            }

            async fn terminate_job(
                &self,
                job: &JobId,
                options: TerminateJobOptions,
            ) -> Result<TerminateJobOutcome> {
                (**self).terminate_job(job, options).await
            }

            async fn reactivate_task(
                &self,
                job: &JobId,
                task: &TaskId,
                options: ReactivateTaskOptions,
            ) -> Result<ReactivateTaskOutcome> {
                (**self).reactivate_task(job, task, options).await
            }

            async fn job_status(&self, job: &JobId, options: StatusOptions) -> Result<JobStatus> {
                (**self).job_status(job, options).await
            }

            async fn task_status(
                &self,
                job: &JobId,
                task: &TaskId,
                options: StatusOptions,
            ) -> Result<TaskStatus> {
                (**self).task_status(job, task, options).await
            }

            fn list_prep_release_status(
                &self,
                job: &JobId,
                options: ListPrepReleaseOptions,
            ) -> PrepReleaseStream {
                (**self).list_prep_release_status(job, options)
            }

            async fn retry_failed_tasks(
                &self,
                job: &JobId,
                options: RetryFailedTasksOptions,
            ) -> Result<RetryFailedTasksOutcome> {
                (**self).retry_failed_tasks(job, options).await
            }
        }
    };
}

forward_backend!(Arc<T>);
forward_backend!(Box<T>);

/// `dyn BatchBackend`, for `Arc<DynBatchBackend>`.
pub type DynBatchBackend = dyn BatchBackend;

/// A stream that yields one error and ends: how a lazy listing reports a failure it detected
/// before any I/O.
pub fn error_stream(error: crate::Error) -> PrepReleaseStream {
    Box::pin(futures::stream::once(async move { Err(error) }))
}
