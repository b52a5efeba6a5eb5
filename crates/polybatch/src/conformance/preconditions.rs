//! Conditional requests on terminate and reactivate.

use super::Fixture;
use super::support::Check;
use crate::backend::BatchBackend;
use crate::error::{Error, Operation};
use crate::options::{Preconditions, ReactivateTaskOptions, TerminateJobOptions};
use crate::outcome::TerminateDisposition;
use crate::state::TaskState;

/// An ETag no backend issues.
const WRONG_ETAG: &str = "polybatch-conformance-wrong-etag";

/// With `conditional_requests`: a wrong `If-Match` on terminate is `PreconditionFailed` and
/// leaves the job unchanged, the ETag from `job_status` is accepted; the same on reactivate
/// (when supported). Without it, any precondition is `Unsupported` before any I/O.
pub async fn preconditions(backend: &dyn BatchBackend, fixture: &dyn Fixture) {
    let c = Check::new("preconditions", backend, fixture);
    let caps = c.caps();
    let wrong = || Preconditions::default().with_if_match(WRONG_ETAG);
    if !caps.conditional_requests {
        let (job, task) = (fixture.unknown_job_id(), fixture.unknown_task_id());
        c.expect_unsupported(
            "terminate_job with If-Match, without conditional requests",
            Operation::TerminateJob,
            c.refused_option(Operation::TerminateJob, "if_match"),
            backend.terminate_job(
                &job,
                TerminateJobOptions::default().with_preconditions(wrong()),
            ),
        )
        .await;
        c.expect_unsupported(
            "reactivate_task with If-Unmodified-Since, without conditional requests",
            Operation::ReactivateTask,
            c.refused_option(Operation::ReactivateTask, "if_unmodified_since"),
            backend.reactivate_task(
                &job,
                &task,
                ReactivateTaskOptions::default().with_preconditions(
                    Preconditions::default().with_if_unmodified_since(chrono::Utc::now()),
                ),
            ),
        )
        .await;
        return;
    }

    if caps.terminate_job && caps.job_status {
        let (job, _) = c.setup("running_job", fixture.running_job().await);
        let before = c.job_status(&job).await;
        let Some(etag) = before.etag.clone() else {
            c.fail(format_args!(
                "conditional_requests is supported but job_status({job}) has no ETag"
            ))
        };
        let e = c.err(
            "terminate_job with a wrong If-Match",
            backend
                .terminate_job(
                    &job,
                    TerminateJobOptions::default().with_preconditions(wrong()),
                )
                .await,
        );
        c.ensure(matches!(e, Error::PreconditionFailed { .. }), || {
            format!(
                "wrong If-Match on terminate: expected PreconditionFailed, got {} ({e})",
                e.kind()
            )
        });
        c.expect_context(
            "terminate_job with a wrong If-Match",
            &e,
            Operation::TerminateJob,
        );
        let unchanged = c.job_status(&job).await;
        c.ensure(
            unchanged.state == before.state && unchanged.etag == before.etag,
            || {
                format!(
                    "a refused terminate changed job {job}: {} {:?} → {} {:?}",
                    before.state, before.etag, unchanged.state, unchanged.etag
                )
            },
        );
        let outcome = c.ok(
            "terminate_job with the current ETag as If-Match",
            backend
                .terminate_job(
                    &job,
                    TerminateJobOptions::default()
                        .with_preconditions(Preconditions::default().with_if_match(etag)),
                )
                .await,
        );
        c.ensure(
            outcome.disposition == TerminateDisposition::Accepted,
            || {
                format!(
                    "terminate with matching If-Match reported {}",
                    outcome.disposition
                )
            },
        );
    }

    if caps.reactivate_task && caps.task_status {
        let (job, task) = c.setup("job_with_failed_task", fixture.job_with_failed_task().await);
        let before = c.task_status(&job, &task).await;
        let Some(etag) = before.etag.clone() else {
            c.fail(format_args!(
                "conditional_requests is supported but task_status({job}, {task}) has no ETag"
            ))
        };
        let e = c.err(
            "reactivate_task with a wrong If-Match",
            backend
                .reactivate_task(
                    &job,
                    &task,
                    ReactivateTaskOptions::default().with_preconditions(wrong()),
                )
                .await,
        );
        c.ensure(matches!(e, Error::PreconditionFailed { .. }), || {
            format!(
                "wrong If-Match on reactivate: expected PreconditionFailed, got {} ({e})",
                e.kind()
            )
        });
        let unchanged = c.task_status(&job, &task).await;
        c.ensure(
            unchanged.state == TaskState::Failed && unchanged.etag == before.etag,
            || {
                format!(
                    "a refused reactivate changed task {job}/{task}: {} {:?} → {} {:?}",
                    before.state, before.etag, unchanged.state, unchanged.etag
                )
            },
        );
        c.ok(
            "reactivate_task with the current ETag as If-Match",
            backend
                .reactivate_task(
                    &job,
                    &task,
                    ReactivateTaskOptions::default()
                        .with_preconditions(Preconditions::default().with_if_match(etag)),
                )
                .await,
        );
    }
}
