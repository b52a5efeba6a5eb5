//! `impl BatchBackend for TencentBatchBackend`: the API calls behind each operation (the trait
//! checks capabilities first).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use polybatch::{
    BatchBackend, Capabilities, Error, JobId, JobStatus, ListPrepReleaseOptions, Operation,
    PrepReleaseStream, ReactivateTaskOptions, ReactivateTaskOutcome, Result,
    RetryFailedTasksOptions, RetryFailedTasksOutcome, StatusOptions, TaskId, TaskStatus,
    TerminateDisposition, TerminateJobOptions, TerminateJobOutcome, error_stream,
};

use polybatch_protocol::tencent::action;

use crate::client::{Call, Client, Reply};
use crate::convert::{is_failed, job_status_from, task_status_from};
use crate::error::{BACKEND, Subject};
use crate::model::{
    DescribeJobResponse, DescribeTaskRequest, DescribeTaskResponse, EmptyResponse, JobIdRequest,
    RetryJobsRequest,
};
use crate::paging::next_offset;

/// The largest `DescribeTask` instance page.
const TASK_INSTANCE_PAGE: u64 = 1000;

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
        c.limiter.quota(action, &c.region, &c.secret_id)
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
            // Terminal: TerminateJob would have no effect.
            "SUCCEED" | "FAILED" => Some(TerminateDisposition::AlreadyCompleted),
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
        // the error carries the state we saw.
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
        let mut offset = 0;
        let mut instances = Vec::new();
        loop {
            let body = DescribeTaskRequest {
                job_id: job.as_str().to_string(),
                task_name: task.as_str().to_string(),
                offset: Some(offset),
                limit: Some(TASK_INSTANCE_PAGE),
                filters: None,
            };
            let mut reply: Reply<DescribeTaskResponse> = self.client.call(&call, &body).await?;
            let page = reply.value.task_instance_set.take().unwrap_or_default();
            let got = page.len() as u64;
            instances.extend(page);
            // A short page is the last one too.
            match next_offset(offset, got, reply.value.task_instance_total_count) {
                Some(next) if got == TASK_INSTANCE_PAGE => offset = next,
                _ => return Ok(task_status_from(job, task, &reply.value, &instances)),
            }
        }
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
        // RetryJobs acts on the whole job and is refused unless the job is FAILED; replaying
        // it after it may have arrived could double-retry, so it is not idempotent.
        let call = Call::new(action::RETRY_JOBS, op)
            .subject(Subject::job(job.as_str()).with_state(described.value.job_state.clone()))
            .not_idempotent();
        let body = RetryJobsRequest {
            job_ids: vec![job.as_str().to_string()],
        };
        let _: Reply<EmptyResponse> = self.client.call(&call, &body).await?;
        let mut outcome = RetryFailedTasksOutcome::new();
        outcome.retried = failed;
        Ok(outcome)
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
