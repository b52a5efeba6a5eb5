//! Targeted tests of every rule of `InMemoryBackend`: states, errors and their codes, ETags,
//! preconditions, paging, retries, seeding, faults and the journal.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use polybatch::clock::{Clock, ManualClock};
use polybatch::memory::{CallResult, InMemoryBackend, JournalOptions};
use polybatch::{
    BatchBackend, BatchBackendExt, Capabilities, Error, JobId, JobState, ListPrepReleaseOptions,
    Operation, Preconditions, PrepReleaseStatus, ReactivateTaskOptions, ResourceKind,
    RetryFailedTasksOptions, StatusOptions, TaskId, TaskResult, TaskState, TerminateDisposition,
    TerminateJobOptions,
};
use tokio::time::Instant;

fn job(n: u32) -> JobId {
    JobId::new(format!("job-{n}")).unwrap()
}

fn task(n: u32) -> TaskId {
    TaskId::new(format!("task-{n}")).unwrap()
}

/// A backend with job-1 holding task-1 running, task-2 failed (exit 3) and task-3 succeeded.
fn seeded() -> InMemoryBackend {
    let b = InMemoryBackend::new();
    let s = b.seed();
    s.job(&job(1), "pool-1").unwrap();
    s.task(&job(1), &task(1)).unwrap();
    s.start_task(&job(1), &task(1)).unwrap();
    s.finished_task(&job(1), &task(2), 3).unwrap();
    s.finished_task(&job(1), &task(3), 0).unwrap();
    b
}

async fn job_status(b: &InMemoryBackend, j: &JobId) -> polybatch::JobStatus {
    b.job_status(j, StatusOptions::default()).await.unwrap()
}

async fn task_status(b: &InMemoryBackend, j: &JobId, t: &TaskId) -> polybatch::TaskStatus {
    b.task_status(j, t, StatusOptions::default()).await.unwrap()
}

async fn terminate(b: &InMemoryBackend, j: &JobId) -> polybatch::Result<TerminateDisposition> {
    b.terminate_job(j, TerminateJobOptions::default())
        .await
        .map(|o| o.disposition)
}

async fn reactivate(b: &InMemoryBackend, j: &JobId, t: &TaskId) -> polybatch::Result<()> {
    b.reactivate_task(j, t, ReactivateTaskOptions::default())
        .await
        .map(|_| ())
}

fn assert_conflict(e: Error, code: &str, state: &str) {
    match &e {
        Error::InvalidState { state: s, .. } => assert_eq!(s.as_deref(), Some(state), "{e}"),
        other => panic!("expected InvalidState {code}, got {other:?}"),
    }
    assert_eq!(e.code(), Some(code), "{e}");
    assert_eq!(e.backend(), "memory");
}

// ----- identity -----

#[test]
fn name_display_capabilities() {
    let b = InMemoryBackend::new();
    assert_eq!(b.name(), "memory");
    assert_eq!(b.to_string(), "InMemory");
    // Everything, with Azure's spec rules and one job a status read, as the Azure client.
    let mut azure = Capabilities::all();
    azure.submit = polybatch::translate::azure::submit_capabilities();
    azure.job_statuses_per_request = 1;
    azure.list_jobs_server_filters = polybatch::translate::azure::LIST_JOBS_SERVER_FILTERS;
    azure.terminate_task_instance = false;
    assert_eq!(b.capabilities(), azure);
    let limited = b.clone().with_capabilities(Capabilities::none());
    assert_eq!(limited.capabilities(), Capabilities::none());
    assert_eq!(b.capabilities(), azure, "each clone keeps its own");
    assert!(format!("{b:?}").starts_with("InMemoryBackend"));
}

#[tokio::test(start_paused = true)]
async fn clones_share_state() {
    let a = InMemoryBackend::new();
    let b = a.clone();
    a.seed().job(&job(1), "p").unwrap();
    assert_eq!(job_status(&b, &job(1)).await.state, JobState::Active);
    assert_eq!(a.journal().len(), 1);
}

// ----- jobs and termination -----

#[tokio::test(start_paused = true)]
async fn job_status_reports_everything_known() {
    let b = seeded();
    let s = job_status(&b, &job(1)).await;
    assert_eq!(s.state, JobState::Active);
    assert_eq!(s.provider_state, "active");
    assert_eq!(s.pool_id.as_deref(), Some("pool-1"));
    assert!(s.etag.is_some() && s.last_modified.is_some() && s.start_time.is_some());
    assert_eq!(s.end_time, None);
    assert_eq!(s.terminate_reason, None);
    let counts = s.task_counts.unwrap();
    assert_eq!(
        (
            counts.pending,
            counts.running,
            counts.succeeded,
            counts.failed
        ),
        (0, 1, 1, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn terminate_goes_through_terminating_after_the_delay() {
    let b = seeded().with_termination_delay(Duration::from_secs(30));
    let start = b
        .job_status(&job(1), StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(
        terminate(&b, &job(1)).await.unwrap(),
        TerminateDisposition::Accepted
    );

    let s = job_status(&b, &job(1)).await;
    assert_eq!(
        (s.state, s.provider_state.as_str()),
        (JobState::Terminating, "terminating")
    );
    assert_eq!(s.previous_provider_state.as_deref(), Some("active"));
    // Batch reports the terminate reason once the job has completed.
    assert_eq!(s.terminate_reason, None);
    assert_ne!(s.etag, start.etag);
    assert_eq!(
        terminate(&b, &job(1)).await.unwrap(),
        TerminateDisposition::AlreadyTerminating
    );

    tokio::time::advance(Duration::from_millis(29_999)).await;
    assert_eq!(job_status(&b, &job(1)).await.state, JobState::Terminating);
    tokio::time::advance(Duration::from_millis(1)).await;
    let done = job_status(&b, &job(1)).await;
    assert_eq!(
        (done.state, done.provider_state.as_str()),
        (JobState::Completed, "completed")
    );
    assert_eq!(done.previous_provider_state.as_deref(), Some("terminating"));
    assert_eq!(
        done.end_time,
        Some(s.last_modified.unwrap() + chrono::Duration::seconds(30))
    );
    assert_ne!(done.etag, s.etag, "completion is a change");
    assert_eq!(
        terminate(&b, &job(1)).await.unwrap(),
        TerminateDisposition::AlreadyCompleted
    );
}

#[tokio::test(start_paused = true)]
async fn terminate_with_no_delay_completes_at_once_ends_running_tasks_and_leaves_active_ones() {
    let b = seeded();
    b.seed().task(&job(1), &task(4)).unwrap();
    let outcome = b
        .terminate_job(
            &job(1),
            TerminateJobOptions::default().with_reason("enough"),
        )
        .await
        .unwrap();
    assert_eq!(outcome.disposition, TerminateDisposition::Accepted);
    let s = job_status(&b, &job(1)).await;
    assert_eq!(s.state, JobState::Completed);
    assert_eq!(s.terminate_reason.as_deref(), Some("enough"));
    assert_eq!(
        outcome.etag, s.etag,
        "the outcome carries the job's current ETag"
    );

    // The running task ended; the active one stays active and is never scheduled (Job_Terminate:
    // "Active tasks stay active"); finished ones kept their result.
    let ts = task_status(&b, &job(1), &task(1)).await;
    assert_eq!(ts.state, TaskState::Failed);
    assert_eq!(ts.provider_state, "completed");
    assert_eq!(ts.result, Some(TaskResult::Failure));
    assert_eq!(ts.failure.unwrap().code.as_deref(), Some("TaskEnded"));
    let waiting = task_status(&b, &job(1), &task(4)).await;
    assert_eq!(
        (waiting.state, waiting.provider_state.as_str()),
        (TaskState::Pending, "active")
    );
    assert_eq!(
        task_status(&b, &job(1), &task(3)).await.state,
        TaskState::Succeeded
    );
    assert_eq!(task_status(&b, &job(1), &task(2)).await.exit_code, Some(3));
}

#[tokio::test(start_paused = true)]
async fn force_skips_the_termination_delay() {
    let b = seeded().with_termination_delay(Duration::from_secs(60));
    b.terminate_job(&job(1), TerminateJobOptions::default().with_force(true))
        .await
        .unwrap();
    assert_eq!(job_status(&b, &job(1)).await.state, JobState::Completed);
}

#[tokio::test(start_paused = true)]
async fn disabled_jobs_can_be_terminated_and_deleting_jobs_cannot() {
    let b = seeded();
    b.seed().disable_job(&job(1)).unwrap();
    let s = job_status(&b, &job(1)).await;
    assert_eq!(
        (s.state, s.provider_state.as_str()),
        (JobState::Disabled, "disabled")
    );
    assert_eq!(
        terminate(&b, &job(1)).await.unwrap(),
        TerminateDisposition::Accepted
    );

    b.seed().job(&job(2), "p").unwrap();
    b.seed().set_job_state_deleting(&job(2)).unwrap();
    assert_eq!(job_status(&b, &job(2)).await.state, JobState::Deleting);
    assert_conflict(
        terminate(&b, &job(2)).await.unwrap_err(),
        "JobBeingDeleted",
        "deleting",
    );
}

#[tokio::test(start_paused = true)]
async fn termination_delay_follows_an_injected_clock() {
    let clock = ManualClock::at_epoch_2025();
    let b = InMemoryBackend::with_clock(Arc::new(clock.clone()))
        .with_termination_delay(Duration::from_secs(10));
    b.seed().job(&job(1), "p").unwrap();
    terminate(&b, &job(1)).await.unwrap();
    assert_eq!(job_status(&b, &job(1)).await.state, JobState::Terminating);
    clock.advance(Duration::from_secs(10));
    let s = job_status(&b, &job(1)).await;
    assert_eq!(s.state, JobState::Completed);
    assert_eq!(s.end_time, Some(clock.now()));
}

// ----- tasks and reactivation -----

#[tokio::test(start_paused = true)]
async fn task_states_use_azure_strings() {
    let b = seeded();
    b.seed().task(&job(1), &task(9)).unwrap();
    let pending = task_status(&b, &job(1), &task(9)).await;
    assert_eq!(
        (pending.state, pending.provider_state.as_str()),
        (TaskState::Pending, "active")
    );
    let running = task_status(&b, &job(1), &task(1)).await;
    assert_eq!(
        (running.state, running.provider_state.as_str()),
        (TaskState::Running, "running")
    );
    assert!(running.start_time.is_some() && running.end_time.is_none());
    let failed = task_status(&b, &job(1), &task(2)).await;
    assert_eq!(failed.state, TaskState::Failed);
    assert_eq!(failed.provider_state, "completed");
    assert_eq!(failed.exit_code, Some(3));
    assert_eq!(failed.result, Some(TaskResult::Failure));
    let failure = failed.failure.unwrap();
    assert_eq!(failure.code.as_deref(), Some("FailureExitCode"));
    assert_eq!(failure.category.as_deref(), Some("usererror"));
    let ok = task_status(&b, &job(1), &task(3)).await;
    assert_eq!(
        (ok.state, ok.exit_code, ok.failure),
        (TaskState::Succeeded, Some(0), None)
    );
    assert_eq!(ok.instance_count, 1);
}

#[tokio::test(start_paused = true)]
async fn reactivate_resets_a_failed_task() {
    let b = seeded();
    b.seed().set_task_retry_count(&job(1), &task(2), 4).unwrap();
    let before = task_status(&b, &job(1), &task(2)).await;
    assert_eq!(before.retry_count, 4);
    let outcome = b
        .reactivate_task(&job(1), &task(2), ReactivateTaskOptions::default())
        .await
        .unwrap();
    let s = task_status(&b, &job(1), &task(2)).await;
    assert_eq!(
        (s.state, s.provider_state.as_str()),
        (TaskState::Pending, "active")
    );
    assert_eq!(s.previous_provider_state.as_deref(), Some("completed"));
    assert_eq!(s.retry_count, 0);
    assert_eq!(
        (s.exit_code, s.result, s.failure.clone()),
        (None, None, None)
    );
    assert_eq!((s.start_time, s.end_time), (None, None));
    assert_ne!(s.etag, before.etag);
    assert_eq!(outcome.etag, s.etag);
    // It can run and fail again, and be reactivated again.
    b.seed().start_task(&job(1), &task(2)).unwrap();
    b.seed().complete_task(&job(1), &task(2), 1).unwrap();
    reactivate(&b, &job(1), &task(2)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn reactivate_refuses_with_azure_codes() {
    let b = seeded();
    b.seed().task(&job(1), &task(4)).unwrap();
    assert_conflict(
        reactivate(&b, &job(1), &task(1)).await.unwrap_err(),
        "TaskNotCompleted",
        "running",
    );
    assert_conflict(
        reactivate(&b, &job(1), &task(4)).await.unwrap_err(),
        "TaskNotCompleted",
        "active",
    );
    assert_conflict(
        reactivate(&b, &job(1), &task(3)).await.unwrap_err(),
        "TaskSucceeded",
        "completed",
    );
    let e = reactivate(&b, &job(1), &task(3)).await.unwrap_err();
    assert_eq!(e.operation(), Operation::ReactivateTask);

    // Job-level refusals: terminating, completed, deleting.
    let b = seeded().with_termination_delay(Duration::from_secs(30));
    terminate(&b, &job(1)).await.unwrap();
    assert_conflict(
        reactivate(&b, &job(1), &task(2)).await.unwrap_err(),
        "JobBeingTerminated",
        "terminating",
    );
    tokio::time::advance(Duration::from_secs(30)).await;
    assert_conflict(
        reactivate(&b, &job(1), &task(2)).await.unwrap_err(),
        "JobCompleted",
        "completed",
    );

    let b = seeded();
    b.seed().set_job_state_deleting(&job(1)).unwrap();
    assert_conflict(
        reactivate(&b, &job(1), &task(2)).await.unwrap_err(),
        "JobBeingDeleted",
        "deleting",
    );

    // A disabled job still accepts reactivation.
    let b = seeded();
    b.seed().disable_job(&job(1)).unwrap();
    reactivate(&b, &job(1), &task(2)).await.unwrap();
}

// ----- not found -----

#[tokio::test(start_paused = true)]
async fn not_found_names_the_resource_and_code() {
    let b = seeded();
    let missing = job(404);
    let check = |e: Error, op: Operation, kind: ResourceKind, code: &str, id: &str| {
        match &e {
            Error::NotFound {
                resource, id: got, ..
            } => {
                assert_eq!((*resource, got.as_str()), (kind, id), "{e}");
            }
            other => panic!("expected NotFound, got {other:?}"),
        }
        assert_eq!(
            (e.operation(), e.code(), e.backend()),
            (op, Some(code), "memory")
        );
    };
    check(
        terminate(&b, &missing).await.unwrap_err(),
        Operation::TerminateJob,
        ResourceKind::Job,
        "JobNotFound",
        "job-404",
    );
    check(
        b.job_status(&missing, StatusOptions::default())
            .await
            .unwrap_err(),
        Operation::JobStatus,
        ResourceKind::Job,
        "JobNotFound",
        "job-404",
    );
    check(
        b.task_status(&missing, &task(1), StatusOptions::default())
            .await
            .unwrap_err(),
        Operation::TaskStatus,
        ResourceKind::Job,
        "JobNotFound",
        "job-404",
    );
    check(
        b.task_status(&job(1), &task(404), StatusOptions::default())
            .await
            .unwrap_err(),
        Operation::TaskStatus,
        ResourceKind::Task,
        "TaskNotFound",
        "task-404",
    );
    check(
        reactivate(&b, &job(1), &task(404)).await.unwrap_err(),
        Operation::ReactivateTask,
        ResourceKind::Task,
        "TaskNotFound",
        "task-404",
    );
    check(
        b.retry_failed_tasks(&missing, RetryFailedTasksOptions::default())
            .await
            .unwrap_err(),
        Operation::RetryFailedTasks,
        ResourceKind::Job,
        "JobNotFound",
        "job-404",
    );
    check(
        b.collect_prep_release_status(&missing, ListPrepReleaseOptions::default())
            .await
            .unwrap_err(),
        Operation::ListPrepReleaseStatus,
        ResourceKind::Job,
        "JobNotFound",
        "job-404",
    );
}

// ----- ETags and preconditions -----

#[tokio::test(start_paused = true)]
async fn every_change_gets_a_new_etag_and_reads_change_nothing() {
    let b = InMemoryBackend::new().with_termination_delay(Duration::from_secs(5));
    let mut seen = HashSet::new();
    let mut note = |e: Option<polybatch::ETag>| {
        let e = e.unwrap();
        assert!(seen.insert(e.clone()), "ETag {e} repeated");
        e
    };
    b.seed().job(&job(1), "p").unwrap();
    let j0 = note(job_status(&b, &job(1)).await.etag);
    assert_eq!(
        job_status(&b, &job(1)).await.etag,
        Some(j0.clone()),
        "reads change nothing"
    );
    b.seed().task(&job(1), &task(1)).unwrap();
    // Adding a task changes the task, not the job's properties (as in Batch).
    assert_eq!(job_status(&b, &job(1)).await.etag, Some(j0.clone()));
    note(task_status(&b, &job(1), &task(1)).await.etag);
    b.seed().start_task(&job(1), &task(1)).unwrap();
    note(task_status(&b, &job(1), &task(1)).await.etag);
    b.seed().complete_task(&job(1), &task(1), 2).unwrap();
    note(task_status(&b, &job(1), &task(1)).await.etag);
    reactivate(&b, &job(1), &task(1)).await.unwrap();
    let t = task_status(&b, &job(1), &task(1)).await;
    note(t.etag.clone());
    assert!(t.last_modified.is_some());
    terminate(&b, &job(1)).await.unwrap();
    note(job_status(&b, &job(1)).await.etag);
    // The reactivated task is active again, and Batch leaves active tasks of a terminated
    // job as they are: no change, same ETag.
    let after = task_status(&b, &job(1), &task(1)).await;
    assert_eq!((after.state, after.etag), (TaskState::Pending, t.etag));
    b.seed().task(&job(1), &task(2)).unwrap_err();
    tokio::time::advance(Duration::from_secs(5)).await;
    note(job_status(&b, &job(1)).await.etag);
    // A second backend's ETags are its own business; this one never repeats.
    assert_eq!(seen.len(), 7);
}

#[tokio::test(start_paused = true)]
async fn preconditions_on_terminate() {
    let b = seeded();
    let j = job(1);
    let s = job_status(&b, &j).await;
    let (etag, modified) = (s.etag.clone().unwrap(), s.last_modified.unwrap());
    let term = |p: Preconditions| {
        let b = b.clone();
        let j = j.clone();
        async move {
            b.terminate_job(&j, TerminateJobOptions::default().with_preconditions(p))
                .await
        }
    };
    let failed = |r: polybatch::Result<polybatch::TerminateJobOutcome>| {
        let e = r.unwrap_err();
        assert!(matches!(e, Error::PreconditionFailed { .. }), "{e:?}");
        assert_eq!(e.code(), Some("ConditionNotMet"));
        assert_eq!(e.operation(), Operation::TerminateJob);
    };
    let hour = chrono::Duration::hours(1);
    failed(term(Preconditions::default().with_if_match("0xWRONG")).await);
    failed(term(Preconditions::default().with_if_none_match(etag.clone())).await);
    failed(term(Preconditions::default().with_if_modified_since(modified + hour)).await);
    failed(term(Preconditions::default().with_if_unmodified_since(modified - hour)).await);
    let e = term(
        Preconditions::default()
            .with_if_match(etag.clone())
            .with_if_modified_since(modified),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }));
    assert_eq!(e.code(), Some("MultipleConditionHeadersNotSupported"));
    // Nothing changed.
    assert_eq!(job_status(&b, &j).await.etag, Some(etag.clone()));
    assert_eq!(job_status(&b, &j).await.state, JobState::Active);
    // Met conditions pass.
    let ok = term(
        Preconditions::default()
            .with_if_match(etag)
            .with_if_unmodified_since(modified),
    )
    .await
    .unwrap();
    assert_eq!(ok.disposition, TerminateDisposition::Accepted);
}

#[tokio::test(start_paused = true)]
async fn preconditions_on_reactivate() {
    let b = seeded();
    let (j, t) = (job(1), task(2));
    let s = task_status(&b, &j, &t).await;
    let etag = s.etag.unwrap();
    let react = |p: Preconditions| {
        b.reactivate_task(
            &j,
            &t,
            ReactivateTaskOptions::default().with_preconditions(p),
        )
    };
    let e = react(Preconditions::default().with_if_match("0xWRONG"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::PreconditionFailed { .. }));
    assert_eq!(task_status(&b, &j, &t).await.state, TaskState::Failed);
    react(Preconditions::default().with_if_none_match("0xOTHER"))
        .await
        .unwrap();
    // The task changed, so the old ETag no longer matches.
    b.seed().start_task(&j, &t).unwrap();
    b.seed().complete_task(&j, &t, 1).unwrap();
    let e = react(Preconditions::default().with_if_match(etag))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::PreconditionFailed { .. }));
}

// ----- prep/release listing -----

fn prep_backend(nodes: usize) -> InMemoryBackend {
    let b = InMemoryBackend::new();
    b.seed().job_with_prep_release(&job(1), "pool-1").unwrap();
    for i in (0..nodes).rev() {
        let mut r = PrepReleaseStatus::new(format!("tvm-{i:04}"));
        r.pool_id = Some(if i % 2 == 0 { "pool-1" } else { "pool-2" }.into());
        r.node_url = Some(format!("https://example.invalid/nodes/tvm-{i:04}"));
        b.seed().prep_release_record(&job(1), r).unwrap();
    }
    b
}

#[tokio::test(start_paused = true)]
async fn listing_pages_for_real_and_lazily() {
    let b = prep_backend(5);
    let stream =
        b.list_prep_release_status(&job(1), ListPrepReleaseOptions::default().with_page_size(2));
    assert!(b.journal().is_empty(), "nothing is fetched before polling");
    let records: Vec<PrepReleaseStatus> = stream.try_collect().await.unwrap();
    let nodes: Vec<&str> = records.iter().map(|r| r.node_id.as_str()).collect();
    assert_eq!(
        nodes,
        ["tvm-0000", "tvm-0001", "tvm-0002", "tvm-0003", "tvm-0004"]
    );
    let pages: Vec<u32> = b
        .journal()
        .iter()
        .map(|e| match &e.options {
            JournalOptions::ListPrepRelease { page, .. } => *page,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(pages, [0, 1, 2]);

    // Records seeded between pages do not make the next page repeat or skip.
    let mut stream =
        b.list_prep_release_status(&job(1), ListPrepReleaseOptions::default().with_page_size(2));
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.node_id, "tvm-0000");
    assert_eq!(stream.next().await.unwrap().unwrap().node_id, "tvm-0001");
    b.seed()
        .prep_release_record(&job(1), PrepReleaseStatus::new("tvm-0000a"))
        .unwrap();
    let rest: Vec<String> = stream.map_ok(|r| r.node_id).try_collect().await.unwrap();
    assert_eq!(rest, ["tvm-0002", "tvm-0003", "tvm-0004"]);
}

#[tokio::test(start_paused = true)]
async fn default_page_size_is_1000() {
    let b = prep_backend(1001);
    b.clear_journal();
    let all = b
        .collect_prep_release_status(&job(1), ListPrepReleaseOptions::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 1001);
    assert_eq!(b.journal().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn listing_filters_and_selects() {
    let b = prep_backend(6);
    let j = job(1);
    let list = |o: ListPrepReleaseOptions| b.collect_prep_release_status(&j, o);
    let one = list(ListPrepReleaseOptions::default().with_filter("nodeId eq 'tvm-0003'"))
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].node_id, "tvm-0003");
    let others = list(
        ListPrepReleaseOptions::default()
            .with_filter("nodeId ne 'tvm-0003'")
            .with_page_size(1),
    )
    .await
    .unwrap();
    assert_eq!(others.len(), 5);
    let pool = list(ListPrepReleaseOptions::default().with_filter("poolId eq 'pool-2'"))
        .await
        .unwrap();
    assert_eq!(
        pool.iter().map(|r| r.node_id.as_str()).collect::<Vec<_>>(),
        ["tvm-0001", "tvm-0003", "tvm-0005"]
    );

    let e = list(ListPrepReleaseOptions::default().with_filter("state eq 'running'"))
        .await
        .unwrap_err();
    match &e {
        Error::InvalidInput { field, rule, .. } => {
            assert_eq!(field, "filter");
            assert!(rule.contains("state eq 'running'"), "{rule}");
        }
        other => panic!("{other:?}"),
    }

    let selected = list(
        ListPrepReleaseOptions::default().with_select(["nodeId,jobPreparationTaskExecutionInfo"]),
    )
    .await
    .unwrap();
    assert!(
        selected
            .iter()
            .all(|r| !r.node_id.is_empty() && r.pool_id.is_none() && r.node_url.is_none())
    );
    let urls = list(ListPrepReleaseOptions::default().with_select(["nodeUrl", "poolId"]))
        .await
        .unwrap();
    assert!(
        urls.iter()
            .all(|r| r.node_id.is_empty() && r.node_url.is_some() && r.pool_id.is_some())
    );
    assert!(
        list(ListPrepReleaseOptions::default().with_select(["bogus"]))
            .await
            .is_err()
    );
}

#[tokio::test(start_paused = true)]
async fn listing_refusals() {
    let b = seeded();
    let e = b
        .collect_prep_release_status(&job(1), ListPrepReleaseOptions::default())
        .await
        .unwrap_err();
    assert_conflict(e, "JobPreparationTaskNotSpecified", "active");
    // Page size 0 is refused before any I/O, yet journaled.
    let before = b.requests_seen();
    let e = b
        .collect_prep_release_status(&job(1), ListPrepReleaseOptions::default().with_page_size(0))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }));
    assert_eq!(b.requests_seen(), before);
    assert!(!b.journal().last().unwrap().executed);
    // Seeding a record needs a prep/release job.
    let e = b
        .seed()
        .prep_release_record(&job(1), PrepReleaseStatus::new("n"))
        .unwrap_err();
    assert_eq!(e.code(), Some("JobPreparationTaskNotSpecified"));
}

// ----- retry_failed_tasks -----

#[tokio::test(start_paused = true)]
async fn retry_failed_tasks_reactivates_each_failed_task_with_bounded_concurrency() {
    let b = seeded();
    for n in 10..15 {
        b.seed().finished_task(&job(1), &task(n), 1).unwrap();
    }
    b.faults()
        .delay_next(Operation::ReactivateTask, 6, Duration::from_secs(1));
    b.clear_journal();
    let start = Instant::now();
    let outcome = b
        .retry_failed_tasks(
            &job(1),
            RetryFailedTasksOptions::default().with_concurrency(2),
        )
        .await
        .unwrap();
    // Six failed tasks (task-2, task-10..14), two at a time, a second each.
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert_eq!(b.peak_in_flight(), 2);
    let mut expected: Vec<TaskId> = [2, 10, 11, 12, 13, 14].into_iter().map(task).collect();
    expected.sort();
    assert_eq!(outcome.retried, expected);
    assert!(outcome.is_complete());
    for t in &expected {
        assert_eq!(task_status(&b, &job(1), t).await.state, TaskState::Pending);
    }
    assert_eq!(
        task_status(&b, &job(1), &task(3)).await.state,
        TaskState::Succeeded
    );
    let journal = b.journal();
    assert_eq!(journal[0].operation, Operation::RetryFailedTasks);
    assert!(!journal[0].nested);
    let nested = journal.iter().filter(|e| e.nested).count();
    assert_eq!(nested, 6);
    assert!(
        journal
            .iter()
            .filter(|e| e.nested)
            .all(|e| e.operation == Operation::ReactivateTask)
    );
}

#[tokio::test(start_paused = true)]
async fn retry_failed_tasks_reports_failures_per_task() {
    let b = seeded();
    b.seed().finished_task(&job(1), &task(5), 1).unwrap();
    b.faults().fail_next(Operation::ReactivateTask, 1, |ctx| {
        Error::service(Some(500), true, ctx.with_code("InternalError"))
    });
    let outcome = b
        .retry_failed_tasks(
            &job(1),
            RetryFailedTasksOptions::default().with_concurrency(1),
        )
        .await
        .unwrap();
    assert_eq!(outcome.retried, [task(5)]);
    assert_eq!(outcome.not_retried.len(), 1);
    assert_eq!(outcome.not_retried[0].task_id, task(2));
    assert_eq!(outcome.not_retried[0].error.code(), Some("InternalError"));

    // On a completed job every failed task is refused by the job.
    let b = seeded();
    terminate(&b, &job(1)).await.unwrap();
    let outcome = b
        .retry_failed_tasks(&job(1), RetryFailedTasksOptions::default())
        .await
        .unwrap();
    assert!(outcome.retried.is_empty());
    assert_eq!(outcome.not_retried.len(), 2, "task-1 (ended) and task-2");
    assert!(
        outcome
            .not_retried
            .iter()
            .all(|f| f.error.code() == Some("JobCompleted"))
    );
}

// ----- capabilities -----

#[tokio::test(start_paused = true)]
async fn reduced_capabilities_refuse_before_executing_but_journal_the_call() {
    let full = seeded();
    let mut caps = Capabilities::all();
    caps.reactivate_task = false;
    caps.terminate_job_reason = false;
    let b = full.clone().with_capabilities(caps);
    let e = reactivate(&b, &job(1), &task(2)).await.unwrap_err();
    assert!(matches!(e, Error::Unsupported { option: None, .. }));
    let e = b
        .terminate_job(&job(1), TerminateJobOptions::default().with_reason("r"))
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        Error::Unsupported {
            option: Some("reason"),
            ..
        }
    ));
    assert_eq!(b.requests_seen(), 0);
    let journal = b.journal();
    assert_eq!(journal.len(), 2);
    assert!(
        journal
            .iter()
            .all(|e| !e.executed && e.error_kind() == Some("unsupported"))
    );
    assert_eq!(journal[0].task, Some(task(2)));
    // Nothing changed.
    assert_eq!(
        task_status(&full, &job(1), &task(2)).await.state,
        TaskState::Failed
    );
    assert_eq!(job_status(&full, &job(1)).await.state, JobState::Active);
}

// ----- seeding -----

#[tokio::test(start_paused = true)]
async fn seeding_follows_the_rules() {
    let b = seeded();
    let s = b.seed();
    let e = s.job(&job(1), "p").unwrap_err();
    assert!(matches!(e, Error::InvalidState { .. }));
    assert_eq!(e.code(), Some("JobExists"));
    assert_eq!(
        s.task(&job(1), &task(1)).unwrap_err().code(),
        Some("TaskExists")
    );
    assert!(matches!(
        s.task(&job(9), &task(1)).unwrap_err(),
        Error::NotFound {
            resource: ResourceKind::Job,
            ..
        }
    ));
    assert!(matches!(
        s.start_task(&job(1), &task(9)).unwrap_err(),
        Error::NotFound {
            resource: ResourceKind::Task,
            ..
        }
    ));
    assert!(matches!(
        s.start_task(&job(1), &task(1)).unwrap_err(),
        Error::InvalidState { .. }
    ));
    assert!(matches!(
        s.complete_task(&job(1), &task(3), 0).unwrap_err(),
        Error::InvalidState { .. }
    ));
    assert!(matches!(
        s.enable_job(&job(1)).unwrap_err(),
        Error::InvalidState { .. }
    ));
    s.disable_job(&job(1)).unwrap();
    assert!(matches!(
        s.disable_job(&job(1)).unwrap_err(),
        Error::InvalidState { .. }
    ));
    s.task(&job(1), &task(20)).unwrap();
    assert!(
        s.start_task(&job(1), &task(20)).is_err(),
        "a disabled job starts nothing"
    );
    s.enable_job(&job(1)).unwrap();
    s.start_task(&job(1), &task(20)).unwrap();

    s.complete_job(&job(1)).unwrap();
    let js = job_status(&b, &job(1)).await;
    assert_eq!(
        (js.state, js.terminate_reason.as_deref()),
        (JobState::Completed, Some("AllTasksComplete"))
    );
    assert_eq!(
        s.task(&job(1), &task(30)).unwrap_err().code(),
        Some("JobCompleted")
    );
    assert!(s.complete_job(&job(1)).is_err());

    s.remove_job(&job(1)).unwrap();
    assert!(matches!(
        b.job_status(&job(1), StatusOptions::default()).await,
        Err(Error::NotFound { .. })
    ));
    assert!(s.remove_job(&job(1)).is_err());
}

// ----- faults -----

#[tokio::test(start_paused = true)]
async fn injected_failures_replace_the_next_calls() {
    let b = seeded();
    b.faults().fail_next(Operation::TerminateJob, 2, |ctx| {
        Error::throttled(Some(Duration::from_secs(2)), ctx.with_code("ServerBusy"))
    });
    assert_eq!(b.faults().pending(Operation::TerminateJob), (2, 0));
    for _ in 0..2 {
        let e = terminate(&b, &job(1)).await.unwrap_err();
        assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(
            (e.backend(), e.operation(), e.code()),
            ("memory", Operation::TerminateJob, Some("ServerBusy"))
        );
        assert_eq!(
            job_status(&b, &job(1)).await.state,
            JobState::Active,
            "a failed call changes nothing"
        );
    }
    assert_eq!(
        terminate(&b, &job(1)).await.unwrap(),
        TerminateDisposition::Accepted
    );
    let journal = b.journal();
    let terminates: Vec<_> = journal
        .iter()
        .filter(|e| e.operation == Operation::TerminateJob)
        .collect();
    assert_eq!(terminates.len(), 3);
    assert!(terminates.iter().all(|e| e.executed));
    assert_eq!(terminates[0].error_kind(), Some("throttled"));
    assert!(terminates[2].succeeded());

    // Queued per operation; other operations are unaffected; clear drops the rest.
    b.faults()
        .fail_next(Operation::JobStatus, 5, Error::timeout);
    assert!(
        b.task_status(&job(1), &task(1), StatusOptions::default())
            .await
            .is_ok()
    );
    assert!(matches!(
        b.job_status(&job(1), StatusOptions::default()).await,
        Err(Error::Timeout { .. })
    ));
    b.faults().clear();
    assert_eq!(b.faults().pending(Operation::JobStatus), (0, 0));
    assert!(
        b.job_status(&job(1), StatusOptions::default())
            .await
            .is_ok()
    );
}

#[tokio::test(start_paused = true)]
async fn injected_delays_take_simulated_time() {
    let b = seeded();
    b.faults()
        .delay_next(Operation::JobStatus, 1, Duration::from_secs(7))
        .fail_next(Operation::JobStatus, 1, Error::timeout);
    let start = Instant::now();
    let e = b
        .job_status(&job(1), StatusOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(7),
        "delay first, then the failure"
    );
    assert!(matches!(e, Error::Timeout { .. }));
    let entry = b.journal().pop().unwrap();
    assert_eq!(
        entry.finished_at.unwrap() - entry.started_at,
        chrono::Duration::seconds(7)
    );
    let start = Instant::now();
    b.job_status(&job(1), StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn listing_pages_take_faults_one_page_at_a_time() {
    let b = prep_backend(4);
    b.faults()
        .fail_next(Operation::ListPrepReleaseStatus, 1, |ctx| {
            Error::timeout(ctx)
        });
    assert!(
        b.collect_prep_release_status(&job(1), ListPrepReleaseOptions::default())
            .await
            .is_err()
    );
    // A failure injected mid-listing hits the next page, after the first page's items.
    let mut stream =
        b.list_prep_release_status(&job(1), ListPrepReleaseOptions::default().with_page_size(3));
    for _ in 0..3 {
        stream.next().await.unwrap().unwrap();
    }
    b.faults()
        .delay_next(Operation::ListPrepReleaseStatus, 1, Duration::from_secs(1))
        .fail_next(Operation::ListPrepReleaseStatus, 1, |ctx| {
            Error::timeout(ctx)
        });
    assert!(matches!(
        stream.next().await,
        Some(Err(Error::Timeout { .. }))
    ));
    assert!(stream.next().await.is_none(), "an error ends the stream");
    let all = b
        .collect_prep_release_status(&job(1), ListPrepReleaseOptions::default().with_page_size(3))
        .await
        .unwrap();
    assert_eq!(all.len(), 4);
}

// ----- journal -----

#[tokio::test(start_paused = true)]
async fn journal_records_calls_in_order_with_options() {
    let b = seeded();
    b.clear_journal();
    let seen_before = b.requests_seen();
    tokio::time::advance(Duration::from_secs(3)).await;
    b.job_status(
        &job(1),
        StatusOptions::default().with_server_timeout(Duration::from_secs(9)),
    )
    .await
    .unwrap();
    reactivate(&b, &job(1), &task(3)).await.unwrap_err();
    b.terminate_job(&job(1), TerminateJobOptions::default().with_reason("bye"))
        .await
        .unwrap();
    let j = b.journal();
    assert_eq!(
        j.iter().map(|e| e.operation).collect::<Vec<_>>(),
        [
            Operation::JobStatus,
            Operation::ReactivateTask,
            Operation::TerminateJob
        ]
    );
    assert!(j.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(
        j[0].options,
        JournalOptions::Status(
            StatusOptions::default().with_server_timeout(Duration::from_secs(9))
        )
    );
    assert_eq!(j[1].task, Some(task(3)));
    assert!(
        matches!(&j[1].result, CallResult::Failed { kind: "invalid_state", code: Some(c), .. } if c == "TaskSucceeded")
    );
    assert_eq!(
        j[2].options,
        JournalOptions::Terminate(TerminateJobOptions::default().with_reason("bye"))
    );
    assert!(j[2].succeeded());
    assert!(
        j.iter()
            .all(|e| e.executed && e.job == Some(job(1)) && e.finished_at.is_some())
    );
    assert_eq!(b.requests_seen(), seen_before + 3);

    b.clear_journal();
    assert!(b.journal().is_empty());
    assert_eq!(
        b.requests_seen(),
        seen_before + 3,
        "the request count survives clearing"
    );
}

#[tokio::test(start_paused = true)]
async fn a_dropped_call_is_journaled_as_cancelled() {
    let b = seeded();
    b.faults()
        .delay_next(Operation::TerminateJob, 1, Duration::from_secs(10));
    let r = tokio::time::timeout(Duration::from_secs(1), terminate(&b, &job(1))).await;
    assert!(r.is_err());
    assert_eq!(b.in_flight(), 0);
    assert_eq!(b.journal().pop().unwrap().result, CallResult::Cancelled);
    assert_eq!(
        job_status(&b, &job(1)).await.state,
        JobState::Active,
        "it never ran"
    );
}

#[tokio::test(start_paused = true)]
async fn calls_in_flight_are_visible() {
    let b = seeded();
    b.faults()
        .delay_next(Operation::JobStatus, 3, Duration::from_secs(2));
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let b = b.clone();
            tokio::spawn(async move { b.job_status(&job(1), StatusOptions::default()).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(b.in_flight(), 3);
    assert!(b.journal().iter().all(|e| e.result == CallResult::InFlight));
    for h in handles {
        h.await.unwrap().unwrap();
    }
    assert_eq!((b.in_flight(), b.peak_in_flight()), (0, 3));
    b.reset_peak_in_flight();
    assert_eq!(b.peak_in_flight(), 0);
}

// ----- cheap polling: $select and If-None-Match -----

#[tokio::test(start_paused = true)]
async fn status_reads_select_properties_and_answer_not_modified() {
    let b = seeded();
    let full = job_status(&b, &job(1)).await;
    let some = b
        .job_status(
            &job(1),
            StatusOptions::default().with_select(["state", "eTag"]),
        )
        .await
        .unwrap();
    assert_eq!(
        (some.state, some.etag.clone()),
        (full.state, full.etag.clone())
    );
    assert_eq!(
        (some.pool_id, some.start_time, some.task_counts),
        (None, None, None)
    );
    let none = b
        .job_status(&job(1), StatusOptions::default().with_select(["id"]))
        .await
        .unwrap();
    assert_eq!(none.state, JobState::Unknown);
    let t = b
        .task_status(
            &job(1),
            &task(2),
            StatusOptions::default().with_select(["executionInfo"]),
        )
        .await
        .unwrap();
    assert_eq!((t.exit_code, t.state), (Some(3), TaskState::Unknown));

    let unchanged = StatusOptions::default().with_if_none_match(full.etag.clone().unwrap());
    let e = b.job_status(&job(1), unchanged.clone()).await.unwrap_err();
    assert!(matches!(e, Error::PreconditionFailed { .. }), "{e:?}");
    assert!(e.message().starts_with("not modified"), "{e}");
    terminate(&b, &job(1)).await.unwrap();
    let changed = b.job_status(&job(1), unchanged).await.unwrap();
    assert_ne!(changed.etag, full.etag);
}
