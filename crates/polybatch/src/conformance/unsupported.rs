//! Whatever the capabilities deny fails with `Unsupported` before any I/O.

use std::time::Duration;

use futures::TryStreamExt;

use super::Fixture;
use super::support::Check;
use crate::backend::BatchBackend;
use crate::error::Operation;
use crate::options::{
    ListPrepReleaseOptions, Preconditions, ReactivateTaskOptions, RetryFailedTasksOptions,
    StatusOptions, TerminateJobOptions,
};

/// Calls every operation and option the capabilities deny and asserts `Unsupported` (naming
/// the option, or none for a whole operation) with no request seen by the service.
pub async fn unsupported_fail_before_io(backend: &dyn BatchBackend, fixture: &dyn Fixture) {
    let c = Check::new("unsupported_fail_before_io", backend, fixture);
    let caps = c.caps();
    let (job, task) = (fixture.unknown_job_id(), fixture.unknown_task_id());
    let timeout = Duration::from_secs(30);

    // terminate_job
    let t = Operation::TerminateJob;
    let terminate = |o: TerminateJobOptions| backend.terminate_job(&job, o);
    if !caps.terminate_job {
        c.expect_unsupported(
            "terminate_job",
            t,
            None,
            terminate(TerminateJobOptions::default()),
        )
        .await;
    }
    if !caps.terminate_job_reason {
        c.expect_unsupported(
            "terminate_job with a reason",
            t,
            c.refused_option(t, "reason"),
            terminate(TerminateJobOptions::default().with_reason("conformance")),
        )
        .await;
    }
    if !caps.terminate_job_force {
        c.expect_unsupported(
            "terminate_job with force",
            t,
            c.refused_option(t, "force"),
            terminate(TerminateJobOptions::default().with_force(true)),
        )
        .await;
    }
    if !caps.server_timeout {
        c.expect_unsupported(
            "terminate_job with a server timeout",
            t,
            c.refused_option(t, "server_timeout"),
            terminate(TerminateJobOptions::default().with_server_timeout(timeout)),
        )
        .await;
    }
    if !caps.conditional_requests {
        let conditions = [
            ("if_match", Preconditions::default().with_if_match("x")),
            (
                "if_none_match",
                Preconditions::default().with_if_none_match("x"),
            ),
            (
                "if_modified_since",
                Preconditions::default().with_if_modified_since(chrono::Utc::now()),
            ),
            (
                "if_unmodified_since",
                Preconditions::default().with_if_unmodified_since(chrono::Utc::now()),
            ),
        ];
        for (option, p) in conditions {
            c.expect_unsupported(
                &format!("terminate_job with {option}"),
                t,
                c.refused_option(t, option),
                terminate(TerminateJobOptions::default().with_preconditions(p.clone())),
            )
            .await;
            c.expect_unsupported(
                &format!("reactivate_task with {option}"),
                Operation::ReactivateTask,
                c.refused_option(Operation::ReactivateTask, option),
                backend.reactivate_task(
                    &job,
                    &task,
                    ReactivateTaskOptions::default().with_preconditions(p),
                ),
            )
            .await;
        }
    }

    // reactivate_task
    let r = Operation::ReactivateTask;
    if !caps.reactivate_task {
        c.expect_unsupported(
            "reactivate_task",
            r,
            None,
            backend.reactivate_task(&job, &task, ReactivateTaskOptions::default()),
        )
        .await;
    }
    if !caps.server_timeout {
        c.expect_unsupported(
            "reactivate_task with a server timeout",
            r,
            c.refused_option(r, "server_timeout"),
            backend.reactivate_task(
                &job,
                &task,
                ReactivateTaskOptions::default().with_server_timeout(timeout),
            ),
        )
        .await;
    }

    // statuses
    if !caps.job_status {
        c.expect_unsupported(
            "job_status",
            Operation::JobStatus,
            None,
            backend.job_status(&job, StatusOptions::default()),
        )
        .await;
    }
    if !caps.task_status {
        c.expect_unsupported(
            "task_status",
            Operation::TaskStatus,
            None,
            backend.task_status(&job, &task, StatusOptions::default()),
        )
        .await;
    }

    // list_prep_release_status
    let l = Operation::ListPrepReleaseStatus;
    let list = |o: ListPrepReleaseOptions| {
        backend
            .list_prep_release_status(&job, o)
            .try_collect::<Vec<_>>()
    };
    if !caps.list_prep_release_status {
        c.expect_unsupported(
            "list_prep_release_status",
            l,
            None,
            list(ListPrepReleaseOptions::default()),
        )
        .await;
    }
    if !caps.list_prep_release_filter {
        c.expect_unsupported(
            "list_prep_release_status with a filter",
            l,
            c.refused_option(l, "filter"),
            list(ListPrepReleaseOptions::default().with_filter("nodeId eq 'n'")),
        )
        .await;
    }
    if !caps.list_prep_release_select {
        c.expect_unsupported(
            "list_prep_release_status with a select",
            l,
            c.refused_option(l, "select"),
            list(ListPrepReleaseOptions::default().with_select(["nodeId"])),
        )
        .await;
    }

    // retry_failed_tasks
    if !caps.retry_failed_tasks {
        c.expect_unsupported(
            "retry_failed_tasks",
            Operation::RetryFailedTasks,
            None,
            backend.retry_failed_tasks(&job, RetryFailedTasksOptions::default()),
        )
        .await;
    }
}
