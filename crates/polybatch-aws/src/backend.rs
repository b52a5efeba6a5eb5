//! [`AwsBatchBackend`]: the `BatchBackend` operations over `aws-sdk-batch`. A job is an AWS
//! Batch job; its tasks are an array job's children (`jobId:index`, task ids `"0"`, `"1"`,
//! ...) or, for a plain job, the job itself (task `"0"`).

use std::fmt;

use async_trait::async_trait;
use aws_sdk_batch::types::JobDetail;
use polybatch::{
    BatchBackend, Capabilities, DEFAULT_TERMINATE_REASON, DeleteJobOptions, DeleteJobOutcome,
    Error, ErrorContext, ExportJobOptions, ExportedJob, IdempotencyKey, JobId, JobSpec, JobStatus,
    JobStatuses, JobStatusesOptions, JobStream, ListJobsFilters, ListJobsOptions,
    ListPrepReleaseOptions, ListTasksOptions, Operation, PrepReleaseStream, ReactivateTaskOptions,
    ReactivateTaskOutcome, ResourceKind, Result, RetryFailedTasksOptions, RetryFailedTasksOutcome,
    StatusOptions, SubmitJobOptions, SubmitJobOutcome, TaskId, TaskStatus, TaskStream,
    TerminateDisposition, TerminateJobOptions, TerminateJobOutcome, error_stream,
};
use polybatch::{SubmitCapabilities, TaskOutput, TaskOutputOptions};

use crate::convert;
use crate::error::{BACKEND, Subject, map_sdk_error};

/// The log group AWS Batch jobs write to unless their log configuration names another.
pub const DEFAULT_LOG_GROUP: &str = "/aws/batch/job";

/// Ids `DescribeJobs` takes in one call.
pub const JOB_IDS_PER_REQUEST: usize = 100;

/// An AWS Batch account in one region.
#[derive(Clone)]
pub struct AwsBatchBackend {
    pub(crate) client: aws_sdk_batch::Client,
    pub(crate) region: String,
    pub(crate) job_queues: Vec<String>,
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

/// What AWS Batch supports, honestly: no per-task reactivation, no preparation and release
/// tasks, no delete (jobs age out after about a week), and a retry of failed tasks only as a
/// resubmission of the failed job.
pub fn aws_capabilities() -> Capabilities {
    let mut c = Capabilities::none();
    c.terminate_job = true;
    c.terminate_job_reason = true;
    c.job_status = true;
    c.task_status = true;
    // As a resubmission of the failed job: AWS Batch cannot rerun a job.
    c.retry_failed_tasks = true;
    c.retry_failed_tasks_in_place = false;
    c.submit_job = true;
    c.submit = submit_capabilities();
    c.job_statuses = true;
    c.job_statuses_per_request = JOB_IDS_PER_REQUEST;
    c.list_jobs = true;
    // ListJobs filters by one status per call; names and labels are matched here (labels
    // after a DescribeJobs of each page, since ListJobs returns no tags).
    let mut filters = ListJobsFilters::default();
    filters.states = true;
    c.list_jobs_server_filters = filters;
    c.list_tasks = true;
    c.export_job = true;
    // A locator only: the CloudWatch Logs group and stream (stdout and stderr share it).
    c.task_output = true;
    c.task_output_bytes = false;
    c
}

/// The largest array job.
pub const MAX_ARRAY_SIZE: u32 = 10_000;
/// The most tags a job carries.
const MAX_TAGS: usize = 50;

/// What AWS Batch can express of a spec: one task per job (an array job when it has several
/// instances), container overrides for the command, environment and resources (the image is
/// the job definition's), 1 to 10 attempts, priorities 0 to 9999.
pub fn submit_capabilities() -> SubmitCapabilities {
    let mut c = SubmitCapabilities::all();
    c.placement_azure_pool = false;
    c.placement_tencent_environment = false;
    c.placement_tencent_managed = false;
    c.container_image = false;
    c.dependencies = false;
    c.max_instance_count = MAX_ARRAY_SIZE;
    c.max_retries = 9;
    c.priority = (0, 9999);
    // Three tags are polybatch's: the key, the submit nonce and the task name.
    c.max_labels = MAX_TAGS - 3;
    c.max_name_len = 128;
    c.max_tasks = 1;
    c
}

fn ctx(op: Operation) -> ErrorContext {
    ErrorContext::new(BACKEND, op)
}

impl AwsBatchBackend {
    pub(crate) fn from_parts(
        client: aws_sdk_batch::Client,
        region: String,
        job_queues: Vec<String>,
    ) -> Self {
        AwsBatchBackend {
            client,
            region,
            job_queues,
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
            .await
            .map_err(|e| map_sdk_error(e, op, &Subject::default()))?;
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
            .await
            .map_err(|e| map_sdk_error(e, op, &Subject::job(job.as_str())))?;
        // Before STARTING the job is cancelled and never runs; after, it is being stopped.
        let disposition = if matches!(state, "SUBMITTED" | "PENDING" | "RUNNABLE") {
            TerminateDisposition::Cancelled
        } else {
            TerminateDisposition::Accepted
        };
        Ok(TerminateJobOutcome::new(disposition))
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
