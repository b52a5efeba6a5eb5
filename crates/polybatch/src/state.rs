//! Normalized job and task states.
//!
//! Every status keeps the provider's raw state string next to the normalized one, so nothing is
//! lost in translation. A provider string a backend does not know maps to `Unknown`, never to an
//! error. Variants are never removed; see `docs/providers.md` for the mapping of every provider
//! state.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A job's normalized state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobState {
    /// Accepted but not yet parsed or scheduled (Tencent `SUBMITTED`).
    Submitted,
    /// Waiting for resources or dependencies (Tencent `PENDING`, `RUNNABLE`).
    Pending,
    /// Active: tasks may be scheduled (Azure `active`).
    Active,
    /// Resources are starting or tasks are running (Tencent `STARTING`, `RUNNING`).
    Running,
    /// Being disabled (Azure `disabling`).
    Disabling,
    /// Disabled: no new tasks are scheduled (Azure `disabled`).
    Disabled,
    /// Being re-enabled (Azure `enabling`).
    Enabling,
    /// Terminate accepted and in progress (Azure `terminating`).
    Terminating,
    /// Finished, outcome not reported by the provider (Azure `completed`).
    Completed,
    /// Finished successfully (Tencent `SUCCEED`).
    Succeeded,
    /// Finished with a failure (Tencent `FAILED`).
    Failed,
    /// Failed, but compute instances are kept until terminated (Tencent `FAILED_INTERRUPTED`).
    /// Not terminal: resources are held.
    Interrupted,
    /// Being deleted (Azure `deleting`).
    Deleting,
    /// A provider state this version does not know.
    Unknown,
}

impl JobState {
    /// Whether the job can no longer change by itself (only a reactivation or retry moves it).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Succeeded | JobState::Failed
        )
    }

    /// The snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Submitted => "submitted",
            JobState::Pending => "pending",
            JobState::Active => "active",
            JobState::Running => "running",
            JobState::Disabling => "disabling",
            JobState::Disabled => "disabled",
            JobState::Enabling => "enabling",
            JobState::Terminating => "terminating",
            JobState::Completed => "completed",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Interrupted => "interrupted",
            JobState::Deleting => "deleting",
            JobState::Unknown => "unknown",
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A task's normalized state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaskState {
    /// Waiting to be scheduled (Azure `active`; Tencent `SUBMITTED`, `PENDING`, `RUNNABLE`).
    Pending,
    /// Being set up on a node (Azure `preparing`; Tencent `STARTING`).
    Preparing,
    /// Running.
    Running,
    /// Finished with success (exit code 0 / Tencent `SUCCEED`).
    Succeeded,
    /// Finished with a failure (non-zero exit, launch failure, terminated).
    Failed,
    /// Finished; the provider did not report the outcome.
    Completed,
    /// Failed, compute instance kept until terminated (Tencent `FAILED_INTERRUPTED`). Not
    /// terminal.
    Interrupted,
    /// A provider state this version does not know.
    Unknown,
}

impl TaskState {
    /// Whether the task can no longer change by itself.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Succeeded | TaskState::Failed | TaskState::Completed
        )
    }

    /// Whether the task ended in failure.
    pub fn is_failure(self) -> bool {
        matches!(self, TaskState::Failed | TaskState::Interrupted)
    }

    /// The snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Pending => "pending",
            TaskState::Preparing => "preparing",
            TaskState::Running => "running",
            TaskState::Succeeded => "succeeded",
            TaskState::Failed => "failed",
            TaskState::Completed => "completed",
            TaskState::Interrupted => "interrupted",
            TaskState::Unknown => "unknown",
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state of a job preparation or release task on one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PrepReleaseState {
    /// Running on the node.
    Running,
    /// Finished (see the execution's result and exit code).
    Completed,
    /// A provider state this version does not know.
    Unknown,
}

impl PrepReleaseState {
    /// The snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            PrepReleaseState::Running => "running",
            PrepReleaseState::Completed => "completed",
            PrepReleaseState::Unknown => "unknown",
        }
    }
}

impl fmt::Display for PrepReleaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of a finished task execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaskResult {
    /// The task succeeded.
    Success,
    /// The task failed.
    Failure,
}

impl fmt::Display for TaskResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskResult::Success => "success",
            TaskResult::Failure => "failure",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states() {
        assert!(JobState::Completed.is_terminal());
        assert!(JobState::Failed.is_terminal());
        assert!(!JobState::Interrupted.is_terminal());
        assert!(!JobState::Terminating.is_terminal());
        assert!(!JobState::Unknown.is_terminal());
        assert!(TaskState::Failed.is_terminal());
        assert!(!TaskState::Interrupted.is_terminal());
        assert!(TaskState::Interrupted.is_failure());
        assert!(!TaskState::Running.is_terminal());
    }

    #[test]
    fn serde_names_match_display() {
        for s in [
            JobState::Terminating,
            JobState::Succeeded,
            JobState::Unknown,
        ] {
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        for s in [TaskState::Preparing, TaskState::Interrupted] {
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
    }
}
