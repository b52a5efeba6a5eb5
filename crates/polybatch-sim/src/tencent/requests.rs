//! Request bodies of the job actions, and SubmitJob's validation into a [`JobSpec`]: the
//! service's parameter rules, shared by every front end over this simulation (the emulator's
//! HTTP front end, the in-memory backend).

use std::collections::HashSet;

use chrono::Duration;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::errors::ApiError;
use super::sim::{DependOn, JobSpec, TaskSpec, topological_order};

pub use polybatch_protocol::sim_env::{DEFAULT_RUN_SECONDS, EXIT_CODE_VAR, RUN_SECONDS_VAR};

/// Deserializes an action's body; a missing field is `MissingParameter`, anything else that
/// does not fit is `InvalidParameter`.
pub fn parse<T: DeserializeOwned>(body: &Value) -> Result<T, ApiError> {
    serde_json::from_value(body.clone()).map_err(|e| {
        let msg = e.to_string();
        let field = |prefix: &str| {
            msg.strip_prefix(prefix)
                .and_then(|rest| rest.split('`').next())
                .map(str::to_string)
        };
        if let Some(f) = field("missing field `") {
            ApiError::missing(&f)
        } else if let Some(f) = field("unknown field `") {
            ApiError::new(
                "UnknownParameter",
                format!("Unknown parameter error: `{f}`."),
            )
        } else {
            ApiError::invalid(format!("Invalid request parameters: {msg}."))
        }
    })
}

pub use polybatch_protocol::tencent::is_job_id;

/// Checks a job id's shape (`InvalidParameter.JobIdMalformed`).
pub fn check_job_id(id: &str) -> Result<(), ApiError> {
    if is_job_id(id) {
        Ok(())
    } else {
        Err(ApiError::new(
            "InvalidParameter.JobIdMalformed",
            format!("Invalid job ID format: `{id}`."),
        ))
    }
}

/// `{"JobId"}`: TerminateJob, DescribeJob, DeleteJob.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobIdRequest {
    /// `JobId`.
    pub job_id: String,
}

/// A `{"Name", "Values"}` filter.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Filter {
    /// `Name`.
    pub name: String,
    /// `Values` (any of them matches).
    pub values: Vec<String>,
}

/// DescribeJobs. Its documented errors include `UnknownParameter`, so a parameter it does not
/// define is refused (the other actions' error lists do not name it).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeJobsRequest {
    /// `JobIds`.
    pub job_ids: Option<Vec<String>>,
    /// `Filters`.
    pub filters: Option<Vec<Filter>>,
    /// `Offset`.
    pub offset: Option<i64>,
    /// `Limit`.
    pub limit: Option<i64>,
}

/// RetryJobs.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetryJobsRequest {
    /// `JobIds`.
    pub job_ids: Vec<String>,
}

/// TerminateTaskInstance.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TerminateTaskInstanceRequest {
    /// `JobId`.
    pub job_id: String,
    /// `TaskName`.
    pub task_name: String,
    /// `TaskInstanceIndex`.
    pub task_instance_index: i64,
}

/// DescribeTask.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeTaskRequest {
    /// `JobId`.
    pub job_id: String,
    /// `TaskName`.
    pub task_name: String,
    /// `Offset`.
    pub offset: Option<i64>,
    /// `Limit`.
    pub limit: Option<i64>,
    /// `Filters`.
    pub filters: Option<Vec<Filter>>,
}

/// DescribeTaskLogs.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeTaskLogsRequest {
    /// `JobId`.
    pub job_id: String,
    /// `TaskName`.
    pub task_name: String,
    /// `TaskInstanceIndexes`.
    pub task_instance_indexes: Option<Vec<u64>>,
    /// `Offset`.
    pub offset: Option<i64>,
    /// `Limit`.
    pub limit: Option<i64>,
}

/// SubmitJob.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubmitJobRequest {
    /// `Placement`.
    pub placement: Placement,
    /// `Job`.
    pub job: JobRequest,
    /// `ClientToken`.
    pub client_token: Option<String>,
}

/// `Placement` (only `Zone` matters here).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Placement {
    /// `Zone`.
    pub zone: String,
}

/// `Job`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobRequest {
    /// `Tasks`.
    pub tasks: Vec<TaskRequest>,
    /// `JobName`.
    pub job_name: Option<String>,
    /// `JobDescription`.
    pub job_description: Option<String>,
    /// `Priority`.
    pub priority: Option<i64>,
    /// `Dependences`.
    pub dependences: Option<Vec<Dependence>>,
    /// `TaskExecutionDependOn`.
    pub task_execution_depend_on: Option<String>,
    /// `Tags`.
    pub tags: Option<Vec<Tag>>,
}

/// `Dependence`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dependence {
    /// `StartTask`.
    pub start_task: String,
    /// `EndTask`.
    pub end_task: String,
}

/// `Tag`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// `Key`.
    pub key: String,
    /// `Value`.
    pub value: String,
}

/// `Task`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskRequest {
    /// `Application`.
    pub application: Application,
    /// `TaskName`.
    pub task_name: Option<String>,
    /// `TaskInstanceNum`.
    pub task_instance_num: Option<i64>,
    /// `ComputeEnv` (not interpreted).
    pub compute_env: Option<Value>,
    /// `EnvId`.
    pub env_id: Option<String>,
    /// `EnvVars`.
    pub env_vars: Option<Vec<EnvVar>>,
    /// `FailedAction`.
    pub failed_action: Option<String>,
    /// `MaxRetryCount`.
    pub max_retry_count: Option<i64>,
    /// `RedirectInfo` (echoed back).
    pub redirect_info: Option<Value>,
}

/// `Application`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Application {
    /// `DeliveryForm`.
    pub delivery_form: String,
    /// `Command`.
    pub command: Option<String>,
    /// `Commands`.
    pub commands: Option<Vec<Value>>,
}

/// `EnvVar`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnvVar {
    /// `Name`.
    pub name: String,
    /// `Value`.
    pub value: String,
}

const MAX_JOB_NAME: usize = 60;
const MAX_JOB_DESCRIPTION: usize = 200;
const MAX_TASK_NAME: usize = 60;
const MAX_TAGS: usize = 10;
const MAX_CLIENT_TOKEN: usize = 64;
/// Keeps one request from allocating without bound.
const MAX_INSTANCES: i64 = 10_000;

/// Parses and validates a SubmitJob body made in `region` (see [`job_spec`]), keeping the
/// `Job` object as submitted.
pub fn submit(body: &Value, region: &str) -> Result<(JobSpec, Option<String>), ApiError> {
    let (mut spec, token) = job_spec(parse(body)?, region)?;
    spec.submitted = body.get("Job").cloned().unwrap_or(Value::Null);
    Ok((spec, token))
}

/// Validates a SubmitJob request made in `region`: the job to create and its ClientToken.
pub fn job_spec(
    req: SubmitJobRequest,
    region: &str,
) -> Result<(JobSpec, Option<String>), ApiError> {
    let zone = req.placement.zone;
    if zone.is_empty() {
        return Err(ApiError::missing("Placement.Zone"));
    }
    if !zone.starts_with(&format!("{region}-")) {
        return Err(ApiError::new(
            "InvalidZone.MismatchRegion",
            format!("Zone `{zone}` is not in region `{region}`."),
        ));
    }
    if let Some(token) = &req.client_token
        && (token.len() > MAX_CLIENT_TOKEN || !token.is_ascii())
    {
        return Err(ApiError::invalid_value(
            "ClientToken must be at most 64 ASCII characters.",
        ));
    }
    let job = req.job;
    let name = job.job_name.unwrap_or_default();
    if name.chars().count() > MAX_JOB_NAME {
        return Err(ApiError::new(
            "InvalidParameter.JobNameTooLong",
            format!("JobName must be at most {MAX_JOB_NAME} characters."),
        ));
    }
    if job
        .job_description
        .is_some_and(|d| d.chars().count() > MAX_JOB_DESCRIPTION)
    {
        return Err(ApiError::new(
            "InvalidParameter.JobDescriptionTooLong",
            format!("JobDescription must be at most {MAX_JOB_DESCRIPTION} characters."),
        ));
    }
    let priority = job.priority.unwrap_or(0);
    if !(0..=100).contains(&priority) {
        return Err(ApiError::invalid_value(
            "Priority must be between 0 and 100.",
        ));
    }
    let tags: Vec<(String, String)> = job
        .tags
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    if tags.len() > MAX_TAGS {
        return Err(ApiError::new(
            "InvalidParameterValue.LimitExceeded",
            format!("At most {MAX_TAGS} tags can be bound to a job."),
        ));
    }
    let depend_on = match job.task_execution_depend_on.as_deref() {
        None => DependOn::PreTaskSucceed,
        Some(s) => DependOn::parse(s).ok_or_else(|| {
            ApiError::invalid_value(format!("Unknown TaskExecutionDependOn `{s}`."))
        })?,
    };
    if job.tasks.is_empty() {
        return Err(ApiError::missing("Job.Tasks"));
    }
    let mut tasks = Vec::with_capacity(job.tasks.len());
    let mut names = HashSet::new();
    let mut total_instances = 0i64;
    for t in job.tasks {
        let task = task_spec(t)?;
        if !names.insert(task.name.clone()) {
            return Err(ApiError::new(
                "InvalidParameter.TaskName",
                format!("Task name `{}` is used twice in the job.", task.name),
            ));
        }
        total_instances += i64::from(task.instance_num);
        if total_instances > MAX_INSTANCES {
            return Err(ApiError::new(
                "InvalidParameterValue.LimitExceeded",
                format!("A job may have at most {MAX_INSTANCES} task instances."),
            ));
        }
        tasks.push(task);
    }
    let mut dependences = Vec::new();
    for d in job.dependences.unwrap_or_default() {
        for name in [&d.start_task, &d.end_task] {
            if !names.contains(name) {
                return Err(ApiError::new(
                    "InvalidParameterValue.DependenceNotFoundTaskName",
                    format!("Dependence names task `{name}`, which the job does not have."),
                ));
            }
        }
        dependences.push((d.start_task, d.end_task));
    }
    let index = |n: &str| tasks.iter().position(|t| t.name == n);
    let mut prerequisites = vec![Vec::new(); tasks.len()];
    for (s, e) in &dependences {
        if let (Some(s), Some(e)) = (index(s), index(e))
            && let Some(p) = prerequisites.get_mut(e)
        {
            p.push(s);
        }
    }
    if topological_order(&prerequisites).is_none() {
        return Err(ApiError::new(
            "InvalidParameterValue.DependenceUnfeasible",
            "The task dependences contain a cycle.",
        ));
    }
    Ok((
        JobSpec {
            name,
            zone,
            priority,
            tasks,
            dependences,
            depend_on,
            tags,
            submitted: Value::Null,
        },
        req.client_token,
    ))
}

fn task_spec(t: TaskRequest) -> Result<TaskSpec, ApiError> {
    let name = t
        .task_name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::missing("Job.Tasks.N.TaskName"))?;
    if name.chars().count() > MAX_TASK_NAME {
        return Err(ApiError::new(
            "InvalidParameter.TaskNameTooLong",
            format!("TaskName must be at most {MAX_TASK_NAME} characters."),
        ));
    }
    let app = t.application;
    if !matches!(app.delivery_form.as_str(), "LOCAL" | "PACKAGE") {
        return Err(ApiError::invalid_value(format!(
            "Application.DeliveryForm must be LOCAL or PACKAGE, not `{}`.",
            app.delivery_form
        )));
    }
    let has_command = app.command.as_deref().is_some_and(|c| !c.is_empty());
    let has_commands = app.commands.as_ref().is_some_and(|c| !c.is_empty());
    if has_command == has_commands {
        return Err(ApiError::new(
            "InvalidParameter.InvalidParameterCombination",
            "Exactly one of Application.Command and Application.Commands must be given.",
        ));
    }
    let compute_env = t.compute_env.filter(|v| !v.is_null());
    if compute_env.is_some() == t.env_id.is_some() {
        return Err(ApiError::new(
            "AllowedOneAttributeInEnvIdAndComputeEnv",
            "Exactly one of ComputeEnv and EnvId must be given for each task.",
        ));
    }
    if let Some(env) = &t.env_id {
        let ok = env.strip_prefix("env-").is_some_and(|s| {
            s.len() == 8
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        });
        if !ok {
            return Err(ApiError::new(
                "InvalidParameter.EnvIdMalformed",
                format!("Invalid compute environment ID format: `{env}`."),
            ));
        }
    }
    let instance_num = t.task_instance_num.unwrap_or(1);
    if !(1..=MAX_INSTANCES).contains(&instance_num) {
        return Err(ApiError::new(
            "InvalidParameterValue.TaskInstanceNum",
            format!("TaskInstanceNum must be between 1 and {MAX_INSTANCES}."),
        ));
    }
    let max_retry = t.max_retry_count.unwrap_or(0);
    if !(0..=5).contains(&max_retry) {
        return Err(ApiError::new(
            "InvalidParameterValue.MaxRetryCount",
            "MaxRetryCount must be between 0 and 5.",
        ));
    }
    let interrupt_on_failure = match t.failed_action.as_deref() {
        None | Some("TERMINATE") => false,
        Some("INTERRUPT" | "FAST_INTERRUPT") => true,
        Some(other) => {
            return Err(ApiError::invalid_value(format!(
                "FailedAction must be TERMINATE, INTERRUPT or FAST_INTERRUPT, not `{other}`."
            )));
        }
    };
    let mut exit_code = 0i64;
    let mut run_seconds = DEFAULT_RUN_SECONDS;
    for var in t.env_vars.unwrap_or_default() {
        match var.name.as_str() {
            EXIT_CODE_VAR => {
                exit_code = var.value.trim().parse().map_err(|_| {
                    ApiError::invalid_value(format!("{EXIT_CODE_VAR} must be an integer."))
                })?;
            }
            RUN_SECONDS_VAR => {
                run_seconds = var
                    .value
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && (0.0..=1e7).contains(s))
                    .ok_or_else(|| {
                        ApiError::invalid_value(format!(
                            "{RUN_SECONDS_VAR} must be a number of seconds between 0 and 1e7."
                        ))
                    })?;
            }
            _ => {}
        }
    }
    // Bounded above, so the conversion to whole milliseconds is exact enough and cannot overflow.
    #[allow(clippy::cast_possible_truncation)]
    let run_time = Duration::milliseconds((run_seconds * 1000.0).round() as i64);
    Ok(TaskSpec {
        name,
        instance_num: u32::try_from(instance_num).unwrap_or(1),
        exit_code,
        run_time,
        max_retry: u32::try_from(max_retry).unwrap_or(0),
        interrupt_on_failure,
        env_id: t.env_id,
        redirect_info: t.redirect_info.filter(|v| !v.is_null()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn submit(body: Value) -> Result<(JobSpec, Option<String>), ApiError> {
        job_spec(parse(&body)?, "ap-guangzhou")
    }

    fn minimal() -> Value {
        json!({
            "Placement": {"Zone": "ap-guangzhou-2"},
            "Job": {"JobName": "j", "Tasks": [{
                "TaskName": "A",
                "Application": {"DeliveryForm": "LOCAL", "Command": "true"},
                "ComputeEnv": {"EnvType": "MANAGED"},
                "EnvVars": [{"Name": "POLYBATCH_EXIT_CODE", "Value": "3"},
                            {"Name": "POLYBATCH_RUN_SECONDS", "Value": "0.5"}]
            }]},
            "ClientToken": "tok"
        })
    }

    fn code(r: Result<(JobSpec, Option<String>), ApiError>) -> String {
        r.err().map(|e| e.code).unwrap_or_default()
    }

    #[test]
    fn minimal_job_parses() {
        let (spec, token) = submit(minimal()).unwrap();
        assert_eq!(token.as_deref(), Some("tok"));
        assert_eq!(spec.tasks[0].exit_code, 3);
        assert_eq!(spec.tasks[0].run_time, Duration::milliseconds(500));
        assert_eq!(spec.tasks[0].instance_num, 1);
        assert_eq!(spec.depend_on, DependOn::PreTaskSucceed);
    }

    #[test]
    fn validation_codes() {
        let mut b = minimal();
        b["Job"]["Tasks"][0]["EnvId"] = json!("env-abcd1234");
        assert_eq!(code(submit(b)), "AllowedOneAttributeInEnvIdAndComputeEnv");
        let mut b = minimal();
        b["Job"]["Tasks"][0]["ComputeEnv"] = Value::Null;
        assert_eq!(code(submit(b)), "AllowedOneAttributeInEnvIdAndComputeEnv");
        let mut b = minimal();
        b["Job"]["JobName"] = json!("x".repeat(61));
        assert_eq!(code(submit(b)), "InvalidParameter.JobNameTooLong");
        let mut b = minimal();
        b["Job"]["Tasks"] = json!([]);
        assert_eq!(code(submit(b)), "MissingParameter");
        let mut b = minimal();
        b["Job"]["Tasks"][0]
            .as_object_mut()
            .unwrap()
            .remove("Application");
        assert_eq!(code(submit(b)), "MissingParameter");
        let mut b = minimal();
        b["Job"]["Tasks"][0]["Application"]["Commands"] = json!([{"Command": "x"}]);
        assert_eq!(
            code(submit(b)),
            "InvalidParameter.InvalidParameterCombination"
        );
        let mut b = minimal();
        b["Placement"]["Zone"] = json!("ap-shanghai-2");
        assert_eq!(code(submit(b)), "InvalidZone.MismatchRegion");
        let mut b = minimal();
        b["Job"]["Dependences"] = json!([{"StartTask": "A", "EndTask": "Z"}]);
        assert_eq!(
            code(submit(b)),
            "InvalidParameterValue.DependenceNotFoundTaskName"
        );
        let mut b = minimal();
        b["Job"]["Dependences"] = json!([{"StartTask": "A", "EndTask": "A"}]);
        assert_eq!(
            code(submit(b)),
            "InvalidParameterValue.DependenceUnfeasible"
        );
        let mut b = minimal();
        b["Job"]["Tasks"][0]["MaxRetryCount"] = json!(6);
        assert_eq!(code(submit(b)), "InvalidParameterValue.MaxRetryCount");
        let mut b = minimal();
        b["Job"]["Tasks"] = json!("nope");
        assert_eq!(code(submit(b)), "InvalidParameter");
    }
}
