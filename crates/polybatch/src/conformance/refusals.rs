//! The same situations through any backend, answered as a table: what each backend says (the
//! outcome or the provider's error code), so two backends of one provider — the in-memory
//! flavour and the real client against the emulator, say — can be held to the same rules.

use super::Fixture;
use crate::backend::BatchBackend;
use crate::error::Result;
use crate::options::{
    ListPrepReleaseOptions, ReactivateTaskOptions, StatusOptions, TerminateJobOptions,
};
use crate::status::ETag;
use futures::StreamExt;

/// What a backend answered in one situation: `ok`, a terminate disposition
/// (`accepted`, `already_terminating`, `already_completed`), `unsupported`, or
/// `kind:code` of the error (`invalid_state:TaskSucceeded`, `not_found:JobNotFound`, ...).
fn answer<T>(result: Result<T>, ok: impl FnOnce(T) -> String) -> String {
    match result {
        Ok(v) => ok(v),
        Err(e) if e.kind() == "unsupported" => "unsupported".into(),
        Err(e) => format!("{}:{}", e.kind(), e.code().unwrap_or("-")),
    }
}

fn done<T>(_: T) -> String {
    "ok".into()
}

/// Runs each situation once and returns (situation, answer) rows, in a fixed order. Setup
/// failures are answered as `setup:<error>`, so they show in the comparison rather than
/// panic.
pub async fn refusal_table(
    backend: &dyn BatchBackend,
    fixture: &dyn Fixture,
) -> Vec<(&'static str, String)> {
    let reactivate =
        |job, task| backend.reactivate_task(job, task, ReactivateTaskOptions::default());
    let terminate = |job| backend.terminate_job(job, TerminateJobOptions::default());
    let terminated =
        |r: Result<crate::outcome::TerminateJobOutcome>| answer(r, |o| o.disposition.to_string());
    let mut rows = Vec::new();
    macro_rules! setup {
        ($name:literal, $call:expr) => {
            match $call.await {
                Ok(v) => v,
                Err(e) => {
                    rows.push(($name, format!("setup:{e}")));
                    return rows;
                }
            }
        };
    }

    let (unknown_job, unknown_task) = (fixture.unknown_job_id(), fixture.unknown_task_id());
    let (job, task) = setup!("setup", fixture.job_with_succeeded_task());
    rows.push((
        "reactivate a succeeded task",
        answer(reactivate(&job, &task).await, done),
    ));
    rows.push((
        "reactivate an unknown task",
        answer(reactivate(&job, &unknown_task).await, done),
    ));
    rows.push((
        "task status of an unknown task",
        answer(
            backend
                .task_status(&job, &unknown_task, StatusOptions::default())
                .await,
            done,
        ),
    ));

    rows.push((
        "reactivate in an unknown job",
        answer(reactivate(&unknown_job, &task).await, done),
    ));
    rows.push((
        "status of an unknown job",
        answer(
            backend
                .job_status(&unknown_job, StatusOptions::default())
                .await,
            done,
        ),
    ));
    rows.push((
        "terminate an unknown job",
        terminated(terminate(&unknown_job).await),
    ));

    // A conditional read of a job that has not changed since it was read.
    let etag = backend
        .job_status(&job, StatusOptions::default())
        .await
        .ok()
        .and_then(|s| s.etag);
    rows.push((
        "read an unchanged job with If-None-Match",
        // Without ETags (Tencent) any tag will do: the backend must refuse the option.
        answer(
            backend
                .job_status(
                    &job,
                    StatusOptions::default()
                        .with_if_none_match(etag.unwrap_or_else(|| ETag::new("0x0"))),
                )
                .await,
            done,
        ),
    ));

    let (running, running_task) = setup!("setup", fixture.running_job());
    rows.push((
        "reactivate a running task",
        answer(reactivate(&running, &running_task).await, done),
    ));
    let first = backend
        .list_prep_release_status(&running, ListPrepReleaseOptions::default())
        .next()
        .await;
    rows.push((
        "prep/release status of a job without a preparation task",
        match first {
            None => "ok".into(),
            Some(r) => answer(r, done),
        },
    ));

    let (failed, failed_task) = setup!("setup", fixture.job_with_failed_task());
    rows.push((
        "reactivate a failed task",
        answer(reactivate(&failed, &failed_task).await, done),
    ));

    let completed = setup!("setup", fixture.completed_job());
    rows.push((
        "terminate a completed job",
        terminated(terminate(&completed).await),
    ));

    let (ended, ended_task) = setup!("setup", fixture.job_with_failed_task());
    rows.push((
        "terminate the job with a failed task",
        terminated(terminate(&ended).await),
    ));
    // However long the termination takes, once it is over the job is completed.
    for _ in 0..super::support::MAX_POLLS {
        match backend.job_status(&ended, StatusOptions::default()).await {
            Ok(s) if s.state.is_terminal() => break,
            _ => fixture.advance(super::support::POLL_STEP).await,
        }
    }
    rows.push((
        "terminate that job again once it is terminal",
        terminated(terminate(&ended).await),
    ));
    rows.push((
        "reactivate the failed task of that terminal job",
        answer(reactivate(&ended, &ended_task).await, done),
    ));
    rows
}
