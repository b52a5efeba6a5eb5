//! The real Azure client (`AzureBatchBuilder` pointed at the emulator) against the emulator's
//! Azure front end, over loopback HTTP: the core conformance suite with Shared Key and Entra ID
//! on every api-version, authentication failures, conditional requests, the `force` gate,
//! terminate and reactivate rules with the service's codes, per-node preparation/release
//! listings, throttling retries and the portable retry of failed tasks.
//!
//! Simulated job time is moved by hand; real time passes only for HTTP itself (and the one
//! `Retry-After` second the throttling test waits out).

mod support;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::{FutureExt, TryStreamExt};
use polybatch::clock::ManualClock;
use polybatch::conformance::{Fixture, run_all};
use polybatch::retry::RetryPolicy;
use polybatch::{
    BatchBackend, Error, JobId, JobState, ListPrepReleaseOptions, Operation, Preconditions,
    PrepReleaseState, PrepReleaseStatus, ReactivateTaskOptions, RetryFailedTasksOptions,
    StatusOptions, TaskId, TaskState, TerminateDisposition, TerminateJobOptions,
};
use polybatch_azure::{ApiVersion, AzureBatchBackend};
use polybatch_emulator::{FaultKind, FaultRule, Provider};

use support::azure::{Auth, AzureEnv, AzureFixture, PREP_RELEASE_NODES, Run};

/// The stats key of the emulator's token endpoint.
const TOKEN_REQUESTS: &str = "azure:OAuth2_Token";

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(non-text panic)".to_string())
}

/// Runs the whole conformance suite through the real client with `auth` on `version`.
async fn conformance(auth: Auth, version: ApiVersion) {
    let fixture = AzureFixture::start(auth, version).await;
    let backend = fixture.backend().clone();
    assert_eq!(backend.api_version(), version);
    assert!(
        fixture.max_prep_release_nodes() == PREP_RELEASE_NODES && PREP_RELEASE_NODES >= 25,
        "the paging check must span more than 10 pages of 2"
    );
    let run = AssertUnwindSafe(run_all(&backend, &fixture)).catch_unwind();
    if let Err(payload) = run.await {
        panic!(
            "conformance with {auth} on api-version {version} failed: {}",
            panic_text(&*payload)
        );
    }
    // The suite really went through the credential under test.
    let tokens = fixture
        .env()
        .stats()
        .requests
        .get(TOKEN_REQUESTS)
        .copied()
        .unwrap_or(0);
    match auth {
        Auth::SharedKey => assert_eq!(tokens, 0, "Shared Key run fetched tokens"),
        Auth::EntraId => assert!(tokens >= 1, "Entra ID run never fetched a token"),
    }
    let stats = fixture.env().stats();
    assert_eq!(
        stats.errors_with_code(Provider::Azure, "AuthenticationFailed"),
        0,
        "{auth} on {version}: some requests failed authentication: {stats:?}"
    );
}

macro_rules! conformance_tests {
    ($($name:ident: $auth:expr, $version:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            conformance($auth, $version).await;
        }
    )*};
}

conformance_tests! {
    conformance_shared_key_2022_01_01_15_0: Auth::SharedKey, ApiVersion::V2022_01_01_15_0;
    conformance_shared_key_2023_11_01_18_0: Auth::SharedKey, ApiVersion::V2023_11_01_18_0;
    conformance_shared_key_2024_07_01_20_0: Auth::SharedKey, ApiVersion::V2024_07_01_20_0;
    conformance_shared_key_2025_06_01: Auth::SharedKey, ApiVersion::V2025_06_01;
    conformance_entra_id_2022_01_01_15_0: Auth::EntraId, ApiVersion::V2022_01_01_15_0;
    conformance_entra_id_2023_11_01_18_0: Auth::EntraId, ApiVersion::V2023_11_01_18_0;
    conformance_entra_id_2024_07_01_20_0: Auth::EntraId, ApiVersion::V2024_07_01_20_0;
    conformance_entra_id_2025_06_01: Auth::EntraId, ApiVersion::V2025_06_01;
}

fn job(id: &str) -> JobId {
    JobId::new(id).unwrap()
}

/// Asserts `e` is `InvalidState` from `operation` carrying the service's `code`.
fn expect_invalid_state(what: &str, e: &Error, operation: Operation, code: &str) {
    assert!(
        matches!(e, Error::InvalidState { .. }),
        "{what}: expected InvalidState, got {} ({e})",
        e.kind()
    );
    assert_eq!(e.code(), Some(code), "{what}: {e}");
    assert_eq!(e.operation(), operation, "{what}: {e}");
    assert_eq!(e.backend(), "azure", "{what}: {e}");
}

fn shown(e: &Error) -> String {
    format!("{e} | {e:?}")
}

#[tokio::test]
async fn wrong_key_is_unauthenticated_with_the_servers_detail() {
    let env = AzureEnv::start().await;
    // Well-formed base64, not the account's key.
    let wrong = "d3JvbmctYWNjb3VudC1rZXktZm9yLXRoZS1lbXVsYXRvci10ZXN0";
    let backend = env
        .builder(Auth::SharedKey, ApiVersion::default())
        .with_shared_key(wrong)
        .build()
        .unwrap();
    let before = env.requests();
    let e = backend
        .job_status(&job("e2e-job-1"), StatusOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Unauthenticated { .. }),
        "expected Unauthenticated, got {} ({e})",
        e.kind()
    );
    assert_eq!(e.code(), Some("AuthenticationFailed"));
    assert_eq!(e.operation(), Operation::JobStatus);
    assert!(e.request_id().is_some(), "no request id: {e}");
    // The server's AuthenticationErrorDetail: the string it signed.
    assert!(
        e.message().contains("Server used following string to sign") && e.message().contains("GET"),
        "message lacks the server's detail: {}",
        e.message()
    );
    let text = shown(&e);
    assert!(!text.contains(wrong), "the key leaked: {text}");
    assert!(
        !text.contains(env.config().key.expose()),
        "the account key leaked: {text}"
    );
    assert!(!e.to_string().contains('\n'), "{e}");
    // Not retried: one request, refused once.
    assert_eq!(env.requests() - before, 1);
    assert_eq!(
        env.stats()
            .errors_with_code(Provider::Azure, "AuthenticationFailed"),
        1
    );
}

#[tokio::test]
async fn skewed_request_date_is_unauthenticated() {
    let env = AzureEnv::start().await;
    for skew in [-20i64, 20] {
        let clock = ManualClock::new(Utc::now() + chrono::Duration::minutes(skew));
        let backend = env
            .builder(Auth::SharedKey, ApiVersion::default())
            .with_clock(Arc::new(clock))
            .build()
            .unwrap();
        let e = backend
            .job_status(&job("e2e-job-1"), StatusOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(e, Error::Unauthenticated { .. }),
            "clock {skew:+} min: expected Unauthenticated, got {} ({e})",
            e.kind()
        );
        assert_eq!(e.code(), Some("AuthenticationFailed"), "{e}");
        assert!(
            e.message().contains("outside the allowed window"),
            "clock {skew:+} min: the server's detail is missing: {}",
            e.message()
        );
        assert!(!shown(&e).contains(env.config().key.expose()), "{e:?}");
    }
    // The same client with a correct clock gets through (to a missing job).
    let e = env
        .backend(Auth::SharedKey, ApiVersion::default())
        .job_status(&job("e2e-job-1"), StatusOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
}

#[tokio::test]
async fn wrong_client_secret_is_unauthenticated_and_never_shown() {
    let env = AzureEnv::start().await;
    let c = env.config();
    let secret = "wrong-client-secret-0123456789";
    let backend = env
        .builder(Auth::EntraId, ApiVersion::default())
        .with_client_credentials(&c.tenant_id, &c.client_id, secret)
        .build()
        .unwrap();
    let e = backend
        .job_status(&job("e2e-job-1"), StatusOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Unauthenticated { .. }),
        "expected Unauthenticated, got {} ({e})",
        e.kind()
    );
    assert_eq!(e.code(), Some("invalid_client"), "{e}");
    assert!(
        e.message().contains("Invalid client secret"),
        "{}",
        e.message()
    );
    let text = shown(&e);
    assert!(!text.contains(secret), "the client secret leaked: {text}");
    let debug = format!("{backend:?} {backend}");
    assert!(!debug.contains(secret), "{debug}");
    let stats = env.stats();
    assert_eq!(stats.errors_with_code(Provider::Azure, "invalid_client"), 1);
    assert_eq!(
        stats.requests.get("azure:Job_Get"),
        None,
        "a Batch request was sent without a token"
    );
}

#[tokio::test]
async fn stale_if_match_on_terminate_is_precondition_failed() {
    let f = AzureFixture::start(Auth::SharedKey, ApiVersion::default()).await;
    let b = f.backend();
    let (job, _) = f.running_job().await.unwrap();
    let stale = b
        .job_status(&job, StatusOptions::default())
        .await
        .unwrap()
        .etag
        .expect("job ETag");
    // Terminating changes the job; the ETag read before is now stale.
    b.terminate_job(&job, TerminateJobOptions::default())
        .await
        .unwrap();
    f.advance_until_job(&job, "completed", |s| s.state.is_terminal())
        .await
        .unwrap();
    let current = b.job_status(&job, StatusOptions::default()).await.unwrap();
    assert_ne!(current.etag.as_ref(), Some(&stale));
    let e = b
        .terminate_job(
            &job,
            TerminateJobOptions::default()
                .with_preconditions(Preconditions::default().with_if_match(stale.clone())),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::PreconditionFailed { .. }),
        "expected PreconditionFailed, got {} ({e})",
        e.kind()
    );
    assert_eq!(e.code(), Some("ConditionNotMet"), "{e}");
    assert_eq!(e.operation(), Operation::TerminateJob);
    let after = b.job_status(&job, StatusOptions::default()).await.unwrap();
    assert_eq!(
        after.etag, current.etag,
        "a refused terminate changed the job"
    );

    // The same on reactivate: the failed task's ETag from before its state changed.
    let (job, task) = f.job_with_failed_task().await.unwrap();
    let first = b
        .task_status(&job, &task, StatusOptions::default())
        .await
        .unwrap();
    b.reactivate_task(&job, &task, ReactivateTaskOptions::default())
        .await
        .unwrap();
    let e = b
        .reactivate_task(
            &job,
            &task,
            ReactivateTaskOptions::default().with_preconditions(
                Preconditions::default().with_if_match(first.etag.clone().expect("task ETag")),
            ),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::PreconditionFailed { .. }), "{e}");
    assert_eq!(e.code(), Some("ConditionNotMet"), "{e}");
}

#[tokio::test]
async fn force_is_refused_before_any_request_on_old_versions() {
    let env = AzureEnv::start().await;
    for auth in [Auth::SharedKey, Auth::EntraId] {
        for version in ApiVersion::ALL {
            let what = format!("{auth} on {version}");
            // A fresh client: with Entra ID not even a token may be fetched before refusing.
            let backend = env.backend(auth, version);
            let before = env.requests();
            let r = backend
                .terminate_job(
                    &job("e2e-job-1"),
                    TerminateJobOptions::default().with_force(true),
                )
                .await;
            if version.supports_force() {
                // Reaches the service (and finds no such job).
                let e = r.unwrap_err();
                assert!(matches!(e, Error::NotFound { .. }), "{what}: {e}");
                assert!(env.requests() > before, "{what}: nothing was sent");
            } else {
                let e = r.unwrap_err();
                assert!(
                    matches!(
                        e,
                        Error::Unsupported {
                            option: Some("force"),
                            ..
                        }
                    ),
                    "{what}: expected Unsupported force, got {} ({e})",
                    e.kind()
                );
                assert_eq!(e.operation(), Operation::TerminateJob, "{what}");
                assert_eq!(
                    env.requests(),
                    before,
                    "{what}: requests reached the emulator"
                );
                assert!(!backend.capabilities().terminate_job_force, "{what}");
            }
        }
    }
}

#[tokio::test]
async fn force_terminates_on_new_versions() {
    for version in [ApiVersion::V2024_07_01_20_0, ApiVersion::V2025_06_01] {
        let f = AzureFixture::start(Auth::SharedKey, version).await;
        let b = f.backend();
        let (job, _) = f.running_job().await.unwrap();
        let outcome = b
            .terminate_job(&job, TerminateJobOptions::default().with_force(true))
            .await
            .unwrap_or_else(|e| panic!("{version}: forced terminate: {e}"));
        assert_eq!(
            outcome.disposition,
            TerminateDisposition::Accepted,
            "{version}"
        );
        assert!(outcome.etag.is_some(), "{version}: no ETag");
        let s = f
            .advance_until_job(&job, "completed", |s| s.state.is_terminal())
            .await
            .unwrap();
        assert_eq!(s.state, JobState::Completed, "{version}");
        assert_eq!(s.terminate_reason.as_deref(), Some("UserTerminate"));
    }
}

#[tokio::test]
async fn a_forced_terminate_during_an_unforced_one_is_reported_not_forced() {
    let f = AzureFixture::start(Auth::SharedKey, ApiVersion::V2024_07_01_20_0).await;
    let b = f.backend();
    let (job, _) = job_with_slow_release(&f).await;
    let first = b
        .terminate_job(&job, TerminateJobOptions::default())
        .await
        .unwrap();
    assert_eq!(first.disposition, TerminateDisposition::Accepted);
    assert_eq!(first.forced, None);
    // The release task keeps the job terminating; a forced terminate now changes nothing.
    let forced = b
        .terminate_job(&job, TerminateJobOptions::default().with_force(true))
        .await
        .unwrap();
    assert_eq!(forced.disposition, TerminateDisposition::AlreadyTerminating);
    assert_eq!(forced.forced, Some(false));
    let s = b.job_status(&job, StatusOptions::default()).await.unwrap();
    assert_eq!(
        s.state,
        JobState::Terminating,
        "still at the first terminate's pace"
    );
}

#[tokio::test]
async fn polling_can_select_properties_and_read_conditionally() {
    let f = AzureFixture::start(Auth::SharedKey, ApiVersion::default()).await;
    let b = f.backend();
    let (job, task) = f.running_job().await.unwrap();
    let cheap = StatusOptions::default().with_select(["id", "state", "eTag"]);
    let s = b.job_status(&job, cheap.clone()).await.unwrap();
    assert_eq!(s.state, JobState::Active);
    assert_eq!(s.pool_id, None, "poolInfo was not selected");
    let etag = s.etag.clone().expect("an ETag");
    let t = b
        .task_status(
            &job,
            &task,
            StatusOptions::default().with_select(["id", "state"]),
        )
        .await
        .unwrap();
    assert_eq!(t.state, TaskState::Running);

    // Unchanged: "not modified", no body.
    let e = b
        .job_status(&job, cheap.clone().with_if_none_match(etag.clone()))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::PreconditionFailed { .. }), "{e:?}");
    assert!(e.message().contains("not modified"), "{e}");

    // Changed: the new status.
    b.terminate_job(&job, TerminateJobOptions::default())
        .await
        .unwrap();
    let s = b
        .job_status(&job, cheap.with_if_none_match(etag.clone()))
        .await
        .unwrap();
    assert_ne!(s.etag, Some(etag));
    assert!(
        s.state == JobState::Terminating || s.state.is_terminal(),
        "{s:?}"
    );
}

/// A job whose preparation task ran on one node, whose release task runs for 30 simulated
/// seconds, and whose one task runs until terminated.
async fn job_with_slow_release(f: &AzureFixture) -> (JobId, TaskId) {
    let job = f
        .job_with_prep_release_runs(1, Run::ok("1"), Run::ok("30"), Run::forever())
        .await
        .unwrap();
    let task = TaskId::new("task-0").unwrap();
    f.advance_until_task(&job, &task, "running", |s| s.state == TaskState::Running)
        .await
        .unwrap();
    (job, task)
}

async fn prep_release(b: &AzureBatchBackend, job: &JobId) -> Vec<PrepReleaseStatus> {
    b.list_prep_release_status(job, ListPrepReleaseOptions::default())
        .try_collect()
        .await
        .unwrap()
}

#[tokio::test]
async fn terminate_reports_accepted_then_terminating_then_completed() {
    let f = AzureFixture::start(Auth::SharedKey, ApiVersion::default()).await;
    let b = f.backend();
    let (job, task) = job_with_slow_release(&f).await;
    let terminate = || b.terminate_job(&job, TerminateJobOptions::default());

    let first = terminate().await.unwrap();
    assert_eq!(first.disposition, TerminateDisposition::Accepted);
    assert!(first.request_id.is_some());
    let s = b.job_status(&job, StatusOptions::default()).await.unwrap();
    assert_eq!(s.state, JobState::Terminating, "{s:?}");
    let records = prep_release(b, &job).await;
    assert_eq!(records.len(), 1);
    let release = records[0].release.as_ref().expect("release task started");
    assert_eq!(release.state, PrepReleaseState::Running, "{records:?}");

    // While the release task runs, terminate again is not an error.
    f.advance(Duration::from_secs(10)).await;
    let again = terminate().await.unwrap();
    assert_eq!(again.disposition, TerminateDisposition::AlreadyTerminating);

    let done = f
        .advance_until_job(&job, "completed", |s| s.state.is_terminal())
        .await
        .unwrap();
    assert_eq!(done.state, JobState::Completed);
    let records = prep_release(b, &job).await;
    let release = records[0].release.as_ref().expect("release task record");
    assert_eq!(release.state, PrepReleaseState::Completed, "{records:?}");
    assert_eq!(release.exit_code, Some(0));
    let t = b
        .task_status(&job, &task, StatusOptions::default())
        .await
        .unwrap();
    assert!(
        t.state.is_terminal(),
        "the running task outlived its job: {t:?}"
    );

    let last = terminate().await.unwrap();
    assert_eq!(last.disposition, TerminateDisposition::AlreadyCompleted);
}

#[tokio::test]
async fn reactivate_refusals_carry_the_service_codes() {
    let f = AzureFixture::start(Auth::SharedKey, ApiVersion::default()).await;
    let b = f.backend();
    let op = Operation::ReactivateTask;
    let reactivate = |job, task| b.reactivate_task(job, task, ReactivateTaskOptions::default());

    let (job, task) = f.running_job().await.unwrap();
    let e = reactivate(&job, &task).await.unwrap_err();
    expect_invalid_state("running task", &e, op, "TaskNotCompleted");

    let (job, task) = f.job_with_succeeded_task().await.unwrap();
    let e = reactivate(&job, &task).await.unwrap_err();
    expect_invalid_state("succeeded task", &e, op, "TaskSucceeded");

    let (job, task) = job_with_slow_release(&f).await;
    b.terminate_job(&job, TerminateJobOptions::default())
        .await
        .unwrap();
    let ended = b
        .task_status(&job, &task, StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(ended.state, TaskState::Failed, "{ended:?}");
    let e = reactivate(&job, &task).await.unwrap_err();
    expect_invalid_state("task of a terminating job", &e, op, "JobBeingTerminated");

    f.advance_until_job(&job, "completed", |s| s.state.is_terminal())
        .await
        .unwrap();
    let e = reactivate(&job, &task).await.unwrap_err();
    expect_invalid_state("task of a completed job", &e, op, "JobCompleted");
    assert!(e.request_id().is_some(), "{e}");

    let missing = f.unknown_task_id();
    let e = reactivate(&job, &missing).await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
}

#[tokio::test]
async fn reactivated_failed_task_runs_again_with_its_retry_count_reset() {
    let f = AzureFixture::start(Auth::SharedKey, ApiVersion::default()).await;
    let b = f.backend();
    let job = f.add_job(|r| r.with_max_task_retry_count(2)).await.unwrap();
    let task = f.add_task(&job, "flaky", Run::exits("2", 3)).await.unwrap();
    let failed = f
        .advance_until_task(&job, &task, "completed", |s| s.state.is_terminal())
        .await
        .unwrap();
    assert_eq!(failed.state, TaskState::Failed, "{failed:?}");
    assert_eq!(failed.exit_code, Some(3));
    assert_eq!(failed.retry_count, 2, "the service retries it twice");

    let outcome = b
        .reactivate_task(&job, &task, ReactivateTaskOptions::default())
        .await
        .unwrap();
    assert!(outcome.etag.is_some());
    let fresh = b
        .task_status(&job, &task, StatusOptions::default())
        .await
        .unwrap();
    assert!(!fresh.state.is_terminal(), "{fresh:?}");
    assert_eq!(fresh.retry_count, 0);
    assert_eq!(fresh.exit_code, None);
    assert_eq!(fresh.failure, None);

    // Same environment, same result: it fails again, retried twice again.
    let again = f
        .advance_until_task(&job, &task, "completed again", |s| s.state.is_terminal())
        .await
        .unwrap();
    assert_eq!(again.state, TaskState::Failed, "{again:?}");
    assert_eq!(again.exit_code, Some(3));
    assert_eq!(again.retry_count, 2);
    assert!(
        again.end_time > failed.end_time,
        "did not run again: {:?} then {:?}",
        failed.end_time,
        again.end_time
    );
    let failure = again.failure.expect("failure info");
    assert_eq!(failure.code.as_deref(), Some("FailureExitCode"));
}

#[tokio::test]
async fn prep_release_listing_filters_and_selects() {
    let f = AzureFixture::start(Auth::EntraId, ApiVersion::V2025_06_01).await;
    let b = f.backend();
    let job = f.job_with_prep_release(3).await.unwrap();
    let all = prep_release(b, &job).await;
    assert_eq!(all.len(), 3);
    assert!(
        all.iter()
            .all(|r| r.pool_id.is_some() && r.node_url.is_some())
    );

    let node = all[1].node_id.clone();
    let filtered: Vec<PrepReleaseStatus> = b
        .list_prep_release_status(
            &job,
            ListPrepReleaseOptions::default().with_filter(format!("nodeId eq '{node}'")),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(filtered.len(), 1, "{filtered:?}");
    assert_eq!(filtered[0].node_id, node);
    assert_eq!(
        filtered[0].preparation.as_ref().map(|p| p.state),
        Some(PrepReleaseState::Completed)
    );

    // $select keeps only what was asked for; combined with a filter and one record per page.
    let before = f.env().requests();
    let selected: Vec<PrepReleaseStatus> = b
        .list_prep_release_status(
            &job,
            ListPrepReleaseOptions::default()
                .with_filter("jobPreparationTaskExecutionInfo/state eq 'completed'")
                .with_select(["nodeId", "jobPreparationTaskExecutionInfo"])
                .with_page_size(1),
        )
        .try_collect()
        .await
        .unwrap();
    assert!(f.env().requests() - before >= 3, "not paged one by one");
    assert_eq!(selected.len(), 3, "{selected:?}");
    for r in &selected {
        assert!(
            all.iter().any(|a| a.node_id == r.node_id),
            "unknown node {}",
            r.node_id
        );
        assert_eq!(r.pool_id, None, "poolId was not selected: {r:?}");
        assert_eq!(r.node_url, None, "nodeUrl was not selected: {r:?}");
        assert!(r.preparation.is_some(), "{r:?}");
    }

    let none: Vec<PrepReleaseStatus> = b
        .list_prep_release_status(
            &job,
            ListPrepReleaseOptions::default().with_filter("nodeId eq 'no-such-node'"),
        )
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty(), "{none:?}");
}

#[tokio::test]
async fn job_without_prep_or_release_task_is_invalid_state() {
    let f = AzureFixture::start(Auth::SharedKey, ApiVersion::V2022_01_01_15_0).await;
    let job = f.add_job(|r| r).await.unwrap();
    let e = f
        .backend()
        .list_prep_release_status(&job, ListPrepReleaseOptions::default())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    expect_invalid_state(
        "job without preparation task",
        &e,
        Operation::ListPrepReleaseStatus,
        "JobPreparationTaskNotSpecified",
    );
}

fn server_busy(operation: &str, retry_after_secs: u64) -> FaultRule {
    FaultRule {
        probability: None,
        provider: Provider::Azure,
        operation: operation.into(),
        times: 1,
        every: 1,
        fault: FaultKind::Error {
            status: 503,
            code: "ServerBusy".into(),
            retry_after_secs: Some(retry_after_secs),
        },
    }
}

fn requests_of(env: &AzureEnv, operation: &str) -> u64 {
    env.stats()
        .requests
        .get(&format!("azure:{operation}"))
        .copied()
        .unwrap_or(0)
}

#[tokio::test]
async fn server_busy_with_retry_after_is_retried_and_succeeds() {
    let f = AzureFixture::start(Auth::SharedKey, ApiVersion::default()).await;
    let (b, env) = (f.backend(), f.env());
    let (job, task) = f.job_with_failed_task().await.unwrap();

    env.faults().add(server_busy("Job_Get", 1));
    let gets = requests_of(env, "Job_Get");
    let s = b.job_status(&job, StatusOptions::default()).await.unwrap();
    assert_eq!(s.state, JobState::Active);
    assert_eq!(
        requests_of(env, "Job_Get") - gets,
        2,
        "one refusal, one retry"
    );
    assert_eq!(
        env.stats().errors_with_code(Provider::Azure, "ServerBusy"),
        1
    );

    // Throttled reactivations are replayed too: the service did not act on them.
    env.faults().add(server_busy("Task_Reactivate", 0));
    b.reactivate_task(&job, &task, ReactivateTaskOptions::default())
        .await
        .unwrap();
    assert_eq!(requests_of(env, "Task_Reactivate"), 2);

    // Without retries the caller sees the typed error and the server's delay.
    let once = env
        .builder(Auth::SharedKey, ApiVersion::default())
        .with_retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    env.faults().add(server_busy("Job_Get", 7));
    let e = once
        .job_status(&job, StatusOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Throttled { .. }), "{e}");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)), "{e}");
    assert_eq!(e.code(), Some("ServerBusy"));
    assert!(e.is_retryable());
}

#[tokio::test]
async fn retry_failed_tasks_reports_each_task() {
    let f = AzureFixture::start(Auth::EntraId, ApiVersion::V2023_11_01_18_0).await;
    let (b, env) = (f.backend(), f.env());
    let job = f.add_job(|r| r).await.unwrap();
    for (id, run) in [
        ("task-a", Run::exits("1", 2)),
        ("task-b", Run::exits("1", 3)),
        ("task-c", Run::ok("1")),
        ("task-d", Run::exits("1", 4)),
    ] {
        f.add_task(&job, id, run).await.unwrap();
    }
    let t = |id: &str| TaskId::new(id).unwrap();
    for id in ["task-a", "task-b", "task-c", "task-d"] {
        f.advance_until_task(&job, &t(id), "completed", |s| s.state.is_terminal())
            .await
            .unwrap();
    }

    // The first reactivation fails on the service's side without acting. A 500 leaves open
    // that it did act, so the client reads the task back, sees it unchanged, and sends it
    // again: every failed task is reactivated, each once.
    env.faults().add(FaultRule {
        probability: None,
        provider: Provider::Azure,
        operation: "Task_Reactivate".into(),
        times: 1,
        every: 1,
        fault: FaultKind::Error {
            status: 500,
            code: "InternalError".into(),
            retry_after_secs: None,
        },
    });
    let outcome = b
        .retry_failed_tasks(&job, RetryFailedTasksOptions::default().with_concurrency(1))
        .await
        .unwrap();
    assert_eq!(
        outcome.retried,
        vec![t("task-a"), t("task-b"), t("task-d")],
        "{outcome:?}"
    );
    assert!(outcome.is_complete(), "{outcome:?}");
    assert_eq!(requests_of(env, "Task_Reactivate"), 4);
    let journal = &env.emulator().context().journal;
    for id in ["task-a", "task-b", "task-d"] {
        let target = format!("{}/{id}", job.as_str());
        assert_eq!(
            journal.count(Provider::Azure, "Task_Reactivate", &target),
            1,
            "{id}"
        );
    }

    for (id, expected) in [
        ("task-a", None),
        ("task-b", None),
        ("task-c", Some(TaskState::Succeeded)),
        ("task-d", None),
    ] {
        let s = b
            .task_status(&job, &t(id), StatusOptions::default())
            .await
            .unwrap();
        match expected {
            Some(state) => assert_eq!(s.state, state, "{id}"),
            None => assert!(!s.state.is_terminal(), "{id} was not reactivated: {s:?}"),
        }
    }

    let second = b
        .retry_failed_tasks(&job, RetryFailedTasksOptions::default())
        .await
        .unwrap();
    assert!(second.retried.is_empty(), "{second:?}");
    assert!(second.is_complete());
}

#[tokio::test]
async fn server_timeout_is_accepted_on_every_version() {
    // 2025-06-01 spells the parameter `timeOut`; older versions `timeout`.
    let env = AzureEnv::start().await;
    for version in ApiVersion::ALL {
        let b = env.backend(Auth::SharedKey, version);
        let e = b
            .job_status(
                &job("e2e-job-1"),
                StatusOptions::default().with_server_timeout(Duration::from_secs(5)),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{version}: {e}");
        let e = b
            .terminate_job(
                &job("e2e-job-1"),
                TerminateJobOptions::default().with_server_timeout(Duration::from_secs(5)),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{version}: {e}");
    }
}

/// A job deleted while `terminate_job_and_wait` polls it ends the wait successfully (as the
/// official SDKs' pollers treat a 404), with the job reported as gone.
#[tokio::test]
async fn a_job_deleted_while_waiting_for_its_termination_ends_the_wait() {
    use polybatch::{BatchBackendExt, DeleteJobOptions, WaitOptions};
    let f = AzureFixture::start(Auth::SharedKey, ApiVersion::default()).await;
    let (job, _task) = job_with_slow_release(&f).await;
    let gets = || f.env().stats().requests(Provider::Azure, "Job_Get");
    let before = gets();
    let backend = f.backend().clone();
    let waiting = {
        let job = job.clone();
        tokio::spawn(async move {
            backend
                .terminate_job_and_wait(
                    &job,
                    TerminateJobOptions::default(),
                    WaitOptions::new(Duration::from_millis(300), Duration::from_secs(30)),
                )
                .await
        })
    };
    // Once the wait has seen the job terminating (its release task holds it there)...
    while gets() < before + 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // ...the job is deleted and gone before the next poll.
    f.backend()
        .delete_job(&job, DeleteJobOptions::default())
        .await
        .unwrap();
    f.env().advance(Duration::from_secs(600));
    let status = waiting
        .await
        .unwrap()
        .expect("the wait ends without an error");
    assert_eq!(status.state, JobState::Deleting, "{status:?}");
    assert_eq!(
        status.provider_state, "",
        "the poll saw the 404, not a deleting job"
    );
    assert!(matches!(
        f.backend().job_status(&job, StatusOptions::default()).await,
        Err(Error::NotFound { .. })
    ));
}
