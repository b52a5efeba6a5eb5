//! Large listings streamed through the real clients: entries per second and peak memory at
//! 10,000 and 100,000 entries.
//!
//! Listings:
//! - **azure prep/release**: `BatchBackend::list_prep_release_status` (Azure's
//!   `JobPreparationAndReleaseTaskStatus_List`), pages of 1,000 (`maxresults`), followed through
//!   `odata.nextLink`;
//! - **azure jobs**: `list_jobs` (`Job_List`), pages of 1,000;
//! - **tencent jobs**: `list_jobs` (`DescribeJobs`, `Offset`/`Limit`), pages of 100, the API's
//!   largest (the client's rate limits off: at the documented 2/s the figure would be the limit).
//!
//! The pages come from a small axum server in this bench that writes each page on the fly from
//! its continuation (`$skiptoken` / `Offset`) in the wire shape the emulator answers with, and
//! checks no signature: nothing holds the N entries, so the memory figure is the client's. The
//! stream is consumed item by item, never collected.
//!
//! Each (listing, size) runs in a child process of its own (this binary, re-run with
//! `POLYBATCH_LISTING_CASE`), so each peak (`VmHWM` of `/proc/self/status`) is that run's alone.
//! Printed per run: entries, wall time, entries/s (target ≥ 100,000/s), RSS before the listing,
//! peak RSS and the growth; then, per listing, the peak at 100,000 against the peak at 10,000
//! (target: within 10%). Targets print "met" or "not met"; the process never fails on them.
//!
//! `cargo bench -p polybatch-tests --bench listing` (`POLYBATCH_LISTING_SIZES=10000,100000`).

use std::fmt::Write as _;
use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::StreamExt;
use polybatch::{BatchBackend, JobId, ListJobsOptions, ListPrepReleaseOptions};
use polybatch_azure::AzureBatchBuilder;
use polybatch_emulator::config::{
    DEFAULT_AZURE_ACCOUNT, DEFAULT_AZURE_KEY, DEFAULT_TENCENT_SECRET_ID, DEFAULT_TENCENT_SECRET_KEY,
};
use polybatch_tencent::{Endpoint, TencentBatchBuilder};
use serde_json::Value;

const CASE_ENV: &str = "POLYBATCH_LISTING_CASE";
const AZURE_PAGE: usize = 1_000;
const TENCENT_PAGE: usize = 100;
const JOB: &str = "listed-job";
const TIME: &str = "2026-12-01T00:00:00.0000000Z";
const RATE_TARGET: f64 = 100_000.0;
const FLAT_TARGET: f64 = 0.10;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    AzurePrepRelease,
    AzureJobs,
    TencentJobs,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::AzurePrepRelease, Kind::AzureJobs, Kind::TencentJobs];

    fn name(self) -> &'static str {
        match self {
            Kind::AzurePrepRelease => "azure-prep-release",
            Kind::AzureJobs => "azure-jobs",
            Kind::TencentJobs => "tencent-jobs",
        }
    }

    fn from_name(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == s)
    }

    fn page(self) -> usize {
        match self {
            Kind::TencentJobs => TENCENT_PAGE,
            _ => AZURE_PAGE,
        }
    }
}

// ----- the page server -----

struct Pages {
    base: String,
    total: usize,
}

/// `(first, last)` of the page starting at `from`, and where the next starts.
fn page_range(total: usize, from: usize, size: usize) -> (usize, usize, Option<usize>) {
    let from = from.min(total);
    let end = from.saturating_add(size).min(total);
    (from, end, (end < total).then_some(end))
}

/// The `$skiptoken` and `maxresults` of an Azure list request.
fn azure_query(raw: Option<&str>) -> (usize, usize) {
    let mut from = 0;
    let mut max = AZURE_PAGE;
    for (n, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match n.to_ascii_lowercase().as_str() {
            "$skiptoken" => from = v.parse().unwrap_or(0),
            "maxresults" => max = v.parse().unwrap_or(AZURE_PAGE).clamp(1, AZURE_PAGE),
            _ => {}
        }
    }
    (from, max)
}

fn azure_json(body: String) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;odata=minimalmetadata"),
    );
    r
}

/// An OData page around `items` (already comma-joined), with the next link when there is one.
fn odata_page(
    pages: &Pages,
    path: &str,
    metadata: &str,
    items: &str,
    next: Option<usize>,
    max: usize,
) -> String {
    let mut out = format!(
        "{{\"odata.metadata\":\"{}/$metadata#{metadata}\",\"value\":[{items}]",
        pages.base
    );
    if let Some(next) = next {
        let _ = write!(
            out,
            ",\"odata.nextLink\":\"{}{path}?api-version=2024-07-01.20.0&maxresults={max}&$skiptoken={next}\"",
            pages.base
        );
    }
    out.push('}');
    out
}

/// One `JobPreparationAndReleaseTaskExecutionInformation`, as the emulator renders a node whose
/// preparation and release tasks both completed (`render::prep_release_items`).
fn prep_release_item(out: &mut String, base: &str, job: &str, i: usize) {
    let node = format!("tvm-{i:010}_1-20261201t000000z");
    let url = format!("{base}/pools/pool-1/nodes/{node}");
    let _ = write!(
        out,
        "{{\"poolId\":\"pool-1\",\"nodeId\":\"{node}\",\"nodeUrl\":\"{url}\",\
         \"jobPreparationTaskExecutionInfo\":{{\"startTime\":\"{TIME}\",\"state\":\"completed\",\
         \"taskRootDirectory\":\"workitems/{job}/job-1/jobpreparation\",\
         \"taskRootDirectoryUrl\":\"{url}/files/workitems/{job}/job-1/jobpreparation\",\
         \"endTime\":\"{TIME}\",\"exitCode\":0,\"result\":\"success\",\"retryCount\":0}},\
         \"jobReleaseTaskExecutionInfo\":{{\"startTime\":\"{TIME}\",\"state\":\"completed\",\
         \"taskRootDirectory\":\"workitems/{job}/job-1/jobrelease\",\
         \"taskRootDirectoryUrl\":\"{url}/files/workitems/{job}/job-1/jobrelease\",\
         \"endTime\":\"{TIME}\",\"exitCode\":0,\"result\":\"success\"}}}}"
    );
}

/// One CloudJob of `Job_List`, as the emulator renders an active job (`render::job`).
fn cloud_job(out: &mut String, base: &str, i: usize) {
    let _ = write!(
        out,
        "{{\"id\":\"job-{i:08}\",\"url\":\"{base}/jobs/job-{i:08}\",\"eTag\":\"0x8DE{i:013X}\",\
         \"lastModified\":\"{TIME}\",\"creationTime\":\"{TIME}\",\"state\":\"active\",\
         \"stateTransitionTime\":\"{TIME}\",\"priority\":0,\"maxParallelTasks\":-1,\
         \"allowTaskPreemption\":false,\"usesTaskDependencies\":false,\
         \"onAllTasksComplete\":\"noaction\",\"onTaskFailure\":\"noaction\",\
         \"constraints\":{{\"maxWallClockTime\":\"P10675199DT2H48M5.4775807S\",\"maxTaskRetryCount\":0}},\
         \"poolInfo\":{{\"poolId\":\"pool-1\"}},\
         \"executionInfo\":{{\"startTime\":\"{TIME}\",\"poolId\":\"pool-1\"}}}}"
    );
}

/// One `JobSet` item of DescribeJobs, as the emulator renders a running job
/// (`render::job_summary`).
fn tencent_job(out: &mut String, i: usize) {
    let _ = write!(
        out,
        "{{\"JobId\":\"job-{i:08x}\",\"JobName\":\"listed-{i}\",\"JobState\":\"RUNNING\",\
         \"Priority\":0,\"Placement\":{{\"Zone\":\"ap-guangzhou-3\",\"ProjectId\":0}},\
         \"CreateTime\":\"2026-12-01T00:00:00Z\",\"EndTime\":null,\
         \"TaskMetrics\":{{\"SubmittedCount\":0,\"PendingCount\":0,\"RunnableCount\":0,\
         \"StartingCount\":0,\"RunningCount\":1,\"SucceedCount\":0,\"FailedInterruptedCount\":0,\
         \"FailedCount\":0}},\"Tags\":[]}}"
    );
}

fn joined(range: std::ops::Range<usize>, mut item: impl FnMut(&mut String, usize)) -> String {
    let mut out = String::with_capacity(range.len() * 900);
    for i in range {
        if !out.is_empty() {
            out.push(',');
        }
        item(&mut out, i);
    }
    out
}

async fn prep_release(
    State(pages): State<Arc<Pages>>,
    Path(job): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let (from, max) = azure_query(q.as_deref());
    let (first, end, next) = page_range(pages.total, from, max);
    let items = joined(first..end, |out, i| {
        prep_release_item(out, &pages.base, &job, i)
    });
    let path = format!("/jobs/{job}/jobpreparationandreleasetaskstatus");
    azure_json(odata_page(
        &pages,
        &path,
        "jobpreparationandreleasetaskstatuslist",
        &items,
        next,
        max,
    ))
}

async fn job_list(State(pages): State<Arc<Pages>>, RawQuery(q): RawQuery) -> Response {
    let (from, max) = azure_query(q.as_deref());
    let (first, end, next) = page_range(pages.total, from, max);
    let items = joined(first..end, |out, i| cloud_job(out, &pages.base, i));
    azure_json(odata_page(&pages, "/jobs", "jobs", &items, next, max))
}

async fn tencent(State(pages): State<Arc<Pages>>, headers: HeaderMap, body: Bytes) -> Response {
    let action = headers
        .get("x-tc-action")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let body = if action == "DescribeJobs" {
        let offset = req["Offset"].as_u64().unwrap_or(0) as usize;
        let limit = (req["Limit"].as_u64().unwrap_or(20) as usize).clamp(1, TENCENT_PAGE);
        let (first, end, _) = page_range(pages.total, offset, limit);
        let items = joined(first..end, tencent_job);
        format!(
            "{{\"Response\":{{\"JobSet\":[{items}],\"TotalCount\":{},\"RequestId\":\"00000000-0000-4000-8000-{offset:012}\"}}}}",
            pages.total
        )
    } else {
        "{\"Response\":{\"Error\":{\"Code\":\"UnsupportedOperation\",\"Message\":\"not served by this bench\"},\"RequestId\":\"00000000-0000-4000-8000-000000000000\"}}".to_string()
    };
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

// ----- memory from /proc -----

/// A `kB` line of `/proc/self/status`, in bytes.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line
        .trim_start_matches(field)
        .trim_start_matches(':')
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

// ----- one case, in its own process -----

async fn run_case(kind: Kind, total: usize) -> Value {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("loopback listener");
    let addr = listener.local_addr().expect("address");
    let base = format!("http://{addr}");
    let pages = Arc::new(Pages {
        base: base.clone(),
        total,
    });
    let app = Router::new()
        .route(
            "/jobs/{job}/jobpreparationandreleasetaskstatus",
            get(prep_release),
        )
        .route("/jobs", get(job_list))
        .route("/", post(tencent))
        .with_state(pages);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let backend: Arc<dyn BatchBackend> = match kind {
        Kind::AzurePrepRelease | Kind::AzureJobs => Arc::new(
            AzureBatchBuilder::new()
                .with_endpoint(base.as_str())
                .with_account(DEFAULT_AZURE_ACCOUNT)
                .with_shared_key(DEFAULT_AZURE_KEY)
                .build()
                .expect("azure client"),
        ),
        Kind::TencentJobs => Arc::new(
            TencentBatchBuilder::new()
                .with_endpoint(Endpoint::Custom(base.clone()))
                .with_secret_id(DEFAULT_TENCENT_SECRET_ID)
                .with_secret_key(DEFAULT_TENCENT_SECRET_KEY)
                .with_region("ap-guangzhou")
                .with_rate_limits_disabled()
                .build()
                .expect("tencent client"),
        ),
    };
    let job = JobId::new(JOB).expect("job id");
    let page = u32::try_from(kind.page()).unwrap_or(u32::MAX);
    let stream = || match kind {
        Kind::AzurePrepRelease => backend
            .list_prep_release_status(&job, ListPrepReleaseOptions::default().with_page_size(page))
            .map(|r| r.map(|s| black_box(s).node_id.len()))
            .boxed(),
        Kind::AzureJobs | Kind::TencentJobs => backend
            .list_jobs(ListJobsOptions::default().with_page_size(page))
            .map(|r| r.map(|s| black_box(s).job_id.as_str().len()))
            .boxed(),
    };

    // One page first, untimed: connection, lazy statics and the allocator's first arenas.
    let mut warm = stream();
    for _ in 0..kind.page() {
        if warm.next().await.is_none() {
            break;
        }
    }
    drop(warm);

    let rss_before = status_bytes("VmRSS").unwrap_or(0);
    let hwm_before = status_bytes("VmHWM").unwrap_or(0);
    let started = Instant::now();
    let mut entries: u64 = 0;
    let mut error = None;
    let mut s = stream();
    while let Some(item) = s.next().await {
        match item {
            Ok(n) => {
                black_box(n);
                entries += 1;
            }
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    let wall = started.elapsed();
    drop(s);
    let hwm = status_bytes("VmHWM").unwrap_or(0);
    server.abort();
    serde_json::json!({
        "entries": entries,
        "wall_seconds": wall.as_secs_f64(),
        "rss_before": rss_before,
        "hwm_before": hwm_before,
        "hwm": hwm,
        "error": error,
    })
}

fn child(case: &str) {
    let (kind, n) = case.split_once(':').expect("CASE kind:n");
    let kind = Kind::from_name(kind).expect("a known listing");
    let n: usize = n.parse().expect("a size");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let result = runtime.block_on(run_case(kind, n));
    println!("{result}");
}

// ----- the parent: one child per case, then the table -----

struct Measured {
    entries: u64,
    wall: Duration,
    rss_before: u64,
    hwm: u64,
    error: Option<String>,
}

fn spawn(kind: Kind, n: usize) -> Result<Measured, String> {
    let exe = std::env::current_exe().map_err(|e| format!("no current exe: {e}"))?;
    let out = Command::new(exe)
        .env(CASE_ENV, format!("{}:{n}", kind.name()))
        .output()
        .map_err(|e| format!("cannot run the child: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "child failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or("");
    let v: Value = serde_json::from_str(line).map_err(|e| format!("child said {line:?}: {e}"))?;
    Ok(Measured {
        entries: v["entries"].as_u64().unwrap_or(0),
        wall: Duration::from_secs_f64(v["wall_seconds"].as_f64().unwrap_or(0.0)),
        rss_before: v["rss_before"].as_u64().unwrap_or(0),
        hwm: v["hwm"].as_u64().unwrap_or(0),
        error: v["error"].as_str().map(str::to_string),
    })
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "not met" }
}

fn main() {
    if let Ok(case) = std::env::var(CASE_ENV) {
        child(&case);
        return;
    }
    let sizes: Vec<usize> = std::env::var("POLYBATCH_LISTING_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![10_000, 100_000]);
    println!(
        "listings streamed through the real clients from an on-the-fly page server in the same \
         process (each run its own process); targets: >= {RATE_TARGET:.0} entries/s, peak RSS \
         at the largest size within {:.0}% of the smallest",
        FLAT_TARGET * 100.0
    );
    println!(
        "{:<20} {:>5} {:>8} {:>8} {:>12} {:>11} {:>11} {:>10}  rate",
        "listing", "page", "entries", "wall", "entries/s", "RSS before", "peak RSS", "growth"
    );
    let mut verdicts = Vec::new();
    for kind in Kind::ALL {
        let mut peaks = Vec::new();
        for &n in &sizes {
            match spawn(kind, n) {
                Err(why) => println!("{:<20} {n:>8}: {why}", kind.name()),
                Ok(m) => {
                    let rate = m.entries as f64 / m.wall.as_secs_f64().max(f64::MIN_POSITIVE);
                    println!(
                        "{:<20} {:>5} {:>8} {:>6.2} s {:>12.0} {:>11} {:>11} {:>10}  {}",
                        kind.name(),
                        kind.page(),
                        m.entries,
                        m.wall.as_secs_f64(),
                        rate,
                        mib(m.rss_before),
                        mib(m.hwm),
                        mib(m.hwm.saturating_sub(m.rss_before)),
                        verdict(rate >= RATE_TARGET && m.entries == n as u64),
                    );
                    if let Some(e) = &m.error {
                        println!("  error after {} entries: {e}", m.entries);
                    }
                    if m.entries != n as u64 {
                        println!("  expected {n} entries, got {}", m.entries);
                    }
                    peaks.push((n, m.hwm));
                }
            }
        }
        if let (Some(&(small, a)), Some(&(large, b))) = (peaks.first(), peaks.last())
            && large > small
            && a > 0
        {
            let growth = b as f64 / a as f64 - 1.0;
            verdicts.push(format!(
                "{:<20} peak RSS {} at {large} vs {} at {small}: {:+.1}% ({})",
                kind.name(),
                mib(b),
                mib(a),
                growth * 100.0,
                verdict(growth <= FLAT_TARGET),
            ));
        }
    }
    println!(
        "== peak memory, largest vs smallest size (target within +{:.0}%)",
        FLAT_TARGET * 100.0
    );
    for v in verdicts {
        println!("  {v}");
    }
}
