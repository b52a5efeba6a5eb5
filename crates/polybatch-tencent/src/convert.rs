//! Tencent's wire shapes as polybatch's neutral types: job and task states, times, counts and
//! statuses (the one place the mapping lives; `docs/providers.md` tabulates it).

use chrono::{DateTime, NaiveDateTime, Utc};
use polybatch::{
    FailureInfo, JobId, JobState, JobStatus, TaskCounts, TaskId, TaskResult, TaskState, TaskStatus,
};

use polybatch::translate::tencent::labels_from_tags;

use crate::model::{
    DescribeJobResponse, DescribeTaskResponse, JobView, Metrics, TaskInstanceView, TaskView,
    tag_pairs,
};

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
///
/// - `NextAction: TERMINATING` on a job that is not yet terminal is [`JobState::Terminating`]
///   (`provider_state` keeps the raw `JobState`).
/// - `StateReason` is the job's failure reason (DescribeJob: "Job failure reason"): it goes
///   into `failure` for `FAILED` and `FAILED_INTERRUPTED` jobs, never into
///   `terminate_reason` (Tencent records no terminate reason).
/// - `start_time` is `None`: DescribeJob reports no launch or running time of the job's
///   instances, and `CreateTime` is when the job was submitted, not when it started
///   ([`crate::TencentBatchBackend`]'s `task_status` reports each task's start).
pub(crate) fn job_status_from(job: &JobId, r: &DescribeJobResponse) -> JobStatus {
    let raw = r.job_state.clone().unwrap_or_default();
    let reported = job_state(&raw);
    let state = if r.next_action.as_deref() == Some("TERMINATING") && !reported.is_terminal() {
        JobState::Terminating
    } else {
        reported
    };
    let mut s = JobStatus::new(job.clone(), state, raw.clone());
    s.end_time = parse_time(r.end_time.as_deref());
    s.task_counts = r.task_metrics.as_ref().map(task_counts);
    s.labels = labels_from_tags(tag_pairs(r.tags.as_ref())).0;
    s.name = r.job_name.clone();
    s.creation_time = parse_time(r.create_time.as_deref());
    if matches!(reported, JobState::Failed | JobState::Interrupted) {
        s.failure = Some(FailureInfo::new(
            Some(raw),
            non_empty(r.state_reason.as_ref()),
        ));
    }
    s
}

/// A `DescribeJobs` `JobView` as a [`JobStatus`]: less than `DescribeJob` says (no
/// `NextAction`, so a job being terminated shows its state until it finishes; no failure
/// reason).
pub(crate) fn job_status_from_view(job: &JobId, v: &JobView) -> JobStatus {
    let raw = v.job_state.clone().unwrap_or_default();
    let mut s = JobStatus::new(job.clone(), job_state(&raw), raw);
    s.end_time = parse_time(v.end_time.as_deref());
    s.task_counts = v.task_metrics.as_ref().map(task_counts);
    s.labels = labels_from_tags(tag_pairs(v.tags.as_ref())).0;
    s.name = v.job_name.clone();
    s.creation_time = parse_time(v.create_time.as_deref());
    s
}

/// A `DescribeJob` `TaskView` as a [`TaskStatus`]: its name, state and times (no instance
/// detail; `task_status` reads that). A name that is no valid task id is a service error.
pub(crate) fn task_summary(
    job: &JobId,
    t: &TaskView,
    request_id: Option<&str>,
) -> polybatch::Result<TaskStatus> {
    let name = t.task_name.clone().unwrap_or_default();
    let task = TaskId::new(name.clone()).map_err(|_| {
        let mut c =
            polybatch::ErrorContext::new(crate::error::BACKEND, polybatch::Operation::ListTasks)
                .with_message(format!(
                    "DescribeJob listed a task with an invalid name {name:?}"
                ));
        if let Some(id) = request_id {
            c = c.with_request_id(id);
        }
        polybatch::Error::service(Some(200), false, c)
    })?;
    let raw = t.task_state.clone().unwrap_or_default();
    let state = task_state(&raw);
    let mut s = TaskStatus::new(job.clone(), task, state, raw);
    s.start_time = parse_time(t.create_time.as_deref());
    s.end_time = parse_time(t.end_time.as_deref());
    s.result = match state {
        TaskState::Succeeded => Some(TaskResult::Success),
        TaskState::Failed => Some(TaskResult::Failure),
        _ => None,
    };
    Ok(s)
}

/// Whether the job's `TaskInstanceMetrics` say every instance is SUCCEED or FAILED; `false`
/// when the counts are missing.
pub(crate) fn all_instances_finished(r: &DescribeJobResponse) -> bool {
    let Some(m) = &r.task_instance_metrics else {
        return false;
    };
    let n = |v: Option<u64>| v.unwrap_or(0);
    let unfinished = n(m.submitted_count)
        + n(m.pending_count)
        + n(m.runnable_count)
        + n(m.starting_count)
        + n(m.running_count)
        + n(m.failed_interrupted_count);
    unfinished == 0
}

pub(crate) fn is_failed(state: Option<&str>) -> bool {
    matches!(state, Some("FAILED" | "FAILED_INTERRUPTED"))
}

/// The instance counts of `TaskInstanceMetrics`: (all, succeeded, failed or interrupted).
pub(crate) fn instance_counts(m: &Metrics) -> (u64, u64, u64) {
    let n = |v: Option<u64>| v.unwrap_or(0);
    let failed = n(m.failed_count) + n(m.failed_interrupted_count);
    let total = n(m.submitted_count)
        + n(m.pending_count)
        + n(m.runnable_count)
        + n(m.starting_count)
        + n(m.running_count)
        + n(m.succeed_count)
        + failed;
    (total, n(m.succeed_count), failed)
}

/// What `task_status` read of a task's instances: the first page of all of them, in index
/// order, and, when that page is not all of them, the first page of the failed ones
/// (`task-instance-state` filter, index order).
#[derive(Debug, Clone, Copy)]
pub(crate) struct InstancesRead<'a> {
    /// The first instances of the task.
    pub first: &'a [TaskInstanceView],
    /// The first failed (`FAILED`/`FAILED_INTERRUPTED`) instances, when they were asked for.
    pub failed: Option<&'a [TaskInstanceView]>,
}

/// A `DescribeTask` response as a [`TaskStatus`], from its instance counts
/// (`TaskInstanceMetrics`, `TaskInstanceTotalCount`) and the instances read.
pub(crate) fn task_status_from(
    job: &JobId,
    task: &TaskId,
    r: &DescribeTaskResponse,
    read: InstancesRead<'_>,
) -> TaskStatus {
    let raw = r.task_state.clone().unwrap_or_default();
    let state = task_state(&raw);
    let mut s = TaskStatus::new(job.clone(), task.clone(), state, raw);
    let counts = r.task_instance_metrics.as_ref().map(instance_counts);
    let total = r
        .task_instance_total_count
        .or(counts.map(|(all, _, _)| all))
        .unwrap_or(read.first.len() as u64);
    s.instance_count = u32::try_from(total).unwrap_or(u32::MAX);
    let complete = read.first.len() as u64 >= total;

    // The failed instances in index order: the filtered page when there is one (it starts at
    // index 0, so it holds the first page's failures too), else those of the first page.
    let first_failed: Vec<&TaskInstanceView> = read
        .first
        .iter()
        .filter(|i| is_failed(i.task_instance_state.as_deref()))
        .collect();
    let failed: Vec<&TaskInstanceView> = match read.failed {
        Some(page) => page
            .iter()
            .filter(|i| is_failed(i.task_instance_state.as_deref()))
            .collect(),
        None => first_failed,
    };
    let all_succeeded = match counts {
        Some((all, succeeded, _)) => all > 0 && succeeded == all,
        None => {
            complete
                && !read.first.is_empty()
                && read
                    .first
                    .iter()
                    .all(|i| i.task_instance_state.as_deref() == Some("SUCCEED"))
        }
    };
    s.exit_code = if let Some(code) = failed.iter().filter_map(|i| i.exit_code).find(|c| *c != 0) {
        i32::try_from(code).ok()
    } else if all_succeeded {
        Some(0)
    } else {
        None
    };
    if let Some(f) = failed.first() {
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
    // Instances are launched in index order, so the first page holds the earliest launches.
    let seen = read.first.iter().chain(read.failed.into_iter().flatten());
    s.start_time = seen
        .filter_map(|i| {
            parse_time(i.running_time.as_deref()).or_else(|| parse_time(i.launch_time.as_deref()))
        })
        .min()
        .or_else(|| parse_time(r.create_time.as_deref()));
    s.end_time = parse_time(r.end_time.as_deref()).or_else(|| {
        if state.is_terminal() && complete {
            read.first
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
        assert_eq!(s.terminate_reason, None, "StateReason is a failure reason");
        assert_eq!(s.start_time, None, "CreateTime is not when the job started");
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

    #[test]
    fn next_action_terminating_is_terminating_until_terminal() {
        let r: DescribeJobResponse = serde_json::from_str(
            r#"{"JobState":"RUNNING","NextAction":"TERMINATING","StateReason":""}"#,
        )
        .unwrap();
        let s = job_status_from(&job(), &r);
        assert_eq!(s.state, JobState::Terminating);
        assert_eq!(s.provider_state, "RUNNING");
        assert!(!s.state.is_terminal() && s.failure.is_none());

        let r: DescribeJobResponse = serde_json::from_str(
            r#"{"JobState":"FAILED_INTERRUPTED","NextAction":"TERMINATING","StateReason":"exit 3"}"#,
        )
        .unwrap();
        let s = job_status_from(&job(), &r);
        assert_eq!(s.state, JobState::Terminating);
        assert_eq!(s.failure.unwrap().message.as_deref(), Some("exit 3"));

        // Terminal wins over a stale NextAction.
        let r: DescribeJobResponse =
            serde_json::from_str(r#"{"JobState":"FAILED","NextAction":"TERMINATING"}"#).unwrap();
        assert_eq!(job_status_from(&job(), &r).state, JobState::Failed);
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

    fn all(set: &[TaskInstanceView]) -> InstancesRead<'_> {
        InstancesRead {
            first: set,
            failed: None,
        }
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
        let s = task_status_from(&job(), &task, &r, all(&set));
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
        let s = task_status_from(&job(), &task, &r, all(&set));
        assert_eq!(
            (s.exit_code, s.result),
            (Some(0), Some(TaskResult::Success))
        );
        assert!(s.failure.is_none());

        let (r, set) = describe_task("RUNNING", r#"[{"TaskInstanceState":"RUNNING"}]"#);
        let s = task_status_from(&job(), &task, &r, all(&set));
        assert_eq!(
            (s.state, s.exit_code, s.result),
            (TaskState::Running, None, None)
        );

        let (r, set) = describe_task(
            "FAILED_INTERRUPTED",
            r#"[{"TaskInstanceState":"FAILED_INTERRUPTED","ExitCode":null,"StateReason":"","StateDetailedReason":"timeout"}]"#,
        );
        let s = task_status_from(&job(), &task, &r, all(&set));
        assert_eq!(s.state, TaskState::Interrupted);
        assert_eq!(s.result, None, "interrupted is not terminal");
        assert_eq!(s.exit_code, None);
        assert_eq!(s.failure.unwrap().message.as_deref(), Some("timeout"));
    }

    #[test]
    fn task_status_of_a_partial_read_uses_the_counts_and_the_failed_page() {
        let task = TaskId::new("A").unwrap();
        let r: DescribeTaskResponse = serde_json::from_str(
            r#"{"TaskState":"RUNNING","CreateTime":"2018-02-07T09:29:09Z","TaskInstanceTotalCount":2500,
                "TaskInstanceMetrics":{"RunningCount":2499,"FailedCount":1}}"#,
        )
        .unwrap();
        let first: Vec<TaskInstanceView> = serde_json::from_str(
            r#"[{"TaskInstanceIndex":0,"TaskInstanceState":"RUNNING","RunningTime":"2018-02-07T09:29:40Z"},
                {"TaskInstanceIndex":1,"TaskInstanceState":"RUNNING","RunningTime":"2018-02-07T09:29:30Z"}]"#,
        )
        .unwrap();
        let failed: Vec<TaskInstanceView> = serde_json::from_str(
            r#"[{"TaskInstanceIndex":2400,"TaskInstanceState":"FAILED","ExitCode":9,"StateReason":"exit 9"}]"#,
        )
        .unwrap();
        let s = task_status_from(
            &job(),
            &task,
            &r,
            InstancesRead {
                first: &first,
                failed: Some(&failed),
            },
        );
        assert_eq!(s.instance_count, 2500);
        assert_eq!(s.exit_code, Some(9));
        let f = s.failure.unwrap();
        assert!(
            f.details
                .contains(&("TaskInstanceIndex".into(), "2400".into()))
        );
        assert_eq!(
            s.start_time.unwrap().to_rfc3339(),
            "2018-02-07T09:29:30+00:00"
        );
        assert_eq!(s.end_time, None);

        // Every instance succeeded, by the counts: exit code 0 without reading them all.
        let r: DescribeTaskResponse = serde_json::from_str(
            r#"{"TaskState":"SUCCEED","TaskInstanceTotalCount":2500,
                "TaskInstanceMetrics":{"SucceedCount":2500}}"#,
        )
        .unwrap();
        let s = task_status_from(&job(), &task, &r, all(&first));
        assert_eq!(
            (s.exit_code, s.result),
            (Some(0), Some(TaskResult::Success))
        );
    }
}
