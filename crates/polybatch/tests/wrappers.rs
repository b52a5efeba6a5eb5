//! The wrapper backends and the waiting helpers, on a paused clock against `InMemoryBackend`:
//! exact permit times, in-flight bounds measured with delay faults, exact wait times.

use std::time::Duration;

use futures::StreamExt;
use polybatch::memory::InMemoryBackend;
use polybatch::rate::Quota;
use polybatch::wrap::{ConcurrencyLimited, RateLimitConfig, RateLimited};
use polybatch::{
    BatchBackend, BatchBackendExt, Error, JobId, JobState, ListPrepReleaseOptions, Operation,
    PrepReleaseStatus, StatusOptions, TaskId, TaskState, TerminateJobOptions, WaitOptions,
};
use tokio::time::Instant;

fn job(n: u32) -> JobId {
    JobId::new(format!("job-{n}")).unwrap()
}

fn task(n: u32) -> TaskId {
    TaskId::new(format!("task-{n}")).unwrap()
}

/// A backend with `jobs` active jobs, each with a running task-1 and two prep/release records.
fn backend(jobs: u32) -> InMemoryBackend {
    let b = InMemoryBackend::new();
    for n in 0..jobs {
        b.seed().job_with_prep_release(&job(n), "pool-1").unwrap();
        b.seed().task(&job(n), &task(1)).unwrap();
        b.seed().start_task(&job(n), &task(1)).unwrap();
        for node in ["tvm-1", "tvm-2"] {
            b.seed()
                .prep_release_record(&job(n), PrepReleaseStatus::new(node))
                .unwrap();
        }
    }
    b
}

// ----- RateLimited -----

#[tokio::test(start_paused = true)]
async fn rate_limits_each_operation_at_exact_times() {
    let memory = backend(3);
    let limited = RateLimited::new(
        memory.clone(),
        RateLimitConfig::default()
            .with_operation(
                Operation::TerminateJob,
                Quota::every(Duration::from_secs(2)),
            )
            .with_operation(Operation::JobStatus, Quota::per_second(2).with_burst(1)),
    );
    let start = Instant::now();
    let mut handles = Vec::new();
    for n in 0..3 {
        let b = limited.clone();
        handles.push(tokio::spawn(async move {
            b.terminate_job(&job(n), TerminateJobOptions::default())
                .await
                .map(|_| ())
        }));
    }
    for _ in 0..4 {
        let b = limited.clone();
        handles.push(tokio::spawn(async move {
            b.job_status(&job(0), StatusOptions::default())
                .await
                .map(|_| ())
        }));
    }
    for _ in 0..3 {
        let b = limited.clone();
        handles.push(tokio::spawn(async move {
            b.task_status(&job(0), &task(1), StatusOptions::default())
                .await
                .map(|_| ())
        }));
    }
    for h in handles {
        h.await.unwrap().unwrap();
    }
    assert_eq!(start.elapsed(), Duration::from_secs(4));

    let journal = memory.journal();
    let at = |op: Operation| -> Vec<u128> {
        let mut v: Vec<u128> = journal
            .iter()
            .filter(|e| e.operation == op)
            .map(|e| (e.started_at - journal[0].started_at).num_milliseconds() as u128)
            .collect();
        v.sort();
        v
    };
    assert_eq!(at(Operation::TerminateJob), [0, 2000, 4000]);
    assert_eq!(at(Operation::JobStatus), [0, 500, 1000, 1500]);
    assert_eq!(at(Operation::TaskStatus), [0, 0, 0], "unlimited");
}

#[tokio::test(start_paused = true)]
async fn rate_limited_clones_share_buckets() {
    let memory = backend(1);
    let a = RateLimited::new(
        memory.clone(),
        RateLimitConfig::uniform(Quota::every(Duration::from_secs(3))),
    );
    let b = a.clone();
    let start = Instant::now();
    a.job_status(&job(0), StatusOptions::default())
        .await
        .unwrap();
    b.job_status(&job(0), StatusOptions::default())
        .await
        .unwrap();
    a.job_status(&job(0), StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(6));
    // Another operation has its own bucket.
    b.task_status(&job(0), &task(1), StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(6));
    // A separately built wrapper has its own buckets too.
    let c = RateLimited::new(
        memory,
        RateLimitConfig::uniform(Quota::every(Duration::from_secs(3))),
    );
    c.job_status(&job(0), StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(6));
}

#[tokio::test(start_paused = true)]
async fn a_listing_takes_its_permit_on_first_poll() {
    let memory = backend(1);
    let limited = RateLimited::new(
        memory.clone(),
        RateLimitConfig::default().with_operation(
            Operation::ListPrepReleaseStatus,
            Quota::every(Duration::from_secs(5)),
        ),
    );
    // Building streams takes nothing.
    for _ in 0..5 {
        drop(limited.list_prep_release_status(&job(0), ListPrepReleaseOptions::default()));
    }
    let first = limited.list_prep_release_status(&job(0), ListPrepReleaseOptions::default());
    let second = limited
        .list_prep_release_status(&job(0), ListPrepReleaseOptions::default().with_page_size(1));
    tokio::time::advance(Duration::from_secs(1)).await;
    let start = Instant::now();
    assert_eq!(first.collect::<Vec<_>>().await.len(), 2);
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "the first poll got the full bucket"
    );
    // One permit per listing, not per page: two pages, one wait.
    assert_eq!(second.collect::<Vec<_>>().await.len(), 2);
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert_eq!(memory.journal().len(), 3, "one page, then two pages");
}

// ----- ConcurrencyLimited -----

#[tokio::test(start_paused = true)]
async fn never_more_than_the_limit_in_flight() {
    let memory = backend(1);
    memory
        .faults()
        .delay_next(Operation::JobStatus, 6, Duration::from_secs(1))
        .delay_next(Operation::TaskStatus, 1, Duration::from_secs(1));
    let limited = ConcurrencyLimited::new(memory.clone(), 2);
    let start = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..6 {
        let b = limited.clone();
        handles.push(tokio::spawn(async move {
            b.job_status(&job(0), StatusOptions::default())
                .await
                .map(|_| ())
        }));
    }
    // Other operations share the same limit.
    let b = limited.clone();
    handles.push(tokio::spawn(async move {
        b.task_status(&job(0), &task(1), StatusOptions::default())
            .await
            .map(|_| ())
    }));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(memory.in_flight(), 2);
    assert_eq!(limited.available(), 0);
    for h in handles {
        h.await.unwrap().unwrap();
    }
    assert_eq!(memory.peak_in_flight(), 2);
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(4000),
        "7 calls, 2 at a time, 1 s each"
    );
    assert_eq!(limited.available(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_listing_holds_its_permit_until_dropped() {
    let memory = backend(1);
    let limited = ConcurrencyLimited::new(memory.clone(), 1);
    let mut listing = limited
        .list_prep_release_status(&job(0), ListPrepReleaseOptions::default().with_page_size(1));
    assert_eq!(limited.available(), 1, "nothing held before the first poll");
    listing.next().await.unwrap().unwrap();
    assert_eq!(limited.available(), 0);
    let b = limited.clone();
    let status = tokio::spawn(async move { b.job_status(&job(0), StatusOptions::default()).await });
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(!status.is_finished(), "waits while the listing is alive");
    drop(listing);
    status.await.unwrap().unwrap();
    assert_eq!(limited.available(), 1);
}

#[tokio::test(start_paused = true)]
async fn wrappers_forward_identity() {
    let memory = backend(0);
    let caps = memory.capabilities();
    let both = ConcurrencyLimited::new(RateLimited::new(memory, RateLimitConfig::default()), 3);
    assert_eq!(both.name(), "memory");
    assert_eq!(both.capabilities(), caps);
    assert_eq!(
        both.to_string(),
        "ConcurrencyLimited(3, RateLimited(InMemory))"
    );
    let e = both
        .job_status(&job(9), StatusOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        (e.backend(), e.operation()),
        ("memory", Operation::JobStatus)
    );
}

// ----- waiting helpers -----

#[tokio::test(start_paused = true)]
async fn terminate_and_wait_returns_when_the_job_completes() {
    let b = backend(1).with_termination_delay(Duration::from_secs(12));
    let start = Instant::now();
    let status = b
        .terminate_job_and_wait(
            &job(0),
            TerminateJobOptions::default().with_reason("done"),
            WaitOptions::new(Duration::from_secs(5), Duration::from_secs(60)),
        )
        .await
        .unwrap();
    // Polls at 0, 5, 10, 15 s; the job completed at 12 s.
    assert_eq!(start.elapsed(), Duration::from_secs(15));
    assert_eq!(status.state, JobState::Completed);
    assert!(status.state.is_terminal());
    assert_eq!(status.terminate_reason.as_deref(), Some("done"));
    let polls = b
        .journal()
        .iter()
        .filter(|e| e.operation == Operation::JobStatus)
        .count();
    assert_eq!(polls, 4);
}

#[tokio::test(start_paused = true)]
async fn terminate_and_wait_times_out_at_the_deadline() {
    let b = backend(1).with_termination_delay(Duration::from_secs(12));
    let start = Instant::now();
    let e = b
        .terminate_job_and_wait(
            &job(0),
            TerminateJobOptions::default(),
            WaitOptions::new(Duration::from_secs(5), Duration::from_secs(7)),
        )
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(7));
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert_eq!(
        (e.backend(), e.operation()),
        ("memory", Operation::TerminateJob)
    );
    assert!(e.message().contains("terminating"), "{e}");
    // The job finishes anyway; waiting again picks it up.
    let status = b
        .wait_for_job(
            &job(0),
            WaitOptions::new(Duration::from_secs(5), Duration::from_secs(60)),
        )
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(12));
    assert_eq!(status.state, JobState::Completed);
}

#[tokio::test(start_paused = true)]
async fn terminate_and_wait_fails_fast_on_errors() {
    let b = backend(1);
    let e = b
        .terminate_job_and_wait(
            &job(9),
            TerminateJobOptions::default(),
            WaitOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }));
}

#[tokio::test(start_paused = true)]
async fn wait_for_task_returns_when_the_task_finishes() {
    let b = backend(1);
    let seeder = b.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(8)).await;
        seeder.seed().complete_task(&job(0), &task(1), 0).unwrap();
    });
    let start = Instant::now();
    let status = b
        .wait_for_task(
            &job(0),
            &task(1),
            WaitOptions::new(Duration::from_secs(5), Duration::from_secs(60)),
        )
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(10));
    assert_eq!(status.state, TaskState::Succeeded);

    // Already terminal: no waiting at all.
    let again = Instant::now();
    b.wait_for_task(&job(0), &task(1), WaitOptions::default())
        .await
        .unwrap();
    assert_eq!(again.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn waiting_through_a_rate_limit_takes_the_limit_into_account() {
    let memory = backend(1).with_termination_delay(Duration::from_secs(1));
    let limited = RateLimited::new(
        memory,
        RateLimitConfig::default()
            .with_operation(Operation::JobStatus, Quota::every(Duration::from_secs(4))),
    );
    let start = Instant::now();
    let status = limited
        .terminate_job_and_wait(
            &job(0),
            TerminateJobOptions::default(),
            WaitOptions::new(Duration::from_millis(500), Duration::from_secs(60)),
        )
        .await
        .unwrap();
    // Poll at 0 (terminating), then the next permit at 4 s (completed).
    assert_eq!(start.elapsed(), Duration::from_millis(4000));
    assert_eq!(status.state, JobState::Completed);
}

// ----- checks once, outermost -----

/// A memory backend that supports neither reactivate nor terminate reasons.
fn reduced(jobs: u32) -> InMemoryBackend {
    let mut caps = polybatch::Capabilities::all();
    caps.reactivate_task = false;
    caps.terminate_job_reason = false;
    backend(jobs).with_capabilities(caps)
}

#[tokio::test(start_paused = true)]
async fn an_unsupported_call_fails_before_the_rate_limiter_waits() {
    let memory = reduced(1);
    let limited = RateLimited::new(
        memory.clone(),
        RateLimitConfig::uniform(Quota::every(Duration::from_secs(60))),
    );
    // Spend the only permits of both operations.
    limited
        .terminate_job(&job(0), TerminateJobOptions::default())
        .await
        .unwrap();
    let start = Instant::now();
    let e = limited
        .terminate_job(&job(0), TerminateJobOptions::default().with_reason("r"))
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        Error::Unsupported {
            option: Some("reason"),
            ..
        }
    ));
    let e = limited
        .reactivate_task(&job(0), &task(1), Default::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { option: None, .. }));
    assert_eq!(start.elapsed(), Duration::ZERO, "no permit was awaited");
    // The refusals reached the inner backend's journal, never its service.
    let journal = memory.journal();
    assert_eq!(journal.len(), 3);
    assert!(journal[0].executed);
    assert!(journal[1..].iter().all(|e| !e.executed));
    // A supported call still waits for its permit.
    limited
        .terminate_job(&job(0), TerminateJobOptions::default())
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn an_unsupported_call_fails_while_the_concurrency_limit_is_full() {
    let memory = reduced(1);
    memory
        .faults()
        .delay_next(Operation::JobStatus, 1, Duration::from_secs(30));
    let limited = ConcurrencyLimited::new(RateLimited::new(memory.clone(), Default::default()), 1);
    let b = limited.clone();
    let slow = tokio::spawn(async move { b.job_status(&job(0), StatusOptions::default()).await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(limited.available(), 0);
    let start = Instant::now();
    let e = limited
        .reactivate_task(&job(0), &task(1), Default::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }));
    assert_eq!(start.elapsed(), Duration::ZERO);
    slow.await.unwrap().unwrap();
}

/// A backend whose every operation fails with an error naming another backend and operation.
#[derive(Debug)]
struct Mislabels;

impl std::fmt::Display for Mislabels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mislabels")
    }
}

fn mislabelled<T>() -> polybatch::Result<T> {
    Err(Error::service(
        Some(500),
        false,
        polybatch::ErrorContext::new("elsewhere", Operation::TaskStatus),
    ))
}

#[async_trait::async_trait]
impl BatchBackend for Mislabels {
    fn name(&self) -> &'static str {
        "mislabels"
    }

    fn capabilities(&self) -> polybatch::Capabilities {
        polybatch::Capabilities::all()
    }

    async fn terminate_job_impl(
        &self,
        _: &JobId,
        _: TerminateJobOptions,
    ) -> polybatch::Result<polybatch::TerminateJobOutcome> {
        mislabelled()
    }

    async fn reactivate_task_impl(
        &self,
        _: &JobId,
        _: &TaskId,
        _: polybatch::ReactivateTaskOptions,
    ) -> polybatch::Result<polybatch::ReactivateTaskOutcome> {
        mislabelled()
    }

    async fn job_status_impl(
        &self,
        _: &JobId,
        _: StatusOptions,
    ) -> polybatch::Result<polybatch::JobStatus> {
        mislabelled()
    }

    async fn task_status_impl(
        &self,
        _: &JobId,
        _: &TaskId,
        _: StatusOptions,
    ) -> polybatch::Result<polybatch::TaskStatus> {
        mislabelled()
    }

    fn list_prep_release_status_impl(
        &self,
        _: &JobId,
        _: ListPrepReleaseOptions,
    ) -> polybatch::PrepReleaseStream {
        polybatch::error_stream(mislabelled::<()>().unwrap_err())
    }

    async fn retry_failed_tasks_impl(
        &self,
        _: &JobId,
        _: polybatch::RetryFailedTasksOptions,
    ) -> polybatch::Result<polybatch::RetryFailedTasksOutcome> {
        mislabelled()
    }
    async fn submit_job_impl(
        &self,
        _: &polybatch::JobSpec,
        _: &polybatch::IdempotencyKey,
        _: polybatch::SubmitJobOptions,
    ) -> polybatch::Result<polybatch::SubmitJobOutcome> {
        mislabelled()
    }

    async fn job_statuses_impl(
        &self,
        _: &[JobId],
        _: polybatch::JobStatusesOptions,
    ) -> polybatch::Result<polybatch::JobStatuses> {
        mislabelled()
    }

    async fn delete_job_impl(
        &self,
        _: &JobId,
        _: polybatch::DeleteJobOptions,
    ) -> polybatch::Result<polybatch::DeleteJobOutcome> {
        mislabelled()
    }
}

#[tokio::test(start_paused = true)]
async fn every_error_names_the_backend_and_the_operation_called() {
    let b: std::sync::Arc<dyn BatchBackend> = std::sync::Arc::new(Mislabels);
    let (j, t) = (job(0), task(0));
    let got = vec![
        (
            Operation::TerminateJob,
            b.terminate_job(&j, Default::default()).await.unwrap_err(),
        ),
        (
            Operation::ReactivateTask,
            b.reactivate_task(&j, &t, Default::default())
                .await
                .unwrap_err(),
        ),
        (
            Operation::JobStatus,
            b.job_status(&j, Default::default()).await.unwrap_err(),
        ),
        (
            Operation::TaskStatus,
            b.task_status(&j, &t, Default::default()).await.unwrap_err(),
        ),
        (
            Operation::ListPrepReleaseStatus,
            b.list_prep_release_status(&j, Default::default())
                .next()
                .await
                .unwrap()
                .unwrap_err(),
        ),
        (
            Operation::RetryFailedTasks,
            b.retry_failed_tasks(&j, Default::default())
                .await
                .unwrap_err(),
        ),
        (
            Operation::SubmitJob,
            b.submit_job(
                polybatch::JobSpec::new(
                    "j",
                    polybatch::Placement::AzurePool {
                        pool_id: "p".into(),
                    },
                    vec![polybatch::TaskSpec::shell(t.clone(), "true")],
                ),
                Default::default(),
            )
            .await
            .unwrap_err(),
        ),
        (
            Operation::JobStatuses,
            b.job_statuses(std::slice::from_ref(&j), Default::default())
                .await
                .unwrap_err(),
        ),
        (
            Operation::DeleteJob,
            b.delete_job(&j, Default::default()).await.unwrap_err(),
        ),
    ];
    for (op, e) in got {
        assert_eq!((e.backend(), e.operation()), ("mislabels", op), "{e}");
        assert_eq!(e.code(), None);
        assert!(matches!(
            e,
            Error::Service {
                status: Some(500),
                ..
            }
        ));
    }
}

// ----- Restricted, FaultInjected, Journaled: over any backend -----

use polybatch::memory::CallResult;
use polybatch::wrap::{FaultInjected, Journaled, Restricted};

#[tokio::test(start_paused = true)]
async fn restricted_refuses_before_the_inner_backend_and_never_widens() {
    let memory = reduced(1);
    let mut allowed = polybatch::Capabilities::all();
    allowed.retry_failed_tasks = false;
    let r = Restricted::new(memory.clone(), allowed);
    let caps = r.capabilities();
    assert!(!caps.retry_failed_tasks, "narrowed");
    assert!(!caps.reactivate_task, "the inner backend's own limits stay");
    assert!(caps.job_status);
    let e = r
        .retry_failed_tasks(&job(0), Default::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }));
    assert_eq!(memory.requests_seen(), 0);
    // The refusal reached the inner backend's journal as never executed.
    assert_eq!(memory.journal().len(), 1);
    assert!(!memory.journal()[0].executed);
    r.job_status(&job(0), StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(memory.requests_seen(), 1);
    assert_eq!(r.to_string(), "Restricted(InMemory)");
}

#[tokio::test(start_paused = true)]
async fn injected_faults_answer_instead_of_the_inner_backend() {
    let memory = backend(1);
    let f = FaultInjected::new(memory.clone());
    f.faults()
        .fail_next(Operation::JobStatus, 2, |ctx| Error::throttled(None, ctx))
        .delay_next(Operation::TaskStatus, 1, Duration::from_secs(7));
    for _ in 0..2 {
        let e = f
            .job_status(&job(0), StatusOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Throttled { .. }));
        assert_eq!(
            (e.backend(), e.operation()),
            ("memory", Operation::JobStatus)
        );
    }
    assert_eq!(memory.requests_seen(), 0, "the inner backend saw none");
    f.job_status(&job(0), StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(memory.requests_seen(), 1);
    let start = Instant::now();
    f.task_status(&job(0), &task(1), StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(7));
    assert_eq!(f.faults().pending(Operation::JobStatus), (0, 0));
    // A listing takes its faults when first polled.
    f.faults()
        .fail_next(Operation::ListPrepReleaseStatus, 1, |ctx| {
            Error::service(Some(500), true, ctx)
        });
    let mut listing = f.list_prep_release_status(&job(0), ListPrepReleaseOptions::default());
    assert!(listing.next().await.unwrap().is_err());
    assert!(listing.next().await.is_none());
    let all: Vec<_> = f
        .list_prep_release_status(&job(0), ListPrepReleaseOptions::default())
        .collect()
        .await;
    assert_eq!(all.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn the_journal_wrapper_records_every_call_in_order() {
    let memory = reduced(1);
    let j = Journaled::new(memory.clone());
    j.job_status(&job(0), StatusOptions::default())
        .await
        .unwrap();
    let _ = j
        .reactivate_task(&job(0), &task(1), Default::default())
        .await
        .unwrap_err();
    let e = j
        .job_status(&job(7), StatusOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }));
    let listed: Vec<_> = j
        .list_prep_release_status(&job(0), ListPrepReleaseOptions::default().with_page_size(1))
        .collect()
        .await;
    assert_eq!(listed.len(), 2);
    let entries = j.journal();
    let ops: Vec<_> = entries.iter().map(|e| (e.operation, e.executed)).collect();
    assert_eq!(
        ops,
        [
            (Operation::JobStatus, true),
            (Operation::ReactivateTask, false),
            (Operation::JobStatus, true),
            (Operation::ListPrepReleaseStatus, true),
        ]
    );
    assert!(entries[0].succeeded());
    assert_eq!(entries[1].error_kind(), Some("unsupported"));
    assert_eq!(entries[2].error_kind(), Some("not_found"));
    assert!(entries[3].succeeded(), "{:?}", entries[3].result);
    assert_eq!(
        entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert_eq!(j.requests_seen(), 3);
    // Two pages of the listing reached the inner backend, as one journal entry here.
    assert_eq!(memory.requests_seen(), 4);
    j.clear_journal();
    assert!(j.journal().is_empty());
    assert_eq!(j.requests_seen(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_call_is_journaled_as_cancelled_by_the_wrapper() {
    let memory = backend(1);
    memory
        .faults()
        .delay_next(Operation::JobStatus, 1, Duration::from_secs(60));
    let j = Journaled::new(memory);
    let id = job(0);
    let call = j.job_status(&id, StatusOptions::default());
    let timed_out = tokio::time::timeout(Duration::from_secs(1), call).await;
    assert!(timed_out.is_err());
    let entries = j.journal();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].result, CallResult::Cancelled);
    assert!(entries[0].finished_at.is_some());
}
