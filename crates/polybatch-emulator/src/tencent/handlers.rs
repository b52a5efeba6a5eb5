//! The job actions over the simulated store: request in, response fields or error code out.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::errors::ApiError;
use super::render;
use super::requests::{
    self, DescribeJobsRequest, DescribeTaskRequest, Filter, JobIdRequest, RetryJobsRequest,
    TerminateTaskInstanceRequest, check_job_id, parse,
};
use super::sim::{Job, Refusal, Store};

use polybatch_protocol::tencent::MAX_LOG_INSTANCES;

/// The actions this front end serves: every action polybatch calls.
pub use polybatch_protocol::tencent::action::ALL as ACTIONS;

/// The most job ids RetryJobs and DescribeJobs take.
const MAX_JOB_IDS: usize = 100;

/// Runs `action` (one of [`ACTIONS`]) in `region` at simulated time `now`.
pub fn run(
    store: &mut Store,
    action: &str,
    region: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Map<String, Value>, ApiError> {
    match action {
        "SubmitJob" => submit_job(store, region, body, now),
        "DescribeJob" => describe_job(store, region, body, now),
        "DescribeJobs" => describe_jobs(store, region, body, now),
        "TerminateJob" => terminate_job(store, region, body, now),
        "TerminateTaskInstance" => terminate_task_instance(store, region, body, now),
        "RetryJobs" => retry_jobs(store, region, body, now),
        "DeleteJob" => delete_job(store, region, body, now),
        "DescribeTask" => describe_task(store, region, body, now),
        "DescribeJobSubmitInfo" => describe_job_submit_info(store, region, body),
        "DescribeTaskLogs" => describe_task_logs(store, region, body, now),
        other => Err(ApiError::new(
            "InvalidAction",
            format!("The action `{other}` does not exist."),
        )),
    }
}

fn not_found(id: &str) -> ApiError {
    refused(Refusal::JobNotFound(id.to_string()))
}

fn refused(r: Refusal) -> ApiError {
    ApiError::new(r.code(), r.message())
}

fn job<'a>(store: &'a Store, region: &str, id: &str) -> Result<&'a Job, ApiError> {
    check_job_id(id)?;
    store.get(region, id).ok_or_else(|| not_found(id))
}

fn job_mut<'a>(store: &'a mut Store, region: &str, id: &str) -> Result<&'a mut Job, ApiError> {
    check_job_id(id)?;
    store.get_mut(region, id).ok_or_else(|| not_found(id))
}

/// `(offset, limit)` from optional request values.
fn paging(
    offset: Option<i64>,
    limit: Option<i64>,
    default: usize,
    max: usize,
) -> Result<(usize, usize), ApiError> {
    let negative = |name: &str| {
        ApiError::new(
            "InvalidParameterValue.Negative",
            format!("{name} must not be negative."),
        )
    };
    let offset = match offset {
        None => 0,
        Some(o) => usize::try_from(o).map_err(|_| negative("Offset"))?,
    };
    let limit = match limit {
        None => default,
        Some(l) => usize::try_from(l).map_err(|_| negative("Limit"))?,
    };
    if limit > max {
        return Err(ApiError::new(
            "InvalidParameterValue.LimitExceeded",
            format!("Limit must be at most {max}."),
        ));
    }
    Ok((offset, limit))
}

fn submit_job(
    store: &mut Store,
    region: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Map<String, Value>, ApiError> {
    let (spec, token) = requests::submit(body, region)?;
    let id = store.submit(region, spec, token, now);
    Ok(fields(json!({ "JobId": id })))
}

/// The job as it was submitted: its `Job` object's fields (`Placement` is not among them;
/// `DescribeJob` has the zone).
fn describe_job_submit_info(
    store: &mut Store,
    region: &str,
    body: &Value,
) -> Result<Map<String, Value>, ApiError> {
    let req: JobIdRequest = parse(body)?;
    let job = job(store, region, &req.job_id)?;
    let submitted = &job.spec.submitted;
    let mut out = Map::new();
    out.insert("JobId".into(), json!(job.id));
    for field in [
        "JobName",
        "JobDescription",
        "Priority",
        "Tasks",
        "Dependences",
        "Tags",
    ] {
        let value = submitted.get(field).cloned().unwrap_or(match field {
            "Tasks" | "Dependences" | "Tags" => json!([]),
            "Priority" => json!(0),
            _ => json!(""),
        });
        out.insert(field.into(), value);
    }
    Ok(out)
}

/// Each instance's stdout and stderr, base64, at most the last 2048 bytes each; `null`
/// before it launched.
fn describe_task_logs(
    store: &mut Store,
    region: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Map<String, Value>, ApiError> {
    use base64::Engine;
    let req: requests::DescribeTaskLogsRequest = parse(body)?;
    if req.task_instance_indexes.is_some() && req.offset.is_some() {
        return Err(ApiError::new(
            "InvalidParameter.InvalidParameterCombination",
            "TaskInstanceIndexes and Offset cannot be given together.",
        ));
    }
    let (offset, limit) = paging(req.offset, req.limit, 5, MAX_LOG_INSTANCES as usize)?;
    let job = job(store, region, &req.job_id)?;
    let k = job
        .task_index(&req.task_name)
        .ok_or_else(|| refused(Refusal::TaskNotFound(req.task_name.clone())))?;
    let total = job.view(now).tasks.get(k).map_or(0, |t| t.instances.len());
    let indexes: Vec<u64> = match &req.task_instance_indexes {
        Some(ix) => {
            if let Some(bad) = ix.iter().find(|i| **i as usize >= total) {
                return Err(refused(Refusal::TaskInstanceNotFound {
                    task: req.task_name.clone(),
                    index: i64::try_from(*bad).unwrap_or(i64::MAX),
                }));
            }
            ix.iter().take(limit).copied().collect()
        }
        None => (offset..total).take(limit).map(|i| i as u64).collect(),
    };
    // The simulation keeps what the service keeps (at most MAX_LOG_BYTES).
    let b64 = |bytes: Vec<u8>| json!(base64::engine::general_purpose::STANDARD.encode(bytes));
    let set: Vec<Value> = indexes
        .into_iter()
        .map(|i| {
            let output = u32::try_from(i)
                .ok()
                .and_then(|i| job.instance_output(k, i, now));
            let (out, err) = match output {
                Some((o, e)) => (b64(o), b64(e)),
                None => (Value::Null, Value::Null),
            };
            json!({
                "TaskInstanceIndex": i,
                "StdoutLog": out,
                "StderrLog": err,
                "StdoutRedirectPath": null,
                "StderrRedirectPath": null,
                "StdoutRedirectFileName": null,
                "StderrRedirectFileName": null,
            })
        })
        .collect();
    Ok(fields(
        json!({"TotalCount": total, "TaskInstanceLogSet": set}),
    ))
}

fn describe_job(
    store: &mut Store,
    region: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Map<String, Value>, ApiError> {
    let req: JobIdRequest = parse(body)?;
    let job = job(store, region, &req.job_id)?;
    Ok(render::describe_job(job, &job.view(now)))
}

/// Whether `job` (seen as `view_state`) passes one DescribeJobs filter.
fn job_matches(job: &Job, state: &str, f: &Filter) -> Result<bool, ApiError> {
    let wanted = |candidate: &str| f.values.iter().any(|v| v == candidate);
    let tags = &job.spec.tags;
    Ok(match f.name.as_str() {
        "job-id" => wanted(&job.id),
        "job-name" => wanted(&job.spec.name),
        "job-state" => wanted(state),
        "zone" => wanted(&job.spec.zone),
        "tag-key" => tags.iter().any(|(k, _)| wanted(k)),
        "tag-value" => tags.iter().any(|(_, v)| wanted(v)),
        name => match name.strip_prefix("tag:") {
            Some(key) => tags.iter().any(|(k, v)| k == key && wanted(v)),
            None => {
                return Err(ApiError::new(
                    "InvalidFilter",
                    format!("The filter `{name}` is not supported."),
                ));
            }
        },
    })
}

fn describe_jobs(
    store: &mut Store,
    region: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Map<String, Value>, ApiError> {
    let req: DescribeJobsRequest = parse(body)?;
    if req.job_ids.is_some() && req.filters.is_some() {
        return Err(ApiError::new(
            "InvalidParameter.InvalidParameterCombination",
            "JobIds and Filters cannot be given together.",
        ));
    }
    let (offset, limit) = paging(req.offset, req.limit, 20, 100)?;
    if let Some(ids) = &req.job_ids {
        if ids.len() > MAX_JOB_IDS {
            return Err(ApiError::new(
                "InvalidParameterValue.LimitExceeded",
                format!("At most {MAX_JOB_IDS} JobIds can be given."),
            ));
        }
        for id in ids {
            check_job_id(id)?;
        }
    }
    let filters = req.filters.unwrap_or_default();
    if req.job_ids.is_none() && filters.is_empty() {
        // Every job of the region matches: its count is kept, and only the page is read.
        let page: Vec<Value> = store
            .list(region)
            .skip(offset)
            .take(limit)
            .map(|job| render::job_summary(job, &job.view(now)))
            .collect();
        return Ok(fields(
            json!({ "JobSet": page, "TotalCount": store.count(region) }),
        ));
    }
    // Newest first either way. Named jobs are looked up, not searched for among all of them;
    // a job's view (its state now) is worked out only where a filter needs it or it is shown.
    let candidates: Box<dyn Iterator<Item = &Job> + '_> = match &req.job_ids {
        Some(ids) => {
            let mut named: Vec<&Job> = ids.iter().filter_map(|id| store.get(region, id)).collect();
            named.sort_by_key(|j| std::cmp::Reverse(j.seq));
            named.dedup_by_key(|j| j.seq);
            Box::new(named.into_iter())
        }
        None => Box::new(store.list(region)),
    };
    let by_state = filters.iter().any(|f| f.name == "job-state");
    let mut total = 0;
    let mut page = Vec::new();
    for job in candidates {
        let view = by_state.then(|| job.view(now));
        let state = view.as_ref().map_or("", |v| v.state.as_str());
        let mut keep = true;
        for f in &filters {
            if !job_matches(job, state, f)? {
                keep = false;
            }
        }
        if !keep {
            continue;
        }
        if (offset..offset.saturating_add(limit)).contains(&total) {
            let view = view.unwrap_or_else(|| job.view(now));
            page.push(render::job_summary(job, &view));
        }
        total += 1;
    }
    Ok(fields(json!({ "JobSet": page, "TotalCount": total })))
}

fn terminate_job(
    store: &mut Store,
    region: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Map<String, Value>, ApiError> {
    let req: JobIdRequest = parse(body)?;
    job_mut(store, region, &req.job_id)?
        .terminate(now)
        .map_err(refused)?;
    Ok(Map::new())
}

fn terminate_task_instance(
    store: &mut Store,
    region: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Map<String, Value>, ApiError> {
    let req: TerminateTaskInstanceRequest = parse(body)?;
    let job = job_mut(store, region, &req.job_id)?;
    let task = job
        .task_index(&req.task_name)
        .ok_or_else(|| refused(Refusal::TaskNotFound(req.task_name.clone())))?;
    let no_instance = || {
        refused(Refusal::TaskInstanceNotFound {
            task: req.task_name.clone(),
            index: req.task_instance_index,
        })
    };
    let index = usize::try_from(req.task_instance_index).map_err(|_| no_instance())?;
    if !job.terminate_instance(task, index, now) {
        return Err(no_instance());
    }
    Ok(Map::new())
}

fn retry_jobs(
    store: &mut Store,
    region: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Map<String, Value>, ApiError> {
    let req: RetryJobsRequest = parse(body)?;
    if req.job_ids.is_empty() {
        return Err(ApiError::invalid_value("JobIds must not be empty."));
    }
    if req.job_ids.len() > MAX_JOB_IDS {
        return Err(ApiError::new(
            "InvalidParameterValue.LimitExceeded",
            format!("At most {MAX_JOB_IDS} jobs can be retried at once."),
        ));
    }
    let mut ids: Vec<&String> = Vec::new();
    for id in &req.job_ids {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    // Every job must be retryable before any is retried.
    for id in &ids {
        job(store, region, id)?.can_retry(now).map_err(refused)?;
    }
    for id in ids {
        job_mut(store, region, id)?.retry(now);
    }
    Ok(Map::new())
}

fn delete_job(
    store: &mut Store,
    region: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Map<String, Value>, ApiError> {
    let req: JobIdRequest = parse(body)?;
    job(store, region, &req.job_id)?
        .can_delete(now)
        .map_err(refused)?;
    store.remove(&req.job_id);
    Ok(Map::new())
}

fn describe_task(
    store: &mut Store,
    region: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Map<String, Value>, ApiError> {
    let req: DescribeTaskRequest = parse(body)?;
    let job = job(store, region, &req.job_id)?;
    let (offset, limit) = paging(req.offset, req.limit, 100, 1000)?;
    let no_task = || refused(Refusal::TaskNotFound(req.task_name.clone()));
    let k = job.task_index(&req.task_name).ok_or_else(no_task)?;
    let view = job.view(now);
    let (Some(task), Some(spec)) = (view.tasks.get(k), job.spec.tasks.get(k)) else {
        return Err(no_task());
    };
    let filters = req.filters.unwrap_or_default();
    for f in &filters {
        // The English docs call it `task-instance-type`; both spellings are accepted.
        if !matches!(
            f.name.as_str(),
            "task-instance-state" | "task-instance-type"
        ) {
            return Err(ApiError::new(
                "InvalidFilter",
                format!("The filter `{}` is not supported.", f.name),
            ));
        }
    }
    let matched: Vec<Value> = task
        .instances
        .iter()
        .filter(|i| {
            filters
                .iter()
                .all(|f| f.values.iter().any(|v| v == i.state.as_str()))
        })
        .map(|i| render::task_instance(job, spec, i))
        .collect();
    let total = matched.len();
    let page = matched.into_iter().skip(offset).take(limit).collect();
    Ok(render::describe_task(job, task, page, total))
}

fn fields(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}
