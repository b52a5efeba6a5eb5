//! The Tencent flavour of [`super::InMemoryBackend`]: the trait's operations over
//! `polybatch-sim`'s Tencent Batch state machine, the same one the emulator serves, so a test
//! on this flavour sees Tencent's rules (terminate refused while `SUBMITTED`, `RetryJobs` only on
//! a `FAILED` job, instances that run, retry and fail on their own timeline) without HTTP.

use std::time::Duration;

use chrono::{DateTime, Utc};
use polybatch_sim::tencent::errors::ApiError;
use polybatch_sim::tencent::requests;
use polybatch_sim::tencent::{
    DependOn, InstanceView, Job, JobSpec, Refusal, State, Store, TaskSpec, TaskView,
};

use crate::capability::Capabilities;
use crate::error::{Error, ErrorContext, Operation, ResourceKind, Result};
use crate::id::{JobId, TaskId};
use crate::outcome::{
    DeleteDisposition, DeleteJobOutcome, RetryFailedTasksOutcome, SubmitJobOutcome,
    TerminateDisposition, TerminateJobOutcome,
};
use crate::spec::{IDEMPOTENCY_LABEL, IdempotencyKey};
use crate::state::{JobState, TaskResult, TaskState};
use crate::status::{FailureInfo, JobStatus, TaskCounts, TaskStatus};

use super::store::BACKEND;

/// The one region the flavour simulates.
pub(crate) const REGION: &str = "ap-guangzhou";

/// What Tencent Batch supports through the trait: terminate (no reason, no force), status, and
/// `RetryJobs` as the portable retry; no per-task reactivate, no prep/release, no preconditions,
/// no server timeout.
pub(crate) fn capabilities() -> Capabilities {
    let mut c = Capabilities::none();
    c.terminate_job = true;
    c.job_status = true;
    c.task_status = true;
    c.retry_failed_tasks = true;
    c.retry_failed_tasks_in_place = true;
    c.submit_job = true;
    c.submit = crate::translate::tencent::submit_capabilities();
    c.job_statuses = true;
    c.job_statuses_per_request = MAX_JOB_IDS;
    c.delete_job = true;
    c.list_jobs = true;
    c.list_jobs_server_filters = crate::translate::tencent::LIST_JOBS_SERVER_FILTERS;
    c.list_tasks = true;
    c.export_job = true;
    c.terminate_task = true;
    c.terminate_task_instance = true;
    c.task_output = true;
    c.task_output_bytes = true;
    // DescribeTaskLogs has no byte range: the trait cuts it from the (at most 2048) bytes.
    c.task_output_server_range = false;
    c
}

/// Ids per `DescribeJobs` request (its `Limit` maximum; `JobIds` takes as many).
pub(crate) const MAX_JOB_IDS: usize = 100;

/// A parameter refusal of SubmitJob, as the Tencent client reports it.
fn invalid(e: ApiError) -> Error {
    let c = ctx(Operation::SubmitJob)
        .with_code(e.code.clone())
        .with_message(e.message.clone());
    Error::invalid_input("spec", e.message, c)
}

/// `submit_job`, as the Tencent client makes it: a job already tagged with the key is the
/// earlier submit; otherwise SubmitJob with the key as `ClientToken`, through the service's
/// own parameter rules (the emulator's).
pub(crate) fn submit_spec(
    store: &mut Store,
    spec: &crate::spec::JobSpec,
    key: &IdempotencyKey,
    now: DateTime<Utc>,
) -> Result<SubmitJobOutcome> {
    let tagged = |j: &&Job| {
        j.spec
            .tags
            .iter()
            .any(|(k, v)| k == IDEMPOTENCY_LABEL && v == key.as_str())
    };
    if let Some(j) = store.list(REGION).find(tagged) {
        let id = JobId::new(j.id.clone())?;
        return Ok(SubmitJobOutcome::new(id, false, key.clone()));
    }
    let body = crate::translate::tencent::submit_job_body(spec, key)?;
    let (sim_spec, token) = requests::submit(&body, REGION).map_err(invalid)?;
    let id = JobId::new(store.submit(REGION, sim_spec, token, now))?;
    Ok(SubmitJobOutcome::new(id, true, key.clone()))
}

/// `DeleteJob`: only a job whose instances all finished; a job already gone is an answer.
pub(crate) fn delete(
    store: &mut Store,
    job: &JobId,
    now: DateTime<Utc>,
) -> Result<DeleteJobOutcome> {
    let op = Operation::DeleteJob;
    let Some(j) = store.get(REGION, job.as_str()) else {
        return Ok(DeleteJobOutcome::new(DeleteDisposition::AlreadyGone));
    };
    if let Err(r) = j.can_delete(now) {
        let state = j.view(now).state;
        let c = ctx(op).with_code(r.code()).with_message(format!(
            "{} Terminate the job and wait until it and its instances are finished.",
            r.message()
        ));
        return Err(Error::invalid_state(Some(state.as_str().into()), c));
    }
    store.remove(job.as_str());
    Ok(DeleteJobOutcome::new(DeleteDisposition::Accepted))
}

/// One `DescribeJobs` with `JobIds`, as the Tencent client reads its `JobSet`: what a
/// `JobView` says (no `NextAction`, no failure reason), and `NotFound` for an id it omits.
pub(crate) fn job_statuses(
    store: &mut Store,
    jobs: &[JobId],
    now: DateTime<Utc>,
) -> crate::JobStatuses {
    jobs.iter()
        .map(|job| {
            let status = match store.get(REGION, job.as_str()) {
                None => Err(refused(
                    Operation::JobStatuses,
                    job,
                    None,
                    Refusal::JobNotFound(job.as_str().into()),
                )),
                Some(j) => Ok(summary(job.clone(), j, now)),
            };
            (job.clone(), status)
        })
        .collect()
}

/// A job as a `DescribeJobs` `JobView` reads: no `NextAction`, no failure reason.
fn summary(id: JobId, j: &Job, now: DateTime<Utc>) -> JobStatus {
    let view = j.view(now);
    let raw = view.state.as_str().to_string();
    let mut s = JobStatus::new(id, job_state(view.state), raw);
    s.end_time = view.ended;
    s.task_counts = Some(counts(&view.tasks));
    s.labels = labels(j);
    s.name = Some(j.spec.name.clone());
    s.creation_time = Some(j.created);
    s
}

/// One page of `DescribeJobs` (newest first, `Offset`/`Limit`), with the state filter
/// (`job-state`) and the label filters (`tag:KEY`) applied as the service applies them.
pub(crate) fn jobs_page(
    store: &mut Store,
    options: &crate::options::ListJobsOptions,
    offset: usize,
    limit: usize,
    now: DateTime<Utc>,
) -> (Vec<JobStatus>, Option<usize>) {
    let all: Vec<JobStatus> = store
        .list(REGION)
        .filter_map(|j| Some(summary(JobId::new(j.id.clone()).ok()?, j, now)))
        .filter(|s| options.states.is_empty() || options.states.contains(&s.state))
        .filter(|s| {
            options
                .labels
                .iter()
                .all(|(k, v)| s.labels.get(k) == Some(v))
        })
        .collect();
    let total = all.len();
    let items: Vec<JobStatus> = all.into_iter().skip(offset).take(limit).collect();
    let next = offset + items.len();
    let more = next < total && !items.is_empty();
    (items, more.then_some(next))
}

/// `DescribeJobSubmitInfo` (and the zone `DescribeJob` gives), read back as a spec.
pub(crate) fn export(store: &mut Store, job: &JobId) -> Result<crate::spec::ExportedJob> {
    let j = find(store, Operation::ExportJob, job)?;
    let mut info = j.spec.submitted.clone();
    if let Some(o) = info.as_object_mut() {
        o.insert("JobId".into(), serde_json::json!(j.id));
    }
    crate::translate::tencent::export(&info, &j.spec.zone)
        .map_err(|e| e.stamped(BACKEND, Operation::ExportJob))
}

/// `TerminateTaskInstance` on the task's unfinished instances (or the one asked), as the
/// Tencent client sends them: nothing unfinished is `AlreadyCompleted`.
pub(crate) fn terminate_task(
    store: &mut Store,
    job: &JobId,
    task: &TaskId,
    instance: Option<u32>,
    now: DateTime<Utc>,
) -> Result<crate::outcome::TerminateTaskOutcome> {
    let op = Operation::TerminateTask;
    let j = find(store, op, job)?;
    let k = j
        .task_index(task.as_str())
        .ok_or_else(|| refused(op, job, None, Refusal::TaskNotFound(task.as_str().into())))?;
    let view = j.view(now);
    let instances = view
        .tasks
        .get(k)
        .map(|t| t.instances.clone())
        .unwrap_or_default();
    let targets: Vec<usize> = match instance {
        Some(n) => {
            let index = usize::try_from(n).unwrap_or(usize::MAX);
            if index >= instances.len() {
                return Err(no_instance(op, job, task, n));
            }
            vec![index]
        }
        None => (0..instances.len()).collect(),
    };
    let unfinished: Vec<usize> = targets
        .into_iter()
        .filter(|i| instances.get(*i).is_some_and(|v| !v.state.is_terminal()))
        .collect();
    if unfinished.is_empty() {
        return Ok(crate::outcome::TerminateTaskOutcome::new(
            TerminateDisposition::AlreadyCompleted,
        ));
    }
    for i in unfinished {
        j.terminate_instance(k, i, now);
    }
    Ok(crate::outcome::TerminateTaskOutcome::new(
        TerminateDisposition::Accepted,
    ))
}

/// `DescribeTaskLogs` of one instance, as the Tencent client reads it: at most the last 2048
/// bytes (then `complete: false`); nothing before the instance launched.
pub(crate) fn task_output(
    store: &mut Store,
    job: &JobId,
    task: &TaskId,
    options: &crate::options::TaskOutputOptions,
    now: DateTime<Utc>,
) -> Result<crate::outcome::TaskOutput> {
    let op = Operation::TaskOutput;
    let j = find(store, op, job)?;
    let k = j
        .task_index(task.as_str())
        .ok_or_else(|| refused(op, job, None, Refusal::TaskNotFound(task.as_str().into())))?;
    let instances = j.view(now).tasks.get(k).map_or(0, |t| t.instances.len());
    if usize::try_from(options.instance).map_or(true, |i| i >= instances) {
        return Err(no_instance(op, job, task, options.instance));
    }
    let (out, err) = j
        .instance_output(k, options.instance, now)
        .unwrap_or_default();
    let bytes = match options.stream {
        crate::options::OutputStream::Stderr => err,
        _ => out,
    };
    // As the client reads it: a log of the service's full size may have been cut.
    let complete = bytes.len() < polybatch_protocol::tencent::MAX_LOG_BYTES;
    let mut o = crate::outcome::TaskOutput::new(bytes);
    o.complete = complete;
    Ok(o)
}

/// `DescribeJob`'s `TaskSet`, as task statuses (name, state, times; no instance detail).
pub(crate) fn tasks(store: &mut Store, job: &JobId, now: DateTime<Utc>) -> Result<Vec<TaskStatus>> {
    let j = find(store, Operation::ListTasks, job)?;
    let view = j.view(now);
    Ok(view
        .tasks
        .iter()
        .filter_map(|t| {
            let task = TaskId::new(t.name.clone()).ok()?;
            let mut s = TaskStatus::new(job.clone(), task, task_state(t.state), t.state.as_str());
            s.start_time = t.started.or(Some(t.created));
            s.end_time = t.ended;
            s.instance_count = u32::try_from(t.instances.len()).unwrap_or(u32::MAX);
            s.result = match task_state(t.state) {
                TaskState::Succeeded => Some(TaskResult::Success),
                TaskState::Failed => Some(TaskResult::Failure),
                _ => None,
            };
            Some(s)
        })
        .collect())
}

fn labels(j: &Job) -> std::collections::BTreeMap<String, String> {
    crate::translate::tencent::labels_from_tags(
        j.spec.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )
    .0
}

/// One task of a job seeded into the Tencent flavour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TencentTask {
    /// `TaskName` (also its [`TaskId`]).
    pub name: TaskId,
    /// `TaskInstanceNum`.
    pub instances: u32,
    /// How long each run of an instance takes.
    pub run_time: Duration,
    /// The exit code every run ends with (0 succeeds).
    pub exit_code: i64,
    /// `MaxRetryCount`: runs after a failure before the instance fails.
    pub max_retry: u32,
}

impl TencentTask {
    /// One instance that runs for 5 s and succeeds (the emulator's defaults).
    pub fn new(name: &TaskId) -> Self {
        TencentTask {
            name: name.clone(),
            instances: 1,
            run_time: Duration::from_secs(5),
            exit_code: 0,
            max_retry: 0,
        }
    }

    /// Runs for `run_time`, then exits with `exit_code`.
    pub fn runs(mut self, run_time: Duration, exit_code: i64) -> Self {
        self.run_time = run_time;
        self.exit_code = exit_code;
        self
    }

    /// With `n` instances.
    pub fn with_instances(mut self, n: u32) -> Self {
        self.instances = n;
        self
    }

    /// Retries a failed run up to `n` times.
    pub fn with_max_retry(mut self, n: u32) -> Self {
        self.max_retry = n;
        self
    }
}

fn ctx(op: Operation) -> ErrorContext {
    ErrorContext::new(BACKEND, op)
}

/// A refusal of the simulation as the Tencent client reports the same answer.
fn refused(op: Operation, job: &JobId, state: Option<State>, r: Refusal) -> Error {
    let c = ctx(op).with_code(r.code()).with_message(r.message());
    match r {
        Refusal::JobNotFound(_) => Error::not_found(ResourceKind::Job, job.as_str(), c),
        Refusal::TaskNotFound(name) => Error::not_found(ResourceKind::Task, name, c),
        Refusal::TaskInstanceNotFound { index, .. } => {
            Error::not_found(ResourceKind::TaskInstance, index.to_string(), c)
        }
        // As `polybatch-tencent` maps it: TerminateJob is refused only while the job is
        // SUBMITTED, which it leaves by itself, so the refusal is retryable and says so.
        Refusal::Unsupported(_) | Refusal::InUse
            if op == Operation::TerminateJob && state == Some(State::Submitted) =>
        {
            let hint = format!(
                "job {job} is still SUBMITTED and Tencent refuses to terminate it until it \
                 leaves SUBMITTED; retry once it has (terminate_job_and_wait does, within its \
                 deadline) (server said: {})",
                r.message()
            );
            Error::service(None, true, c.with_message(hint))
        }
        Refusal::Unsupported(_) | Refusal::InUse => {
            Error::invalid_state(state.map(|s| s.as_str().to_string()), c)
        }
    }
}

/// `ResourceNotFound.TaskInstance` for instance `index` of `task`.
fn no_instance(op: Operation, job: &JobId, task: &TaskId, index: u32) -> Error {
    let r = Refusal::TaskInstanceNotFound {
        task: task.as_str().into(),
        index: i64::from(index),
    };
    refused(op, job, None, r)
}

fn find<'a>(store: &'a mut Store, op: Operation, job: &JobId) -> Result<&'a mut Job> {
    store
        .get_mut(REGION, job.as_str())
        .ok_or_else(|| refused(op, job, None, Refusal::JobNotFound(job.as_str().into())))
}

/// Submits a job of `tasks` at `now`; its id is Tencent-shaped (`job-xxxxxxxx`).
pub(crate) fn submit(
    store: &mut Store,
    tasks: &[TencentTask],
    now: DateTime<Utc>,
) -> Result<JobId> {
    let op = Operation::Other("seed_tencent_job");
    if tasks.is_empty() {
        return Err(Error::invalid_input(
            "tasks",
            "a job needs at least one task",
            ctx(op),
        ));
    }
    let mut specs = Vec::with_capacity(tasks.len());
    for t in tasks {
        if specs.iter().any(|s: &TaskSpec| s.name == t.name.as_str()) {
            return Err(Error::invalid_input(
                "tasks",
                format!("task name {} is given twice", t.name),
                ctx(op),
            ));
        }
        if t.instances == 0 {
            return Err(Error::invalid_input(
                "instances",
                format!("task {} needs at least one instance", t.name),
                ctx(op),
            ));
        }
        let run_time = chrono::Duration::from_std(t.run_time).map_err(|_| {
            Error::invalid_input("run_time", format!("{:?} is too long", t.run_time), ctx(op))
        })?;
        specs.push(TaskSpec {
            name: t.name.as_str().to_string(),
            instance_num: t.instances,
            exit_code: t.exit_code,
            run_time,
            max_retry: t.max_retry,
            interrupt_on_failure: false,
            env_id: None,
            redirect_info: None,
        });
    }
    let spec = JobSpec {
        name: "polybatch-memory".into(),
        zone: format!("{REGION}-3"),
        priority: 0,
        tasks: specs,
        dependences: Vec::new(),
        depend_on: DependOn::PreTaskSucceed,
        tags: Vec::new(),
        submitted: serde_json::Value::Null,
    };
    let id = store.submit(REGION, spec, None, now);
    JobId::new(id).map_err(|e| Error::invalid_input("job id", e.to_string(), ctx(op)))
}

/// A job's Tencent state now, for seeding and fixtures.
pub(crate) fn job_state_now(store: &mut Store, job: &JobId, now: DateTime<Utc>) -> Result<String> {
    let j = find(store, Operation::Other("seed_tencent_state"), job)?;
    Ok(j.view(now).state.as_str().to_string())
}

/// A task's Tencent state now, for seeding and fixtures.
pub(crate) fn task_state_now(
    store: &mut Store,
    job: &JobId,
    task: &TaskId,
    now: DateTime<Utc>,
) -> Result<String> {
    let op = Operation::Other("seed_tencent_state");
    let j = find(store, op, job)?;
    let no_task = || refused(op, job, None, Refusal::TaskNotFound(task.as_str().into()));
    let k = j.task_index(task.as_str()).ok_or_else(no_task)?;
    let view = j.view(now);
    let t = view.tasks.get(k).ok_or_else(no_task)?;
    Ok(t.state.as_str().to_string())
}

/// A Tencent state as the neutral job state (as `polybatch-tencent` maps the wire string).
fn job_state(s: State) -> JobState {
    match s {
        State::Submitted => JobState::Submitted,
        State::Pending | State::Runnable => JobState::Pending,
        State::Starting | State::Running => JobState::Running,
        State::Succeed => JobState::Succeeded,
        State::Failed => JobState::Failed,
        State::FailedInterrupted => JobState::Interrupted,
    }
}

/// A Tencent state as the neutral task state.
fn task_state(s: State) -> TaskState {
    match s {
        State::Submitted | State::Pending | State::Runnable => TaskState::Pending,
        State::Starting => TaskState::Preparing,
        State::Running => TaskState::Running,
        State::Succeed => TaskState::Succeeded,
        State::Failed => TaskState::Failed,
        State::FailedInterrupted => TaskState::Interrupted,
    }
}

fn failed(s: State) -> bool {
    matches!(s, State::Failed | State::FailedInterrupted)
}

fn non_empty(s: &str) -> Option<String> {
    (!s.trim().is_empty()).then(|| s.to_string())
}

fn counts(tasks: &[TaskView]) -> TaskCounts {
    let mut c = TaskCounts::default();
    for t in tasks {
        match t.state {
            State::Running => c.running += 1,
            State::Succeed => c.succeeded += 1,
            State::Failed | State::FailedInterrupted => c.failed += 1,
            _ => c.pending += 1,
        }
    }
    c
}

/// `DescribeJob`, as a [`JobStatus`].
pub(crate) fn job_status(store: &mut Store, job: &JobId, now: DateTime<Utc>) -> Result<JobStatus> {
    let j = find(store, Operation::JobStatus, job)?;
    let view = j.view(now);
    // As polybatch-tencent reads DescribeJob: a job being terminated is Terminating (the raw
    // state stays the provider state), StateReason is a failure's reason only, and DescribeJob
    // reports no start time.
    let reported = job_state(view.state);
    let state = if view.next_action == "TERMINATING" && !reported.is_terminal() {
        JobState::Terminating
    } else {
        reported
    };
    let raw = view.state.as_str().to_string();
    let mut s = JobStatus::new(job.clone(), state, raw.clone());
    s.end_time = view.ended;
    s.task_counts = Some(counts(&view.tasks));
    s.labels = labels(j);
    s.name = Some(j.spec.name.clone());
    s.creation_time = Some(j.created);
    if failed(view.state) {
        s.failure = Some(FailureInfo::new(Some(raw), non_empty(&view.reason)));
    }
    Ok(s)
}

/// `DescribeTask` with every instance, as a [`TaskStatus`].
pub(crate) fn task_status(
    store: &mut Store,
    job: &JobId,
    task: &TaskId,
    now: DateTime<Utc>,
) -> Result<TaskStatus> {
    let op = Operation::TaskStatus;
    let j = find(store, op, job)?;
    let no_task = || refused(op, job, None, Refusal::TaskNotFound(task.as_str().into()));
    let k = j.task_index(task.as_str()).ok_or_else(no_task)?;
    let view = j.view(now);
    let t = view.tasks.get(k).ok_or_else(no_task)?;
    let state = task_state(t.state);
    let mut s = TaskStatus::new(
        job.clone(),
        task.clone(),
        state,
        t.state.as_str().to_string(),
    );
    s.instance_count = u32::try_from(t.instances.len()).unwrap_or(u32::MAX);
    let first_failed: Option<&InstanceView> = t.instances.iter().find(|i| failed(i.state));
    let all_succeeded =
        !t.instances.is_empty() && t.instances.iter().all(|i| i.state == State::Succeed);
    s.exit_code = match t
        .instances
        .iter()
        .filter(|i| failed(i.state))
        .filter_map(|i| i.exit_code)
        .find(|c| *c != 0)
    {
        Some(code) => i32::try_from(code).ok(),
        None if all_succeeded => Some(0),
        None => None,
    };
    if let Some(f) = first_failed {
        let mut info = FailureInfo::new(Some(f.state.as_str().to_string()), non_empty(&f.reason));
        info.details
            .push(("TaskInstanceIndex".to_string(), f.index.to_string()));
        s.failure = Some(info);
    }
    s.result = match state {
        TaskState::Succeeded => Some(TaskResult::Success),
        TaskState::Failed => Some(TaskResult::Failure),
        _ => None,
    };
    s.start_time = t
        .instances
        .iter()
        .filter_map(|i| i.running.or(i.launched))
        .min()
        .or(Some(t.created));
    s.end_time = t.ended.or_else(|| {
        state
            .is_terminal()
            .then(|| t.instances.iter().filter_map(|i| i.ended).max())
            .flatten()
    });
    Ok(s)
}

/// `TerminateJob`, idempotent as the trait wants it: a finished job is `AlreadyCompleted`, one
/// already terminating `AlreadyTerminating`; a `SUBMITTED` job is refused, as Tencent refuses
/// it (`UnsupportedOperation`).
pub(crate) fn terminate(
    store: &mut Store,
    job: &JobId,
    now: DateTime<Utc>,
) -> Result<TerminateJobOutcome> {
    let op = Operation::TerminateJob;
    let j = find(store, op, job)?;
    let view = j.view(now);
    // A FAILED job may still hold FAILED_INTERRUPTED instances: only when every instance
    // finished is there nothing to terminate.
    let all_finished = view
        .tasks
        .iter()
        .flat_map(|t| &t.instances)
        .all(|i| i.state.is_terminal());
    let disposition = if view.state.is_terminal() && all_finished {
        TerminateDisposition::AlreadyCompleted
    } else if view.next_action == "TERMINATING" {
        TerminateDisposition::AlreadyTerminating
    } else {
        j.terminate(now)
            .map_err(|r| refused(op, job, Some(view.state), r))?;
        TerminateDisposition::Accepted
    };
    Ok(TerminateJobOutcome::new(disposition))
}

/// `RetryJobs` on one job: only a `FAILED` job; the outcome names its failed tasks.
pub(crate) fn retry_failed(
    store: &mut Store,
    job: &JobId,
    now: DateTime<Utc>,
) -> Result<RetryFailedTasksOutcome> {
    let op = Operation::RetryFailedTasks;
    let j = find(store, op, job)?;
    let view = j.view(now);
    let mut outcome = RetryFailedTasksOutcome::new();
    outcome.retried = view
        .tasks
        .iter()
        .filter(|t| failed(t.state))
        .filter_map(|t| TaskId::new(&t.name).ok())
        .collect();
    // Nothing failed: nothing to retry, as on every provider (as polybatch-tencent reads it).
    if outcome.retried.is_empty() && view.state != State::Failed {
        return Ok(outcome);
    }
    j.can_retry(now)
        .map_err(|r| refused(op, job, Some(view.state), r))?;
    j.retry(now);
    Ok(outcome)
}
