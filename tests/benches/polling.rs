//! Polling at scale: the status of many jobs through each provider's real client against the
//! emulator, under the limits the client keeps to, next to the floor (the fewest calls the
//! provider's bulk API allows, divided by its limit) and to one call per job.
//!
//! Jobs are seeded in process (submitting 10,000 Tencent jobs through `SubmitJob` at its
//! documented rate would take longer than the polling measured here). Then one `job_statuses`
//! call asks for all of them:
//! - Tencent: `DescribeJobs`, 100 ids a call, at the international site's documented 2/s (the
//!   client's default for a non-China endpoint; the emulator enforces the same); one call per
//!   job would be `DescribeJob` at 2/s.
//! - AWS: `DescribeJobs`, 100 ids a call; AWS publishes no per-operation limit, so none is set
//!   and the figure is calls and time unthrottled.
//! - Azure: Batch has no bulk read by id, so the floor is one `Job_Get` per job (8 at a time).
//!
//! `cargo bench -p polybatch-tests --bench polling` (`POLYBATCH_BENCH_JOBS=1000,10000` sets the
//! sizes). Exits 1 if a bulk provider made more calls than its floor or took more than 1.1× the
//! floor's time.

#[path = "common/mod.rs"]
mod common;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use polybatch::clock::Clock;
use polybatch::{BatchBackend, JobId, JobStatusesOptions};
use polybatch_aws::AwsBatchBuilder;
use polybatch_azure::AzureBatchBuilder;
use polybatch_emulator::config::{
    DEFAULT_AWS_ACCESS_KEY_ID, DEFAULT_AWS_SECRET_ACCESS_KEY, DEFAULT_AZURE_ACCOUNT,
    DEFAULT_AZURE_KEY, DEFAULT_TENCENT_SECRET_ID, DEFAULT_TENCENT_SECRET_KEY,
};
use polybatch_emulator::{Emulator, EmulatorConfig, Provider, RunningEmulator};
use polybatch_protocol::tencent::{Site, documented_limit_at};
use polybatch_sim::aws::requests::SubmitJob;
use polybatch_tencent::{Endpoint, TencentBatchBuilder};

const TENCENT_REGION: &str = "ap-guangzhou";
const AWS_REGION: &str = "us-east-1";
const PER_CALL: usize = 100;

struct Row {
    provider: &'static str,
    jobs: usize,
    operation: &'static str,
    calls: u64,
    floor_calls: u64,
    wall: Duration,
    floor: Option<Duration>,
    one_per_job: Option<Duration>,
    missing: usize,
}

fn requests(running: &RunningEmulator, provider: Provider, op: &str) -> u64 {
    running
        .emulator()
        .context()
        .stats
        .snapshot()
        .requests(provider, op)
}

fn calls_for(jobs: usize) -> u64 {
    u64::try_from(jobs.div_ceil(PER_CALL)).unwrap_or(u64::MAX)
}

/// The time `calls` take at `per_second` with a burst of one.
fn at_rate(calls: u64, per_second: u32) -> Duration {
    Duration::from_secs_f64(calls.saturating_sub(1) as f64 / f64::from(per_second))
}

fn seed_tencent(running: &RunningEmulator, n: usize) -> Vec<JobId> {
    let sim_spec = common::tencent_sim_job("polled", "100000", TENCENT_REGION);
    running.emulator().tencent().with_store(|store, now| {
        (0..n)
            .map(|_| {
                let id = store.submit(TENCENT_REGION, sim_spec.clone(), None, now);
                JobId::new(id).expect("job id")
            })
            .collect()
    })
}

fn seed_aws(running: &RunningEmulator, n: usize) -> Vec<JobId> {
    let now = running.emulator().context().sim_clock.now();
    running.emulator().aws().with_store(AWS_REGION, |store| {
        (0..n)
            .map(|i| {
                let id = format!("00000000-0000-4000-8000-{i:012}");
                let req = SubmitJob {
                    job_name: Some(format!("polled-{i}")),
                    job_queue: Some(polybatch_sim::aws::SEEDED_QUEUE.into()),
                    job_definition: Some(polybatch_sim::aws::SEEDED_JOB_DEFINITION.into()),
                    ..Default::default()
                };
                store
                    .submit_job(req, id.clone(), now)
                    .expect("a valid SubmitJob");
                JobId::new(id).expect("job id")
            })
            .collect()
    })
}

fn seed_azure(running: &RunningEmulator, n: usize) -> Vec<JobId> {
    running.emulator().azure().with_sim(|sim, now| {
        (0..n)
            .map(|i| {
                let id = format!("polled-{i}");
                let body = serde_json::json!({"id": id, "poolInfo": {"poolId": "pool-1"}});
                sim.add_job(body, now).expect("a valid Job_Add");
                JobId::new(id).expect("job id")
            })
            .collect()
    })
}

async fn poll(backend: &dyn BatchBackend, jobs: &[JobId]) -> (Duration, usize) {
    let started = Instant::now();
    let answers = backend
        .job_statuses(jobs, JobStatusesOptions::default())
        .await
        .expect("job_statuses");
    let missing = answers.iter().filter(|(_, s)| s.is_err()).count();
    (started.elapsed(), missing)
}

async fn measure(jobs: usize) -> Vec<Row> {
    // Every emulator limit at its default: Tencent's international documented table.
    let running = Emulator::spawn_manual(EmulatorConfig::default())
        .await
        .expect("emulator on loopback");
    let url = running.url();
    let mut rows = Vec::new();

    let tencent = TencentBatchBuilder::new()
        .with_endpoint(Endpoint::Custom(url.clone()))
        .with_secret_id(DEFAULT_TENCENT_SECRET_ID)
        .with_secret_key(DEFAULT_TENCENT_SECRET_KEY)
        .with_region(TENCENT_REGION)
        .build()
        .expect("tencent client");
    let ids = seed_tencent(&running, jobs);
    let before = requests(&running, Provider::Tencent, "DescribeJobs");
    let (wall, missing) = poll(&tencent, &ids).await;
    let bulk_limit = documented_limit_at(Site::International, "DescribeJobs").unwrap_or(1);
    let single_limit = documented_limit_at(Site::International, "DescribeJob").unwrap_or(1);
    rows.push(Row {
        provider: "tencent",
        jobs,
        operation: "DescribeJobs",
        calls: requests(&running, Provider::Tencent, "DescribeJobs") - before,
        floor_calls: calls_for(jobs),
        wall,
        floor: Some(at_rate(calls_for(jobs), bulk_limit)),
        one_per_job: Some(at_rate(
            u64::try_from(jobs).unwrap_or(u64::MAX),
            single_limit,
        )),
        missing,
    });

    let aws = AwsBatchBuilder::new()
        .with_region(AWS_REGION)
        .with_endpoint_url(url.clone())
        .with_credentials(
            DEFAULT_AWS_ACCESS_KEY_ID,
            DEFAULT_AWS_SECRET_ACCESS_KEY,
            None,
        )
        .build()
        .await
        .expect("aws client");
    let ids = seed_aws(&running, jobs);
    let before = requests(&running, Provider::Aws, "DescribeJobs");
    let (wall, missing) = poll(&aws, &ids).await;
    rows.push(Row {
        provider: "aws",
        jobs,
        operation: "DescribeJobs",
        calls: requests(&running, Provider::Aws, "DescribeJobs") - before,
        floor_calls: calls_for(jobs),
        wall,
        floor: None,
        one_per_job: None,
        missing,
    });

    let azure = AzureBatchBuilder::new()
        .with_endpoint(url)
        .with_account(DEFAULT_AZURE_ACCOUNT)
        .with_shared_key(DEFAULT_AZURE_KEY)
        .build()
        .expect("azure client");
    let ids = seed_azure(&running, jobs);
    let before = requests(&running, Provider::Azure, "Job_Get");
    let (wall, missing) = poll(&azure, &ids).await;
    rows.push(Row {
        provider: "azure",
        jobs,
        operation: "Job_Get",
        calls: requests(&running, Provider::Azure, "Job_Get") - before,
        floor_calls: u64::try_from(jobs).unwrap_or(u64::MAX),
        wall,
        floor: None,
        one_per_job: None,
        missing,
    });
    running.shutdown().await;
    rows
}

fn secs(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| format!("{:.1} s", d.as_secs_f64()))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let sizes: Vec<usize> = std::env::var("POLYBATCH_BENCH_JOBS")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![1_000, 10_000]);
    let mut ok = true;
    println!(
        "{:<8} {:>6} {:<13} {:>6} {:>6} {:>9} {:>9} {:>7} {:>13} {:>7}",
        "provider",
        "jobs",
        "operation",
        "calls",
        "floor",
        "wall",
        "floor t",
        "ratio",
        "one per job",
        "missing"
    );
    for n in sizes {
        for r in measure(n).await {
            let ratio = r
                .floor
                .filter(|f| !f.is_zero())
                .map(|f| r.wall.as_secs_f64() / f.as_secs_f64());
            println!(
                "{:<8} {:>6} {:<13} {:>6} {:>6} {:>9} {:>9} {:>7} {:>13} {:>7}",
                r.provider,
                r.jobs,
                r.operation,
                r.calls,
                r.floor_calls,
                secs(Some(r.wall)),
                secs(r.floor),
                ratio.map_or("-".into(), |x| format!("{x:.2}x")),
                secs(r.one_per_job),
                r.missing,
            );
            if r.calls > r.floor_calls || r.missing > 0 || ratio.is_some_and(|x| x > 1.1) {
                ok = false;
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "a provider made more calls than its floor, missed jobs, or took over 1.1x the floor"
        );
        ExitCode::FAILURE
    }
}
