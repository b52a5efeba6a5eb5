//! The AWS flavour of [`super::InMemoryBackend`]: the trait's operations over
//! `polybatch-sim`'s AWS Batch simulation, the one the emulator serves, so a test on this
//! flavour sees AWS's rules (a terminate cancels a job before `STARTING` and stops it after,
//! array children as tasks, attempts and timeouts, a retry as a resubmission) without HTTP.
//! Requests are built from the spec by [`crate::translate::aws`], as the AWS client builds them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use polybatch_sim::aws::errors::ApiError;
use polybatch_sim::aws::requests::{
    ArrayProperties, ContainerOverrides, DescribeJobDefinitions, JobDependency, JobTimeout,
    KeyValuePair, ResourceRequirement, RetryStrategy, SubmitJob,
};
use polybatch_sim::aws::{JobDetail, Status, Store};

use crate::error::{Error, ErrorContext, Operation, ResourceKind, Result};
use crate::id::{JobId, TaskId};
use crate::options::{ListJobsOptions, TaskOutputOptions};
use crate::outcome::{
    RetryFailedTasksOutcome, SubmitJobOutcome, TaskOutput, TerminateDisposition,
    TerminateJobOutcome,
};
use crate::spec::{ExportedJob, IDEMPOTENCY_LABEL, IdempotencyKey, JobSpec, Placement, TaskSpec};
use crate::status::{FailureInfo, JobStatus, TaskCounts, TaskStatus};
use crate::translate::aws::{self as translate, TASK_TAG};

use super::store::BACKEND;

/// The one region the flavour simulates.
pub(crate) const REGION: &str = "us-east-1";

/// The log group output locators name (AWS Batch's default).
const LOG_GROUP: &str = "/aws/batch/job";

/// The flavour's account: the simulation's seeded queue and definition in [`REGION`].
pub(crate) struct AwsStore(pub(crate) Store);

impl Default for AwsStore {
    fn default() -> Self {
        AwsStore(Store::seeded(REGION, polybatch_sim::aws::DEFAULT_ACCOUNT))
    }
}

fn ctx(op: Operation) -> ErrorContext {
    ErrorContext::new(BACKEND, op)
}

/// A refusal of the simulation as the AWS client reports it: `ClientException` naming
/// something missing is `NotFound`, others a non-retryable service error with the code.
fn refused(e: ApiError, op: Operation, resource: ResourceKind, id: &str) -> Error {
    let c = ctx(op).with_code(e.code()).with_message(e.message.clone());
    let m = e.message.to_ascii_lowercase();
    if m.contains("does not exist") || m.contains("not found") {
        Error::not_found(resource, id, c)
    } else {
        Error::service(Some(e.status()), e.status() >= 500, c)
    }
}

/// What `DescribeJobs` says of an id it does not know: nothing (the id is left out), so no
/// code, as the AWS client reports it.
fn not_found(op: Operation, resource: ResourceKind, id: &str) -> Error {
    Error::not_found(
        resource,
        id,
        ctx(op).with_message(format!("{id} not found")),
    )
}

fn detail(store: &Store, job: &JobId, op: Operation, now: DateTime<Utc>) -> Result<JobDetail> {
    store
        .detail(job.as_str(), now)
        .ok_or_else(|| not_found(op, ResourceKind::Job, job.as_str()))
}

fn time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.filter(|m| *m > 0)
        .and_then(DateTime::from_timestamp_millis)
}

/// A UUID-shaped job id, as the service draws them.
fn new_job_id() -> String {
    let n: u128 = rand::random();
    let h = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// `submit_job`, as the AWS client makes it: a job already tagged with the key is the earlier
/// submit; otherwise `SubmitJob` with the key, the task name and the labels as tags.
pub(crate) fn submit_spec(
    store: &mut Store,
    spec: &JobSpec,
    key: &IdempotencyKey,
    now: DateTime<Utc>,
) -> Result<SubmitJobOutcome> {
    let op = Operation::SubmitJob;
    let parts = translate::submit_parts(spec)?;
    // Tags only: no job's state needs computing to find the earlier submit.
    let earlier = store.job_ids().find(|id| {
        store
            .tags(id)
            .and_then(|t| t.get(IDEMPOTENCY_LABEL))
            .is_some_and(|k| k == key.as_str())
    });
    if let Some(id) = earlier {
        let job =
            JobId::new(id).map_err(|e| Error::invalid_input("job", e.to_string(), ctx(op)))?;
        return Ok(SubmitJobOutcome::new(job, false, key.clone()));
    }
    let task = parts.task;
    let mut tags: BTreeMap<String, String> = spec.labels.clone().into_iter().collect();
    tags.insert(IDEMPOTENCY_LABEL.into(), key.as_str().into());
    tags.insert(TASK_TAG.into(), task.name.as_str().into());
    let request = SubmitJob {
        job_name: Some(parts.name.clone()),
        job_queue: Some(parts.job_queue.to_string()),
        job_definition: Some(parts.job_definition.to_string()),
        array_properties: parts.array_size.map(|n| ArrayProperties {
            size: Some(i64::from(n)),
        }),
        depends_on: parts.depends_on.as_ref().map(|deps| {
            deps.iter()
                .map(|d| JobDependency {
                    job_id: d.job_id.clone(),
                    kind: d.kind.clone(),
                })
                .collect()
        }),
        parameters: parts.parameters.clone(),
        container_overrides: Some(ContainerOverrides {
            command: Some(parts.command.clone()),
            environment: Some(
                task.env
                    .iter()
                    .map(|(k, v)| KeyValuePair {
                        name: Some(k.clone()),
                        value: Some(v.clone()),
                    })
                    .collect(),
            ),
            resource_requirements: Some(
                translate::resources_of(&task.resources)
                    .into_iter()
                    .map(|(kind, value)| ResourceRequirement {
                        kind: Some(kind.into()),
                        value: Some(value),
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
        retry_strategy: parts.attempts.map(|a| RetryStrategy {
            attempts: Some(i64::from(a)),
        }),
        timeout: parts.timeout_secs.map(|t| JobTimeout {
            attempt_duration_seconds: Some(i64::from(t)),
        }),
        tags: Some(tags),
        scheduling_priority_override: spec.priority.map(i64::from),
        ..Default::default()
    };
    let submitted = store
        .submit_job(request, new_job_id(), now)
        .map_err(|e| refused(e, op, ResourceKind::Other, ""))?;
    let job = JobId::new(submitted.job_id)
        .map_err(|e| Error::invalid_input("job", e.to_string(), ctx(op)))?;
    Ok(SubmitJobOutcome::new(job, true, key.clone()))
}

/// A job's neutral status from its detail.
fn job_status(job: &JobId, d: &JobDetail) -> JobStatus {
    let s = d.status.as_str();
    let mut status = JobStatus::new(job.clone(), translate::job_state(s), s);
    status.name = Some(d.job_name.clone());
    status.creation_time = time(Some(d.created_at));
    status.start_time = time(d.started_at);
    status.end_time = time(d.stopped_at);
    status.labels = d
        .tags
        .iter()
        .filter(|(k, _)| !translate::is_hidden_tag(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    status.pool_id = Some(d.job_queue.clone());
    if let Some(summary) = d
        .array_properties
        .as_ref()
        .and_then(|a| a.status_summary.as_ref())
    {
        let n = |k: &str| u64::try_from(summary.get(k).copied().unwrap_or(0)).unwrap_or(0);
        let counts = TaskCounts {
            pending: n("SUBMITTED") + n("PENDING") + n("RUNNABLE") + n("STARTING"),
            running: n("RUNNING"),
            succeeded: n("SUCCEEDED"),
            failed: n("FAILED"),
        };
        status.state = translate::array_job_state(s, n("STARTING") + n("RUNNING"));
        status.task_counts = Some(counts);
    }
    if d.status == Status::Failed {
        status.failure = Some(FailureInfo::new(None, d.status_reason.clone()));
    }
    if d.is_cancelled || d.is_terminated {
        status.terminate_reason = d.status_reason.clone();
    }
    status
}

/// A plain job's task or an array child's status from its detail.
fn task_status(job: &JobId, task: &TaskId, d: &JobDetail) -> TaskStatus {
    let s = d.status.as_str();
    let mut status = TaskStatus::new(job.clone(), task.clone(), translate::task_state(s), s);
    status.exit_code = d.container.exit_code.and_then(|c| i32::try_from(c).ok());
    status.start_time = time(d.started_at);
    status.end_time = time(d.stopped_at);
    status.retry_count = u32::try_from(d.attempts.len().saturating_sub(1)).unwrap_or(u32::MAX);
    status.instance_count = 1;
    status.result = translate::task_result(s);
    if d.status == Status::Failed {
        status.failure = Some(FailureInfo::new(
            None,
            d.container
                .reason
                .clone()
                .or_else(|| d.status_reason.clone()),
        ));
    }
    status
}

/// `terminate_job`: `TerminateJob` acts in every state; the outcome says whether it cancelled a
/// job that had not started or stopped one that had.
pub(crate) fn terminate(
    store: &mut Store,
    job: &JobId,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<TerminateJobOutcome> {
    let op = Operation::TerminateJob;
    let d = detail(store, job, op, now)?;
    if d.status.is_final() {
        return Ok(TerminateJobOutcome::new(
            TerminateDisposition::AlreadyCompleted,
        ));
    }
    if d.is_cancelled || d.is_terminated {
        return Ok(TerminateJobOutcome::new(
            TerminateDisposition::AlreadyTerminating,
        ));
    }
    let reason = reason.unwrap_or_else(|| crate::DEFAULT_TERMINATE_REASON.to_string());
    store
        .terminate_job(job.as_str(), Some(&reason), now)
        .map_err(|e| refused(e, op, ResourceKind::Job, job.as_str()))?;
    let started = d
        .array_properties
        .as_ref()
        .and_then(|a| a.status_summary.as_ref())
        .map_or(0, |summary| {
            translate::children_started(|k| {
                u64::try_from(summary.get(k).copied().unwrap_or(0)).unwrap_or(0)
            })
        });
    Ok(TerminateJobOutcome::new(translate::terminate_disposition(
        d.status.as_str(),
        started,
    )))
}

/// `job_status`: `DescribeJobs` of the job.
pub(crate) fn status(store: &mut Store, job: &JobId, now: DateTime<Utc>) -> Result<JobStatus> {
    Ok(job_status(
        job,
        &detail(store, job, Operation::JobStatus, now)?,
    ))
}

/// `task_status`: the job itself (task `0`) or an array child (`job:index`).
pub(crate) fn task(
    store: &mut Store,
    job: &JobId,
    task: &TaskId,
    now: DateTime<Utc>,
) -> Result<TaskStatus> {
    let d = task_detail(store, job, task, Operation::TaskStatus, now)?;
    Ok(task_status(job, task, &d))
}

/// The detail a task stands for: a plain job itself (task `0`) or an array child
/// (`job:index`).
fn task_detail(
    store: &Store,
    job: &JobId,
    task: &TaskId,
    op: Operation,
    now: DateTime<Utc>,
) -> Result<JobDetail> {
    let parent = detail(store, job, op, now)?;
    let is_array = parent.array_properties.is_some();
    let missing = || not_found(op, ResourceKind::Task, task.as_str());
    let id = translate::aws_id_of_task(job, task, is_array).ok_or_else(missing)?;
    if is_array {
        store.detail(&id, now).ok_or_else(missing)
    } else {
        Ok(parent)
    }
}

/// `job_statuses`: one `DescribeJobs` per call of at most 100 ids; missing ones `NotFound`.
pub(crate) fn statuses(
    store: &mut Store,
    jobs: &[JobId],
    now: DateTime<Utc>,
) -> Vec<(JobId, Result<JobStatus>)> {
    jobs.iter()
        .map(|job| {
            let s = detail(store, job, Operation::JobStatuses, now).map(|d| job_status(job, &d));
            (job.clone(), s)
        })
        .collect()
}

/// One page of `list_jobs`: every job of the region, newest first, from `offset`.
pub(crate) fn jobs_page(
    store: &mut Store,
    _options: &ListJobsOptions,
    offset: usize,
    size: usize,
    now: DateTime<Utc>,
) -> (Vec<JobStatus>, Option<usize>) {
    let ids: Vec<String> = store.job_ids().map(str::to_string).collect();
    let all: Vec<JobStatus> = ids
        .iter()
        .rev()
        .filter_map(|id| {
            let job = JobId::new(id.as_str()).ok()?;
            let d = store.detail(id, now)?;
            Some(job_status(&job, &d))
        })
        .collect();
    let size = size.max(1);
    let items: Vec<JobStatus> = all.iter().skip(offset).take(size).cloned().collect();
    let next = offset.saturating_add(size);
    (items, (next < all.len()).then_some(next))
}

/// `list_tasks`: an array job's children, or a plain job's one task.
pub(crate) fn tasks(store: &mut Store, job: &JobId, now: DateTime<Utc>) -> Result<Vec<TaskStatus>> {
    let op = Operation::ListTasks;
    let parent = detail(store, job, op, now)?;
    // One computation of the children's plans, not one per child.
    let Some(children) = store.children(job.as_str(), now) else {
        return Ok(vec![task_status(
            job,
            &translate::task_id_of(None),
            &parent,
        )]);
    };
    Ok((0i64..)
        .zip(&children)
        .map(|(i, d)| task_status(job, &translate::task_id_of(Some(i)), d))
        .collect())
}

/// `task_output`: where the output is (its CloudWatch Logs stream), once the container ran.
pub(crate) fn task_output(
    store: &mut Store,
    job: &JobId,
    task_id: &TaskId,
    _options: &TaskOutputOptions,
    now: DateTime<Utc>,
) -> Result<TaskOutput> {
    let op = Operation::TaskOutput;
    let d = task_detail(store, job, task_id, op, now)?;
    let Some(stream) = d.container.log_stream_name else {
        return Err(Error::not_found(
            ResourceKind::Task,
            task_id.as_str(),
            ctx(op).with_message("no log stream yet: the container has not started"),
        ));
    };
    let mut out = TaskOutput::new(Vec::new());
    out.complete = false;
    out.location = Some(format!("cloudwatch-logs://{LOG_GROUP}/{stream}"));
    Ok(out)
}

/// `export_job`: the spec back from the job's detail, leaving out what it got from its
/// definition (as the AWS client does).
pub(crate) fn export(store: &mut Store, job: &JobId, now: DateTime<Utc>) -> Result<ExportedJob> {
    let op = Operation::ExportJob;
    let d = detail(store, job, op, now)?;
    let definition = store
        .describe_job_definitions(&DescribeJobDefinitions {
            job_definitions: Some(vec![d.job_definition.clone()]),
            ..Default::default()
        })
        .ok()
        .and_then(|p| p.items.into_iter().next())
        .map(|def| def.container_properties);
    let inherited_env: Vec<KeyValuePair> = definition
        .as_ref()
        .and_then(|c| c.environment.clone())
        .unwrap_or_default();
    let inherited_resources: Vec<ResourceRequirement> = definition
        .as_ref()
        .and_then(|c| c.resource_requirements.clone())
        .unwrap_or_default();
    let task_name = d
        .tags
        .get(TASK_TAG)
        .and_then(|n| TaskId::new(n.as_str()).ok())
        .unwrap_or_else(|| translate::task_id_of(None));
    let mut task = TaskSpec::new(task_name, translate::command_from(&d.container.command));
    for kv in &d.container.environment {
        if let (Some(k), Some(v)) = (&kv.name, &kv.value)
            && !inherited_env.contains(kv)
        {
            task.env.insert(k.clone(), v.clone());
        }
    }
    for r in &d.container.resource_requirements {
        if !inherited_resources.contains(r) {
            translate::set_resource(
                &mut task.resources,
                r.kind.as_deref().unwrap_or(""),
                r.value.as_deref().unwrap_or(""),
            );
        }
    }
    if let Some(size) = d.array_properties.as_ref().and_then(|a| a.size) {
        task.instance_count = u32::try_from(size).unwrap_or(1);
    }
    if let Some(attempts) = d.retry_strategy.as_ref().and_then(|r| r.attempts) {
        task.max_retries = Some(u32::try_from(attempts.saturating_sub(1)).unwrap_or(0));
    }
    if let Some(secs) = d.timeout.as_ref().and_then(|t| t.attempt_duration_seconds) {
        task.timeout = Some(std::time::Duration::from_secs(
            u64::try_from(secs).unwrap_or(0),
        ));
    }
    let placement = Placement::AwsJobQueue {
        job_queue: translate::name_of_arn(&d.job_queue).to_string(),
        job_definition: translate::name_of_arn(&d.job_definition).to_string(),
    };
    let mut spec = JobSpec::new(d.job_name.clone(), placement, vec![task]);
    spec.idempotency_key = d
        .tags
        .get(IDEMPOTENCY_LABEL)
        .and_then(|k| IdempotencyKey::new(k.as_str()).ok());
    spec.labels = d
        .tags
        .iter()
        .filter(|(k, _)| !translate::is_hidden_tag(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    spec.priority = d.scheduling_priority.and_then(|p| i32::try_from(p).ok());
    let deps: Vec<translate::Dependency> = d
        .depends_on
        .iter()
        .map(|dep| translate::Dependency {
            job_id: dep.job_id.clone(),
            kind: dep.kind.clone(),
        })
        .collect();
    if let Some(ext) = translate::export_extension(&deps, &d.parameters) {
        spec.extensions.insert(translate::BACKEND.into(), ext);
    }
    Ok(ExportedJob::new(spec, Vec::new()))
}

/// `retry_failed_tasks`: AWS cannot rerun a job, so a `FAILED` plain job is submitted again
/// (key `retry-{job}`) and the outcome names the new job.
pub(crate) fn retry_failed(
    store: &mut Store,
    job: &JobId,
    now: DateTime<Utc>,
) -> Result<RetryFailedTasksOutcome> {
    let op = Operation::RetryFailedTasks;
    let d = detail(store, job, op, now)?;
    match d.status {
        Status::Succeeded => return Ok(RetryFailedTasksOutcome::new()),
        Status::Failed => {}
        other => {
            return Err(Error::invalid_state(
                Some(other.as_str().to_string()),
                ctx(op).with_message("only a FAILED job can be retried; wait for it to finish"),
            ));
        }
    }
    if d.array_properties.is_some() {
        return Err(Error::invalid_state(
            Some(d.status.as_str().to_string()),
            ctx(op).with_message(
                "an array job cannot be retried in part: submit it again with submit_job",
            ),
        ));
    }
    let mut spec = export(store, job, now)?.spec;
    let key = IdempotencyKey::new(format!("retry-{job}"))
        .map_err(|e| Error::invalid_input("job", e.to_string(), ctx(op)))?;
    spec.idempotency_key = Some(key.clone());
    let submitted = submit_spec(store, &spec, &key, now).map_err(|e| e.with_operation(op))?;
    let mut outcome = RetryFailedTasksOutcome::new();
    outcome.retried.push(translate::task_id_of(None));
    outcome.resubmitted.push(submitted.job);
    Ok(outcome)
}
