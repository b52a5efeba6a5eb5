//! A concurrency limiter: at most N operations in flight.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use tokio::sync::Semaphore;

use crate::backend::{BatchBackend, JobStream, PrepReleaseStream, TaskStream};
use crate::error::Result;
use crate::id::{JobId, TaskId};
use crate::options::{
    DeleteJobOptions, JobStatusesOptions, ListJobsOptions, ListPrepReleaseOptions,
    ListTasksOptions, ReactivateTaskOptions, RetryFailedTasksOptions, StatusOptions,
    SubmitJobOptions, TerminateJobOptions,
};
use crate::outcome::{
    DeleteJobOutcome, ReactivateTaskOutcome, RetryFailedTasksOutcome, SubmitJobOutcome,
    TerminateJobOutcome,
};
use crate::spec::{IdempotencyKey, JobSpec};
use crate::status::{JobStatus, TaskStatus};

/// Wraps a backend so at most `limit` operations run at once; the rest wait. A listing holds
/// its permit from its first poll until it is dropped. Clones share the limit.
#[derive(Clone)]
pub struct ConcurrencyLimited<B> {
    inner: B,
    limit: usize,
    semaphore: Arc<Semaphore>,
}

impl<B: BatchBackend> ConcurrencyLimited<B> {
    /// Wraps `inner` with at most `limit` (at least 1) operations in flight.
    pub fn new(inner: B, limit: usize) -> Self {
        let limit = limit.max(1);
        ConcurrencyLimited {
            inner,
            limit,
            semaphore: Arc::new(Semaphore::new(limit)),
        }
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// Operations that could start now without waiting.
    pub fn available(&self) -> usize {
        self.semaphore.available_permits()
    }

    async fn permit(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        // The semaphore is never closed, so acquire only fails if that changes; then run
        // unlimited rather than fail the caller.
        self.semaphore.acquire().await.ok()
    }
}

impl<B: BatchBackend> fmt::Debug for ConcurrencyLimited<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConcurrencyLimited")
            .field("limit", &self.limit)
            .field("inner", &self.inner)
            .finish()
    }
}

impl<B: BatchBackend> fmt::Display for ConcurrencyLimited<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConcurrencyLimited({}, {})", self.limit, self.inner)
    }
}

impl<B: BatchBackend> ConcurrencyLimited<B> {
    /// A listing that takes a permit at its first poll and holds it as long as it lives.
    fn holding<T: Send + 'static>(
        &self,
        inner: futures::stream::BoxStream<'static, Result<T>>,
    ) -> futures::stream::BoxStream<'static, Result<T>> {
        let semaphore = self.semaphore.clone();
        futures::stream::once(async move {
            let permit = semaphore.acquire_owned().await.ok();
            inner.map(move |item| {
                let _held = &permit;
                item
            })
        })
        .flatten()
        .boxed()
    }
}

#[async_trait]
impl<B: BatchBackend> BatchBackend for ConcurrencyLimited<B> {
    inner_identity!();

    async fn terminate_job_impl(
        &self,
        job: &JobId,
        options: TerminateJobOptions,
    ) -> Result<TerminateJobOutcome> {
        let _permit = self.permit().await;
        self.inner.terminate_job_impl(job, options).await
    }

    async fn reactivate_task_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: ReactivateTaskOptions,
    ) -> Result<ReactivateTaskOutcome> {
        let _permit = self.permit().await;
        self.inner.reactivate_task_impl(job, task, options).await
    }

    async fn job_status_impl(&self, job: &JobId, options: StatusOptions) -> Result<JobStatus> {
        let _permit = self.permit().await;
        self.inner.job_status_impl(job, options).await
    }

    async fn task_status_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: StatusOptions,
    ) -> Result<TaskStatus> {
        let _permit = self.permit().await;
        self.inner.task_status_impl(job, task, options).await
    }

    fn list_prep_release_status_impl(
        &self,
        job: &JobId,
        options: ListPrepReleaseOptions,
    ) -> PrepReleaseStream {
        self.holding(self.inner.list_prep_release_status_impl(job, options))
    }

    fn list_jobs_impl(&self, options: ListJobsOptions) -> JobStream {
        self.holding(self.inner.list_jobs_impl(options))
    }

    fn list_tasks_impl(&self, job: &JobId, options: ListTasksOptions) -> TaskStream {
        self.holding(self.inner.list_tasks_impl(job, options))
    }

    async fn retry_failed_tasks_impl(
        &self,
        job: &JobId,
        options: RetryFailedTasksOptions,
    ) -> Result<RetryFailedTasksOutcome> {
        let _permit = self.permit().await;
        self.inner.retry_failed_tasks_impl(job, options).await
    }

    async fn submit_job_impl(
        &self,
        spec: &JobSpec,
        key: &IdempotencyKey,
        options: SubmitJobOptions,
    ) -> Result<SubmitJobOutcome> {
        let _permit = self.permit().await;
        self.inner.submit_job_impl(spec, key, options).await
    }

    async fn job_statuses_impl(
        &self,
        jobs: &[JobId],
        options: JobStatusesOptions,
    ) -> Result<crate::JobStatuses> {
        // One permit for the whole read: a bulk backend makes few requests; the one-by-one
        // fallback bounds itself by `options.concurrency`.
        let _permit = self.permit().await;
        self.inner.job_statuses_impl(jobs, options).await
    }

    async fn delete_job_impl(
        &self,
        job: &JobId,
        options: DeleteJobOptions,
    ) -> Result<DeleteJobOutcome> {
        let _permit = self.permit().await;
        self.inner.delete_job_impl(job, options).await
    }

    async fn export_job_impl(
        &self,
        job: &JobId,
        options: crate::options::ExportJobOptions,
    ) -> Result<crate::spec::ExportedJob> {
        let _permit = self.permit().await;
        self.inner.export_job_impl(job, options).await
    }

    async fn task_output_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: crate::options::TaskOutputOptions,
    ) -> Result<crate::outcome::TaskOutput> {
        let _permit = self.permit().await;
        self.inner.task_output_impl(job, task, options).await
    }

    async fn terminate_task_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: crate::options::TerminateTaskOptions,
    ) -> Result<crate::outcome::TerminateTaskOutcome> {
        let _permit = self.permit().await;
        self.inner.terminate_task_impl(job, task, options).await
    }
}
