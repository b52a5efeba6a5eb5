//! The Tencent client's rate limiter against the emulator's strict server-side limits.
//!
//! An emulator with its default limits (DescribeJob 2/s) and one shared client; 64 concurrent
//! callers call `job_status` (DescribeJob) in a loop for a fixed time. Printed: requests
//! completed, the achieved rate against the configured one, the `RequestLimitExceeded` answers
//! the emulator sent, and the p50/p99 time a caller waited for a completed call. First with the
//! client's default limiter (expected: zero `RequestLimitExceeded`), then with the limiter off
//! and the default retries, for contrast.
//!
//! `cargo bench -p polybatch-tests --bench tencent_rate` (`POLYBATCH_BENCH_SECS` sets the
//! duration of each run, default 10). Exits with status 1 if the limited run saw any
//! `RequestLimitExceeded`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use polybatch::clock::SystemClock;
use polybatch::{BatchBackend, JobId, StatusOptions, TaskId};
use polybatch_emulator::config::{DEFAULT_TENCENT_SECRET_ID, DEFAULT_TENCENT_SECRET_KEY};
use polybatch_emulator::{Context, Emulator, EmulatorConfig, Provider, SimClock};
use polybatch_tencent::{
    ComputeEnvironment, Endpoint, SubmitJobRequest, TaskRequest, TencentBatchBuilder,
};
use tokio::time::{Instant, timeout_at};

const CALLERS: usize = 64;
const ACTION: &str = "DescribeJob";

/// What one caller saw.
#[derive(Default)]
struct CallerLog {
    /// How long each completed call took, from the call to its result.
    waits: Vec<Duration>,
    /// When each call completed, since the start.
    completed_at: Vec<Duration>,
    /// Calls that ended in an error (after the client's retries).
    failed: u64,
    /// Whether a call was still waiting when time ran out.
    unfinished: bool,
}

/// What one run measured.
struct Report {
    label: &'static str,
    configured: Option<f64>,
    duration: Duration,
    waits: Vec<Duration>,
    completed_at: Vec<Duration>,
    failed: u64,
    unfinished: u64,
    limit_exceeded: u64,
    requests: u64,
}

fn percentile(sorted: &[Duration], q: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

fn secs(d: Option<Duration>) -> String {
    d.map_or("-".to_string(), |d| format!("{:.3} s", d.as_secs_f64()))
}

impl Report {
    fn print(&self) {
        let completed = self.waits.len();
        let rate = completed as f64 / self.duration.as_secs_f64();
        // The steady rate: completions per second between the first and the last.
        let steady = match (self.completed_at.first(), self.completed_at.last()) {
            (Some(a), Some(b)) if completed > 1 && b > a => {
                format!("{:.2}/s", (completed - 1) as f64 / (*b - *a).as_secs_f64())
            }
            _ => "-".to_string(),
        };
        let configured = self
            .configured
            .map_or("off".to_string(), |r| format!("{r:.2}/s"));
        let mut waits = self.waits.clone();
        waits.sort();
        println!("== {}", self.label);
        println!(
            "  callers                      {CALLERS} sharing one client, {:.0} s",
            self.duration.as_secs_f64()
        );
        println!("  requests completed           {completed}");
        println!("  calls failed after retries   {}", self.failed);
        println!("  calls still waiting at end   {}", self.unfinished);
        println!(
            "  achieved rate                {rate:.2}/s overall, {steady} first-to-last \
             (client limit {configured}, emulator limit 2.00/s)"
        );
        let received = format!("{ACTION} requests");
        println!("  {received:<28} {}", self.requests);
        println!("  RequestLimitExceeded answers {}", self.limit_exceeded);
        println!(
            "  caller wait (completed)      p50 {}, p99 {}",
            secs(percentile(&waits, 0.50)),
            secs(percentile(&waits, 0.99))
        );
    }
}

async fn run(
    label: &'static str,
    duration: Duration,
    configure: impl FnOnce(TencentBatchBuilder) -> TencentBatchBuilder,
) -> Report {
    // The emulator's defaults: the documented limits, enforced on the real clock.
    let ctx = Context::new(
        EmulatorConfig::default(),
        SimClock::manual(),
        Arc::new(SystemClock),
    );
    let running = Emulator::with_context(ctx)
        .spawn_local()
        .await
        .unwrap_or_else(|e| panic!("cannot start the emulator: {e}"));
    let builder = TencentBatchBuilder::new()
        .with_secret_id(DEFAULT_TENCENT_SECRET_ID)
        .with_secret_key(DEFAULT_TENCENT_SECRET_KEY)
        .with_region("ap-guangzhou")
        .with_endpoint(Endpoint::Custom(running.url()));
    let backend = configure(builder)
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"));
    let configured = backend.rate_limit(ACTION).map(|q| q.per_second_f64());
    let task = TaskRequest::new(
        TaskId::new("work").unwrap_or_else(|e| panic!("{e}")),
        "sleep 1000000",
        ComputeEnvironment::managed("SA5.MEDIUM4", "img-bd78fy2t"),
    );
    let job: JobId = backend
        .submit_job_request(SubmitJobRequest::new("rate-bench", "ap-guangzhou-2").with_task(task))
        .await
        .unwrap_or_else(|e| panic!("SubmitJob: {e}"));
    let stats = running.emulator().context().stats.clone();
    stats.reset();

    let start = Instant::now();
    let deadline = start + duration;
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let backend = backend.clone();
            let job = job.clone();
            tokio::spawn(async move {
                let mut log = CallerLog::default();
                while Instant::now() < deadline {
                    let called = Instant::now();
                    let call = backend.job_status(&job, StatusOptions::default());
                    match timeout_at(deadline, call).await {
                        Err(_) => {
                            log.unfinished = true;
                            break;
                        }
                        Ok(Ok(_)) => {
                            let now = Instant::now();
                            log.waits.push(now - called);
                            log.completed_at.push(now - start);
                        }
                        Ok(Err(_)) => log.failed += 1,
                    }
                }
                log
            })
        })
        .collect();
    let mut report = Report {
        label,
        configured,
        duration,
        waits: Vec::new(),
        completed_at: Vec::new(),
        failed: 0,
        unfinished: 0,
        limit_exceeded: 0,
        requests: 0,
    };
    for c in callers {
        let log = c.await.unwrap_or_else(|e| panic!("caller: {e}"));
        report.waits.extend(log.waits);
        report.completed_at.extend(log.completed_at);
        report.failed += log.failed;
        report.unfinished += u64::from(log.unfinished);
    }
    report.completed_at.sort();
    let snapshot = stats.snapshot();
    report.limit_exceeded = snapshot.errors_with_code(Provider::Tencent, "RequestLimitExceeded");
    report.requests = snapshot
        .requests
        .get(&format!("tencent:{ACTION}"))
        .copied()
        .unwrap_or(0);
    running.shutdown().await;
    report
}

fn main() -> ExitCode {
    let secs: u64 = std::env::var("POLYBATCH_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s| *s > 0)
        .unwrap_or(10);
    let duration = Duration::from_secs(secs);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    runtime.block_on(async {
        let limited = run("client limiter on (defaults)", duration, |b| b).await;
        limited.print();
        let unlimited = run(
            "client limiter off, default retries",
            duration,
            TencentBatchBuilder::with_rate_limits_disabled,
        )
        .await;
        unlimited.print();
        if limited.limit_exceeded == 0 {
            println!("OK: the limited client drew no RequestLimitExceeded");
            ExitCode::SUCCESS
        } else {
            println!(
                "FAIL: the limited client drew {} RequestLimitExceeded answers",
                limited.limit_exceeded
            );
            ExitCode::FAILURE
        }
    })
}
