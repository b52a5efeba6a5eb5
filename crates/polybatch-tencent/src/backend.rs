//! `impl BatchBackend for TencentBatchBackend`: the API calls behind each operation (the trait
//! checks capabilities first).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use polybatch::{
    BatchBackend, Capabilities, Error, ErrorContext, JobId, JobStatus, ListPrepReleaseOptions,
    Operation, PrepReleaseStream, ReactivateTaskOptions, ReactivateTaskOutcome, Result,
    RetryFailedTasksOptions, RetryFailedTasksOutcome, StatusOptions, TaskId, TaskStatus,
    TerminateDisposition, TerminateJobOptions, TerminateJobOutcome, error_stream,
};
use polybatch::{
    DeleteJobOptions, DeleteJobOutcome, IdempotencyKey, JobSpec, JobStatuses, JobStatusesOptions,
    SubmitJobOptions, SubmitJobOutcome,
};

use polybatch_protocol::tencent::action;

use crate::client::{Call, Client, Reply};
use crate::convert::{
    InstancesRead, all_instances_finished, instance_counts, is_failed, job_status_from,
    task_status_from,
};
use crate::error::{BACKEND, Subject};
use crate::model::{
    DescribeJobResponse, DescribeTaskRequest, DescribeTaskResponse, EmptyResponse, Filter,
    JobIdRequest, RetryJobsRequest,
};

/// The instances `task_status` reads per page: DescribeTask's default `Limit` (it allows
/// 1000, but the counts in `TaskInstanceMetrics` make reading every instance unnecessary).
const INSTANCE_PAGE: u64 = 100;

/// DescribeTask's filter on instance states (the English docs misname it
/// `task-instance-type`; the Chinese docs and api.json say `task-instance-state`).
const FILTER_INSTANCE_STATE: &str = "task-instance-state";

/// RetryJobs "is supported only if a job is in the FAILED state" (RetryJobs docs), so
/// `retry_failed_tasks` checks first and sends nothing otherwise. The refusal is the one the
/// service gives (`InvalidState`, `UnsupportedOperation`), and says what to do.
fn retry_refused(job: &JobId, state: &str, request_id: Option<String>) -> Error {
    let shown = if state.is_empty() {
        "in no known state"
    } else {
        state
    };
    let advice = if state == "FAILED_INTERRUPTED" {
        "its failed instances still hold their compute instances; terminate the job \
         (terminate_job) or those instances (terminate_task_instance) first, and retry once \
         the job is FAILED"
    } else {
        "only a FAILED job can be retried"
    };
    let mut ctx = ErrorContext::new(BACKEND, Operation::RetryFailedTasks)
        .with_code("UnsupportedOperation")
        .with_message(format!(
            "job {job} is {shown}: {advice} (RetryJobs was not sent)"
        ));
    if let Some(id) = request_id {
        ctx = ctx.with_request_id(id);
    }
    Error::invalid_state((!state.is_empty()).then(|| state.to_string()), ctx)
}

/// A Tencent Cloud Batch client. Cheap to clone: clones share the HTTP connection pool and the
/// rate limiters. Build one with [`crate::TencentBatchBuilder`].
#[derive(Clone)]
pub struct TencentBatchBackend {
    pub(crate) client: Arc<Client>,
}

impl TencentBatchBackend {
    pub(crate) fn from_client(client: Client) -> Self {
        TencentBatchBackend {
            client: Arc::new(client),
        }
    }

    /// The region requests are sent for.
    pub fn region(&self) -> &str {
        &self.client.region
    }

    /// The `Host` requests are sent to.
    pub fn host(&self) -> &str {
        &self.client.host
    }

    /// The client-side rate limit applied to `action`, if any.
    pub fn rate_limit(&self, action: &str) -> Option<polybatch::rate::Quota> {
        let c = &self.client;
        let key = polybatch::rate::RateKey::new(action, &c.region, &c.credentials.identity());
        c.limiter.quota(&key)
    }

    /// `DescribeJob`.
    pub(crate) async fn describe_job(
        &self,
        job: &JobId,
        operation: Operation,
    ) -> Result<Reply<DescribeJobResponse>> {
        let call = Call::new(action::DESCRIBE_JOB, operation).subject(Subject::job(job.as_str()));
        let body = JobIdRequest {
            job_id: job.as_str().to_string(),
        };
        self.client.call(&call, &body).await
    }
}

impl fmt::Debug for TencentBatchBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TencentBatchBackend")
            .field("client", &self.client)
            .finish()
    }
}

impl fmt::Display for TencentBatchBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TencentBatch({} @ {})",
            self.client.region, self.client.host
        )
    }
}

/// What the Tencent backend supports.
pub fn tencent_capabilities() -> Capabilities {
    let mut c = Capabilities::none();
    c.terminate_job = true;
    c.job_status = true;
    c.task_status = true;
    c.retry_failed_tasks = true;
    c.retry_failed_tasks_in_place = true;
    c.submit_job = true;
    c.submit = polybatch::translate::tencent::submit_capabilities();
    c.job_statuses = true;
    c.job_statuses_per_request = crate::model::JOB_IDS_PER_REQUEST;
    c.delete_job = true;
    c.list_jobs = true;
    c.list_jobs_server_filters = polybatch::translate::tencent::LIST_JOBS_SERVER_FILTERS;
    c.list_tasks = true;
    c.export_job = true;
    c.terminate_task = true;
    c.terminate_task_instance = true;
    c.task_output = true;
    c.task_output_bytes = true;
    // DescribeTaskLogs has no byte range: the trait cuts it from the (at most 2048) bytes.
    c.task_output_server_range = false;
    c
}

#[async_trait]
impl BatchBackend for TencentBatchBackend {
    fn name(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> Capabilities {
        tencent_capabilities()
    }

    async fn terminate_job_impl(
        &self,
        job: &JobId,
        _options: TerminateJobOptions,
    ) -> Result<TerminateJobOutcome> {
        let op = Operation::TerminateJob;
        let described = self.describe_job(job, op).await?;
        let state = described.value.job_state.clone().unwrap_or_default();
        let disposition = match state.as_str() {
            // TerminateJob "does not take effect" on a SUCCEED job.
            "SUCCEED" => Some(TerminateDisposition::AlreadyCompleted),
            // A FAILED job may still have FAILED_INTERRUPTED instances holding compute
            // instances until they are terminated: skip TerminateJob only when the job's
            // instance counts say every instance finished (SUCCEED or FAILED). Without the
            // counts, send it: on a finished job it has no effect.
            "FAILED" if all_instances_finished(&described.value) => {
                Some(TerminateDisposition::AlreadyCompleted)
            }
            _ if described.value.next_action.as_deref() == Some("TERMINATING") => {
                Some(TerminateDisposition::AlreadyTerminating)
            }
            _ => None,
        };
        if let Some(d) = disposition {
            let mut outcome = TerminateJobOutcome::new(d);
            outcome.request_id = described.request_id;
            return Ok(outcome);
        }
        // A SUBMITTED job is refused by the server (UnsupportedOperation or ResourceInUse.Job):
        // the error carries the state we saw, and `map_error` makes that refusal retryable.
        let call = Call::new(action::TERMINATE_JOB, op)
            .subject(Subject::job(job.as_str()).with_state(Some(state)));
        let body = JobIdRequest {
            job_id: job.as_str().to_string(),
        };
        let reply: Reply<EmptyResponse> = self.client.call(&call, &body).await?;
        let mut outcome = TerminateJobOutcome::new(TerminateDisposition::Accepted);
        outcome.request_id = reply.request_id;
        Ok(outcome)
    }

    async fn reactivate_task_impl(
        &self,
        _job: &JobId,
        _task: &TaskId,
        _options: ReactivateTaskOptions,
    ) -> Result<ReactivateTaskOutcome> {
        // Never reached: the capability is off, so the trait refuses the call first. Tencent
        // only retries whole FAILED jobs (RetryJobs); widening a per-task reactivate to that
        // would retry tasks the caller did not name.
        Err(Error::unsupported(BACKEND, Operation::ReactivateTask))
    }

    async fn job_status_impl(&self, job: &JobId, _options: StatusOptions) -> Result<JobStatus> {
        let op = Operation::JobStatus;
        let reply = self.describe_job(job, op).await?;
        Ok(job_status_from(job, &reply.value))
    }

    async fn task_status_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        _options: StatusOptions,
    ) -> Result<TaskStatus> {
        let op = Operation::TaskStatus;
        let call = Call::new(action::DESCRIBE_TASK, op)
            .subject(Subject::task(job.as_str(), task.as_str()));
        let describe = |filters: Option<Vec<Filter>>| DescribeTaskRequest {
            job_id: job.as_str().to_string(),
            task_name: task.as_str().to_string(),
            offset: Some(0),
            limit: Some(INSTANCE_PAGE),
            filters,
        };
        // One page of instances and the task's instance counts (TaskInstanceMetrics) say
        // almost everything; only a task with more instances than the page, and failures
        // beyond what the page shows, needs a second, filtered page for its first failure.
        let mut reply: Reply<DescribeTaskResponse> =
            self.client.call(&call, &describe(None)).await?;
        let first = reply.value.task_instance_set.take().unwrap_or_default();
        let total = reply.value.task_instance_total_count;
        let complete = total.is_none_or(|t| first.len() as u64 >= t);
        let failed_seen = first
            .iter()
            .filter(|i| is_failed(i.task_instance_state.as_deref()))
            .count() as u64;
        let failed_counted = reply
            .value
            .task_instance_metrics
            .as_ref()
            .map(|m| instance_counts(m).2);
        let exit_code_seen = first.iter().any(|i| {
            is_failed(i.task_instance_state.as_deref()) && i.exit_code.is_some_and(|c| c != 0)
        });
        let need_failed =
            !complete && !exit_code_seen && failed_counted.is_none_or(|n| n > failed_seen);
        let failed = if need_failed {
            let filter = Filter::new(
                FILTER_INSTANCE_STATE,
                vec!["FAILED".to_string(), "FAILED_INTERRUPTED".to_string()],
            );
            let mut page: Reply<DescribeTaskResponse> = self
                .client
                .call(&call, &describe(Some(vec![filter])))
                .await?;
            Some(page.value.task_instance_set.take().unwrap_or_default())
        } else {
            None
        };
        let read = InstancesRead {
            first: &first,
            failed: failed.as_deref(),
        };
        Ok(task_status_from(job, task, &reply.value, read))
    }

    fn list_prep_release_status_impl(
        &self,
        _job: &JobId,
        _options: ListPrepReleaseOptions,
    ) -> PrepReleaseStream {
        // Never reached: Tencent has no job preparation or release tasks, the capability says
        // so, and the trait refuses the call first.
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
        let op = Operation::RetryFailedTasks;
        let described = self.describe_job(job, op).await?;
        let state = described.value.job_state.clone().unwrap_or_default();
        let failed: Vec<TaskId> = described
            .value
            .task_set
            .iter()
            .flatten()
            .filter(|t| is_failed(t.task_state.as_deref()))
            .filter_map(|t| {
                let name = t.task_name.as_deref()?;
                match TaskId::new(name) {
                    Ok(id) => Some(id),
                    Err(_) => {
                        tracing::debug!(task = name, "failed task name is not a valid TaskId");
                        None
                    }
                }
            })
            .collect();
        // Nothing failed: nothing to retry, as on every provider (and no RetryJobs to refuse).
        if failed.is_empty() && state != "FAILED" {
            return Ok(RetryFailedTasksOutcome::new());
        }
        if state != "FAILED" {
            return Err(retry_refused(job, &state, described.request_id));
        }
        // RetryJobs acts on the whole job, so the client never replays it blind. After a
        // failure that may have reached the service, the job is described again: a job no
        // longer FAILED, or FAILED again later than before, was retried (docs/errors.md).
        let ended = described.value.end_time.clone();
        let call = Call::new(action::RETRY_JOBS, op)
            .subject(Subject::job(job.as_str()).with_state(Some(state)))
            .not_idempotent();
        let body = RetryJobsRequest {
            job_ids: vec![job.as_str().to_string()],
        };
        polybatch::reconcile::apply_once(
            || async {
                let _: Reply<EmptyResponse> = self.client.call(&call, &body).await?;
                Ok(())
            },
            || async {
                let now = self.describe_job(job, op).await?.value;
                let retried = now.job_state.as_deref() != Some("FAILED") || now.end_time != ended;
                Ok(retried.then_some(()))
            },
        )
        .await?;
        let mut outcome = RetryFailedTasksOutcome::new();
        outcome.retried = failed;
        Ok(outcome)
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
        job: &JobId,
        _options: DeleteJobOptions,
    ) -> Result<DeleteJobOutcome> {
        self.delete(job).await
    }

    fn list_jobs_impl(&self, options: polybatch::ListJobsOptions) -> polybatch::JobStream {
        self.jobs(options)
    }

    fn list_tasks_impl(
        &self,
        job: &JobId,
        _options: polybatch::ListTasksOptions,
    ) -> polybatch::TaskStream {
        self.tasks(job)
    }

    async fn export_job_impl(
        &self,
        job: &JobId,
        _options: polybatch::ExportJobOptions,
    ) -> Result<polybatch::ExportedJob> {
        self.export(job).await
    }

    async fn task_output_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: polybatch::TaskOutputOptions,
    ) -> Result<polybatch::TaskOutput> {
        self.output(job, task, options).await
    }

    async fn terminate_task_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: polybatch::TerminateTaskOptions,
    ) -> Result<polybatch::TerminateTaskOutcome> {
        self.terminate_instances(job, task, options.instance).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_are_honest() {
        let c = tencent_capabilities();
        assert!(c.terminate_job && c.job_status && c.task_status && c.retry_failed_tasks);
        assert!(!c.terminate_job_reason && !c.terminate_job_force);
        assert!(!c.conditional_requests && !c.server_timeout);
        assert!(!c.reactivate_task && !c.list_prep_release_status);
    }
}
