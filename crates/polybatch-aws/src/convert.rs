//! AWS Batch shapes as neutral statuses: job states, a job's status (an array job's children
//! counted as its tasks), a child's or plain job's task status, and times (epoch
//! milliseconds).

use aws_sdk_batch::types::{JobDetail, JobStatus as AwsJobStatus, JobSummary};
use chrono::{DateTime, Utc};
use polybatch::{
    FailureInfo, JobId, JobState, JobStatus, TaskCounts, TaskId, TaskResult, TaskState, TaskStatus,
};

/// The tag holding the spec's task name (an AWS job has no task of its own to name).
pub const TASK_TAG: &str = "polybatch-task";

/// Tags polybatch keeps for itself; status labels and exports never show them.
pub fn is_hidden_tag(key: &str) -> bool {
    key == TASK_TAG || polybatch::RESERVED_LABELS.contains(&key)
}

/// An AWS Batch job status as a [`JobState`]. RUNNABLE and STARTING are waiting for or
/// getting compute: pending, as Tencent's RUNNABLE is.
pub fn job_state(s: &str) -> JobState {
    match s {
        "SUBMITTED" => JobState::Submitted,
        "PENDING" | "RUNNABLE" => JobState::Pending,
        "STARTING" | "RUNNING" => JobState::Running,
        "SUCCEEDED" => JobState::Succeeded,
        "FAILED" => JobState::Failed,
        _ => JobState::Unknown,
    }
}

/// An AWS Batch job status as the [`TaskState`] of the task it stands for.
pub fn task_state(s: &str) -> TaskState {
    match s {
        "SUBMITTED" | "PENDING" | "RUNNABLE" => TaskState::Pending,
        "STARTING" => TaskState::Preparing,
        "RUNNING" => TaskState::Running,
        "SUCCEEDED" => TaskState::Succeeded,
        "FAILED" => TaskState::Failed,
        _ => TaskState::Unknown,
    }
}

/// A finished task's result from its status.
fn task_result(s: &str) -> Option<TaskResult> {
    match s {
        "SUCCEEDED" => Some(TaskResult::Success),
        "FAILED" => Some(TaskResult::Failure),
        _ => None,
    }
}

/// Epoch milliseconds as a time; nonsense values are `None`.
pub fn time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.filter(|m| *m > 0)
        .and_then(DateTime::from_timestamp_millis)
}

fn status_str(s: Option<&AwsJobStatus>) -> &str {
    s.map(AwsJobStatus::as_str).unwrap_or("")
}

/// The task id of array child `index`, or of the one task of a plain job.
pub fn task_id_of(index: Option<i32>) -> TaskId {
    let name = index.map(|i| i.to_string()).unwrap_or_else(|| "0".into());
    // Digits are always a valid task id.
    TaskId::new(name.as_str()).unwrap_or_else(|_| TaskId::new("0").expect("\"0\" is a task id"))
}

/// The job id AWS uses for task `task` of `job`: `job:index` for an array job's child,
/// `job` itself for a plain job's one task ("0").
pub fn aws_id_of_task(job: &JobId, task: &TaskId, is_array: bool) -> Option<String> {
    match (is_array, task.as_str().parse::<u32>()) {
        (true, Ok(i)) => Some(format!("{job}:{i}")),
        (false, Ok(0)) => Some(job.to_string()),
        _ => None,
    }
}

/// A job's status from `DescribeJobs`.
pub fn job_status(job: &JobId, d: &JobDetail) -> JobStatus {
    let s = status_str(d.status());
    let mut status = JobStatus::new(job.clone(), job_state(s), s);
    status.name = d.job_name().map(str::to_string);
    status.creation_time = time(d.created_at());
    status.start_time = time(d.started_at());
    status.end_time = time(d.stopped_at());
    status.labels = d
        .tags()
        .map(|t| {
            t.iter()
                .filter(|(k, _)| !is_hidden_tag(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    status.pool_id = d.job_queue().map(str::to_string);
    if let Some(summary) = d.array_properties().and_then(|a| a.status_summary()) {
        let n = |k: &str| summary.get(k).copied().unwrap_or(0).max(0) as u64;
        let mut counts = TaskCounts::default();
        counts.pending = n("SUBMITTED") + n("PENDING") + n("RUNNABLE") + n("STARTING");
        counts.running = n("RUNNING");
        counts.succeeded = n("SUCCEEDED");
        counts.failed = n("FAILED");
        // An array job stays PENDING while its children run: it is running once one does.
        if status.state == JobState::Pending && n("STARTING") + n("RUNNING") > 0 {
            status.state = JobState::Running;
        }
        status.task_counts = Some(counts);
    }
    if s == "FAILED" {
        status.failure = Some(FailureInfo::new(
            None,
            d.status_reason()
                .or_else(|| d.container().and_then(|c| c.reason()))
                .map(str::to_string),
        ));
    }
    if d.is_cancelled() == Some(true) || d.is_terminated() == Some(true) {
        status.terminate_reason = d.status_reason().map(str::to_string);
    }
    status
}

/// The task status of a plain job (its one task) or of an array child, from its own
/// `DescribeJobs` detail.
pub fn task_status(job: &JobId, task: &TaskId, d: &JobDetail) -> TaskStatus {
    let s = status_str(d.status());
    let mut status = TaskStatus::new(job.clone(), task.clone(), task_state(s), s);
    let container = d.container();
    status.exit_code = container.and_then(|c| c.exit_code());
    status.start_time = time(d.started_at());
    status.end_time = time(d.stopped_at());
    status.retry_count = u32::try_from(d.attempts().len().saturating_sub(1)).unwrap_or(u32::MAX);
    status.instance_count = 1;
    status.result = task_result(s);
    if s == "FAILED" {
        status.failure = Some(FailureInfo::new(
            None,
            container
                .and_then(|c| c.reason())
                .or_else(|| d.status_reason())
                .map(str::to_string),
        ));
    }
    status
}

/// A task status from a `ListJobs` summary of an array child.
pub fn child_status(job: &JobId, s: &JobSummary) -> TaskStatus {
    let state = status_str(s.status());
    // The summary's index, else the child's id (`parent:index`); moto sends only the id.
    let index = s.array_properties().and_then(|a| a.index()).or_else(|| {
        s.job_id()
            .and_then(|id| id.rsplit_once(':'))
            .and_then(|(_, i)| i.parse().ok())
    });
    let task = task_id_of(index);
    let mut status = TaskStatus::new(job.clone(), task, task_state(state), state);
    status.exit_code = s.container().and_then(|c| c.exit_code());
    status.start_time = time(s.started_at());
    status.end_time = time(s.stopped_at());
    status.instance_count = 1;
    status.result = task_result(state);
    status
}

/// A job status from a `ListJobs` summary (no tags: `ListJobs` does not return them).
pub fn summary_status(job: &JobId, s: &JobSummary) -> JobStatus {
    let state = status_str(s.status());
    let mut status = JobStatus::new(job.clone(), job_state(state), state);
    status.name = s.job_name().map(str::to_string);
    status.creation_time = time(s.created_at());
    status.start_time = time(s.started_at());
    status.end_time = time(s.stopped_at());
    if state == "FAILED" {
        status.failure = Some(FailureInfo::new(
            None,
            s.status_reason().map(str::to_string),
        ));
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_status_has_a_neutral_state() {
        for (s, job, task) in [
            ("SUBMITTED", JobState::Submitted, TaskState::Pending),
            ("PENDING", JobState::Pending, TaskState::Pending),
            ("RUNNABLE", JobState::Pending, TaskState::Pending),
            ("STARTING", JobState::Running, TaskState::Preparing),
            ("RUNNING", JobState::Running, TaskState::Running),
            ("SUCCEEDED", JobState::Succeeded, TaskState::Succeeded),
            ("FAILED", JobState::Failed, TaskState::Failed),
        ] {
            assert_eq!(job_state(s), job, "{s}");
            assert_eq!(task_state(s), task, "{s}");
        }
        assert_eq!(job_state("SUCCEED"), JobState::Unknown);
    }

    #[test]
    fn tasks_are_array_indexes() {
        let job = JobId::new("a1b2").unwrap();
        let t = TaskId::new("7").unwrap();
        assert_eq!(aws_id_of_task(&job, &t, true).as_deref(), Some("a1b2:7"));
        assert_eq!(aws_id_of_task(&job, &t, false), None);
        let zero = TaskId::new("0").unwrap();
        assert_eq!(aws_id_of_task(&job, &zero, false).as_deref(), Some("a1b2"));
        assert_eq!(aws_id_of_task(&job, &TaskId::new("x").unwrap(), true), None);
        assert_eq!(task_id_of(Some(12)).as_str(), "12");
        assert_eq!(task_id_of(None).as_str(), "0");
        assert_eq!(time(Some(0)), None);
        assert_eq!(
            time(Some(1_700_000_000_000)).map(|t| t.timestamp()),
            Some(1_700_000_000)
        );
    }
}
