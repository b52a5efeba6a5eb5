//! AWS Batch shapes as neutral statuses: job states, a job's status (an array job's children
//! counted as its tasks), a child's or plain job's task status, and times (epoch
//! milliseconds).

use aws_sdk_batch::types::{JobDetail, JobStatus as AwsJobStatus, JobSummary};
use chrono::{DateTime, Utc};
use polybatch::{FailureInfo, JobId, JobStatus, TaskCounts, TaskId, TaskStatus};

pub use polybatch::translate::aws::{
    TASK_TAG, aws_id_of_task, is_hidden_tag, job_state, task_id_of, task_state,
};
use polybatch::translate::aws::{array_job_state, task_result};

/// Epoch milliseconds as a time; nonsense values are `None`.
pub fn time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.filter(|m| *m > 0)
        .and_then(DateTime::from_timestamp_millis)
}

fn status_str(s: Option<&AwsJobStatus>) -> &str {
    s.map(AwsJobStatus::as_str).unwrap_or("")
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
        status.state = array_job_state(s, n("STARTING") + n("RUNNING"));
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
    let task = task_id_of(index.map(i64::from));
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
