//! The simulated service's state machine: jobs, tasks, ETags and the rules of every
//! transition, following Azure Batch. Pure and synchronous: every method is handed the time.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use polybatch_sim::azure::{Refusal, rules};

use super::preconditions;
use super::prep_release::{Filter, Select};
use crate::error::{Error, ErrorContext, Operation, ResourceKind, Result};
use crate::id::{JobId, TaskId};
use crate::options::{DEFAULT_TERMINATE_REASON, Preconditions};
use crate::outcome::{ReactivateTaskOutcome, TerminateDisposition, TerminateJobOutcome};
use crate::state::{JobState, TaskResult, TaskState};
use crate::status::{ETag, FailureInfo, JobStatus, PrepReleaseStatus, TaskCounts, TaskStatus};

/// The backend's name in errors.
pub(crate) const BACKEND: &str = "memory";

fn ctx(operation: Operation) -> ErrorContext {
    ErrorContext::new(BACKEND, operation)
}

/// A refusal by the service's rules (`polybatch_sim::azure::rules`, shared with the emulator),
/// as the error the caller sees; `state` is the provider state of the job or task refused.
fn refused(operation: Operation, state: &str, refusal: Refusal) -> Error {
    let message = refusal.message();
    Error::invalid_state(
        Some(state.to_owned()),
        ctx(operation).with_code(refusal.code).with_message(message),
    )
}

/// A job's state, with Azure's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JobPhase {
    Active,
    Disabled,
    /// Terminate accepted; completes (lazily, when next observed) at `completes_at`.
    Terminating {
        completes_at: DateTime<Utc>,
    },
    Completed,
    Deleting,
}

impl JobPhase {
    fn provider(self) -> &'static str {
        match self {
            JobPhase::Active => "active",
            JobPhase::Disabled => "disabled",
            JobPhase::Terminating { .. } => "terminating",
            JobPhase::Completed => "completed",
            JobPhase::Deleting => "deleting",
        }
    }

    fn rules(self) -> rules::JobPhase {
        match self {
            JobPhase::Active => rules::JobPhase::Active,
            JobPhase::Disabled => rules::JobPhase::Disabled,
            JobPhase::Terminating { .. } => rules::JobPhase::Terminating,
            JobPhase::Completed => rules::JobPhase::Completed,
            JobPhase::Deleting => rules::JobPhase::Deleting,
        }
    }

    fn normalized(self) -> JobState {
        match self {
            JobPhase::Active => JobState::Active,
            JobPhase::Disabled => JobState::Disabled,
            JobPhase::Terminating { .. } => JobState::Terminating,
            JobPhase::Completed => JobState::Completed,
            JobPhase::Deleting => JobState::Deleting,
        }
    }
}

/// A task's state, with Azure's names (`Pending` is Azure `active`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TaskPhase {
    Pending,
    Running,
    Completed,
}

impl TaskPhase {
    fn provider(self) -> &'static str {
        match self {
            TaskPhase::Pending => "active",
            TaskPhase::Running => "running",
            TaskPhase::Completed => "completed",
        }
    }
}

/// Hands out ETags that never repeat for the backend's lifetime.
#[derive(Debug, Default)]
struct ETags {
    issued: u64,
}

impl ETags {
    fn next(&mut self) -> ETag {
        self.issued += 1;
        ETag::new(format!("0x8D{:014X}", self.issued))
    }
}

/// What every mutable resource carries.
#[derive(Debug)]
struct Version {
    etag: ETag,
    last_modified: DateTime<Utc>,
}

impl Version {
    fn new(etags: &mut ETags, now: DateTime<Utc>) -> Self {
        Version {
            etag: etags.next(),
            last_modified: now,
        }
    }

    fn bump(&mut self, etags: &mut ETags, at: DateTime<Utc>) {
        self.etag = etags.next();
        self.last_modified = at;
    }
}

#[derive(Debug)]
struct Task {
    phase: TaskPhase,
    previous: Option<&'static str>,
    version: Version,
    exit_code: Option<i32>,
    result: Option<TaskResult>,
    failure: Option<FailureInfo>,
    start_time: Option<DateTime<Utc>>,
    end_time: Option<DateTime<Utc>>,
    retry_count: u32,
}

impl Task {
    fn rules(&self) -> rules::TaskPhase {
        match (self.phase, self.result) {
            (TaskPhase::Completed, Some(TaskResult::Success)) => rules::TaskPhase::Succeeded,
            (TaskPhase::Completed, _) => rules::TaskPhase::Failed,
            _ => rules::TaskPhase::Unfinished,
        }
    }

    fn normalized(&self) -> TaskState {
        match (self.phase, self.result) {
            (TaskPhase::Pending, _) => TaskState::Pending,
            (TaskPhase::Running, _) => TaskState::Running,
            (TaskPhase::Completed, Some(TaskResult::Success)) => TaskState::Succeeded,
            (TaskPhase::Completed, Some(TaskResult::Failure)) => TaskState::Failed,
            (TaskPhase::Completed, _) => TaskState::Completed,
        }
    }

    fn move_to(&mut self, phase: TaskPhase, etags: &mut ETags, now: DateTime<Utc>) {
        self.previous = Some(self.phase.provider());
        self.phase = phase;
        self.version.bump(etags, now);
    }

    /// Ends a task that has not finished because its job was terminated.
    fn end_by_job_termination(&mut self, etags: &mut ETags, now: DateTime<Utc>) {
        self.result = Some(TaskResult::Failure);
        self.failure = Some(FailureInfo {
            category: Some("usererror".into()),
            code: Some("TaskEnded".into()),
            message: Some("Task Was Ended by User Request".into()),
            details: Vec::new(),
        });
        self.end_time = Some(now);
        self.move_to(TaskPhase::Completed, etags, now);
    }
}

#[derive(Debug)]
struct Job {
    pool_id: String,
    phase: JobPhase,
    previous: Option<&'static str>,
    version: Version,
    created: DateTime<Utc>,
    end_time: Option<DateTime<Utc>>,
    terminate_reason: Option<String>,
    /// `None`: the job has no preparation or release task.
    prep_release: Option<BTreeMap<String, PrepReleaseStatus>>,
    tasks: BTreeMap<TaskId, Task>,
}

impl Job {
    fn move_to(&mut self, phase: JobPhase, etags: &mut ETags, at: DateTime<Utc>) {
        self.previous = Some(self.phase.provider());
        self.phase = phase;
        self.version.bump(etags, at);
    }

    /// Applies a termination whose time has come (observed lazily, on every access).
    fn settle(&mut self, etags: &mut ETags, now: DateTime<Utc>) {
        if let JobPhase::Terminating { completes_at } = self.phase
            && completes_at <= now
        {
            self.end_time = Some(completes_at);
            self.move_to(JobPhase::Completed, etags, completes_at);
        }
    }

    /// Accepts a termination: the job becomes terminating and its unfinished tasks end.
    fn terminate(
        &mut self,
        reason: String,
        completes_at: DateTime<Utc>,
        etags: &mut ETags,
        now: DateTime<Utc>,
    ) {
        self.terminate_reason = Some(reason);
        self.move_to(JobPhase::Terminating { completes_at }, etags, now);
        for task in self.tasks.values_mut() {
            if task.phase != TaskPhase::Completed {
                task.end_by_job_termination(etags, now);
            }
        }
        self.settle(etags, now);
    }

    /// The error a task operation gets when the job no longer accepts task changes.
    fn refuse_task_changes(&self, operation: Operation) -> Result<()> {
        rules::job_accepts_task_changes(self.phase.rules())
            .map_err(|r| refused(operation, self.phase.provider(), r))
    }

    fn task_mut(&mut self, operation: Operation, task: &TaskId) -> Result<&mut Task> {
        self.tasks
            .get_mut(task)
            .ok_or_else(|| task_not_found(operation, task))
    }
}

fn job_not_found(operation: Operation, job: &JobId) -> Error {
    Error::not_found(
        ResourceKind::Job,
        job.as_str(),
        ctx(operation)
            .with_code("JobNotFound")
            .with_message("The specified job does not exist."),
    )
}

fn task_not_found(operation: Operation, task: &TaskId) -> Error {
    Error::not_found(
        ResourceKind::Task,
        task.as_str(),
        ctx(operation)
            .with_code("TaskNotFound")
            .with_message("The specified task does not exist."),
    )
}

/// One page of a prep/release listing and the node id the next page starts after.
pub(crate) type PrepReleasePage = (Vec<PrepReleaseStatus>, Option<String>);

/// The whole simulated service.
#[derive(Debug, Default)]
pub(crate) struct Store {
    jobs: BTreeMap<JobId, Job>,
    etags: ETags,
    termination_delay: Duration,
}

impl Store {
    /// The job, with any due termination applied, and the ETag source.
    fn job(
        &mut self,
        operation: Operation,
        id: &JobId,
        now: DateTime<Utc>,
    ) -> Result<(&mut Job, &mut ETags)> {
        let job = self
            .jobs
            .get_mut(id)
            .ok_or_else(|| job_not_found(operation, id))?;
        job.settle(&mut self.etags, now);
        Ok((job, &mut self.etags))
    }

    // ----- the trait operations -----

    pub(crate) fn terminate(
        &mut self,
        id: &JobId,
        reason: Option<String>,
        force: bool,
        preconditions: &Preconditions,
        now: DateTime<Utc>,
    ) -> Result<TerminateJobOutcome> {
        let op = Operation::TerminateJob;
        let delay =
            chrono::Duration::from_std(self.termination_delay).unwrap_or(chrono::Duration::MAX);
        let (job, etags) = self.job(op, id, now)?;
        preconditions::check(
            || ctx(op),
            preconditions,
            &job.version.etag,
            job.version.last_modified,
        )?;
        // Terminate is idempotent on the trait: the service's refusals of a job already
        // terminating or completed are answers, not errors.
        let disposition = match rules::terminate_job(job.phase.rules()) {
            Err(r) if r.code == "JobBeingTerminated" => TerminateDisposition::AlreadyTerminating,
            Err(r) if r.code == "JobCompleted" => TerminateDisposition::AlreadyCompleted,
            Err(r) => return Err(refused(op, job.phase.provider(), r)),
            Ok(()) => {
                // `force` skips the simulated wait for nodes to process the termination.
                let completes_at = if force {
                    now
                } else {
                    now.checked_add_signed(delay)
                        .unwrap_or(DateTime::<Utc>::MAX_UTC)
                };
                let reason = reason.unwrap_or_else(|| DEFAULT_TERMINATE_REASON.to_owned());
                job.terminate(reason, completes_at, etags, now);
                TerminateDisposition::Accepted
            }
        };
        let mut outcome = TerminateJobOutcome::new(disposition);
        outcome.etag = Some(job.version.etag.clone());
        Ok(outcome)
    }

    pub(crate) fn reactivate(
        &mut self,
        id: &JobId,
        task_id: &TaskId,
        preconditions: &Preconditions,
        now: DateTime<Utc>,
    ) -> Result<ReactivateTaskOutcome> {
        let op = Operation::ReactivateTask;
        let (job, etags) = self.job(op, id, now)?;
        let refusal = job.refuse_task_changes(op);
        let job_phase = job.phase.rules();
        let task = job.task_mut(op, task_id)?;
        preconditions::check(
            || ctx(op),
            preconditions,
            &task.version.etag,
            task.version.last_modified,
        )?;
        refusal?;
        rules::reactivate_task(job_phase, task.rules())
            .map_err(|r| refused(op, task.phase.provider(), r))?;
        task.exit_code = None;
        task.result = None;
        task.failure = None;
        task.start_time = None;
        task.end_time = None;
        task.retry_count = 0;
        task.move_to(TaskPhase::Pending, etags, now);
        Ok(ReactivateTaskOutcome {
            etag: Some(task.version.etag.clone()),
            request_id: None,
        })
    }

    pub(crate) fn job_status(&mut self, id: &JobId, now: DateTime<Utc>) -> Result<JobStatus> {
        let (job, _) = self.job(Operation::JobStatus, id, now)?;
        let mut counts = TaskCounts::default();
        for task in job.tasks.values() {
            match task.normalized() {
                TaskState::Pending | TaskState::Preparing => counts.pending += 1,
                TaskState::Running => counts.running += 1,
                TaskState::Succeeded => counts.succeeded += 1,
                _ => counts.failed += 1,
            }
        }
        let mut s = JobStatus::new(id.clone(), job.phase.normalized(), job.phase.provider());
        s.previous_provider_state = job.previous.map(str::to_owned);
        s.etag = Some(job.version.etag.clone());
        s.last_modified = Some(job.version.last_modified);
        s.terminate_reason = job.terminate_reason.clone();
        s.start_time = Some(job.created);
        s.end_time = job.end_time;
        s.pool_id = Some(job.pool_id.clone());
        s.task_counts = Some(counts);
        Ok(s)
    }

    pub(crate) fn task_status(
        &mut self,
        id: &JobId,
        task_id: &TaskId,
        now: DateTime<Utc>,
    ) -> Result<TaskStatus> {
        let op = Operation::TaskStatus;
        let (job, _) = self.job(op, id, now)?;
        let task = job.task_mut(op, task_id)?;
        let mut s = TaskStatus::new(
            id.clone(),
            task_id.clone(),
            task.normalized(),
            task.phase.provider(),
        );
        s.previous_provider_state = task.previous.map(str::to_owned);
        s.etag = Some(task.version.etag.clone());
        s.last_modified = Some(task.version.last_modified);
        s.exit_code = task.exit_code;
        s.retry_count = task.retry_count;
        s.result = task.result;
        s.failure = task.failure.clone();
        s.start_time = task.start_time;
        s.end_time = task.end_time;
        Ok(s)
    }

    /// One page of at most `page_size` records after node `after`, filtered and selected.
    pub(crate) fn prep_release_page(
        &mut self,
        id: &JobId,
        filter: Option<&Filter>,
        select: &Select,
        page_size: usize,
        after: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<PrepReleasePage> {
        let op = Operation::ListPrepReleaseStatus;
        let (job, _) = self.job(op, id, now)?;
        rules::list_prep_release_status(job.prep_release.is_some())
            .map_err(|r| refused(op, job.phase.provider(), r))?;
        let Some(records) = job.prep_release.as_ref() else {
            return Ok((Vec::new(), None));
        };
        let mut matching = records
            .iter()
            .filter(|(node, _)| after.is_none_or(|a| node.as_str() > a))
            .filter(|(_, r)| filter.is_none_or(|f| f.matches(r)));
        let page: Vec<(&String, &PrepReleaseStatus)> =
            matching.by_ref().take(page_size.max(1)).collect();
        let next = match (matching.next(), page.last()) {
            (Some(_), Some((last, _))) => Some((*last).clone()),
            _ => None,
        };
        let items = page
            .into_iter()
            .map(|(_, r)| select.apply(r.clone()))
            .collect();
        Ok((items, next))
    }

    /// The job's failed tasks, in id order.
    pub(crate) fn failed_tasks(&mut self, id: &JobId, now: DateTime<Utc>) -> Result<Vec<TaskId>> {
        let (job, _) = self.job(Operation::RetryFailedTasks, id, now)?;
        Ok(job
            .tasks
            .iter()
            .filter(|(_, t)| t.normalized() == TaskState::Failed)
            .map(|(id, _)| id.clone())
            .collect())
    }

    // ----- seeding -----

    pub(crate) fn set_termination_delay(&mut self, delay: Duration) {
        self.termination_delay = delay;
    }

    pub(crate) fn add_job(
        &mut self,
        id: &JobId,
        pool: &str,
        prep_release: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let op = Operation::Other("seed_job");
        if self.jobs.contains_key(id) {
            return Err(Error::invalid_state(
                None,
                ctx(op)
                    .with_code("JobExists")
                    .with_message(format!("job {id} already exists")),
            ));
        }
        let job = Job {
            pool_id: pool.to_owned(),
            phase: JobPhase::Active,
            previous: None,
            version: Version::new(&mut self.etags, now),
            created: now,
            end_time: None,
            terminate_reason: None,
            prep_release: prep_release.then(BTreeMap::new),
            tasks: BTreeMap::new(),
        };
        self.jobs.insert(id.clone(), job);
        Ok(())
    }

    pub(crate) fn remove_job(&mut self, id: &JobId) -> Result<()> {
        self.jobs
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| job_not_found(Operation::Other("seed_remove_job"), id))
    }

    pub(crate) fn add_task(
        &mut self,
        id: &JobId,
        task_id: &TaskId,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let op = Operation::Other("seed_task");
        let (job, etags) = self.job(op, id, now)?;
        job.refuse_task_changes(op)?;
        if job.tasks.contains_key(task_id) {
            return Err(Error::invalid_state(
                None,
                ctx(op)
                    .with_code("TaskExists")
                    .with_message(format!("task {task_id} already exists in job {id}")),
            ));
        }
        let task = Task {
            phase: TaskPhase::Pending,
            previous: None,
            version: Version::new(etags, now),
            exit_code: None,
            result: None,
            failure: None,
            start_time: None,
            end_time: None,
            retry_count: 0,
        };
        job.tasks.insert(task_id.clone(), task);
        job.version.bump(etags, now);
        Ok(())
    }

    pub(crate) fn start_task(
        &mut self,
        id: &JobId,
        task_id: &TaskId,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let op = Operation::Other("seed_start_task");
        let (job, etags) = self.job(op, id, now)?;
        if job.phase != JobPhase::Active {
            return Err(Error::invalid_state(
                Some(job.phase.provider().to_owned()),
                ctx(op).with_message(format!("job {id} is not active: tasks cannot start")),
            ));
        }
        let task = job.task_mut(op, task_id)?;
        if task.phase != TaskPhase::Pending {
            return Err(Error::invalid_state(
                Some(task.phase.provider().to_owned()),
                ctx(op).with_message(format!("task {task_id} is not waiting to run")),
            ));
        }
        task.start_time = Some(now);
        task.move_to(TaskPhase::Running, etags, now);
        Ok(())
    }

    pub(crate) fn complete_task(
        &mut self,
        id: &JobId,
        task_id: &TaskId,
        exit_code: i32,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let op = Operation::Other("seed_complete_task");
        let (job, etags) = self.job(op, id, now)?;
        let task = job.task_mut(op, task_id)?;
        if task.phase != TaskPhase::Running {
            return Err(Error::invalid_state(
                Some(task.phase.provider().to_owned()),
                ctx(op).with_message(format!("task {task_id} is not running")),
            ));
        }
        task.exit_code = Some(exit_code);
        task.end_time = Some(now);
        if exit_code == 0 {
            task.result = Some(TaskResult::Success);
        } else {
            task.result = Some(TaskResult::Failure);
            task.failure = Some(FailureInfo {
                category: Some("usererror".into()),
                code: Some("FailureExitCode".into()),
                message: Some("The task exited with an exit code representing a failure".into()),
                details: vec![("exitCode".into(), exit_code.to_string())],
            });
        }
        task.move_to(TaskPhase::Completed, etags, now);
        Ok(())
    }

    pub(crate) fn set_retry_count(
        &mut self,
        id: &JobId,
        task_id: &TaskId,
        retry_count: u32,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let op = Operation::Other("seed_retry_count");
        let (job, etags) = self.job(op, id, now)?;
        let task = job.task_mut(op, task_id)?;
        task.retry_count = retry_count;
        task.version.bump(etags, now);
        Ok(())
    }

    pub(crate) fn add_prep_release_record(
        &mut self,
        id: &JobId,
        record: PrepReleaseStatus,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let op = Operation::Other("seed_prep_release_record");
        let (job, _) = self.job(op, id, now)?;
        let state = job.phase.provider();
        rules::list_prep_release_status(job.prep_release.is_some())
            .map_err(|r| refused(op, state, r))?;
        let Some(records) = job.prep_release.as_mut() else {
            return Ok(());
        };
        records.insert(record.node_id.clone(), record);
        Ok(())
    }

    /// Seeds a job-level transition that no trait operation makes.
    pub(crate) fn set_job_phase(
        &mut self,
        id: &JobId,
        target: SeedJobState,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let op = Operation::Other("seed_job_state");
        let (job, etags) = self.job(op, id, now)?;
        let illegal = |job: &Job, what: &str| {
            Err(Error::invalid_state(
                Some(job.phase.provider().to_owned()),
                ctx(op).with_message(format!("job {id} cannot be {what} from this state")),
            ))
        };
        match target {
            SeedJobState::Disabled if job.phase == JobPhase::Active => {
                job.move_to(JobPhase::Disabled, etags, now);
            }
            SeedJobState::Disabled => return illegal(job, "disabled"),
            SeedJobState::Enabled if job.phase == JobPhase::Disabled => {
                job.move_to(JobPhase::Active, etags, now);
            }
            SeedJobState::Enabled => return illegal(job, "enabled"),
            SeedJobState::Deleting if job.phase == JobPhase::Deleting => {
                return illegal(job, "deleted");
            }
            SeedJobState::Deleting => job.move_to(JobPhase::Deleting, etags, now),
            SeedJobState::Completed(reason) => match job.phase {
                JobPhase::Active | JobPhase::Disabled => job.terminate(reason, now, etags, now),
                _ => return illegal(job, "completed"),
            },
        }
        Ok(())
    }
}

/// Job transitions only seeding makes.
#[derive(Debug, Clone)]
pub(crate) enum SeedJobState {
    Disabled,
    Enabled,
    Deleting,
    /// Completed by the service itself (for example when all its tasks completed), with this
    /// reason.
    Completed(String),
}
