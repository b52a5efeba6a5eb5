//! Statuses follow a job through termination.

use super::Fixture;
use super::support::Check;
use crate::backend::BatchBackend;
use crate::error::{Operation, ResourceKind};
use crate::options::{StatusOptions, TerminateJobOptions};
use crate::state::{JobState, TaskState};

/// A running job and its task report non-terminal states; after terminate the job reaches a
/// terminal state, and so does its running task, and terminal states stay put; every status
/// names its resource and carries the provider's state string; an unknown task is `NotFound`.
pub async fn status_after_transitions(backend: &dyn BatchBackend, fixture: &dyn Fixture) {
    let c = Check::new("status_after_transitions", backend, fixture);
    let caps = c.caps();
    if !caps.job_status || !caps.task_status {
        let job = fixture.unknown_job_id();
        let task = fixture.unknown_task_id();
        if !caps.job_status {
            c.expect_unsupported(
                "job_status without the capability",
                Operation::JobStatus,
                None,
                backend.job_status(&job, StatusOptions::default()),
            )
            .await;
        }
        if !caps.task_status {
            c.expect_unsupported(
                "task_status without the capability",
                Operation::TaskStatus,
                None,
                backend.task_status(&job, &task, StatusOptions::default()),
            )
            .await;
        }
        return;
    }

    let (job, task) = c.setup("running_job", fixture.running_job().await);
    let js = c.job_status(&job).await;
    c.ensure(!js.state.is_terminal(), || {
        format!(
            "running job {job} reports terminal state {} ({:?})",
            js.state, js.provider_state
        )
    });
    let ts = c.task_status(&job, &task).await;
    c.ensure(!ts.state.is_terminal(), || {
        format!(
            "running task {job}/{task} reports terminal state {} ({:?})",
            ts.state, ts.provider_state
        )
    });
    c.ensure(
        ts.state != TaskState::Unknown && js.state != JobState::Unknown,
        || {
            format!(
                "provider states {:?} / {:?} map to Unknown",
                js.provider_state, ts.provider_state
            )
        },
    );

    let missing = fixture.unknown_task_id();
    let e = c.err(
        "task_status(unknown task)",
        backend
            .task_status(&job, &missing, StatusOptions::default())
            .await,
    );
    c.expect_not_found(
        "task_status(unknown task)",
        &e,
        Operation::TaskStatus,
        Some(ResourceKind::Task),
    );

    if !caps.terminate_job {
        return;
    }
    c.ok(
        "terminate_job(running job)",
        backend
            .terminate_job(&job, TerminateJobOptions::default())
            .await,
    );
    let after = c.job_status(&job).await;
    c.ensure(!matches!(after.state, JobState::Unknown), || {
        format!(
            "terminated job {job}: provider state {:?} maps to Unknown",
            after.provider_state
        )
    });
    let terminal = c.wait_job_terminal(&job).await;
    let task_terminal = c.wait_task_terminal(&job, &task).await;

    // Terminal states stay put as time passes.
    fixture.advance(super::support::POLL_STEP).await;
    let again = c.job_status(&job).await;
    c.ensure(again.state == terminal.state, || {
        format!(
            "job {job} left terminal state {} for {} ({:?})",
            terminal.state, again.state, again.provider_state
        )
    });
    let task_again = c.task_status(&job, &task).await;
    c.ensure(task_again.state == task_terminal.state, || {
        format!(
            "task {job}/{task} left terminal state {} for {}",
            task_terminal.state, task_again.state
        )
    });
}
