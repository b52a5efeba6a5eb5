//! A trait call as data: what the checks refuse, and what records of calls (the in-memory
//! backend's journal) keep.

use crate::error::Operation;
use crate::id::{JobId, TaskId};
use crate::options::{
    DeleteJobOptions, JobStatusesOptions, ListPrepReleaseOptions, ReactivateTaskOptions,
    RetryFailedTasksOptions, StatusOptions, SubmitJobOptions, TerminateJobOptions,
};
use crate::spec::JobSpec;

/// The options a call was made with.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CallOptions {
    /// `terminate_job`.
    Terminate(TerminateJobOptions),
    /// `reactivate_task` (also the per-task reactivations of `retry_failed_tasks`).
    Reactivate(ReactivateTaskOptions),
    /// `job_status` or `task_status`.
    Status(StatusOptions),
    /// One page request of `list_prep_release_status` (`page` counts from 0), or the refused
    /// call itself when it failed before any page was requested.
    ListPrepRelease {
        /// The listing's options.
        options: ListPrepReleaseOptions,
        /// Which page this request fetched.
        page: u32,
    },
    /// `retry_failed_tasks`.
    RetryFailedTasks(RetryFailedTasksOptions),
    /// `submit_job`, with the spec as submitted (its idempotency key filled in).
    Submit {
        /// The spec.
        spec: Box<JobSpec>,
        /// The options.
        options: SubmitJobOptions,
    },
    /// `job_statuses`.
    JobStatuses {
        /// The jobs asked about, in order.
        jobs: Vec<JobId>,
        /// The options.
        options: JobStatusesOptions,
    },
    /// `delete_job`.
    Delete(DeleteJobOptions),
    /// One page request of `list_jobs` (`page` counts from 0).
    ListJobs {
        /// The listing's options.
        options: crate::options::ListJobsOptions,
        /// Which page this request fetched.
        page: u32,
    },
    /// `export_job`.
    Export(crate::options::ExportJobOptions),
    /// `task_output`.
    TaskOutput(crate::options::TaskOutputOptions),
    /// `terminate_task`.
    TerminateTask(crate::options::TerminateTaskOptions),
    /// One page request of `list_tasks` (`page` counts from 0).
    ListTasks {
        /// The listing's options.
        options: crate::options::ListTasksOptions,
        /// Which page this request fetched.
        page: u32,
    },
}

/// One call of a [`crate::BatchBackend`] operation.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Call {
    /// The operation.
    pub operation: Operation,
    /// The job it is about; `None` for a submit (the job has no id yet) and a bulk read (the
    /// ids are in the options).
    pub job: Option<JobId>,
    /// The task it is about, if any.
    pub task: Option<TaskId>,
    /// Its options.
    pub options: CallOptions,
}

impl Call {
    /// A call of `operation` on `job` with `options`.
    pub fn new(operation: Operation, job: &JobId, options: CallOptions) -> Self {
        Call {
            operation,
            job: Some(job.clone()),
            task: None,
            options,
        }
    }

    /// A call about no single job: a submit or a bulk read.
    pub fn without_job(operation: Operation, options: CallOptions) -> Self {
        Call {
            operation,
            job: None,
            task: None,
            options,
        }
    }

    /// `terminate_job`.
    pub fn terminate(job: &JobId, options: TerminateJobOptions) -> Self {
        Call::new(
            Operation::TerminateJob,
            job,
            CallOptions::Terminate(options),
        )
    }

    /// `reactivate_task`.
    pub fn reactivate(job: &JobId, task: &TaskId, options: ReactivateTaskOptions) -> Self {
        Call::new(
            Operation::ReactivateTask,
            job,
            CallOptions::Reactivate(options),
        )
        .with_task(task)
    }

    /// `job_status`.
    pub fn job_status(job: &JobId, options: StatusOptions) -> Self {
        Call::new(Operation::JobStatus, job, CallOptions::Status(options))
    }

    /// `task_status`.
    pub fn task_status(job: &JobId, task: &TaskId, options: StatusOptions) -> Self {
        Call::new(Operation::TaskStatus, job, CallOptions::Status(options)).with_task(task)
    }

    /// One page request of `list_prep_release_status`.
    pub fn list_prep_release(job: &JobId, options: ListPrepReleaseOptions, page: u32) -> Self {
        let options = CallOptions::ListPrepRelease { options, page };
        Call::new(Operation::ListPrepReleaseStatus, job, options)
    }

    /// `retry_failed_tasks`.
    pub fn retry_failed(job: &JobId, options: RetryFailedTasksOptions) -> Self {
        Call::new(
            Operation::RetryFailedTasks,
            job,
            CallOptions::RetryFailedTasks(options),
        )
    }

    /// `submit_job`.
    pub fn submit(spec: JobSpec, options: SubmitJobOptions) -> Self {
        let options = CallOptions::Submit {
            spec: Box::new(spec),
            options,
        };
        Call::without_job(Operation::SubmitJob, options)
    }

    /// `job_statuses` (or one request of it).
    pub fn job_statuses(jobs: Vec<JobId>, options: JobStatusesOptions) -> Self {
        Call::without_job(
            Operation::JobStatuses,
            CallOptions::JobStatuses { jobs, options },
        )
    }

    /// `delete_job`.
    pub fn delete(job: &JobId, options: DeleteJobOptions) -> Self {
        Call::new(Operation::DeleteJob, job, CallOptions::Delete(options))
    }

    /// One page request of `list_jobs`.
    pub fn list_jobs(options: crate::options::ListJobsOptions, page: u32) -> Self {
        Call::without_job(Operation::ListJobs, CallOptions::ListJobs { options, page })
    }

    /// One page request of `list_tasks`.
    pub fn list_tasks(job: &JobId, options: crate::options::ListTasksOptions, page: u32) -> Self {
        Call::new(
            Operation::ListTasks,
            job,
            CallOptions::ListTasks { options, page },
        )
    }

    /// `export_job`.
    pub fn export(job: &JobId, options: crate::options::ExportJobOptions) -> Self {
        Call::new(Operation::ExportJob, job, CallOptions::Export(options))
    }

    /// `task_output`.
    pub fn task_output(
        job: &JobId,
        task: &TaskId,
        options: crate::options::TaskOutputOptions,
    ) -> Self {
        Call::new(Operation::TaskOutput, job, CallOptions::TaskOutput(options)).with_task(task)
    }

    /// `terminate_task`.
    pub fn terminate_task(
        job: &JobId,
        task: &TaskId,
        options: crate::options::TerminateTaskOptions,
    ) -> Self {
        Call::new(
            Operation::TerminateTask,
            job,
            CallOptions::TerminateTask(options),
        )
        .with_task(task)
    }

    /// The same call, about `task` too.
    pub fn with_task(mut self, task: &TaskId) -> Self {
        self.task = Some(task.clone());
        self
    }
}
