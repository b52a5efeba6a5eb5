//! Wire models to polybatch's neutral status types: the Azure state mapping lives here.

use chrono::{DateTime, Utc};
use polybatch::{
    ETag, FailureInfo, JobId, JobState, JobStatus, PrepReleaseExecution, PrepReleaseState,
    PrepReleaseStatus, TaskId, TaskResult, TaskState, TaskStatus,
};

use crate::model::{
    CloudJob, CloudTask, PrepReleaseExecutionInfo, PrepReleaseInfo, WireFailureInfo, WireJobState,
    WirePrepReleaseState, WireTaskResult, WireTaskState,
};

/// Response metadata that overrides what the body says (headers are authoritative).
#[derive(Debug, Clone, Default)]
pub(crate) struct Meta {
    pub etag: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
}

/// Azure job state → neutral state.
pub fn job_state(state: &WireJobState) -> JobState {
    match state {
        WireJobState::Active => JobState::Active,
        WireJobState::Disabling => JobState::Disabling,
        WireJobState::Disabled => JobState::Disabled,
        WireJobState::Enabling => JobState::Enabling,
        WireJobState::Terminating => JobState::Terminating,
        WireJobState::Completed => JobState::Completed,
        WireJobState::Deleting => JobState::Deleting,
        WireJobState::Other(_) => JobState::Unknown,
    }
}

/// Azure task state (and, when completed, the execution result) → neutral state.
pub fn task_state(state: &WireTaskState, result: Option<&WireTaskResult>) -> TaskState {
    match state {
        WireTaskState::Active => TaskState::Pending,
        WireTaskState::Preparing => TaskState::Preparing,
        WireTaskState::Running => TaskState::Running,
        WireTaskState::Completed => match result {
            Some(WireTaskResult::Success) => TaskState::Succeeded,
            Some(WireTaskResult::Failure) => TaskState::Failed,
            Some(WireTaskResult::Other(_)) | None => TaskState::Completed,
        },
        WireTaskState::Other(_) => TaskState::Unknown,
    }
}

fn task_result(result: Option<&WireTaskResult>) -> Option<TaskResult> {
    match result? {
        WireTaskResult::Success => Some(TaskResult::Success),
        WireTaskResult::Failure => Some(TaskResult::Failure),
        WireTaskResult::Other(_) => None,
    }
}

fn failure(info: Option<WireFailureInfo>) -> Option<FailureInfo> {
    let info = info?;
    let mut out = FailureInfo::new(info.code, info.message);
    out.category = info.category;
    out.details = info
        .details
        .into_iter()
        .map(|d| (d.name.unwrap_or_default(), d.value.unwrap_or_default()))
        .collect();
    Some(out)
}

fn exit_code(code: Option<i64>) -> Option<i32> {
    code.and_then(|c| i32::try_from(c).ok())
}

fn count(n: Option<i64>) -> u32 {
    n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0)
}

/// A `CloudJob` as a [`JobStatus`] of `job_id`.
pub(crate) fn job_status(job_id: JobId, job: CloudJob, meta: Meta) -> JobStatus {
    let raw = job.state.unwrap_or(WireJobState::Other(String::new()));
    let mut s = JobStatus::new(job_id, job_state(&raw), raw.as_str());
    s.previous_provider_state = job.previous_state.map(|p| p.as_str().to_string());
    s.etag = meta.etag.or(job.e_tag).map(ETag::new);
    s.last_modified = meta.last_modified.or(job.last_modified);
    s.pool_id = job.pool_info.and_then(|p| p.pool_id);
    s.labels = polybatch::translate::azure::labels_from_metadata(job.metadata.as_ref()).0;
    s.name = job.display_name;
    s.creation_time = job.creation_time;
    if let Some(exec) = job.execution_info {
        s.start_time = exec.start_time;
        s.end_time = exec.end_time;
        s.terminate_reason = exec.terminate_reason;
        s.failure = failure(exec.scheduling_error);
        if s.pool_id.is_none() {
            s.pool_id = exec.pool_id;
        }
    }
    s
}

/// A `CloudTask` as a [`TaskStatus`] of `job_id`/`task_id`.
pub(crate) fn task_status(
    job_id: JobId,
    task_id: TaskId,
    task: CloudTask,
    meta: Meta,
) -> TaskStatus {
    let raw = task.state.unwrap_or(WireTaskState::Other(String::new()));
    let exec = task.execution_info.unwrap_or_default();
    let mut s = TaskStatus::new(
        job_id,
        task_id,
        task_state(&raw, exec.result.as_ref()),
        raw.as_str(),
    );
    s.previous_provider_state = task.previous_state.map(|p| p.as_str().to_string());
    s.etag = meta.etag.or(task.e_tag).map(ETag::new);
    s.last_modified = meta.last_modified.or(task.last_modified);
    s.exit_code = exit_code(exec.exit_code);
    s.retry_count = count(exec.retry_count);
    s.requeue_count = count(exec.requeue_count);
    s.result = task_result(exec.result.as_ref());
    s.failure = failure(exec.failure_info);
    s.start_time = exec.start_time;
    s.end_time = exec.end_time;
    if let Some(n) = task
        .multi_instance_settings
        .and_then(|m| m.number_of_instances)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n > 0)
    {
        s.instance_count = n;
    }
    s
}

fn prep_release_execution(
    info: PrepReleaseExecutionInfo,
    with_retries: bool,
) -> PrepReleaseExecution {
    let raw = info
        .state
        .unwrap_or(WirePrepReleaseState::Other(String::new()));
    let state = match raw {
        WirePrepReleaseState::Running => PrepReleaseState::Running,
        WirePrepReleaseState::Completed => PrepReleaseState::Completed,
        WirePrepReleaseState::Other(_) => PrepReleaseState::Unknown,
    };
    let mut e = PrepReleaseExecution::new(state, raw.as_str());
    e.start_time = info.start_time;
    e.end_time = info.end_time;
    e.exit_code = exit_code(info.exit_code);
    if with_retries {
        e.retry_count = Some(count(info.retry_count));
    }
    e.failure = failure(info.failure_info);
    e.result = task_result(info.result.as_ref());
    e
}

/// One node's prep/release record as a [`PrepReleaseStatus`].
pub(crate) fn prep_release_status(info: PrepReleaseInfo) -> PrepReleaseStatus {
    let mut s = PrepReleaseStatus::new(info.node_id.unwrap_or_default());
    s.pool_id = info.pool_id;
    s.node_url = info.node_url;
    s.preparation = info
        .job_preparation_task_execution_info
        .map(|e| prep_release_execution(e, true));
    s.release = info
        .job_release_task_execution_info
        .map(|e| prep_release_execution(e, false));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ListPage;

    const JOB_GET: &str = r#"{"odata.metadata":"https://account.region.batch.azure.com/$metadata#jobs/@Element","id":"jobId","url":"https://account.region.batch.azure.com/jobs/jobId","eTag":"0x8D4100FC49F0278",
   "lastModified":"2016-11-19T00:05:27.5391608Z","creationTime":"2016-11-19T00:05:25.311915Z",
   "state":"completed","stateTransitionTime":"2016-11-19T00:05:27.578581Z","previousState":"active",
   "previousStateTransitionTime":"2016-11-19T00:05:27.2137716Z","priority":0,"maxParallelTasks":-1,
   "allowTaskPreemption":false,"usesTaskDependencies":false,
   "constraints":{"maxWallClockTime":"P10675199DT2H48M5.4775807S","maxTaskRetryCount":0},
   "poolInfo":{"poolId":"poolId"},
   "executionInfo":{"startTime":"2016-11-19T00:05:25.3309105Z","endTime":"2016-11-19T00:05:27.578581Z",
                    "poolId":"poolId","terminateReason":"UserTerminate"},
   "onAllTasksComplete":"noaction","onTaskFailure":"noaction"}"#;

    const TASK_GET: &str = r#"{"id":"testTask","url":"https://account.region.batch.azure.com/jobs/jobId/tasks/taskId","eTag":"0x8D3D62350711C55",
   "creationTime":"2016-09-06T06:59:15.1161429Z","lastModified":"2016-09-06T06:59:15.1161429Z",
   "state":"active","stateTransitionTime":"2016-09-06T06:59:15.1161429Z","commandLine":"cmd /c hostname",
   "userIdentity":{"autoUser":{"scope":"task","elevationLevel":"nonadmin"}},
   "multiInstanceSettings":{"numberOfInstances":3,"coordinationCommandLine":"cmd /c echo coordinating"},
   "constraints":{"maxWallClockTime":"P10675199DT2H48M5.4775807S","retentionTime":"P10675199DT2H48M5.4775807S","maxTaskRetryCount":0},
   "requiredSlots":2,"executionInfo":{"retryCount":0,"requeueCount":0}}"#;

    const PREP_LIST: &str = r#"{"value":[{"poolId":"poolId","nodeId":"tvm-2167304207_1-20140905t174658z",
    "nodeUrl":"https://account.region.batch.azure.com/pools/poolId/nodes/tvm-2167304207_1-20140905t174658z",
    "jobPreparationTaskExecutionInfo":{"state":"completed","startTime":"2015-05-01T10:20:31Z","endTime":"2015-05-02T20:12:42Z",
      "taskRootDirectory":"tasks/myjob/job-1/myjobpreptask",
      "taskRootDirectoryUrl":"https://account.region.batch.azure.com/pools/poolId/nodes/tvm-2167304207_1-20140905t174658z/files/tasks/myjob/job-1/myjobpreptask",
      "exitCode":0,"retryCount":0},
    "jobReleaseTaskExecutionInfo":{"state":"completed","startTime":"2015-05-01T10:20:31Z","endTime":"2015-05-02T20:12:42Z",
      "taskRootDirectory":"tasks/myjob/job-1/myjobreleasetask",
      "taskRootDirectoryUrl":"https://account.region.batch.azure.com/pools/poolId/nodes/tvm-2167304207_1-20140905t174658z/files/tasks/myjob/job-1/myjobreleasetask",
      "exitCode":0}}],
   "odata.nextLink":"https://account.region.batch.azure.com/jobs/myjob/jobpreparationandreleasestatus?$skipToken=tvm-2167304207_1-20140905t174658z&api-version=2025-06-01.21.0"}"#;

    fn job_id() -> JobId {
        JobId::new("jobId").unwrap()
    }

    #[test]
    fn job_get_example() {
        let job: CloudJob = serde_json::from_str(JOB_GET).unwrap();
        assert_eq!(
            job.constraints
                .as_ref()
                .unwrap()
                .max_wall_clock_time
                .as_deref(),
            Some("P10675199DT2H48M5.4775807S")
        );
        let s = job_status(job_id(), job, Meta::default());
        assert_eq!(s.state, JobState::Completed);
        assert_eq!(s.provider_state, "completed");
        assert_eq!(s.previous_provider_state.as_deref(), Some("active"));
        assert_eq!(s.etag.as_ref().unwrap().as_str(), "0x8D4100FC49F0278");
        assert_eq!(s.terminate_reason.as_deref(), Some("UserTerminate"));
        assert_eq!(s.pool_id.as_deref(), Some("poolId"));
        assert_eq!(
            s.end_time.unwrap().to_rfc3339(),
            "2016-11-19T00:05:27.578581+00:00"
        );
        assert!(s.failure.is_none());
    }

    #[test]
    fn headers_override_body_metadata() {
        let job: CloudJob = serde_json::from_str(JOB_GET).unwrap();
        let s = job_status(
            job_id(),
            job,
            Meta {
                etag: Some("0xHEADER".into()),
                last_modified: None,
            },
        );
        assert_eq!(s.etag.unwrap().as_str(), "0xHEADER");
        assert!(s.last_modified.is_some());
    }

    #[test]
    fn job_scheduling_error_is_the_failure() {
        let job: CloudJob = serde_json::from_str(
            r#"{"state":"active","executionInfo":{"startTime":"2016-11-19T00:05:25Z","schedulingError":{"category":"usererror","code":"InvalidAutoPoolSettings","message":"bad pool","details":[{"name":"Reason","value":"x"}]}}}"#,
        )
        .unwrap();
        let s = job_status(job_id(), job, Meta::default());
        let f = s.failure.unwrap();
        assert_eq!(f.category.as_deref(), Some("usererror"));
        assert_eq!(f.code.as_deref(), Some("InvalidAutoPoolSettings"));
        assert_eq!(f.details, vec![("Reason".to_string(), "x".to_string())]);
    }

    #[test]
    fn task_get_example() {
        let task: CloudTask = serde_json::from_str(TASK_GET).unwrap();
        let s = task_status(
            job_id(),
            TaskId::new("testTask").unwrap(),
            task,
            Meta::default(),
        );
        assert_eq!(s.state, TaskState::Pending);
        assert_eq!(s.provider_state, "active");
        assert_eq!(s.exit_code, None);
        assert_eq!(s.retry_count, 0);
        assert_eq!(s.instance_count, 3);
        assert_eq!(s.etag.unwrap().as_str(), "0x8D3D62350711C55");
    }

    #[test]
    fn task_states() {
        use WireTaskResult as R;
        use WireTaskState as S;
        assert_eq!(task_state(&S::Active, None), TaskState::Pending);
        assert_eq!(task_state(&S::Preparing, None), TaskState::Preparing);
        assert_eq!(task_state(&S::Running, None), TaskState::Running);
        assert_eq!(
            task_state(&S::Completed, Some(&R::Success)),
            TaskState::Succeeded
        );
        assert_eq!(
            task_state(&S::Completed, Some(&R::Failure)),
            TaskState::Failed
        );
        assert_eq!(task_state(&S::Completed, None), TaskState::Completed);
        assert_eq!(task_state(&S::Other("x".into()), None), TaskState::Unknown);
        for (wire, want) in [
            ("active", JobState::Active),
            ("disabling", JobState::Disabling),
            ("disabled", JobState::Disabled),
            ("enabling", JobState::Enabling),
            ("terminating", JobState::Terminating),
            ("completed", JobState::Completed),
            ("deleting", JobState::Deleting),
            ("new-state", JobState::Unknown),
        ] {
            assert_eq!(job_state(&WireJobState::parse(wire)), want, "{wire}");
        }
    }

    #[test]
    fn failed_task_details() {
        let task: CloudTask = serde_json::from_str(
            r#"{"id":"t","state":"completed","executionInfo":{"startTime":"2024-01-01T00:00:00Z","endTime":"2024-01-01T00:01:00Z","exitCode":3,"result":"failure","retryCount":1,"requeueCount":2,"failureInfo":{"category":"usererror","code":"FailureExitCode","message":"The task exited with an exit code representing a failure","details":[{"name":"Message","value":"The task exited with an exit code representing a failure"}]}}}"#,
        )
        .unwrap();
        let s = task_status(job_id(), TaskId::new("t").unwrap(), task, Meta::default());
        assert_eq!(s.state, TaskState::Failed);
        assert_eq!(s.exit_code, Some(3));
        assert_eq!(s.retry_count, 1);
        assert_eq!(s.requeue_count, 2);
        assert_eq!(s.result, Some(TaskResult::Failure));
        assert_eq!(s.failure.unwrap().code.as_deref(), Some("FailureExitCode"));
        assert!(s.start_time.is_some() && s.end_time.is_some());
    }

    #[test]
    fn prep_release_list_example() {
        let page: ListPage<PrepReleaseInfo> = serde_json::from_str(PREP_LIST).unwrap();
        assert!(page.next_link.as_deref().unwrap().contains("$skipToken="));
        let records: Vec<PrepReleaseStatus> =
            page.value.into_iter().map(prep_release_status).collect();
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!(r.node_id, "tvm-2167304207_1-20140905t174658z");
        assert_eq!(r.pool_id.as_deref(), Some("poolId"));
        let prep = r.preparation.as_ref().unwrap();
        assert_eq!(prep.state, PrepReleaseState::Completed);
        assert_eq!(prep.exit_code, Some(0));
        assert_eq!(prep.retry_count, Some(0));
        let release = r.release.as_ref().unwrap();
        assert_eq!(release.retry_count, None);
        assert_eq!(release.provider_state, "completed");
    }
}
