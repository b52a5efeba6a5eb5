//! Tencent-only operations: submit, list, terminate one task instance, delete. Used by tests,
//! the CLI and the demo; not part of the neutral trait.

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use polybatch::paging::{Page, paginate};
use polybatch::{Error, ErrorContext, JobId, JobState, Operation, Result, TaskCounts, TaskId};

use crate::backend::TencentBatchBackend;
use polybatch_protocol::tencent::action;

use crate::client::{Call, Reply};
use crate::convert::{job_state, parse_time, task_counts};
use crate::error::{BACKEND, Subject};
use crate::model::{
    AnonymousComputeEnv, Application, DescribeJobsRequest, DescribeJobsResponse, EmptyResponse,
    EnvData, EnvVar, Filter, JobSpec, Placement, SubmitJobBody, SubmitJobResponse, TaskSpec,
    TerminateTaskInstanceRequest,
};
use crate::paging::next_offset;

const OP_SUBMIT: Operation = Operation::Other("submit_job_request");
const OP_DESCRIBE_JOBS: Operation = Operation::Other("describe_jobs");
const OP_TERMINATE_INSTANCE: Operation = Operation::Other("terminate_task_instance");

/// Where a task runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComputeEnvironment {
    /// A compute environment created for the task (`EnvType` `MANAGED`).
    Managed {
        /// The CVM instance type, e.g. `SA5.MEDIUM4`.
        instance_type: String,
        /// The image id, e.g. `img-bd78fy2t`.
        image_id: String,
    },
    /// An existing compute environment (`EnvId`).
    Existing(String),
}

impl ComputeEnvironment {
    /// A managed environment.
    pub fn managed(instance_type: impl Into<String>, image_id: impl Into<String>) -> Self {
        ComputeEnvironment::Managed {
            instance_type: instance_type.into(),
            image_id: image_id.into(),
        }
    }
}

/// One task of a [`SubmitJobRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskRequest {
    /// The task name, unique within the job.
    pub name: TaskId,
    /// The command line (`Application.Command`, delivery form `LOCAL`).
    pub command: String,
    /// How many instances run.
    pub instance_count: u64,
    /// Environment variables, in order.
    pub env_vars: Vec<(String, String)>,
    /// Retries after a failure (0 to 5).
    pub max_retry_count: u64,
    /// `FailedAction`: `TERMINATE` (the default when `None`), `INTERRUPT` or
    /// `FAST_INTERRUPT` (a failed instance is kept, FAILED_INTERRUPTED, with its machine,
    /// until the job is terminated or `RetryJobs` runs it again).
    pub failed_action: Option<String>,
    /// Where it runs.
    pub environment: ComputeEnvironment,
}

impl TaskRequest {
    /// A task with one instance and no retries.
    pub fn new(name: TaskId, command: impl Into<String>, environment: ComputeEnvironment) -> Self {
        TaskRequest {
            name,
            command: command.into(),
            instance_count: 1,
            env_vars: Vec::new(),
            max_retry_count: 0,
            failed_action: None,
            environment,
        }
    }

    /// Sets the number of instances.
    pub fn with_instance_count(mut self, n: u64) -> Self {
        self.instance_count = n;
        self
    }

    /// Adds an environment variable.
    pub fn with_env_var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env_vars.push((name.into(), value.into()));
        self
    }

    /// Sets the retry count.
    pub fn with_max_retry_count(mut self, n: u64) -> Self {
        self.max_retry_count = n;
        self
    }

    /// Sets `FailedAction` (`TERMINATE`, `INTERRUPT` or `FAST_INTERRUPT`; the service checks
    /// the value).
    pub fn with_failed_action(mut self, action: impl Into<String>) -> Self {
        self.failed_action = Some(action.into());
        self
    }
}

/// A `SubmitJob` request: the minimal job of the API, one or more tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubmitJobRequest {
    /// The job name (1 to 60 characters).
    pub job_name: String,
    /// The availability zone, e.g. `ap-guangzhou-2`.
    pub zone: String,
    /// The description (at most 200 characters).
    pub description: Option<String>,
    /// Priority 0 to 100.
    pub priority: Option<i64>,
    /// The tasks (at least one).
    pub tasks: Vec<TaskRequest>,
    /// The idempotency token (at most 64 ASCII characters); a random UUID when `None`.
    pub client_token: Option<String>,
}

impl SubmitJobRequest {
    /// A job with no tasks yet.
    pub fn new(job_name: impl Into<String>, zone: impl Into<String>) -> Self {
        SubmitJobRequest {
            job_name: job_name.into(),
            zone: zone.into(),
            description: None,
            priority: None,
            tasks: Vec::new(),
            client_token: None,
        }
    }

    /// Adds a task.
    pub fn with_task(mut self, task: TaskRequest) -> Self {
        self.tasks.push(task);
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the priority.
    pub fn with_priority(mut self, priority: i64) -> Self {
        self.priority = Some(priority);
        self
    }

    /// Sets the idempotency token.
    pub fn with_client_token(mut self, token: impl Into<String>) -> Self {
        self.client_token = Some(token.into());
        self
    }

    /// Checks the documented limits and builds the wire body (with a ClientToken).
    pub fn to_body(&self) -> Result<SubmitJobBody> {
        let bad = |field: &'static str, rule: String| {
            Err(Error::invalid_input(
                field,
                rule,
                ErrorContext::new(BACKEND, OP_SUBMIT),
            ))
        };
        let name_len = self.job_name.chars().count();
        if name_len == 0 || name_len > 60 {
            return bad(
                "job name",
                format!("must be 1 to 60 characters (got {name_len})"),
            );
        }
        if self.zone.trim().is_empty() {
            return bad("zone", "must not be empty".to_string());
        }
        if self
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 200)
        {
            return bad("description", "must be at most 200 characters".to_string());
        }
        if let Some(p) = self.priority
            && !(0..=100).contains(&p)
        {
            return bad("priority", format!("must be 0 to 100 (got {p})"));
        }
        if self.tasks.is_empty() {
            return bad("tasks", "a job needs at least one task".to_string());
        }
        let token = self
            .client_token
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        if token.is_empty() || token.len() > 64 || !token.is_ascii() {
            return bad(
                "client token",
                "must be 1 to 64 ASCII characters".to_string(),
            );
        }
        let mut tasks = Vec::with_capacity(self.tasks.len());
        for t in &self.tasks {
            if t.command.trim().is_empty() {
                return bad("command", format!("task {} has an empty command", t.name));
            }
            if t.max_retry_count > 5 {
                return bad(
                    "max retry count",
                    format!("must be 0 to 5 (got {})", t.max_retry_count),
                );
            }
            if t.instance_count == 0 {
                return bad("instance count", "must be at least 1".to_string());
            }
            let (compute_env, env_id) = match &t.environment {
                ComputeEnvironment::Managed {
                    instance_type,
                    image_id,
                } => (
                    Some(AnonymousComputeEnv {
                        env_type: Some("MANAGED".to_string()),
                        env_data: Some(EnvData {
                            instance_type: Some(instance_type.clone()),
                            image_id: Some(image_id.clone()),
                        }),
                    }),
                    None,
                ),
                ComputeEnvironment::Existing(id) => (None, Some(id.clone())),
            };
            tasks.push(TaskSpec {
                application: Application {
                    delivery_form: "LOCAL".to_string(),
                    command: Some(t.command.clone()),
                    package_path: None,
                },
                task_name: Some(t.name.as_str().to_string()),
                task_instance_num: Some(t.instance_count),
                compute_env,
                env_id,
                env_vars: (!t.env_vars.is_empty()).then(|| {
                    t.env_vars
                        .iter()
                        .map(|(name, value)| EnvVar {
                            name: name.clone(),
                            value: value.clone(),
                        })
                        .collect()
                }),
                failed_action: t.failed_action.clone(),
                max_retry_count: Some(t.max_retry_count),
                timeout: None,
            });
        }
        Ok(SubmitJobBody {
            placement: Placement {
                zone: Some(self.zone.clone()),
                project_id: None,
            },
            job: JobSpec {
                tasks,
                job_name: Some(self.job_name.clone()),
                job_description: self.description.clone(),
                priority: self.priority,
                dependences: None,
            },
            client_token: Some(token),
        })
    }
}

/// Options of [`TencentBatchBackend::describe_jobs`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DescribeJobsOptions {
    /// Filters (AND-ed; the values of one filter are OR-ed).
    pub filters: Vec<Filter>,
    /// Jobs per page (1 to 100; Tencent's default is 20).
    pub page_size: Option<u32>,
}

impl DescribeJobsOptions {
    /// Only these job ids (`job-id` filter).
    pub fn with_job_ids<I: IntoIterator<Item = JobId>>(mut self, ids: I) -> Self {
        let values = ids.into_iter().map(JobId::into_string).collect();
        self.filters.push(Filter::new("job-id", values));
        self
    }

    /// Only jobs with this name (`job-name` filter).
    pub fn with_job_name(mut self, name: impl Into<String>) -> Self {
        self.filters
            .push(Filter::new("job-name", vec![name.into()]));
        self
    }

    /// Only jobs in one of these Tencent states (`job-state` filter), e.g. `RUNNING`.
    pub fn with_job_states<I, S>(mut self, states: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let values = states.into_iter().map(Into::into).collect();
        self.filters.push(Filter::new("job-state", values));
        self
    }

    /// Sets the page size.
    pub fn with_page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n);
        self
    }
}

/// One job of a [`TencentBatchBackend::describe_jobs`] listing.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JobSummary {
    /// The job.
    pub job_id: JobId,
    /// The job name.
    pub job_name: Option<String>,
    /// The normalized state.
    pub state: JobState,
    /// Tencent's state string, verbatim.
    pub provider_state: String,
    /// The priority.
    pub priority: Option<i64>,
    /// The availability zone.
    pub zone: Option<String>,
    /// When it was created.
    pub create_time: Option<DateTime<Utc>>,
    /// When it ended.
    pub end_time: Option<DateTime<Utc>>,
    /// Task counts, when reported.
    pub task_counts: Option<TaskCounts>,
}

impl TencentBatchBackend {
    /// Submits a job and returns its id. A `ClientToken` is always sent (the caller's or a
    /// random UUID) and is the same on every attempt, so retrying cannot create a second job.
    /// Getting an id does not mean the job parsed or runs: poll its status.
    pub async fn submit_job_request(&self, request: SubmitJobRequest) -> Result<JobId> {
        let body = request.to_body()?;
        let call = Call::new(action::SUBMIT_JOB, OP_SUBMIT);
        let reply: Reply<SubmitJobResponse> = self.client.call(&call, &body).await?;
        let ctx = || {
            let mut c = ErrorContext::new(BACKEND, OP_SUBMIT);
            if let Some(id) = &reply.request_id {
                c = c.with_request_id(id.clone());
            }
            c
        };
        let id = reply.value.job_id.as_deref().ok_or_else(|| {
            Error::service(
                Some(200),
                false,
                ctx().with_message("SubmitJob response has no JobId"),
            )
        })?;
        JobId::new(id).map_err(|e| {
            Error::service(
                Some(200),
                false,
                ctx().with_message(format!("SubmitJob returned an invalid JobId: {e}")),
            )
        })
    }

    /// Lists jobs lazily, page by page (`DescribeJobs` with `Offset`/`Limit`). Nothing is sent
    /// until the stream is polled.
    pub fn describe_jobs(
        &self,
        options: DescribeJobsOptions,
    ) -> BoxStream<'static, Result<JobSummary>> {
        let page_size = u64::from(options.page_size.unwrap_or(20));
        let invalid = !(1..=100).contains(&page_size);
        let filters = (!options.filters.is_empty()).then_some(options.filters);
        let this = self.clone();
        paginate(move |offset: Option<u64>| {
            let this = this.clone();
            let filters = filters.clone();
            async move {
                if invalid {
                    return Err(Error::invalid_input(
                        "page_size",
                        format!("must be between 1 and 100 (got {page_size})"),
                        ErrorContext::new(BACKEND, OP_DESCRIBE_JOBS),
                    ));
                }
                let offset = offset.unwrap_or(0);
                let body = DescribeJobsRequest {
                    job_ids: None,
                    filters,
                    offset: Some(offset),
                    limit: Some(page_size),
                };
                let call = Call::new(action::DESCRIBE_JOBS, OP_DESCRIBE_JOBS);
                let reply: Reply<DescribeJobsResponse> = this.client.call(&call, &body).await?;
                let views = reply.value.job_set.unwrap_or_default();
                let got = views.len() as u64;
                let mut items = Vec::with_capacity(views.len());
                for v in views {
                    let id = v.job_id.as_deref().and_then(|id| JobId::new(id).ok());
                    let Some(job_id) = id else {
                        let mut ctx = ErrorContext::new(BACKEND, OP_DESCRIBE_JOBS)
                            .with_message("DescribeJobs returned a job without a valid JobId");
                        if let Some(rid) = &reply.request_id {
                            ctx = ctx.with_request_id(rid.clone());
                        }
                        return Err(Error::service(Some(200), false, ctx));
                    };
                    let raw = v.job_state.unwrap_or_default();
                    items.push(JobSummary {
                        job_id,
                        job_name: v.job_name,
                        state: job_state(&raw),
                        provider_state: raw,
                        priority: v.priority,
                        zone: v.placement.and_then(|p| p.zone),
                        create_time: parse_time(v.create_time.as_deref()),
                        end_time: parse_time(v.end_time.as_deref()),
                        task_counts: v.task_metrics.as_ref().map(task_counts),
                    });
                }
                let next = next_offset(offset, got, reply.value.total_count);
                Ok(Page::new(items, next))
            }
        })
    }

    /// Terminates one task instance (`TerminateTaskInstance`). Returns the request id.
    pub async fn terminate_task_instance(
        &self,
        job: &JobId,
        task: &TaskId,
        index: u64,
    ) -> Result<Option<String>> {
        let mut subject = Subject::task(job.as_str(), task.as_str());
        subject.instance = Some(index);
        let call =
            Call::new(action::TERMINATE_TASK_INSTANCE, OP_TERMINATE_INSTANCE).subject(subject);
        let body = TerminateTaskInstanceRequest {
            job_id: job.as_str().to_string(),
            task_name: task.as_str().to_string(),
            task_instance_index: index,
        };
        let reply: Reply<EmptyResponse> = self.client.call(&call, &body).await?;
        Ok(reply.request_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> TaskRequest {
        TaskRequest::new(
            TaskId::new("hello2").unwrap(),
            "sleep 10",
            ComputeEnvironment::managed("SA5.MEDIUM4", "img-bd78fy2t"),
        )
    }

    #[test]
    fn submit_body_is_the_documented_minimal_job() {
        let req = SubmitJobRequest::new("normal_job", "ap-guangzhou-2")
            .with_description("normal_job")
            .with_priority(1)
            .with_client_token("fbad0aef-8441-4615-b904-c16779e33b00")
            .with_task(task().with_env_var("A", "1").with_max_retry_count(2));
        let v = serde_json::to_value(req.to_body().unwrap()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "Placement": {"Zone": "ap-guangzhou-2"},
                "Job": {
                    "JobName": "normal_job", "JobDescription": "normal_job", "Priority": 1,
                    "Tasks": [{
                        "TaskName": "hello2", "TaskInstanceNum": 1,
                        "Application": {"DeliveryForm": "LOCAL", "Command": "sleep 10"},
                        "ComputeEnv": {"EnvType": "MANAGED",
                                       "EnvData": {"InstanceType": "SA5.MEDIUM4", "ImageId": "img-bd78fy2t"}},
                        "EnvVars": [{"Name": "A", "Value": "1"}],
                        "MaxRetryCount": 2
                    }]
                },
                "ClientToken": "fbad0aef-8441-4615-b904-c16779e33b00"
            })
        );
    }

    #[test]
    fn existing_env_and_generated_token() {
        let t = TaskRequest::new(
            TaskId::new("t").unwrap(),
            "true",
            ComputeEnvironment::Existing("env-1mekuyxs".into()),
        );
        let body = SubmitJobRequest::new("j", "z")
            .with_task(t)
            .to_body()
            .unwrap();
        let token = body.client_token.clone().unwrap();
        assert!(uuid::Uuid::parse_str(&token).is_ok());
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(v["Job"]["Tasks"][0]["EnvId"], "env-1mekuyxs");
        assert!(v["Job"]["Tasks"][0].get("ComputeEnv").is_none());
        assert!(v["Job"]["Tasks"][0].get("EnvVars").is_none());
    }

    #[test]
    fn submit_validation_fails_before_sending() {
        let field = |r: SubmitJobRequest| match r.to_body() {
            Err(Error::InvalidInput { field, ctx, .. }) => {
                assert_eq!(ctx.operation, Operation::Other("submit_job_request"));
                field.into_owned()
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(field(SubmitJobRequest::new("j", "z")), "tasks");
        assert_eq!(
            field(SubmitJobRequest::new("", "z").with_task(task())),
            "job name"
        );
        assert_eq!(
            field(SubmitJobRequest::new("x".repeat(61), "z").with_task(task())),
            "job name"
        );
        assert_eq!(
            field(SubmitJobRequest::new("j", " ").with_task(task())),
            "zone"
        );
        assert_eq!(
            field(SubmitJobRequest::new("j", "z").with_task(task().with_max_retry_count(6))),
            "max retry count"
        );
        assert_eq!(
            field(
                SubmitJobRequest::new("j", "z")
                    .with_task(task())
                    .with_priority(101)
            ),
            "priority"
        );
        assert_eq!(
            field(
                SubmitJobRequest::new("j", "z")
                    .with_task(task())
                    .with_client_token("x".repeat(65))
            ),
            "client token"
        );
    }

    #[test]
    fn describe_jobs_filters() {
        let o = DescribeJobsOptions::default()
            .with_job_ids([JobId::new("job-1").unwrap()])
            .with_job_name("n")
            .with_job_states(["RUNNING", "FAILED"]);
        let names: Vec<&str> = o.filters.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["job-id", "job-name", "job-state"]);
        assert_eq!(o.filters[2].values, ["RUNNING", "FAILED"]);
    }
}
