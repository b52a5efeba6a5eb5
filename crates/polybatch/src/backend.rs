//! The provider-neutral trait.

use std::fmt::{Debug, Display};
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};

use crate::call::Call;
use crate::capability::Capabilities;
use crate::error::{Error, Operation, Result};
use crate::id::{JobId, TaskId};
use crate::options::{
    DeleteJobOptions, ExportJobOptions, JobStatusesOptions, ListJobsOptions,
    ListPrepReleaseOptions, ListTasksOptions, ReactivateTaskOptions, RetryFailedTasksOptions,
    StatusOptions, SubmitJobOptions, TerminateJobOptions,
};
use crate::options::{TaskOutputOptions, TerminateTaskOptions};
use crate::outcome::{
    DeleteJobOutcome, ReactivateTaskOutcome, RetryFailedTasksOutcome, SubmitJobOutcome,
    TerminateJobOutcome,
};
use crate::outcome::{TaskOutput, TerminateTaskOutcome};
use crate::spec::{ExportedJob, IdempotencyKey, JobSpec};
use crate::status::{JobStatus, PrepReleaseStatus, TaskStatus};

/// What [`BatchBackend::job_statuses`] returns: one entry per distinct id asked about, in the
/// order first asked, each with its status or why it could not be read (a job the service
/// does not know is [`crate::Error::NotFound`]).
pub type JobStatuses = Vec<(JobId, Result<JobStatus>)>;

/// A stream of prep/release records, fetched lazily page by page.
pub type PrepReleaseStream = BoxStream<'static, Result<PrepReleaseStatus>>;

/// A stream of job statuses, fetched lazily page by page.
pub type JobStream = BoxStream<'static, Result<JobStatus>>;

/// A stream of task statuses, fetched lazily page by page.
pub type TaskStream = BoxStream<'static, Result<TaskStatus>>;

/// A cloud batch service, seen through one provider-neutral interface.
///
/// Object safe: hold it as `Arc<dyn BatchBackend>`. Every operation takes an options struct.
///
/// # Calling and implementing
///
/// Callers use the provided methods (`terminate_job`, `job_status`, ...). Each one first checks
/// the call against [`BatchBackend::capabilities`], so an operation or option the backend does
/// not support fails with [`crate::Error::Unsupported`] before any request is sent (or permit
/// awaited); then it runs the matching required `*_impl` method and stamps the backend's name
/// and the operation into any error. These checks live here once, for every backend.
///
/// Implementors write `name`, `capabilities` and the `*_impl` methods, which only ever see
/// calls that passed the checks, and leave the provided methods alone. A backend that keeps a
/// record of calls (the in-memory journal) can learn of refused ones through
/// [`BatchBackend::on_refused`].
///
/// Wrappers (rate limit, concurrency limit) are backends that wrap backends: they implement the
/// `*_impl` methods by calling the inner backend's `*_impl` methods, so a stack of wrappers
/// checks each call once, at the outermost layer, before any wrapper waits.
#[async_trait]
pub trait BatchBackend: Debug + Display + Send + Sync + 'static {
    /// The backend's short name (`"azure"`, `"tencent"`, `"memory"`, ...), used in errors.
    fn name(&self) -> &'static str;

    /// Which operations and options this backend supports.
    fn capabilities(&self) -> Capabilities;

    /// Told of each call the capability checks refused, before the error is returned. The
    /// default does nothing.
    fn on_refused(&self, call: Call, error: &Error) {
        let _ = (call, error);
    }

    /// Terminates a job. Idempotent: a job that is already terminating or finished is not an
    /// error, and the outcome says which.
    async fn terminate_job(
        &self,
        job: &JobId,
        options: TerminateJobOptions,
    ) -> Result<TerminateJobOutcome> {
        let op = Operation::TerminateJob;
        if let Err(e) = self.capabilities().check_terminate(self.name(), &options) {
            self.on_refused(Call::terminate(job, options), &e);
            return Err(e);
        }
        let result = self.terminate_job_impl(job, options).await;
        stamp(result, self.name(), op)
    }

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
    ) -> Result<ReactivateTaskOutcome> {
        let op = Operation::ReactivateTask;
        if let Err(e) = self.capabilities().check_reactivate(self.name(), &options) {
            let call = Call::reactivate(job, task, options);
            self.on_refused(call, &e);
            return Err(e);
        }
        let result = self.reactivate_task_impl(job, task, options).await;
        stamp(result, self.name(), op)
    }

    /// A job's normalized status.
    async fn job_status(&self, job: &JobId, options: StatusOptions) -> Result<JobStatus> {
        let op = Operation::JobStatus;
        if let Err(e) = self.capabilities().check_status(self.name(), op, &options) {
            self.on_refused(Call::job_status(job, options), &e);
            return Err(e);
        }
        let result = self.job_status_impl(job, options).await;
        stamp(result, self.name(), op)
    }

    /// A task's normalized status.
    async fn task_status(
        &self,
        job: &JobId,
        task: &TaskId,
        options: StatusOptions,
    ) -> Result<TaskStatus> {
        let op = Operation::TaskStatus;
        if let Err(e) = self.capabilities().check_status(self.name(), op, &options) {
            let call = Call::task_status(job, task, options);
            self.on_refused(call, &e);
            return Err(e);
        }
        let result = self.task_status_impl(job, task, options).await;
        stamp(result, self.name(), op)
    }

    /// Per-node job preparation and release task status, fetched lazily page by page.
    ///
    /// Nothing is sent until the stream is polled. A refused request yields one error.
    fn list_prep_release_status(
        &self,
        job: &JobId,
        options: ListPrepReleaseOptions,
    ) -> PrepReleaseStream {
        let op = Operation::ListPrepReleaseStatus;
        let name = self.name();
        if let Err(e) = self.capabilities().check_list_prep_release(name, &options) {
            self.on_refused(Call::list_prep_release(job, options, 0), &e);
            return error_stream(e);
        }
        self.list_prep_release_status_impl(job, options)
            .map_err(move |e| e.stamped(name, op))
            .boxed()
    }

    /// The portable "re-run what failed in this job": the outcome says, per task, what was
    /// retried and what could not be.
    async fn retry_failed_tasks(
        &self,
        job: &JobId,
        options: RetryFailedTasksOptions,
    ) -> Result<RetryFailedTasksOutcome> {
        let op = Operation::RetryFailedTasks;
        if let Err(e) = self.capabilities().check_operation(self.name(), op) {
            self.on_refused(Call::retry_failed(job, options), &e);
            return Err(e);
        }
        let result = self.retry_failed_tasks_impl(job, options).await;
        stamp(result, self.name(), op)
    }

    /// Submits a job. Safe to repeat: a submit whose idempotency key names a job submitted
    /// earlier finds that job (`created: false`) instead of making a second one, so a caller
    /// that lost an answer, or crashed, submits again with the same key.
    ///
    /// A spec field the backend cannot express fails with `Unsupported` naming the field,
    /// before any request ([`crate::SubmitCapabilities`]). A spec without a key gets a fresh
    /// one, returned in the outcome.
    async fn submit_job(
        &self,
        spec: JobSpec,
        options: SubmitJobOptions,
    ) -> Result<SubmitJobOutcome> {
        let op = Operation::SubmitJob;
        let mut spec = spec;
        let key = spec
            .idempotency_key
            .get_or_insert_with(IdempotencyKey::generate)
            .clone();
        if let Err(e) = self
            .capabilities()
            .check_submit(self.name(), &spec, &options)
        {
            self.on_refused(Call::submit(spec, options), &e);
            return Err(e);
        }
        let result = self.submit_job_impl(&spec, &key, options).await;
        stamp(result, self.name(), op)
    }

    /// The statuses of many jobs, with as few requests as the provider allows (Tencent
    /// `DescribeJobs`: 100 ids a request); backends without a bulk read make bounded
    /// concurrent single reads. Every id asked about is answered: a job the service does not
    /// return is `NotFound` for that id, never dropped.
    ///
    /// The outer error is a refused call; the per-id results carry everything else.
    async fn job_statuses(
        &self,
        jobs: &[JobId],
        options: JobStatusesOptions,
    ) -> Result<JobStatuses> {
        let op = Operation::JobStatuses;
        let mut seen = std::collections::HashSet::new();
        let jobs: Vec<JobId> = jobs.iter().filter(|j| seen.insert(*j)).cloned().collect();
        if let Err(e) = self
            .capabilities()
            .check_job_statuses(self.name(), &options)
        {
            self.on_refused(Call::job_statuses(jobs, options), &e);
            return Err(e);
        }
        let name = self.name();
        let found = stamp(self.job_statuses_impl(&jobs, options).await, name, op)?;
        Ok(found
            .into_iter()
            .map(|(job, r)| (job, r.map_err(|e| e.stamped(name, op))))
            .collect())
    }

    /// Deletes a job and everything about it. Idempotent: a job already gone is
    /// [`crate::DeleteDisposition::AlreadyGone`], not an error, so a replay after a lost
    /// answer succeeds. Where the provider deletes only finished jobs (Tencent), a running
    /// job is [`crate::Error::InvalidState`] saying so: terminate it first.
    async fn delete_job(&self, job: &JobId, options: DeleteJobOptions) -> Result<DeleteJobOutcome> {
        let op = Operation::DeleteJob;
        if let Err(e) = self.capabilities().check_delete(self.name(), &options) {
            self.on_refused(Call::delete(job, options), &e);
            return Err(e);
        }
        let result = self.delete_job_impl(job, options).await;
        stamp(result, self.name(), op)
    }

    /// The jobs that pass every filter of `options`, lazily, page by page: as labelled,
    /// named, created and in the states asked. Filters the service applies are sent to it
    /// ([`crate::Capabilities::list_jobs_server_filters`]); the others are applied here, to
    /// what it sends, so every backend answers alike.
    ///
    /// Nothing is sent until the stream is polled. A refused request yields one error.
    fn list_jobs(&self, options: ListJobsOptions) -> JobStream {
        let op = Operation::ListJobs;
        let name = self.name();
        if let Err(e) = self
            .capabilities()
            .check_page_size(name, op, options.page_size)
        {
            self.on_refused(Call::list_jobs(options, 0), &e);
            return error_stream(e);
        }
        let filter = options.clone();
        self.list_jobs_impl(options)
            .map_err(move |e| e.stamped(name, op))
            .try_filter(move |s| futures::future::ready(filter.matches(s)))
            .boxed()
    }

    /// A job's tasks' statuses, lazily, page by page (Tencent: the summary `DescribeJob`
    /// gives of each task; `task_status` reads one task in full).
    ///
    /// Nothing is sent until the stream is polled. A refused request yields one error.
    fn list_tasks(&self, job: &JobId, options: ListTasksOptions) -> TaskStream {
        let op = Operation::ListTasks;
        let name = self.name();
        if let Err(e) = self
            .capabilities()
            .check_page_size(name, op, options.page_size)
        {
            self.on_refused(Call::list_tasks(job, options, 0), &e);
            return error_stream(e);
        }
        self.list_tasks_impl(job, options)
            .map_err(move |e| e.stamped(name, op))
            .boxed()
    }

    /// The job as a spec it could be submitted with again, here or, translated, on another
    /// provider; what has no neutral form is in the spec's extensions or listed as dropped.
    /// `export_job(submit_job(spec))` gives `spec` back, up to the normalisations
    /// `docs/lifecycle.md` lists.
    async fn export_job(&self, job: &JobId, options: ExportJobOptions) -> Result<ExportedJob> {
        let op = Operation::ExportJob;
        if let Err(e) = self.capabilities().check_operation(self.name(), op) {
            self.on_refused(Call::export(job, options), &e);
            return Err(e);
        }
        let result = self.export_job_impl(job, options).await;
        stamp(result, self.name(), op)
    }

    /// Stops one task (on Tencent, every unfinished instance of it, or the one asked), and
    /// leaves the rest of the job running. Idempotent: a task with nothing left to stop is
    /// `AlreadyCompleted`.
    async fn terminate_task(
        &self,
        job: &JobId,
        task: &TaskId,
        options: TerminateTaskOptions,
    ) -> Result<TerminateTaskOutcome> {
        let op = Operation::TerminateTask;
        if let Err(e) = self
            .capabilities()
            .check_terminate_task(self.name(), &options)
        {
            let call = Call::terminate_task(job, task, options);
            self.on_refused(call, &e);
            return Err(e);
        }
        let result = self.terminate_task_impl(job, task, options).await;
        stamp(result, self.name(), op)
    }

    /// What a task wrote to stdout or stderr (one instance of it, on Tencent), or the bytes
    /// of a range of it. A task that has not started yet has none: `NotFound`.
    async fn task_output(
        &self,
        job: &JobId,
        task: &TaskId,
        options: TaskOutputOptions,
    ) -> Result<TaskOutput> {
        let op = Operation::TaskOutput;
        let refused = match &options.range {
            Some(r) if r.start > r.end => Some(Error::invalid_input(
                "range",
                format!("starts after it ends ({}..{})", r.start, r.end),
                crate::error::ErrorContext::new(self.name(), op),
            )),
            _ => self.capabilities().check_operation(self.name(), op).err(),
        };
        if let Some(e) = refused {
            let call = Call::task_output(job, task, options);
            self.on_refused(call, &e);
            return Err(e);
        }
        let server_range = self.capabilities().task_output_server_range;
        let range = options.range.clone();
        let result = self.task_output_impl(job, task, options).await;
        // A service without ranges sent everything it has: cut the range out of it here.
        let result = result.map(|mut out| {
            if let (Some(r), false) = (range, server_range) {
                out.keep_range(&r);
            }
            out
        });
        stamp(result, self.name(), op)
    }

    /// [`BatchBackend::terminate_job`] after its checks passed.
    async fn terminate_job_impl(
        &self,
        job: &JobId,
        options: TerminateJobOptions,
    ) -> Result<TerminateJobOutcome>;

    /// [`BatchBackend::reactivate_task`] after its checks passed.
    async fn reactivate_task_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: ReactivateTaskOptions,
    ) -> Result<ReactivateTaskOutcome>;

    /// [`BatchBackend::job_status`] after its checks passed.
    async fn job_status_impl(&self, job: &JobId, options: StatusOptions) -> Result<JobStatus>;

    /// [`BatchBackend::task_status`] after its checks passed.
    async fn task_status_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: StatusOptions,
    ) -> Result<TaskStatus>;

    /// [`BatchBackend::list_prep_release_status`] after its checks passed.
    fn list_prep_release_status_impl(
        &self,
        job: &JobId,
        options: ListPrepReleaseOptions,
    ) -> PrepReleaseStream;

    /// [`BatchBackend::retry_failed_tasks`] after its checks passed.
    async fn retry_failed_tasks_impl(
        &self,
        job: &JobId,
        options: RetryFailedTasksOptions,
    ) -> Result<RetryFailedTasksOutcome>;

    // The lifecycle operations below have defaults (`Unsupported`), so a backend that lacks
    // them, and says so in its capabilities, needs no code for them, and adding an operation
    // breaks no backend.

    /// [`BatchBackend::submit_job`] after its checks passed; `key` is the spec's key.
    async fn submit_job_impl(
        &self,
        spec: &JobSpec,
        key: &IdempotencyKey,
        options: SubmitJobOptions,
    ) -> Result<SubmitJobOutcome> {
        let _ = (spec, key, options);
        Err(Error::unsupported(self.name(), Operation::SubmitJob))
    }

    /// [`BatchBackend::job_statuses`] after its checks passed; `jobs` are distinct. Must
    /// answer every id. The default makes bounded concurrent single reads
    /// ([`job_statuses_one_by_one`]).
    async fn job_statuses_impl(
        &self,
        jobs: &[JobId],
        options: JobStatusesOptions,
    ) -> Result<JobStatuses> {
        Ok(job_statuses_one_by_one(self, jobs, options.concurrency).await)
    }

    /// [`BatchBackend::delete_job`] after its checks passed.
    async fn delete_job_impl(
        &self,
        job: &JobId,
        options: DeleteJobOptions,
    ) -> Result<DeleteJobOutcome> {
        let _ = (job, options);
        Err(Error::unsupported(self.name(), Operation::DeleteJob))
    }

    /// [`BatchBackend::list_jobs`] after its checks passed. May ignore any filter (the trait
    /// applies them all to what it yields).
    fn list_jobs_impl(&self, options: ListJobsOptions) -> JobStream {
        let _ = options;
        error_stream(Error::unsupported(self.name(), Operation::ListJobs))
    }

    /// [`BatchBackend::list_tasks`] after its checks passed.
    fn list_tasks_impl(&self, job: &JobId, options: ListTasksOptions) -> TaskStream {
        let _ = (job, options);
        error_stream(Error::unsupported(self.name(), Operation::ListTasks))
    }

    /// [`BatchBackend::export_job`] after its checks passed.
    async fn export_job_impl(&self, job: &JobId, options: ExportJobOptions) -> Result<ExportedJob> {
        let _ = (job, options);
        Err(Error::unsupported(self.name(), Operation::ExportJob))
    }

    /// [`BatchBackend::terminate_task`] after its checks passed.
    async fn terminate_task_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: TerminateTaskOptions,
    ) -> Result<TerminateTaskOutcome> {
        let _ = (job, task, options);
        Err(Error::unsupported(self.name(), Operation::TerminateTask))
    }

    /// [`BatchBackend::task_output`] after its checks passed. A backend without
    /// [`Capabilities::task_output_server_range`] returns all it has; the trait cuts the
    /// range.
    async fn task_output_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: TaskOutputOptions,
    ) -> Result<TaskOutput> {
        let _ = (job, task, options);
        Err(Error::unsupported(self.name(), Operation::TaskOutput))
    }
}

/// Every error leaves a trait operation named for the backend and the operation it came from.
fn stamp<T>(result: Result<T>, backend: &'static str, operation: Operation) -> Result<T> {
    result.map_err(|e| e.stamped(backend, operation))
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

            fn on_refused(&self, call: Call, error: &Error) {
                (**self).on_refused(call, error)
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

            async fn terminate_job_impl(
                &self,
                job: &JobId,
                options: TerminateJobOptions,
            ) -> Result<TerminateJobOutcome> {
                (**self).terminate_job_impl(job, options).await
            }

            async fn reactivate_task_impl(
                &self,
                job: &JobId,
                task: &TaskId,
                options: ReactivateTaskOptions,
            ) -> Result<ReactivateTaskOutcome> {
                (**self).reactivate_task_impl(job, task, options).await
            }

            async fn job_status_impl(
                &self,
                job: &JobId,
                options: StatusOptions,
            ) -> Result<JobStatus> {
                (**self).job_status_impl(job, options).await
            }

            async fn task_status_impl(
                &self,
                job: &JobId,
                task: &TaskId,
                options: StatusOptions,
            ) -> Result<TaskStatus> {
                (**self).task_status_impl(job, task, options).await
            }

            fn list_prep_release_status_impl(
                &self,
                job: &JobId,
                options: ListPrepReleaseOptions,
            ) -> PrepReleaseStream {
                (**self).list_prep_release_status_impl(job, options)
            }

            async fn retry_failed_tasks_impl(
                &self,
                job: &JobId,
                options: RetryFailedTasksOptions,
            ) -> Result<RetryFailedTasksOutcome> {
                (**self).retry_failed_tasks_impl(job, options).await
            }

            async fn submit_job(
                &self,
                spec: JobSpec,
                options: SubmitJobOptions,
            ) -> Result<SubmitJobOutcome> {
                (**self).submit_job(spec, options).await
            }

            async fn job_statuses(
                &self,
                jobs: &[JobId],
                options: JobStatusesOptions,
            ) -> Result<JobStatuses> {
                (**self).job_statuses(jobs, options).await
            }

            async fn delete_job(
                &self,
                job: &JobId,
                options: DeleteJobOptions,
            ) -> Result<DeleteJobOutcome> {
                (**self).delete_job(job, options).await
            }

            async fn submit_job_impl(
                &self,
                spec: &JobSpec,
                key: &IdempotencyKey,
                options: SubmitJobOptions,
            ) -> Result<SubmitJobOutcome> {
                (**self).submit_job_impl(spec, key, options).await
            }

            async fn job_statuses_impl(
                &self,
                jobs: &[JobId],
                options: JobStatusesOptions,
            ) -> Result<JobStatuses> {
                (**self).job_statuses_impl(jobs, options).await
            }

            async fn delete_job_impl(
                &self,
                job: &JobId,
                options: DeleteJobOptions,
            ) -> Result<DeleteJobOutcome> {
                (**self).delete_job_impl(job, options).await
            }

            fn list_jobs(&self, options: ListJobsOptions) -> JobStream {
                (**self).list_jobs(options)
            }

            fn list_tasks(&self, job: &JobId, options: ListTasksOptions) -> TaskStream {
                (**self).list_tasks(job, options)
            }

            fn list_jobs_impl(&self, options: ListJobsOptions) -> JobStream {
                (**self).list_jobs_impl(options)
            }

            fn list_tasks_impl(&self, job: &JobId, options: ListTasksOptions) -> TaskStream {
                (**self).list_tasks_impl(job, options)
            }

            async fn export_job(
                &self,
                job: &JobId,
                options: ExportJobOptions,
            ) -> Result<ExportedJob> {
                (**self).export_job(job, options).await
            }

            async fn export_job_impl(
                &self,
                job: &JobId,
                options: ExportJobOptions,
            ) -> Result<ExportedJob> {
                (**self).export_job_impl(job, options).await
            }

            async fn terminate_task(
                &self,
                job: &JobId,
                task: &TaskId,
                options: TerminateTaskOptions,
            ) -> Result<TerminateTaskOutcome> {
                (**self).terminate_task(job, task, options).await
            }

            async fn terminate_task_impl(
                &self,
                job: &JobId,
                task: &TaskId,
                options: TerminateTaskOptions,
            ) -> Result<TerminateTaskOutcome> {
                (**self).terminate_task_impl(job, task, options).await
            }

            async fn task_output(
                &self,
                job: &JobId,
                task: &TaskId,
                options: TaskOutputOptions,
            ) -> Result<TaskOutput> {
                (**self).task_output(job, task, options).await
            }

            async fn task_output_impl(
                &self,
                job: &JobId,
                task: &TaskId,
                options: TaskOutputOptions,
            ) -> Result<TaskOutput> {
                (**self).task_output_impl(job, task, options).await
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
pub fn error_stream<T: Send + 'static>(error: crate::Error) -> BoxStream<'static, Result<T>> {
    Box::pin(futures::stream::once(async move { Err(error) }))
}

/// The fallback of `job_statuses_impl` for backends without a bulk read: one `job_status_impl`
/// per job, at most `concurrency` at once, answers in the order asked.
pub async fn job_statuses_one_by_one<B: BatchBackend + ?Sized>(
    backend: &B,
    jobs: &[JobId],
    concurrency: usize,
) -> JobStatuses {
    futures::stream::iter(jobs.iter().cloned())
        .map(|job| async move {
            let status = backend
                .job_status_impl(&job, StatusOptions::default())
                .await;
            (job, status)
        })
        .buffered(concurrency.max(1))
        .collect()
        .await
}
