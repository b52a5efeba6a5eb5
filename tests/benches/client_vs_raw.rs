//! What our clients cost over the bare HTTP they make: `job_status` through each real client
//! (`BatchBackend::job_status`) next to a raw keep-alive loop of the same request, against the
//! emulator in this process, and the same status read through each official Python SDK.
//!
//! Per provider (Azure `Job_Get`, Tencent `DescribeJob`, AWS `DescribeJobs` of one id), one
//! seeded job, then at concurrency 1, 16 and 64 for `POLYBATCH_BENCH_SECS` (default 3) each:
//! - **client**: one shared backend, callers calling `job_status` in a loop;
//! - **raw**: one shared `reqwest::Client` built from the same `ClientOptions` our clients use
//!   (so the same connection pool and timeouts), one request signed once before the loop with
//!   the same signer (polybatch-protocol's TC3 and Shared Key; `aws-sigv4` for AWS, as the SDK
//!   signs), the same headers and body, the answer read whole and parsed as
//!   `serde_json::Value`. TC3, Shared Key (`ocp-date`) and SigV4 all accept minutes of clock
//!   skew, so one signature serves the whole run;
//! - **sdk** (AWS only): the official `aws-sdk-batch` client with its defaults, on the same
//!   endpoint and keys, calling `DescribeJobs` itself, so what polybatch adds over the SDK is
//!   told apart from what the SDK adds over raw HTTP.
//!
//! Printed: ops/s, p50/p99 latency and CPU per call, then client ÷ raw ops/s (target ≥ 0.95) and
//! the CPU-per-call difference client − raw (target ≤ 10 µs). The emulator runs in this
//! process, so the process CPU per call includes the emulator's share, equally for both sides;
//! the difference is the client's own. The emulator runs on its own runtime (threads named
//! `emu-*`), so the CPU of the other threads, the client side, is printed too, and so is the
//! emulator's: its CPU per request serving the raw loop gives its capacity (requests/s per
//! core) and the cores it kept busy, so that it is known not to be what the loops measure.
//!
//! Then, where `python3` and the official SDK import, one caller of the same read through that
//! SDK (`tests/python/bench_status_read.py`) for the same time, and the ratio of its CPU per call
//! (the Python process's own, `time.process_time()`) to our client's at concurrency 1
//! (target ≥ 15×). A missing interpreter or SDK skips that row. Targets print "met" or
//! "not met"; the process never fails on them.
//!
//! `cargo bench -p polybatch-tests --bench client_vs_raw` (`POLYBATCH_BENCH_SECS`;
//! `POLYBATCH_BENCH_PROVIDERS=aws,tencent` measures only those).

#[path = "common/mod.rs"]
mod common;

use std::future::Future;
use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use polybatch::clock::Clock;
use polybatch::{BatchBackend, JobId, StatusOptions};
use polybatch_aws::AwsBatchBuilder;
use polybatch_azure::signing::{self as shared_key, QueryNameCase};
use polybatch_azure::{ApiVersion, AzureBatchBuilder, ClientOptions};
use polybatch_emulator::config::{
    DEFAULT_AWS_ACCESS_KEY_ID, DEFAULT_AWS_SECRET_ACCESS_KEY, DEFAULT_AZURE_ACCOUNT,
    DEFAULT_AZURE_KEY, DEFAULT_TENCENT_SECRET_ID, DEFAULT_TENCENT_SECRET_KEY,
};
use polybatch_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use polybatch_protocol::tencent::API_VERSION as TENCENT_API_VERSION;
use polybatch_sim::aws::requests::SubmitJob;
use polybatch_tencent::signing as tc3;
use polybatch_tencent::{CONTENT_TYPE as TENCENT_CONTENT_TYPE, REQUEST_CLIENT};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use url::Url;

const TENCENT_REGION: &str = "ap-guangzhou";
const AWS_REGION: &str = "us-east-1";
const CONCURRENCY: [usize; 3] = [1, 16, 64];
const WARM_UP: Duration = Duration::from_millis(300);
/// `/proc` reports CPU time in clock ticks of 1/USER_HZ s; USER_HZ is 100 on Linux.
const TICK: Duration = Duration::from_millis(10);
/// The prefix of the emulator runtime's thread names.
const EMULATOR_THREADS: &str = "emu-";

const OPS_RATIO_TARGET: f64 = 0.95;
const CPU_DIFF_TARGET_US: f64 = 10.0;
const PYTHON_RATIO_TARGET: f64 = 15.0;

// ----- CPU time from /proc -----

/// Process CPU time (user + system) in ticks, and that of the emulator runtime's threads.
#[derive(Debug, Clone, Copy)]
struct Cpu {
    total: u64,
    emulator: u64,
}

/// `(comm, utime + stime)` from a `/proc/.../stat` line.
fn parse_stat(stat: &str) -> Option<(&str, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?;
    let rest: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    // After the comm: state (0), ppid, pgrp, session, tty_nr, tpgid, flags, minflt, cminflt,
    // majflt, cmajflt, utime (11), stime (12).
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}

fn cpu_now() -> Cpu {
    let total = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| parse_stat(&s).map(|(_, t)| t))
        .unwrap_or(0);
    let mut emulator = 0;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for entry in dir.flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            if let Some((comm, t)) = parse_stat(&stat)
                && comm.starts_with(EMULATOR_THREADS)
            {
                emulator += t;
            }
        }
    }
    Cpu { total, emulator }
}

fn ticks(t: u64) -> Duration {
    TICK * u32::try_from(t).unwrap_or(u32::MAX)
}

// ----- the measured loops -----

/// What one run measured.
struct Run {
    calls: usize,
    errors: usize,
    first_error: Option<String>,
    wall: Duration,
    latencies: Vec<Duration>,
    /// Process CPU over the run.
    cpu_total: Duration,
    /// CPU of every thread but the emulator runtime's.
    cpu_client_side: Duration,
}

impl Run {
    fn ops(&self) -> f64 {
        self.calls as f64 / self.wall.as_secs_f64()
    }

    fn per_call(&self, d: Duration) -> Option<f64> {
        (self.calls > 0).then(|| d.as_secs_f64() * 1e6 / self.calls as f64)
    }

    fn cpu_us(&self) -> Option<f64> {
        self.per_call(self.cpu_total)
    }

    fn client_side_us(&self) -> Option<f64> {
        self.per_call(self.cpu_client_side)
    }

    /// The emulator runtime's CPU per call: what serving one request costs the emulator.
    fn emulator_us(&self) -> Option<f64> {
        self.per_call(self.cpu_total.saturating_sub(self.cpu_client_side))
    }

    fn percentile(&self, q: f64) -> Option<Duration> {
        if self.latencies.is_empty() {
            return None;
        }
        let rank =
            ((q * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        Some(self.latencies[rank - 1])
    }
}

/// `callers` tasks calling `call` in a loop until `duration` has passed.
async fn drive<F, Fut>(callers: usize, duration: Duration, call: F) -> Run
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let cpu_before = cpu_now();
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let call = call.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                let mut first_error = None;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match call().await {
                        Ok(()) => latencies.push(t.elapsed()),
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert(e);
                        }
                    }
                }
                (latencies, errors, first_error)
            })
        })
        .collect();
    let mut run = Run {
        calls: 0,
        errors: 0,
        first_error: None,
        wall: Duration::ZERO,
        latencies: Vec::new(),
        cpu_total: Duration::ZERO,
        cpu_client_side: Duration::ZERO,
    };
    for t in tasks {
        match t.await {
            Ok((latencies, errors, first_error)) => {
                run.latencies.extend(latencies);
                run.errors += errors;
                if run.first_error.is_none() {
                    run.first_error = first_error;
                }
            }
            Err(e) => {
                run.errors += 1;
                run.first_error
                    .get_or_insert(format!("caller panicked: {e}"));
            }
        }
    }
    run.wall = start.elapsed();
    let cpu_after = cpu_now();
    let total = cpu_after.total.saturating_sub(cpu_before.total);
    let emulator = cpu_after.emulator.saturating_sub(cpu_before.emulator);
    run.cpu_total = ticks(total);
    run.cpu_client_side = ticks(total.saturating_sub(emulator));
    run.calls = run.latencies.len();
    run.latencies.sort_unstable();
    run
}

/// A warm-up (connections opened, caches filled) and then the measured run.
async fn measure<F, Fut>(callers: usize, duration: Duration, call: F) -> Run
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let _ = drive(callers, WARM_UP, call.clone()).await;
    drive(callers, duration, call).await
}

fn client_call(
    backend: Arc<dyn BatchBackend>,
    job: JobId,
) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Clone + Send
{
    move || {
        let backend = backend.clone();
        let job = job.clone();
        Box::pin(async move {
            let status = backend
                .job_status(&job, StatusOptions::default())
                .await
                .map_err(|e| e.to_string())?;
            black_box(status);
            Ok(())
        })
    }
}

/// One pre-signed request, sent again and again.
struct RawRequest {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<bytes::Bytes>,
}

fn raw_call(
    http: reqwest::Client,
    request: Arc<RawRequest>,
) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Clone + Send
{
    move || {
        let http = http.clone();
        let r = request.clone();
        Box::pin(async move {
            let mut b = http
                .request(r.method.clone(), r.url.clone())
                .headers(r.headers.clone());
            if let Some(body) = &r.body {
                b = b.body(body.clone());
            }
            let response = b.send().await.map_err(|e| e.to_string())?;
            let status = response.status();
            let bytes = response.bytes().await.map_err(|e| e.to_string())?;
            let value: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
            if !status.is_success() || value.pointer("/Response/Error").is_some() {
                return Err(format!("HTTP {status}: {value}"));
            }
            black_box(value);
            Ok(())
        })
    }
}

fn header_map<N: AsRef<str>>(pairs: &[(N, String)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(n, v)| {
            (
                HeaderName::from_bytes(n.as_ref().as_bytes()).expect("header name"),
                HeaderValue::from_str(v).expect("header value"),
            )
        })
        .collect()
}

fn host_of(url: &Url) -> String {
    match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or("")),
        None => url.host_str().unwrap_or("").to_string(),
    }
}

// ----- per provider: the seeded job, the client, the raw request -----

struct Provider {
    name: &'static str,
    operation: &'static str,
    /// The argument of `bench_status_read.py`.
    python: &'static str,
    job: JobId,
    backend: Arc<dyn BatchBackend>,
    raw: Arc<RawRequest>,
    /// For AWS, the official SDK's client as it comes (same endpoint, region and keys, none of
    /// polybatch's interceptors), so what polybatch adds over the SDK is measured apart from
    /// what the SDK adds over raw HTTP.
    sdk: Option<aws_sdk_batch::Client>,
}

fn azure(running: &RunningEmulator, base: &Url) -> Provider {
    let id = "bench-status";
    running.emulator().azure().with_sim(|sim, now| {
        let body = serde_json::json!({"id": id, "poolInfo": {"poolId": "pool-1"}});
        sim.add_job(body, now).expect("a valid Job_Add");
    });
    let backend = AzureBatchBuilder::new()
        .with_endpoint(base.as_str().trim_end_matches('/'))
        .with_account(DEFAULT_AZURE_ACCOUNT)
        .with_shared_key(DEFAULT_AZURE_KEY)
        .build()
        .expect("azure client");

    // The request the client sends (client.rs: ocp-date, client-request-id,
    // return-client-request-id, Accept), signed once.
    let mut url = base.join(&format!("jobs/{id}")).expect("url");
    let version = ApiVersion::default().as_str();
    url.set_query(Some(&format!("api-version={version}")));
    let headers = vec![
        (
            "ocp-date",
            chrono::Utc::now()
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string(),
        ),
        (
            "client-request-id",
            "00000000-0000-4000-8000-000000000001".to_string(),
        ),
        ("return-client-request-id", "true".to_string()),
        ("Accept", "application/json".to_string()),
    ];
    let refs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let key = shared_key::decode_key(DEFAULT_AZURE_KEY).expect("key");
    let auth = shared_key::authorize(
        DEFAULT_AZURE_ACCOUNT,
        &key,
        "GET",
        &refs,
        url.path(),
        &[("api-version", version)],
        QueryNameCase::Lowercase,
    );
    let mut headers = headers;
    headers.push(("authorization", auth));
    Provider {
        name: "azure",
        operation: "Job_Get",
        python: "azure",
        job: JobId::new(id).expect("job id"),
        backend: Arc::new(backend),
        raw: Arc::new(RawRequest {
            method: Method::GET,
            url,
            headers: header_map(&headers),
            body: None,
        }),
        sdk: None,
    }
}

fn tencent(running: &RunningEmulator, base: &Url) -> Provider {
    let sim_spec = common::tencent_sim_job("bench-status", "100000", TENCENT_REGION);
    let id = running
        .emulator()
        .tencent()
        .with_store(|store, now| store.submit(TENCENT_REGION, sim_spec, None, now));
    let backend = common::tencent_unlimited(
        base.as_str().trim_end_matches('/').to_string(),
        TENCENT_REGION,
    );

    // The request the client sends (client.rs), signed once.
    let host = host_of(base);
    let payload = serde_json::to_vec(&serde_json::json!({ "JobId": id })).expect("json");
    let timestamp = chrono::Utc::now().timestamp();
    let signed = tc3::sign(
        DEFAULT_TENCENT_SECRET_ID,
        DEFAULT_TENCENT_SECRET_KEY,
        tc3::SERVICE,
        timestamp,
        "POST",
        "/",
        "",
        &[("content-type", TENCENT_CONTENT_TYPE), ("host", &host)],
        &payload,
    )
    .expect("signed");
    let headers = vec![
        ("host", host.clone()),
        ("content-type", TENCENT_CONTENT_TYPE.to_string()),
        ("authorization", signed.authorization),
        ("x-tc-action", "DescribeJob".to_string()),
        ("x-tc-timestamp", timestamp.to_string()),
        ("x-tc-version", TENCENT_API_VERSION.to_string()),
        ("x-tc-region", TENCENT_REGION.to_string()),
        ("x-tc-requestclient", REQUEST_CLIENT.to_string()),
        ("x-tc-language", "en-US".to_string()),
    ];
    Provider {
        name: "tencent",
        operation: "DescribeJob",
        python: "tencent",
        job: JobId::new(id).expect("job id"),
        backend: Arc::new(backend),
        raw: Arc::new(RawRequest {
            method: Method::POST,
            url: base.clone(),
            headers: header_map(&headers),
            body: Some(payload.into()),
        }),
        sdk: None,
    }
}

async fn aws(running: &RunningEmulator, base: &Url) -> Provider {
    let id = "00000000-0000-4000-8000-00000000be7c";
    let now = running.emulator().context().sim_clock.now();
    running.emulator().aws().with_store(AWS_REGION, |store| {
        let req = SubmitJob {
            job_name: Some("bench-status".into()),
            job_queue: Some(polybatch_sim::aws::SEEDED_QUEUE.into()),
            job_definition: Some(polybatch_sim::aws::SEEDED_JOB_DEFINITION.into()),
            ..Default::default()
        };
        store
            .submit_job(req, id.to_string(), now)
            .expect("a valid SubmitJob");
    });
    let backend = AwsBatchBuilder::new()
        .with_region(AWS_REGION)
        .with_endpoint_url(base.as_str().trim_end_matches('/'))
        .with_credentials(
            DEFAULT_AWS_ACCESS_KEY_ID,
            DEFAULT_AWS_SECRET_ACCESS_KEY,
            None,
        )
        .build()
        .await
        .expect("aws client");

    // DescribeJobs of the one id, SigV4-signed once with the SDK's signer.
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    use aws_smithy_runtime_api::client::identity::Identity;
    let url = base.join("v1/describejobs").expect("url");
    let host = host_of(base);
    let payload = serde_json::to_vec(&serde_json::json!({ "jobs": [id] })).expect("json");
    let identity: Identity = aws_credential_types::Credentials::new(
        DEFAULT_AWS_ACCESS_KEY_ID,
        DEFAULT_AWS_SECRET_ACCESS_KEY,
        None,
        None,
        "bench",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(AWS_REGION)
        .name("batch")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .expect("signing params")
        .into();
    let unsigned = [
        ("content-type", "application/json".to_string()),
        ("host", host),
    ];
    let request = SignableRequest::new(
        "POST",
        url.as_str(),
        unsigned.iter().map(|(n, v)| (*n, v.as_str())),
        SignableBody::Bytes(&payload),
    )
    .expect("signable request");
    let (instructions, _) = sign(request, &params).expect("signed").into_parts();
    let mut headers: Vec<(String, String)> = unsigned
        .iter()
        .map(|(n, v)| ((*n).to_string(), v.clone()))
        .collect();
    headers.extend(
        instructions
            .headers()
            .map(|(n, v)| (n.to_string(), v.to_string())),
    );
    Provider {
        name: "aws",
        operation: "DescribeJobs (1 id)",
        python: "aws",
        job: JobId::new(id).expect("job id"),
        backend: Arc::new(backend),
        raw: Arc::new(RawRequest {
            method: Method::POST,
            url,
            headers: header_map(&headers),
            body: Some(payload.into()),
        }),
        sdk: Some(bare_sdk(base).await),
    }
}

/// The official SDK's client with its defaults, on the same endpoint and keys.
async fn bare_sdk(base: &Url) -> aws_sdk_batch::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(AWS_REGION))
        .endpoint_url(base.as_str().trim_end_matches('/'))
        .credentials_provider(aws_sdk_batch::config::Credentials::new(
            DEFAULT_AWS_ACCESS_KEY_ID,
            DEFAULT_AWS_SECRET_ACCESS_KEY,
            None,
            None,
            "bench",
        ))
        .load()
        .await;
    aws_sdk_batch::Client::new(&config)
}

fn sdk_call(
    client: aws_sdk_batch::Client,
    job: JobId,
) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Clone + Send
{
    move || {
        let client = client.clone();
        let job = job.clone();
        Box::pin(async move {
            let out = client
                .describe_jobs()
                .jobs(job.as_str())
                .send()
                .await
                .map_err(|e| format!("{e:?}"))?;
            black_box(out);
            Ok(())
        })
    }
}

// ----- the official Python SDKs -----

struct PythonRow {
    calls: u64,
    cpu: f64,
    wall: f64,
}

/// One caller through the official SDK for `duration`, or why it could not run.
fn python_sdk(
    provider: &str,
    base: &Url,
    job: &JobId,
    duration: Duration,
) -> Result<PythonRow, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/bench_status_read.py");
    let mut cmd = Command::new("python3");
    cmd.arg(&script)
        .arg(provider)
        .args(["--url", base.as_str().trim_end_matches('/')])
        .args(["--job", job.as_str()])
        .args(["--seconds", &duration.as_secs_f64().to_string()])
        .env("PYTHONDONTWRITEBYTECODE", "1");
    match provider {
        "azure" => {
            cmd.args([
                "--account",
                DEFAULT_AZURE_ACCOUNT,
                "--key",
                DEFAULT_AZURE_KEY,
            ]);
        }
        "tencent" => {
            cmd.args(["--region", TENCENT_REGION]);
        }
        _ => {
            cmd.args(["--region", AWS_REGION]);
        }
    }
    let out = cmd
        .output()
        .map_err(|e| format!("python3 not runnable ({e})"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => {}
        Some(3) => return Err(format!("SDK missing: {}", stderr.trim())),
        _ => return Err(format!("script failed ({}): {}", out.status, stderr.trim())),
    }
    let line = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(line.trim())
        .map_err(|e| format!("unreadable script output ({e}): {line}"))?;
    Ok(PythonRow {
        calls: v["calls"].as_u64().unwrap_or(0),
        cpu: v["cpu_seconds"].as_f64().unwrap_or(0.0),
        wall: v["wall_seconds"].as_f64().unwrap_or(0.0),
    })
}

// ----- printing -----

fn ms(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| format!("{:.3} ms", d.as_secs_f64() * 1e3))
}

fn us(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{x:.1} µs"))
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "not met" }
}

fn print_run(side: &str, callers: usize, r: &Run) {
    println!(
        "  {side:<6} {callers:>4} {:>8} {:>10.0} {:>10} {:>10} {:>11} {:>11} {:>11} {:>6}",
        r.calls,
        r.ops(),
        ms(r.percentile(0.50)),
        ms(r.percentile(0.99)),
        us(r.cpu_us()),
        us(r.client_side_us()),
        us(r.emulator_us()),
        r.errors,
    );
    if let Some(e) = &r.first_error {
        println!("         first error: {e}");
    }
}

struct Summary {
    provider: &'static str,
    callers: usize,
    ops_ratio: f64,
    cpu_diff: Option<f64>,
    client_side_diff: Option<f64>,
    /// The raw loop's ops/s and the emulator's CPU per request serving it.
    raw_ops: f64,
    raw_emulator_us: Option<f64>,
}

fn main() {
    let secs: f64 = std::env::var("POLYBATCH_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s: &f64| *s > 0.0)
        .unwrap_or(3.0);
    let duration = Duration::from_secs_f64(secs);
    // The emulator on a runtime of its own, so its threads' CPU can be told apart.
    let emulator_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("emu-worker")
        .enable_all()
        .build()
        .expect("emulator runtime");
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-client")
        .enable_all()
        .build()
        .expect("client runtime");

    let mut config = EmulatorConfig::default();
    config.tencent.enforce_rate_limits = false;
    let running = emulator_rt
        .block_on(Emulator::spawn_manual(config))
        .expect("emulator on loopback");
    let base = Url::parse(&format!("{}/", running.url())).expect("url");
    let http = ClientOptions::default()
        .build_client("bench", &base)
        .expect("http client");

    // `POLYBATCH_BENCH_PROVIDERS=aws,azure` measures only those.
    let only = std::env::var("POLYBATCH_BENCH_PROVIDERS").ok();
    let wanted = |name: &str| {
        only.as_deref()
            .is_none_or(|list| list.split(',').any(|n| n.trim() == name))
    };
    let mut providers = Vec::new();
    if wanted("azure") {
        providers.push(azure(&running, &base));
    }
    if wanted("tencent") {
        providers.push(tencent(&running, &base));
    }
    if wanted("aws") {
        providers.push(client_rt.block_on(aws(&running, &base)));
    }

    println!(
        "job_status through our clients vs a raw pre-signed keep-alive loop, {secs} s a run, \
         emulator in-process on loopback (Tencent limits off on both sides)"
    );
    println!(
        "cpu/call = process CPU / calls: it includes the emulator's share, equally for both \
         sides, so client - raw is the client's own cost. client-side cpu/call excludes the \
         emulator runtime's threads."
    );
    let mut summaries = Vec::new();
    let mut client_c1: Vec<(&'static str, Option<f64>, Option<f64>)> = Vec::new();
    for p in &providers {
        println!("== {} ({})", p.name, p.operation);
        println!(
            "  {:<6} {:>4} {:>8} {:>10} {:>10} {:>10} {:>11} {:>11} {:>11} {:>6}",
            "side",
            "conc",
            "calls",
            "ops/s",
            "p50",
            "p99",
            "cpu/call",
            "client-side",
            "emulator",
            "errors"
        );
        for callers in CONCURRENCY {
            let client = client_rt.block_on(measure(
                callers,
                duration,
                client_call(p.backend.clone(), p.job.clone()),
            ));
            let raw = client_rt.block_on(measure(
                callers,
                duration,
                raw_call(http.clone(), p.raw.clone()),
            ));
            print_run("client", callers, &client);
            print_run("raw", callers, &raw);
            if let Some(sdk) = &p.sdk {
                let bare = client_rt.block_on(measure(
                    callers,
                    duration,
                    sdk_call(sdk.clone(), p.job.clone()),
                ));
                print_run("sdk", callers, &bare);
                let over_sdk = client.cpu_us().zip(bare.cpu_us()).map(|(c, b)| c - b);
                let sdk_over_raw = bare.cpu_us().zip(raw.cpu_us()).map(|(b, r)| b - r);
                println!(
                    "  -> client/sdk ops {:.3}, cpu/call client - sdk {}; sdk/raw ops {:.3}, \
                     cpu/call sdk - raw {}",
                    client.ops() / bare.ops(),
                    us(over_sdk),
                    bare.ops() / raw.ops(),
                    us(sdk_over_raw),
                );
            }
            let diff = client.cpu_us().zip(raw.cpu_us()).map(|(c, r)| c - r);
            let side_diff = client
                .client_side_us()
                .zip(raw.client_side_us())
                .map(|(c, r)| c - r);
            let ops_ratio = client.ops() / raw.ops();
            println!(
                "  -> client/raw ops {:.3} ({}); cpu/call client - raw {} ({}), client-side {}",
                ops_ratio,
                verdict(ops_ratio >= OPS_RATIO_TARGET),
                us(diff),
                verdict(diff.is_some_and(|d| d <= CPU_DIFF_TARGET_US)),
                us(side_diff),
            );
            if callers == 1 {
                client_c1.push((p.name, client.cpu_us(), client.client_side_us()));
            }
            summaries.push(Summary {
                provider: p.name,
                callers,
                ops_ratio,
                cpu_diff: diff,
                client_side_diff: side_diff,
                raw_ops: raw.ops(),
                raw_emulator_us: raw.emulator_us(),
            });
        }
    }

    println!("== official Python SDKs, one caller, {secs} s");
    println!(
        "  (the Python process's own CPU: the emulator is not in it; ours is compared both \
         client-side only, the fair figure, and with the emulator's share, a lower bound)"
    );
    let mut python_rows = Vec::new();
    for p in &providers {
        match python_sdk(p.python, &base, &p.job, duration) {
            Err(why) => println!("  {:<8} skipped: {why}", p.name),
            Ok(row) => {
                let per_call = (row.calls > 0).then(|| row.cpu * 1e6 / row.calls as f64);
                let (_, total, side) = client_c1
                    .iter()
                    .find(|(n, _, _)| *n == p.name)
                    .copied()
                    .unwrap_or((p.name, None, None));
                let ratio = per_call.zip(side).map(|(py, ours)| py / ours);
                let lower = per_call.zip(total).map(|(py, ours)| py / ours);
                println!(
                    "  {:<8} {} calls, {:.0} ops/s, cpu/call {}; python / ours (c=1) {} \
                     client-side ({}), {} with the emulator's share",
                    p.name,
                    row.calls,
                    row.calls as f64 / row.wall.max(f64::MIN_POSITIVE),
                    us(per_call),
                    ratio.map_or("-".into(), |r| format!("{r:.1}x")),
                    verdict(ratio.is_some_and(|r| r >= PYTHON_RATIO_TARGET)),
                    lower.map_or("-".into(), |r| format!("{r:.1}x")),
                );
                python_rows.push((p.name, ratio));
            }
        }
    }

    println!(
        "== summary (targets: client/raw ops >= {OPS_RATIO_TARGET}, cpu/call difference <= {CPU_DIFF_TARGET_US} µs, python/ours >= {PYTHON_RATIO_TARGET}x)"
    );
    for s in &summaries {
        println!(
            "  {:<8} c={:<3} ops ratio {:.3} {:<8} cpu diff {:>9} {:<8} (client-side {})",
            s.provider,
            s.callers,
            s.ops_ratio,
            verdict(s.ops_ratio >= OPS_RATIO_TARGET),
            us(s.cpu_diff),
            verdict(s.cpu_diff.is_some_and(|d| d <= CPU_DIFF_TARGET_US)),
            us(s.client_side_diff),
        );
    }
    for (name, ratio) in &python_rows {
        println!(
            "  {name:<8} python/ours {} {}",
            ratio.map_or("-".into(), |r| format!("{r:.1}x")),
            verdict(ratio.is_some_and(|r| r >= PYTHON_RATIO_TARGET)),
        );
    }
    // The emulator's capacity, so that it is known not to be what the loops above measure:
    // its CPU per request, the requests one core could serve at that cost, and how much of
    // the machine it used while the raw loop ran.
    println!("== the emulator serving the raw loop");
    for s in &summaries {
        let Some(per) = s.raw_emulator_us.filter(|u| *u > 0.0) else {
            continue;
        };
        println!(
            "  {:<8} c={:<3} {:>7.1} µs CPU per request -> {:>7.0} requests/s per core; \
             {:.2} cores busy at {:.0} ops/s",
            s.provider,
            s.callers,
            per,
            1e6 / per,
            s.raw_ops * per / 1e6,
            s.raw_ops,
        );
    }
    emulator_rt.block_on(running.shutdown());
}
