//! How AWS Batch spells a spec and its states: what it can express, the checks a submit must
//! pass before any request, the pieces of a `SubmitJob` (job name, command, resources, the
//! `aws` extension), and its statuses in neutral terms. Shared by `polybatch-aws` (which puts
//! the pieces into the SDK's builders) and the in-memory AWS flavour (which puts them into the
//! simulation's request), so a spec means the same thing on both.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::capability::{Capabilities, ListJobsFilters};
use crate::error::{Error, ErrorContext, Operation, Result};
use crate::id::{JobId, TaskId};
use crate::outcome::TerminateDisposition;
use crate::spec::{Command, JobSpec, Placement, Resources, TaskSpec};
use crate::spec_support::SubmitCapabilities;
use crate::state::{JobState, TaskResult, TaskState};

/// The backend name in errors.
pub const BACKEND: &str = "aws";

/// The tag holding the spec's task name (an AWS job has no task of its own to name).
pub const TASK_TAG: &str = "polybatch-task";

/// The largest array job.
pub const MAX_ARRAY_SIZE: u32 = 10_000;
/// The most tags a job carries.
pub const MAX_TAGS: usize = 50;
/// Ids `DescribeJobs` takes in one call.
pub const JOB_IDS_PER_REQUEST: usize = 100;
/// The shortest attempt timeout AWS Batch accepts.
pub const MIN_TIMEOUT: Duration = Duration::from_secs(60);
/// The statuses `ListJobs` takes, one per call.
pub const STATUSES: [&str; 7] = [
    "SUBMITTED",
    "PENDING",
    "RUNNABLE",
    "STARTING",
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
];

fn ctx(op: Operation) -> ErrorContext {
    ErrorContext::new(BACKEND, op)
}

/// What AWS Batch supports, honestly: no per-task reactivation, no preparation and release
/// tasks, no delete (jobs age out after about a week), a retry of failed tasks only as a
/// resubmission of the failed job, and output only as a locator (CloudWatch Logs).
pub fn capabilities() -> Capabilities {
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
    // ListJobs filters by one status per call; names and labels are matched by the trait
    // (labels after a DescribeJobs of each page, since ListJobs returns no tags).
    c.list_jobs_server_filters = ListJobsFilters {
        states: true,
        ..ListJobsFilters::default()
    };
    c.list_tasks = true;
    c.export_job = true;
    // A locator only: the CloudWatch Logs group and stream (stdout and stderr share it).
    c.task_output = true;
    c.task_output_bytes = false;
    c
}

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
    c.extension = Some(BACKEND);
    c
}

/// Tags polybatch keeps for itself; status labels and exports never show them.
pub fn is_hidden_tag(key: &str) -> bool {
    key == TASK_TAG || crate::spec::RESERVED_LABELS.contains(&key)
}

/// An AWS Batch job status as a [`JobState`]. RUNNABLE and STARTING are waiting for or
/// getting compute: pending, as Tencent's RUNNABLE is.
pub fn job_state(s: &str) -> JobState {
    match s {
        "SUBMITTED" => JobState::Submitted,
        "PENDING" | "RUNNABLE" => JobState::Pending,
        "STARTING" | "RUNNING" => JobState::Running,
        "SUCCEEDED" => JobState::Succeeded,
        "FAILED" => JobState::Failed,
        _ => JobState::Unknown,
    }
}

/// The state of an array job from its status and its children's counts: it stays `PENDING`
/// while they run, so it is running once one is starting or running.
pub fn array_job_state(s: &str, starting_or_running: u64) -> JobState {
    match job_state(s) {
        JobState::Pending if starting_or_running > 0 => JobState::Running,
        other => other,
    }
}

/// An AWS Batch job status as the [`TaskState`] of the task it stands for.
pub fn task_state(s: &str) -> TaskState {
    match s {
        "SUBMITTED" | "PENDING" | "RUNNABLE" => TaskState::Pending,
        "STARTING" => TaskState::Preparing,
        "RUNNING" => TaskState::Running,
        "SUCCEEDED" => TaskState::Succeeded,
        "FAILED" => TaskState::Failed,
        _ => TaskState::Unknown,
    }
}

/// A finished task's result from its status.
pub fn task_result(s: &str) -> Option<TaskResult> {
    match s {
        "SUCCEEDED" => Some(TaskResult::Success),
        "FAILED" => Some(TaskResult::Failure),
        _ => None,
    }
}

/// Whether a job in status `s` has not started: a terminate cancels it (it never runs).
pub fn is_before_start(s: &str) -> bool {
    matches!(s, "SUBMITTED" | "PENDING" | "RUNNABLE")
}

/// What a first `TerminateJob` did to a job in status `s` whose array children (none for a
/// plain job) have `children_started` of them started or finished: `Cancelled` when no part
/// of it has run (it never will), else `Accepted` (it is being stopped). An array job stays
/// `PENDING` while its children run, so its own status alone cannot tell.
pub fn terminate_disposition(s: &str, children_started: u64) -> TerminateDisposition {
    if is_before_start(s) && children_started == 0 {
        TerminateDisposition::Cancelled
    } else {
        TerminateDisposition::Accepted
    }
}

/// The children of an array job that have started or finished, from its `statusSummary`.
pub fn children_started(summary: impl Fn(&str) -> u64) -> u64 {
    ["STARTING", "RUNNING", "SUCCEEDED", "FAILED"]
        .iter()
        .map(|k| summary(k))
        .sum()
}

/// The task id of array child `index`, or of the one task of a plain job (`"0"`).
pub fn task_id_of(index: Option<i64>) -> TaskId {
    // AWS never sends a negative index; one would be garbage, read as the first.
    TaskId::index(index.and_then(|i| u64::try_from(i).ok()).unwrap_or(0))
}

/// The job id AWS uses for task `task` of `job`: `job:index` for an array job's child,
/// `job` itself for a plain job's one task ("0").
pub fn aws_id_of_task(job: &JobId, task: &TaskId, is_array: bool) -> Option<String> {
    match (is_array, task.as_str().parse::<u32>()) {
        (true, Ok(i)) => Some(format!("{job}:{i}")),
        (false, Ok(0)) => Some(job.to_string()),
        _ => None,
    }
}

/// A job name AWS accepts (letters, digits, `-`, `_`; the first a letter or digit; at most
/// 128): other characters become `-`.
pub fn job_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        out.insert(0, 'j');
    }
    out.truncate(128);
    out
}

/// The container command of a task: an argv as it is, a shell line through `/bin/sh -c`.
pub fn command_of(task: &TaskSpec) -> Vec<String> {
    match &task.command {
        Command::Argv(argv) => argv.clone(),
        Command::Shell(line) => vec!["/bin/sh".into(), "-c".into(), line.clone()],
        // `Command` may grow: an unknown form is refused before anything is sent.
        #[allow(unreachable_patterns)]
        _ => Vec::new(),
    }
}

/// The spec's command back from a container command ([`command_of`] reversed).
pub fn command_from(raw: &[String]) -> Command {
    match raw {
        [sh, c, line] if sh == "/bin/sh" && c == "-c" => Command::Shell(line.clone()),
        _ => Command::Argv(raw.to_vec()),
    }
}

/// `resourceRequirements` of the spec's resources: (`VCPU` | `MEMORY` | `GPU`, value).
pub fn resources_of(r: &Resources) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(v) = r.vcpus {
        out.push(("VCPU", format!("{v}")));
    }
    if let Some(m) = r.memory_mib {
        out.push(("MEMORY", m.to_string()));
    }
    if let Some(g) = r.gpus {
        out.push(("GPU", g.to_string()));
    }
    out
}

/// Sets the resource `kind` (`VCPU`, `MEMORY`, `GPU`) of `r` from its wire value.
pub fn set_resource(r: &mut Resources, kind: &str, value: &str) {
    match kind {
        "VCPU" => r.vcpus = value.parse().ok(),
        "MEMORY" => r.memory_mib = value.parse().ok(),
        "GPU" => r.gpus = value.parse().ok(),
        _ => {}
    }
}

/// The resource name of an ARN (`arn:aws:batch:r:a:job-queue/NAME` → `NAME`, a definition's
/// `NAME:REVISION`); anything else as it is.
pub fn name_of_arn(arn: &str) -> &str {
    match arn
        .strip_prefix("arn:")
        .and_then(|rest| rest.split_once('/'))
    {
        Some((_, name)) if !name.is_empty() => name,
        _ => arn,
    }
}

/// `dependsOn[]`: a job id and a type (`N_TO_N`, `SEQUENTIAL`); `SEQUENTIAL` alone names no
/// job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// `jobId`.
    pub job_id: Option<String>,
    /// `type`.
    pub kind: Option<String>,
}

/// A checked submit: everything a `SubmitJob` carries, from the spec.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmitParts<'a> {
    /// The job name AWS accepts.
    pub name: String,
    /// `jobQueue`.
    pub job_queue: &'a str,
    /// `jobDefinition`.
    pub job_definition: &'a str,
    /// The one task.
    pub task: &'a TaskSpec,
    /// `containerOverrides.command`.
    pub command: Vec<String>,
    /// `arrayProperties.size`, for several instances.
    pub array_size: Option<i32>,
    /// `retryStrategy.attempts`.
    pub attempts: Option<i32>,
    /// `timeout.attemptDurationSeconds`.
    pub timeout_secs: Option<i32>,
    /// `dependsOn`, from the `aws` extension.
    pub depends_on: Option<Vec<Dependency>>,
    /// `parameters`, from the `aws` extension.
    pub parameters: Option<BTreeMap<String, String>>,
}

/// Checks `spec` against what `SubmitJob` takes and gives its parts; every refusal is before
/// any request.
pub fn submit_parts(spec: &JobSpec) -> Result<SubmitParts<'_>> {
    let op = Operation::SubmitJob;
    let Placement::AwsJobQueue {
        job_queue,
        job_definition,
    } = &spec.placement
    else {
        return Err(Error::unsupported_option(BACKEND, op, "placement"));
    };
    let [task] = spec.tasks.as_slice() else {
        return Err(Error::invalid_input(
            "tasks",
            "an AWS Batch job runs one task (several instances make an array job)",
            ctx(op),
        ));
    };
    let command = command_of(task);
    if command.is_empty() {
        return Err(Error::invalid_input("tasks[].command", "is empty", ctx(op)));
    }
    if let Some(t) = task.timeout
        && t < MIN_TIMEOUT
    {
        return Err(Error::invalid_input(
            "tasks[].timeout",
            "AWS Batch accepts attempt timeouts of 60 s or more",
            ctx(op),
        ));
    }
    let (depends_on, parameters) = extensions(spec)?;
    Ok(SubmitParts {
        name: job_name(&spec.name),
        job_queue,
        job_definition,
        task,
        command,
        array_size: (task.instance_count > 1)
            .then(|| i32::try_from(task.instance_count).unwrap_or(i32::MAX)),
        attempts: task
            .max_retries
            .map(|r| i32::try_from(r.saturating_add(1)).unwrap_or(10)),
        timeout_secs: task
            .timeout
            .map(|t| i32::try_from(t.as_secs()).unwrap_or(i32::MAX)),
        depends_on,
        parameters,
    })
}

type Extensions = (Option<Vec<Dependency>>, Option<BTreeMap<String, String>>);

/// The `aws` extension: `dependsOn` (job ids, or `{"jobId", "type"}` objects; `type` is
/// `N_TO_N` or `SEQUENTIAL` for array jobs, and `{"type": "SEQUENTIAL"}` alone runs each child
/// after the previous) and `parameters` (string substitutions of the job definition).
/// Anything else is refused before a request is sent.
pub fn extensions(spec: &JobSpec) -> Result<Extensions> {
    let Some(ext) = spec.extensions.get(BACKEND) else {
        return Ok((None, None));
    };
    let bad = |why: String| Error::invalid_input("extensions.aws", why, ctx(Operation::SubmitJob));
    let obj = ext
        .as_object()
        .ok_or_else(|| bad("must be an object".into()))?;
    let mut deps = None;
    let mut params = None;
    for (k, v) in obj {
        match k.as_str() {
            "dependsOn" => {
                let list = v
                    .as_array()
                    .ok_or_else(|| bad("dependsOn must be an array".into()))?;
                let mut out = Vec::new();
                for item in list {
                    out.push(match item {
                        Value::String(id) => Dependency {
                            job_id: Some(id.clone()),
                            kind: None,
                        },
                        Value::Object(o) => {
                            let job_id = match o.get("jobId") {
                                None => None,
                                Some(v) => {
                                    Some(v.as_str().map(str::to_string).ok_or_else(|| {
                                        bad("dependsOn[].jobId must be a string".into())
                                    })?)
                                }
                            };
                            let kind = o.get("type").and_then(|v| v.as_str()).map(str::to_string);
                            // Only SEQUENTIAL (each child after the previous) names no job.
                            if job_id.is_none() && kind.as_deref() != Some("SEQUENTIAL") {
                                return Err(bad(
                                    "dependsOn[] needs a jobId unless its type is SEQUENTIAL"
                                        .into(),
                                ));
                            }
                            Dependency { job_id, kind }
                        }
                        _ => return Err(bad("dependsOn[] must be job ids".into())),
                    });
                }
                deps = Some(out);
            }
            "parameters" => {
                let o = v
                    .as_object()
                    .ok_or_else(|| bad("parameters must be an object".into()))?;
                let mut out = BTreeMap::new();
                for (pk, pv) in o {
                    let s = pv
                        .as_str()
                        .ok_or_else(|| bad(format!("parameters.{pk} must be a string")))?;
                    out.insert(pk.clone(), s.to_string());
                }
                params = Some(out);
            }
            other => {
                return Err(bad(format!(
                    "unknown field {other:?} (dependsOn, parameters)"
                )));
            }
        }
    }
    Ok((deps, params))
}

/// The `aws` extension of an exported job: its dependencies and parameters.
pub fn export_extension(
    depends_on: &[Dependency],
    parameters: &BTreeMap<String, String>,
) -> Option<Value> {
    let mut aws = serde_json::Map::new();
    let deps: Vec<Value> = depends_on
        .iter()
        .map(|d| match (&d.job_id, &d.kind) {
            (Some(id), None) => serde_json::json!(id),
            (Some(id), Some(kind)) => serde_json::json!({"jobId": id, "type": kind}),
            (None, kind) => serde_json::json!({"type": kind}),
        })
        .collect();
    if !deps.is_empty() {
        aws.insert("dependsOn".into(), Value::Array(deps));
    }
    if !parameters.is_empty() {
        aws.insert("parameters".into(), serde_json::json!(parameters));
    }
    (!aws.is_empty()).then_some(Value::Object(aws))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(ext: Value) -> JobSpec {
        let task = TaskSpec::shell(TaskId::new("t").unwrap(), "true");
        let mut spec = JobSpec::new(
            "j",
            Placement::AwsJobQueue {
                job_queue: "q".into(),
                job_definition: "d".into(),
            },
            vec![task],
        );
        spec.extensions.insert("aws".into(), ext);
        spec
    }

    #[test]
    fn every_documented_status_has_a_neutral_state() {
        for (s, job, task) in [
            ("SUBMITTED", JobState::Submitted, TaskState::Pending),
            ("PENDING", JobState::Pending, TaskState::Pending),
            ("RUNNABLE", JobState::Pending, TaskState::Pending),
            ("STARTING", JobState::Running, TaskState::Preparing),
            ("RUNNING", JobState::Running, TaskState::Running),
            ("SUCCEEDED", JobState::Succeeded, TaskState::Succeeded),
            ("FAILED", JobState::Failed, TaskState::Failed),
        ] {
            assert_eq!(job_state(s), job, "{s}");
            assert_eq!(task_state(s), task, "{s}");
        }
        assert_eq!(job_state("SUCCEED"), JobState::Unknown);
        assert_eq!(array_job_state("PENDING", 2), JobState::Running);
        assert_eq!(array_job_state("PENDING", 0), JobState::Pending);
        assert_eq!(array_job_state("SUCCEEDED", 2), JobState::Succeeded);
        assert_eq!(
            terminate_disposition("RUNNABLE", 0),
            TerminateDisposition::Cancelled
        );
        assert_eq!(
            terminate_disposition("PENDING", 1),
            TerminateDisposition::Accepted
        );
        assert_eq!(
            terminate_disposition("RUNNING", 0),
            TerminateDisposition::Accepted
        );
        let summary = |k: &str| if k == "RUNNING" { 2 } else { 0 };
        assert_eq!(children_started(summary), 2);
    }

    #[test]
    fn tasks_are_array_indexes() {
        let job = JobId::new("a1b2").unwrap();
        let t = TaskId::new("7").unwrap();
        assert_eq!(aws_id_of_task(&job, &t, true).as_deref(), Some("a1b2:7"));
        assert_eq!(aws_id_of_task(&job, &t, false), None);
        let zero = TaskId::new("0").unwrap();
        assert_eq!(aws_id_of_task(&job, &zero, false).as_deref(), Some("a1b2"));
        assert_eq!(aws_id_of_task(&job, &TaskId::new("x").unwrap(), true), None);
        assert_eq!(task_id_of(Some(12)).as_str(), "12");
        assert_eq!(task_id_of(None).as_str(), "0");
    }

    #[test]
    fn names_commands_and_arns() {
        assert_eq!(job_name("nightly render"), "nightly-render");
        assert_eq!(job_name("_x"), "j_x");
        assert_eq!(job_name("ok-1_2"), "ok-1_2");
        assert_eq!(job_name(&"a".repeat(300)).len(), 128);
        assert_eq!(job_name("été"), "j-t-");
        let t = TaskSpec::shell(TaskId::new("t").unwrap(), "echo hi");
        assert_eq!(command_from(&command_of(&t)), t.command);
        assert_eq!(name_of_arn("arn:aws:batch:us-east-1:1:job-queue/q"), "q");
        assert_eq!(
            name_of_arn("arn:aws:batch:us-east-1:1:job-definition/d:3"),
            "d:3"
        );
        assert_eq!(name_of_arn("plain"), "plain");
        assert_eq!(name_of_arn("arn:nothing"), "arn:nothing");
    }

    #[test]
    fn extensions_round_trip_and_unknown_ones_are_refused() {
        let s = spec(serde_json::json!({
            "dependsOn": ["a", {"jobId": "b", "type": "N_TO_N"}, {"type": "SEQUENTIAL"}],
            "parameters": {"p": "v"}
        }));
        let (deps, params) = extensions(&s).unwrap();
        let (deps, params) = (deps.unwrap(), params.unwrap());
        assert_eq!(deps.len(), 3);
        assert_eq!(params["p"], "v");
        assert_eq!(
            export_extension(&deps, &params),
            s.extensions.get("aws").cloned()
        );
        assert!(extensions(&spec(serde_json::json!({"shareIdentifier": "x"}))).is_err());
        assert!(
            extensions(&spec(
                serde_json::json!({"dependsOn": [{"type": "N_TO_N"}]})
            ))
            .is_err()
        );
        assert!(extensions(&spec(serde_json::json!({"parameters": {"p": 1}}))).is_err());
    }

    #[test]
    fn submits_are_checked_before_any_request() {
        let mut s = spec(serde_json::json!({}));
        s.tasks[0].timeout = Some(Duration::from_secs(59));
        assert!(submit_parts(&s).is_err());
        s.tasks[0].timeout = Some(Duration::from_secs(60));
        s.tasks[0].instance_count = 3;
        s.tasks[0].max_retries = Some(2);
        let p = submit_parts(&s).unwrap();
        assert_eq!(
            (p.array_size, p.attempts, p.timeout_secs),
            (Some(3), Some(3), Some(60))
        );
        s.tasks.push(s.tasks[0].clone());
        assert!(submit_parts(&s).is_err());
    }
}
