//! Terminate is idempotent.

use super::Fixture;
use super::support::Check;
use crate::backend::BatchBackend;
use crate::error::{Operation, ResourceKind};
use crate::options::TerminateJobOptions;
use crate::outcome::TerminateDisposition;

/// Terminating a running job is accepted; terminating it again is never an error; once the job
/// is terminal, terminate reports `AlreadyCompleted` (also for a job that finished by itself);
/// an unknown job is `NotFound`. Without the capability, terminate is `Unsupported` before any
/// I/O.
pub async fn terminate_is_idempotent(backend: &dyn BatchBackend, fixture: &dyn Fixture) {
    let c = Check::new("terminate_is_idempotent", backend, fixture);
    let op = Operation::TerminateJob;
    if !c.caps().terminate_job {
        let job = fixture.unknown_job_id();
        c.expect_unsupported(
            "terminate_job without the capability",
            op,
            None,
            backend.terminate_job(&job, TerminateJobOptions::default()),
        )
        .await;
        return;
    }

    let (job, _task) = c.setup("running_job", fixture.running_job().await);
    let first = c.ok(
        "terminate_job(running job)",
        backend
            .terminate_job(&job, TerminateJobOptions::default())
            .await,
    );
    c.ensure(first.disposition == TerminateDisposition::Accepted, || {
        format!(
            "terminate_job(running job {job}) reported {}, expected accepted",
            first.disposition
        )
    });
    // Any disposition is fine the second time; an error is not.
    c.ok(
        "terminate_job again right away",
        backend
            .terminate_job(&job, TerminateJobOptions::default())
            .await,
    );

    c.wait_job_terminal(&job).await;
    let after = c.ok(
        "terminate_job(terminated job)",
        backend
            .terminate_job(&job, TerminateJobOptions::default())
            .await,
    );
    c.ensure(
        after.disposition == TerminateDisposition::AlreadyCompleted,
        || {
            format!(
                "terminate_job(job {job} that reached a terminal state) reported {}, expected \
                 already_completed",
                after.disposition
            )
        },
    );

    let done = c.setup("completed_job", fixture.completed_job().await);
    let outcome = c.ok(
        "terminate_job(completed job)",
        backend
            .terminate_job(&done, TerminateJobOptions::default())
            .await,
    );
    c.ensure(
        outcome.disposition == TerminateDisposition::AlreadyCompleted,
        || {
            format!(
                "terminate_job(completed job {done}) reported {}, expected already_completed",
                outcome.disposition
            )
        },
    );

    let unknown = fixture.unknown_job_id();
    let e = c.err(
        "terminate_job(unknown job)",
        backend
            .terminate_job(&unknown, TerminateJobOptions::default())
            .await,
    );
    c.expect_not_found(
        "terminate_job(unknown job)",
        &e,
        op,
        Some(ResourceKind::Job),
    );
}

/// Terminating one running task is accepted and leaves its job running; once the task has
/// finished, terminating it again is `AlreadyCompleted`; an unknown task is `NotFound`.
/// Without the capability, `Unsupported` before any I/O.
pub async fn terminate_task_is_idempotent(backend: &dyn BatchBackend, fixture: &dyn Fixture) {
    use crate::options::TerminateTaskOptions;
    let c = Check::new("terminate_task_is_idempotent", backend, fixture);
    let op = Operation::TerminateTask;
    if !c.caps().terminate_task {
        c.expect_unsupported(
            "terminate_task without the capability",
            op,
            None,
            backend.terminate_task(
                &fixture.unknown_job_id(),
                &fixture.unknown_task_id(),
                TerminateTaskOptions::default(),
            ),
        )
        .await;
        return;
    }
    let (job, task) = c.setup("running_job", fixture.running_job().await);
    let first = c.ok(
        "terminate_task(running task)",
        backend
            .terminate_task(&job, &task, TerminateTaskOptions::default())
            .await,
    );
    c.ensure(first.disposition == TerminateDisposition::Accepted, || {
        format!(
            "terminate_task({job}, {task}) reported {}, expected accepted",
            first.disposition
        )
    });
    let status = c.wait_task_terminal(&job, &task).await;
    c.ensure(status.state != crate::state::TaskState::Succeeded, || {
        format!("task {job}/{task} succeeded after it was terminated")
    });
    let again = c.ok(
        "terminate_task(finished task)",
        backend
            .terminate_task(&job, &task, TerminateTaskOptions::default())
            .await,
    );
    c.ensure(
        again.disposition == TerminateDisposition::AlreadyCompleted,
        || {
            format!(
                "terminate_task({job}, {task}) after it finished reported {}, expected \
             already_completed",
                again.disposition
            )
        },
    );
    let e = c.err(
        "terminate_task(unknown task)",
        backend
            .terminate_task(
                &job,
                &fixture.unknown_task_id(),
                TerminateTaskOptions::default(),
            )
            .await,
    );
    c.ensure(matches!(e, crate::Error::NotFound { .. }), || {
        format!(
            "terminate_task(unknown task) failed with {} ({e}), expected NotFound",
            e.kind()
        )
    });
}
