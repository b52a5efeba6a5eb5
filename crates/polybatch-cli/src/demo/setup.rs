//! The demo's world: an in-process emulator, the real Azure, Tencent and AWS clients pointed at
//! it, and the work created through each provider's own API (the provider crates' extras, and
//! for AWS the official SDK client).

use std::sync::Arc;
use std::time::Duration;

use polybatch::clock::SystemClock;
use polybatch::rate::Quota;
use polybatch::{BatchBackend, JobId, TaskId};
use polybatch_aws::aws_sdk_batch;
use polybatch_aws::aws_sdk_batch::error::DisplayErrorContext;
use polybatch_aws::aws_sdk_batch::types::{
    ArrayProperties, ContainerOverrides, KeyValuePair, RetryStrategy,
};
use polybatch_aws::{AwsBatchBackend, AwsBatchBuilder};
use polybatch_azure::{
    AddJobRequest, AddTaskRequest, AzureBatchBackend, AzureBatchBuilder, JobTaskSpec,
};
use polybatch_emulator::aws::{SEEDED_JOB_DEFINITION, SEEDED_QUEUE};
use polybatch_emulator::config::{
    DEFAULT_AWS_ACCESS_KEY_ID, DEFAULT_AWS_REGION, DEFAULT_AWS_SECRET_ACCESS_KEY,
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

/// The instances (Tencent) or array children (AWS) of the long work.
pub const LONG_INSTANCES: u32 = 3;

/// The running emulator and the three real clients.
pub struct World {
    pub running: RunningEmulator,
    pub azure: AzureBatchBackend,
    pub tencent: TencentBatchBackend,
    pub aws: AwsBatchBackend,
}

impl World {
    /// Starts the emulator on an ephemeral loopback port, with a simulation clock that moves
    /// only when [`World::advance`] says, and builds the three clients with the published
    /// development credentials (AWS's lists the seeded job queue).
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
        let aws = AwsBatchBuilder::new()
            .with_region(DEFAULT_AWS_REGION)
            .with_endpoint_url(running.url())
            .with_credentials(
                DEFAULT_AWS_ACCESS_KEY_ID,
                DEFAULT_AWS_SECRET_ACCESS_KEY,
                None,
            )
            .with_job_queue(SEEDED_QUEUE)
            .build()
            .await?;
        Ok(World {
            running,
            azure,
            tencent,
            aws,
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

    /// Requests the emulator has received so far (every provider).
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

    /// The three clients as the neutral trait: Azure, Tencent, AWS.
    pub fn backends(
        &self,
    ) -> (
        Arc<dyn BatchBackend>,
        Arc<dyn BatchBackend>,
        Arc<dyn BatchBackend>,
    ) {
        (
            Arc::new(self.azure.clone()),
            Arc::new(self.tencent.clone()),
            Arc::new(self.aws.clone()),
        )
    }
}

/// The same three pieces of work on each provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Work {
    /// Exits 0 after a short run.
    Succeeds,
    /// Exits with [`FAILING_EXIT_CODE`] after a short run, no retries.
    Fails,
    /// Runs for an hour (three instances / three tasks / three array children), until
    /// terminated.
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

    pub fn name(self) -> &'static str {
        match self {
            Work::Succeeds => "succeeds",
            Work::Fails => "fails",
            Work::RunsLong => "runs-long",
        }
    }

    pub fn exit_code(self) -> i32 {
        match self {
            Work::Fails => FAILING_EXIT_CODE,
            Work::Succeeds | Work::RunsLong => 0,
        }
    }

    pub fn run_seconds(self) -> &'static str {
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
        request = request.with_instance_count(u64::from(LONG_INSTANCES));
    }
    let job = tencent
        .submit_job_request(
            SubmitJobRequest::new(format!("demo-{}", work.name()), "ap-guangzhou-3")
                .with_task(request),
        )
        .await?;
    Ok(Ids { job, task })
}

/// AWS: one job per piece of work, submitted with the SDK to the seeded job queue and job
/// definition, one attempt; the long work is an array job of three children. The task the demo
/// follows is "0" (the plain job itself, or the array's first child).
pub async fn create_aws(aws: &AwsBatchBackend, work: Work) -> Result<Ids, CliError> {
    let size = (work == Work::RunsLong).then_some(LONG_INSTANCES);
    let job = submit_aws(
        aws,
        &format!("demo-{}", work.name()),
        work.run_seconds(),
        work.exit_code(),
        size,
    )
    .await?;
    Ok(Ids {
        job,
        task: id("0".to_string())?,
    })
}

/// `SubmitJob` through AWS's own API: `name` on the seeded queue and definition, the emulator's
/// run time and exit code as container environment, one attempt, an array of `array_size`
/// children when given.
pub async fn submit_aws(
    aws: &AwsBatchBackend,
    name: &str,
    run_seconds: &str,
    exit_code: i32,
    array_size: Option<u32>,
) -> Result<JobId, CliError> {
    let env = |k: &str, v: &str| KeyValuePair::builder().name(k).value(v).build();
    let overrides = ContainerOverrides::builder()
        .command("/bin/sh")
        .command("-c")
        .command(format!("work {name}"))
        .environment(env(RUN_SECONDS, run_seconds))
        .environment(env(EXIT_CODE, &exit_code.to_string()))
        .build();
    let mut request = aws
        .sdk_client()
        .submit_job()
        .job_name(name)
        .job_queue(SEEDED_QUEUE)
        .job_definition(SEEDED_JOB_DEFINITION)
        .container_overrides(overrides)
        .retry_strategy(RetryStrategy::builder().attempts(1).build());
    if let Some(n) = array_size {
        let size = i32::try_from(n)
            .map_err(|_| CliError::failed(format!("demo: array size {n} is too large")))?;
        request = request.array_properties(ArrayProperties::builder().size(size).build());
    }
    let reply = request.send().await.map_err(|e| aws_error(name, &e))?;
    let job = reply.job_id().ok_or_else(|| {
        CliError::failed(format!(
            "demo: aws SubmitJob {name}: the reply names no job id"
        ))
    })?;
    id(job.to_string())
}

/// An SDK error as one line, with the service's code and message when it sent them.
fn aws_error<E, R>(name: &str, e: &aws_sdk_batch::error::SdkError<E, R>) -> CliError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    CliError::failed(format!(
        "demo: aws SubmitJob {name} failed: {}",
        DisplayErrorContext(e)
    ))
}
