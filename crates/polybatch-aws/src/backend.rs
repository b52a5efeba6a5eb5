//! [`AwsBatchBackend`]: the `BatchBackend` operations over `aws-sdk-batch`. A job is an AWS
//! Batch job; its tasks are an array job's children (`jobId:index`, task ids `"0"`, `"1"`,
//! ...) or, for a plain job, the job itself (task `"0"`).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_batch::types::JobDetail;
use polybatch::{
    BatchBackend, Capabilities, DEFAULT_TERMINATE_REASON, DeleteJobOptions, DeleteJobOutcome,
    Error, ErrorContext, ExportJobOptions, ExportedJob, IdempotencyKey, JobId, JobSpec, JobStatus,
    JobStatuses, JobStatusesOptions, JobStream, ListJobsOptions, ListPrepReleaseOptions,
    ListTasksOptions, Operation, PrepReleaseStream, ReactivateTaskOptions, ReactivateTaskOutcome,
    ResourceKind, Result, RetryFailedTasksOptions, RetryFailedTasksOutcome, StatusOptions,
    SubmitJobOptions, SubmitJobOutcome, TaskId, TaskStatus, TaskStream, TerminateDisposition,
    TerminateJobOptions, TerminateJobOutcome, error_stream,
};
use polybatch::{TaskOutput, TaskOutputOptions};

use crate::attempts::Logged;
use crate::convert;
use crate::error::{BACKEND, Subject};
use polybatch::translate::aws as translate;

/// The log group AWS Batch jobs write to unless their log configuration names another.
pub const DEFAULT_LOG_GROUP: &str = "/aws/batch/job";

/// An AWS Batch account in one region.
#[derive(Clone)]
pub struct AwsBatchBackend {
    pub(crate) client: aws_sdk_batch::Client,
    pub(crate) region: String,
    pub(crate) job_queues: Vec<String>,
    pub(crate) submit_retry: SubmitRetry,
}

/// How `submit_job` retries `SubmitJob` itself (the SDK's retries are off for it: each attempt
/// is preceded by a lookup): the client's attempts and backoff, without jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SubmitRetry {
    pub attempts: u32,
    pub initial: Duration,
    pub max: Duration,
}

impl SubmitRetry {
    /// The SDK's standard-mode defaults: 3 attempts, 1 s doubling up to 20 s.
    pub(crate) const DEFAULT: SubmitRetry = SubmitRetry {
        attempts: 3,
        initial: Duration::from_secs(1),
        max: Duration::from_secs(20),
    };

    /// The wait before attempt `attempt` (from 1): the initial backoff doubled per attempt,
    /// capped.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let doubled = self
            .initial
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        doubled.min(self.max)
    }
}

impl fmt::Debug for AwsBatchBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The SDK client's Debug shows its whole configuration; the credentials provider is
        // not printed, but nothing more than this is needed.
        f.debug_struct("AwsBatchBackend")
            .field("region", &self.region)
            .field("job_queues", &self.job_queues)
            .finish()
    }
}

impl fmt::Display for AwsBatchBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "aws batch ({})", self.region)
    }
}

pub use polybatch::translate::aws::{
    JOB_IDS_PER_REQUEST, MAX_ARRAY_SIZE, capabilities as aws_capabilities, submit_capabilities,
};

fn ctx(op: Operation) -> ErrorContext {
    ErrorContext::new(BACKEND, op)
}

impl AwsBatchBackend {
    pub(crate) fn from_parts(
        client: aws_sdk_batch::Client,
        region: String,
        job_queues: Vec<String>,
        submit_retry: SubmitRetry,
    ) -> Self {
        AwsBatchBackend {
            client,
            region,
            job_queues,
            submit_retry,
        }
    }

    /// The SDK client, for operations polybatch does not wrap (queues, definitions, ...).
    pub fn sdk_client(&self) -> &aws_sdk_batch::Client {
        &self.client
    }

    /// The region requests go to.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// `DescribeJobs` of up to 100 AWS job ids (job ids or `jobId:index`).
    pub(crate) async fn describe(&self, ids: &[String], op: Operation) -> Result<Vec<JobDetail>> {
        let reply = self
            .client
            .describe_jobs()
            .set_jobs(Some(ids.to_vec()))
            .send()
            .logged(op, &Subject::default())
            .await?;
        Ok(reply.jobs().to_vec())
    }

    /// The detail of task `task` of `job`: the job itself for a plain job's task `"0"`, the
    /// child `job:index` of an array job.
    pub(crate) async fn task_detail(
        &self,
        job: &JobId,
        task: &TaskId,
        op: Operation,
    ) -> Result<JobDetail> {
        let parent = self.describe_one(job.as_str(), op).await?;
        let is_array = parent.array_properties().and_then(|a| a.size()).is_some();
        let missing = || {
            Error::not_found(
                ResourceKind::Task,
                task.as_str(),
                ctx(op).with_message(if is_array {
                    "an array job's tasks are its child indexes 0..size"
                } else {
                    "a plain job has one task, \"0\""
                }),
            )
        };
        let id = convert::aws_id_of_task(job, task, is_array).ok_or_else(missing)?;
        if !is_array {
            return Ok(parent);
        }
        self.describe_one(&id, op).await.map_err(|e| match e {
            Error::NotFound { .. } => missing(),
            other => other,
        })
    }

    /// One job's detail, or `NotFound` (`DescribeJobs` answers an unknown id with nothing).
    pub(crate) async fn describe_one(&self, id: &str, op: Operation) -> Result<JobDetail> {
        self.describe(&[id.to_string()], op)
            .await?
            .into_iter()
            .find(|d| d.job_id() == Some(id))
            .ok_or_else(|| {
                Error::not_found(
                    ResourceKind::Job,
                    id,
                    ctx(op).with_message("DescribeJobs did not return this job"),
                )
            })
    }
}

#[async_trait]
impl BatchBackend for AwsBatchBackend {
    fn name(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> Capabilities {
        aws_capabilities()
    }

    async fn terminate_job_impl(
        &self,
        job: &JobId,
        options: TerminateJobOptions,
    ) -> Result<TerminateJobOutcome> {
        let op = Operation::TerminateJob;
        let detail = self.describe_one(job.as_str(), op).await?;
        let state = detail.status().map(|s| s.as_str()).unwrap_or("");
        if matches!(state, "SUCCEEDED" | "FAILED") {
            return Ok(TerminateJobOutcome::new(
                TerminateDisposition::AlreadyCompleted,
            ));
        }
        if detail.is_terminated() == Some(true) || detail.is_cancelled() == Some(true) {
            return Ok(TerminateJobOutcome::new(
                TerminateDisposition::AlreadyTerminating,
            ));
        }
        // TerminateJob acts in every state (CancelJob only before STARTING), so one call
        // covers "cancel" and "stop".
        // The API requires a reason.
        let reason = options
            .reason
            .unwrap_or_else(|| DEFAULT_TERMINATE_REASON.to_string());
        self.client
            .terminate_job()
            .job_id(job.as_str())
            .reason(reason)
            .send()
            .logged(op, &Subject::job(job.as_str()))
            .await?;
        // Before STARTING (and, for an array, before any child started) the job is cancelled
        // and never runs; after, it is being stopped.
        let started = detail
            .array_properties()
            .and_then(|a| a.status_summary())
            .map_or(0, |summary| {
                translate::children_started(|k| {
                    u64::try_from(summary.get(k).copied().unwrap_or(0)).unwrap_or(0)
                })
            });
        Ok(TerminateJobOutcome::new(translate::terminate_disposition(
            state, started,
        )))
    }

    async fn reactivate_task_impl(
        &self,
        _job: &JobId,
        _task: &TaskId,
        _options: ReactivateTaskOptions,
    ) -> Result<ReactivateTaskOutcome> {
        Err(Error::unsupported(BACKEND, Operation::ReactivateTask))
    }

    async fn job_status_impl(&self, job: &JobId, _options: StatusOptions) -> Result<JobStatus> {
        let detail = self
            .describe_one(job.as_str(), Operation::JobStatus)
            .await?;
        Ok(convert::job_status(job, &detail))
    }

    async fn task_status_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        _options: StatusOptions,
    ) -> Result<TaskStatus> {
        let detail = self.task_detail(job, task, Operation::TaskStatus).await?;
        Ok(convert::task_status(job, task, &detail))
    }

    async fn task_output_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        _options: TaskOutputOptions,
    ) -> Result<TaskOutput> {
        let op = Operation::TaskOutput;
        let detail = self.task_detail(job, task, op).await?;
        let container = detail.container();
        let Some(stream) = container.and_then(|c| c.log_stream_name()) else {
            return Err(Error::not_found(
                ResourceKind::Task,
                task.as_str(),
                ctx(op).with_message("no log stream yet: the container has not started"),
            ));
        };
        // AWS Batch writes stdout and stderr to one CloudWatch Logs stream; polybatch does not
        // read CloudWatch, so the output is a locator: empty, incomplete, and where it is.
        let group = container
            .and_then(|c| c.log_configuration())
            .and_then(|l| l.options())
            .and_then(|o| o.get("awslogs-group"))
            .map(String::as_str)
            .unwrap_or(DEFAULT_LOG_GROUP);
        let mut out = TaskOutput::new(Vec::new());
        out.complete = false;
        out.location = Some(format!("cloudwatch-logs://{group}/{stream}"));
        Ok(out)
    }

    fn list_prep_release_status_impl(
        &self,
        _job: &JobId,
        _options: ListPrepReleaseOptions,
    ) -> PrepReleaseStream {
        error_stream(Error::unsupported(
            BACKEND,
            Operation::ListPrepReleaseStatus,
        ))
    }

    async fn retry_failed_tasks_impl(
        &self,
        job: &JobId,
        _options: RetryFailedTasksOptions,
    ) -> Result<RetryFailedTasksOutcome> {
        self.retry_failed(job).await
    }

    async fn submit_job_impl(
        &self,
        spec: &JobSpec,
        key: &IdempotencyKey,
        _options: SubmitJobOptions,
    ) -> Result<SubmitJobOutcome> {
        self.submit(spec, key).await
    }

    async fn job_statuses_impl(
        &self,
        jobs: &[JobId],
        _options: JobStatusesOptions,
    ) -> Result<JobStatuses> {
        self.statuses(jobs).await
    }

    async fn delete_job_impl(
        &self,
        _job: &JobId,
        _options: DeleteJobOptions,
    ) -> Result<DeleteJobOutcome> {
        Err(Error::unsupported(BACKEND, Operation::DeleteJob))
    }

    fn list_jobs_impl(&self, options: ListJobsOptions) -> JobStream {
        self.jobs(options)
    }

    fn list_tasks_impl(&self, job: &JobId, options: ListTasksOptions) -> TaskStream {
        self.tasks(job, options)
    }

    async fn export_job_impl(
        &self,
        job: &JobId,
        _options: ExportJobOptions,
    ) -> Result<ExportedJob> {
        self.export(job).await
    }
}
