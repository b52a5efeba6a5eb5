//! The simulated Batch account: jobs, tasks and pool nodes.
//!
//! Nothing runs in the background. Every request first calls [`Sim::advance`] with the
//! simulation clock's time, which replays the events that fell due since the last request in
//! time order (task phases ending, release tasks finishing) and schedules waiting tasks onto
//! free nodes at the instant a node became free. State is therefore a pure function of the
//! requests received and the clock.
//!
//! So that a request costs the same on an account of ten jobs or of a hundred thousand, the
//! replay never scans every job: what falls due is kept in a queue by time ([`Due`]), and the
//! tasks waiting for a node in a queue per pool, oldest first. Both are written to whenever a
//! time or a waiting task is set, and read lazily: an entry a later change made stale (the
//! task ended early, the job was deleted) is dropped when it is reached.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::refusal::Refusal;
use super::rules::{self, JobPhase, TaskPhase};

/// A point in simulated time.
pub type Time = DateTime<Utc>;

/// Job ids and task ids are case-preserving but case-insensitive in Batch.
pub fn key_of(id: &str) -> String {
    id.to_lowercase()
}

/// The job states this simulation reaches (Batch also has the passing `disabling` and
/// `enabling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Accepting and running tasks.
    Active,
    /// Accepting tasks, running none (Job_Disable; reached here by seeding).
    Disabled,
    /// Being deleted (Job_Delete; reached here by seeding).
    Deleting,
    /// Terminate accepted; release tasks still running.
    Terminating,
    /// Finished.
    Completed,
}

impl JobState {
    /// The state as Batch spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Active => "active",
            JobState::Disabled => "disabled",
            JobState::Deleting => "deleting",
            JobState::Terminating => "terminating",
            JobState::Completed => "completed",
        }
    }
}

/// Batch task states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting to be scheduled (Batch `active`).
    Active,
    /// On a node, waiting for the job preparation task.
    Preparing,
    /// Running its command.
    Running,
    /// Finished, successfully or not.
    Completed,
}

impl TaskState {
    /// The state as Batch spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Active => "active",
            TaskState::Preparing => "preparing",
            TaskState::Running => "running",
            TaskState::Completed => "completed",
        }
    }
}

/// A state with its transition time and the one before it.
#[derive(Debug, Clone)]
pub struct Transition<S> {
    /// The current state.
    pub state: S,
    /// When it was entered.
    pub time: Time,
    /// The state before it and when that was entered.
    pub previous: Option<(S, Time)>,
}

impl<S: Copy + PartialEq> Transition<S> {
    fn new(state: S, time: Time) -> Self {
        Transition {
            state,
            time,
            previous: None,
        }
    }

    fn set(&mut self, state: S, time: Time) {
        if self.state != state {
            self.previous = Some((self.state, self.time));
            self.state = state;
            self.time = time;
        }
    }
}

/// What makes an ETag and Last-Modified.
#[derive(Debug, Clone)]
pub struct Meta {
    /// The ETag (`0x...`, from .NET ticks, strictly increasing).
    pub etag: String,
    /// When the resource last changed.
    pub last_modified: Time,
}

/// How long a command runs and how it exits, read from its environment settings.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// How long one run of the command takes.
    pub duration: Duration,
    /// The exit code it ends with.
    pub exit_code: i32,
}

pub use polybatch_protocol::sim_env::{EXIT_CODE_VAR, RUN_SECONDS_VAR, STDERR_VAR, STDOUT_VAR};

fn env_lookup<'a>(settings: &[&'a Value], name: &str) -> Option<&'a str> {
    // Later lists override earlier ones (task settings override the job's common settings).
    settings.iter().rev().find_map(|list| {
        list.as_array()?.iter().find_map(|e| {
            (e.get("name")?.as_str()? == name)
                .then(|| e.get("value").and_then(Value::as_str).unwrap_or(""))
        })
    })
}

impl Outcome {
    fn read(settings: &[&Value], default_secs: f64) -> Outcome {
        let secs = env_lookup(settings, RUN_SECONDS_VAR)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && (0.0..=1.0e7).contains(s))
            .unwrap_or(default_secs);
        let exit_code = env_lookup(settings, EXIT_CODE_VAR)
            .and_then(|v| v.trim().parse::<i32>().ok())
            .unwrap_or(0);
        Outcome {
            duration: Duration::milliseconds((secs * 1000.0).round() as i64),
            exit_code,
        }
    }
}

/// `t + d`, saturating (the admin API can push the clock arbitrarily far).
fn after(t: Time, d: Duration) -> Time {
    t.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A `failureInfo` object.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The `failureInfo.category`.
    pub category: &'static str,
    /// The `failureInfo.code`.
    pub code: &'static str,
    /// The `failureInfo.message`.
    pub message: &'static str,
}

/// A command that exited non-zero.
pub const EXIT_FAILURE: Failure = Failure {
    category: "usererror",
    code: "FailureExitCode",
    message: "The task exited with an exit code representing a failure",
};

/// A task ended by Task_Terminate or its job's termination.
pub const TASK_ENDED: Failure = Failure {
    category: "usererror",
    code: "TaskEnded",
    message: "Task was ended by user request",
};

/// A task's `executionInfo`.
#[derive(Debug, Clone, Default)]
pub struct Execution {
    /// When the current (or last) attempt started.
    pub start: Option<Time>,
    /// When the task completed.
    pub end: Option<Time>,
    /// The last exit code.
    pub exit_code: Option<i32>,
    /// Why it failed, if it did.
    pub failure: Option<Failure>,
    /// Retries made so far.
    pub retry_count: u32,
    /// When the last retry started.
    pub last_retry: Option<Time>,
    /// Times the task was put back in the queue (a failed preparation task).
    pub requeue_count: u32,
    /// When it was last requeued.
    pub last_requeue: Option<Time>,
    /// Whether it completed successfully (`None` until completed).
    pub success: Option<bool>,
}

/// One task.
#[derive(Debug, Clone)]
pub struct Task {
    /// The task id as given.
    pub id: String,
    /// Order of creation across the account (scheduling is oldest first).
    pub seq: u64,
    /// The Task_Add body, echoed back with service fields added.
    pub body: Value,
    /// When it was added.
    pub created: Time,
    /// Its state and the one before.
    pub state: Transition<TaskState>,
    /// Its ETag and Last-Modified.
    pub meta: Meta,
    /// How its command runs and ends.
    pub outcome: Outcome,
    /// -1 means unlimited.
    pub max_retries: i64,
    /// Its `executionInfo`.
    pub exec: Execution,
    /// The node it occupies (preparing/running) or last ran on.
    pub node: Option<usize>,
    /// When the current phase ends (preparing or running).
    pub phase_end: Option<Time>,
    /// Preparing while the job preparation task runs on its node (waitForSuccess).
    pub waits_for_prep: bool,
    depends_on: Vec<String>,
    depends_on_ranges: Vec<(i64, i64)>,
}

/// What a job's state makes due: its completion when terminating, its removal when deleting.
fn job_due(jk: &str, job: &Job) -> Option<(Time, Due)> {
    match job.state.state {
        JobState::Terminating => job.completes_at.map(|t| (t, Due::Completion(jk.into()))),
        JobState::Deleting => job.gone_at.map(|t| (t, Due::Removal(jk.into()))),
        _ => None,
    }
}

/// What a task's state makes due: the end of the phase it holds a node for.
fn task_due(jk: &str, tk: &str, task: &Task) -> Option<(Time, Due)> {
    let end = task.phase_end.filter(|_| occupies_node(task))?;
    Some((end, Due::PhaseEnd(jk.into(), tk.into())))
}

/// Whether a task holds a node (preparing or running), so its phase has an end.
fn occupies_node(task: &Task) -> bool {
    matches!(task.state.state, TaskState::Preparing | TaskState::Running)
}

impl Task {
    /// The task's state as the refusal rules see it.
    pub fn phase(&self) -> TaskPhase {
        match (self.state.state, self.exec.success) {
            (TaskState::Completed, Some(true)) => TaskPhase::Succeeded,
            (TaskState::Completed, _) => TaskPhase::Failed,
            _ => TaskPhase::Unfinished,
        }
    }
}

/// A job preparation or release task's settings.
#[derive(Debug, Clone)]
pub struct SideTask {
    /// The task id (`jobpreparation` / `jobrelease` unless given).
    pub id: String,
    /// How its command runs and ends.
    pub outcome: Outcome,
    /// The retries allowed after a failure (-1: unlimited).
    pub max_retries: i64,
    /// Whether the job's tasks wait for it to succeed on their node.
    pub wait_for_success: bool,
}

/// A preparation or release task run on one node. Its state follows from the clock: running
/// until `end`, then completed.
#[derive(Debug, Clone)]
pub struct Run {
    /// When the first attempt started.
    pub start: Time,
    /// When the last attempt ends.
    pub end: Time,
    /// The exit code of every attempt.
    pub exit_code: i32,
    /// Retries it makes in all.
    pub retries: u32,
    /// How long one attempt takes.
    pub attempt: Duration,
}

impl Run {
    fn new(start: Time, spec: &SideTask) -> Run {
        let retries = if spec.outcome.exit_code == 0 {
            0
        } else if spec.max_retries < 0 {
            // An always-failing command retried forever: the simulation caps it.
            100
        } else {
            spec.max_retries.min(100) as u32
        };
        let attempt = spec.outcome.duration;
        Run {
            start,
            end: after(start, attempt * (retries as i32 + 1)),
            exit_code: spec.outcome.exit_code,
            retries,
            attempt,
        }
    }

    /// Whether the run has ended by `now`.
    pub fn completed(&self, now: Time) -> bool {
        now >= self.end
    }

    /// Retries done by `now` and the start of the current attempt.
    pub fn progress(&self, now: Time) -> (u32, Time) {
        let done = if self.completed(now) || self.attempt <= Duration::zero() {
            self.retries
        } else {
            let elapsed = (now - self.start).num_milliseconds().max(0);
            let per = self.attempt.num_milliseconds().max(1);
            ((elapsed / per) as u32).min(self.retries)
        };
        (done, after(self.start, self.attempt * done as i32))
    }
}

/// What happened on one node for one job.
#[derive(Debug, Clone, Default)]
pub struct NodeRecord {
    /// The job preparation task's run on the node.
    pub prep: Option<Run>,
    /// The job release task's run on the node.
    pub release: Option<Run>,
}

/// One job.
#[derive(Debug, Clone)]
pub struct Job {
    /// The job id as given.
    pub id: String,
    /// The Job_Add body, echoed back with service fields added.
    pub body: Value,
    /// When it was added.
    pub created: Time,
    /// Its state and the one before.
    pub state: Transition<JobState>,
    /// Its ETag and Last-Modified.
    pub meta: Meta,
    /// Its pool's key (lowercased id).
    pub pool_key: String,
    /// Its pool's id as given.
    pub pool_id: String,
    /// The job preparation task, if any.
    pub prep: Option<SideTask>,
    /// The job release task, if any.
    pub release: Option<SideTask>,
    /// `onAllTasksComplete: terminatejob`.
    pub terminate_when_done: bool,
    /// `constraints.maxTaskRetryCount` (the tasks' default).
    pub max_task_retries: i64,
    /// `usesTaskDependencies`.
    pub uses_dependencies: bool,
    /// When it completed.
    pub end_time: Option<Time>,
    /// Why it was terminated.
    pub terminate_reason: Option<String>,
    /// When a terminating job completes (its release tasks are done).
    pub completes_at: Option<Time>,
    /// When a deleting job is gone.
    pub gone_at: Option<Time>,
    /// Its tasks, by lowercased id.
    pub tasks: BTreeMap<String, Task>,
    /// Keyed by node index in the pool.
    pub records: BTreeMap<usize, NodeRecord>,
}

impl Job {
    /// The job's state as the refusal rules see it.
    pub fn phase(&self) -> JobPhase {
        match self.state.state {
            JobState::Active => JobPhase::Active,
            JobState::Disabled => JobPhase::Disabled,
            JobState::Deleting => JobPhase::Deleting,
            JobState::Terminating => JobPhase::Terminating,
            JobState::Completed => JobPhase::Completed,
        }
    }

    fn eligible(&self, node: usize, now: Time) -> bool {
        let Some(prep) = &self.prep else { return true };
        match self.records.get(&node).and_then(|r| r.prep.as_ref()) {
            Some(run) if prep.wait_for_success => !(run.completed(now) && run.exit_code != 0),
            _ => true,
        }
    }

    fn dependencies_met(&self, task: &Task) -> bool {
        let ok = |t: &Task| t.state.state == TaskState::Completed && t.exec.success == Some(true);
        task.depends_on
            .iter()
            .all(|id| self.tasks.get(&key_of(id)).is_some_and(ok))
            && task.depends_on_ranges.iter().all(|&(lo, hi)| {
                self.tasks
                    .values()
                    .filter(|t| t.id.parse::<i64>().is_ok_and(|n| n >= lo && n <= hi))
                    .all(ok)
            })
    }
}

/// A pool, provided on demand for the first job that names it.
#[derive(Debug, Clone)]
pub struct Pool {
    /// The pool id as given.
    pub id: String,
    /// Its nodes' ids, one per node.
    pub node_ids: Vec<String>,
    /// `(job key, task key)` occupying each node.
    busy: Vec<Option<(String, String)>>,
}

/// FNV-1a: a stable number for a pool id, used in node ids.
fn stable_hash(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

impl Pool {
    fn new(id: &str, nodes: usize) -> Pool {
        let hash = stable_hash(&key_of(id)) % 1_000_000_000;
        Pool {
            id: id.to_string(),
            node_ids: (1..=nodes)
                .map(|i| format!("tvm-{hash}_{i}-20250101t000000z"))
                .collect(),
            busy: vec![None; nodes],
        }
    }
}

/// The whole simulated account.
#[derive(Debug)]
pub struct Sim {
    now: Time,
    last_tag: u64,
    seq: u64,
    nodes_per_pool: usize,
    /// How long a terminating job takes at least, besides its release tasks.
    termination_time: Duration,
    /// Whether nothing has changed since [`Sim::advance`] last brought everything due up to
    /// `now`: then another `advance` to `now` has nothing to do, and a read costs no scan of
    /// every job. Every change clears it first ([`Sim::change`]).
    settled: bool,
    /// Every job, by lowercased id.
    jobs: BTreeMap<String, Job>,
    /// Every pool, by lowercased id.
    pools: BTreeMap<String, Pool>,
    /// What falls due, by time (stale entries are dropped when reached).
    due: BTreeSet<(Time, Due)>,
    /// Per pool key, the tasks waiting for one of its nodes: `(seq, job key, task key)`, oldest
    /// first (stale entries are dropped when reached).
    waiting: BTreeMap<String, BTreeSet<(u64, String, String)>>,
}

/// Something the clock reaching a time does. The order is the order of the work at one
/// instant: jobs completing, then jobs going, then tasks' phases ending (each in key order).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    /// A terminating job completes (its `completes_at`).
    Completion(String),
    /// A deleting job is gone (its `gone_at`).
    Removal(String),
    /// A task's preparing or running phase ends (its `phase_end`).
    PhaseEnd(String, String),
}

/// A job transition only seeding makes (see [`Sim::seed_job_state`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedJob {
    /// Active → disabled.
    Disable,
    /// Disabled → active.
    Enable,
    /// Any state → deleting.
    Delete,
    /// Active or disabled → completed at once, by the service, with this reason (for example
    /// `AllTasksComplete`); running tasks are ended.
    Complete(String),
}

/// The "unlimited" duration Batch reports (.NET `TimeSpan.MaxValue`).
pub const UNLIMITED: &str = "P10675199DT2H48M5.4775807S";

/// Ticks of .NET `DateTime` (100 ns since 0001-01-01), which Batch ETags are made from.
fn dotnet_ticks(t: Time) -> u64 {
    const UNIX_EPOCH_TICKS: i64 = 621_355_968_000_000_000;
    let ticks = t.timestamp() * 10_000_000 + i64::from(t.timestamp_subsec_nanos() / 100);
    (ticks + UNIX_EPOCH_TICKS).max(0) as u64
}

fn str_field<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn max_retries_of(v: &Value, default: i64) -> Result<i64, Refusal> {
    match v
        .get("constraints")
        .and_then(|c| c.get("maxTaskRetryCount"))
    {
        None | Some(Value::Null) => Ok(default),
        Some(n) => match n.as_i64() {
            Some(n) if n >= -1 => Ok(n),
            _ => Err(Refusal::invalid_property("maxTaskRetryCount", n)),
        },
    }
}

fn side_task(
    v: &Value,
    property: &str,
    default_id: &str,
    common_env: &Value,
) -> Result<Option<SideTask>, Refusal> {
    let Some(spec) = v.get(property).filter(|s| !s.is_null()) else {
        return Ok(None);
    };
    if !spec.is_object() {
        return Err(Refusal::invalid_property(property, spec));
    }
    if str_field(spec, "commandLine").is_none_or(str::is_empty) {
        return Err(Refusal::missing_property(&format!(
            "{property}.commandLine"
        )));
    }
    let id = str_field(spec, "id").unwrap_or(default_id).to_string();
    if !valid_id(&id) {
        return Err(Refusal::invalid_property(
            &format!("{property}.id"),
            &spec["id"],
        ));
    }
    let env = spec.get("environmentSettings").unwrap_or(&Value::Null);
    Ok(Some(SideTask {
        id,
        outcome: Outcome::read(&[common_env, env], 1.0),
        max_retries: max_retries_of(spec, 0)?,
        wait_for_success: spec
            .get("waitForSuccess")
            .and_then(Value::as_bool)
            .unwrap_or(true),
    }))
}

impl Sim {
    /// An empty account at `now` whose pools get `nodes_per_pool` nodes each.
    pub fn new(now: Time, nodes_per_pool: usize) -> Sim {
        Sim {
            now,
            last_tag: 0,
            seq: 0,
            nodes_per_pool,
            termination_time: Duration::zero(),
            settled: false,
            jobs: BTreeMap::new(),
            pools: BTreeMap::new(),
            due: BTreeSet::new(),
            waiting: BTreeMap::new(),
        }
    }

    /// Every job, by lowercased id.
    pub fn jobs(&self) -> &BTreeMap<String, Job> {
        &self.jobs
    }

    /// Every pool, by lowercased id.
    pub fn pools(&self) -> &BTreeMap<String, Pool> {
        &self.pools
    }

    /// Marks the start of a change: the next [`Sim::advance`] schedules and replays again
    /// even at the same time.
    fn change(&mut self) {
        self.settled = false;
    }

    /// The time the simulation has reached.
    pub fn now(&self) -> Time {
        self.now
    }

    fn meta(&mut self, t: Time) -> Meta {
        // Strictly increasing, so two changes in the same instant still differ.
        self.last_tag = dotnet_ticks(t).max(self.last_tag + 1);
        Meta {
            etag: format!("0x{:X}", self.last_tag),
            last_modified: t,
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// The job with this id (ids are case-insensitive).
    pub fn job(&self, id: &str) -> Option<&Job> {
        self.jobs.get(&key_of(id))
    }

    /// The job, or the service's `JobNotFound`.
    pub fn found_job(&self, id: &str) -> Result<&Job, Refusal> {
        self.job(id)
            .ok_or_else(|| Refusal::not_found("JobNotFound"))
    }

    /// The job and its task, or the service's `JobNotFound` / `TaskNotFound`.
    pub fn found_task(&self, job_id: &str, task_id: &str) -> Result<(&Job, &Task), Refusal> {
        let job = self.found_job(job_id)?;
        let task = job
            .tasks
            .get(&key_of(task_id))
            .ok_or_else(|| Refusal::not_found("TaskNotFound"))?;
        Ok((job, task))
    }

    /// The pool a job runs on.
    pub fn pool_of(&self, job: &Job) -> Option<&Pool> {
        self.pools.get(&job.pool_key)
    }

    /// Replays everything due up to `to` (never moves backwards). At the time already reached,
    /// with nothing changed since, there is nothing to do.
    pub fn advance(&mut self, to: Time) {
        if self.settled && to <= self.now {
            return;
        }
        self.replay(to);
        self.settled = true;
    }

    /// [`Sim::advance`] without the shortcut, for use inside a change (which leaves the
    /// simulation unsettled until the next public `advance`).
    fn replay(&mut self, to: Time) {
        let to = to.max(self.now);
        self.schedule(self.now);
        while let Some(t) = self.next_event().filter(|t| *t <= to) {
            self.now = self.now.max(t);
            let t = self.now;
            self.apply_due(t);
            self.schedule(t);
        }
        self.now = to;
        debug_assert_eq!(self.queue_problem(), None);
    }

    /// Why the queues do not stand for the state, if they do not: every time set on a job or
    /// task must be queued, and every waiting task of an active job be in its pool's queue.
    /// Debug builds check it after every replay; tests call it after every operation.
    #[doc(hidden)]
    pub fn queue_problem(&self) -> Option<String> {
        for (jk, job) in &self.jobs {
            if let Some(entry) = job_due(jk, job).filter(|e| !self.due.contains(e)) {
                return Some(format!("{entry:?} is not queued"));
            }
            for (tk, task) in &job.tasks {
                if let Some(entry) = task_due(jk, tk, task).filter(|e| !self.due.contains(e)) {
                    return Some(format!("{entry:?} is not queued"));
                }
                let waits =
                    job.state.state == JobState::Active && task.state.state == TaskState::Active;
                let queued = || {
                    self.waiting
                        .get(&job.pool_key)
                        .is_some_and(|q| q.contains(&(task.seq, jk.clone(), tk.clone())))
                };
                if waits && !queued() {
                    return Some(format!("waiting task {jk}/{tk} is in no pool's queue"));
                }
            }
        }
        None
    }

    /// Whether a queued entry still stands: the job or task still has that time for it.
    fn is_current(&self, t: Time, due: &Due) -> bool {
        match due {
            Due::Completion(jk) => self.jobs.get(jk).is_some_and(|j| {
                j.state.state == JobState::Terminating && j.completes_at == Some(t)
            }),
            Due::Removal(jk) => self
                .jobs
                .get(jk)
                .is_some_and(|j| j.state.state == JobState::Deleting && j.gone_at == Some(t)),
            Due::PhaseEnd(jk, tk) => self
                .jobs
                .get(jk)
                .and_then(|j| j.tasks.get(tk))
                .is_some_and(|task| occupies_node(task) && task.phase_end == Some(t)),
        }
    }

    /// Queues what a job's state makes due (a completion or a removal), after any change to it.
    fn track_job(&mut self, jk: &str) {
        let due = self.jobs.get(jk).and_then(|job| job_due(jk, job));
        self.due.extend(due);
    }

    /// Queues what a task's state makes due (its phase's end) or puts it among its pool's
    /// waiting tasks, after any change to it.
    fn track_task(&mut self, jk: &str, tk: &str) {
        let Some(job) = self.jobs.get(jk) else { return };
        let Some(task) = job.tasks.get(tk) else {
            return;
        };
        if task.state.state == TaskState::Active {
            self.waiting
                .entry(job.pool_key.clone())
                .or_default()
                .insert((task.seq, jk.into(), tk.into()));
        } else if let Some(entry) = task_due(jk, tk, task) {
            self.due.insert(entry);
        }
    }

    /// The earliest time something falls due, dropping the stale entries before it.
    fn next_event(&mut self) -> Option<Time> {
        loop {
            let (t, due) = self.due.first()?;
            if self.is_current(*t, due) {
                return Some(*t);
            }
            self.due.pop_first();
        }
    }

    fn apply_due(&mut self, t: Time) {
        let mut reached = Vec::new();
        while let Some(entry) = self.due.first().filter(|(at, _)| *at <= t) {
            reached.push(entry.clone());
            self.due.pop_first();
        }
        let mut completions = Vec::new();
        let mut removals = Vec::new();
        let mut phases = Vec::new();
        for (at, due) in reached {
            if !self.is_current(at, &due) {
                continue;
            }
            match due {
                Due::Completion(jk) => completions.push(jk),
                Due::Removal(jk) => removals.push(jk),
                Due::PhaseEnd(jk, tk) => phases.push((jk, tk)),
            }
        }
        // Each kind in key order, whatever the times within `t` (as a scan would find them).
        completions.sort();
        removals.sort();
        phases.sort();
        for k in completions {
            self.complete_job(&k, t);
        }
        for k in removals {
            self.jobs.remove(&k);
        }
        // Tasks of a job just removed are gone with it.
        phases.retain(|(jk, _)| self.jobs.contains_key(jk));
        for (jk, tk) in phases {
            self.step_task(&jk, &tk, t);
        }
    }

    /// A task's current phase has ended at `t`.
    fn step_task(&mut self, jk: &str, tk: &str, t: Time) {
        let meta = self.meta(t);
        let Some(job) = self.jobs.get_mut(jk) else {
            return;
        };
        let prep_failed = {
            let Some(task) = job.tasks.get(tk) else {
                return;
            };
            task.waits_for_prep
                && task
                    .node
                    .and_then(|n| job.records.get(&n))
                    .and_then(|r| r.prep.as_ref())
                    .is_some_and(|r| r.exit_code != 0)
        };
        let pool_key = job.pool_key.clone();
        let Some(task) = job.tasks.get_mut(tk) else {
            return;
        };
        task.meta = meta;
        let mut freed = None;
        let mut finished = false;
        match task.state.state {
            TaskState::Preparing if prep_failed => {
                // The preparation task failed on this node: Batch puts the task back in the
                // queue and never schedules this job's tasks on the node again.
                task.state.set(TaskState::Active, t);
                task.exec.requeue_count += 1;
                task.exec.last_requeue = Some(t);
                freed = task.node.take();
                task.phase_end = None;
                task.waits_for_prep = false;
            }
            TaskState::Preparing => {
                task.state.set(TaskState::Running, t);
                task.exec.start = Some(t);
                task.phase_end = Some(after(t, task.outcome.duration));
                task.waits_for_prep = false;
            }
            TaskState::Running => {
                let exit = task.outcome.exit_code;
                let may_retry =
                    task.max_retries < 0 || i64::from(task.exec.retry_count) < task.max_retries;
                if exit != 0 && may_retry {
                    task.exec.retry_count += 1;
                    task.exec.last_retry = Some(t);
                    task.exec.start = Some(t);
                    // Zero-length attempts retried forever would never let time move.
                    let attempt = if task.max_retries < 0 {
                        task.outcome.duration.max(Duration::seconds(1))
                    } else {
                        task.outcome.duration
                    };
                    task.phase_end = Some(after(t, attempt));
                } else {
                    task.state.set(TaskState::Completed, t);
                    task.exec.end = Some(t);
                    task.exec.exit_code = Some(exit);
                    task.exec.success = Some(exit == 0);
                    task.exec.failure = (exit != 0).then_some(EXIT_FAILURE);
                    task.phase_end = None;
                    freed = task.node;
                    finished = true;
                }
            }
            TaskState::Active | TaskState::Completed => {}
        }
        self.track_task(jk, tk);
        if let Some(n) = freed {
            self.free_node(&pool_key, n);
        }
        if finished {
            self.check_all_complete(jk, t);
        }
    }

    fn free_node(&mut self, pool_key: &str, node: usize) {
        if let Some(slot) = self
            .pools
            .get_mut(pool_key)
            .and_then(|p| p.busy.get_mut(node))
        {
            *slot = None;
        }
    }

    /// `onAllTasksComplete: terminatejob`: the last task completing ends the job.
    fn check_all_complete(&mut self, jk: &str, t: Time) {
        let done = self.jobs.get(jk).is_some_and(|j| {
            j.state.state == JobState::Active
                && j.terminate_when_done
                && !j.tasks.is_empty()
                && j.tasks
                    .values()
                    .all(|t| t.state.state == TaskState::Completed)
        });
        if done {
            self.terminate_job_at(jk, "AllTasksComplete".into(), false, t);
        }
    }

    /// Puts waiting tasks, oldest first, on free nodes their job may use. Only the pools with
    /// a free node and a waiting task are looked at.
    fn schedule(&mut self, t: Time) {
        let mut candidates: Vec<(u64, String, String)> = Vec::new();
        let mut stale: Vec<(String, (u64, String, String))> = Vec::new();
        for (pool_key, queue) in &self.waiting {
            let has_free = self
                .pools
                .get(pool_key)
                .is_some_and(|p| p.busy.iter().any(Option::is_none));
            if !has_free {
                continue;
            }
            for entry in queue {
                let (seq, jk, tk) = entry;
                let job = self.jobs.get(jk);
                let task = job.and_then(|j| j.tasks.get(tk));
                let (Some(job), Some(task)) = (job, task) else {
                    stale.push((pool_key.clone(), entry.clone()));
                    continue;
                };
                if task.seq != *seq || task.state.state != TaskState::Active {
                    stale.push((pool_key.clone(), entry.clone()));
                    continue;
                }
                match job.state.state {
                    JobState::Active => {}
                    // It may be enabled again: the task keeps its place.
                    JobState::Disabled => continue,
                    // A terminating, completed or deleting job never runs its waiting tasks.
                    JobState::Terminating | JobState::Completed | JobState::Deleting => {
                        stale.push((pool_key.clone(), entry.clone()));
                        continue;
                    }
                }
                if job.dependencies_met(task) {
                    candidates.push(entry.clone());
                }
            }
        }
        for (pool_key, entry) in stale {
            if let Some(queue) = self.waiting.get_mut(&pool_key) {
                queue.remove(&entry);
                if queue.is_empty() {
                    self.waiting.remove(&pool_key);
                }
            }
        }
        // Oldest first across pools, as one queue for the account would take them.
        candidates.sort();
        for (_, jk, tk) in candidates {
            let Some(job) = self.jobs.get(&jk) else {
                continue;
            };
            let Some(pool) = self.pools.get(&job.pool_key) else {
                continue;
            };
            let free = (0..pool.busy.len())
                .find(|&n| pool.busy.get(n).is_some_and(Option::is_none) && job.eligible(n, t));
            if let Some(n) = free {
                self.assign(&jk, &tk, n, t);
            }
        }
    }

    fn assign(&mut self, jk: &str, tk: &str, node: usize, t: Time) {
        let meta = self.meta(t);
        let Some(job) = self.jobs.get_mut(jk) else {
            return;
        };
        let mut waits = false;
        if let Some(prep) = &job.prep {
            let record = job.records.entry(node).or_default();
            if record.prep.is_none() {
                record.prep = Some(Run::new(t, prep));
                waits = prep.wait_for_success;
            }
        }
        let prep_end = job
            .records
            .get(&node)
            .and_then(|r| r.prep.as_ref())
            .map(|r| r.end);
        let Some(task) = job.tasks.get_mut(tk) else {
            return;
        };
        task.state.set(TaskState::Preparing, t);
        task.meta = meta;
        task.node = Some(node);
        task.waits_for_prep = waits;
        task.phase_end = Some(match (waits, prep_end) {
            (true, Some(end)) => end,
            _ => after(t, Duration::seconds(1)),
        });
        let pool_key = job.pool_key.clone();
        if let Some(slot) = self
            .pools
            .get_mut(&pool_key)
            .and_then(|p| p.busy.get_mut(node))
        {
            *slot = Some((jk.to_string(), tk.to_string()));
        }
        self.track_task(jk, tk);
    }

    /// Ends a task that has not completed (Task_Terminate, or its job terminating).
    fn end_task(&mut self, jk: &str, tk: &str, t: Time) {
        let meta = self.meta(t);
        let Some(job) = self.jobs.get_mut(jk) else {
            return;
        };
        let pool_key = job.pool_key.clone();
        let Some(task) = job.tasks.get_mut(tk) else {
            return;
        };
        let occupied = matches!(task.state.state, TaskState::Preparing | TaskState::Running);
        task.state.set(TaskState::Completed, t);
        task.meta = meta;
        task.exec.end = Some(t);
        task.exec.success = Some(false);
        task.exec.failure = Some(TASK_ENDED);
        task.phase_end = None;
        task.waits_for_prep = false;
        if let (true, Some(n)) = (occupied, task.node) {
            self.free_node(&pool_key, n);
        }
    }

    fn terminate_job_at(&mut self, jk: &str, reason: String, force: bool, t: Time) {
        let meta = self.meta(t);
        let Some(job) = self.jobs.get_mut(jk) else {
            return;
        };
        job.state.set(JobState::Terminating, t);
        job.meta = meta;
        job.terminate_reason = Some(reason);
        // Running tasks are ended; active tasks stay active and are never scheduled.
        let occupying: Vec<String> = job
            .tasks
            .iter()
            .filter(|(_, task)| {
                matches!(task.state.state, TaskState::Preparing | TaskState::Running)
            })
            .map(|(k, _)| k.clone())
            .collect();
        let mut completes_at = after(t, self.termination_time);
        if let Some(release) = job.release.clone() {
            for record in job.records.values_mut() {
                if record.release.is_some() {
                    continue;
                }
                if let Some(prep) = &record.prep {
                    let run = Run::new(prep.end.max(t), &release);
                    completes_at = completes_at.max(run.end);
                    record.release = Some(run);
                }
            }
        }
        job.completes_at = Some(if force { t } else { completes_at });
        for tk in occupying {
            self.end_task(jk, &tk, t);
        }
        self.track_job(jk);
        if !force && completes_at > t {
            return;
        }
        self.complete_job(jk, t);
    }

    fn complete_job(&mut self, jk: &str, t: Time) {
        let meta = self.meta(t);
        if let Some(job) = self.jobs.get_mut(jk) {
            job.state.set(JobState::Completed, t);
            job.meta = meta;
            job.end_time = Some(t);
            job.completes_at = None;
        }
    }

    /// Job_Add.
    pub fn add_job(&mut self, body: Value, t: Time) -> Result<Meta, Refusal> {
        self.change();
        if !body.is_object() {
            return Err(Refusal::invalid_body());
        }
        let id = match body.get("id") {
            None | Some(Value::Null) => return Err(Refusal::missing_property("id")),
            Some(Value::String(s)) if valid_id(s) => s.clone(),
            Some(other) => return Err(Refusal::invalid_property("id", other)),
        };
        let pool_id = match body.get("poolInfo").and_then(|p| p.get("poolId")) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(other) => return Err(Refusal::invalid_property("poolInfo.poolId", other)),
            None => return Err(Refusal::missing_property("poolInfo.poolId")),
        };
        let common_env = body
            .get("commonEnvironmentSettings")
            .cloned()
            .unwrap_or(Value::Null);
        let prep = side_task(&body, "jobPreparationTask", "jobpreparation", &common_env)?;
        let release = side_task(&body, "jobReleaseTask", "jobrelease", &common_env)?;
        if release.is_some() && prep.is_none() {
            // "A Job Release Task cannot be specified without also specifying a Job
            // Preparation Task for the Job."
            return Err(Refusal::invalid_property(
                "jobReleaseTask",
                &body["jobReleaseTask"],
            ));
        }
        if prep
            .as_ref()
            .zip(release.as_ref())
            .is_some_and(|(p, r)| key_of(&p.id) == key_of(&r.id))
        {
            return Err(Refusal::invalid_property(
                "jobReleaseTask.id",
                &body["jobReleaseTask"]["id"],
            ));
        }
        let terminate_when_done = match body.get("onAllTasksComplete") {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("noaction") => false,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("terminatejob") => true,
            Some(other) => return Err(Refusal::invalid_property("onAllTasksComplete", other)),
        };
        let max_task_retries = max_retries_of(&body, 0)?;
        let uses_dependencies = body
            .get("usesTaskDependencies")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let key = key_of(&id);
        if self.jobs.contains_key(&key) {
            return Err(Refusal::conflict("JobExists"));
        }
        let pool_key = key_of(&pool_id);
        let nodes = self.nodes_per_pool;
        self.pools
            .entry(pool_key.clone())
            .or_insert_with(|| Pool::new(&pool_id, nodes));
        let meta = self.meta(t);
        self.jobs.insert(
            key,
            Job {
                id,
                body,
                created: t,
                state: Transition::new(JobState::Active, t),
                meta: meta.clone(),
                pool_key,
                pool_id,
                prep,
                release,
                terminate_when_done,
                max_task_retries,
                uses_dependencies,
                end_time: None,
                terminate_reason: None,
                completes_at: None,
                gone_at: None,
                tasks: BTreeMap::new(),
                records: BTreeMap::new(),
            },
        );
        Ok(meta)
    }

    /// Task_Add.
    pub fn add_task(&mut self, job_id: &str, body: Value, t: Time) -> Result<Meta, Refusal> {
        self.change();
        let jk = key_of(job_id);
        let Some(job) = self.jobs.get(&jk) else {
            return Err(Refusal::not_found("JobNotFound"));
        };
        rules::add_task(job.phase())?;
        if !body.is_object() {
            return Err(Refusal::invalid_body());
        }
        let id = match body.get("id") {
            None | Some(Value::Null) => return Err(Refusal::missing_property("id")),
            Some(Value::String(s)) if valid_id(s) => s.clone(),
            Some(other) => return Err(Refusal::invalid_property("id", other)),
        };
        if str_field(&body, "commandLine").is_none_or(str::is_empty) {
            return Err(Refusal::missing_property("commandLine"));
        }
        let tk = key_of(&id);
        if job.prep.as_ref().is_some_and(|p| key_of(&p.id) == tk) {
            return Err(Refusal::conflict("TaskIdSameAsJobPreparationTask"));
        }
        if job.release.as_ref().is_some_and(|r| key_of(&r.id) == tk) {
            return Err(Refusal::conflict("TaskIdSameAsJobReleaseTask"));
        }
        let deps = body.get("dependsOn").filter(|d| !d.is_null());
        if deps.is_some() && !job.uses_dependencies {
            return Err(Refusal::bad_request("TaskDependenciesNotSpecifiedOnJob"));
        }
        let depends_on: Vec<String> = deps
            .and_then(|d| d.get("taskIds"))
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let depends_on_ranges: Vec<(i64, i64)> = deps
            .and_then(|d| d.get("taskIdRanges"))
            .and_then(Value::as_array)
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| Some((r.get("start")?.as_i64()?, r.get("end")?.as_i64()?)))
                    .collect()
            })
            .unwrap_or_default();
        let max_retries = max_retries_of(&body, job.max_task_retries)?;
        if job.tasks.contains_key(&tk) {
            return Err(Refusal::conflict("TaskExists"));
        }
        let common_env = job
            .body
            .get("commonEnvironmentSettings")
            .cloned()
            .unwrap_or(Value::Null);
        let env = body
            .get("environmentSettings")
            .cloned()
            .unwrap_or(Value::Null);
        let outcome = Outcome::read(&[&common_env, &env], 5.0);
        let meta = self.meta(t);
        let seq = self.next_seq();
        let task = Task {
            id,
            seq,
            body,
            created: t,
            state: Transition::new(TaskState::Active, t),
            meta: meta.clone(),
            outcome,
            max_retries,
            exec: Execution::default(),
            node: None,
            phase_end: None,
            waits_for_prep: false,
            depends_on,
            depends_on_ranges,
        };
        if let Some(job) = self.jobs.get_mut(&jk) {
            job.tasks.insert(tk.clone(), task);
        }
        self.track_task(&jk, &tk);
        self.replay(t);
        Ok(meta)
    }

    /// Job_Terminate (after the job was found and conditions checked).
    pub fn terminate_job(
        &mut self,
        job_id: &str,
        reason: Option<String>,
        force: bool,
        t: Time,
    ) -> Result<Meta, Refusal> {
        self.change();
        let jk = key_of(job_id);
        let Some(job) = self.jobs.get(&jk) else {
            return Err(Refusal::not_found("JobNotFound"));
        };
        rules::terminate_job(job.phase())?;
        let reason = reason
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "UserTerminate".into());
        self.terminate_job_at(&jk, reason, force, t);
        self.replay(t);
        Ok(self
            .jobs
            .get(&jk)
            .map(|j| j.meta.clone())
            .unwrap_or_else(|| Meta {
                etag: String::new(),
                last_modified: t,
            }))
    }

    /// Task_Terminate (after the task was found and conditions checked).
    pub fn terminate_task(
        &mut self,
        job_id: &str,
        task_id: &str,
        t: Time,
    ) -> Result<Meta, Refusal> {
        self.change();
        let (jk, tk) = (key_of(job_id), key_of(task_id));
        let (job, task) = self.found_task(job_id, task_id)?;
        rules::terminate_task(job.phase(), task.phase())?;
        self.end_task(&jk, &tk, t);
        self.check_all_complete(&jk, t);
        self.replay(t);
        self.task_meta(&jk, &tk, t)
    }

    /// Task_Reactivate (after the task was found and conditions checked).
    pub fn reactivate_task(
        &mut self,
        job_id: &str,
        task_id: &str,
        t: Time,
    ) -> Result<Meta, Refusal> {
        self.change();
        let (jk, tk) = (key_of(job_id), key_of(task_id));
        let (job, task) = self.found_task(job_id, task_id)?;
        rules::reactivate_task(job.phase(), task.phase())?;
        let meta = self.meta(t);
        if let Some(task) = self.jobs.get_mut(&jk).and_then(|j| j.tasks.get_mut(&tk)) {
            task.state.set(TaskState::Active, t);
            task.meta = meta;
            task.exec = Execution::default();
            task.node = None;
            task.phase_end = None;
            task.waits_for_prep = false;
        }
        self.track_task(&jk, &tk);
        self.replay(t);
        self.task_meta(&jk, &tk, t)
    }

    fn task_meta(&self, jk: &str, tk: &str, t: Time) -> Result<Meta, Refusal> {
        Ok(self
            .jobs
            .get(jk)
            .and_then(|j| j.tasks.get(tk))
            .map(|task| task.meta.clone())
            .unwrap_or(Meta {
                etag: String::new(),
                last_modified: t,
            }))
    }

    /// How long a termination takes at least, besides release tasks (default zero: a job
    /// without release tasks completes at once, or when `force` says so).
    pub fn set_termination_time(&mut self, time: Duration) {
        self.change();
        self.termination_time = time;
    }

    /// Seeding: starts an active task of an active job at `t`, on no node; it runs until
    /// [`Sim::seed_complete_task`] ends it (what a pool's scheduler does, by hand).
    pub fn seed_start_task(&mut self, job_id: &str, task_id: &str, t: Time) -> Result<(), Refusal> {
        self.change();
        self.replay(t);
        let (job, task) = self.found_task(job_id, task_id)?;
        if job.state.state != JobState::Active {
            return Err(Refusal::conflict("JobNotActive"));
        }
        if task.state.state != TaskState::Active {
            return Err(Refusal::conflict("TaskNotActive"));
        }
        let meta = self.meta(t);
        if let Some(task) = self.task_mut(job_id, task_id) {
            task.state.set(TaskState::Running, t);
            task.meta = meta;
            task.exec.start = Some(t);
            task.phase_end = None;
        }
        Ok(())
    }

    /// Seeding: a running task exits with `exit_code` at `t`.
    pub fn seed_complete_task(
        &mut self,
        job_id: &str,
        task_id: &str,
        exit_code: i32,
        t: Time,
    ) -> Result<(), Refusal> {
        self.change();
        self.replay(t);
        let (_, task) = self.found_task(job_id, task_id)?;
        if task.state.state != TaskState::Running {
            return Err(Refusal::conflict("TaskNotRunning"));
        }
        let meta = self.meta(t);
        let mut freed = None;
        if let Some(task) = self.task_mut(job_id, task_id) {
            task.state.set(TaskState::Completed, t);
            task.meta = meta;
            task.exec.end = Some(t);
            task.exec.exit_code = Some(exit_code);
            task.exec.success = Some(exit_code == 0);
            task.exec.failure = (exit_code != 0).then_some(EXIT_FAILURE);
            task.phase_end = None;
            freed = task.node;
        }
        let jk = key_of(job_id);
        if let (Some(n), Some(pool)) = (freed, self.jobs.get(&jk).map(|j| j.pool_key.clone())) {
            self.free_node(&pool, n);
        }
        self.check_all_complete(&jk, t);
        Ok(())
    }

    /// Seeding: sets a task's retry count.
    pub fn seed_retry_count(
        &mut self,
        job_id: &str,
        task_id: &str,
        retries: u32,
        t: Time,
    ) -> Result<(), Refusal> {
        self.change();
        self.replay(t);
        self.found_task(job_id, task_id)?;
        let meta = self.meta(t);
        if let Some(task) = self.task_mut(job_id, task_id) {
            task.exec.retry_count = retries;
            task.meta = meta;
        }
        Ok(())
    }

    /// Seeding: a job transition no request served here makes.
    pub fn seed_job_state(
        &mut self,
        job_id: &str,
        target: SeedJob,
        t: Time,
    ) -> Result<(), Refusal> {
        self.change();
        self.replay(t);
        let state = self.found_job(job_id)?.state.state;
        let jk = key_of(job_id);
        let next = match (target, state) {
            (SeedJob::Disable, JobState::Active) => JobState::Disabled,
            (SeedJob::Disable, _) => return Err(Refusal::conflict("JobNotActive")),
            (SeedJob::Enable, JobState::Disabled) => JobState::Active,
            (SeedJob::Enable, _) => return Err(Refusal::conflict("JobNotDisabled")),
            (SeedJob::Delete, JobState::Deleting) => {
                return Err(Refusal::conflict("JobBeingDeleted"));
            }
            (SeedJob::Delete, _) => JobState::Deleting,
            (SeedJob::Complete(reason), JobState::Active | JobState::Disabled) => {
                self.terminate_job_at(&jk, reason, true, t);
                return Ok(());
            }
            (SeedJob::Complete(_), _) => return Err(Refusal::conflict("JobNotActive")),
        };
        let meta = self.meta(t);
        if let Some(job) = self.jobs.get_mut(&jk) {
            job.state.set(next, t);
            job.meta = meta;
        }
        self.replay(t);
        Ok(())
    }

    /// Job_Delete (after the job was found and conditions checked): the job is `deleting`,
    /// its running tasks end, and it is gone after the termination time (at once when that
    /// is zero: the next read finds nothing).
    pub fn delete_job(&mut self, job_id: &str, t: Time) -> Result<(), Refusal> {
        self.change();
        self.replay(t);
        let jk = key_of(job_id);
        let phase = self.found_job(job_id)?.phase();
        rules::delete_job(phase)?;
        let meta = self.meta(t);
        let gone_at = after(t, self.termination_time);
        let running: Vec<String> = match self.jobs.get_mut(&jk) {
            Some(job) => {
                job.state.set(JobState::Deleting, t);
                job.meta = meta;
                job.gone_at = Some(gone_at);
                job.tasks
                    .iter()
                    .filter(|(_, task)| {
                        matches!(task.state.state, TaskState::Preparing | TaskState::Running)
                    })
                    .map(|(k, _)| k.clone())
                    .collect()
            }
            None => Vec::new(),
        };
        for tk in running {
            self.end_task(&jk, &tk, t);
        }
        self.track_job(&jk);
        self.replay(t);
        Ok(())
    }

    /// Job_Patch: the properties this simulation acts on (`onAllTasksComplete`, `priority`,
    /// `metadata`) replace the job's; the others are refused as Batch refuses unknown ones.
    pub fn patch_job(&mut self, job_id: &str, body: Value, t: Time) -> Result<Meta, Refusal> {
        self.change();
        self.replay(t);
        let jk = key_of(job_id);
        let phase = self.found_job(job_id)?.phase();
        rules::patch_job(phase)?;
        let Some(fields) = body.as_object() else {
            return Err(Refusal::invalid_body());
        };
        let mut terminate_when_done = None;
        for (name, value) in fields {
            match name.as_str() {
                "onAllTasksComplete" => {
                    terminate_when_done = Some(match value.as_str() {
                        Some(s) if s.eq_ignore_ascii_case("noaction") => false,
                        Some(s) if s.eq_ignore_ascii_case("terminatejob") => true,
                        _ => return Err(Refusal::invalid_property("onAllTasksComplete", value)),
                    })
                }
                "priority" if value.as_i64().is_some_and(|p| (-1000..=1000).contains(&p)) => {}
                "metadata" if value.is_array() => {}
                "priority" | "metadata" => return Err(Refusal::invalid_property(name, value)),
                _ => return Err(Refusal::invalid_property(name, value)),
            }
        }
        let meta = self.meta(t);
        if let Some(job) = self.jobs.get_mut(&jk) {
            for (name, value) in fields {
                job.body[name.as_str()] = value.clone();
            }
            if let Some(done) = terminate_when_done {
                job.terminate_when_done = done;
            }
            job.meta = meta.clone();
        }
        self.check_all_complete(&jk, t);
        Ok(meta)
    }

    /// File_GetFromTask of `stdout.txt` or `stderr.txt`: what the task wrote (its
    /// `POLYBATCH_STDOUT` / `POLYBATCH_STDERR`), once it has started; before, and for any
    /// other file, `FileNotFound`.
    pub fn task_file(&self, job_id: &str, task_id: &str, file: &str) -> Result<Vec<u8>, Refusal> {
        let (job, task) = self.found_task(job_id, task_id)?;
        let var = match file {
            "stdout.txt" => STDOUT_VAR,
            "stderr.txt" => STDERR_VAR,
            _ => return Err(Refusal::not_found("FileNotFound")),
        };
        if task.exec.start.is_none() {
            return Err(Refusal::not_found("FileNotFound"));
        }
        let common = job
            .body
            .get("commonEnvironmentSettings")
            .unwrap_or(&Value::Null);
        let own = task.body.get("environmentSettings").unwrap_or(&Value::Null);
        Ok(env_lookup(&[common, own], var)
            .unwrap_or("")
            .as_bytes()
            .to_vec())
    }

    /// Seeding: forgets a job (what Job_Delete ends in). `false` if there was none.
    pub fn remove_job(&mut self, job_id: &str) -> bool {
        self.change();
        self.jobs.remove(&key_of(job_id)).is_some()
    }

    fn task_mut(&mut self, job_id: &str, task_id: &str) -> Option<&mut Task> {
        self.jobs
            .get_mut(&key_of(job_id))
            .and_then(|j| j.tasks.get_mut(&key_of(task_id)))
    }

    /// Test seeding: records a successful preparation task run at `t` on up to `nodes` nodes
    /// of the job's pool where it has not run yet. Returns how many nodes got one.
    pub fn seed_preparation(&mut self, job_id: &str, nodes: usize, t: Time) -> Option<usize> {
        self.change();
        let job = self.jobs.get_mut(&key_of(job_id))?;
        let prep = job.prep.clone()?;
        let size = self
            .pools
            .get(&job.pool_key)
            .map_or(0, |p| p.node_ids.len());
        let mut seeded = 0;
        for n in 0..size {
            if seeded == nodes {
                break;
            }
            let record = job.records.entry(n).or_default();
            if record.prep.is_none() {
                let mut run = Run::new(t, &prep);
                run.exit_code = 0;
                run.retries = 0;
                run.end = t;
                record.prep = Some(run);
                seeded += 1;
            }
        }
        Some(seeded)
    }
}
