//! The emulator's Azure side and the real Azure client, wired together for end-to-end suites,
//! and the conformance [`Fixture`] over them.
//!
//! Simulated job time is a manual clock the tests move; request dates and token lifetimes are
//! checked against the system clock, as the real service checks them. Every job the fixture
//! makes runs on a pool of its own, so tasks left running by one check never hold the nodes
//! another check needs.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::TryStreamExt;
use polybatch::clock::SystemClock;
use polybatch::conformance::Fixture;
use polybatch::retry::RetryPolicy;
use polybatch::{
    BatchBackend, Error, ErrorContext, JobId, JobStatus, ListPrepReleaseOptions, Operation,
    PrepReleaseState, Result, StatusOptions, TaskId, TaskState, TaskStatus,
};
use polybatch_azure::{
    AddJobRequest, AddTaskRequest, ApiVersion, AzureBatchBackend, AzureBatchBuilder, JobTaskSpec,
    OnAllTasksComplete,
};
use polybatch_emulator::{
    AzureConfig, Context, Emulator, EmulatorConfig, Faults, Provider, RunningEmulator, SimClock,
    StatsSnapshot,
};
use polybatch_protocol::sim_env::{EXIT_CODE_VAR, RUN_SECONDS_VAR};

/// Nodes in every pool: more than [`PREP_RELEASE_NODES`].
pub const NODES_PER_POOL: usize = 30;
/// Records the conformance paging check lists, two per page: 13 pages.
pub const PREP_RELEASE_NODES: usize = 25;
/// A run time no test waits out: the task runs until its job is terminated.
pub const FOREVER_SECS: &str = "1000000";

/// How far [`AzureFixture::advance_until`] moves simulated time per poll, and how many polls.
const STEP: Duration = Duration::from_secs(1);
const MAX_STEPS: usize = 120;

/// How the client authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// The account's Shared Key.
    SharedKey,
    /// Microsoft Entra ID client credentials, from the emulator's token endpoint.
    EntraId,
}

impl fmt::Display for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Auth::SharedKey => "Shared Key",
            Auth::EntraId => "Entra ID",
        })
    }
}

/// An emulator serving the Azure API on an ephemeral loopback port, with a manual simulation
/// clock and the system clock checking request dates and tokens.
pub struct AzureEnv {
    running: RunningEmulator,
}

impl AzureEnv {
    /// Starts an emulator with [`NODES_PER_POOL`] nodes per pool.
    pub async fn start() -> Self {
        let mut config = EmulatorConfig::default();
        config.azure.nodes_per_pool = NODES_PER_POOL;
        let ctx = Context::new(config, SimClock::manual(), Arc::new(SystemClock));
        let running = Emulator::with_context(ctx)
            .spawn_local()
            .await
            .unwrap_or_else(|e| panic!("cannot start the emulator on loopback: {e}"));
        AzureEnv { running }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.running.url()
    }

    /// The emulator.
    pub fn emulator(&self) -> &polybatch_emulator::Emulator {
        self.running.emulator()
    }

    /// The emulator's Azure settings (account, key, Entra ID client).
    pub fn config(&self) -> &AzureConfig {
        &self.running.emulator().context().config.azure
    }

    /// Fault injection.
    pub fn faults(&self) -> &Faults {
        &self.running.emulator().context().faults
    }

    /// The request counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.running.emulator().context().stats.snapshot()
    }

    /// Requests the Azure front end (token endpoint included) has received.
    pub fn requests(&self) -> u64 {
        self.stats().total(Provider::Azure)
    }

    /// Moves simulated time forward.
    pub fn advance(&self, by: Duration) {
        self.running.emulator().context().sim_clock.advance(by);
    }

    /// A client builder for this emulator with the emulator's own credentials, and retries
    /// that wait milliseconds (a server's `Retry-After` still wins).
    pub fn builder(&self, auth: Auth, version: ApiVersion) -> AzureBatchBuilder {
        let c = self.config();
        let builder = AzureBatchBuilder::new()
            .with_endpoint(self.url())
            .with_api_version(version)
            .with_retry_policy(
                RetryPolicy::default()
                    .with_initial_backoff(Duration::from_millis(5))
                    .with_max_backoff(Duration::from_millis(50))
                    .with_jitter(false),
            )
            .with_timeout(Duration::from_secs(10));
        match auth {
            Auth::SharedKey => builder
                .with_account(&c.account)
                .with_shared_key(c.key.expose()),
            Auth::EntraId => builder
                .with_client_credentials(&c.tenant_id, &c.client_id, c.client_secret.expose())
                .with_authority_host(self.url()),
        }
    }

    /// A client for this emulator.
    pub fn backend(&self, auth: Auth, version: ApiVersion) -> AzureBatchBackend {
        self.builder(auth, version)
            .build()
            .unwrap_or_else(|e| panic!("building the {auth} client for {version}: {e}"))
    }
}

/// How one simulated command runs.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Simulated seconds (a string, as the environment setting carries it).
    pub secs: &'static str,
    /// The exit code.
    pub exit_code: i32,
}

impl Run {
    /// Runs for `secs` and exits 0.
    pub const fn ok(secs: &'static str) -> Run {
        Run { secs, exit_code: 0 }
    }

    /// Runs for `secs` and exits `exit_code`.
    pub const fn exits(secs: &'static str, exit_code: i32) -> Run {
        Run { secs, exit_code }
    }

    /// Runs until terminated.
    pub const fn forever() -> Run {
        Run::ok(FOREVER_SECS)
    }

    fn env(self) -> [(String, String); 2] {
        [
            (RUN_SECONDS_VAR.to_string(), self.secs.to_string()),
            (EXIT_CODE_VAR.to_string(), self.exit_code.to_string()),
        ]
    }

    /// A preparation or release task that runs like this.
    pub fn spec(self, command: &str) -> JobTaskSpec {
        self.env()
            .into_iter()
            .fold(JobTaskSpec::new(command), |s, (n, v)| s.with_env(n, v))
    }
}

/// Seeds jobs through the client's own Azure-only calls (`add_job`, `add_task`) and moves the
/// emulator's simulated time; implements the conformance [`Fixture`].
pub struct AzureFixture {
    env: AzureEnv,
    backend: AzureBatchBackend,
    next: AtomicU64,
}

fn fixture_error(message: String) -> Error {
    Error::timeout(ErrorContext::new("azure", Operation::Other("fixture")).with_message(message))
}

impl AzureFixture {
    /// A fixture over `env`, seeding with `backend` (normally the backend under test).
    pub fn new(env: AzureEnv, backend: AzureBatchBackend) -> Self {
        AzureFixture {
            env,
            backend,
            next: AtomicU64::new(1),
        }
    }

    /// Starts an emulator and a client with `auth` and `version`.
    pub async fn start(auth: Auth, version: ApiVersion) -> Self {
        let env = AzureEnv::start().await;
        let backend = env.backend(auth, version);
        AzureFixture::new(env, backend)
    }

    /// The emulator.
    pub fn env(&self) -> &AzureEnv {
        &self.env
    }

    /// The client the fixture seeds with.
    pub fn backend(&self) -> &AzureBatchBackend {
        &self.backend
    }

    /// A fresh job id and a pool of its own.
    pub fn new_job(&self) -> (JobId, String) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let job =
            JobId::new(format!("e2e-job-{n}")).unwrap_or_else(|e| panic!("fixture job id: {e}"));
        (job, format!("e2e-pool-{n}"))
    }

    /// Creates a job with the request `edit` makes from a plain one on its own pool.
    pub async fn add_job(
        &self,
        edit: impl FnOnce(AddJobRequest) -> AddJobRequest,
    ) -> Result<JobId> {
        let (job, pool) = self.new_job();
        self.backend
            .add_job(edit(AddJobRequest::new(job.clone(), pool)))
            .await?;
        Ok(job)
    }

    /// Adds task `id` to `job`, running as `run`.
    pub async fn add_task(&self, job: &JobId, id: &str, run: Run) -> Result<TaskId> {
        let task = TaskId::new(id)?;
        let request = run.env().into_iter().fold(
            AddTaskRequest::new(task.clone(), "simulated"),
            |r, (n, v)| r.with_env(n, v),
        );
        self.backend.add_task(job, request).await?;
        Ok(task)
    }

    /// Moves simulated time in small steps until the task satisfies `done` (bounded).
    pub async fn advance_until_task(
        &self,
        job: &JobId,
        task: &TaskId,
        what: &str,
        done: impl Fn(&TaskStatus) -> bool,
    ) -> Result<TaskStatus> {
        for _ in 0..MAX_STEPS {
            let s = self
                .backend
                .task_status(job, task, StatusOptions::default())
                .await?;
            if done(&s) {
                return Ok(s);
            }
            self.env.advance(STEP);
        }
        Err(fixture_error(format!(
            "task {job}/{task} not {what} after {MAX_STEPS} steps of {STEP:?}"
        )))
    }

    /// Moves simulated time in small steps until the job satisfies `done` (bounded).
    pub async fn advance_until_job(
        &self,
        job: &JobId,
        what: &str,
        done: impl Fn(&JobStatus) -> bool,
    ) -> Result<JobStatus> {
        for _ in 0..MAX_STEPS {
            let s = self
                .backend
                .job_status(job, StatusOptions::default())
                .await?;
            if done(&s) {
                return Ok(s);
            }
            self.env.advance(STEP);
        }
        Err(fixture_error(format!(
            "job {job} not {what} after {MAX_STEPS} steps of {STEP:?}"
        )))
    }

    /// An active job with one task that finishes as `run` does; waits until it finished.
    pub async fn job_with_finished_task(&self, run: Run) -> Result<(JobId, TaskId)> {
        let job = self.add_job(|r| r).await?;
        let task = self.add_task(&job, "task-1", run).await?;
        self.advance_until_task(&job, &task, "completed", |s| s.state.is_terminal())
            .await?;
        Ok((job, task))
    }

    /// A job with preparation and release tasks (running as given) and `tasks` short tasks,
    /// one per node; waits until every preparation task completed.
    pub async fn job_with_prep_release_runs(
        &self,
        tasks: usize,
        prep: Run,
        release: Run,
        task_run: Run,
    ) -> Result<JobId> {
        let job = self
            .add_job(|r| {
                r.with_preparation_task(prep.spec("prepare"))
                    .with_release_task(release.spec("release"))
            })
            .await?;
        // Simulated time stands still while they are added, so each takes a node of its own.
        for i in 0..tasks {
            self.add_task(&job, &format!("task-{i}"), task_run).await?;
        }
        for _ in 0..MAX_STEPS {
            let records: Vec<_> = self
                .backend
                .list_prep_release_status(&job, ListPrepReleaseOptions::default())
                .try_collect()
                .await?;
            let prepared = records
                .iter()
                .filter(|r| {
                    r.preparation
                        .as_ref()
                        .is_some_and(|p| p.state == PrepReleaseState::Completed)
                })
                .count();
            if prepared >= tasks {
                return Ok(job);
            }
            self.env.advance(STEP);
        }
        Err(fixture_error(format!(
            "job {job}: preparation not completed on {tasks} nodes after {MAX_STEPS} steps"
        )))
    }
}

#[async_trait]
impl Fixture for AzureFixture {
    async fn running_job(&self) -> Result<(JobId, TaskId)> {
        let job = self.add_job(|r| r).await?;
        let task = self.add_task(&job, "task-1", Run::forever()).await?;
        self.advance_until_task(&job, &task, "running", |s| s.state == TaskState::Running)
            .await?;
        Ok((job, task))
    }

    async fn completed_job(&self) -> Result<JobId> {
        let job = self
            .add_job(|r| r.with_on_all_tasks_complete(OnAllTasksComplete::TerminateJob))
            .await?;
        self.add_task(&job, "task-1", Run::ok("1")).await?;
        self.advance_until_job(&job, "completed", |s| s.state.is_terminal())
            .await?;
        Ok(job)
    }

    async fn job_with_failed_task(&self) -> Result<(JobId, TaskId)> {
        self.job_with_finished_task(Run::exits("1", 3)).await
    }

    async fn job_with_succeeded_task(&self) -> Result<(JobId, TaskId)> {
        self.job_with_finished_task(Run::ok("1")).await
    }

    async fn job_with_prep_release(&self, nodes: usize) -> Result<JobId> {
        if nodes > NODES_PER_POOL {
            return Err(fixture_error(format!(
                "{nodes} nodes asked for; pools have {NODES_PER_POOL}"
            )));
        }
        self.job_with_prep_release_runs(nodes, Run::ok("1"), Run::ok("1"), Run::ok("1"))
            .await
    }

    fn max_prep_release_nodes(&self) -> usize {
        PREP_RELEASE_NODES
    }

    async fn advance(&self, by: Duration) {
        self.env.advance(by);
    }

    async fn requests_seen(&self) -> Option<u64> {
        Some(self.env.requests())
    }
    fn placement(&self) -> Option<polybatch::Placement> {
        Some(polybatch::Placement::AzurePool {
            pool_id: "lifecycle-pool".into(),
        })
    }
}
