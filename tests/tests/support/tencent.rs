//! The emulator's Tencent side and the real Tencent client, wired together for end-to-end
//! suites, and the conformance [`Fixture`] over them.
//!
//! Simulated job time is a manual clock the tests move; request timestamps and rate limits run
//! on real time (the emulator's auth clock is the system clock), as they do against the real
//! service.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use polybatch::clock::SystemClock;
use polybatch::conformance::Fixture;
use polybatch::rate::Quota;
use polybatch::retry::RetryPolicy;
use polybatch::{
    BatchBackend, Error, ErrorContext, JobId, JobStatus, Operation, Result, StatusOptions, TaskId,
    TaskStatus,
};
use polybatch_emulator::config::{DEFAULT_TENCENT_SECRET_ID, DEFAULT_TENCENT_SECRET_KEY};
use polybatch_emulator::{
    Context, Emulator, EmulatorConfig, FaultKind, FaultRule, Provider, RunningEmulator, SimClock,
    StatsSnapshot,
};
use polybatch_tencent::{
    ComputeEnvironment, Endpoint, RATE_LIMITS, SubmitJobRequest, TaskRequest, TencentBatchBackend,
    TencentBatchBuilder,
};

/// The region every suite uses.
pub const REGION: &str = "ap-guangzhou";
/// The zone of [`REGION`] the emulator accepts.
pub const ZONE: &str = "ap-guangzhou-2";
/// Requests per second, per action, on both sides when a suite wants speed, not limits.
pub const FAST_RATE: u32 = 500;
/// A run time no test waits out: the task runs until terminated.
pub const FOREVER_SECS: &str = "1000000";

/// How far [`TencentEnv::advance_until`] moves simulated time per poll, and how many polls.
const STEP: Duration = Duration::from_secs(1);
const MAX_STEPS: usize = 120;

/// An emulator serving the Tencent API on an ephemeral loopback port, with a manual simulation
/// clock and the system clock checking request timestamps.
pub struct TencentEnv {
    running: RunningEmulator,
}

/// Emulator limits of `per_second` for every action the client knows.
pub fn uniform_limits(per_second: u32) -> EmulatorConfig {
    let mut config = EmulatorConfig::default();
    for limit in RATE_LIMITS {
        let action = limit.action;
        config
            .tencent
            .rate_limits
            .insert((*action).to_string(), per_second);
    }
    config
}

impl TencentEnv {
    /// Starts an emulator with `config`.
    pub async fn start(config: EmulatorConfig) -> Self {
        let ctx = Context::new(config, SimClock::manual(), Arc::new(SystemClock));
        let running = Emulator::with_context(ctx)
            .spawn_local()
            .await
            .unwrap_or_else(|e| panic!("cannot start the emulator on loopback: {e}"));
        TencentEnv { running }
    }

    /// Starts an emulator with the documented (default) limits.
    pub async fn with_default_limits() -> Self {
        TencentEnv::start(EmulatorConfig::default()).await
    }

    /// Starts an emulator limiting every action to [`FAST_RATE`].
    pub async fn fast() -> Self {
        TencentEnv::start(uniform_limits(FAST_RATE)).await
    }

    /// The emulator.
    pub fn emulator(&self) -> &Emulator {
        self.running.emulator()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.running.url()
    }

    /// A client builder with the emulator's development credentials, region and URL, and the
    /// client's defaults for everything else (rate limits, retries, clock).
    pub fn builder(&self) -> TencentBatchBuilder {
        TencentBatchBuilder::new()
            .with_secret_id(DEFAULT_TENCENT_SECRET_ID)
            .with_secret_key(DEFAULT_TENCENT_SECRET_KEY)
            .with_region(REGION)
            .with_endpoint(Endpoint::Custom(self.url()))
    }

    /// [`TencentEnv::builder`] with every action limited to [`FAST_RATE`] (evenly spaced) and
    /// retries that back off for milliseconds, not seconds.
    pub fn fast_builder(&self) -> TencentBatchBuilder {
        let mut b = self.builder().with_retry_policy(quick_retries());
        for limit in RATE_LIMITS {
            let action = limit.action;
            b = b.with_rate_limit(action, Quota::per_second(FAST_RATE).with_burst(1));
        }
        b
    }

    /// Moves simulated time forward.
    pub fn advance(&self, by: Duration) {
        self.emulator().context().sim_clock.advance(by);
    }

    /// A copy of the emulator's request counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.emulator().context().stats.snapshot()
    }

    /// Tencent requests the emulator has received.
    pub fn requests(&self) -> u64 {
        self.stats().total(Provider::Tencent)
    }

    /// Requests of one action the emulator has received.
    pub fn requests_of(&self, action: &str) -> u64 {
        self.stats()
            .requests
            .get(&format!("tencent:{action}"))
            .copied()
            .unwrap_or(0)
    }

    /// Error answers with `code` the emulator has sent.
    pub fn errors(&self, code: &str) -> u64 {
        self.stats().errors_with_code(Provider::Tencent, code)
    }

    /// The next `times` requests of `action` are answered with the envelope error `code`.
    pub fn inject(&self, action: &str, code: &str, times: u32) {
        self.emulator().context().faults.add(FaultRule {
            probability: None,
            provider: Provider::Tencent,
            operation: action.to_string(),
            times,
            every: 1,
            fault: FaultKind::Error {
                status: 200,
                code: code.to_string(),
                retry_after_secs: None,
            },
        });
    }

    /// Moves simulated time forward a second at a time until `job`'s `DescribeJob` state is
    /// `state`, and returns that status.
    pub async fn advance_until(
        &self,
        backend: &dyn BatchBackend,
        job: &JobId,
        state: &str,
    ) -> Result<JobStatus> {
        for _ in 0..MAX_STEPS {
            let s = backend.job_status(job, StatusOptions::default()).await?;
            if s.provider_state == state {
                return Ok(s);
            }
            self.advance(STEP);
        }
        Err(fixture_error(format!(
            "job {job} did not reach {state} within {MAX_STEPS} simulated seconds"
        )))
    }

    /// Like [`TencentEnv::advance_until`], for one task's `DescribeTask` state.
    pub async fn advance_until_task(
        &self,
        backend: &dyn BatchBackend,
        job: &JobId,
        task: &TaskId,
        state: &str,
    ) -> Result<TaskStatus> {
        for _ in 0..MAX_STEPS {
            let s = backend
                .task_status(job, task, StatusOptions::default())
                .await?;
            if s.provider_state == state {
                return Ok(s);
            }
            self.advance(STEP);
        }
        Err(fixture_error(format!(
            "task {job}/{task} did not reach {state} within {MAX_STEPS} simulated seconds"
        )))
    }
}

/// Retries that keep the default attempt count but back off in milliseconds.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_initial_backoff(Duration::from_millis(10))
        .with_max_backoff(Duration::from_millis(100))
}

/// A fixture failure that is not the backend's fault.
fn fixture_error(message: String) -> Error {
    Error::service(
        None,
        false,
        ErrorContext::new("tencent-fixture", Operation::Other("fixture")).with_message(message),
    )
}

/// A task that exits with `exit_code` after `run_seconds` of simulated running.
pub fn task(name: &str, exit_code: i32, run_seconds: &str) -> TaskRequest {
    let name = TaskId::new(name).unwrap_or_else(|e| panic!("task name {name:?}: {e}"));
    TaskRequest::new(
        name,
        "run-the-simulation",
        ComputeEnvironment::managed("SA5.MEDIUM4", "img-bd78fy2t"),
    )
    .with_env_var("POLYBATCH_EXIT_CODE", exit_code.to_string())
    .with_env_var("POLYBATCH_RUN_SECONDS", run_seconds)
}

/// A job of `tasks` named `name`.
pub fn job(name: &str, tasks: Vec<TaskRequest>) -> SubmitJobRequest {
    tasks.into_iter().fold(
        SubmitJobRequest::new(name, ZONE),
        SubmitJobRequest::with_task,
    )
}

/// The conformance fixture: a fast emulator, the real client built against it, and jobs
/// created with `SubmitJob` and driven by the simulation clock.
pub struct TencentFixture {
    /// The emulator.
    pub env: TencentEnv,
    /// The client under test.
    pub backend: TencentBatchBackend,
    next: AtomicU64,
}

impl TencentFixture {
    /// A fixture over a fresh emulator with every limit at [`FAST_RATE`], and a client with the
    /// same limits.
    pub async fn fast() -> Self {
        let env = TencentEnv::fast().await;
        let backend = env
            .fast_builder()
            .build()
            .unwrap_or_else(|e| panic!("client: {e}"));
        TencentFixture::new(env, backend)
    }

    /// A fixture over `env` and `backend`.
    pub fn new(env: TencentEnv, backend: TencentBatchBackend) -> Self {
        TencentFixture {
            env,
            backend,
            next: AtomicU64::new(0),
        }
    }

    /// A job name no other job of this fixture has.
    pub fn unique_name(&self, what: &str) -> String {
        format!("{what}-{}", self.next.fetch_add(1, Ordering::Relaxed))
    }

    /// Submits a job of `tasks` (named after `what`).
    pub async fn submit(&self, what: &str, tasks: Vec<TaskRequest>) -> Result<JobId> {
        self.backend
            .submit_job_request(job(&self.unique_name(what), tasks))
            .await
    }

    /// Submits a job of `tasks` and advances until `DescribeJob` says `state`.
    pub async fn submit_until(
        &self,
        what: &str,
        tasks: Vec<TaskRequest>,
        state: &str,
    ) -> Result<JobId> {
        let job = self.submit(what, tasks).await?;
        self.env.advance_until(&self.backend, &job, state).await?;
        Ok(job)
    }

    /// See [`TencentEnv::advance_until`].
    pub async fn advance_until(&self, job: &JobId, state: &str) -> Result<JobStatus> {
        self.env.advance_until(&self.backend, job, state).await
    }

    /// See [`TencentEnv::advance_until_task`].
    pub async fn advance_until_task(
        &self,
        job: &JobId,
        task: &TaskId,
        state: &str,
    ) -> Result<TaskStatus> {
        self.env
            .advance_until_task(&self.backend, job, task, state)
            .await
    }
}

fn task_id(name: &str) -> TaskId {
    TaskId::new(name).unwrap_or_else(|e| panic!("task name {name:?}: {e}"))
}

#[async_trait]
impl Fixture for TencentFixture {
    async fn running_job(&self) -> Result<(JobId, TaskId)> {
        let job = self
            .submit_until("running", vec![task("work", 0, FOREVER_SECS)], "RUNNING")
            .await?;
        Ok((job, task_id("work")))
    }

    async fn completed_job(&self) -> Result<JobId> {
        self.submit_until("completed", vec![task("work", 0, "1")], "SUCCEED")
            .await
    }

    async fn job_with_failed_task(&self) -> Result<(JobId, TaskId)> {
        let job = self
            .submit_until("failed", vec![task("broken", 3, "1")], "FAILED")
            .await?;
        Ok((job, task_id("broken")))
    }

    async fn job_with_succeeded_task(&self) -> Result<(JobId, TaskId)> {
        let quick = task_id("quick");
        let job = self
            .submit(
                "succeeded-task",
                vec![task("quick", 0, "1"), task("long", 0, FOREVER_SECS)],
            )
            .await?;
        self.advance_until_task(&job, &quick, "SUCCEED").await?;
        let status = self
            .backend
            .job_status(&job, StatusOptions::default())
            .await?;
        if status.provider_state != "RUNNING" {
            return Err(fixture_error(format!(
                "job {job} should still be RUNNING, is {}",
                status.provider_state
            )));
        }
        Ok((job, quick))
    }

    async fn job_with_prep_release(&self, _nodes: usize) -> Result<JobId> {
        // Tencent has no preparation/release tasks; run_all never asks for one here.
        Err(Error::unsupported(
            self.backend.name(),
            Operation::ListPrepReleaseStatus,
        ))
    }

    async fn advance(&self, by: Duration) {
        self.env.advance(by);
    }

    async fn requests_seen(&self) -> Option<u64> {
        Some(self.env.requests())
    }
    fn placement(&self) -> Option<polybatch::Placement> {
        Some(polybatch::Placement::TencentManaged {
            zone: ZONE.into(),
            instance_type: "S5.MEDIUM2".into(),
            image_id: "img-polybatch".into(),
        })
    }
}
