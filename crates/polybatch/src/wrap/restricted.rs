//! A backend seen with fewer capabilities: what a provider cannot do is refused, before any
//! I/O, exactly as that provider's backend would refuse it.

use std::fmt;

use async_trait::async_trait;

use crate::backend::{BatchBackend, JobStream, PrepReleaseStream, TaskStream};
use crate::call::Call;
use crate::capability::Capabilities;
use crate::error::{Error, Result};
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

/// Wraps a backend so it reports (and enforces) only `allowed` of its capabilities: the
/// capabilities are those both the inner backend and `allowed` grant, so a restriction can
/// never make a backend claim what it cannot do.
#[derive(Debug, Clone)]
pub struct Restricted<B> {
    inner: B,
    allowed: Capabilities,
}

impl<B: BatchBackend> Restricted<B> {
    /// Wraps `inner`, keeping only `allowed`.
    pub fn new(inner: B, allowed: Capabilities) -> Self {
        Restricted { inner, allowed }
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }
}

impl<B: BatchBackend> fmt::Display for Restricted<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Restricted({})", self.inner)
    }
}

#[async_trait]
impl<B: BatchBackend> BatchBackend for Restricted<B> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities().intersect(&self.allowed)
    }

    fn on_refused(&self, call: Call, error: &Error) {
        self.inner.on_refused(call, error)
    }

    async fn terminate_job_impl(
        &self,
        job: &JobId,
        options: TerminateJobOptions,
    ) -> Result<TerminateJobOutcome> {
        self.inner.terminate_job_impl(job, options).await
    }

    async fn reactivate_task_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: ReactivateTaskOptions,
    ) -> Result<ReactivateTaskOutcome> {
        self.inner.reactivate_task_impl(job, task, options).await
    }

    async fn job_status_impl(&self, job: &JobId, options: StatusOptions) -> Result<JobStatus> {
        self.inner.job_status_impl(job, options).await
    }

    async fn task_status_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: StatusOptions,
    ) -> Result<TaskStatus> {
        self.inner.task_status_impl(job, task, options).await
    }

    fn list_prep_release_status_impl(
        &self,
        job: &JobId,
        options: ListPrepReleaseOptions,
    ) -> PrepReleaseStream {
        self.inner.list_prep_release_status_impl(job, options)
    }

    async fn retry_failed_tasks_impl(
        &self,
        job: &JobId,
        options: RetryFailedTasksOptions,
    ) -> Result<RetryFailedTasksOutcome> {
        self.inner.retry_failed_tasks_impl(job, options).await
    }

    async fn submit_job_impl(
        &self,
        spec: &JobSpec,
        key: &IdempotencyKey,
        options: SubmitJobOptions,
    ) -> Result<SubmitJobOutcome> {
        self.inner.submit_job_impl(spec, key, options).await
    }

    async fn job_statuses_impl(
        &self,
        jobs: &[JobId],
        options: JobStatusesOptions,
    ) -> Result<crate::JobStatuses> {
        self.inner.job_statuses_impl(jobs, options).await
    }

    async fn delete_job_impl(
        &self,
        job: &JobId,
        options: DeleteJobOptions,
    ) -> Result<DeleteJobOutcome> {
        self.inner.delete_job_impl(job, options).await
    }

    fn list_jobs_impl(&self, options: ListJobsOptions) -> JobStream {
        self.inner.list_jobs_impl(options)
    }

    fn list_tasks_impl(&self, job: &JobId, options: ListTasksOptions) -> TaskStream {
        self.inner.list_tasks_impl(job, options)
    }

    async fn export_job_impl(
        &self,
        job: &JobId,
        options: crate::options::ExportJobOptions,
    ) -> Result<crate::spec::ExportedJob> {
        self.inner.export_job_impl(job, options).await
    }

    async fn task_output_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: crate::options::TaskOutputOptions,
    ) -> Result<crate::outcome::TaskOutput> {
        self.inner.task_output_impl(job, task, options).await
    }

    async fn terminate_task_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: crate::options::TerminateTaskOptions,
    ) -> Result<crate::outcome::TerminateTaskOutcome> {
        self.inner.terminate_task_impl(job, task, options).await
    }
}
