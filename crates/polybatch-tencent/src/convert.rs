//! Tencent's wire shapes as polybatch's neutral types: job and task states, times, counts and
//! statuses (the one place the mapping lives; `docs/providers.md` tabulates it).

use chrono::{DateTime, NaiveDateTime, Utc};
use polybatch::{
    FailureInfo, JobId, JobState, JobStatus, TaskCounts, TaskId, TaskResult, TaskState, TaskStatus,
};

use crate::model::{DescribeJobResponse, DescribeTaskResponse, Metrics, TaskInstanceView};

/// A Tencent job state as a [`JobState`].
pub fn job_state(s: &str) -> JobState {
    match s {
        "SUBMITTED" => JobState::Submitted,
        "PENDING" | "RUNNABLE" => JobState::Pending,
        "STARTING" | "RUNNING" => JobState::Running,
        "SUCCEED" => JobState::Succeeded,
        "FAILED" => JobState::Failed,
        "FAILED_INTERRUPTED" => JobState::Interrupted,
        _ => JobState::Unknown,
    }
}

/// A Tencent task or task-instance state as a [`TaskState`].
pub fn task_state(s: &str) -> TaskState {
    match s {
        "SUBMITTED" | "PENDING" | "RUNNABLE" => TaskState::Pending,
        "STARTING" => TaskState::Preparing,
        "RUNNING" => TaskState::Running,
        "SUCCEED" => TaskState::Succeeded,
        "FAILED" => TaskState::Failed,
        "FAILED_INTERRUPTED" => TaskState::Interrupted,
        _ => TaskState::Unknown,
    }
}

/// Parses a Tencent time (`2017-03-31T16:07:42Z`, other RFC 3339 offsets, or the
/// `2017-03-31 16:07:42` form some APIs use, read as UTC). Anything else is `None`.
pub fn parse_time(s: Option<&str>) -> Option<DateTime<Utc>> {
    let s = s?.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|n| n.and_utc())
}

/// Task counts from `TaskMetrics`: waiting states count as pending, interrupted as failed.
pub(crate) fn task_counts(m: &Metrics) -> TaskCounts {
    let n = |v: Option<u64>| v.unwrap_or(0);
    let mut c = TaskCounts::default();
    c.pending =
        n(m.submitted_count) + n(m.pending_count) + n(m.runnable_count) + n(m.starting_count);
    c.running = n(m.running_count);
    c.succeeded = n(m.succeed_count);
    c.failed = n(m.failed_count) + n(m.failed_interrupted_count);
    c
}

fn non_empty(s: Option<&String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty()).cloned()
}

/// A `DescribeJob` response as a [`JobStatus`].
pub(crate) fn job_status_from(job: &JobId, r: &DescribeJobResponse) -> JobStatus {
    let raw = r.job_state.clone().unwrap_or_default();
    let state = job_state(&raw);
    let mut s = JobStatus::new(job.clone(), state, raw.clone());
    let reason = non_empty(r.state_reason.as_ref());
    s.terminate_reason = reason.clone();
    s.start_time = parse_time(r.create_time.as_deref());
    s.end_time = parse_time(r.end_time.as_deref());
    s.task_counts = r.task_metrics.as_ref().map(task_counts);
    if matches!(state, JobState::Failed | JobState::Interrupted) {
        s.failure = Some(FailureInfo::new(Some(raw), reason));
    }
    s
}

pub(crate) fn is_failed(state: Option<&str>) -> bool {
    matches!(state, Some("FAILED" | "FAILED_INTERRUPTED"))
}

/// A `DescribeTask` response (with every instance) as a [`TaskStatus`].
pub(crate) fn task_status_from(
    job: &JobId,
    task: &TaskId,
    r: &DescribeTaskResponse,
    instances: &[TaskInstanceView],
) -> TaskStatus {
    let raw = r.task_state.clone().unwrap_or_default();
    let state = task_state(&raw);
    let mut s = TaskStatus::new(job.clone(), task.clone(), state, raw);
    let total = r
        .task_instance_total_count
        .unwrap_or(instances.len() as u64);
    s.instance_count = u32::try_from(total).unwrap_or(u32::MAX);

    let failed = instances
        .iter()
        .find(|i| is_failed(i.task_instance_state.as_deref()));
    let all_succeeded = !instances.is_empty()
        && instances
            .iter()
            .all(|i| i.task_instance_state.as_deref() == Some("SUCCEED"));
    s.exit_code = if let Some(code) = instances
        .iter()
        .filter(|i| is_failed(i.task_instance_state.as_deref()))
        .filter_map(|i| i.exit_code)
        .find(|c| *c != 0)
    {
        i32::try_from(code).ok()
    } else if all_succeeded {
        Some(0)
    } else {
        None
    };
    if let Some(f) = failed {
        let message = non_empty(f.state_reason.as_ref())
            .or_else(|| non_empty(f.state_detailed_reason.as_ref()));
        let mut info = FailureInfo::new(f.task_instance_state.clone(), message);
        if let Some(i) = f.task_instance_index {
            info.details
                .push(("TaskInstanceIndex".to_string(), i.to_string()));
        }
        if let Some(d) = non_empty(f.state_detailed_reason.as_ref()) {
            info.details.push(("StateDetailedReason".to_string(), d));
        }
        s.failure = Some(info);
    }
    s.result = match state {
        TaskState::Succeeded => Some(TaskResult::Success),
        TaskState::Failed => Some(TaskResult::Failure),
        _ => None,
    };
    s.start_time = instances
        .iter()
        .filter_map(|i| {
            parse_time(i.running_time.as_deref()).or_else(|| parse_time(i.launch_time.as_deref()))
        })
        .min()
        .or_else(|| parse_time(r.create_time.as_deref()));
    s.end_time = parse_time(r.end_time.as_deref()).or_else(|| {
        if state.is_terminal() {
            instances
                .iter()
                .filter_map(|i| parse_time(i.end_time.as_deref()))
                .max()
        } else {
            None
        }
    });
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> JobId {
        JobId::new("job-abcd1234").unwrap()
    }

    #[test]
    fn job_state_mapping() {
        for (raw, want) in [
            ("SUBMITTED", JobState::Submitted),
            ("PENDING", JobState::Pending),
            ("RUNNABLE", JobState::Pending),
            ("STARTING", JobState::Running),
            ("RUNNING", JobState::Running),
            ("SUCCEED", JobState::Succeeded),
            ("FAILED", JobState::Failed),
            ("FAILED_INTERRUPTED", JobState::Interrupted),
            ("SOMETHING_NEW", JobState::Unknown),
            ("", JobState::Unknown),
        ] {
            assert_eq!(job_state(raw), want, "{raw}");
        }
    }

    #[test]
    fn task_state_mapping() {
        for (raw, want) in [
            ("SUBMITTED", TaskState::Pending),
            ("PENDING", TaskState::Pending),
            ("RUNNABLE", TaskState::Pending),
            ("STARTING", TaskState::Preparing),
            ("RUNNING", TaskState::Running),
            ("SUCCEED", TaskState::Succeeded),
            ("FAILED", TaskState::Failed),
            ("FAILED_INTERRUPTED", TaskState::Interrupted),
            ("WEIRD", TaskState::Unknown),
        ] {
            assert_eq!(task_state(raw), want, "{raw}");
        }
    }

    #[test]
    fn times_parse_tolerantly() {
        let t = parse_time(Some("2017-03-31T16:07:42Z")).unwrap();
        assert_eq!(t.to_rfc3339(), "2017-03-31T16:07:42+00:00");
        assert_eq!(parse_time(Some("2017-03-31 16:07:42")), Some(t));
        assert_eq!(parse_time(Some("2017-03-31T16:07:42")), Some(t));
        assert_eq!(parse_time(Some("2017-04-01T00:07:42+08:00")), Some(t));
        assert_eq!(parse_time(Some("yesterday")), None);
        assert_eq!(parse_time(Some("")), None);
        assert_eq!(parse_time(None), None);
    }

    #[test]
    fn job_status_keeps_raw_state_reason_times_and_counts() {
        let r: DescribeJobResponse = serde_json::from_str(
            r#"{"JobId":"job-abcd1234","JobState":"FAILED","StateReason":"task A failed",
                "CreateTime":"2018-02-07T09:29:09Z","EndTime":"not a time",
                "TaskMetrics":{"SubmittedCount":1,"PendingCount":1,"RunnableCount":1,"StartingCount":1,
                  "RunningCount":2,"SucceedCount":3,"FailedInterruptedCount":1,"FailedCount":1}}"#,
        )
        .unwrap();
        let s = job_status_from(&job(), &r);
        assert_eq!(s.state, JobState::Failed);
        assert_eq!(s.provider_state, "FAILED");
        assert_eq!(s.terminate_reason.as_deref(), Some("task A failed"));
        assert!(s.start_time.is_some());
        assert!(
            s.end_time.is_none(),
            "an unparsable time is None, not an error"
        );
        let c = s.task_counts.unwrap();
        assert_eq!((c.pending, c.running, c.succeeded, c.failed), (4, 2, 3, 2));
        assert_eq!(s.failure.unwrap().message.as_deref(), Some("task A failed"));
        assert!(s.etag.is_none());

        let unknown: DescribeJobResponse =
            serde_json::from_str(r#"{"JobState":"NEW_STATE","StateReason":""}"#).unwrap();
        let s = job_status_from(&job(), &unknown);
        assert_eq!(s.state, JobState::Unknown);
        assert_eq!(s.provider_state, "NEW_STATE");
        assert!(s.terminate_reason.is_none() && s.task_counts.is_none());
    }

    fn describe_task(
        state: &str,
        instances: &str,
    ) -> (DescribeTaskResponse, Vec<TaskInstanceView>) {
        let mut r: DescribeTaskResponse = serde_json::from_str(&format!(
            r#"{{"TaskState":"{state}","CreateTime":"2018-02-07T09:29:09Z","EndTime":"2018-02-07T09:30:31Z",
                "TaskInstanceSet":{instances}}}"#
        ))
        .unwrap();
        let set = r.task_instance_set.take().unwrap_or_default();
        (r, set)
    }

    #[test]
    fn task_status_aggregates_instances() {
        let task = TaskId::new("A").unwrap();
        let (r, set) = describe_task(
            "FAILED",
            r#"[{"TaskInstanceIndex":0,"TaskInstanceState":"SUCCEED","ExitCode":0,
                 "RunningTime":"2018-02-07T09:29:30Z","EndTime":"2018-02-07T09:30:00Z"},
                {"TaskInstanceIndex":1,"TaskInstanceState":"FAILED","ExitCode":3,"StateReason":"exit 3",
                 "StateDetailedReason":"non-zero exit","RunningTime":"2018-02-07T09:29:20Z"}]"#,
        );
        let s = task_status_from(&job(), &task, &r, &set);
        assert_eq!(s.state, TaskState::Failed);
        assert_eq!(s.instance_count, 2);
        assert_eq!(s.exit_code, Some(3));
        assert_eq!(s.result, Some(TaskResult::Failure));
        let f = s.failure.unwrap();
        assert_eq!(f.code.as_deref(), Some("FAILED"));
        assert_eq!(f.message.as_deref(), Some("exit 3"));
        assert_eq!(
            s.start_time.unwrap().to_rfc3339(),
            "2018-02-07T09:29:20+00:00"
        );
        assert_eq!(
            s.end_time.unwrap().to_rfc3339(),
            "2018-02-07T09:30:31+00:00"
        );

        let (r, set) = describe_task(
            "SUCCEED",
            r#"[{"TaskInstanceState":"SUCCEED","ExitCode":0},{"TaskInstanceState":"SUCCEED"}]"#,
        );
        let s = task_status_from(&job(), &task, &r, &set);
        assert_eq!(
            (s.exit_code, s.result),
            (Some(0), Some(TaskResult::Success))
        );
        assert!(s.failure.is_none());

        let (r, set) = describe_task("RUNNING", r#"[{"TaskInstanceState":"RUNNING"}]"#);
        let s = task_status_from(&job(), &task, &r, &set);
        assert_eq!(
            (s.state, s.exit_code, s.result),
            (TaskState::Running, None, None)
        );

        let (r, set) = describe_task(
            "FAILED_INTERRUPTED",
            r#"[{"TaskInstanceState":"FAILED_INTERRUPTED","ExitCode":null,"StateReason":"","StateDetailedReason":"timeout"}]"#,
        );
        let s = task_status_from(&job(), &task, &r, &set);
        assert_eq!(s.state, TaskState::Interrupted);
        assert_eq!(s.result, None, "interrupted is not terminal");
        assert_eq!(s.exit_code, None);
        assert_eq!(s.failure.unwrap().message.as_deref(), Some("timeout"));
    }
}
