//! JSON renderings of jobs, tasks and task instances, with the API's field names.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::sim::{InstanceView, Job, JobView, State, TaskSpec, TaskView, metrics};

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn time(t: DateTime<Utc>) -> Value {
    Value::String(t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

fn opt_time(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, time)
}

fn tags(job: &Job) -> Value {
    Value::Array(
        job.spec
            .tags
            .iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect(),
    )
}

fn task_states(view: &JobView) -> impl Iterator<Item = State> + '_ {
    view.tasks.iter().map(|t| t.state)
}

fn instance_states(instances: &[InstanceView]) -> impl Iterator<Item = State> + '_ {
    instances.iter().map(|i| i.state)
}

/// The fields of a DescribeJob response.
pub fn describe_job(job: &Job, view: &JobView) -> Map<String, Value> {
    let task_set: Vec<Value> = view
        .tasks
        .iter()
        .map(|t| {
            // Only TaskView's documented fields.
            json!({
                "TaskName": t.name,
                "TaskState": t.state.as_str(),
                "CreateTime": time(t.created),
                "EndTime": opt_time(t.ended),
            })
        })
        .collect();
    let dependence_set: Vec<Value> = job
        .spec
        .dependences
        .iter()
        .map(|(s, e)| json!({"StartTask": s, "EndTask": e}))
        .collect();
    let all_instances = view
        .tasks
        .iter()
        .flat_map(|t| instance_states(&t.instances));
    let fields = json!({
        "JobId": job.id,
        "JobName": job.spec.name,
        "Zone": job.spec.zone,
        "Priority": job.spec.priority,
        "JobState": view.state.as_str(),
        "CreateTime": time(job.created),
        "EndTime": opt_time(view.ended),
        "TaskSet": task_set,
        "DependenceSet": dependence_set,
        "TaskMetrics": metrics(task_states(view)),
        "TaskInstanceMetrics": metrics(all_instances),
        "StateReason": view.reason,
        "NextAction": view.next_action,
        "Tags": tags(job),
    });
    into_map(fields)
}

/// One `JobSet` item of DescribeJobs.
pub fn job_summary(job: &Job, view: &JobView) -> Value {
    json!({
        "JobId": job.id,
        "JobName": job.spec.name,
        "JobState": view.state.as_str(),
        "Priority": job.spec.priority,
        "Placement": {"Zone": job.spec.zone, "ProjectId": 0},
        "CreateTime": time(job.created),
        "EndTime": opt_time(view.ended),
        "TaskMetrics": metrics(task_states(view)),
        "Tags": tags(job),
    })
}

/// A stable, made-up compute node id for an instance that has one.
fn node_id(job: &Job, task: &str, index: u32) -> String {
    let digest = Sha256::digest(format!("{}/{task}/{index}", job.id).as_bytes());
    let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let suffix: String = digest
        .iter()
        .take(8)
        .map(|b| {
            let i = usize::from(*b) % alphabet.len();
            char::from(alphabet.get(i).copied().unwrap_or(b'0'))
        })
        .collect();
    format!("ins-{suffix}")
}

/// One `TaskInstanceSet` item of DescribeTask.
pub fn task_instance(job: &Job, spec: &TaskSpec, i: &InstanceView) -> Value {
    let on_node = matches!(
        i.state,
        State::Starting | State::Running | State::FailedInterrupted
    );
    json!({
        "TaskInstanceIndex": i.index,
        "TaskInstanceState": i.state.as_str(),
        "ExitCode": i.exit_code,
        "StateReason": i.reason,
        "StateDetailedReason": if i.state == State::Succeed { "successful" } else { i.reason.as_str() },
        "ComputeNodeInstanceId": if on_node { node_id(job, &spec.name, i.index) } else { String::new() },
        "CreateTime": time(i.created),
        "LaunchTime": opt_time(i.launched),
        "RunningTime": opt_time(i.running),
        "EndTime": opt_time(i.ended),
        "RedirectInfo": spec.redirect_info.clone().unwrap_or(Value::Null),
    })
}

/// The fields of a DescribeTask response around an already paged instance list.
pub fn describe_task(
    job: &Job,
    task: &TaskView,
    page: Vec<Value>,
    total: usize,
) -> Map<String, Value> {
    into_map(json!({
        "JobId": job.id,
        "TaskName": task.name,
        "TaskState": task.state.as_str(),
        "CreateTime": time(task.created),
        "EndTime": opt_time(task.ended),
        "TaskInstanceTotalCount": total,
        "TaskInstanceSet": page,
        "TaskInstanceMetrics": metrics(instance_states(&task.instances)),
    }))
}

/// The admin API's view of one job.
pub fn snapshot(job: &Job, view: &JobView) -> Value {
    json!({
        "JobId": job.id,
        "Region": job.region,
        "JobName": job.spec.name,
        "JobState": view.state.as_str(),
        "NextAction": view.next_action,
        "CreateTime": time(job.created),
        "EndTime": opt_time(view.ended),
        "Tasks": view.tasks.iter().map(|t| json!({
            "TaskName": t.name,
            "TaskState": t.state.as_str(),
            "Instances": t.instances.iter().map(|i| json!({
                "Index": i.index,
                "State": i.state.as_str(),
                "ExitCode": i.exit_code,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn into_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}
