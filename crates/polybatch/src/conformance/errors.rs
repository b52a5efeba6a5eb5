//! Errors say where they came from.

use futures::TryStreamExt;

use super::Fixture;
use super::support::Check;
use crate::backend::BatchBackend;
use crate::error::{Operation, ResourceKind};
use crate::options::{
    ListPrepReleaseOptions, ReactivateTaskOptions, RetryFailedTasksOptions, StatusOptions,
    TerminateJobOptions,
};

/// `NotFound` errors of every supported operation name the backend (`backend.name()`), the
/// operation and the missing resource, and their one-line `Display` starts with the backend.
pub async fn errors_carry_context(backend: &dyn BatchBackend, fixture: &dyn Fixture) {
    let c = Check::new("errors_carry_context", backend, fixture);
    let caps = c.caps();
    let job = fixture.unknown_job_id();
    let task = fixture.unknown_task_id();
    let job_kind = Some(ResourceKind::Job);

    if caps.terminate_job {
        let e = c.err(
            "terminate_job(unknown job)",
            backend
                .terminate_job(&job, TerminateJobOptions::default())
                .await,
        );
        c.expect_not_found(
            "terminate_job(unknown job)",
            &e,
            Operation::TerminateJob,
            job_kind,
        );
        let text = e.to_string();
        c.ensure(
            text.starts_with(backend.name()) && !text.contains('\n'),
            || format!("error Display should be one line starting with the backend name: {text:?}"),
        );
    }
    if caps.job_status {
        let e = c.err(
            "job_status(unknown job)",
            backend.job_status(&job, StatusOptions::default()).await,
        );
        c.expect_not_found(
            "job_status(unknown job)",
            &e,
            Operation::JobStatus,
            job_kind,
        );
    }
    if caps.task_status {
        let e = c.err(
            "task_status(unknown job)",
            backend
                .task_status(&job, &task, StatusOptions::default())
                .await,
        );
        // Some providers cannot tell a missing job from a missing task here.
        c.expect_not_found("task_status(unknown job)", &e, Operation::TaskStatus, None);
        let (existing, _) = c.setup("running_job", fixture.running_job().await);
        let e = c.err(
            "task_status(unknown task)",
            backend
                .task_status(&existing, &task, StatusOptions::default())
                .await,
        );
        c.expect_not_found(
            "task_status(unknown task)",
            &e,
            Operation::TaskStatus,
            Some(ResourceKind::Task),
        );
    }
    if caps.reactivate_task {
        let e = c.err(
            "reactivate_task(unknown job)",
            backend
                .reactivate_task(&job, &task, ReactivateTaskOptions::default())
                .await,
        );
        c.expect_not_found(
            "reactivate_task(unknown job)",
            &e,
            Operation::ReactivateTask,
            None,
        );
    }
    if caps.list_prep_release_status {
        let e = c.err(
            "list_prep_release_status(unknown job)",
            backend
                .list_prep_release_status(&job, ListPrepReleaseOptions::default())
                .try_collect::<Vec<_>>()
                .await,
        );
        c.expect_not_found(
            "list_prep_release_status(unknown job)",
            &e,
            Operation::ListPrepReleaseStatus,
            job_kind,
        );
    }
    if caps.retry_failed_tasks {
        let e = c.err(
            "retry_failed_tasks(unknown job)",
            backend
                .retry_failed_tasks(&job, RetryFailedTasksOptions::default())
                .await,
        );
        c.expect_not_found(
            "retry_failed_tasks(unknown job)",
            &e,
            Operation::RetryFailedTasks,
            job_kind,
        );
    }
}
