//! A [`JobSpec`] as Azure Batch requests: `Job_Add`, then the tasks (`Task_AddCollection`, up
//! to 100 a request), then `Job_Patch` with `onAllTasksComplete: terminatejob`, as Batch
//! advises: a job added with that setting and no tasks yet would complete at once.
//!
//! Azure job ids are the client's to choose, so the id is derived from the spec's name and
//! idempotency key: a repeated submit names the same job, gets `JobExists`, and finds the key
//! in the job's metadata.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{join_argv, merge_extension, quote};
use crate::error::{Error, Result};
use crate::id::JobId;
use crate::spec::{
    Command, IDEMPOTENCY_LABEL, IdempotencyKey, JobSpec, Placement, SUBMIT_LABEL, TaskSpec,
    stable_digest,
};
use crate::spec_support::SubmitCapabilities;

const BACKEND: &str = "azure";

/// Which `list_jobs` filters Job_List's `$filter` carries: the state (`state eq 'active' or
/// ...`). Metadata cannot be filtered on, and names and creation times are matched on what
/// the service sends.
pub const LIST_JOBS_SERVER_FILTERS: crate::ListJobsFilters = crate::ListJobsFilters {
    states: true,
    labels: false,
    name_prefix: false,
    created: false,
};

/// The Batch state a neutral job state stands for, when there is one.
pub fn job_state_name(state: crate::JobState) -> Option<&'static str> {
    use crate::JobState as S;
    Some(match state {
        S::Active => "active",
        S::Disabling => "disabling",
        S::Disabled => "disabled",
        S::Enabling => "enabling",
        S::Terminating => "terminating",
        S::Completed => "completed",
        S::Deleting => "deleting",
        _ => return None,
    })
}

/// Tasks per `Task_AddCollection` request (Batch's limit).
pub const TASKS_PER_REQUEST: usize = 100;

/// The body of the `Job_Patch` that lets a job complete once its tasks have.
pub fn complete_when_tasks_done() -> Value {
    json!({"onAllTasksComplete": "terminatejob"})
}

/// What Azure Batch can express of a spec.
pub fn submit_capabilities() -> SubmitCapabilities {
    let mut c = SubmitCapabilities::all();
    c.placement_tencent_environment = false;
    c.placement_tencent_managed = false;
    c.placement_aws_job_queue = false;
    // Tasks take their machine from the pool; there is no per-task request.
    c.vcpus = false;
    c.memory = false;
    c.gpus = false;
    // Multi-instance tasks are MPI gangs, not independent copies: not the same thing.
    c.max_instance_count = 1;
    c.max_retries = i32::MAX as u32;
    c.priority = (-1000, 1000);
    c.max_name_len = 1024;
    c
}

/// The job id a spec with this name and key is submitted under: the name's id-safe
/// characters (at most 40), a hyphen, and 16 hex digits of the key.
pub fn job_id(name: &str, key: &IdempotencyKey) -> Result<JobId> {
    let mut stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    if stem.trim_matches('-').is_empty() {
        stem = "job".into();
    }
    // Not a security measure: the key itself is checked in the metadata.
    JobId::new(format!("{stem}-{:016x}", stable_digest(key.as_str())))
}

/// The `commandLine` of a task: an argv joined with POSIX quoting, a shell line under
/// `/bin/sh -c` (Batch starts the program directly, without a shell).
pub fn command_line(command: &Command) -> Result<String> {
    match command {
        Command::Argv(argv) => join_argv(BACKEND, argv),
        Command::Shell(line) => Ok(format!("/bin/sh -c {}", quote(BACKEND, line)?)),
    }
}

fn name_values(map: &BTreeMap<String, String>) -> Vec<Value> {
    map.iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect()
}

/// A fresh nonce for one submit call ([`SUBMIT_LABEL`]).
pub fn submit_nonce() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// The `Job_Add` body; `nonce` tells this submit call's job from an earlier call's.
pub fn job_add_body(
    spec: &JobSpec,
    id: &JobId,
    key: &IdempotencyKey,
    nonce: &str,
) -> Result<Value> {
    let Placement::AzurePool { pool_id } = &spec.placement else {
        return Err(Error::unsupported_option(
            BACKEND,
            crate::Operation::SubmitJob,
            "placement",
        ));
    };
    let mut metadata = name_values(&spec.labels);
    metadata.push(json!({"name": IDEMPOTENCY_LABEL, "value": key.as_str()}));
    metadata.push(json!({"name": SUBMIT_LABEL, "value": nonce}));
    let mut body = Map::new();
    body.insert("id".into(), json!(id.as_str()));
    body.insert("displayName".into(), json!(spec.name));
    body.insert("poolInfo".into(), json!({"poolId": pool_id}));
    body.insert("metadata".into(), Value::Array(metadata));
    body.insert("onAllTasksComplete".into(), json!("noaction"));
    if let Some(p) = spec.priority {
        body.insert("priority".into(), json!(p));
    }
    if spec.tasks.iter().any(|t| !t.depends_on.is_empty()) {
        body.insert("usesTaskDependencies".into(), json!(true));
    }
    merge_extension(BACKEND, spec, &mut body)?;
    Ok(Value::Object(body))
}

/// One task of `Task_AddCollection` (or the body of `Task_Add`).
pub fn task_body(task: &TaskSpec) -> Result<Value> {
    let mut body = Map::new();
    body.insert("id".into(), json!(task.name.as_str()));
    body.insert("commandLine".into(), json!(command_line(&task.command)?));
    if let Some(image) = &task.image {
        body.insert("containerSettings".into(), json!({"imageName": image}));
    }
    if !task.env.is_empty() {
        body.insert(
            "environmentSettings".into(),
            Value::Array(name_values(&task.env)),
        );
    }
    let mut constraints = Map::new();
    if let Some(n) = task.max_retries {
        constraints.insert("maxTaskRetryCount".into(), json!(n));
    }
    if let Some(t) = task.timeout {
        constraints.insert(
            "maxWallClockTime".into(),
            json!(format!("PT{}S", t.as_secs())),
        );
    }
    if !constraints.is_empty() {
        body.insert("constraints".into(), Value::Object(constraints));
    }
    if !task.depends_on.is_empty() {
        let ids: Vec<&str> = task.depends_on.iter().map(|t| t.as_str()).collect();
        body.insert("dependsOn".into(), json!({"taskIds": ids}));
    }
    Ok(Value::Object(body))
}

/// Why a job found under a submit's id (`JobExists`) is not that submit's earlier job, as a
/// code and message: it carries another key (or none), or it is being deleted. `None`: it is
/// the earlier submit, to be completed.
pub fn existing_job_conflict(
    id: &JobId,
    key: &IdempotencyKey,
    state: &str,
    metadata: Option<&Value>,
) -> Option<(&'static str, String)> {
    let (_, found) = labels_from_metadata(metadata);
    if found.as_deref() != Some(key.as_str()) {
        Some((
            "JobExists",
            format!("job {id} exists and was not submitted with this idempotency key"),
        ))
    } else if state == "deleting" {
        Some((
            "JobBeingDeleted",
            format!("the job {id} submitted with this key is being deleted; submit with a new key"),
        ))
    } else {
        None
    }
}

/// Properties the service adds to every job and task it answers with.
const SERVICE_ADDED: &[&str] = &[
    "odata.metadata",
    "url",
    "eTag",
    "lastModified",
    "creationTime",
    "state",
    "stateTransitionTime",
    "previousState",
    "previousStateTransitionTime",
    "executionInfo",
    "stats",
];

/// Job properties the spec maps (with [`SERVICE_ADDED`], not an extension). A defaulted
/// property with a non-default value is one (see [`export`]).
const JOB_MAPPED: &[&str] = &[
    "id",
    "displayName",
    "priority",
    "poolInfo",
    "metadata",
    "onAllTasksComplete",
    "usesTaskDependencies",
];

/// Task properties the spec maps, and those the service adds to tasks only.
const TASK_MAPPED: &[&str] = &[
    "id",
    "commandLine",
    "containerSettings",
    "environmentSettings",
    "constraints",
    "dependsOn",
    "nodeInfo",
    "requiredSlots",
    "userIdentity",
    "displayName",
];

fn mapped(list: &[&str], name: &str) -> bool {
    list.contains(&name) || SERVICE_ADDED.contains(&name)
}

/// The values Batch reports for properties nobody set: not worth carrying.
fn is_job_default(name: &str, v: &Value) -> bool {
    match name {
        "maxParallelTasks" => v == &json!(-1),
        "allowTaskPreemption" => v == &json!(false),
        "onTaskFailure" => v
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("noaction")),
        "constraints" => {
            let unlimited = v
                .get("maxWallClockTime")
                .is_none_or(|t| t.as_str() == Some(UNLIMITED));
            let no_retry = v.get("maxTaskRetryCount").is_none_or(|n| n == &json!(0));
            unlimited && no_retry
        }
        _ => false,
    }
}

/// Batch's "unlimited" duration (.NET `TimeSpan.MaxValue`), as the simulation renders it.
pub use polybatch_sim::azure::UNLIMITED;

/// An ISO 8601 duration of days, hours, minutes and whole seconds (`PT90S`, `P1DT2H`), as
/// seconds; `None` for anything else (the unlimited value included).
fn iso_secs(s: &str) -> Option<u64> {
    let rest = s.strip_prefix('P')?;
    let (days, time) = match rest.split_once('T') {
        Some((d, t)) => (d, t),
        None => (rest, ""),
    };
    let mut total: u64 = 0;
    let mut num = String::new();
    for (part, units) in [
        (days, &[('D', 86_400u64)][..]),
        (time, &[('H', 3600), ('M', 60), ('S', 1)][..]),
    ] {
        for c in part.chars() {
            if c.is_ascii_digit() {
                num.push(c);
            } else {
                let (_, mult) = units.iter().find(|(u, _)| *u == c)?;
                total = total.checked_add(num.parse::<u64>().ok()?.checked_mul(*mult)?)?;
                num.clear();
            }
        }
        if !num.is_empty() {
            return None;
        }
    }
    Some(total)
}

/// A `commandLine` back as a [`Command`]: `/bin/sh -c LINE` is the shell line, anything else
/// the words it splits into (as [`command_line`] joined them).
pub fn command_of(line: &str) -> Command {
    match shlex::split(line) {
        Some(words) if words.len() == 3 && words[0] == "/bin/sh" && words[1] == "-c" => {
            Command::Shell(words[2].clone())
        }
        Some(words) if !words.is_empty() => Command::Argv(words),
        _ => Command::Shell(line.to_string()),
    }
}

fn name_value_map(v: Option<&Value>) -> BTreeMap<String, String> {
    pairs(v)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A job as Job_Get answers it and its tasks as Task_List does, back as a spec (see
/// `docs/lifecycle.md` for the normalisations: a priority or retry count of 0 is unset).
pub fn export(job: &Value, tasks: &[Value]) -> Result<crate::spec::ExportedJob> {
    let op = crate::Operation::Other("export_job");
    let bad = |what: String| {
        Error::service(
            None,
            false,
            crate::ErrorContext::new(BACKEND, op).with_message(what),
        )
    };
    let id = job.get("id").and_then(Value::as_str).unwrap_or_default();
    let pool_id = job
        .get("poolInfo")
        .and_then(|p| p.get("poolId"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            bad(format!(
                "job {id:?} names no pool (an auto pool has no neutral form)"
            ))
        })?;
    let (labels, key) = labels_from_metadata(job.get("metadata"));
    let mut specs = Vec::new();
    let mut dropped = Vec::new();
    for t in tasks {
        let tid = t.get("id").and_then(Value::as_str).unwrap_or_default();
        let name = crate::TaskId::new(tid)
            .map_err(|_| bad(format!("task id {tid:?} is not a valid id")))?;
        let line = t
            .get("commandLine")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut spec = TaskSpec::new(name, command_of(line));
        spec.image = t
            .get("containerSettings")
            .and_then(|c| c.get("imageName"))
            .and_then(Value::as_str)
            .map(String::from);
        spec.env = name_value_map(t.get("environmentSettings"));
        let c = t.get("constraints");
        spec.max_retries = c
            .and_then(|c| c.get("maxTaskRetryCount"))
            .and_then(Value::as_u64)
            .filter(|n| *n > 0)
            .and_then(|n| u32::try_from(n).ok());
        spec.timeout = c
            .and_then(|c| c.get("maxWallClockTime"))
            .and_then(Value::as_str)
            .and_then(iso_secs)
            .map(std::time::Duration::from_secs);
        spec.depends_on = t
            .get("dependsOn")
            .and_then(|d| d.get("taskIds"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| crate::TaskId::new(v.as_str()?).ok())
            .collect();
        if let Some(fields) = t.as_object() {
            for k in fields.keys().filter(|k| !mapped(TASK_MAPPED, k)) {
                dropped.push(format!("tasks[{tid}].{k}"));
            }
        }
        specs.push(spec);
    }
    let mut spec = JobSpec::new(
        job.get("displayName").and_then(Value::as_str).unwrap_or(id),
        Placement::AzurePool {
            pool_id: pool_id.to_string(),
        },
        specs,
    );
    spec.labels = labels;
    spec.idempotency_key = key.and_then(|k| IdempotencyKey::new(k).ok());
    spec.priority = job
        .get("priority")
        .and_then(Value::as_i64)
        .filter(|p| *p != 0)
        .and_then(|p| i32::try_from(p).ok());
    let extension: Map<String, Value> = job
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| !mapped(JOB_MAPPED, k) && !is_job_default(k, v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !extension.is_empty() {
        spec.extensions
            .insert(BACKEND.to_string(), Value::Object(extension));
    }
    Ok(crate::spec::ExportedJob { spec, dropped })
}

/// A job's `metadata` pairs, skipping malformed entries.
fn pairs(metadata: Option<&Value>) -> impl Iterator<Item = (&str, &str)> {
    metadata
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| {
            Some((
                item.get("name").and_then(Value::as_str)?,
                item.get("value").and_then(Value::as_str)?,
            ))
        })
}

/// A job's `metadata` as labels, and the idempotency key among them (the reserved entries
/// taken out).
pub fn labels_from_metadata(
    metadata: Option<&Value>,
) -> (BTreeMap<String, String>, Option<String>) {
    let mut labels = BTreeMap::new();
    let mut key = None;
    for (name, value) in pairs(metadata) {
        if name == IDEMPOTENCY_LABEL {
            key = Some(value.to_string());
        } else if name != SUBMIT_LABEL {
            labels.insert(name.to_string(), value.to_string());
        }
    }
    (labels, key)
}

/// Whether the job's metadata says the submit call with `nonce` created it.
pub fn created_by(metadata: Option<&Value>, nonce: &str) -> bool {
    pairs(metadata).any(|(n, v)| n == SUBMIT_LABEL && v == nonce)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::TaskId;

    fn key() -> IdempotencyKey {
        IdempotencyKey::new("k-1").unwrap()
    }

    #[test]
    fn ids_are_stable_per_key_and_safe() {
        let a = job_id("nightly render!", &key()).unwrap();
        assert_eq!(a, job_id("nightly render!", &key()).unwrap());
        assert!(a.as_str().starts_with("nightly-render--"), "{a}");
        assert_ne!(
            a,
            job_id("nightly render!", &IdempotencyKey::new("k-2").unwrap()).unwrap()
        );
        assert!(job_id(&"x".repeat(500), &key()).unwrap().as_str().len() <= 64);
        assert!(job_id("!!!", &key()).unwrap().as_str().starts_with("job-"));
    }

    #[test]
    fn commands_keep_their_words() {
        let argv = vec!["echo".to_string(), "a b".into(), "it's".into()];
        let line = command_line(&Command::Argv(argv.clone())).unwrap();
        assert_eq!(shlex::split(&line).unwrap(), argv);
        let line = command_line(&Command::Shell("echo $HOME && ls 'x'".into())).unwrap();
        let words = shlex::split(&line).unwrap();
        assert_eq!(words, ["/bin/sh", "-c", "echo $HOME && ls 'x'"]);
        assert!(command_line(&Command::Shell("a\0b".into())).is_err());
    }

    #[test]
    fn bodies_carry_every_field() {
        let task = TaskSpec::shell(TaskId::new("b").unwrap(), "true")
            .with_env("A", "1")
            .with_image("ubuntu:24.04")
            .with_max_retries(2)
            .with_timeout(Duration::from_secs(90))
            .with_dependency(TaskId::new("a").unwrap());
        let body = task_body(&task).unwrap();
        assert_eq!(body["constraints"]["maxWallClockTime"], "PT90S");
        assert_eq!(body["constraints"]["maxTaskRetryCount"], 2);
        assert_eq!(body["dependsOn"]["taskIds"][0], "a");
        assert_eq!(body["containerSettings"]["imageName"], "ubuntu:24.04");
        let spec = JobSpec::new(
            "n",
            Placement::AzurePool {
                pool_id: "p".into(),
            },
            vec![task],
        )
        .with_label("team", "x")
        .with_priority(5);
        let id = job_id("n", &key()).unwrap();
        let job = job_add_body(&spec, &id, &key(), "n1").unwrap();
        assert!(created_by(job.get("metadata"), "n1"));
        assert!(!created_by(job.get("metadata"), "n2"));
        assert_eq!(job["usesTaskDependencies"], true);
        assert_eq!(job["onAllTasksComplete"], "noaction");
        let (labels, k) = labels_from_metadata(job.get("metadata"));
        assert_eq!(labels.get("team").map(String::as_str), Some("x"));
        assert_eq!(k.as_deref(), Some("k-1"));
    }

    #[test]
    fn export_reads_back_what_submit_wrote() {
        let task = TaskSpec::new(
            TaskId::new("b").unwrap(),
            Command::Argv(vec!["echo".into(), "a b".into()]),
        )
        .with_env("A", "1")
        .with_max_retries(2)
        .with_timeout(Duration::from_secs(5400))
        .with_dependency(TaskId::new("a").unwrap());
        let first = TaskSpec::shell(TaskId::new("a").unwrap(), "echo $HOME");
        let mut spec = JobSpec::new(
            "n",
            Placement::AzurePool {
                pool_id: "p".into(),
            },
            vec![first, task],
        )
        .with_label("team", "x")
        .with_priority(5)
        .with_idempotency_key(key());
        spec.extensions
            .insert("azure".into(), json!({"maxParallelTasks": 4}));
        let id = job_id("n", &key()).unwrap();
        let mut job = job_add_body(&spec, &id, &key(), "nonce").unwrap();
        // As the service renders it: defaults added.
        job["allowTaskPreemption"] = json!(false);
        job["state"] = json!("active");
        let mut tasks: Vec<Value> = spec.tasks.iter().map(|t| task_body(t).unwrap()).collect();
        tasks[0]["resourceFiles"] = json!([]);
        let exported = export(&job, &tasks).unwrap();
        assert_eq!(exported.spec, spec);
        assert_eq!(exported.dropped, ["tasks[a].resourceFiles"]);
        assert_eq!(exported.unportable().len(), 2);
        assert_eq!(iso_secs("P1DT2H3M4S"), Some(93_784));
        assert_eq!(iso_secs(UNLIMITED), None);
    }

    #[test]
    fn an_extension_may_add_but_not_override() {
        let mut spec = JobSpec::new(
            "n",
            Placement::AzurePool {
                pool_id: "p".into(),
            },
            vec![TaskSpec::shell(TaskId::new("a").unwrap(), "true")],
        );
        spec.extensions
            .insert("azure".into(), json!({"maxParallelTasks": 4}));
        let id = job_id("n", &key()).unwrap();
        assert_eq!(
            job_add_body(&spec, &id, &key(), "n").unwrap()["maxParallelTasks"],
            4
        );
        spec.extensions
            .insert("azure".into(), json!({"poolInfo": {}}));
        assert!(job_add_body(&spec, &id, &key(), "n").is_err());
    }
}
