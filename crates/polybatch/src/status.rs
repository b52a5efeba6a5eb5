//! What `job_status`, `task_status` and `list_prep_release_status` return.
//!
//! The structs are `#[non_exhaustive]` with public fields: build one with `new` and set the
//! fields you know.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{JobId, TaskId};
use crate::state::{JobState, PrepReleaseState, TaskResult, TaskState};

/// An entity tag, as the provider sent it (opaque; compared byte for byte).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ETag(String);

impl ETag {
    /// Wraps a provider's ETag.
    pub fn new(value: impl Into<String>) -> Self {
        ETag(value.into())
    }

    /// The tag as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ETag({:?})", self.0)
    }
}

impl From<&str> for ETag {
    fn from(s: &str) -> Self {
        ETag::new(s)
    }
}

impl From<String> for ETag {
    fn from(s: String) -> Self {
        ETag::new(s)
    }
}

/// Why an execution failed, as the provider reported it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FailureInfo {
    /// The provider's category (Azure `usererror` / `servererror`).
    pub category: Option<String>,
    /// The provider's failure code.
    pub code: Option<String>,
    /// The provider's message or failure reason.
    pub message: Option<String>,
    /// Extra name/value details.
    pub details: Vec<(String, String)>,
}

impl FailureInfo {
    /// A failure with just a message.
    pub fn with_message(message: impl Into<String>) -> Self {
        FailureInfo {
            message: Some(message.into()),
            ..FailureInfo::default()
        }
    }

    /// A failure with a code and a message.
    pub fn new(code: Option<String>, message: Option<String>) -> Self {
        FailureInfo {
            code,
            message,
            ..FailureInfo::default()
        }
    }
}

/// Counts of a job's tasks by normalized state, when the provider reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskCounts {
    /// Pending or preparing.
    pub pending: u64,
    /// Running.
    pub running: u64,
    /// Succeeded.
    pub succeeded: u64,
    /// Failed (including interrupted).
    pub failed: u64,
}

/// A job's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JobStatus {
    /// The job.
    pub job_id: JobId,
    /// The normalized state.
    pub state: JobState,
    /// The provider's state string, verbatim.
    pub provider_state: String,
    /// The provider's previous state string, when it reports one.
    pub previous_provider_state: Option<String>,
    /// The ETag, when the provider has one.
    pub etag: Option<ETag>,
    /// When the job last changed, when known.
    pub last_modified: Option<DateTime<Utc>>,
    /// Why the job ended (Azure `terminateReason`; Tencent `StateReason`).
    pub terminate_reason: Option<String>,
    /// When the job started, when known.
    pub start_time: Option<DateTime<Utc>>,
    /// When the job ended, when known.
    pub end_time: Option<DateTime<Utc>>,
    /// The pool or compute environment, when known.
    pub pool_id: Option<String>,
    /// Task counts, when the provider reports them.
    pub task_counts: Option<TaskCounts>,
    /// A scheduling or job-level failure, when there is one.
    pub failure: Option<FailureInfo>,
    /// The job's labels (Azure metadata, Tencent tags), without polybatch's own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Its name (Azure `displayName`, Tencent `JobName`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When it was created, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<DateTime<Utc>>,
}

impl JobStatus {
    /// A status with only the state known.
    pub fn new(job_id: JobId, state: JobState, provider_state: impl Into<String>) -> Self {
        JobStatus {
            job_id,
            state,
            provider_state: provider_state.into(),
            previous_provider_state: None,
            etag: None,
            last_modified: None,
            terminate_reason: None,
            start_time: None,
            end_time: None,
            pool_id: None,
            task_counts: None,
            failure: None,
            labels: BTreeMap::new(),
            name: None,
            creation_time: None,
        }
    }
}

/// A task's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskStatus {
    /// The job.
    pub job_id: JobId,
    /// The task.
    pub task_id: TaskId,
    /// The normalized state.
    pub state: TaskState,
    /// The provider's state string, verbatim.
    pub provider_state: String,
    /// The provider's previous state string, when it reports one.
    pub previous_provider_state: Option<String>,
    /// The ETag, when the provider has one.
    pub etag: Option<ETag>,
    /// When the task last changed, when known.
    pub last_modified: Option<DateTime<Utc>>,
    /// The exit code of the last execution, when it ran to an exit.
    pub exit_code: Option<i32>,
    /// How many times the task has been retried by the service.
    pub retry_count: u32,
    /// How many times the task has been requeued by the service.
    pub requeue_count: u32,
    /// The result of the last execution, when finished.
    pub result: Option<TaskResult>,
    /// Why the last execution failed, when it did.
    pub failure: Option<FailureInfo>,
    /// When the last execution started.
    pub start_time: Option<DateTime<Utc>>,
    /// When the last execution ended.
    pub end_time: Option<DateTime<Utc>>,
    /// The number of instances (Tencent task instances; 1 elsewhere).
    pub instance_count: u32,
}

impl TaskStatus {
    /// A status with only the state known.
    pub fn new(
        job_id: JobId,
        task_id: TaskId,
        state: TaskState,
        provider_state: impl Into<String>,
    ) -> Self {
        TaskStatus {
            job_id,
            task_id,
            state,
            provider_state: provider_state.into(),
            previous_provider_state: None,
            etag: None,
            last_modified: None,
            exit_code: None,
            retry_count: 0,
            requeue_count: 0,
            result: None,
            failure: None,
            start_time: None,
            end_time: None,
            instance_count: 1,
        }
    }
}

/// One execution of a job preparation or release task on a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PrepReleaseExecution {
    /// The normalized state.
    pub state: PrepReleaseState,
    /// The provider's state string, verbatim.
    pub provider_state: String,
    /// When it started.
    pub start_time: Option<DateTime<Utc>>,
    /// When it ended.
    pub end_time: Option<DateTime<Utc>>,
    /// The exit code, when it exited.
    pub exit_code: Option<i32>,
    /// Retries so far (preparation tasks only).
    pub retry_count: Option<u32>,
    /// Why it failed, when it did.
    pub failure: Option<FailureInfo>,
    /// The result, when finished.
    pub result: Option<TaskResult>,
}

impl PrepReleaseExecution {
    /// An execution with only the state known.
    pub fn new(state: PrepReleaseState, provider_state: impl Into<String>) -> Self {
        PrepReleaseExecution {
            state,
            provider_state: provider_state.into(),
            start_time: None,
            end_time: None,
            exit_code: None,
            retry_count: None,
            failure: None,
            result: None,
        }
    }
}

/// The preparation and release task status of one job on one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PrepReleaseStatus {
    /// The pool the node belongs to.
    pub pool_id: Option<String>,
    /// The node.
    pub node_id: String,
    /// The node's URL, when the provider gives one.
    pub node_url: Option<String>,
    /// The job preparation task's execution on this node, if it has run.
    pub preparation: Option<PrepReleaseExecution>,
    /// The job release task's execution on this node, if it has run.
    pub release: Option<PrepReleaseExecution>,
}

impl PrepReleaseStatus {
    /// A record for a node with no execution known yet.
    pub fn new(node_id: impl Into<String>) -> Self {
        PrepReleaseStatus {
            pool_id: None,
            node_id: node_id.into(),
            node_url: None,
            preparation: None,
            release: None,
        }
    }
}
