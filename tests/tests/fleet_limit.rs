//! The fleet-wide rate limiter (`polybatch-redis`) against a real `redis-server` and the
//! emulator's strict Tencent limits: reservations shared across sources, the fallback when
//! Redis is away, and four processes of sixteen callers each kept under one limit together.

mod support;

use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use polybatch::rate::{PermitSource, Quota, RateKey};
use polybatch_emulator::config::{DEFAULT_TENCENT_SECRET_ID, DEFAULT_TENCENT_SECRET_KEY};
use polybatch_redis::RedisPermits;
use polybatch_tencent::{ComputeEnvironment, TaskRequest};
use support::redis::{RedisServer, free_port};
use support::tencent::{FOREVER_SECS, REGION, TencentEnv, ZONE};

const SECS_10: Quota = Quota {
    interval: Duration::from_secs(10),
    burst: 1,
};

fn key(credential: &str) -> RateKey {
    RateKey::new("DescribeJob", REGION, credential)
}

/// Asserts `wait` is `slots` intervals of 10 s, less the little real time that passed since
/// the first reservation (Redis times reservations by its own clock).
fn assert_slot(wait: Duration, slots: u32) {
    let full = Duration::from_secs(10) * slots;
    assert!(
        wait <= full && wait + Duration::from_secs(2) > full,
        "wait {wait:?}, expected just under {full:?}"
    );
}

#[tokio::test]
async fn sources_sharing_a_redis_share_each_keys_slots() {
    let redis = RedisServer::start().await;
    let a = RedisPermits::new(&redis.url()).unwrap();
    let b = RedisPermits::new(&redis.url()).unwrap();
    // Alternating sources queue on one arrival time.
    assert_eq!(a.reserve(&key("AKID1"), SECS_10).await, Duration::ZERO);
    assert_slot(b.reserve(&key("AKID1"), SECS_10).await, 1);
    assert_slot(a.reserve(&key("AKID1"), SECS_10).await, 2);
    assert_slot(b.reserve(&key("AKID1"), SECS_10).await, 3);
    // Another credential, or another prefix, counts apart.
    assert_eq!(b.reserve(&key("AKID2"), SECS_10).await, Duration::ZERO);
    let other = RedisPermits::new(&redis.url())
        .unwrap()
        .with_prefix("elsewhere");
    assert_eq!(other.reserve(&key("AKID1"), SECS_10).await, Duration::ZERO);
    assert!(!a.is_degraded() && !b.is_degraded());
    assert_eq!(a.fallbacks() + b.fallbacks(), 0);
}

fn redis_without_password(port: u16) -> String {
    format!("redis://127.0.0.1:{port}/")
}

#[tokio::test(flavor = "current_thread")]
async fn a_degraded_source_returns_to_redis_when_it_is_back() {
    let port = free_port();
    let permits = RedisPermits::new(&redis_without_password(port))
        .unwrap()
        .with_retry_after(Duration::ZERO);
    assert_eq!(
        permits.reserve(&key("AKID1"), SECS_10).await,
        Duration::ZERO
    );
    assert!(permits.is_degraded());
    let _redis = RedisServer::start_on(port).await;
    // The local slot taken during the outage is not in Redis: Redis starts afresh.
    assert_eq!(
        permits.reserve(&key("AKID1"), SECS_10).await,
        Duration::ZERO
    );
    assert!(!permits.is_degraded());
    assert_slot(permits.reserve(&key("AKID1"), SECS_10).await, 1);
    assert_eq!(permits.fallbacks(), 1);
}

/// What the fleet's processes did together.
struct FleetRun {
    ok: u64,
    failed: u64,
    limit_exceeded: u64,
}

const PROCESSES: usize = 4;
const CALLERS: usize = 16;
const RATE: u32 = 20;

/// Runs [`PROCESSES`] worker processes of [`CALLERS`] callers against one emulator for
/// `window`, sharing permits through `redis` when given.
async fn run_fleet(env: &TencentEnv, job: &str, redis: Option<&str>, window: Duration) -> FleetRun {
    let before = env.errors("RequestLimitExceeded");
    let start = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(2);
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_fleet_worker"));
            cmd.env("FLEET_ENDPOINT", env.url())
                .env("FLEET_REGION", REGION)
                .env("FLEET_SECRET_ID", DEFAULT_TENCENT_SECRET_ID)
                .env("FLEET_SECRET_KEY", DEFAULT_TENCENT_SECRET_KEY)
                .env("FLEET_JOB", job)
                .env("FLEET_RATE", RATE.to_string())
                .env("FLEET_CALLERS", CALLERS.to_string())
                .env("FLEET_START_UNIX_MS", start.as_millis().to_string())
                .env("FLEET_MILLIS", window.as_millis().to_string())
                .env_remove("FLEET_REDIS");
            if let Some(url) = redis {
                cmd.env("FLEET_REDIS", url);
            }
            tokio::task::spawn_blocking(move || cmd.output())
        })
        .collect();
    let (mut ok, mut failed) = (0, 0);
    for child in children {
        let out: Output = child.await.unwrap().expect("fleet_worker runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "worker failed: {}{}",
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
        let line: serde_json::Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("worker printed {stdout:?}: {e}"));
        ok += line["ok"].as_u64().unwrap();
        failed += line["failed"].as_u64().unwrap();
    }
    FleetRun {
        ok,
        failed,
        limit_exceeded: env.errors("RequestLimitExceeded") - before,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_stay_under_one_limit_together_through_redis() {
    let redis = RedisServer::start().await;
    // The emulator enforces DescribeJob at RATE/s per credential, as Tencent does per
    // sub-account: every process uses the same SecretId.
    let mut config = polybatch_emulator::EmulatorConfig::default();
    config
        .tencent
        .rate_limits
        .insert("DescribeJob".to_string(), RATE);
    let env = TencentEnv::start(config).await;
    let client = env.fast_builder().build().unwrap();
    let task = TaskRequest::new(
        polybatch::TaskId::new("work").unwrap(),
        format!("sleep {FOREVER_SECS}"),
        ComputeEnvironment::managed("SA5.MEDIUM4", "img-bd78fy2t"),
    );
    let job = client
        .submit_job_request(polybatch_tencent::SubmitJobRequest::new("fleet", ZONE).with_task(task))
        .await
        .unwrap();

    let window = Duration::from_secs(4);
    let shared = run_fleet(&env, job.as_str(), Some(&redis.url()), window).await;
    let limit = f64::from(RATE) * window.as_secs_f64();
    println!(
        "fleet through Redis: {} ok in {window:?} ({:.1}% of {limit} allowed), {} failed, {} \
         RequestLimitExceeded",
        shared.ok,
        100.0 * shared.ok as f64 / limit,
        shared.failed,
        shared.limit_exceeded
    );
    assert_eq!(shared.limit_exceeded, 0, "the fleet was throttled");
    assert_eq!(shared.failed, 0);
    assert!(
        shared.ok as f64 >= 0.95 * limit,
        "{} calls is under 95% of the {limit} the limit allows",
        shared.ok
    );

    // Without the shared store each process keeps to the limit alone: together they exceed it.
    let alone = run_fleet(&env, job.as_str(), None, Duration::from_secs(2)).await;
    println!(
        "fleet without Redis: {} ok, {} RequestLimitExceeded",
        alone.ok, alone.limit_exceeded
    );
    assert!(
        alone.limit_exceeded > 0,
        "four processes at the full rate each drew no throttling: the test cannot tell"
    );
}
