//! Azure-only operations (create jobs and tasks, terminate a task, list tasks), used by tests,
//! the emulator suites and the demo.

use futures::stream::BoxStream;
use polybatch::{ETag, Error, ErrorContext, JobId, Operation, Result, TaskId, TaskStatus};
use reqwest::Method;
use serde::Serialize;

use crate::backend::AzureBatchBackend;
use crate::client::Call;
use crate::model::{
    ConstraintsParameter, JobAddParameter, NameValuePair, OnAllTasksComplete, PoolInfoParameter,
    TaskAddParameter, WireJobTask,
};

/// A job preparation or release task: a command line and its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobTaskSpec {
    /// The command line.
    pub command_line: String,
    /// Environment variables, as (name, value).
    pub environment: Vec<(String, String)>,
}

impl JobTaskSpec {
    /// A task running `command_line`.
    pub fn new(command_line: impl Into<String>) -> Self {
        JobTaskSpec {
            command_line: command_line.into(),
            environment: Vec::new(),
        }
    }

    /// Adds an environment variable.
    pub fn with_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.environment.push((name.into(), value.into()));
        self
    }

    fn wire(&self) -> WireJobTask {
        WireJobTask {
            command_line: self.command_line.clone(),
            environment_settings: env(&self.environment),
        }
    }
}

/// Refuses, before anything is sent, a command line or environment the service would refuse
/// (or a process could not be given): an empty or NUL-bearing line, an unusable name.
fn check_task(op: &'static str, command_line: &str, env: &[(String, String)]) -> Result<()> {
    let refuse = |field: &'static str, rule: String| {
        Err(Error::invalid_input(
            field,
            rule,
            ErrorContext::new(crate::BACKEND, Operation::Other(op)),
        ))
    };
    if command_line.trim().is_empty() {
        return refuse("command line", "must not be empty".into());
    }
    if command_line.contains('\0') {
        return refuse("command line", "must not contain NUL".into());
    }
    for (name, value) in env {
        if let Some(rule) = polybatch::env_var_problem(name, value) {
            return refuse("environment", format!("variable {name:?}: {rule}"));
        }
    }
    Ok(())
}

fn env(vars: &[(String, String)]) -> Vec<NameValuePair> {
    vars.iter()
        .map(|(n, v)| NameValuePair {
            name: Some(n.clone()),
            value: Some(v.clone()),
        })
        .collect()
}

/// What [`AzureBatchBackend::add_job`] creates.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AddJobRequest {
    /// The job id.
    pub id: JobId,
    /// The pool the job runs on.
    pub pool_id: String,
    /// Runs on each node before the job's first task there.
    pub job_preparation_task: Option<JobTaskSpec>,
    /// Runs on each node that ran the job's tasks, when the job ends.
    pub job_release_task: Option<JobTaskSpec>,
    /// What happens when all tasks complete (service default: no action).
    pub on_all_tasks_complete: Option<OnAllTasksComplete>,
    /// How many times the service retries a failed task (service default 0).
    pub max_task_retry_count: Option<i32>,
}

impl AddJobRequest {
    /// A job on `pool_id`.
    pub fn new(id: JobId, pool_id: impl Into<String>) -> Self {
        AddJobRequest {
            id,
            pool_id: pool_id.into(),
            job_preparation_task: None,
            job_release_task: None,
            on_all_tasks_complete: None,
            max_task_retry_count: None,
        }
    }

    /// Sets the job preparation task.
    pub fn with_preparation_task(mut self, task: JobTaskSpec) -> Self {
        self.job_preparation_task = Some(task);
        self
    }

    /// Sets the job release task.
    pub fn with_release_task(mut self, task: JobTaskSpec) -> Self {
        self.job_release_task = Some(task);
        self
    }

    /// Sets what happens when all tasks complete.
    pub fn with_on_all_tasks_complete(mut self, action: OnAllTasksComplete) -> Self {
        self.on_all_tasks_complete = Some(action);
        self
    }

    /// Sets the task retry count.
    pub fn with_max_task_retry_count(mut self, n: i32) -> Self {
        self.max_task_retry_count = Some(n);
        self
    }
}

/// What [`AzureBatchBackend::add_task`] creates.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AddTaskRequest {
    /// The task id.
    pub id: TaskId,
    /// The command line.
    pub command_line: String,
    /// Environment variables, as (name, value).
    pub environment: Vec<(String, String)>,
    /// How many times the service retries the task if it fails (service default: the job's).
    pub max_task_retry_count: Option<i32>,
}

impl AddTaskRequest {
    /// A task running `command_line`.
    pub fn new(id: TaskId, command_line: impl Into<String>) -> Self {
        AddTaskRequest {
            id,
            command_line: command_line.into(),
            environment: Vec::new(),
            max_task_retry_count: None,
        }
    }

    /// Adds an environment variable.
    pub fn with_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.environment.push((name.into(), value.into()));
        self
    }

    /// Sets the retry count.
    pub fn with_max_task_retry_count(mut self, n: i32) -> Self {
        self.max_task_retry_count = Some(n);
        self
    }
}

/// The result of an Azure-only write: the resource's new ETag and the request id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct WriteOutcome {
    /// The resource's ETag, when returned.
    pub etag: Option<ETag>,
    /// The service's request id, when returned.
    pub request_id: Option<String>,
}

impl AzureBatchBackend {
    async fn write(&self, call: Call) -> Result<WriteOutcome> {
        let r = self.client().send(&call).await?;
        Ok(WriteOutcome {
            etag: r.etag.map(ETag::new),
            request_id: r.request_id,
        })
    }

    /// Creates a job (`POST /jobs`, 201). Not replayed after it may have reached the service:
    /// a lost response followed by a retry would fail with `JobExists`.
    pub async fn add_job(&self, request: AddJobRequest) -> Result<WriteOutcome> {
        if request.pool_id.trim().is_empty() {
            return Err(Error::invalid_input(
                "pool id",
                "is empty",
                ErrorContext::new(crate::BACKEND, Operation::Other("add_job")),
            ));
        }
        for t in [&request.job_preparation_task, &request.job_release_task]
            .into_iter()
            .flatten()
        {
            check_task("add_job", &t.command_line, &t.environment)?;
        }
        let body = JobAddParameter {
            id: request.id.as_str().to_string(),
            pool_info: PoolInfoParameter {
                pool_id: request.pool_id,
            },
            job_preparation_task: request.job_preparation_task.as_ref().map(JobTaskSpec::wire),
            job_release_task: request.job_release_task.as_ref().map(JobTaskSpec::wire),
            on_all_tasks_complete: request.on_all_tasks_complete,
            constraints: request.max_task_retry_count.map(|n| ConstraintsParameter {
                max_task_retry_count: n,
            }),
        };
        let call = Call::new(Operation::Other("add_job"), Method::POST, &["jobs"])
            .job(request.id.as_str())
            .json(&body)?;
        self.write(call).await
    }

    /// Adds a task to a job (`POST /jobs/{job}/tasks`, 201). Not replayed after it may have
    /// reached the service.
    pub async fn add_task(&self, job: &JobId, request: AddTaskRequest) -> Result<WriteOutcome> {
        check_task("add_task", &request.command_line, &request.environment)?;
        let body = TaskAddParameter {
            id: request.id.as_str().to_string(),
            command_line: request.command_line,
            environment_settings: env(&request.environment),
            constraints: request.max_task_retry_count.map(|n| ConstraintsParameter {
                max_task_retry_count: n,
            }),
        };
        let call = Call::new(
            Operation::Other("add_task"),
            Method::POST,
            &["jobs", job.as_str(), "tasks"],
        )
        .job(job.as_str())
        .task(request.id.as_str())
        .json(&body)?;
        self.write(call).await
    }

    /// The tasks of a job, filtered on the service with an OData `$filter`
    /// (e.g. `state eq 'completed'`), fetched lazily page by page (the trait's `list_tasks`
    /// lists them all).
    pub fn list_tasks_filtered(
        &self,
        job: &JobId,
        filter: Option<String>,
    ) -> BoxStream<'static, Result<TaskStatus>> {
        self.list_tasks_as(Operation::Other("list_tasks"), job, filter, None)
    }
}
