//! The emulator's AWS side and the real AWS backend (on the official SDK), wired together for
//! end-to-end suites, and the conformance [`Fixture`] over them.
//!
//! Simulated job time is a manual clock the tests move; request timestamps (SigV4's 15-minute
//! window) are checked against the system clock, as the service does.

use std::time::Duration;

use async_trait::async_trait;
use polybatch::conformance::Fixture;
use polybatch::{
    BatchBackend, Error, ErrorContext, JobId, JobSpec, JobState, Operation, Placement, Result,
    StatusOptions, SubmitJobOptions, TaskId, TaskSpec,
};
use polybatch_aws::{AwsBatchBackend, AwsBatchBuilder};
use polybatch_emulator::aws::{SEEDED_JOB_DEFINITION, SEEDED_QUEUE};
use polybatch_emulator::config::{DEFAULT_AWS_ACCESS_KEY_ID, DEFAULT_AWS_SECRET_ACCESS_KEY};
use polybatch_emulator::{Emulator, EmulatorConfig, Provider, RunningEmulator, StatsSnapshot};

/// The region every suite uses.
pub const REGION: &str = "us-east-1";
/// A run time no test waits out: the job runs until terminated.
pub const FOREVER_SECS: &str = "1000000";

const STEP: Duration = Duration::from_secs(1);
const MAX_STEPS: usize = 300;

/// An emulator serving AWS Batch on an ephemeral loopback port, with a manual simulation clock.
pub struct AwsEnv {
    running: RunningEmulator,
}

impl AwsEnv {
    /// Starts an emulator with `config`.
    pub async fn start(config: EmulatorConfig) -> Self {
        let running = Emulator::spawn_manual(config)
            .await
            .unwrap_or_else(|e| panic!("cannot start the emulator on loopback: {e}"));
        AwsEnv { running }
    }

    /// Starts an emulator with the default configuration.
    pub async fn default_config() -> Self {
        AwsEnv::start(EmulatorConfig::default()).await
    }

    /// The emulator's URL.
    pub fn url(&self) -> String {
        self.running.url()
    }

    /// The running emulator.
    pub fn emulator(&self) -> &Emulator {
        self.running.emulator()
    }

    /// A builder aimed at the emulator with its default keys and the seeded queue.
    pub fn builder(&self) -> AwsBatchBuilder {
        AwsBatchBuilder::new()
            .with_region(REGION)
            .with_endpoint_url(self.url())
            .with_credentials(
                DEFAULT_AWS_ACCESS_KEY_ID,
                DEFAULT_AWS_SECRET_ACCESS_KEY,
                None,
            )
            .with_job_queue(SEEDED_QUEUE)
    }

    /// The backend of [`AwsEnv::builder`].
    pub async fn backend(&self) -> AwsBatchBackend {
        self.builder()
            .build()
            .await
            .unwrap_or_else(|e| panic!("AWS backend for the emulator: {e}"))
    }

    /// Moves simulated time.
    pub fn advance(&self, by: Duration) {
        self.emulator().context().sim_clock.advance(by);
    }

    /// Request counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.emulator().context().stats.snapshot()
    }

    /// Requests of `operation` received so far.
    pub fn requests(&self, operation: &str) -> u64 {
        self.emulator()
            .context()
            .stats
            .snapshot()
            .requests(Provider::Aws, operation)
    }

    /// Error answers with `code` so far.
    pub fn errors(&self, code: &str) -> u64 {
        self.emulator()
            .context()
            .stats
            .snapshot()
            .errors_with_code(Provider::Aws, code)
    }
}

/// Where fixture jobs run: the seeded queue and definition.
pub fn placement() -> Placement {
    Placement::AwsJobQueue {
        job_queue: SEEDED_QUEUE.into(),
        // Pinned to the revision, as an export gives it back.
        job_definition: format!("{SEEDED_JOB_DEFINITION}:1"),
    }
}

/// A one-task spec running `secs` and exiting `exit`, with `instances` array children.
pub fn spec(name: &str, secs: &str, exit: i64, instances: u32) -> JobSpec {
    let mut task = TaskSpec::shell(
        TaskId::new("work").unwrap_or_else(|e| panic!("{e}")),
        "true",
    )
    .with_env(polybatch_protocol::sim_env::RUN_SECONDS_VAR, secs)
    .with_env(polybatch_protocol::sim_env::EXIT_CODE_VAR, exit.to_string());
    task.instance_count = instances;
    JobSpec::new(name, placement(), vec![task])
}

/// The conformance fixture: the AWS backend over the emulator.
pub struct AwsFixture {
    /// The environment.
    pub env: AwsEnv,
    /// The backend under test.
    pub backend: AwsBatchBackend,
}

impl AwsFixture {
    /// A fixture over a fresh emulator.
    pub async fn start() -> Self {
        let env = AwsEnv::default_config().await;
        let backend = env.backend().await;
        AwsFixture { env, backend }
    }

    fn zero() -> TaskId {
        TaskId::new("0").unwrap_or_else(|e| panic!("{e}"))
    }

    async fn submit(&self, spec: JobSpec) -> Result<JobId> {
        Ok(self
            .backend
            .submit_job(spec, SubmitJobOptions::default())
            .await?
            .job)
    }

    /// Moves time until `reached` holds for the job's status.
    async fn until(
        &self,
        job: &JobId,
        what: &str,
        reached: impl Fn(&polybatch::JobStatus) -> bool,
    ) -> Result<()> {
        for _ in 0..MAX_STEPS {
            let s = self
                .backend
                .job_status(job, StatusOptions::default())
                .await?;
            if reached(&s) {
                return Ok(());
            }
            self.env.advance(STEP);
        }
        Err(Error::invalid_state(
            None,
            ErrorContext::new("aws", Operation::Other("fixture"))
                .with_message(format!("{job}: {what} not reached")),
        ))
    }
}

#[async_trait]
impl Fixture for AwsFixture {
    async fn running_job(&self) -> Result<(JobId, TaskId)> {
        let job = self.submit(spec("running", FOREVER_SECS, 0, 1)).await?;
        self.until(&job, "RUNNING", |s| s.provider_state == "RUNNING")
            .await?;
        Ok((job, Self::zero()))
    }

    async fn completed_job(&self) -> Result<JobId> {
        let job = self.submit(spec("completed", "1", 0, 1)).await?;
        self.until(&job, "SUCCEEDED", |s| s.state == JobState::Succeeded)
            .await?;
        Ok(job)
    }

    async fn job_with_failed_task(&self) -> Result<(JobId, TaskId)> {
        let job = self.submit(spec("failed", "1", 3, 1)).await?;
        self.until(&job, "FAILED", |s| s.state == JobState::Failed)
            .await?;
        Ok((job, Self::zero()))
    }

    async fn job_with_succeeded_task(&self) -> Result<(JobId, TaskId)> {
        // Two children one after the other: the first has succeeded while the second runs.
        let mut spec = spec("half-done", "60", 0, 2);
        spec.extensions.insert(
            "aws".into(),
            serde_json::json!({"dependsOn": [{"type": "SEQUENTIAL"}]}),
        );
        let job = self.submit(spec).await?;
        let first = Self::zero();
        for _ in 0..MAX_STEPS {
            let t = self
                .backend
                .task_status(&job, &first, StatusOptions::default())
                .await?;
            if t.provider_state == "SUCCEEDED" {
                return Ok((job, first));
            }
            self.env.advance(STEP);
        }
        Err(Error::invalid_state(
            None,
            ErrorContext::new("aws", Operation::Other("fixture"))
                .with_message("the first child did not succeed"),
        ))
    }

    async fn job_with_prep_release(&self, _nodes: usize) -> Result<JobId> {
        Err(Error::unsupported_option(
            "aws",
            Operation::ListPrepReleaseStatus,
            "prep/release",
        ))
    }

    async fn advance(&self, by: Duration) {
        self.env.advance(by);
    }

    async fn requests_seen(&self) -> Option<u64> {
        Some(self.env.stats().total(Provider::Aws))
    }

    fn placement(&self) -> Option<Placement> {
        Some(placement())
    }
}
