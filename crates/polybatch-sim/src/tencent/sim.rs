//! The simulated Batch service: jobs, tasks and task instances, and their state machine.
//!
//! Nothing runs in the background. Every instance has a *plan*, the whole timeline of states it
//! will go through (derived from its task's `EnvVars`, its dependencies and any termination
//! requested), and its state is read off that plan at the simulation clock's current time.
//! User actions (terminate, retry) change what the plan is computed from, never the past.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use rand::Rng;

/// A job, task or task-instance state, spelled as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    /// `SUBMITTED`
    Submitted,
    /// `PENDING`
    Pending,
    /// `RUNNABLE`
    Runnable,
    /// `STARTING`
    Starting,
    /// `RUNNING`
    Running,
    /// `SUCCEED`
    Succeed,
    /// `FAILED`
    Failed,
    /// `FAILED_INTERRUPTED`: failed, compute instance kept until terminated.
    FailedInterrupted,
}

impl State {
    /// Every state, in timeline order.
    pub const ALL: [State; 8] = [
        State::Submitted,
        State::Pending,
        State::Runnable,
        State::Starting,
        State::Running,
        State::Succeed,
        State::Failed,
        State::FailedInterrupted,
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Submitted => "SUBMITTED",
            State::Pending => "PENDING",
            State::Runnable => "RUNNABLE",
            State::Starting => "STARTING",
            State::Running => "RUNNING",
            State::Succeed => "SUCCEED",
            State::Failed => "FAILED",
            State::FailedInterrupted => "FAILED_INTERRUPTED",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether the instance will not run again by itself (includes `FAILED_INTERRUPTED`).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            State::Succeed | State::Failed | State::FailedInterrupted
        )
    }

    /// Whether the state is terminal in the API's sense (`SUCCEED` or `FAILED` only).
    pub fn is_terminal(self) -> bool {
        matches!(self, State::Succeed | State::Failed)
    }
}

/// When a task that depends on others may start (`Job.TaskExecutionDependOn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependOn {
    /// Every instance of every prerequisite succeeded (the default).
    PreTaskSucceed,
    /// Every prerequisite has at least one succeeded instance.
    PreTaskAtLeastPartlySucceed,
    /// Every prerequisite finished, whatever the outcome.
    PreTaskFinished,
}

impl DependOn {
    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<DependOn> {
        match s {
            "PRE_TASK_SUCCEED" => Some(DependOn::PreTaskSucceed),
            "PRE_TASK_AT_LEAST_PARTLY_SUCCEED" => Some(DependOn::PreTaskAtLeastPartlySucceed),
            "PRE_TASK_FINISHED" => Some(DependOn::PreTaskFinished),
            _ => None,
        }
    }
}

/// A validated task of a submitted job.
#[derive(Debug, Clone)]
pub struct TaskSpec {
    /// `TaskName`.
    pub name: String,
    /// `TaskInstanceNum`.
    pub instance_num: u32,
    /// The exit code every run of an instance ends with (`POLYBATCH_EXIT_CODE`).
    pub exit_code: i64,
    /// How long every run lasts (`POLYBATCH_RUN_SECONDS`).
    pub run_time: Duration,
    /// `MaxRetryCount`.
    pub max_retry: u32,
    /// `FailedAction` is `INTERRUPT` or `FAST_INTERRUPT`: failures keep the instance.
    pub interrupt_on_failure: bool,
    /// `EnvId`, when the task names a compute environment.
    pub env_id: Option<String>,
    /// `RedirectInfo` as submitted, echoed in instance views.
    pub redirect_info: Option<serde_json::Value>,
}

/// A validated job submission.
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// `JobName`.
    pub name: String,
    /// `Placement.Zone`.
    pub zone: String,
    /// `Priority`.
    pub priority: i64,
    /// Tasks, in submission order.
    pub tasks: Vec<TaskSpec>,
    /// `(StartTask, EndTask)` edges.
    pub dependences: Vec<(String, String)>,
    /// `TaskExecutionDependOn`.
    pub depend_on: DependOn,
    /// `(Key, Value)` tags.
    pub tags: Vec<(String, String)>,
    /// The `Job` object as submitted, for `DescribeJobSubmitInfo`.
    pub submitted: serde_json::Value,
}

/// Why a request was refused, with the code and message Tencent answers (so every front end
/// over this simulation answers alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `ResourceNotFound.Job`: no job with this id.
    JobNotFound(String),
    /// `ResourceNotFound.Task`: the job has no task of this name.
    TaskNotFound(String),
    /// `ResourceNotFound.TaskInstance`: the task has no instance of this index.
    TaskInstanceNotFound {
        /// The task's name.
        task: String,
        /// The index asked for (as sent: it may be negative).
        index: i64,
    },
    /// `UnsupportedOperation` with this message.
    Unsupported(String),
    /// `ResourceInUse.Job`.
    InUse,
}

impl Refusal {
    /// The error code.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::JobNotFound(_) => "ResourceNotFound.Job",
            Refusal::TaskNotFound(_) => "ResourceNotFound.Task",
            Refusal::TaskInstanceNotFound { .. } => "ResourceNotFound.TaskInstance",
            Refusal::Unsupported(_) => "UnsupportedOperation",
            Refusal::InUse => "ResourceInUse.Job",
        }
    }

    /// The message.
    pub fn message(&self) -> String {
        match self {
            Refusal::JobNotFound(id) => format!("The specified job does not exist: `{id}`."),
            Refusal::TaskNotFound(name) => {
                format!("The specified job task does not exist: `{name}`.")
            }
            Refusal::TaskInstanceNotFound { task, index } => {
                format!("The specified task instance does not exist: `{task}` index {index}.")
            }
            Refusal::Unsupported(message) => message.clone(),
            Refusal::InUse => {
                "The job is in use: it and all its task instances must be SUCCEED or FAILED."
                    .to_string()
            }
        }
    }
}

/// One step of an instance's timeline.
#[derive(Debug, Clone, PartialEq)]
struct Segment {
    from: DateTime<Utc>,
    state: State,
    exit_code: Option<i64>,
    reason: String,
}

impl Segment {
    fn new(from: DateTime<Utc>, state: State) -> Self {
        Segment {
            from,
            state,
            exit_code: None,
            reason: String::new(),
        }
    }
}

/// An instance's whole timeline; never empty, ordered by time, ends in a finished state.
type Plan = Vec<Segment>;

#[derive(Debug, Clone)]
struct Instance {
    /// When the current history began: job creation, or the RetryJobs call that reset it.
    epoch: DateTime<Utc>,
    /// The history began with the job's submission (it spends its first second SUBMITTED).
    fresh: bool,
    /// When a requested termination takes effect.
    terminate_at: Option<DateTime<Utc>>,
    /// A plan fixed by RetryJobs for instances it did not reset (their history is final).
    frozen: Option<Plan>,
}

impl Instance {
    fn new(epoch: DateTime<Utc>) -> Self {
        Instance {
            epoch,
            fresh: true,
            terminate_at: None,
            frozen: None,
        }
    }

    fn terminate(&mut self, at: DateTime<Utc>) {
        self.terminate_at = Some(self.terminate_at.map_or(at, |t| t.min(at)));
    }
}

/// An instance as seen at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceView {
    /// `TaskInstanceIndex`.
    pub index: u32,
    /// `TaskInstanceState`.
    pub state: State,
    /// `ExitCode`, once the application exited.
    pub exit_code: Option<i64>,
    /// `StateReason`.
    pub reason: String,
    /// `CreateTime`.
    pub created: DateTime<Utc>,
    /// `LaunchTime`: when the current attempt entered STARTING.
    pub launched: Option<DateTime<Utc>>,
    /// `RunningTime`: when the current attempt entered RUNNING.
    pub running: Option<DateTime<Utc>>,
    /// `EndTime`, once finished.
    pub ended: Option<DateTime<Utc>>,
}

/// A task as seen at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskView {
    /// `TaskName`.
    pub name: String,
    /// `TaskState`.
    pub state: State,
    /// `CreateTime`.
    pub created: DateTime<Utc>,
    /// `StartTime`: the first instance launch.
    pub started: Option<DateTime<Utc>>,
    /// `EndTime`, once every instance finished.
    pub ended: Option<DateTime<Utc>>,
    /// The instances, by index.
    pub instances: Vec<InstanceView>,
}

/// A job as seen at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct JobView {
    /// `JobState`.
    pub state: State,
    /// `EndTime`, once every instance finished.
    pub ended: Option<DateTime<Utc>>,
    /// `StateReason`: the first failure's reason.
    pub reason: String,
    /// `NextAction`: `TERMINATING` while a termination is under way.
    pub next_action: String,
    /// The tasks, in submission order.
    pub tasks: Vec<TaskView>,
}

/// A submitted job.
#[derive(Debug, Clone)]
pub struct Job {
    /// `JobId`.
    pub id: String,
    /// The region it was submitted in (jobs are regional).
    pub region: String,
    /// Submission order, for listing.
    pub seq: u64,
    /// What was submitted.
    pub spec: JobSpec,
    /// `CreateTime`.
    pub created: DateTime<Utc>,
    terminating: bool,
    /// Per task (submission order), its instances.
    instances: Vec<Vec<Instance>>,
    /// Per task, the indices of the tasks it waits for.
    prerequisites: Vec<Vec<usize>>,
    /// Task indices, prerequisites first.
    topo: Vec<usize>,
}

const TERMINATED: &str = "Terminated by user";

fn secs(n: i64) -> Duration {
    Duration::seconds(n)
}

/// `t + d`, saturating at the end of time (the admin API can push the clock far ahead).
fn after(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl Job {
    /// A job created at `now`. `spec` must be valid: unique task names, dependences naming
    /// tasks of the job, and no cycle (see [`topological_order`]).
    pub fn new(id: String, region: String, seq: u64, spec: JobSpec, now: DateTime<Utc>) -> Self {
        let index: HashMap<&str, usize> = spec
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.as_str(), i))
            .collect();
        let mut prerequisites = vec![Vec::new(); spec.tasks.len()];
        for (start, end) in &spec.dependences {
            if let (Some(&s), Some(&e)) = (index.get(start.as_str()), index.get(end.as_str()))
                && let Some(p) = prerequisites.get_mut(e)
                && !p.contains(&s)
            {
                p.push(s);
            }
        }
        let topo =
            topological_order(&prerequisites).unwrap_or_else(|| (0..spec.tasks.len()).collect());
        let instances = spec
            .tasks
            .iter()
            .map(|t| (0..t.instance_num).map(|_| Instance::new(now)).collect())
            .collect();
        Job {
            id,
            region,
            seq,
            spec,
            created: now,
            terminating: false,
            instances,
            prerequisites,
            topo,
        }
    }

    /// The index of the task named `name`.
    pub fn task_index(&self, name: &str) -> Option<usize> {
        self.spec.tasks.iter().position(|t| t.name == name)
    }

    /// Every instance's plan, per task in submission order.
    fn plans(&self) -> Vec<Vec<Plan>> {
        let mut plans: Vec<Option<Vec<Plan>>> = vec![None; self.spec.tasks.len()];
        for &k in &self.topo {
            let (Some(spec), Some(instances), Some(prereqs)) = (
                self.spec.tasks.get(k),
                self.instances.get(k),
                self.prerequisites.get(k),
            ) else {
                continue;
            };
            let gate = self.gate(prereqs, &plans);
            let task_plans = instances
                .iter()
                .map(|inst| plan_instance(spec, inst, gate.as_ref()))
                .collect();
            if let Some(slot) = plans.get_mut(k) {
                *slot = Some(task_plans);
            }
        }
        plans.into_iter().map(Option::unwrap_or_default).collect()
    }

    /// When the prerequisites of a task finish and whether they allow it to run; `None` for
    /// a task without prerequisites.
    fn gate(&self, prereqs: &[usize], plans: &[Option<Vec<Plan>>]) -> Option<Gate> {
        if prereqs.is_empty() {
            return None;
        }
        let mut at = self.created;
        let mut allowed = true;
        for &p in prereqs {
            let outcomes: Vec<(DateTime<Utc>, State)> = plans
                .get(p)
                .and_then(Option::as_ref)
                .map(|ps| ps.iter().filter_map(finish_of).collect())
                .unwrap_or_default();
            for (t, _) in &outcomes {
                at = at.max(*t);
            }
            let ok = match self.spec.depend_on {
                DependOn::PreTaskSucceed => outcomes.iter().all(|(_, s)| *s == State::Succeed),
                DependOn::PreTaskAtLeastPartlySucceed => {
                    outcomes.iter().any(|(_, s)| *s == State::Succeed)
                }
                DependOn::PreTaskFinished => true,
            };
            if !ok {
                allowed = false;
            }
        }
        Some(Gate { at, allowed })
    }

    /// The job as seen at `now`.
    pub fn view(&self, now: DateTime<Utc>) -> JobView {
        let plans = self.plans();
        let mut tasks = Vec::with_capacity(self.spec.tasks.len());
        for (k, spec) in self.spec.tasks.iter().enumerate() {
            let instances: Vec<InstanceView> = plans
                .get(k)
                .map(|ps| {
                    ps.iter()
                        .zip(self.instances.get(k).into_iter().flatten())
                        .enumerate()
                        .map(|(i, (plan, inst))| view_at(plan, inst, i, now))
                        .collect()
                })
                .unwrap_or_default();
            let states: Vec<State> = instances.iter().map(|i| i.state).collect();
            let state = aggregate(&states);
            tasks.push(TaskView {
                name: spec.name.clone(),
                state,
                created: instances
                    .iter()
                    .map(|i| i.created)
                    .min()
                    .unwrap_or(self.created),
                started: instances.iter().filter_map(|i| i.launched).min(),
                ended: if state.is_finished() {
                    instances.iter().filter_map(|i| i.ended).max()
                } else {
                    None
                },
                instances,
            });
        }
        let all: Vec<State> = tasks
            .iter()
            .flat_map(|t| t.instances.iter().map(|i| i.state))
            .collect();
        let state = aggregate_job(&all);
        let finished = state.is_finished();
        let reason = if matches!(state, State::Failed | State::FailedInterrupted) {
            tasks
                .iter()
                .flat_map(|t| t.instances.iter().map(move |i| (t, i)))
                .find(|(_, i)| matches!(i.state, State::Failed | State::FailedInterrupted))
                .map(|(t, i)| format!("Task {} instance {} failed: {}", t.name, i.index, i.reason))
                .unwrap_or_default()
        } else {
            String::new()
        };
        JobView {
            state,
            ended: if finished {
                tasks.iter().filter_map(|t| t.ended).max()
            } else {
                None
            },
            reason,
            next_action: if self.terminating && !state.is_terminal() {
                "TERMINATING".into()
            } else {
                String::new()
            },
            tasks,
        }
    }

    /// TerminateJob: refused while SUBMITTED, no effect once SUCCEED, otherwise every
    /// unfinished instance (and every FAILED_INTERRUPTED one) fails two seconds from now.
    pub fn terminate(&mut self, now: DateTime<Utc>) -> Result<(), Refusal> {
        let view = self.view(now);
        match view.state {
            State::Submitted => {
                return Err(Refusal::Unsupported(format!(
                    "Job {} is in the SUBMITTED state and cannot be terminated yet.",
                    self.id
                )));
            }
            State::Succeed => return Ok(()),
            _ => {}
        }
        let mut any = false;
        for (task, tv) in self.instances.iter_mut().zip(&view.tasks) {
            for (inst, iv) in task.iter_mut().zip(&tv.instances) {
                if !iv.state.is_terminal() {
                    inst.terminate(after(now, secs(2)));
                    any = true;
                }
            }
        }
        if any {
            self.terminating = true;
        }
        Ok(())
    }

    /// TerminateTaskInstance on instance `index` of task `task`; `false` if there is no such
    /// instance. Not yet started: FAILED now; starting, running or interrupted: FAILED in two
    /// seconds; finished: no effect.
    pub fn terminate_instance(&mut self, task: usize, index: usize, now: DateTime<Utc>) -> bool {
        let view = self.view(now);
        let Some(state) = view
            .tasks
            .get(task)
            .and_then(|t| t.instances.get(index))
            .map(|i| i.state)
        else {
            return false;
        };
        let Some(inst) = self.instances.get_mut(task).and_then(|t| t.get_mut(index)) else {
            return false;
        };
        match state {
            State::Submitted | State::Pending | State::Runnable => inst.terminate(now),
            State::Starting | State::Running | State::FailedInterrupted => {
                inst.terminate(after(now, secs(2)))
            }
            State::Succeed | State::Failed => {}
        }
        true
    }

    /// Whether RetryJobs may retry the job (it is FAILED).
    pub fn can_retry(&self, now: DateTime<Utc>) -> Result<(), Refusal> {
        let state = self.view(now).state;
        if state == State::Failed {
            Ok(())
        } else {
            Err(Refusal::Unsupported(format!(
                "Job {} is {}; only FAILED jobs can be retried.",
                self.id,
                state.as_str()
            )))
        }
    }

    /// RetryJobs: failed instances start over from `now` as if never run (in dependency
    /// order); the others keep their history.
    pub fn retry(&mut self, now: DateTime<Utc>) {
        let plans = self.plans();
        for (task, task_plans) in self.instances.iter_mut().zip(plans) {
            for (inst, plan) in task.iter_mut().zip(task_plans) {
                let state = state_at(&plan, now);
                if matches!(state, State::Failed | State::FailedInterrupted) {
                    *inst = Instance {
                        epoch: now,
                        fresh: false,
                        terminate_at: None,
                        frozen: None,
                    };
                } else {
                    inst.frozen = Some(plan);
                }
            }
        }
        self.terminating = false;
    }

    /// What `DescribeTaskLogs` returns of instance `index` of task `task`: the last
    /// [`MAX_LOG_BYTES`](polybatch_protocol::tencent::MAX_LOG_BYTES) bytes of what it wrote to
    /// stdout and stderr (its `POLYBATCH_STDOUT` / `POLYBATCH_STDERR`, as submitted), once it
    /// has launched; `None` before.
    pub fn instance_output(
        &self,
        task: usize,
        index: u32,
        now: DateTime<Utc>,
    ) -> Option<(Vec<u8>, Vec<u8>)> {
        let view = self.view(now);
        let launched = view
            .tasks
            .get(task)?
            .instances
            .get(usize::try_from(index).ok()?)?
            .launched
            .is_some();
        if !launched {
            return None;
        }
        let vars = self
            .spec
            .submitted
            .get("Tasks")
            .and_then(|t| t.get(task))
            .and_then(|t| t.get("EnvVars"));
        let read = |name: &str| {
            let text = vars
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
                .find(|v| v.get("Name").and_then(serde_json::Value::as_str) == Some(name))
                .and_then(|v| v.get("Value").and_then(serde_json::Value::as_str))
                .unwrap_or("")
                .as_bytes();
            let keep = text
                .len()
                .saturating_sub(polybatch_protocol::tencent::MAX_LOG_BYTES);
            text.get(keep..).unwrap_or_default().to_vec()
        };
        Some((
            read(polybatch_protocol::sim_env::STDOUT_VAR),
            read(polybatch_protocol::sim_env::STDERR_VAR),
        ))
    }

    /// Whether DeleteJob may delete the job: it and all its instances are SUCCEED or FAILED.
    pub fn can_delete(&self, now: DateTime<Utc>) -> Result<(), Refusal> {
        let view = self.view(now);
        let all_done = view
            .tasks
            .iter()
            .flat_map(|t| &t.instances)
            .all(|i| i.state.is_terminal());
        if view.state.is_terminal() && all_done {
            Ok(())
        } else {
            Err(Refusal::InUse)
        }
    }
}

/// What the prerequisites of a dependent task decided.
#[derive(Debug, Clone, Copy)]
struct Gate {
    /// When the last prerequisite instance finished.
    at: DateTime<Utc>,
    /// Whether the task may run (per `TaskExecutionDependOn`).
    allowed: bool,
}

/// Task indices ordered so that every task comes after its prerequisites; `None` on a cycle.
pub fn topological_order(prerequisites: &[Vec<usize>]) -> Option<Vec<usize>> {
    let n = prerequisites.len();
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let next = (0..n).find(|&k| {
            !done.get(k).copied().unwrap_or(true)
                && prerequisites
                    .get(k)
                    .is_some_and(|ps| ps.iter().all(|&p| done.get(p).copied().unwrap_or(false)))
        })?;
        if let Some(d) = done.get_mut(next) {
            *d = true;
        }
        order.push(next);
    }
    Some(order)
}

/// The first finished step of a plan: when and how the instance finished.
fn finish_of(plan: &Plan) -> Option<(DateTime<Utc>, State)> {
    plan.iter()
        .find(|s| s.state.is_finished())
        .map(|s| (s.from, s.state))
}

/// The instance's plan: frozen, or derived from its task, its prerequisites and termination.
fn plan_instance(spec: &TaskSpec, inst: &Instance, gate: Option<&Gate>) -> Plan {
    if let Some(frozen) = &inst.frozen {
        return frozen.clone();
    }
    let natural = natural_plan(spec, inst, gate);
    match inst.terminate_at {
        Some(at) => apply_termination(natural, at),
        None => natural,
    }
}

/// The timeline an instance follows when left alone.
fn natural_plan(spec: &TaskSpec, inst: &Instance, gate: Option<&Gate>) -> Plan {
    let mut plan = Vec::new();
    let pending_from = if inst.fresh {
        plan.push(Segment::new(inst.epoch, State::Submitted));
        after(inst.epoch, secs(1))
    } else {
        inst.epoch
    };
    let ready = match gate {
        None => pending_from,
        Some(g) if g.allowed => g.at.max(pending_from),
        Some(g) => {
            // A prerequisite failed: the task is never scheduled and its instances fail when
            // the prerequisites finish.
            let at = g.at.max(pending_from);
            if at > pending_from {
                plan.push(Segment::new(pending_from, State::Pending));
            }
            let mut failed = Segment::new(at, State::Failed);
            failed.reason = "Not scheduled: a task it depends on did not succeed".into();
            plan.push(failed);
            return plan;
        }
    };
    plan.push(Segment::new(pending_from, State::Pending));
    plan.push(Segment::new(after(ready, secs(1)), State::Runnable));
    plan.push(Segment::new(after(ready, secs(2)), State::Starting));
    plan.push(Segment::new(after(ready, secs(4)), State::Running));
    let mut end = after(after(ready, secs(4)), spec.run_time);
    if spec.exit_code == 0 {
        let mut done = Segment::new(end, State::Succeed);
        done.exit_code = Some(0);
        plan.push(done);
        return plan;
    }
    let failure = format!("Application exited with code {}", spec.exit_code);
    for attempt in 1..=spec.max_retry {
        // A retry starts a fresh compute node: STARTING again, then RUNNING.
        let mut starting = Segment::new(end, State::Starting);
        starting.exit_code = Some(spec.exit_code);
        starting.reason = format!("Retry {attempt} of {} after: {failure}", spec.max_retry);
        plan.push(starting);
        plan.push(Segment::new(after(end, secs(2)), State::Running));
        end = after(after(end, secs(2)), spec.run_time);
    }
    let mut failed = Segment::new(
        end,
        if spec.interrupt_on_failure {
            State::FailedInterrupted
        } else {
            State::Failed
        },
    );
    failed.exit_code = Some(spec.exit_code);
    failed.reason = failure;
    plan.push(failed);
    plan
}

/// Overlays a termination taking effect at `at`: an instance that reached SUCCEED or FAILED
/// before then keeps its outcome; otherwise it is FAILED from `at` on.
fn apply_termination(mut plan: Plan, at: DateTime<Utc>) -> Plan {
    if plan.iter().any(|s| s.state.is_terminal() && s.from <= at) {
        return plan;
    }
    plan.retain(|s| s.from < at);
    let exit_code = plan
        .last()
        .filter(|s| s.state == State::FailedInterrupted)
        .and_then(|s| s.exit_code);
    let mut failed = Segment::new(at, State::Failed);
    failed.exit_code = exit_code;
    failed.reason = TERMINATED.into();
    plan.push(failed);
    plan
}

fn state_at(plan: &Plan, now: DateTime<Utc>) -> State {
    current(plan, now).map_or(State::Submitted, |s| s.state)
}

fn current(plan: &Plan, now: DateTime<Utc>) -> Option<&Segment> {
    plan.iter()
        .rev()
        .find(|s| s.from <= now)
        .or_else(|| plan.first())
}

fn view_at(plan: &Plan, inst: &Instance, index: usize, now: DateTime<Utc>) -> InstanceView {
    let seg = current(plan, now);
    let state = seg.map_or(State::Submitted, |s| s.state);
    let latest = |state: State| {
        plan.iter()
            .rev()
            .find(|s| s.from <= now && s.state == state)
            .map(|s| s.from)
    };
    InstanceView {
        index: u32::try_from(index).unwrap_or(u32::MAX),
        state,
        exit_code: seg.and_then(|s| s.exit_code),
        reason: seg.map(|s| s.reason.clone()).unwrap_or_default(),
        created: plan.first().map_or(inst.epoch, |s| s.from),
        launched: latest(State::Starting),
        running: latest(State::Running),
        ended: if state.is_finished() {
            seg.map(|s| s.from)
        } else {
            None
        },
    }
}

/// The state of a task or job from its instances' states: RUNNING while any runs; once all
/// finished, FAILED_INTERRUPTED, FAILED or SUCCEED; otherwise the furthest along of the
/// unfinished ones.
pub fn aggregate(states: &[State]) -> State {
    if states.contains(&State::Running) {
        return State::Running;
    }
    if states.iter().all(|s| s.is_finished()) {
        return if states.contains(&State::FailedInterrupted) {
            State::FailedInterrupted
        } else if states.contains(&State::Failed) {
            State::Failed
        } else {
            State::Succeed
        };
    }
    states
        .iter()
        .copied()
        .filter(|s| !s.is_finished())
        .max()
        .unwrap_or(State::Submitted)
}

/// The state of a job from all its instances' states: as [`aggregate`], except that once all
/// finished a FAILED instance makes the job FAILED even while other tasks' instances are
/// FAILED_INTERRUPTED (their `FailedAction` kept them, and their machines). The service
/// reports such jobs as FAILED with instances still holding compute, which is why a client
/// must not skip TerminateJob on every FAILED job.
pub fn aggregate_job(states: &[State]) -> State {
    match aggregate(states) {
        State::FailedInterrupted if states.contains(&State::Failed) => State::Failed,
        other => other,
    }
}

/// Counts per state, in the order of the `TaskMetrics`/`TaskInstanceMetrics` fields.
pub fn metrics(states: impl IntoIterator<Item = State>) -> serde_json::Value {
    let mut counts: BTreeMap<State, u64> = BTreeMap::new();
    for s in states {
        *counts.entry(s).or_default() += 1;
    }
    let n = |s: State| counts.get(&s).copied().unwrap_or(0);
    serde_json::json!({
        "SubmittedCount": n(State::Submitted),
        "PendingCount": n(State::Pending),
        "RunnableCount": n(State::Runnable),
        "StartingCount": n(State::Starting),
        "RunningCount": n(State::Running),
        "SucceedCount": n(State::Succeed),
        "FailedInterruptedCount": n(State::FailedInterrupted),
        "FailedCount": n(State::Failed),
    })
}

/// All jobs, by id, and the ClientTokens seen.
#[derive(Debug, Default)]
pub struct Store {
    /// Every job, in creation order (`Job::seq`), so that a listing reads them in order.
    jobs: BTreeMap<u64, Job>,
    /// Each job's `seq`, by id.
    ids: HashMap<String, u64>,
    /// How many jobs each region holds, so that an unfiltered listing's total needs no count.
    per_region: HashMap<String, usize>,
    /// `(region, ClientToken)` → JobId.
    tokens: HashMap<(String, String), String>,
    /// The `(region, ClientToken)` that created each job, if one did, so that a delete
    /// forgets it without reading every token.
    token_of: HashMap<String, (String, String)>,
    next_seq: u64,
}

const ID_CHARS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

impl Store {
    /// The job an earlier `SubmitJob` with this `ClientToken` created in `region`, if any.
    pub fn job_for_token(&self, region: &str, token: &str) -> Option<&str> {
        self.tokens
            .get(&(region.to_string(), token.to_string()))
            .map(String::as_str)
    }

    /// Creates a job (or returns the job an earlier call with the same ClientToken created).
    pub fn submit(
        &mut self,
        region: &str,
        spec: JobSpec,
        client_token: Option<String>,
        now: DateTime<Utc>,
    ) -> String {
        if let Some(token) = &client_token
            && let Some(id) = self.tokens.get(&(region.to_string(), token.clone()))
        {
            return id.clone();
        }
        let id = self.fresh_id();
        self.next_seq += 1;
        let job = Job::new(id.clone(), region.to_string(), self.next_seq, spec, now);
        self.jobs.insert(self.next_seq, job);
        self.ids.insert(id.clone(), self.next_seq);
        *self.per_region.entry(region.to_string()).or_default() += 1;
        if let Some(token) = client_token {
            let key = (region.to_string(), token);
            self.tokens.insert(key.clone(), id.clone());
            self.token_of.insert(id.clone(), key);
        }
        id
    }

    fn fresh_id(&self) -> String {
        let mut rng = rand::rng();
        loop {
            let suffix: String = (0..8)
                .map(|_| {
                    let i = rng.random_range(0..ID_CHARS.len());
                    char::from(ID_CHARS.get(i).copied().unwrap_or(b'0'))
                })
                .collect();
            let id = format!("job-{suffix}");
            if !self.ids.contains_key(&id) {
                return id;
            }
        }
    }

    /// The job `id` in `region`.
    pub fn get(&self, region: &str, id: &str) -> Option<&Job> {
        let seq = self.ids.get(id)?;
        self.jobs.get(seq).filter(|j| j.region == region)
    }

    /// The job `id` in `region`, mutably.
    pub fn get_mut(&mut self, region: &str, id: &str) -> Option<&mut Job> {
        let seq = self.ids.get(id)?;
        self.jobs.get_mut(seq).filter(|j| j.region == region)
    }

    /// Deletes a job; the ClientTokens that named it name nothing any more, so a later
    /// SubmitJob with one of them creates a new job.
    pub fn remove(&mut self, id: &str) {
        if let Some(job) = self.ids.remove(id).and_then(|seq| self.jobs.remove(&seq))
            && let Some(n) = self.per_region.get_mut(&job.region)
        {
            *n = n.saturating_sub(1);
        }
        if let Some(key) = self.token_of.remove(id) {
            self.tokens.remove(&key);
        }
    }

    /// Jobs of `region`, newest first.
    pub fn list(&self, region: &str) -> impl DoubleEndedIterator<Item = &Job> {
        self.all().rev().filter(move |j| j.region == region)
    }

    /// How many jobs `region` holds.
    pub fn count(&self, region: &str) -> usize {
        self.per_region.get(region).copied().unwrap_or(0)
    }

    /// Every job, oldest first.
    pub fn all(&self) -> impl DoubleEndedIterator<Item = &Job> {
        self.jobs.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn task(name: &str, exit: i64, run: i64) -> TaskSpec {
        TaskSpec {
            name: name.into(),
            instance_num: 1,
            exit_code: exit,
            run_time: secs(run),
            max_retry: 0,
            interrupt_on_failure: false,
            env_id: None,
            redirect_info: None,
        }
    }

    fn job(tasks: Vec<TaskSpec>, deps: &[(&str, &str)], depend_on: DependOn) -> Job {
        let spec = JobSpec {
            name: "j".into(),
            zone: "ap-guangzhou-2".into(),
            priority: 0,
            tasks,
            dependences: deps
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            depend_on,
            tags: vec![],
            submitted: serde_json::Value::Null,
        };
        Job::new("job-abcd1234".into(), "ap-guangzhou".into(), 1, spec, t0())
    }

    fn at(j: &Job, s: i64) -> State {
        j.view(t0() + secs(s)).state
    }

    #[test]
    fn fresh_job_follows_the_documented_timeline() {
        let j = job(vec![task("A", 0, 5)], &[], DependOn::PreTaskSucceed);
        let expect = [
            (0, State::Submitted),
            (1, State::Pending),
            (2, State::Runnable),
            (3, State::Starting),
            (4, State::Starting),
            (5, State::Running),
            (9, State::Running),
            (10, State::Succeed),
        ];
        for (s, st) in expect {
            assert_eq!(at(&j, s), st, "at {s}s");
        }
        let v = j.view(t0() + secs(30));
        let i = &v.tasks[0].instances[0];
        assert_eq!(i.exit_code, Some(0));
        assert_eq!(i.launched, Some(t0() + secs(3)));
        assert_eq!(i.running, Some(t0() + secs(5)));
        assert_eq!(i.ended, Some(t0() + secs(10)));
        assert_eq!(v.ended, Some(t0() + secs(10)));
        assert_eq!(v.tasks[0].started, Some(t0() + secs(3)));
    }

    #[test]
    fn failure_retries_then_fails_with_exit_code() {
        let mut a = task("A", 3, 5);
        a.max_retry = 2;
        let j = job(vec![a], &[], DependOn::PreTaskSucceed);
        // First run ends at 10 s; two retries of 2 + 5 s each.
        assert_eq!(at(&j, 10), State::Starting);
        assert_eq!(at(&j, 12), State::Running);
        assert_eq!(at(&j, 17), State::Starting);
        assert_eq!(at(&j, 23), State::Running);
        assert_eq!(at(&j, 24), State::Failed);
        let v = j.view(t0() + secs(24));
        assert_eq!(v.tasks[0].instances[0].exit_code, Some(3));
        assert!(v.reason.contains("exited with code 3"), "{}", v.reason);
    }

    #[test]
    fn interrupt_keeps_the_instance_failed_interrupted() {
        let mut a = task("A", 1, 1);
        a.interrupt_on_failure = true;
        let mut j = job(vec![a], &[], DependOn::PreTaskSucceed);
        assert_eq!(at(&j, 6), State::FailedInterrupted);
        assert!(j.can_delete(t0() + secs(6)).is_err());
        assert!(j.can_retry(t0() + secs(6)).is_err());
        assert!(j.terminate_instance(0, 0, t0() + secs(7)));
        assert_eq!(at(&j, 8), State::FailedInterrupted);
        assert_eq!(at(&j, 9), State::Failed);
        assert!(j.can_delete(t0() + secs(9)).is_ok());
    }

    #[test]
    fn dependent_task_waits_then_runs() {
        let j = job(
            vec![task("A", 0, 2), task("B", 0, 2)],
            &[("A", "B")],
            DependOn::PreTaskSucceed,
        );
        // A: running 5..7, succeeds at 7. B: pending until 8, runnable 8, starting 9, running 11..13.
        assert_eq!(j.view(t0() + secs(6)).tasks[1].state, State::Pending);
        assert_eq!(j.view(t0() + secs(8)).tasks[1].state, State::Runnable);
        assert_eq!(at(&j, 8), State::Runnable);
        assert_eq!(at(&j, 11), State::Running);
        assert_eq!(at(&j, 13), State::Succeed);
    }

    #[test]
    fn failed_prerequisite_leaves_dependent_unscheduled_and_job_failed() {
        let mut j = job(
            vec![task("A", 1, 2), task("B", 0, 2)],
            &[("A", "B")],
            DependOn::PreTaskSucceed,
        );
        let v = j.view(t0() + secs(7));
        assert_eq!(v.state, State::Failed);
        let b = &v.tasks[1].instances[0];
        assert_eq!(b.state, State::Failed);
        assert_eq!(b.launched, None);
        assert_eq!(b.exit_code, None);
        // PRE_TASK_FINISHED runs B anyway.
        let j2 = job(
            vec![task("A", 1, 2), task("B", 0, 2)],
            &[("A", "B")],
            DependOn::PreTaskFinished,
        );
        assert_eq!(j2.view(t0() + secs(13)).tasks[1].state, State::Succeed);
        assert_eq!(at(&j2, 13), State::Failed);
        // Retry reruns A (fails again) and B (blocked again), from now.
        j.can_retry(t0() + secs(20)).unwrap();
        j.retry(t0() + secs(20));
        assert_eq!(at(&j, 20), State::Pending);
        assert_eq!(at(&j, 24), State::Running);
        assert_eq!(at(&j, 26), State::Failed);
    }

    #[test]
    fn terminate_rules() {
        let mut j = job(vec![task("A", 0, 100)], &[], DependOn::PreTaskSucceed);
        assert!(matches!(
            j.terminate(t0()),
            Err(Refusal::Unsupported(m)) if m.contains("SUBMITTED")
        ));
        j.terminate(t0() + secs(10)).unwrap();
        let v = j.view(t0() + secs(11));
        assert_eq!(v.state, State::Running);
        assert_eq!(v.next_action, "TERMINATING");
        let v = j.view(t0() + secs(12));
        assert_eq!(v.state, State::Failed);
        assert_eq!(v.next_action, "");
        assert_eq!(v.tasks[0].instances[0].reason, TERMINATED);
        // A succeeded job is left alone.
        let mut ok = job(vec![task("A", 0, 1)], &[], DependOn::PreTaskSucceed);
        ok.terminate(t0() + secs(60)).unwrap();
        assert_eq!(at(&ok, 100), State::Succeed);
        assert_eq!(ok.view(t0() + secs(100)).next_action, "");
    }

    #[test]
    fn terminate_instance_rules() {
        let mut j = job(vec![task("A", 0, 100)], &[], DependOn::PreTaskSucceed);
        // PENDING: fails at once.
        assert!(j.terminate_instance(0, 0, t0() + secs(1)));
        assert_eq!(at(&j, 1), State::Failed);
        assert!(!j.terminate_instance(0, 1, t0() + secs(1)));
        assert!(!j.terminate_instance(1, 0, t0() + secs(1)));
        // RUNNING: fails two seconds later.
        let mut j = job(vec![task("A", 0, 100)], &[], DependOn::PreTaskSucceed);
        j.terminate_instance(0, 0, t0() + secs(6));
        assert_eq!(at(&j, 7), State::Running);
        assert_eq!(at(&j, 8), State::Failed);
        // Finishing before the kill lands keeps the outcome.
        let mut j = job(vec![task("A", 0, 1)], &[], DependOn::PreTaskSucceed);
        j.terminate_instance(0, 0, t0() + secs(5));
        assert_eq!(at(&j, 10), State::Succeed);
    }

    #[test]
    fn retry_keeps_succeeded_instances() {
        let mut a = task("A", 0, 1);
        a.instance_num = 2;
        let mut j = job(vec![a, task("B", 0, 50)], &[], DependOn::PreTaskSucceed);
        j.terminate_instance(1, 0, t0() + secs(2));
        assert_eq!(at(&j, 10), State::Failed);
        j.retry(t0() + secs(10));
        let v = j.view(t0() + secs(10));
        assert_eq!(v.tasks[0].state, State::Succeed);
        assert_eq!(v.tasks[0].ended, Some(t0() + secs(6)));
        assert_eq!(v.tasks[1].instances[0].created, t0() + secs(10));
        assert_eq!(at(&j, 10 + 4 + 50), State::Succeed);
    }

    #[test]
    fn aggregate_and_cycles() {
        use State::*;
        assert_eq!(aggregate(&[Succeed, Running, Pending]), Running);
        assert_eq!(aggregate(&[Succeed, Starting, Pending]), Starting);
        assert_eq!(aggregate(&[Succeed, Failed]), Failed);
        assert_eq!(aggregate(&[FailedInterrupted, Failed]), FailedInterrupted);
        assert_eq!(aggregate_job(&[FailedInterrupted, Failed]), Failed);
        assert_eq!(
            aggregate_job(&[FailedInterrupted, Succeed]),
            FailedInterrupted
        );
        assert_eq!(aggregate(&[Succeed, Succeed]), Succeed);
        assert_eq!(topological_order(&[vec![1], vec![]]), Some(vec![1, 0]));
        assert_eq!(topological_order(&[vec![1], vec![0]]), None);
    }

    #[test]
    fn listings_are_newest_first_per_region_and_counts_follow_deletions() {
        let mut s = Store::default();
        let spec = job(vec![task("A", 0, 1)], &[], DependOn::PreTaskSucceed).spec;
        let ids: Vec<String> = ["r", "other", "r", "r"]
            .iter()
            .map(|region| s.submit(region, spec.clone(), None, t0()))
            .collect();
        let listed = |s: &Store, region: &str| -> Vec<String> {
            s.list(region).map(|j| j.id.clone()).collect()
        };
        assert_eq!(
            listed(&s, "r"),
            [ids[3].clone(), ids[2].clone(), ids[0].clone()]
        );
        assert_eq!((s.count("r"), s.count("other"), s.count("none")), (3, 1, 0));
        s.remove(&ids[2]);
        s.remove(&ids[2]);
        s.remove("job-unknown");
        assert_eq!(listed(&s, "r"), [ids[3].clone(), ids[0].clone()]);
        assert_eq!((s.count("r"), s.count("other")), (2, 1));
        assert!(s.get("r", &ids[2]).is_none());
        let all: Vec<String> = s.all().map(|j| j.id.clone()).collect();
        assert_eq!(
            all,
            [ids[0].clone(), ids[1].clone(), ids[3].clone()],
            "oldest first"
        );
    }

    #[test]
    fn client_token_is_idempotent_and_ids_are_well_formed() {
        let mut s = Store::default();
        let spec = job(vec![task("A", 0, 1)], &[], DependOn::PreTaskSucceed).spec;
        let a = s.submit("r", spec.clone(), Some("t".into()), t0());
        let b = s.submit("r", spec.clone(), Some("t".into()), t0());
        let c = s.submit("r", spec, None, t0());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.len() == 12 && a.starts_with("job-"));
        assert!(a[4..].bytes().all(|b| ID_CHARS.contains(&b)));
        assert_eq!(s.list("r").count(), 2);
        assert_eq!(s.list("r").next().map(|j| j.id.clone()), Some(c.clone()));
        assert!(s.get("other", &a).is_none());
        // DeleteJob ends the token's mapping: the same token then creates a new job.
        s.remove(&a);
        let d = s.submit(
            "r",
            job(vec![task("A", 0, 1)], &[], DependOn::PreTaskSucceed).spec,
            Some("t".into()),
            t0(),
        );
        assert_ne!(d, a);
        assert!(s.get("r", &d).is_some());
        assert_eq!(s.job_for_token("r", "t"), Some(d.as_str()));
        // The same token in another region is its own; deleting one job forgets only its own.
        let e = s.submit(
            "other",
            job(vec![task("A", 0, 1)], &[], DependOn::PreTaskSucceed).spec,
            Some("t".into()),
            t0(),
        );
        s.remove(&c);
        s.remove(&d);
        assert_eq!(s.job_for_token("r", "t"), None);
        assert_eq!(s.job_for_token("other", "t"), Some(e.as_str()));
    }
}
