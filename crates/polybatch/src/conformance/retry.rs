//! Making failed tasks run again: per-task reactivate and the portable retry.

use super::Fixture;
use super::support::Check;
use crate::backend::BatchBackend;
use crate::error::Operation;
use crate::options::{ReactivateTaskOptions, RetryFailedTasksOptions, TerminateJobOptions};
use crate::state::TaskState;

/// A failed task reactivates to a non-terminal state with retry count 0 and no exit code or
/// failure left; a succeeded task, a running task and a task of a completed job are
/// `InvalidState`. Without the capability, reactivate is `Unsupported` before any I/O.
pub async fn reactivate_rules(backend: &dyn BatchBackend, fixture: &dyn Fixture) {
    let c = Check::new("reactivate_rules", backend, fixture);
    let op = Operation::ReactivateTask;
    let reactivate =
        |job, task| backend.reactivate_task(job, task, ReactivateTaskOptions::default());
    if !c.caps().reactivate_task {
        let (job, task) = (fixture.unknown_job_id(), fixture.unknown_task_id());
        c.expect_unsupported(
            "reactivate_task without the capability",
            op,
            None,
            reactivate(&job, &task),
        )
        .await;
        return;
    }

    let (job, task) = c.setup("job_with_failed_task", fixture.job_with_failed_task().await);
    c.ok(
        "reactivate_task(failed task)",
        reactivate(&job, &task).await,
    );
    let s = c.task_status(&job, &task).await;
    c.ensure(!s.state.is_terminal(), || {
        format!(
            "reactivated task {job}/{task} is still terminal ({})",
            s.state
        )
    });
    c.ensure(s.retry_count == 0, || {
        format!(
            "reactivated task {job}/{task} has retry_count {}",
            s.retry_count
        )
    });
    c.ensure(s.exit_code.is_none() && s.failure.is_none(), || {
        format!(
            "reactivated task {job}/{task} kept its previous execution: exit code {:?}, failure {:?}",
            s.exit_code, s.failure
        )
    });

    let (job, task) = c.setup(
        "job_with_succeeded_task",
        fixture.job_with_succeeded_task().await,
    );
    let e = c.err(
        "reactivate_task(succeeded task)",
        reactivate(&job, &task).await,
    );
    c.expect_invalid_state("reactivate_task(succeeded task)", &e);
    c.expect_context("reactivate_task(succeeded task)", &e, op);

    let (job, task) = c.setup("running_job", fixture.running_job().await);
    let e = c.err(
        "reactivate_task(running task)",
        reactivate(&job, &task).await,
    );
    c.expect_invalid_state("reactivate_task(running task)", &e);

    // The running task ends with its job; the job then refuses reactivation.
    if c.caps().terminate_job {
        c.ok(
            "terminate_job",
            backend
                .terminate_job(&job, TerminateJobOptions::default())
                .await,
        );
        c.wait_job_terminal(&job).await;
        c.wait_task_terminal(&job, &task).await;
        let e = c.err(
            "reactivate_task(task of a completed job)",
            reactivate(&job, &task).await,
        );
        c.expect_invalid_state("reactivate_task(task of a completed job)", &e);
    }
}

/// `retry_failed_tasks` on a job with a failed task reports that task as retried, and the task
/// is no longer failed. Without the capability it is `Unsupported` before any I/O.
pub async fn retry_failed_tasks_reports_per_task(
    backend: &dyn BatchBackend,
    fixture: &dyn Fixture,
) {
    let c = Check::new("retry_failed_tasks_reports_per_task", backend, fixture);
    let op = Operation::RetryFailedTasks;
    if !c.caps().retry_failed_tasks {
        let job = fixture.unknown_job_id();
        c.expect_unsupported(
            "retry_failed_tasks without the capability",
            op,
            None,
            backend.retry_failed_tasks(&job, RetryFailedTasksOptions::default()),
        )
        .await;
        return;
    }
    let (job, task) = c.setup("job_with_failed_task", fixture.job_with_failed_task().await);
    let outcome = c.ok(
        "retry_failed_tasks",
        backend
            .retry_failed_tasks(&job, RetryFailedTasksOptions::default())
            .await,
    );
    c.ensure(outcome.retried.contains(&task), || {
        format!("retry_failed_tasks({job}) did not report {task} as retried: {outcome:?}")
    });
    c.ensure(
        outcome.not_retried.iter().all(|f| f.task_id != task),
        || format!("retry_failed_tasks({job}) reported {task} both retried and not: {outcome:?}"),
    );
    // A backend that cannot rerun in place names the new job; the failed one stays failed.
    let in_place = c.caps().retry_failed_tasks_in_place;
    c.ensure(in_place == outcome.resubmitted.is_empty(), || {
        format!(
            "retry_failed_tasks({job}) resubmitted {:?}, but retry_failed_tasks_in_place is {in_place}",
            outcome.resubmitted
        )
    });
    if c.caps().task_status {
        let rerun = outcome.resubmitted.first().unwrap_or(&job).clone();
        let s = c.task_status(&rerun, &task).await;
        c.ensure(s.state != TaskState::Failed, || {
            format!("task {rerun}/{task} still failed after retry_failed_tasks of {job}")
        });
    }
}
