//! A per-operation rate limiter: callers wait for a permit rather than fail.

use std::collections::HashMap;
use std::fmt;

use async_trait::async_trait;
use futures::StreamExt;

use crate::backend::{BatchBackend, JobStream, PrepReleaseStream, TaskStream};
use crate::error::{Operation, Result};
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
use crate::rate::{KeyedRateLimiter, Quota};
use crate::spec::{IdempotencyKey, JobSpec};
use crate::status::{JobStatus, TaskStatus};

/// Quotas per operation, with a default for the rest (`None`: unlimited).
#[derive(Debug, Clone, Default)]
pub struct RateLimitConfig {
    /// The quota of operations not listed in `per_operation`.
    pub default: Option<Quota>,
    /// Quotas of individual operations.
    pub per_operation: HashMap<Operation, Quota>,
}

impl RateLimitConfig {
    /// Every operation limited to `quota` (each operation has its own bucket).
    pub fn uniform(quota: Quota) -> Self {
        RateLimitConfig {
            default: Some(quota),
            per_operation: HashMap::new(),
        }
    }

    /// Sets the quota of one operation.
    pub fn with_operation(mut self, operation: Operation, quota: Quota) -> Self {
        self.per_operation.insert(operation, quota);
        self
    }

    fn quota(&self, operation: &Operation) -> Option<Quota> {
        self.per_operation.get(operation).copied().or(self.default)
    }
}

/// Wraps a backend so each operation waits for a permit of its own token bucket. Clones share
/// the buckets. A listing takes one permit when it is first polled.
#[derive(Clone)]
pub struct RateLimited<B> {
    inner: B,
    limiter: KeyedRateLimiter<Operation>,
}

impl<B: BatchBackend> RateLimited<B> {
    /// Wraps `inner`.
    pub fn new(inner: B, config: RateLimitConfig) -> Self {
        RateLimited {
            inner,
            limiter: KeyedRateLimiter::new(move |op| config.quota(op)),
        }
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }
}

impl<B: BatchBackend> fmt::Debug for RateLimited<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimited")
            .field("inner", &self.inner)
            .finish()
    }
}

impl<B: BatchBackend> fmt::Display for RateLimited<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RateLimited({})", self.inner)
    }
}

impl<B: BatchBackend> RateLimited<B> {
    /// A listing that waits for one permit of `op` at its first poll.
    fn after_permit<T: Send + 'static>(
        &self,
        op: Operation,
        inner: futures::stream::BoxStream<'static, Result<T>>,
    ) -> futures::stream::BoxStream<'static, Result<T>> {
        let limiter = self.limiter.clone();
        futures::stream::once(async move {
            limiter.acquire(&op).await;
            inner
        })
        .flatten()
        .boxed()
    }
}

#[async_trait]
impl<B: BatchBackend> BatchBackend for RateLimited<B> {
    inner_identity!();

    async fn terminate_job_impl(
        &self,
        job: &JobId,
        options: TerminateJobOptions,
    ) -> Result<TerminateJobOutcome> {
        self.limiter.acquire(&Operation::TerminateJob).await;
        self.inner.terminate_job_impl(job, options).await
    }

    async fn reactivate_task_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: ReactivateTaskOptions,
    ) -> Result<ReactivateTaskOutcome> {
        self.limiter.acquire(&Operation::ReactivateTask).await;
        self.inner.reactivate_task_impl(job, task, options).await
    }

    async fn job_status_impl(&self, job: &JobId, options: StatusOptions) -> Result<JobStatus> {
        self.limiter.acquire(&Operation::JobStatus).await;
        self.inner.job_status_impl(job, options).await
    }

    async fn task_status_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: StatusOptions,
    ) -> Result<TaskStatus> {
        self.limiter.acquire(&Operation::TaskStatus).await;
        self.inner.task_status_impl(job, task, options).await
    }

    fn list_prep_release_status_impl(
        &self,
        job: &JobId,
        options: ListPrepReleaseOptions,
    ) -> PrepReleaseStream {
        let inner = self.inner.list_prep_release_status_impl(job, options);
        self.after_permit(Operation::ListPrepReleaseStatus, inner)
    }

    fn list_jobs_impl(&self, options: ListJobsOptions) -> JobStream {
        self.after_permit(Operation::ListJobs, self.inner.list_jobs_impl(options))
    }

    fn list_tasks_impl(&self, job: &JobId, options: ListTasksOptions) -> TaskStream {
        self.after_permit(
            Operation::ListTasks,
            self.inner.list_tasks_impl(job, options),
        )
    }

    async fn retry_failed_tasks_impl(
        &self,
        job: &JobId,
        options: RetryFailedTasksOptions,
    ) -> Result<RetryFailedTasksOutcome> {
        self.limiter.acquire(&Operation::RetryFailedTasks).await;
        self.inner.retry_failed_tasks_impl(job, options).await
    }

    async fn submit_job_impl(
        &self,
        spec: &JobSpec,
        key: &IdempotencyKey,
        options: SubmitJobOptions,
    ) -> Result<SubmitJobOutcome> {
        self.limiter.acquire(&Operation::SubmitJob).await;
        self.inner.submit_job_impl(spec, key, options).await
    }

    async fn job_statuses_impl(
        &self,
        jobs: &[JobId],
        options: JobStatusesOptions,
    ) -> Result<crate::JobStatuses> {
        // One permit per request the read will make.
        let per = self.inner.capabilities().job_statuses_per_request.max(1);
        for _ in 0..jobs.len().div_ceil(per).max(1) {
            self.limiter.acquire(&Operation::JobStatuses).await;
        }
        self.inner.job_statuses_impl(jobs, options).await
    }

    async fn delete_job_impl(
        &self,
        job: &JobId,
        options: DeleteJobOptions,
    ) -> Result<DeleteJobOutcome> {
        self.limiter.acquire(&Operation::DeleteJob).await;
        self.inner.delete_job_impl(job, options).await
    }

    async fn export_job_impl(
        &self,
        job: &JobId,
        options: crate::options::ExportJobOptions,
    ) -> Result<crate::spec::ExportedJob> {
        self.limiter.acquire(&Operation::ExportJob).await;
        self.inner.export_job_impl(job, options).await
    }

    async fn task_output_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: crate::options::TaskOutputOptions,
    ) -> Result<crate::outcome::TaskOutput> {
        self.limiter.acquire(&Operation::TaskOutput).await;
        self.inner.task_output_impl(job, task, options).await
    }

    async fn terminate_task_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: crate::options::TerminateTaskOptions,
    ) -> Result<crate::outcome::TerminateTaskOutcome> {
        self.limiter.acquire(&Operation::TerminateTask).await;
        self.inner.terminate_task_impl(job, task, options).await
    }
}
