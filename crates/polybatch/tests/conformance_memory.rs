//! The conformance suite against `InMemoryBackend`, every way it can be held and wrapped, and
//! with a provider's reduced capabilities (so the `Unsupported` paths run too).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use polybatch::conformance::{self, MemoryFixture};
use polybatch::memory::InMemoryBackend;
use polybatch::rate::Quota;
use polybatch::wrap::{ConcurrencyLimited, RateLimitConfig, RateLimited};
use polybatch::{BatchBackend, Capabilities, JobId, Result, TaskId};

/// A backend whose terminations take a while, so the suite sees `terminating` too.
fn memory() -> InMemoryBackend {
    InMemoryBackend::new().with_termination_delay(Duration::from_secs(12))
}

#[tokio::test(start_paused = true)]
async fn in_memory_backend() {
    let backend = memory();
    let fixture = MemoryFixture::new(&backend);
    conformance::run_all(&backend, &fixture).await;
    // The suite went through the journal: every call is there, none in flight.
    assert!(backend.requests_seen() > 20);
    assert_eq!(backend.in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn in_memory_backend_terminating_at_once() {
    let backend = InMemoryBackend::new();
    conformance::run_all(&backend, &MemoryFixture::new(&backend)).await;
}

#[tokio::test(start_paused = true)]
async fn arc_dyn_backend() {
    let memory = memory();
    let fixture = MemoryFixture::new(&memory);
    let backend: Arc<dyn BatchBackend> = Arc::new(memory);
    conformance::run_all(&backend, &fixture).await;
}

#[tokio::test(start_paused = true)]
async fn box_dyn_backend() {
    let memory = memory();
    let fixture = MemoryFixture::new(&memory);
    let backend: Box<dyn BatchBackend> = Box::new(memory);
    conformance::run_all(&backend, &fixture).await;
}

#[tokio::test(start_paused = true)]
async fn rate_limited_backend() {
    let memory = memory();
    let fixture = MemoryFixture::new(&memory);
    let backend = RateLimited::new(
        memory,
        RateLimitConfig::uniform(Quota::per_second(2)).with_operation(
            polybatch::Operation::TerminateJob,
            Quota::every(Duration::from_secs(1)),
        ),
    );
    conformance::run_all(&backend, &fixture).await;
}

#[tokio::test(start_paused = true)]
async fn concurrency_limited_backend() {
    let memory = memory();
    let fixture = MemoryFixture::new(&memory);
    let backend = ConcurrencyLimited::new(memory.clone(), 1);
    conformance::run_all(&backend, &fixture).await;
    assert_eq!(memory.peak_in_flight(), 1);
}

#[tokio::test(start_paused = true)]
async fn composed_wrappers_behind_arc_dyn() {
    let memory = memory();
    let fixture = MemoryFixture::new(&memory);
    let backend: Arc<dyn BatchBackend> = Arc::new(ConcurrencyLimited::new(
        RateLimited::new(memory, RateLimitConfig::uniform(Quota::per_second(5))),
        4,
    ));
    conformance::run_all(&backend, &fixture).await;
}

/// What Tencent Cloud Batch can do: terminate without reason or force, statuses, and the
/// job-level retry; no per-task reactivate, no prep/release listing, no preconditions.
fn tencent_like() -> Capabilities {
    let mut caps = Capabilities::all();
    caps.terminate_job_reason = false;
    caps.terminate_job_force = false;
    caps.reactivate_task = false;
    caps.list_prep_release_status = false;
    caps.list_prep_release_filter = false;
    caps.list_prep_release_select = false;
    caps.conditional_requests = false;
    caps.server_timeout = false;
    caps
}

#[tokio::test(start_paused = true)]
async fn reduced_capabilities_tencent_like() {
    let memory = memory();
    let fixture = MemoryFixture::new(&memory);
    let backend = memory.clone().with_capabilities(tencent_like());
    conformance::run_all(&backend, &fixture).await;
    // The refused calls are journaled, but never as executed.
    let refused: Vec<_> = memory
        .journal()
        .into_iter()
        .filter(|e| e.error_kind() == Some("unsupported"))
        .collect();
    assert!(refused.len() >= 10, "{}", refused.len());
    assert!(refused.iter().all(|e| !e.executed));
}

#[tokio::test(start_paused = true)]
async fn reduced_capabilities_nothing_but_statuses() {
    let memory = memory();
    let fixture = MemoryFixture::new(&memory);
    let mut caps = Capabilities::none();
    caps.job_status = true;
    caps.task_status = true;
    let backend = memory.clone().with_capabilities(caps);
    conformance::run_all(&backend, &fixture).await;
}

#[tokio::test(start_paused = true)]
async fn reduced_capabilities_nothing_at_all() {
    let memory = memory();
    let fixture = MemoryFixture::new(&memory);
    let backend = memory.clone().with_capabilities(Capabilities::none());
    conformance::run_all(&backend, &fixture).await;
    assert_eq!(memory.requests_seen(), 0);
}

#[tokio::test(start_paused = true)]
async fn listing_without_filter_or_select() {
    let memory = memory();
    let fixture = MemoryFixture::new(&memory);
    let mut caps = Capabilities::all();
    caps.list_prep_release_filter = false;
    caps.list_prep_release_select = false;
    let backend = memory.clone().with_capabilities(caps);
    conformance::prep_release_paging(&backend, &fixture).await;
    conformance::unsupported_fail_before_io(&backend, &fixture).await;
}

/// The suite can fail: a backend whose terminate errors is caught.
#[tokio::test(start_paused = true)]
#[should_panic(expected = "conformance check `terminate_is_idempotent` failed")]
async fn a_failing_terminate_fails_the_suite() {
    let memory = memory();
    let fixture = MemoryFixture::new(&memory);
    memory
        .faults()
        .fail_next(polybatch::Operation::TerminateJob, 100, |ctx| {
            polybatch::Error::service(Some(500), false, ctx)
        });
    conformance::terminate_is_idempotent(&memory, &fixture).await;
}

/// A backend that reports `retry_failed_tasks` as unsupported only after sending a request: it
/// overrides the trait's checked entry point, which a backend must not do.
#[derive(Debug)]
struct ChecksTooLate(InMemoryBackend);

impl std::fmt::Display for ChecksTooLate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChecksTooLate")
    }
}

#[async_trait]
impl BatchBackend for ChecksTooLate {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::all();
        caps.retry_failed_tasks = false;
        caps
    }

    async fn retry_failed_tasks(
        &self,
        job: &JobId,
        _options: polybatch::RetryFailedTasksOptions,
    ) -> Result<polybatch::RetryFailedTasksOutcome> {
        let _ = self
            .0
            .job_status(job, polybatch::StatusOptions::default())
            .await;
        Err(polybatch::Error::unsupported(
            self.name(),
            polybatch::Operation::RetryFailedTasks,
        ))
    }

    async fn terminate_job_impl(
        &self,
        job: &JobId,
        options: polybatch::TerminateJobOptions,
    ) -> Result<polybatch::TerminateJobOutcome> {
        self.0.terminate_job_impl(job, options).await
    }

    async fn reactivate_task_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: polybatch::ReactivateTaskOptions,
    ) -> Result<polybatch::ReactivateTaskOutcome> {
        self.0.reactivate_task_impl(job, task, options).await
    }

    async fn job_status_impl(
        &self,
        job: &JobId,
        options: polybatch::StatusOptions,
    ) -> Result<polybatch::JobStatus> {
        self.0.job_status_impl(job, options).await
    }

    async fn task_status_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: polybatch::StatusOptions,
    ) -> Result<polybatch::TaskStatus> {
        self.0.task_status_impl(job, task, options).await
    }

    fn list_prep_release_status_impl(
        &self,
        job: &JobId,
        options: polybatch::ListPrepReleaseOptions,
    ) -> polybatch::PrepReleaseStream {
        self.0.list_prep_release_status_impl(job, options)
    }

    async fn retry_failed_tasks_impl(
        &self,
        job: &JobId,
        options: polybatch::RetryFailedTasksOptions,
    ) -> Result<polybatch::RetryFailedTasksOutcome> {
        self.0.retry_failed_tasks_impl(job, options).await
    }
    async fn submit_job_impl(
        &self,
        spec: &polybatch::JobSpec,
        key: &polybatch::IdempotencyKey,
        options: polybatch::SubmitJobOptions,
    ) -> Result<polybatch::SubmitJobOutcome> {
        self.0.submit_job_impl(spec, key, options).await
    }

    async fn job_statuses_impl(
        &self,
        jobs: &[JobId],
        options: polybatch::JobStatusesOptions,
    ) -> Result<polybatch::JobStatuses> {
        self.0.job_statuses_impl(jobs, options).await
    }

    async fn delete_job_impl(
        &self,
        job: &JobId,
        options: polybatch::DeleteJobOptions,
    ) -> Result<polybatch::DeleteJobOutcome> {
        self.0.delete_job_impl(job, options).await
    }
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "the service saw requests")]
async fn unsupported_after_io_fails_the_suite() {
    let memory = memory();
    let fixture = MemoryFixture::new(&memory);
    conformance::unsupported_fail_before_io(&ChecksTooLate(memory), &fixture).await;
}

#[tokio::test(start_paused = true)]
async fn in_memory_tencent_flavour() {
    let backend = InMemoryBackend::tencent();
    conformance::run_all(&backend, &MemoryFixture::new(&backend)).await;
    assert!(backend.requests_seen() > 10);
    assert_eq!(backend.in_flight(), 0);
    // The refusals of what Tencent cannot do were journaled, never executed.
    assert!(backend.journal().iter().any(|e| !e.executed));
}

#[tokio::test(start_paused = true)]
async fn in_memory_aws_flavour() {
    let backend = InMemoryBackend::aws();
    conformance::run_all(&backend, &MemoryFixture::new(&backend)).await;
    assert!(backend.requests_seen() > 10);
    assert_eq!(backend.in_flight(), 0);
    // What AWS cannot do (reactivate, prep/release, delete) was refused before any call.
    assert!(backend.journal().iter().any(|e| !e.executed));
}
