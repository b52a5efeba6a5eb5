//! Wire JSON types of the Batch API (version 2017-03-12).
//!
//! Field names are the API's PascalCase names. Every field is optional and defaulted, so
//! responses with missing, `null` or unknown fields still parse (Tencent documents many fields
//! as "may return null"); unset fields are omitted from requests, never sent as `null`. Types
//! derive both directions so a test server can reuse them.

use serde::{Deserialize, Serialize};

/// The header value every request carries in `X-TC-Version`.
pub use polybatch_protocol::tencent::API_VERSION;

/// The `Content-Type` sent, and signed byte for byte.
pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// The `X-TC-RequestClient` value (matches `^[0-9a-zA-Z_ ,;.]+$`).
pub const REQUEST_CLIENT: &str = concat!("SDK_RUST_POLYBATCH_", env!("CARGO_PKG_VERSION"));

/// `{"Error": {"Code", "Message"}}` inside a failed response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiError {
    /// The error code, e.g. `ResourceNotFound.Job`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The error message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A name/values filter (`job-id`, `job-name`, `job-state`, `task-instance-state`, ...).
/// Filters are AND-ed; the values of one filter are OR-ed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Filter {
    /// The filter name.
    pub name: String,
    /// The accepted values.
    pub values: Vec<String>,
}

impl Filter {
    /// A filter.
    pub fn new(name: impl Into<String>, values: Vec<String>) -> Self {
        Filter {
            name: name.into(),
            values,
        }
    }
}

// ----- requests -----

/// The body of `TerminateJob`, `DescribeJob` and `DeleteJob`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobIdRequest {
    /// The job.
    pub job_id: String,
}

/// The body of `RetryJobs` (at most 100 ids).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RetryJobsRequest {
    /// The jobs.
    pub job_ids: Vec<String>,
}

/// Ids per `DescribeJobs` request: its `Limit` maximum (the default, 20, would cut an answer
/// about more jobs short, so `Limit` is always sent with `JobIds`).
pub const JOB_IDS_PER_REQUEST: usize = 100;

/// The body of `DescribeJobs`. `JobIds` and `Filters` are mutually exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeJobsRequest {
    /// Jobs to describe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_ids: Option<Vec<String>>,
    /// Filters (`job-id`, `job-name`, `job-state`, `zone`, `tag-key`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<Filter>>,
    /// Where the page starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// Page size (default 20, at most 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

/// The body of `DescribeTask`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeTaskRequest {
    /// The job.
    pub job_id: String,
    /// The task name.
    pub task_name: String,
    /// Where the instance page starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// Instance page size (default 100, at most 1000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// Filters (`task-instance-state`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<Filter>>,
}

/// The body of `TerminateTaskInstance`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TerminateTaskInstanceRequest {
    /// The job.
    pub job_id: String,
    /// The task name.
    pub task_name: String,
    /// The instance index.
    pub task_instance_index: u64,
}

/// Where a job runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Placement {
    /// The availability zone, e.g. `ap-guangzhou-2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// The project id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<i64>,
}

/// What a task runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Application {
    /// `LOCAL` or `PACKAGE`.
    pub delivery_form: String,
    /// The command line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The package's remote path (`PACKAGE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_path: Option<String>,
}

/// The parameters of an anonymous compute environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EnvData {
    /// The CVM instance type, e.g. `SA5.MEDIUM4`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    /// The image id, e.g. `img-bd78fy2t`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
}

/// A compute environment created for one task (`EnvType` `MANAGED`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AnonymousComputeEnv {
    /// The management type (`MANAGED`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env_type: Option<String>,
    /// The environment's parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env_data: Option<EnvData>,
}

/// An environment variable of a task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EnvVar {
    /// The variable name.
    pub name: String,
    /// The variable value.
    pub value: String,
}

/// A task of a submitted job. Exactly one of `ComputeEnv` and `EnvId` must be set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskSpec {
    /// What the task runs.
    pub application: Application,
    /// The task name, unique within the job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_name: Option<String>,
    /// How many instances run (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_instance_num: Option<u64>,
    /// An anonymous compute environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute_env: Option<AnonymousComputeEnv>,
    /// An existing compute environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env_id: Option<String>,
    /// Environment variables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env_vars: Option<Vec<EnvVar>>,
    /// `TERMINATE` (default), `INTERRUPT` or `FAST_INTERRUPT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_action: Option<String>,
    /// Retries after a failure (0 to 5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_retry_count: Option<u64>,
    /// Timeout in seconds (default 86400).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
}

/// A task dependency (DAG edge).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Dependence {
    /// The task that must finish first.
    pub start_task: String,
    /// The task that waits.
    pub end_task: String,
}

/// The job of a `SubmitJob` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobSpec {
    /// The tasks.
    pub tasks: Vec<TaskSpec>,
    /// The job name (at most 60 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    /// The description (at most 200 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_description: Option<String>,
    /// Priority 0 to 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// Task dependencies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dependences: Option<Vec<Dependence>>,
}

/// The body of `SubmitJob`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SubmitJobBody {
    /// Where the job runs.
    pub placement: Placement,
    /// The job.
    pub job: JobSpec,
    /// The idempotency token (at most 64 ASCII characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
}

// ----- responses -----

/// Counts by state (`TaskMetrics`, `TaskInstanceMetrics`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Metrics {
    /// `SUBMITTED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_count: Option<u64>,
    /// `PENDING`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_count: Option<u64>,
    /// `RUNNABLE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runnable_count: Option<u64>,
    /// `STARTING`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starting_count: Option<u64>,
    /// `RUNNING`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running_count: Option<u64>,
    /// `SUCCEED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub succeed_count: Option<u64>,
    /// `FAILED_INTERRUPTED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_interrupted_count: Option<u64>,
    /// `FAILED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_count: Option<u64>,
}

/// A task inside `DescribeJob`'s `TaskSet`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskView {
    /// The task name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_name: Option<String>,
    /// The task state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_state: Option<String>,
    /// When it was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
}

/// The response of `DescribeJob`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeJobResponse {
    /// The job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// The job name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    /// The availability zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// The priority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// The job state (`SUBMITTED` ... `FAILED_INTERRUPTED`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_state: Option<String>,
    /// When it was created (ISO 8601).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    /// When it ended (ISO 8601).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// Its tasks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_set: Option<Vec<TaskView>>,
    /// Task dependencies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dependence_set: Option<Vec<Dependence>>,
    /// Task counts by state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_metrics: Option<Metrics>,
    /// Task-instance counts by state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_instance_metrics: Option<Metrics>,
    /// The failure reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    /// The next action (`TERMINATING` while a terminate is in progress).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_action: Option<String>,
    /// Its tags (may be `null`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    /// The request id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A job inside `DescribeJobs`' `JobSet`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobView {
    /// The job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// The job name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    /// The job state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_state: Option<String>,
    /// The priority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// Where it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    /// When it was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// Task counts by state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_metrics: Option<Metrics>,
    /// Its tags (may be `null`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
}

/// A `{"Key", "Value"}` tag; either may be `null` on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Tag {
    /// The key.
    pub key: Option<String>,
    /// The value.
    pub value: Option<String>,
}

/// Tags as `(key, value)` pairs, skipping any with a `null` half.
pub(crate) fn tag_pairs(tags: Option<&Vec<Tag>>) -> impl Iterator<Item = (&str, &str)> {
    tags.into_iter()
        .flatten()
        .filter_map(|t| Some((t.key.as_deref()?, t.value.as_deref()?)))
}

/// The response of `DescribeJobs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeJobsResponse {
    /// The jobs of this page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_set: Option<Vec<JobView>>,
    /// How many jobs match in total.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_count: Option<u64>,
    /// The request id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A task instance inside `DescribeTask`'s `TaskInstanceSet`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskInstanceView {
    /// The instance index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_instance_index: Option<u64>,
    /// The instance state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_instance_state: Option<String>,
    /// The exit code, once the application exited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    /// Why the instance is in its state (the failure reason when it failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    /// More detail on the reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_detailed_reason: Option<String>,
    /// The compute node's instance id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute_node_instance_id: Option<String>,
    /// When it was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    /// When it was launched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_time: Option<String>,
    /// When it started running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running_time: Option<String>,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
}

/// The response of `DescribeTask`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeTaskResponse {
    /// The job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// The task name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_name: Option<String>,
    /// The task state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_state: Option<String>,
    /// When it was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// How many instances the task has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_instance_total_count: Option<u64>,
    /// The instances of this page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_instance_set: Option<Vec<TaskInstanceView>>,
    /// Instance counts by state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_instance_metrics: Option<Metrics>,
    /// The request id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// The response of `SubmitJob`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SubmitJobResponse {
    /// The new job's id (the job may still fail to parse; poll `DescribeJob`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// The request id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// The response of actions that return only a request id (`TerminateJob`, `RetryJobs`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EmptyResponse {
    /// The request id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_omit_unset_fields() {
        let r = DescribeJobsRequest {
            limit: Some(20),
            ..Default::default()
        };
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"Limit":20}"#);
        let t = TerminateTaskInstanceRequest {
            job_id: "job-1".into(),
            task_name: "A".into(),
            task_instance_index: 3,
        };
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"JobId":"job-1","TaskName":"A","TaskInstanceIndex":3}"#
        );
    }

    #[test]
    fn responses_tolerate_missing_null_and_unknown_fields() {
        let r: DescribeJobResponse = serde_json::from_str(
            r#"{"JobId":"job-1","EndTime":null,"Tags":null,"Surprise":{"a":1},"TaskSet":null}"#,
        )
        .unwrap();
        assert_eq!(r.job_id.as_deref(), Some("job-1"));
        assert!(r.end_time.is_none() && r.task_set.is_none() && r.job_state.is_none());
        let empty: DescribeTaskResponse = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, DescribeTaskResponse::default());
    }

    #[test]
    fn parses_the_documented_describe_job_example() {
        let body = r#"{
          "JobId": "job-97zcl3wt", "JobName": "test job", "Zone": "ap-guangzhou-6", "Priority": 1,
          "JobState": "SUCCEED", "StateReason": "", "NextAction": "",
          "CreateTime": "2018-02-07T09:29:09Z", "EndTime": "2018-02-07T09:33:01Z",
          "TaskSet": [{"TaskName": "A", "TaskState": "SUCCEED", "CreateTime": "2018-02-07T09:29:09Z", "EndTime": "2018-02-07T09:30:31Z"}],
          "DependenceSet": [{"StartTask": "A", "EndTask": "B"}],
          "TaskMetrics": {"SubmittedCount": 0, "PendingCount": 0, "RunnableCount": 0, "StartingCount": 0,
                          "RunningCount": 0, "SucceedCount": 4, "FailedInterruptedCount": 0, "FailedCount": 0},
          "Tags": [{"Key": "k", "Value": "v"}],
          "RequestId": "d1b08863-b8ee-49d4-aa08-f464499f97a0"}"#;
        let r: DescribeJobResponse = serde_json::from_str(body).unwrap();
        assert_eq!(r.job_state.as_deref(), Some("SUCCEED"));
        assert_eq!(r.task_set.unwrap()[0].task_name.as_deref(), Some("A"));
        assert_eq!(r.task_metrics.unwrap().succeed_count, Some(4));
        assert_eq!(r.dependence_set.unwrap()[0].end_task, "B");
    }
}
