//! The demo's world: an in-process emulator, the real Azure and Tencent clients pointed at it,
//! and the work created through each provider's own API (the provider crates' extras).

use std::sync::Arc;
use std::time::Duration;

use polybatch::clock::SystemClock;
use polybatch::rate::Quota;
use polybatch::{BatchBackend, JobId, TaskId};
use polybatch_azure::{
    AddJobRequest, AddTaskRequest, AzureBatchBackend, AzureBatchBuilder, JobTaskSpec,
};
use polybatch_emulator::config::{
    DEFAULT_AZURE_ACCOUNT, DEFAULT_AZURE_KEY, DEFAULT_TENCENT_REGION, DEFAULT_TENCENT_SECRET_ID,
    DEFAULT_TENCENT_SECRET_KEY,
};
use polybatch_emulator::{Context, Emulator, EmulatorConfig, RunningEmulator, SimClock};
use polybatch_tencent::{
    ComputeEnvironment, Endpoint, RATE_LIMITS, SubmitJobRequest, TaskRequest, TencentBatchBackend,
    TencentBatchBuilder,
};

use crate::exit::CliError;

/// The per-action Tencent rate the demo's client keeps to (Tencent documents 2 to 3 requests
/// per second for these actions; the demo raises it so it runs in seconds).
pub const DEMO_CLIENT_RATE: u32 = 20;
/// The per-action limit the demo's emulator enforces: above the client's, so the client's
/// evenly spaced requests are never refused.
pub const DEMO_SERVER_RATE: u32 = 50;

/// Simulated run time of work meant to be still running when the demo ends.
pub const LONG_RUN_SECONDS: &str = "3600";
/// Simulated run time of the short tasks.
pub const SHORT_RUN_SECONDS: &str = "2";
/// The exit code of the failing work.
pub const FAILING_EXIT_CODE: i32 = 3;

/// The environment variable the emulator reads a command's run time from.
pub const RUN_SECONDS: &str = "POLYBATCH_RUN_SECONDS";
/// The environment variable the emulator reads a command's exit code from.
pub const EXIT_CODE: &str = "POLYBATCH_EXIT_CODE";

/// The running emulator and both real clients.
pub struct World {
    pub running: RunningEmulator,
    pub azure: AzureBatchBackend,
    pub tencent: TencentBatchBackend,
}

impl World {
    /// Starts the emulator on an ephemeral loopback port, with a simulation clock that moves
    /// only when [`World::advance`] says, and builds both clients with the published
    /// development credentials.
    pub async fn start() -> Result<World, CliError> {
        let mut config = EmulatorConfig::default();
        for limit in RATE_LIMITS {
            let action = limit.action;
            config
                .tencent
                .rate_limits
                .insert((*action).to_string(), DEMO_SERVER_RATE);
        }
        // Simulated time moves only when the demo advances it, so no step races the wall
        // clock (a Tencent job is SUBMITTED for its first simulated second, and the demo must
        // observe that window however loaded the machine is). Authentication still checks
        // request timestamps against the real clock.
        let ctx = Context::new(config, SimClock::manual(), Arc::new(SystemClock));
        let running = Emulator::with_context(ctx)
            .spawn_local()
            .await
            .map_err(|e| CliError::failed(format!("demo: cannot start the emulator: {e}")))?;
        let url = running.url();
        let azure = AzureBatchBuilder::new()
            .with_endpoint(url.clone())
            .with_account(DEFAULT_AZURE_ACCOUNT)
            .with_shared_key(DEFAULT_AZURE_KEY)
            .build()?;
        let mut tencent = TencentBatchBuilder::new()
            .with_endpoint(Endpoint::Custom(url))
            .with_secret_id(DEFAULT_TENCENT_SECRET_ID)
            .with_secret_key(DEFAULT_TENCENT_SECRET_KEY)
            .with_region(DEFAULT_TENCENT_REGION);
        for limit in RATE_LIMITS {
            let action = limit.action;
            tencent =
                tencent.with_rate_limit(action, Quota::per_second(DEMO_CLIENT_RATE).with_burst(1));
        }
        let tencent = tencent.build()?;
        Ok(World {
            running,
            azure,
            tencent,
        })
    }

    /// Moves simulated time forward (instead of waiting).
    pub fn advance(&self, seconds: u64) {
        self.running
            .emulator()
            .context()
            .sim_clock
            .advance(Duration::from_secs(seconds));
    }

    /// Requests the emulator has received so far (both providers).
    pub fn requests_received(&self) -> u64 {
        self.running
            .emulator()
            .context()
            .stats
            .snapshot()
            .requests
            .values()
            .sum()
    }

    /// Both clients as the neutral trait.
    pub fn backends(&self) -> (Arc<dyn BatchBackend>, Arc<dyn BatchBackend>) {
        (Arc::new(self.azure.clone()), Arc::new(self.tencent.clone()))
    }
}

/// The same three pieces of work on each provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Work {
    /// Exits 0 after a short run.
    Succeeds,
    /// Exits with [`FAILING_EXIT_CODE`] after a short run, no retries.
    Fails,
    /// Runs for an hour (three instances / three tasks), until terminated.
    RunsLong,
}

impl Work {
    pub const ALL: [Work; 3] = [Work::Succeeds, Work::Fails, Work::RunsLong];

    /// What the final table calls it.
    pub fn label(self) -> &'static str {
        match self {
            Work::Succeeds => "succeeds (exit 0)",
            Work::Fails => "fails (exit 3), then retried",
            Work::RunsLong => "runs long, then terminated",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Work::Succeeds => "succeeds",
            Work::Fails => "fails",
            Work::RunsLong => "runs-long",
        }
    }

    fn exit_code(self) -> i32 {
        match self {
            Work::Fails => FAILING_EXIT_CODE,
            Work::Succeeds | Work::RunsLong => 0,
        }
    }

    fn run_seconds(self) -> &'static str {
        match self {
            Work::RunsLong => LONG_RUN_SECONDS,
            Work::Succeeds | Work::Fails => SHORT_RUN_SECONDS,
        }
    }
}

/// A job and the task the demo follows in it.
#[derive(Debug, Clone)]
pub struct Ids {
    pub job: JobId,
    pub task: TaskId,
}

fn id<T: TryFrom<String, Error = polybatch::Error>>(s: String) -> Result<T, CliError> {
    Ok(T::try_from(s)?)
}

/// Azure: one job per piece of work, each on its own pool. The long job has job preparation
/// and release tasks and three tasks, so preparation runs on three nodes.
pub async fn create_azure(azure: &AzureBatchBackend, work: Work) -> Result<Ids, CliError> {
    let job: JobId = id(format!("demo-{}", work.name()))?;
    let mut request = AddJobRequest::new(job.clone(), format!("pool-{}", work.name()))
        .with_max_task_retry_count(0);
    let tasks: Vec<String> = if work == Work::RunsLong {
        request = request
            .with_preparation_task(
                JobTaskSpec::new("/bin/sh -c 'fetch-inputs'").with_env(RUN_SECONDS, "1"),
            )
            .with_release_task(
                JobTaskSpec::new("/bin/sh -c 'clean-up'").with_env(RUN_SECONDS, "2"),
            );
        (1..=3).map(|i| format!("{}-{i}", work.name())).collect()
    } else {
        vec![work.name().to_string()]
    };
    azure.add_job(request).await?;
    for t in &tasks {
        let task = AddTaskRequest::new(id(t.clone())?, format!("/bin/sh -c 'work {t}'"))
            .with_env(RUN_SECONDS, work.run_seconds())
            .with_env(EXIT_CODE, work.exit_code().to_string());
        azure.add_task(&job, task).await?;
    }
    Ok(Ids {
        job,
        task: id(tasks.first().cloned().unwrap_or_default())?,
    })
}

/// Tencent: one job per piece of work with one task; the long task has three instances.
pub async fn create_tencent(tencent: &TencentBatchBackend, work: Work) -> Result<Ids, CliError> {
    let task: TaskId = id(work.name().to_string())?;
    let mut request = TaskRequest::new(
        task.clone(),
        format!("/bin/sh -c 'work {}'", work.name()),
        ComputeEnvironment::managed("SA5.MEDIUM4", "img-eb30mz89"),
    )
    .with_env_var(RUN_SECONDS, work.run_seconds())
    .with_env_var(EXIT_CODE, work.exit_code().to_string())
    .with_max_retry_count(0);
    if work == Work::RunsLong {
        request = request.with_instance_count(3);
    }
    let job = tencent
        .submit_job_request(
            SubmitJobRequest::new(format!("demo-{}", work.name()), "ap-guangzhou-3")
                .with_task(request),
        )
        .await?;
    Ok(Ids { job, task })
}
