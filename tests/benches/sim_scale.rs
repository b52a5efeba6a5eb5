//! The emulator's simulations as an account fills up: what one operation costs when the
//! account already holds N jobs, for each provider's simulation (`polybatch-sim`), without
//! HTTP, so that only the state's size varies.
//!
//! For each size N (`POLYBATCH_SIM_SIZES`, default `1000,10000,100000`), a fresh account is
//! seeded with N jobs of one long task each (Azure: 100 pools of the emulator's default 3
//! nodes, so most tasks wait for a node, as on a busy account), then each operation is timed
//! over `OPS` calls, the simulated clock moving 1 ms between calls (as the emulator's does
//! between requests):
//! - Azure: a submit (`Job_Add` + `Task_Add`, as the Azure client makes it), a read (`advance`
//!   to the request's time, then `Job_Get`'s lookup) and a read at the same instant; then
//!   `Job_List`'s first page of 100 through the emulator's front end and the real client;
//! - Tencent: `SubmitJob` and `DescribeJob`'s view; then `DescribeJobs` through the emulator's
//!   front end and the real client (HTTP), 100 named jobs and a listing's first page of 100,
//!   since there the handler, not the store, sets the cost;
//! - AWS: `SubmitJob`, `DescribeJobs`' detail of one job, and `ListJobs`' first page of 100.
//!
//! Printed: µs per operation at each size, and the ratio of the largest size's cost to the
//! smallest's (flat is 1×; a cost that grows with the account shows here first).
//!
//! `cargo bench -p polybatch-tests --bench sim_scale` (`POLYBATCH_SIM_SIZES=1000,10000`).

#[path = "common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use polybatch_sim::aws::requests::SubmitJob;
use serde_json::{Value, json};

/// Calls timed per operation and size.
const OPS: usize = 2_000;
/// Simulated time between two calls.
const STEP_MS: i64 = 1;
const AZURE_POOLS: usize = 100;
const AZURE_NODES_PER_POOL: usize = 3;
const TENCENT_REGION: &str = "ap-guangzhou";
const AWS_REGION: &str = "us-east-1";
const AWS_ACCOUNT: &str = "123456789012";

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
}

/// A clock that moves `STEP_MS` on every call.
struct Ticks(DateTime<Utc>);

impl Ticks {
    fn next(&mut self) -> DateTime<Utc> {
        self.0 += chrono::Duration::milliseconds(STEP_MS);
        self.0
    }
}

/// The mean time of `f` over `OPS` calls, in µs.
fn time_per_call(mut f: impl FnMut(usize)) -> f64 {
    let start = Instant::now();
    for i in 0..OPS {
        f(i);
    }
    start.elapsed().as_secs_f64() * 1e6 / OPS as f64
}

/// Calls made per operation through a front end (HTTP): each costs about a millisecond.
const HTTP_CALLS: usize = 100;

/// Runs a front-end measurement: an emulator on loopback is started inside it.
fn on_runtime<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// The mean time of `HTTP_CALLS` awaited calls of `f`, in µs.
async fn time_per_http_call<F: std::future::Future>(mut f: impl FnMut() -> F) -> f64 {
    let start = Instant::now();
    for _ in 0..HTTP_CALLS {
        black_box(f().await);
    }
    start.elapsed().as_secs_f64() * 1e6 / HTTP_CALLS as f64
}

/// The mean time of reading a listing's first page of 100 through `backend`, in µs.
async fn first_page_us(backend: &dyn polybatch::BatchBackend) -> f64 {
    use futures::StreamExt;
    time_per_http_call(|| {
        backend
            .list_jobs(polybatch::ListJobsOptions::default().with_page_size(100))
            .take(100)
            .collect::<Vec<_>>()
    })
    .await
}

// ----- Azure -----

fn azure_job(id: &str, i: usize) -> Value {
    json!({"id": id, "poolInfo": {"poolId": format!("pool-{}", i % AZURE_POOLS)}})
}

fn azure_task() -> Value {
    json!({
        "id": "work",
        "commandLine": "/bin/sh -c 'run'",
        "environmentSettings": [
            {"name": polybatch_sim::azure::RUN_SECONDS_VAR, "value": "3600"}
        ]
    })
}

fn azure(n: usize) -> Vec<(&'static str, f64)> {
    use polybatch_sim::azure::Sim;
    let mut clock = Ticks(t0());
    let mut sim = Sim::new(clock.0, AZURE_NODES_PER_POOL);
    let submit = |sim: &mut Sim, id: &str, i: usize, t| {
        sim.add_job(azure_job(id, i), t).expect("a valid Job_Add");
        sim.add_task(id, azure_task(), t).expect("a valid Task_Add");
        sim.advance(t);
    };
    for i in 0..n {
        let t = clock.next();
        submit(&mut sim, &format!("seed-{i}"), i, t);
    }
    let ids: Vec<String> = (0..n).map(|i| format!("seed-{}", i * 7919 % n)).collect();
    let submit_us = time_per_call(|i| {
        let t = clock.next();
        submit(&mut sim, &format!("new-{i}"), i, t);
    });
    let read_us = time_per_call(|i| {
        let t = clock.next();
        sim.advance(t);
        black_box(sim.job(&ids[i % n]));
    });
    let t = clock.next();
    let same_instant_us = time_per_call(|i| {
        sim.advance(t);
        black_box(sim.job(&ids[i % n]));
    });
    vec![
        ("Job_Add + Task_Add", submit_us),
        ("Job_Get, clock moved", read_us),
        ("Job_Get, same instant", same_instant_us),
    ]
}

/// Azure's `Job_List` through the emulator's front end and the real client (HTTP, Shared Key
/// verified): a listing's first page of 100, where the handler, not the simulation, decides
/// what one call costs.
fn azure_front_end(n: usize) -> Vec<(&'static str, f64)> {
    use polybatch_azure::AzureBatchBuilder;
    use polybatch_emulator::config::{DEFAULT_AZURE_ACCOUNT, DEFAULT_AZURE_KEY};
    on_runtime(async {
        let config = polybatch_emulator::EmulatorConfig::default();
        let running = polybatch_emulator::Emulator::spawn_manual(config)
            .await
            .expect("emulator on loopback");
        running.emulator().azure().with_sim(|sim, now| {
            for i in 0..n {
                let id = format!("seed-{i}");
                sim.add_job(azure_job(&id, i), now)
                    .expect("a valid Job_Add");
            }
        });
        let backend = AzureBatchBuilder::new()
            .with_endpoint(running.url())
            .with_account(DEFAULT_AZURE_ACCOUNT)
            .with_shared_key(DEFAULT_AZURE_KEY)
            .build()
            .expect("azure client");
        let page = first_page_us(&backend).await;
        running.shutdown().await;
        vec![("Job_List, 1st page of 100 (HTTP)", page)]
    })
}

// ----- Tencent -----

fn tencent(n: usize) -> Vec<(&'static str, f64)> {
    use polybatch_sim::tencent::Store;
    let sim_spec = common::tencent_sim_job("scaled", "3600", TENCENT_REGION);
    let mut clock = Ticks(t0());
    let mut store = Store::default();
    let ids: Vec<String> = (0..n)
        .map(|_| store.submit(TENCENT_REGION, sim_spec.clone(), None, clock.next()))
        .collect();
    let submit_us = time_per_call(|_| {
        let t = clock.next();
        black_box(store.submit(TENCENT_REGION, sim_spec.clone(), None, t));
    });
    let read_us = time_per_call(|i| {
        let t = clock.next();
        let job = store.get(TENCENT_REGION, &ids[i * 7919 % n]);
        black_box(job.map(|j| j.view(t)));
    });
    vec![("SubmitJob", submit_us), ("DescribeJob", read_us)]
}

/// Tencent's `DescribeJobs` through the emulator's front end (HTTP, TC3 verified), whose
/// handler, not the store, decides what one call costs: 100 named jobs (as `job_statuses`
/// asks) and the first page of 100 of a listing, both through the real client.
fn tencent_front_end(n: usize) -> Vec<(&'static str, f64)> {
    use polybatch::{BatchBackend, JobId, JobStatusesOptions};
    on_runtime(async {
        let mut config = polybatch_emulator::EmulatorConfig::default();
        config.tencent.enforce_rate_limits = false;
        let running = polybatch_emulator::Emulator::spawn_manual(config)
            .await
            .expect("emulator on loopback");
        let spec = common::tencent_sim_job("scaled", "3600", TENCENT_REGION);
        let ids: Vec<JobId> = running.emulator().tencent().with_store(|store, now| {
            (0..n)
                .map(|_| store.submit(TENCENT_REGION, spec.clone(), None, now))
                .filter_map(|id| JobId::new(id).ok())
                .collect()
        });
        let backend = common::tencent_unlimited(running.url(), TENCENT_REGION);
        let named: Vec<JobId> = ids
            .iter()
            .step_by((n / 100).max(1))
            .take(100)
            .cloned()
            .collect();
        let by_id = time_per_http_call(|| {
            let backend = &backend;
            let named = &named;
            async move {
                backend
                    .job_statuses(named, JobStatusesOptions::default())
                    .await
                    .expect("job_statuses")
            }
        })
        .await;
        let page = first_page_us(&backend).await;
        running.shutdown().await;
        vec![
            ("DescribeJobs, 100 ids (HTTP)", by_id),
            ("DescribeJobs, 1st page (HTTP)", page),
        ]
    })
}

// ----- AWS -----

fn aws(n: usize) -> Vec<(&'static str, f64)> {
    use polybatch_sim::aws::Store;
    let mut clock = Ticks(t0());
    let mut store = Store::seeded(AWS_REGION, AWS_ACCOUNT);
    let request = |i: usize| SubmitJob {
        job_name: Some(format!("scaled-{i}")),
        job_queue: Some(polybatch_sim::aws::SEEDED_QUEUE.into()),
        job_definition: Some(polybatch_sim::aws::SEEDED_JOB_DEFINITION.into()),
        ..Default::default()
    };
    let id = |i: usize| format!("00000000-0000-4000-8000-{i:012}");
    for i in 0..n {
        let t = clock.next();
        store
            .submit_job(request(i), id(i), t)
            .expect("a valid SubmitJob");
    }
    let submit_us = time_per_call(|i| {
        let t = clock.next();
        let _ = black_box(store.submit_job(request(n + i), id(n + i), t));
    });
    let read_us = time_per_call(|i| {
        let t = clock.next();
        black_box(store.detail(&id(i * 7919 % n), t));
    });
    // A listing's first page, every job matching (a name filter lists every status).
    let list = polybatch_sim::aws::requests::ListJobs {
        job_queue: Some(polybatch_sim::aws::SEEDED_QUEUE.into()),
        max_results: Some(100),
        filters: Some(vec![polybatch_sim::aws::requests::KeyValuesPair {
            name: Some("JOB_NAME".into()),
            values: Some(vec!["scaled-*".into()]),
        }]),
        ..Default::default()
    };
    let t = clock.next();
    let list_us = time_per_call(|_| {
        let _ = black_box(store.list_jobs(&list, t));
    });
    vec![
        ("SubmitJob", submit_us),
        ("DescribeJobs (1 id)", read_us),
        ("ListJobs, 1st page of 100", list_us),
    ]
}

/// One provider's measurement at one size: `(operation, µs per call)` rows.
type Measure = fn(usize) -> Vec<(&'static str, f64)>;

fn sizes() -> Vec<usize> {
    std::env::var("POLYBATCH_SIM_SIZES")
        .ok()
        .map(|s| {
            s.split(',')
                .filter_map(|n| n.trim().parse().ok())
                .filter(|n| *n > 0)
                .collect::<Vec<usize>>()
        })
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000])
}

fn main() {
    let sizes = sizes();
    println!(
        "one operation on an account already holding N jobs, {OPS} calls each, the simulated \
         clock moving {STEP_MS} ms between calls (µs per call)"
    );
    let providers: [(&str, Measure); 5] = [
        ("azure", azure),
        ("azure front end", azure_front_end),
        ("tencent", tencent),
        ("tencent front end", tencent_front_end),
        ("aws", aws),
    ];
    for (name, run) in providers {
        let mut rows: Vec<(&'static str, Vec<f64>)> = Vec::new();
        let mut seeded = Vec::new();
        for &n in &sizes {
            let start = Instant::now();
            for (op, us) in run(n) {
                match rows.iter_mut().find(|(o, _)| *o == op) {
                    Some((_, v)) => v.push(us),
                    None => rows.push((op, vec![us])),
                }
            }
            seeded.push(start.elapsed());
        }
        println!("== {name}");
        let header: Vec<String> = sizes.iter().map(|n| format!("N={n}")).collect();
        println!(
            "  {:<34} {:>12} {:>10}",
            "operation",
            header.join(" / "),
            "largest÷smallest"
        );
        for (op, us) in &rows {
            let cells: Vec<String> = us.iter().map(|u| format!("{u:.2}")).collect();
            let ratio = match (us.first(), us.last()) {
                (Some(a), Some(b)) if *a > 0.0 => format!("{:.2}x", b / a),
                _ => "-".into(),
            };
            println!("  {op:<34} {:>12} {ratio:>10}", cells.join(" / "));
        }
        let walls: Vec<String> = seeded
            .iter()
            .map(|d: &Duration| format!("{:.1} s", d.as_secs_f64()))
            .collect();
        println!("  (seeding and measuring took {})", walls.join(" / "));
    }
}
