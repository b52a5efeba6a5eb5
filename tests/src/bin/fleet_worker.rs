//! One process of the fleet-limit test (`tests/tests/fleet_limit.rs`): a Tencent client whose
//! callers read one job's status in a loop for a fixed window, taking rate-limit permits from
//! Redis when `FLEET_REDIS` is set (from the process's own limiter otherwise). Prints one JSON
//! line: `{"ok": N, "failed": N, "errors": [...]}`.
//!
//! Configured by the environment: `FLEET_ENDPOINT`, `FLEET_REGION`, `FLEET_SECRET_ID`,
//! `FLEET_SECRET_KEY`, `FLEET_JOB`, `FLEET_RATE` (DescribeJob requests/s for the whole fleet),
//! `FLEET_CALLERS`, `FLEET_START_UNIX_MS` (when the window opens, so all processes start
//! together), `FLEET_MILLIS` (how long it stays open) and optionally `FLEET_REDIS`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use polybatch::rate::Quota;
use polybatch::{BatchBackend, JobId, StatusOptions};
use polybatch_redis::RedisPermits;
use polybatch_tencent::{Endpoint, TencentBatchBuilder};
use tokio::time::{Instant, timeout_at};

fn var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

fn number(name: &str) -> Result<u64, String> {
    var(name)?
        .parse()
        .map_err(|e| format!("{name} is not a number: {e}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fleet_worker: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<String, String> {
    let rate = u32::try_from(number("FLEET_RATE")?).map_err(|e| e.to_string())?;
    let callers = number("FLEET_CALLERS")?;
    let start_ms = number("FLEET_START_UNIX_MS")?;
    let window = Duration::from_millis(number("FLEET_MILLIS")?);
    let mut builder = TencentBatchBuilder::new()
        .with_secret_id(var("FLEET_SECRET_ID")?)
        .with_secret_key(var("FLEET_SECRET_KEY")?)
        .with_region(var("FLEET_REGION")?)
        .with_endpoint(Endpoint::Custom(var("FLEET_ENDPOINT")?))
        .with_rate_limit("DescribeJob", Quota::per_second(rate).with_burst(1));
    if let Ok(url) = var("FLEET_REDIS") {
        let permits = RedisPermits::new(&url).map_err(|e| e.to_string())?;
        builder = builder.with_permit_source(Arc::new(permits));
    }
    let backend = builder.build().map_err(|e| e.to_string())?;
    let job = JobId::new(var("FLEET_JOB")?).map_err(|e| e.to_string())?;

    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis();
    let until_start = u64::try_from(u128::from(start_ms).saturating_sub(now_ms)).unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(until_start)).await;
    let end = Instant::now() + window;

    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let backend = backend.clone();
            let job = job.clone();
            tokio::spawn(async move {
                let (mut ok, mut failed, mut errors) = (0u64, 0u64, Vec::new());
                while Instant::now() < end {
                    match timeout_at(end, backend.job_status(&job, StatusOptions::default())).await
                    {
                        Err(_) => break,
                        Ok(Ok(_)) => ok += 1,
                        Ok(Err(e)) => {
                            failed += 1;
                            errors.push(e.to_string());
                        }
                    }
                }
                (ok, failed, errors)
            })
        })
        .collect();
    let (mut ok, mut failed, mut errors) = (0u64, 0u64, Vec::new());
    for t in tasks {
        let (o, f, e) = t.await.map_err(|e| e.to_string())?;
        ok += o;
        failed += f;
        errors.extend(e);
    }
    errors.truncate(5);
    Ok(serde_json::json!({ "ok": ok, "failed": failed, "errors": errors }).to_string())
}
