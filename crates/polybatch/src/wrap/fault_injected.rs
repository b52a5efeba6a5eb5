//! Fault injection over any backend: the next calls of an operation fail with an error of your
//! making, or wait first, without the inner backend seeing the failed ones.

use std::fmt;

use async_trait::async_trait;
use futures::StreamExt;

use super::faults::Faults;
use crate::backend::{BatchBackend, JobStream, PrepReleaseStream, TaskStream};
use crate::error::{ErrorContext, Operation, Result};
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

/// Wraps a backend so that [`FaultInjected::faults`] can make its next calls fail or wait.
///
/// A queued delay is slept (on tokio's clock, so a paused test clock makes it instant and
/// exact) before the call; a queued failure answers instead of the inner backend, which never
/// sees that call. Calls the capability checks refuse take no fault. A listing takes its
/// faults once, when it is first polled. Clones share the queues.
#[derive(Debug, Clone)]
pub struct FaultInjected<B> {
    inner: B,
    faults: Faults,
}

impl<B: BatchBackend> FaultInjected<B> {
    /// Wraps `inner` with no faults queued.
    pub fn new(inner: B) -> Self {
        FaultInjected {
            inner,
            faults: Faults::default(),
        }
    }

    /// The fault queues (shared by clones).
    pub fn faults(&self) -> Faults {
        self.faults.clone()
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// Waits for a queued delay, then answers a queued failure, if any.
    async fn inject(&self, operation: Operation) -> Result<()> {
        inject(&self.faults, self.inner.name(), operation).await
    }
}

async fn inject(faults: &Faults, backend: &'static str, operation: Operation) -> Result<()> {
    let (delay, failure) = faults.take(operation);
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    match failure {
        Some(make) => Err(make(ErrorContext::new(backend, operation))),
        None => Ok(()),
    }
}

impl<B: BatchBackend> fmt::Display for FaultInjected<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FaultInjected({})", self.inner)
    }
}

impl<B: BatchBackend> FaultInjected<B> {
    /// A listing whose first poll takes the next fault of `op`: a failure ends it with that
    /// error, a delay waits first.
    fn after_fault<T: Send + 'static>(
        &self,
        op: Operation,
        inner: futures::stream::BoxStream<'static, Result<T>>,
    ) -> futures::stream::BoxStream<'static, Result<T>> {
        let faults = self.faults.clone();
        let backend = self.inner.name();
        futures::stream::once(async move {
            match inject(&faults, backend, op).await {
                Ok(()) => inner,
                Err(e) => crate::backend::error_stream(e),
            }
        })
        .flatten()
        .boxed()
    }
}

#[async_trait]
impl<B: BatchBackend> BatchBackend for FaultInjected<B> {
    inner_identity!();

    async fn terminate_job_impl(
        &self,
        job: &JobId,
        options: TerminateJobOptions,
    ) -> Result<TerminateJobOutcome> {
        self.inject(Operation::TerminateJob).await?;
        self.inner.terminate_job_impl(job, options).await
    }

    async fn reactivate_task_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: ReactivateTaskOptions,
    ) -> Result<ReactivateTaskOutcome> {
        self.inject(Operation::ReactivateTask).await?;
        self.inner.reactivate_task_impl(job, task, options).await
    }

    async fn job_status_impl(&self, job: &JobId, options: StatusOptions) -> Result<JobStatus> {
        self.inject(Operation::JobStatus).await?;
        self.inner.job_status_impl(job, options).await
    }

    async fn task_status_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: StatusOptions,
    ) -> Result<TaskStatus> {
        self.inject(Operation::TaskStatus).await?;
        self.inner.task_status_impl(job, task, options).await
    }

    fn list_prep_release_status_impl(
        &self,
        job: &JobId,
        options: ListPrepReleaseOptions,
    ) -> PrepReleaseStream {
        let inner = self.inner.list_prep_release_status_impl(job, options);
        self.after_fault(Operation::ListPrepReleaseStatus, inner)
    }

    fn list_jobs_impl(&self, options: ListJobsOptions) -> JobStream {
        self.after_fault(Operation::ListJobs, self.inner.list_jobs_impl(options))
    }

    fn list_tasks_impl(&self, job: &JobId, options: ListTasksOptions) -> TaskStream {
        self.after_fault(
            Operation::ListTasks,
            self.inner.list_tasks_impl(job, options),
        )
    }

    async fn retry_failed_tasks_impl(
        &self,
        job: &JobId,
        options: RetryFailedTasksOptions,
    ) -> Result<RetryFailedTasksOutcome> {
        self.inject(Operation::RetryFailedTasks).await?;
        self.inner.retry_failed_tasks_impl(job, options).await
    }

    async fn submit_job_impl(
        &self,
        spec: &JobSpec,
        key: &IdempotencyKey,
        options: SubmitJobOptions,
    ) -> Result<SubmitJobOutcome> {
        self.inject(Operation::SubmitJob).await?;
        self.inner.submit_job_impl(spec, key, options).await
    }

    async fn job_statuses_impl(
        &self,
        jobs: &[JobId],
        options: JobStatusesOptions,
    ) -> Result<crate::JobStatuses> {
        self.inject(Operation::JobStatuses).await?;
        self.inner.job_statuses_impl(jobs, options).await
    }

    async fn delete_job_impl(
        &self,
        job: &JobId,
        options: DeleteJobOptions,
    ) -> Result<DeleteJobOutcome> {
        self.inject(Operation::DeleteJob).await?;
        self.inner.delete_job_impl(job, options).await
    }

    async fn export_job_impl(
        &self,
        job: &JobId,
        options: crate::options::ExportJobOptions,
    ) -> Result<crate::spec::ExportedJob> {
        self.inject(Operation::ExportJob).await?;
        self.inner.export_job_impl(job, options).await
    }

    async fn task_output_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: crate::options::TaskOutputOptions,
    ) -> Result<crate::outcome::TaskOutput> {
        self.inject(Operation::TaskOutput).await?;
        self.inner.task_output_impl(job, task, options).await
    }

    async fn terminate_task_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: crate::options::TerminateTaskOptions,
    ) -> Result<crate::outcome::TerminateTaskOutcome> {
        self.inject(Operation::TerminateTask).await?;
        self.inner.terminate_task_impl(job, task, options).await
    }
}
