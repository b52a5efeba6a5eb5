//! The Azure flavour of the in-memory backend: `polybatch-sim`'s simulated Batch account (the
//! one the emulator serves) behind the trait's operations, with Batch's refusal rules and
//! conditional requests from the same crate. Its pools have no nodes, so nothing runs by
//! itself: seeding starts and ends tasks by hand, and terminations take the configured delay.
//!
//! Only the preparation/release records are kept here: they are data a test seeds and the
//! listing returns, paged and filtered, not state the service's rules act on.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use polybatch_sim::azure::conditions::Conditions;
use polybatch_sim::azure::rules::{self, TaskPhase as RulesTaskPhase};
use polybatch_sim::azure::{
    Failure, Job, JobState as SimJobState, Refusal, RefusalKind, SeedJob, Sim, Task,
    TaskState as SimTaskState, key_of,
};
use serde_json::json;

use super::preconditions;
use super::prep_release::{Filter, Select};
use crate::error::{Error, ErrorContext, Operation, ResourceKind, Result};
use crate::id::{JobId, TaskId};
use crate::options::{ListJobsOptions, Preconditions, StatusOptions};
use crate::outcome::{
    DeleteDisposition, DeleteJobOutcome, ReactivateTaskOutcome, SubmitJobOutcome,
    TerminateDisposition, TerminateJobOutcome,
};
use crate::spec::{IdempotencyKey, JobSpec};
use crate::state::{JobState, TaskResult, TaskState};
use crate::status::{ETag, FailureInfo, JobStatus, PrepReleaseStatus, TaskCounts, TaskStatus};
use crate::translate::azure;

/// The backend's name in errors.
pub(crate) const BACKEND: &str = "memory";

fn ctx(operation: Operation) -> ErrorContext {
    ErrorContext::new(BACKEND, operation)
}

/// A refusal of the simulation as the error the caller sees; `state` is the provider state of
/// the job or task refused, `id` the resource named.
fn refused(operation: Operation, state: Option<&str>, id: &str, r: Refusal) -> Error {
    let message = r.message();
    let c = ctx(operation)
        .with_code(r.code.clone())
        .with_message(message);
    match r.kind {
        RefusalKind::NotFound => {
            let resource = if r.code == "TaskNotFound" {
                ResourceKind::Task
            } else {
                ResourceKind::Job
            };
            Error::not_found(resource, id, c)
        }
        RefusalKind::Conflict => Error::invalid_state(state.map(str::to_owned), c),
        RefusalKind::PreconditionFailed | RefusalKind::NotModified => Error::precondition_failed(c),
        RefusalKind::BadRequest => Error::invalid_input("request", r.message(), c),
    }
}

/// Batch's job states as the neutral ones.
fn job_state(s: SimJobState) -> JobState {
    match s {
        SimJobState::Active => JobState::Active,
        SimJobState::Disabled => JobState::Disabled,
        SimJobState::Deleting => JobState::Deleting,
        SimJobState::Terminating => JobState::Terminating,
        SimJobState::Completed => JobState::Completed,
    }
}

/// Batch's task states (and the result of a completed one) as the neutral ones.
fn task_state(t: &Task) -> TaskState {
    match (t.state.state, t.phase()) {
        (SimTaskState::Active, _) => TaskState::Pending,
        (SimTaskState::Preparing, _) => TaskState::Preparing,
        (SimTaskState::Running, _) => TaskState::Running,
        (SimTaskState::Completed, RulesTaskPhase::Succeeded) => TaskState::Succeeded,
        (SimTaskState::Completed, _) => TaskState::Failed,
    }
}

fn failure(f: &Failure, exit_code: Option<i32>) -> FailureInfo {
    let mut info = FailureInfo {
        category: Some(f.category.to_string()),
        code: Some(f.code.to_string()),
        message: Some(f.message.to_string()),
        details: Vec::new(),
    };
    if let Some(code) = exit_code {
        info.details.push(("exitCode".into(), code.to_string()));
    }
    info
}

/// A conditional read of an unchanged resource: `PreconditionFailed` saying "not modified", as
/// the Azure client reports the service's 304.
fn not_modified(
    op: Operation,
    read: &StatusOptions,
    etag: &str,
    last_modified: DateTime<Utc>,
) -> Result<()> {
    let Some(wanted) = &read.if_none_match else {
        return Ok(());
    };
    let conditions = Conditions::new(None, Some(wanted.as_str().to_string()), None, None)
        .map_err(|r| refused(op, None, "", r))?;
    // A 304 has no body, so no code: the client sees only the status.
    conditions.check(etag, last_modified, true).map_err(|_| {
        Error::precondition_failed(ctx(op).with_message(
            "not modified: the resource still has the ETag given in If-None-Match; the copy \
             you hold is current",
        ))
    })
}

/// Whether `$select` (empty: everything) names `property` (case-insensitively).
fn selected(select: &[String], property: &str) -> bool {
    select.is_empty()
        || select
            .iter()
            .flat_map(|s| s.split(','))
            .any(|s| s.trim().eq_ignore_ascii_case(property))
}

/// A job status with only the `$select`ed Batch properties, as the Azure client builds one
/// from a Job_Get with `$select`.
fn select_job(mut s: JobStatus, select: &[String]) -> JobStatus {
    if select.is_empty() {
        return s;
    }
    if !selected(select, "state") {
        s.state = JobState::Unknown;
        s.provider_state = String::new();
    }
    if !selected(select, "previousState") {
        s.previous_provider_state = None;
    }
    if !selected(select, "eTag") {
        s.etag = None;
    }
    if !selected(select, "lastModified") {
        s.last_modified = None;
    }
    if !selected(select, "executionInfo") {
        s.start_time = None;
        s.end_time = None;
        s.terminate_reason = None;
    }
    if !selected(select, "poolInfo") {
        s.pool_id = None;
    }
    // Task counts are not a property of the job.
    s.task_counts = None;
    s
}

/// A task status with only the `$select`ed Batch properties.
fn select_task(mut s: TaskStatus, select: &[String]) -> TaskStatus {
    if select.is_empty() {
        return s;
    }
    if !selected(select, "state") {
        s.state = TaskState::Unknown;
        s.provider_state = String::new();
    }
    if !selected(select, "previousState") {
        s.previous_provider_state = None;
    }
    if !selected(select, "eTag") {
        s.etag = None;
    }
    if !selected(select, "lastModified") {
        s.last_modified = None;
    }
    if !selected(select, "executionInfo") {
        s.exit_code = None;
        s.retry_count = 0;
        s.result = None;
        s.failure = None;
        s.start_time = None;
        s.end_time = None;
    }
    s
}

/// One page of a prep/release listing and the node id the next page starts after.
pub(crate) type PrepReleasePage = (Vec<PrepReleaseStatus>, Option<String>);

/// The simulated account, and the seeded prep/release records of each job (by job key).
pub(crate) struct Store {
    sim: Sim,
    records: HashMap<String, BTreeMap<String, PrepReleaseStatus>>,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            // Pools get no nodes: tasks run only when seeding says so.
            sim: Sim::new(DateTime::<Utc>::MIN_UTC, 0),
            records: HashMap::new(),
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("jobs", &self.sim.jobs().len())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The job at `now`, every transition due by then applied.
    fn job(&mut self, op: Operation, id: &JobId, now: DateTime<Utc>) -> Result<&Job> {
        self.sim.advance(now);
        self.sim
            .found_job(id.as_str())
            .map_err(|r| refused(op, None, id.as_str(), r))
    }

    fn task(
        &mut self,
        op: Operation,
        id: &JobId,
        task: &TaskId,
        now: DateTime<Utc>,
    ) -> Result<(&Job, &Task)> {
        self.sim.advance(now);
        self.sim
            .found_task(id.as_str(), task.as_str())
            .map_err(|r| {
                let named = if r.code == "TaskNotFound" {
                    task.as_str()
                } else {
                    id.as_str()
                };
                refused(op, None, named, r)
            })
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
        let job = self.job(op, id, now)?;
        preconditions::check(
            || ctx(op),
            preconditions,
            &ETag::new(job.meta.etag.clone()),
            job.meta.last_modified,
        )?;
        let state = job.state.state.as_str();
        // Terminate is idempotent on the trait: the service's refusals of a job already
        // terminating or completed are answers, not errors.
        let disposition = match rules::terminate_job(job.phase()) {
            Err(r) if r.code == "JobBeingTerminated" => TerminateDisposition::AlreadyTerminating,
            Err(r) if r.code == "JobCompleted" => TerminateDisposition::AlreadyCompleted,
            Err(r) => return Err(refused(op, Some(state), id.as_str(), r)),
            Ok(()) => {
                self.sim
                    .terminate_job(id.as_str(), reason, force, now)
                    .map_err(|r| refused(op, Some(state), id.as_str(), r))?;
                TerminateDisposition::Accepted
            }
        };
        let mut outcome = TerminateJobOutcome::new(disposition);
        outcome.etag = self
            .sim
            .job(id.as_str())
            .map(|j| ETag::new(j.meta.etag.clone()));
        Ok(outcome)
    }

    /// `submit_job`, as the Azure client makes it: Job_Add under the id the key names (a
    /// `JobExists` whose metadata holds the same key is the earlier submit), the tasks that
    /// are not there yet, then Job_Patch so the job completes with its tasks.
    pub(crate) fn submit(
        &mut self,
        spec: &JobSpec,
        key: &IdempotencyKey,
        now: DateTime<Utc>,
    ) -> Result<SubmitJobOutcome> {
        let op = Operation::SubmitJob;
        let id = azure::job_id(&spec.name, key)?;
        let body = azure::job_add_body(spec, &id, key, &azure::submit_nonce())?;
        self.sim.advance(now);
        let created = match self.sim.add_job(body, now) {
            Ok(_) => true,
            Err(r) if r.code == "JobExists" => {
                let job = self.job(op, &id, now)?;
                let state = job.state.state.as_str();
                if let Some((code, message)) =
                    azure::existing_job_conflict(&id, key, state, job.body.get("metadata"))
                {
                    let c = ctx(op).with_code(code).with_message(message);
                    return Err(Error::invalid_state(Some(state.into()), c));
                }
                false
            }
            Err(r) => return Err(refused(op, None, id.as_str(), r)),
        };
        for task in &spec.tasks {
            match self.sim.add_task(id.as_str(), azure::task_body(task)?, now) {
                Ok(_) => {}
                Err(r) if r.code == "TaskExists" => {}
                Err(r) => return Err(refused(op, None, task.name.as_str(), r)),
            }
        }
        match self
            .sim
            .patch_job(id.as_str(), azure::complete_when_tasks_done(), now)
        {
            // A repeat may find the job already completed: it had everything.
            Ok(_) => {}
            Err(r) if !created && r.code == "JobCompleted" => {}
            Err(r) => return Err(refused(op, None, id.as_str(), r)),
        }
        Ok(SubmitJobOutcome::new(id, created, key.clone()))
    }

    /// `delete_job`: Job_Delete, idempotent (a job being deleted or gone is an answer).
    pub(crate) fn delete(
        &mut self,
        id: &JobId,
        preconditions: &Preconditions,
        now: DateTime<Utc>,
    ) -> Result<DeleteJobOutcome> {
        let op = Operation::DeleteJob;
        let job = match self.job(op, id, now) {
            Ok(job) => job,
            Err(Error::NotFound { .. }) => {
                return Ok(DeleteJobOutcome::new(DeleteDisposition::AlreadyGone));
            }
            Err(e) => return Err(e),
        };
        preconditions::check(
            || ctx(op),
            preconditions,
            &ETag::new(job.meta.etag.clone()),
            job.meta.last_modified,
        )?;
        let state = job.state.state.as_str();
        match self.sim.delete_job(id.as_str(), now) {
            Ok(()) => Ok(DeleteJobOutcome::new(DeleteDisposition::Accepted)),
            Err(r) if r.code == "JobBeingDeleted" => {
                Ok(DeleteJobOutcome::new(DeleteDisposition::AlreadyDeleting))
            }
            Err(r) => Err(refused(op, Some(state), id.as_str(), r)),
        }
    }

    /// One page of Job_List: jobs after `after` (by lowercased id), at most `size`; the
    /// state filter applied here, as Batch applies `$filter=state eq ...`.
    pub(crate) fn jobs_page(
        &mut self,
        options: &ListJobsOptions,
        size: usize,
        after: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(Vec<JobStatus>, Option<String>)> {
        self.sim.advance(now);
        let keys: Vec<String> = self
            .sim
            .jobs()
            .keys()
            .filter(|k| after.is_none_or(|a| k.as_str() > a))
            .cloned()
            .collect();
        let mut items = Vec::new();
        let mut last = None;
        for key in keys {
            if items.len() == size {
                return Ok((items, last));
            }
            let Some(id) = self
                .sim
                .jobs()
                .get(&key)
                .and_then(|j| JobId::new(j.id.clone()).ok())
            else {
                continue;
            };
            let status = self.job_status(&id, &StatusOptions::default(), now)?;
            last = Some(key);
            if options.states.is_empty() || options.states.contains(&status.state) {
                items.push(status);
            }
        }
        Ok((items, None))
    }

    /// Job_Get and Task_List of the bodies as submitted, read back as a spec.
    pub(crate) fn export(
        &mut self,
        id: &JobId,
        now: DateTime<Utc>,
    ) -> Result<crate::spec::ExportedJob> {
        let job = self.job(Operation::ExportJob, id, now)?;
        let tasks: Vec<serde_json::Value> = job.tasks.values().map(|t| t.body.clone()).collect();
        azure::export(&job.body, &tasks).map_err(|e| e.stamped(BACKEND, Operation::ExportJob))
    }

    /// File_GetFromTask of the stream's file, with the range applied as `ocp-range` is.
    pub(crate) fn task_output(
        &mut self,
        id: &JobId,
        task: &TaskId,
        options: &crate::options::TaskOutputOptions,
        now: DateTime<Utc>,
    ) -> Result<crate::outcome::TaskOutput> {
        let op = Operation::TaskOutput;
        self.sim.advance(now);
        let file = match options.stream {
            crate::options::OutputStream::Stderr => "stderr.txt",
            _ => "stdout.txt",
        };
        let bytes = self
            .sim
            .task_file(id.as_str(), task.as_str(), file)
            .map_err(|r| {
                let named = if r.code == "JobNotFound" {
                    id.as_str()
                } else {
                    task.as_str()
                };
                refused(op, None, named, r)
            })?;
        // Batch takes ocp-range: the range is applied here, as the service does.
        let mut out = crate::outcome::TaskOutput::new(bytes);
        if let Some(r) = &options.range {
            out.keep_range(r);
        }
        Ok(out)
    }

    /// One page of Task_List: the job's tasks after `after` (by lowercased id).
    pub(crate) fn tasks_page(
        &mut self,
        id: &JobId,
        size: usize,
        after: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(Vec<TaskStatus>, Option<String>)> {
        let job = self.job(Operation::ListTasks, id, now)?;
        let tasks: Vec<(String, String)> = job
            .tasks
            .iter()
            .filter(|(k, _)| after.is_none_or(|a| k.as_str() > a))
            .map(|(k, t)| (k.clone(), t.id.clone()))
            .collect();
        let more = tasks.len() > size;
        let mut items = Vec::new();
        let mut last = None;
        for (key, task) in tasks.into_iter().take(size) {
            let Ok(task) = TaskId::new(task) else {
                continue;
            };
            items.push(self.task_status(id, &task, &StatusOptions::default(), now)?);
            last = Some(key);
        }
        Ok((items, if more { last } else { None }))
    }

    /// Task_Terminate, idempotent as the trait wants it: a completed task is
    /// `AlreadyCompleted`.
    pub(crate) fn terminate_task(
        &mut self,
        id: &JobId,
        task_id: &TaskId,
        preconditions: &Preconditions,
        now: DateTime<Utc>,
    ) -> Result<crate::outcome::TerminateTaskOutcome> {
        let op = Operation::TerminateTask;
        let (_, task) = self.task(op, id, task_id, now)?;
        preconditions::check(
            || ctx(op),
            preconditions,
            &ETag::new(task.meta.etag.clone()),
            task.meta.last_modified,
        )?;
        let state = task.state.state.as_str();
        match self.sim.terminate_task(id.as_str(), task_id.as_str(), now) {
            Ok(meta) => {
                let mut o =
                    crate::outcome::TerminateTaskOutcome::new(TerminateDisposition::Accepted);
                o.etag = Some(ETag::new(meta.etag));
                Ok(o)
            }
            Err(r) if r.code == "TaskCompleted" => Ok(crate::outcome::TerminateTaskOutcome::new(
                TerminateDisposition::AlreadyCompleted,
            )),
            Err(r) => Err(refused(op, Some(state), task_id.as_str(), r)),
        }
    }

    pub(crate) fn reactivate(
        &mut self,
        id: &JobId,
        task_id: &TaskId,
        preconditions: &Preconditions,
        now: DateTime<Utc>,
    ) -> Result<ReactivateTaskOutcome> {
        let op = Operation::ReactivateTask;
        let (job, task) = self.task(op, id, task_id, now)?;
        preconditions::check(
            || ctx(op),
            preconditions,
            &ETag::new(task.meta.etag.clone()),
            task.meta.last_modified,
        )?;
        let (job_state, task_state) = (job.state.state.as_str(), task.state.state.as_str());
        rules::job_accepts_task_changes(job.phase())
            .map_err(|r| refused(op, Some(job_state), id.as_str(), r))?;
        let meta = self
            .sim
            .reactivate_task(id.as_str(), task_id.as_str(), now)
            .map_err(|r| refused(op, Some(task_state), task_id.as_str(), r))?;
        Ok(ReactivateTaskOutcome {
            etag: Some(ETag::new(meta.etag)),
            request_id: None,
        })
    }

    pub(crate) fn job_status(
        &mut self,
        id: &JobId,
        read: &StatusOptions,
        now: DateTime<Utc>,
    ) -> Result<JobStatus> {
        let op = Operation::JobStatus;
        let job = self.job(op, id, now)?;
        not_modified(op, read, &job.meta.etag, job.meta.last_modified)?;
        let mut counts = TaskCounts::default();
        for task in job.tasks.values() {
            match task_state(task) {
                TaskState::Pending | TaskState::Preparing => counts.pending += 1,
                TaskState::Running => counts.running += 1,
                TaskState::Succeeded => counts.succeeded += 1,
                _ => counts.failed += 1,
            }
        }
        let state = job.state.state;
        let mut s = JobStatus::new(id.clone(), job_state(state), state.as_str());
        s.previous_provider_state = job.state.previous.map(|(p, _)| p.as_str().to_owned());
        s.etag = Some(ETag::new(job.meta.etag.clone()));
        s.last_modified = Some(job.meta.last_modified);
        // Batch reports the reason once the job has completed.
        s.terminate_reason = job
            .terminate_reason
            .clone()
            .filter(|_| state == SimJobState::Completed);
        s.start_time = Some(job.created);
        s.end_time = job.end_time;
        s.pool_id = Some(job.pool_id.clone());
        s.task_counts = Some(counts);
        s.labels = azure::labels_from_metadata(job.body.get("metadata")).0;
        s.name = job
            .body
            .get("displayName")
            .and_then(serde_json::Value::as_str)
            .map(String::from);
        s.creation_time = Some(job.created);
        Ok(select_job(s, &read.select))
    }

    pub(crate) fn task_status(
        &mut self,
        id: &JobId,
        task_id: &TaskId,
        read: &StatusOptions,
        now: DateTime<Utc>,
    ) -> Result<TaskStatus> {
        let op = Operation::TaskStatus;
        let (_, task) = self.task(op, id, task_id, now)?;
        not_modified(op, read, &task.meta.etag, task.meta.last_modified)?;
        let state = task_state(task);
        let mut s = TaskStatus::new(
            id.clone(),
            task_id.clone(),
            state,
            task.state.state.as_str(),
        );
        s.previous_provider_state = task.state.previous.map(|(p, _)| p.as_str().to_owned());
        s.etag = Some(ETag::new(task.meta.etag.clone()));
        s.last_modified = Some(task.meta.last_modified);
        let exec = &task.exec;
        s.exit_code = exec.exit_code;
        s.retry_count = exec.retry_count;
        s.result = match state {
            TaskState::Succeeded => Some(TaskResult::Success),
            TaskState::Failed => Some(TaskResult::Failure),
            _ => None,
        };
        s.failure = exec.failure.as_ref().map(|f| {
            let exit = exec.exit_code.filter(|c| *c != 0);
            failure(f, exit)
        });
        s.start_time = exec.start;
        s.end_time = exec.end;
        Ok(select_task(s, &read.select))
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
        let job = self.job(op, id, now)?;
        rules::list_prep_release_status(job.prep.is_some())
            .map_err(|r| refused(op, Some(job.state.state.as_str()), id.as_str(), r))?;
        let Some(records) = self.records.get(&key_of(id.as_str())) else {
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
        let job = self.job(Operation::RetryFailedTasks, id, now)?;
        Ok(job
            .tasks
            .values()
            .filter(|t| task_state(t) == TaskState::Failed)
            .filter_map(|t| TaskId::new(&t.id).ok())
            .collect())
    }

    // ----- seeding -----

    pub(crate) fn set_termination_delay(&mut self, delay: Duration) {
        let delay = chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
        self.sim.set_termination_time(delay);
    }

    pub(crate) fn add_job(
        &mut self,
        id: &JobId,
        pool: &str,
        prep_release: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let op = Operation::Other("seed_job");
        let mut body = json!({"id": id.as_str(), "poolInfo": {"poolId": pool}});
        if prep_release {
            body["jobPreparationTask"] = json!({"commandLine": "seeded preparation"});
            body["jobReleaseTask"] = json!({"commandLine": "seeded release"});
        }
        self.sim.advance(now);
        self.sim
            .add_job(body, now)
            .map_err(|r| refused(op, None, id.as_str(), r))?;
        if prep_release {
            self.records.insert(key_of(id.as_str()), BTreeMap::new());
        }
        Ok(())
    }

    pub(crate) fn remove_job(&mut self, id: &JobId) -> Result<()> {
        self.records.remove(&key_of(id.as_str()));
        if self.sim.remove_job(id.as_str()) {
            Ok(())
        } else {
            Err(refused(
                Operation::Other("seed_remove_job"),
                None,
                id.as_str(),
                Refusal::not_found("JobNotFound"),
            ))
        }
    }

    pub(crate) fn add_task(
        &mut self,
        id: &JobId,
        task_id: &TaskId,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let op = Operation::Other("seed_task");
        let body = json!({"id": task_id.as_str(), "commandLine": "seeded"});
        let state = self.job(op, id, now)?.state.state.as_str();
        self.sim
            .add_task(id.as_str(), body, now)
            .map(|_| ())
            .map_err(|r| refused(op, Some(state), id.as_str(), r))
    }

    /// The refusal of a seeding step, naming the job or task it is about.
    fn seeding(&mut self, op: Operation, id: &JobId, task: Option<&TaskId>, r: Refusal) -> Error {
        let state = match task {
            Some(t) => self
                .sim
                .found_task(id.as_str(), t.as_str())
                .ok()
                .map(|(_, t)| t.state.state.as_str()),
            None => self.sim.job(id.as_str()).map(|j| j.state.state.as_str()),
        };
        let named = match (task, r.code.as_str()) {
            (Some(t), "TaskNotFound" | "TaskNotActive" | "TaskNotRunning") => t.as_str(),
            _ => id.as_str(),
        };
        refused(op, state, named, r)
    }

    pub(crate) fn start_task(
        &mut self,
        id: &JobId,
        task_id: &TaskId,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let op = Operation::Other("seed_start_task");
        self.sim
            .seed_start_task(id.as_str(), task_id.as_str(), now)
            .map_err(|r| self.seeding(op, id, Some(task_id), r))
    }

    pub(crate) fn complete_task(
        &mut self,
        id: &JobId,
        task_id: &TaskId,
        exit_code: i32,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let op = Operation::Other("seed_complete_task");
        self.sim
            .seed_complete_task(id.as_str(), task_id.as_str(), exit_code, now)
            .map_err(|r| self.seeding(op, id, Some(task_id), r))
    }

    pub(crate) fn set_retry_count(
        &mut self,
        id: &JobId,
        task_id: &TaskId,
        retry_count: u32,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let op = Operation::Other("seed_retry_count");
        self.sim
            .seed_retry_count(id.as_str(), task_id.as_str(), retry_count, now)
            .map_err(|r| self.seeding(op, id, Some(task_id), r))
    }

    pub(crate) fn add_prep_release_record(
        &mut self,
        id: &JobId,
        record: PrepReleaseStatus,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let op = Operation::Other("seed_prep_release_record");
        let job = self.job(op, id, now)?;
        rules::list_prep_release_status(job.prep.is_some())
            .map_err(|r| refused(op, Some(job.state.state.as_str()), id.as_str(), r))?;
        self.records
            .entry(key_of(id.as_str()))
            .or_default()
            .insert(record.node_id.clone(), record);
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
        let target = match target {
            SeedJobState::Disabled => SeedJob::Disable,
            SeedJobState::Enabled => SeedJob::Enable,
            SeedJobState::Deleting => SeedJob::Delete,
            SeedJobState::Completed(reason) => SeedJob::Complete(reason),
        };
        self.sim
            .seed_job_state(id.as_str(), target, now)
            .map_err(|r| self.seeding(op, id, None, r))
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
