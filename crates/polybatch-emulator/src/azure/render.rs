//! The JSON the service answers with: CloudJob, CloudTask and the job preparation/release
//! status items (reference §3). User-supplied properties are echoed; service properties are
//! added with the service's defaults.

use serde_json::{Map, Value, json};

use super::reply::iso;
use super::sim::{Failure, Job, JobState, Pool, Run, Task, Time, UNLIMITED};

fn object(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn set_default(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.to_string(), value);
    }
}

fn merged(given: Option<&Value>, defaults: Value) -> Value {
    let mut out = object(&defaults);
    if let Some(Value::Object(g)) = given {
        for (k, v) in g {
            if !v.is_null() {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

fn failure_json(f: &Failure) -> Value {
    json!({
        "category": f.category,
        "code": f.code,
        "message": f.message,
        "details": [{"name": "Message", "value": f.message}],
    })
}

/// `https://host/pools/{pool}/nodes/{node}`.
pub(crate) fn node_url(base: &str, pool: &Pool, node: &str) -> String {
    format!("{base}/pools/{}/nodes/{node}", pool.id)
}

/// A CloudJob.
pub(crate) fn job(j: &Job, base: &str) -> Value {
    let mut m = object(&j.body);
    m.insert(
        "odata.metadata".into(),
        json!(format!("{base}/$metadata#jobs/@Element")),
    );
    m.insert("id".into(), json!(j.id));
    m.insert("url".into(), json!(format!("{base}/jobs/{}", j.id)));
    m.insert("eTag".into(), json!(j.meta.etag));
    m.insert("lastModified".into(), json!(iso(j.meta.last_modified)));
    m.insert("creationTime".into(), json!(iso(j.created)));
    m.insert("state".into(), json!(j.state.state.as_str()));
    m.insert("stateTransitionTime".into(), json!(iso(j.state.time)));
    if let Some((s, t)) = j.state.previous {
        m.insert("previousState".into(), json!(s.as_str()));
        m.insert("previousStateTransitionTime".into(), json!(iso(t)));
    }
    set_default(&mut m, "priority", json!(0));
    set_default(&mut m, "maxParallelTasks", json!(-1));
    set_default(&mut m, "allowTaskPreemption", json!(false));
    set_default(&mut m, "usesTaskDependencies", json!(false));
    set_default(&mut m, "onAllTasksComplete", json!("noaction"));
    set_default(&mut m, "onTaskFailure", json!("noaction"));
    m.insert(
        "constraints".into(),
        merged(
            j.body.get("constraints"),
            json!({"maxWallClockTime": UNLIMITED, "maxTaskRetryCount": 0}),
        ),
    );
    if let Some(p) = &j.prep {
        let mut given = object(&j.body["jobPreparationTask"]);
        given.insert("id".into(), json!(p.id));
        let defaults = json!({
            "waitForSuccess": true,
            "rerunOnNodeRebootAfterSuccess": true,
            "userIdentity": {"autoUser": {"scope": "pool", "elevationLevel": "nonadmin"}},
        });
        let mut out = merged(Some(&Value::Object(given.clone())), defaults);
        out["constraints"] = merged(
            given.get("constraints"),
            json!({"maxWallClockTime": UNLIMITED, "retentionTime": "P7D", "maxTaskRetryCount": 0}),
        );
        m.insert("jobPreparationTask".into(), out);
    }
    if let Some(r) = &j.release {
        let mut given = object(&j.body["jobReleaseTask"]);
        given.insert("id".into(), json!(r.id));
        let defaults = json!({
            "maxWallClockTime": "PT15M",
            "retentionTime": "P7D",
            "userIdentity": {"autoUser": {"scope": "pool", "elevationLevel": "nonadmin"}},
        });
        m.insert(
            "jobReleaseTask".into(),
            merged(Some(&Value::Object(given)), defaults),
        );
    }
    let mut exec = json!({"startTime": iso(j.created), "poolId": j.pool_id});
    if let Some(end) = j.end_time {
        exec["endTime"] = json!(iso(end));
    }
    if let (JobState::Completed, Some(reason)) = (j.state.state, &j.terminate_reason) {
        exec["terminateReason"] = json!(reason);
    }
    m.insert("executionInfo".into(), exec);
    Value::Object(m)
}

/// A CloudTask (without `odata.metadata`; Task_Get adds it).
pub(crate) fn task(j: &Job, t: &Task, pool: Option<&Pool>, base: &str) -> Value {
    let mut m = object(&t.body);
    m.insert("id".into(), json!(t.id));
    m.insert(
        "url".into(),
        json!(format!("{base}/jobs/{}/tasks/{}", j.id, t.id)),
    );
    m.insert("eTag".into(), json!(t.meta.etag));
    m.insert("creationTime".into(), json!(iso(t.created)));
    m.insert("lastModified".into(), json!(iso(t.meta.last_modified)));
    m.insert("state".into(), json!(t.state.state.as_str()));
    m.insert("stateTransitionTime".into(), json!(iso(t.state.time)));
    if let Some((s, time)) = t.state.previous {
        m.insert("previousState".into(), json!(s.as_str()));
        m.insert("previousStateTransitionTime".into(), json!(iso(time)));
    }
    let mut constraints = merged(
        t.body.get("constraints"),
        json!({"maxWallClockTime": UNLIMITED, "retentionTime": "P7D"}),
    );
    constraints["maxTaskRetryCount"] = json!(t.max_retries);
    m.insert("constraints".into(), constraints);
    set_default(&mut m, "requiredSlots", json!(1));
    set_default(
        &mut m,
        "userIdentity",
        json!({"autoUser": {"scope": "pool", "elevationLevel": "nonadmin"}}),
    );
    let e = &t.exec;
    let mut exec = Map::new();
    if let Some(s) = e.start {
        exec.insert("startTime".into(), json!(iso(s)));
    }
    if let Some(s) = e.end {
        exec.insert("endTime".into(), json!(iso(s)));
    }
    if let Some(c) = e.exit_code {
        exec.insert("exitCode".into(), json!(c));
    }
    if let Some(f) = &e.failure {
        exec.insert("failureInfo".into(), failure_json(f));
    }
    exec.insert("retryCount".into(), json!(e.retry_count));
    if let Some(s) = e.last_retry {
        exec.insert("lastRetryTime".into(), json!(iso(s)));
    }
    exec.insert("requeueCount".into(), json!(e.requeue_count));
    if let Some(s) = e.last_requeue {
        exec.insert("lastRequeueTime".into(), json!(iso(s)));
    }
    if let Some(ok) = e.success {
        exec.insert(
            "result".into(),
            json!(if ok { "success" } else { "failure" }),
        );
    }
    m.insert("executionInfo".into(), Value::Object(exec));
    let node = pool.and_then(|p| Some((p, t.node.and_then(|n| p.node_ids.get(n))?)));
    if let Some((pool, node_id)) = node {
        let url = node_url(base, pool, node_id);
        let dir = format!("workitems/{}/job-1/{}", j.id, t.id);
        m.insert(
            "nodeInfo".into(),
            json!({
                "affinityId": format!("TVM:{node_id}"),
                "nodeUrl": url,
                "poolId": pool.id,
                "nodeId": node_id,
                "taskRootDirectory": dir,
                "taskRootDirectoryUrl": format!("{url}/files/{dir}"),
            }),
        );
    }
    Value::Object(m)
}

fn run_json(run: &Run, now: Time, with_retries: bool, dir: &str, node_url: &str) -> Value {
    let (retries, start) = run.progress(now);
    let mut m = Map::new();
    m.insert("startTime".into(), json!(iso(start)));
    let done = run.completed(now);
    m.insert(
        "state".into(),
        json!(if done { "completed" } else { "running" }),
    );
    m.insert("taskRootDirectory".into(), json!(dir));
    m.insert(
        "taskRootDirectoryUrl".into(),
        json!(format!("{node_url}/files/{dir}")),
    );
    if done {
        m.insert("endTime".into(), json!(iso(run.end)));
        m.insert("exitCode".into(), json!(run.exit_code));
        m.insert(
            "result".into(),
            json!(if run.exit_code == 0 {
                "success"
            } else {
                "failure"
            }),
        );
        if run.exit_code != 0 {
            m.insert(
                "failureInfo".into(),
                failure_json(&super::sim::EXIT_FAILURE),
            );
        }
    }
    if with_retries {
        m.insert("retryCount".into(), json!(retries));
        if retries > 0 {
            m.insert("lastRetryTime".into(), json!(iso(start)));
        }
    }
    Value::Object(m)
}

/// The job preparation/release status items, one per node where the preparation task ran,
/// in node order, each with its node id.
pub(crate) fn prep_release_items(
    j: &Job,
    pool: Option<&Pool>,
    base: &str,
    now: Time,
) -> Vec<(String, Value)> {
    let Some(pool) = pool else { return Vec::new() };
    let prep_id = j
        .prep
        .as_ref()
        .map(|p| p.id.as_str())
        .unwrap_or("jobpreparation");
    let release_id = j
        .release
        .as_ref()
        .map(|r| r.id.as_str())
        .unwrap_or("jobrelease");
    j.records
        .iter()
        .filter_map(|(&n, record)| {
            let node_id = pool.node_ids.get(n)?;
            let prep = record.prep.as_ref()?;
            let url = node_url(base, pool, node_id);
            let mut item = json!({
                "poolId": pool.id,
                "nodeId": node_id,
                "nodeUrl": url,
                "jobPreparationTaskExecutionInfo": run_json(
                    prep, now, true, &format!("workitems/{}/job-1/{prep_id}", j.id), &url),
            });
            if let Some(release) = record.release.as_ref().filter(|r| r.start <= now) {
                item["jobReleaseTaskExecutionInfo"] = run_json(
                    release,
                    now,
                    false,
                    &format!("workitems/{}/job-1/{release_id}", j.id),
                    &url,
                );
            }
            Some((node_id.clone(), item))
        })
        .collect()
}

/// `$select`: keeps only the named top-level properties.
pub(crate) fn select(value: Value, fields: Option<&[String]>) -> Value {
    let (Some(fields), Value::Object(m)) = (fields, &value) else {
        return value;
    };
    let keep: Map<String, Value> = m
        .iter()
        .filter(|(k, _)| {
            k.starts_with("odata.") || fields.iter().any(|f| f.eq_ignore_ascii_case(k))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(keep)
}
