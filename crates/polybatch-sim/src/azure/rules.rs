//! Which requests Azure Batch refuses in which states, and with which code: written once and
//! used by every simulation of the service (this crate's account, the in-memory backend), so
//! they cannot disagree.
//!
//! Each rule takes the states involved, already found (a missing job or task is
//! `JobNotFound` / `TaskNotFound` first, and conditional headers are checked before these).

use super::refusal::Refusal;

/// A job's state, as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobPhase {
    /// `active`.
    Active,
    /// `disabled`: accepts task changes, runs nothing new.
    Disabled,
    /// `terminating`.
    Terminating,
    /// `completed`.
    Completed,
    /// `deleting`.
    Deleting,
}

/// A task's state, as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskPhase {
    /// Not completed: `active`, `preparing` or `running`.
    Unfinished,
    /// `completed` with a successful result.
    Succeeded,
    /// `completed` without one (a failure exit code, a failed start, ended by request).
    Failed,
}

/// Whether the job takes changes to its tasks (adding, reactivating).
pub fn job_accepts_task_changes(job: JobPhase) -> Result<(), Refusal> {
    match job {
        JobPhase::Active | JobPhase::Disabled => Ok(()),
        JobPhase::Terminating => Err(Refusal::conflict("JobBeingTerminated")),
        JobPhase::Completed => Err(Refusal::conflict("JobCompleted")),
        JobPhase::Deleting => Err(Refusal::conflict("JobBeingDeleted")),
    }
}

/// Job_Terminate. A client that wants terminate to be idempotent reads `JobBeingTerminated`
/// and `JobCompleted` as "already".
pub fn terminate_job(job: JobPhase) -> Result<(), Refusal> {
    job_accepts_task_changes(job)
}

/// Job_Delete: any state but `deleting`, which a client that wants delete to be idempotent
/// reads as "already".
pub fn delete_job(job: JobPhase) -> Result<(), Refusal> {
    match job {
        JobPhase::Deleting => Err(Refusal::conflict("JobBeingDeleted")),
        _ => Ok(()),
    }
}

/// Job_Patch: the job must not be completed or being deleted.
pub fn patch_job(job: JobPhase) -> Result<(), Refusal> {
    match job {
        JobPhase::Completed => Err(Refusal::conflict("JobCompleted")),
        JobPhase::Deleting => Err(Refusal::conflict("JobBeingDeleted")),
        _ => Ok(()),
    }
}

/// Task_Add.
pub fn add_task(job: JobPhase) -> Result<(), Refusal> {
    job_accepts_task_changes(job)
}

/// Task_Reactivate: the job must take task changes, and the task must have completed without
/// succeeding.
pub fn reactivate_task(job: JobPhase, task: TaskPhase) -> Result<(), Refusal> {
    job_accepts_task_changes(job)?;
    match task {
        TaskPhase::Failed => Ok(()),
        TaskPhase::Succeeded => Err(Refusal::conflict("TaskSucceeded")),
        TaskPhase::Unfinished => Err(Refusal::conflict("TaskNotCompleted")),
    }
}

/// Task_Terminate: a completed task, or a task of a completed job, cannot be terminated.
pub fn terminate_task(job: JobPhase, task: TaskPhase) -> Result<(), Refusal> {
    if task != TaskPhase::Unfinished {
        return Err(Refusal::conflict("TaskCompleted"));
    }
    if job == JobPhase::Completed {
        return Err(Refusal::conflict("JobCompleted"));
    }
    Ok(())
}

/// Job_ListPreparationAndReleaseTaskStatus: only a job with a preparation task has any.
pub fn list_prep_release_status(has_preparation_task: bool) -> Result<(), Refusal> {
    if has_preparation_task {
        Ok(())
    } else {
        Err(Refusal::conflict("JobPreparationTaskNotSpecified"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<(), Refusal>) -> Option<String> {
        r.err().map(|r| r.code)
    }

    #[test]
    fn reactivate_checks_the_job_then_the_task() {
        use JobPhase::*;
        use TaskPhase::*;
        let table = [
            (Active, Failed, None),
            (Disabled, Failed, None),
            (Active, Succeeded, Some("TaskSucceeded")),
            (Active, Unfinished, Some("TaskNotCompleted")),
            (Terminating, Failed, Some("JobBeingTerminated")),
            (Completed, Succeeded, Some("JobCompleted")),
            (Deleting, Unfinished, Some("JobBeingDeleted")),
        ];
        for (job, task, want) in table {
            assert_eq!(
                code(reactivate_task(job, task)).as_deref(),
                want,
                "{job:?} {task:?}"
            );
        }
    }

    #[test]
    fn terminate_rules() {
        assert_eq!(code(terminate_job(JobPhase::Active)), None);
        assert_eq!(code(terminate_job(JobPhase::Disabled)), None);
        assert_eq!(
            code(terminate_job(JobPhase::Terminating)).as_deref(),
            Some("JobBeingTerminated")
        );
        assert_eq!(
            code(terminate_task(JobPhase::Active, TaskPhase::Failed)).as_deref(),
            Some("TaskCompleted")
        );
        assert_eq!(
            code(terminate_task(JobPhase::Completed, TaskPhase::Unfinished)).as_deref(),
            Some("JobCompleted")
        );
        assert_eq!(
            code(terminate_task(JobPhase::Terminating, TaskPhase::Unfinished)),
            None
        );
        assert_eq!(
            code(add_task(JobPhase::Deleting)).as_deref(),
            Some("JobBeingDeleted")
        );
        assert_eq!(code(list_prep_release_status(true)), None);
        assert_eq!(
            code(list_prep_release_status(false)).as_deref(),
            Some("JobPreparationTaskNotSpecified")
        );
    }
}
