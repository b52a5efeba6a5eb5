//! Azure Batch wire JSON (camelCase).
//!
//! Responses are read tolerantly: unknown fields are ignored, every field may be missing, a
//! date that does not parse reads as `None` instead of failing the whole body, and enums keep
//! unknown values (`Other`). ISO 8601 durations (`P10675199DT2H48M5.4775807S`, .NET's
//! "unlimited") are kept as strings. Request bodies skip unset fields.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

/// Reads an optional date-time; a malformed value reads as `None`.
fn lenient_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let raw = Option::<serde_json::Value>::deserialize(d)?;
    Ok(raw
        .as_ref()
        .and_then(serde_json::Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc)))
}

/// Reads an optional integer; anything else (a string, a float, out of range) reads as `None`.
fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let raw = Option::<serde_json::Value>::deserialize(d)?;
    Ok(raw.as_ref().and_then(serde_json::Value::as_i64))
}

/// Reads an optional string; a non-string value reads as `None`.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let raw = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match raw {
        Some(serde_json::Value::String(s)) => Some(s),
        _ => None,
    })
}

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
            /// A value this version does not know, verbatim.
            Other(String),
        }

        impl $name {
            /// The wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)+
                    $name::Other(s) => s,
                }
            }

            /// Parses a wire string (ASCII case-insensitive); unknown values become `Other`.
            pub fn parse(s: &str) -> Self {
                $(if s.eq_ignore_ascii_case($wire) { return $name::$variant; })+
                $name::Other(s.to_string())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = serde_json::Value::deserialize(d)?;
                Ok(match v {
                    serde_json::Value::String(s) => $name::parse(&s),
                    other => $name::Other(other.to_string()),
                })
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// `JobState`.
    WireJobState {
        /// `active`.
        Active = "active",
        /// `disabling`.
        Disabling = "disabling",
        /// `disabled`.
        Disabled = "disabled",
        /// `enabling`.
        Enabling = "enabling",
        /// `terminating`.
        Terminating = "terminating",
        /// `completed`.
        Completed = "completed",
        /// `deleting`.
        Deleting = "deleting",
    }
);

wire_enum!(
    /// `TaskState`.
    WireTaskState {
        /// `active`.
        Active = "active",
        /// `preparing`.
        Preparing = "preparing",
        /// `running`.
        Running = "running",
        /// `completed`.
        Completed = "completed",
    }
);

wire_enum!(
    /// `TaskExecutionResult`.
    WireTaskResult {
        /// `success`.
        Success = "success",
        /// `failure`.
        Failure = "failure",
    }
);

wire_enum!(
    /// `JobPreparationTaskState` / `JobReleaseTaskState`.
    WirePrepReleaseState {
        /// `running`.
        Running = "running",
        /// `completed`.
        Completed = "completed",
    }
);

wire_enum!(
    /// `OnAllTasksComplete`.
    OnAllTasksComplete {
        /// `noaction`: the job stays active.
        NoAction = "noaction",
        /// `terminatejob`: the job terminates when all its tasks are complete.
        TerminateJob = "terminatejob",
    }
);

/// `{name, value}` pair of `failureInfo.details` and `environmentSettings`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NameValuePair {
    /// The name.
    #[serde(deserialize_with = "lenient_string")]
    pub name: Option<String>,
    /// The value.
    #[serde(deserialize_with = "lenient_string")]
    pub value: Option<String>,
}

/// `TaskFailureInformation` / `JobSchedulingError`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WireFailureInfo {
    /// `usererror` or `servererror`.
    #[serde(deserialize_with = "lenient_string")]
    pub category: Option<String>,
    /// The failure code.
    #[serde(deserialize_with = "lenient_string")]
    pub code: Option<String>,
    /// The message.
    #[serde(deserialize_with = "lenient_string")]
    pub message: Option<String>,
    /// Extra details.
    pub details: Vec<NameValuePair>,
}

/// `PoolInformation`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PoolInformation {
    /// The pool.
    #[serde(deserialize_with = "lenient_string")]
    pub pool_id: Option<String>,
}

/// `JobConstraints` / `TaskConstraints` (durations kept as ISO 8601 strings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WireConstraints {
    /// `maxWallClockTime`, e.g. `P10675199DT2H48M5.4775807S`.
    #[serde(deserialize_with = "lenient_string")]
    pub max_wall_clock_time: Option<String>,
    /// `retentionTime` (tasks).
    #[serde(deserialize_with = "lenient_string")]
    pub retention_time: Option<String>,
    /// `maxTaskRetryCount`.
    #[serde(deserialize_with = "lenient_i64")]
    pub max_task_retry_count: Option<i64>,
}

/// `JobExecutionInformation`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct JobExecutionInformation {
    /// When the job started.
    #[serde(deserialize_with = "lenient_time")]
    pub start_time: Option<DateTime<Utc>>,
    /// When the job completed.
    #[serde(deserialize_with = "lenient_time")]
    pub end_time: Option<DateTime<Utc>>,
    /// The pool the job ran on.
    #[serde(deserialize_with = "lenient_string")]
    pub pool_id: Option<String>,
    /// Why the job could not be scheduled, if it could not.
    pub scheduling_error: Option<WireFailureInfo>,
    /// Why the job ended (`UserTerminate`, `AllTasksComplete`, or the user's text).
    #[serde(deserialize_with = "lenient_string")]
    pub terminate_reason: Option<String>,
}

/// `CloudJob` (swagger) / `BatchJob` (TypeSpec): the fields this client reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CloudJob {
    /// The job id.
    #[serde(deserialize_with = "lenient_string")]
    pub id: Option<String>,
    /// The display name.
    #[serde(deserialize_with = "lenient_string")]
    pub display_name: Option<String>,
    /// The job's URL.
    #[serde(deserialize_with = "lenient_string")]
    pub url: Option<String>,
    /// The ETag.
    #[serde(deserialize_with = "lenient_string")]
    pub e_tag: Option<String>,
    /// When the job last changed.
    #[serde(deserialize_with = "lenient_time")]
    pub last_modified: Option<DateTime<Utc>>,
    /// When the job was created.
    #[serde(deserialize_with = "lenient_time")]
    pub creation_time: Option<DateTime<Utc>>,
    /// The state.
    pub state: Option<WireJobState>,
    /// When the job entered its state.
    #[serde(deserialize_with = "lenient_time")]
    pub state_transition_time: Option<DateTime<Utc>>,
    /// The previous state.
    pub previous_state: Option<WireJobState>,
    /// The constraints.
    pub constraints: Option<WireConstraints>,
    /// The pool.
    pub pool_info: Option<PoolInformation>,
    /// What happens when all tasks complete.
    pub on_all_tasks_complete: Option<OnAllTasksComplete>,
    /// Execution information.
    pub execution_info: Option<JobExecutionInformation>,
    /// Name/value pairs (polybatch keeps labels and the idempotency key here); kept as JSON
    /// so an odd entry is skipped, not fatal.
    pub metadata: Option<serde_json::Value>,
}

/// One result of `Task_AddCollection` (`TaskAddResult`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TaskAddResult {
    /// `success`, `clienterror` or `servererror`.
    #[serde(deserialize_with = "lenient_string")]
    pub status: Option<String>,
    /// The task.
    #[serde(deserialize_with = "lenient_string")]
    pub task_id: Option<String>,
    /// Why it was not added.
    pub error: Option<TaskAddError>,
}

/// The error of a [`TaskAddResult`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TaskAddError {
    /// The code (`TaskExists`, ...).
    #[serde(deserialize_with = "lenient_string")]
    pub code: Option<String>,
    /// The message, `{"lang", "value"}` on the wire.
    pub message: Option<serde_json::Value>,
}

/// The answer of `Task_AddCollection`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TaskAddCollectionResult {
    /// One result per task sent.
    pub value: Vec<TaskAddResult>,
}

/// `TaskExecutionInformation`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TaskExecutionInformation {
    /// When the last execution started.
    #[serde(deserialize_with = "lenient_time")]
    pub start_time: Option<DateTime<Utc>>,
    /// When the last execution ended.
    #[serde(deserialize_with = "lenient_time")]
    pub end_time: Option<DateTime<Utc>>,
    /// The exit code (absent when the task failed before running).
    #[serde(deserialize_with = "lenient_i64")]
    pub exit_code: Option<i64>,
    /// Why it failed.
    pub failure_info: Option<WireFailureInfo>,
    /// Service retries so far.
    #[serde(deserialize_with = "lenient_i64")]
    pub retry_count: Option<i64>,
    /// Service requeues so far.
    #[serde(deserialize_with = "lenient_i64")]
    pub requeue_count: Option<i64>,
    /// `success` or `failure`.
    pub result: Option<WireTaskResult>,
}

/// `MultiInstanceSettings`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MultiInstanceSettings {
    /// The number of nodes the task needs.
    #[serde(deserialize_with = "lenient_i64")]
    pub number_of_instances: Option<i64>,
}

/// `CloudTask` (swagger) / `BatchTask` (TypeSpec): the fields this client reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CloudTask {
    /// The task id.
    #[serde(deserialize_with = "lenient_string")]
    pub id: Option<String>,
    /// The task's URL.
    #[serde(deserialize_with = "lenient_string")]
    pub url: Option<String>,
    /// The ETag.
    #[serde(deserialize_with = "lenient_string")]
    pub e_tag: Option<String>,
    /// When the task last changed.
    #[serde(deserialize_with = "lenient_time")]
    pub last_modified: Option<DateTime<Utc>>,
    /// When the task was created.
    #[serde(deserialize_with = "lenient_time")]
    pub creation_time: Option<DateTime<Utc>>,
    /// The state.
    pub state: Option<WireTaskState>,
    /// When the task entered its state.
    #[serde(deserialize_with = "lenient_time")]
    pub state_transition_time: Option<DateTime<Utc>>,
    /// The previous state.
    pub previous_state: Option<WireTaskState>,
    /// The command line.
    #[serde(deserialize_with = "lenient_string")]
    pub command_line: Option<String>,
    /// The constraints.
    pub constraints: Option<WireConstraints>,
    /// Multi-instance settings, for multi-instance tasks.
    pub multi_instance_settings: Option<MultiInstanceSettings>,
    /// Execution information.
    pub execution_info: Option<TaskExecutionInformation>,
}

/// `JobPreparationTaskExecutionInformation` / `JobReleaseTaskExecutionInformation`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PrepReleaseExecutionInfo {
    /// `running` or `completed`.
    pub state: Option<WirePrepReleaseState>,
    /// When it started.
    #[serde(deserialize_with = "lenient_time")]
    pub start_time: Option<DateTime<Utc>>,
    /// When it ended.
    #[serde(deserialize_with = "lenient_time")]
    pub end_time: Option<DateTime<Utc>>,
    /// The exit code.
    #[serde(deserialize_with = "lenient_i64")]
    pub exit_code: Option<i64>,
    /// Retries so far (preparation tasks only).
    #[serde(deserialize_with = "lenient_i64")]
    pub retry_count: Option<i64>,
    /// Why it failed.
    pub failure_info: Option<WireFailureInfo>,
    /// `success` or `failure`.
    pub result: Option<WireTaskResult>,
}

/// `JobPreparationAndReleaseTaskExecutionInformation`: one node's record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PrepReleaseInfo {
    /// The pool.
    #[serde(deserialize_with = "lenient_string")]
    pub pool_id: Option<String>,
    /// The node.
    #[serde(deserialize_with = "lenient_string")]
    pub node_id: Option<String>,
    /// The node's URL.
    #[serde(deserialize_with = "lenient_string")]
    pub node_url: Option<String>,
    /// The preparation task on this node.
    pub job_preparation_task_execution_info: Option<PrepReleaseExecutionInfo>,
    /// The release task on this node (present only once it has run).
    pub job_release_task_execution_info: Option<PrepReleaseExecutionInfo>,
}

/// An OData list page: `{value: [...], "odata.nextLink": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct ListPage<T> {
    /// The items.
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    /// The next page's absolute URL, on every page but the last.
    #[serde(
        default,
        rename = "odata.nextLink",
        deserialize_with = "lenient_string"
    )]
    pub next_link: Option<String>,
}

// ----- request bodies -----

/// `JobTerminateParameter`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobTerminateParameter {
    /// The reason recorded on the job.
    pub terminate_reason: String,
}

/// `JobPreparationTask` / `JobReleaseTask` (the fields this client sets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireJobTask {
    /// The command line.
    pub command_line: String,
    /// Environment variables.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub environment_settings: Vec<NameValuePair>,
}

/// `JobConstraints` in a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConstraintsParameter {
    /// `maxTaskRetryCount`.
    pub max_task_retry_count: i32,
}

/// `PoolInformation` in a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolInfoParameter {
    /// The pool.
    pub pool_id: String,
}

/// `JobAddParameter` (the fields this client sets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobAddParameter {
    /// The job id.
    pub id: String,
    /// The pool.
    pub pool_info: PoolInfoParameter,
    /// The job preparation task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_preparation_task: Option<WireJobTask>,
    /// The job release task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_release_task: Option<WireJobTask>,
    /// What happens when all tasks complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_all_tasks_complete: Option<OnAllTasksComplete>,
    /// Constraints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraints: Option<ConstraintsParameter>,
}

/// `TaskAddParameter` (the fields this client sets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskAddParameter {
    /// The task id.
    pub id: String,
    /// The command line.
    pub command_line: String,
    /// Environment variables.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub environment_settings: Vec<NameValuePair>,
    /// Constraints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraints: Option<ConstraintsParameter>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_keep_unknown_values() {
        let s: WireJobState = serde_json::from_str("\"terminating\"").unwrap();
        assert_eq!(s, WireJobState::Terminating);
        let s: WireJobState = serde_json::from_str("\"hibernating\"").unwrap();
        assert_eq!(s, WireJobState::Other("hibernating".into()));
        assert_eq!(s.to_string(), "hibernating");
        let s: WireTaskState = serde_json::from_str("7").unwrap();
        assert_eq!(s, WireTaskState::Other("7".into()));
        assert_eq!(
            serde_json::to_string(&OnAllTasksComplete::TerminateJob).unwrap(),
            "\"terminatejob\""
        );
    }

    #[test]
    fn tolerates_bad_and_missing_fields() {
        let t: CloudTask = serde_json::from_str(
            r#"{"id":"t","lastModified":"yesterday","executionInfo":{"exitCode":"x","retryCount":2},"unknown":{"a":1}}"#,
        )
        .unwrap();
        assert_eq!(t.last_modified, None);
        let info = t.execution_info.unwrap();
        assert_eq!(info.exit_code, None);
        assert_eq!(info.retry_count, Some(2));
        let empty: CloudJob = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, CloudJob::default());
        let page: ListPage<PrepReleaseInfo> = serde_json::from_str("{}").unwrap();
        assert!(page.value.is_empty() && page.next_link.is_none());
    }

    #[test]
    fn request_bodies_skip_unset_fields() {
        let body = JobAddParameter {
            id: "j".into(),
            pool_info: PoolInfoParameter {
                pool_id: "p".into(),
            },
            job_preparation_task: Some(WireJobTask {
                command_line: "echo".into(),
                environment_settings: vec![NameValuePair {
                    name: Some("A".into()),
                    value: Some("1".into()),
                }],
            }),
            job_release_task: None,
            on_all_tasks_complete: None,
            constraints: None,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"id":"j","poolInfo":{"poolId":"p"},"jobPreparationTask":{"commandLine":"echo","environmentSettings":[{"name":"A","value":"1"}]}}"#
        );
    }
}
