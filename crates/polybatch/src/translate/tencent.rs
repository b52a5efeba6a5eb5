//! A [`JobSpec`] as Tencent Batch's `SubmitJob`: the key is the `ClientToken` (the service's
//! own idempotency) and a tag, so that a submit repeated after the token's window, or by a
//! restarted caller, finds the job with `DescribeJobs` filtered by that tag.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{merge_extension, shell_line};
use crate::error::{Error, Result};
use crate::spec::{IDEMPOTENCY_LABEL, IdempotencyKey, JobSpec, Placement, TaskSpec};
use crate::spec_support::SubmitCapabilities;

const BACKEND: &str = "tencent";

/// Tags a job can carry (`Job.Tags`: "max 10").
pub const MAX_TAGS: usize = 10;

/// What Tencent Batch can express of a spec.
pub fn submit_capabilities() -> SubmitCapabilities {
    let mut c = SubmitCapabilities::all();
    c.placement_azure_pool = false;
    c.placement_aws_job_queue = false;
    // The instance type sizes the machine; there is no per-task request.
    c.vcpus = false;
    c.memory = false;
    c.gpus = false;
    c.max_retries = 5;
    // `Timeout` is an Int64 on the wire.
    c.max_timeout_secs = i64::MAX as u64;
    c.priority = (0, 100);
    // One tag holds the idempotency key.
    c.max_labels = MAX_TAGS - 1;
    c.max_name_len = 60;
    c.extension = Some(BACKEND);
    c
}

/// Which `list_jobs` filters `DescribeJobs` carries: `job-state` and `tag:KEY`. Names are
/// matched on what it sends (its `job-name` filter is an exact match, not a prefix), and
/// creation times too.
pub const LIST_JOBS_SERVER_FILTERS: crate::ListJobsFilters = crate::ListJobsFilters {
    states: true,
    labels: true,
    name_prefix: false,
    created: false,
};

/// The Tencent states a neutral job state stands for (none: no Tencent job is in it).
pub fn job_state_names(state: crate::JobState) -> &'static [&'static str] {
    use crate::JobState as S;
    match state {
        S::Submitted => &["SUBMITTED"],
        S::Pending => &["PENDING", "RUNNABLE"],
        S::Running => &["STARTING", "RUNNING"],
        S::Succeeded => &["SUCCEED"],
        S::Failed => &["FAILED"],
        S::Interrupted => &["FAILED_INTERRUPTED"],
        _ => &[],
    }
}

/// The `DescribeJobs` filters of a listing: `job-state` (any of the states asked) and one
/// `tag:KEY` per label. `None` when the states asked name no Tencent state: nothing matches.
pub fn list_filters(options: &crate::ListJobsOptions) -> Option<Vec<Value>> {
    let mut filters = Vec::new();
    if !options.states.is_empty() {
        let names: Vec<&str> = options
            .states
            .iter()
            .flat_map(|s| job_state_names(*s).iter().copied())
            .collect();
        if names.is_empty() {
            return None;
        }
        filters.push(json!({"Name": "job-state", "Values": names}));
    }
    for (k, v) in &options.labels {
        filters.push(json!({"Name": format!("tag:{k}"), "Values": [v]}));
    }
    Some(filters)
}

/// The `DescribeJobs` filter that finds the job submitted with `key`.
pub fn key_filter(key: &IdempotencyKey) -> Value {
    json!({"Name": format!("tag:{IDEMPOTENCY_LABEL}"), "Values": [key.as_str()]})
}

fn zone(spec: &JobSpec) -> Result<&str> {
    match &spec.placement {
        Placement::TencentEnvironment { zone, .. } | Placement::TencentManaged { zone, .. } => {
            Ok(zone)
        }
        _ => Err(Error::unsupported_option(
            BACKEND,
            crate::Operation::SubmitJob,
            "placement",
        )),
    }
}

fn task_body(spec: &JobSpec, task: &TaskSpec) -> Result<Value> {
    let mut app = Map::new();
    app.insert("DeliveryForm".into(), json!("LOCAL"));
    app.insert("Command".into(), json!(shell_line(BACKEND, &task.command)?));
    if let Some(image) = &task.image {
        app.insert("Docker".into(), json!({"Image": image}));
    }
    let mut body = Map::new();
    body.insert("TaskName".into(), json!(task.name.as_str()));
    body.insert("TaskInstanceNum".into(), json!(task.instance_count));
    body.insert("Application".into(), Value::Object(app));
    match &spec.placement {
        Placement::TencentEnvironment { env_id, .. } => {
            body.insert("EnvId".into(), json!(env_id));
        }
        Placement::TencentManaged {
            instance_type,
            image_id,
            ..
        } => {
            body.insert(
                "ComputeEnv".into(),
                json!({"EnvType": "MANAGED", "EnvData": {"InstanceType": instance_type, "ImageId": image_id}}),
            );
        }
        _ => {}
    }
    if !task.env.is_empty() {
        let vars: Vec<Value> = task
            .env
            .iter()
            .map(|(k, v)| json!({"Name": k, "Value": v}))
            .collect();
        body.insert("EnvVars".into(), Value::Array(vars));
    }
    if let Some(n) = task.max_retries {
        body.insert("MaxRetryCount".into(), json!(n));
    }
    if let Some(t) = task.timeout {
        body.insert("Timeout".into(), json!(t.as_secs()));
    }
    Ok(Value::Object(body))
}

/// The `SubmitJob` body.
pub fn submit_job_body(spec: &JobSpec, key: &IdempotencyKey) -> Result<Value> {
    let zone = zone(spec)?;
    let tasks: Result<Vec<Value>> = spec.tasks.iter().map(|t| task_body(spec, t)).collect();
    let mut tags: Vec<Value> = spec
        .labels
        .iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    tags.push(json!({"Key": IDEMPOTENCY_LABEL, "Value": key.as_str()}));
    let dependences: Vec<Value> = spec
        .tasks
        .iter()
        .flat_map(|t| {
            t.depends_on
                .iter()
                .map(move |d| json!({"StartTask": d.as_str(), "EndTask": t.name.as_str()}))
        })
        .collect();
    let mut job = Map::new();
    job.insert("JobName".into(), json!(spec.name));
    job.insert("Tasks".into(), Value::Array(tasks?));
    job.insert("Tags".into(), Value::Array(tags));
    if !dependences.is_empty() {
        job.insert("Dependences".into(), Value::Array(dependences));
    }
    if let Some(p) = spec.priority {
        job.insert("Priority".into(), json!(p));
    }
    merge_extension(BACKEND, spec, &mut job)?;
    Ok(json!({
        "Placement": {"Zone": zone},
        "Job": Value::Object(job),
        "ClientToken": key.as_str(),
    }))
}

/// `Job` fields the spec maps (the others are an extension).
const JOB_MAPPED: &[&str] = &[
    "JobId",
    "JobName",
    "Priority",
    "Tasks",
    "Dependences",
    "Tags",
    "RequestId",
];

/// `Task` fields the spec maps.
const TASK_MAPPED: &[&str] = &[
    "TaskName",
    "TaskInstanceNum",
    "Application",
    "EnvId",
    "ComputeEnv",
    "EnvVars",
    "MaxRetryCount",
    "Timeout",
];

/// A job as `DescribeJobSubmitInfo` answers it, in `zone` (from `DescribeJob`), back as a
/// spec (see `docs/lifecycle.md` for the normalisations: an argv comes back as its shell line;
/// a priority or retry count of 0 is unset).
pub fn export(info: &Value, zone: &str) -> Result<crate::spec::ExportedJob> {
    let op = crate::Operation::Other("export_job");
    let bad = |what: String| {
        Error::service(
            Some(200),
            false,
            crate::ErrorContext::new(BACKEND, op).with_message(what),
        )
    };
    let tasks = info
        .get("Tasks")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut placement: Option<Placement> = None;
    let mut specs = Vec::new();
    let mut dropped = Vec::new();
    for t in &tasks {
        let name = t
            .get("TaskName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let id = crate::TaskId::new(name)
            .map_err(|_| bad(format!("task name {name:?} is not a valid id")))?;
        let app = t.get("Application");
        let line = app
            .and_then(|a| a.get("Command"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut spec = TaskSpec::shell(id, line);
        spec.image = app
            .and_then(|a| a.get("Docker"))
            .and_then(|d| d.get("Image"))
            .and_then(Value::as_str)
            .map(String::from);
        spec.env = t
            .get("EnvVars")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| {
                Some((
                    v.get("Name")?.as_str()?.to_string(),
                    v.get("Value")?.as_str()?.to_string(),
                ))
            })
            .collect();
        spec.instance_count = t
            .get("TaskInstanceNum")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(1);
        spec.max_retries = t
            .get("MaxRetryCount")
            .and_then(Value::as_u64)
            .filter(|n| *n > 0)
            .and_then(|n| u32::try_from(n).ok());
        spec.timeout = t
            .get("Timeout")
            .and_then(Value::as_u64)
            .map(std::time::Duration::from_secs);
        let here = if let Some(env) = t.get("EnvId").and_then(Value::as_str) {
            Placement::TencentEnvironment {
                zone: zone.to_string(),
                env_id: env.to_string(),
            }
        } else {
            let data = t.get("ComputeEnv").and_then(|c| c.get("EnvData"));
            let field = |n: &str| {
                data.and_then(|d| d.get(n))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            Placement::TencentManaged {
                zone: zone.to_string(),
                instance_type: field("InstanceType"),
                image_id: field("ImageId"),
            }
        };
        match &placement {
            None => placement = Some(here),
            Some(p) if *p == here => {}
            Some(_) => dropped.push(format!(
                "tasks[{name}].environment (differs from the first task's)"
            )),
        }
        if let Some(fields) = t.as_object() {
            for k in fields.keys().filter(|k| !TASK_MAPPED.contains(&k.as_str())) {
                dropped.push(format!("tasks[{name}].{k}"));
            }
        }
        if let Some(fields) = app.and_then(Value::as_object) {
            for k in fields
                .keys()
                .filter(|k| !["DeliveryForm", "Command", "Docker"].contains(&k.as_str()))
            {
                dropped.push(format!("tasks[{name}].Application.{k}"));
            }
        }
        specs.push(spec);
    }
    for d in info
        .get("Dependences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(start), Some(end)) = (
            d.get("StartTask").and_then(Value::as_str),
            d.get("EndTask").and_then(Value::as_str),
        ) else {
            continue;
        };
        if let (Some(task), Ok(dep)) = (
            specs.iter_mut().find(|t| t.name.as_str() == end),
            crate::TaskId::new(start),
        ) {
            task.depends_on.push(dep);
        }
    }
    let placement = placement.ok_or_else(|| bad("the job has no task".into()))?;
    let name = info
        .get("JobName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut spec = JobSpec::new(name, placement, specs);
    let tags: Vec<(&str, &str)> = info
        .get("Tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| Some((t.get("Key")?.as_str()?, t.get("Value")?.as_str()?)))
        .collect();
    let (labels, key) = labels_from_tags(tags);
    spec.labels = labels;
    spec.idempotency_key = key.and_then(|k| IdempotencyKey::new(k).ok());
    spec.priority = info
        .get("Priority")
        .and_then(Value::as_i64)
        .filter(|p| *p != 0)
        .and_then(|p| i32::try_from(p).ok());
    let extension: Map<String, Value> = info
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| !(JOB_MAPPED.contains(&k.as_str()) || v.is_null() || *v == &json!("")))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !extension.is_empty() {
        spec.extensions
            .insert(BACKEND.to_string(), Value::Object(extension));
    }
    Ok(crate::spec::ExportedJob { spec, dropped })
}

/// A job's tags as labels, and the idempotency key among them (taken out).
pub fn labels_from_tags<'a>(
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> (BTreeMap<String, String>, Option<String>) {
    let mut labels = BTreeMap::new();
    let mut key = None;
    for (k, v) in tags {
        if k == IDEMPOTENCY_LABEL {
            key = Some(v.to_string());
        } else {
            labels.insert(k.to_string(), v.to_string());
        }
    }
    (labels, key)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::TaskId;
    use crate::spec::Command;

    #[test]
    fn the_body_carries_every_field_and_the_key_twice() {
        let key = IdempotencyKey::new("k-1").unwrap();
        let spec = JobSpec::new(
            "n",
            Placement::TencentManaged {
                zone: "ap-guangzhou-3".into(),
                instance_type: "S5.MEDIUM2".into(),
                image_id: "img-1".into(),
            },
            vec![
                TaskSpec::new(
                    TaskId::new("a").unwrap(),
                    Command::Argv(vec!["echo".into(), "a b".into()]),
                )
                .with_instance_count(3)
                .with_timeout(Duration::from_secs(60)),
                TaskSpec::shell(TaskId::new("b").unwrap(), "true")
                    .with_dependency(TaskId::new("a").unwrap())
                    .with_image("ubuntu"),
            ],
        )
        .with_label("team", "x");
        let body = submit_job_body(&spec, &key).unwrap();
        assert_eq!(body["ClientToken"], "k-1");
        assert_eq!(body["Placement"]["Zone"], "ap-guangzhou-3");
        let tasks = &body["Job"]["Tasks"];
        assert_eq!(tasks[0]["Application"]["Command"], "echo 'a b'");
        assert_eq!(tasks[0]["TaskInstanceNum"], 3);
        assert_eq!(tasks[0]["Timeout"], 60);
        assert_eq!(
            tasks[0]["ComputeEnv"]["EnvData"]["InstanceType"],
            "S5.MEDIUM2"
        );
        assert_eq!(tasks[1]["Application"]["Docker"]["Image"], "ubuntu");
        assert_eq!(body["Job"]["Dependences"][0]["StartTask"], "a");
        let tags: Vec<(&str, &str)> = body["Job"]["Tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["Key"].as_str().unwrap(), t["Value"].as_str().unwrap()))
            .collect();
        let (labels, k) = labels_from_tags(tags);
        assert_eq!(labels.len(), 1);
        assert_eq!(k.as_deref(), Some("k-1"));

        // What DescribeJobSubmitInfo answers is the Job object as submitted: it reads back
        // as the spec, the argv as its shell line.
        let mut info = body["Job"].clone();
        info["JobId"] = json!("job-12345678");
        info["Tasks"][1]["RedirectInfo"] = json!({});
        let exported = export(&info, "ap-guangzhou-3").unwrap();
        let mut want = spec.with_idempotency_key(key);
        want.tasks[0].command = Command::Shell("echo 'a b'".into());
        assert_eq!(exported.spec, want);
        assert_eq!(exported.dropped, ["tasks[b].RedirectInfo"]);
    }
}
