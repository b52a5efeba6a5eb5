//! Robustness under faults, two ways.
//!
//! - The whole conformance suite, through each real client, while the emulator answers a
//!   transient error on every third request (never two in a row). Every check must still
//!   pass: the clients' retries absorb the faults — including for the non-idempotent calls
//!   (Azure task reactivate and job/task add, Tencent `RetryJobs`), which may be replayed only
//!   because the server refused them by throttling — and nothing leaks into the neutral
//!   results.
//! - Chaos, for Azure, Tencent and AWS: thousands of mixed operations (submit, status, bulk
//!   status, list, terminate, retry, delete — terminate where AWS cannot delete) with more than 20% of requests faulted across every fault kind the
//!   emulator injects (throttles, server errors, resets before and after the request was
//!   applied, lost answers, stalls, truncated, invalid, HTML, oversized and mistyped bodies),
//!   from a printed seed. Effects are counted in the emulator's journal: no job is created
//!   twice, no retry is applied twice, every idempotent operation succeeds, and every other
//!   failure is a typed error. `POLYBATCH_CHAOS_OPS` and `POLYBATCH_CHAOS_SEED` size and seed
//!   a run (`POLYBATCH_CHAOS_OPS=20000 cargo test -p polybatch-tests --test chaos_e2e chaos --
//!   --nocapture`).

mod support;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use polybatch::conformance::run_all;
use polybatch::retry::RetryPolicy;
use polybatch::{
    BatchBackend, DeleteJobOptions, Error, IdempotencyKey, JobId, JobSpec, JobStatusesOptions,
    ListJobsOptions, Placement, RetryFailedTasksOptions, StatusOptions, SubmitJobOptions, TaskId,
    TaskSpec, TerminateJobOptions,
};
use polybatch_azure::ApiVersion;
use polybatch_emulator::{Emulator, FaultKind, FaultRule, Provider};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use support::azure::{Auth, AzureFixture};
use support::tencent::{TencentEnv, TencentFixture, quick_retries};

/// Enough attempts that a call unlucky enough to meet the fault on several of its attempts
/// (other calls run in between) still gets through.
const ATTEMPTS: u32 = 8;

fn every_third(provider: Provider, operation: &str, fault: FaultKind) -> FaultRule {
    FaultRule::new(provider, operation, u32::MAX, fault).every(3)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_conformance_survives_transient_faults() {
    let env = support::azure::AzureEnv::start().await;
    let backend = env
        .builder(Auth::SharedKey, ApiVersion::default())
        .with_retry_policy(
            polybatch::retry::RetryPolicy::default()
                .with_max_attempts(ATTEMPTS)
                .with_initial_backoff(std::time::Duration::from_millis(5))
                .with_max_backoff(std::time::Duration::from_millis(20))
                .with_jitter(false),
        )
        // A throttle on every third request would pace the suite down to the adaptive
        // limiter's floor (0.5 requests/s): that pacing has its own paused-clock tests, and
        // here only the retries are under test.
        .with_adaptive_rate_limits(false)
        .build()
        .expect("client");
    // Throttling on every operation (retryable for all), and a plain 500 on reads (retryable
    // only because they are idempotent).
    env.faults().add(every_third(
        Provider::Azure,
        "*",
        FaultKind::Error {
            status: 503,
            code: "ServerBusy".into(),
            retry_after_secs: Some(0),
        },
    ));
    for read in ["Job_Get", "Task_Get"] {
        env.faults().add(every_third(
            Provider::Azure,
            read,
            FaultKind::Error {
                status: 500,
                code: "InternalError".into(),
                retry_after_secs: None,
            },
        ));
    }
    let fixture = AzureFixture::new(env, backend.clone());

    run_all(&backend, &fixture).await;

    let stats = fixture.env().stats();
    let busy = stats.errors_with_code(Provider::Azure, "ServerBusy");
    let internal = stats.errors_with_code(Provider::Azure, "InternalError");
    assert!(
        busy >= 30 && internal >= 5,
        "the faults were not exercised: {busy} ServerBusy, {internal} InternalError answers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tencent_conformance_survives_transient_faults() {
    let env = TencentEnv::fast().await;
    let backend = env
        .fast_builder()
        .with_retry_policy(quick_retries().with_max_attempts(ATTEMPTS))
        // As for Azure: the retries are under test, not the adaptive pacing.
        .with_adaptive_rate_limits(false)
        .build()
        .expect("client");
    env.emulator().context().faults.add(every_third(
        Provider::Tencent,
        "*",
        FaultKind::Error {
            status: 200,
            code: "RequestLimitExceeded".into(),
            retry_after_secs: None,
        },
    ));
    env.emulator().context().faults.add(every_third(
        Provider::Tencent,
        "DescribeJob",
        FaultKind::Error {
            status: 200,
            code: "InternalError".into(),
            retry_after_secs: None,
        },
    ));
    let fixture = TencentFixture::new(env, backend.clone());

    run_all(&backend, &fixture).await;

    let stats = fixture.env.stats();
    let throttled = stats.errors_with_code(Provider::Tencent, "RequestLimitExceeded");
    let internal = stats.errors_with_code(Provider::Tencent, "InternalError");
    assert!(
        throttled >= 30 && internal >= 5,
        "the faults were not exercised: {throttled} RequestLimitExceeded, {internal} InternalError answers"
    );
}

// ----- chaos -----

const DEFAULT_OPS: usize = 2000;
const DEFAULT_SEED: u64 = 20_261_202;

fn chaos_size() -> (usize, u64) {
    let ops = std::env::var("POLYBATCH_CHAOS_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_OPS);
    let seed = std::env::var("POLYBATCH_CHAOS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    (ops, seed)
}

/// Over both clients' body caps (Azure 32 MiB, Tencent 50 MB).
const OVERSIZED: u64 = 51 << 20;

/// Every fault kind, each with its probability per request; together about a quarter of all
/// requests. `throttles` are the provider's own throttling answers.
fn chaos_faults(throttles: Vec<FaultKind>, server_error: FaultKind) -> Vec<(FaultKind, f64)> {
    let mut faults: Vec<(FaultKind, f64)> = throttles.into_iter().map(|t| (t, 0.03)).collect();
    faults.extend([
        (server_error.clone(), 0.02),
        (
            match server_error {
                FaultKind::Error { status, code, .. } => FaultKind::LoseAnswer { status, code },
                other => other,
            },
            0.02,
        ),
        (FaultKind::Reset { applied: false }, 0.02),
        (FaultKind::Reset { applied: true }, 0.02),
        (
            FaultKind::Stall {
                applied: false,
                headers: false,
            },
            0.01,
        ),
        (
            FaultKind::Stall {
                applied: true,
                headers: true,
            },
            0.01,
        ),
        (FaultKind::Truncate, 0.02),
        (FaultKind::InvalidJson, 0.02),
        (FaultKind::WrongContentType, 0.02),
        (FaultKind::WrongTypes, 0.02),
        (FaultKind::MissingFields, 0.02),
        (FaultKind::Oversize { bytes: OVERSIZED }, 0.003),
    ]);
    faults
}

/// One provider under chaos: its client, its emulator, and the journal's names for its
/// effects.
struct Chaos<'a> {
    provider: Provider,
    backend: Arc<dyn BatchBackend>,
    emulator: &'a Emulator,
    placement: Placement,
    /// The journal's operation that creates a job (`Job_Add`, `SubmitJob`).
    creates: &'static str,
    /// The journal's operation that retries failed work (`Task_Reactivate`, `RetryJobs`).
    retries: &'static str,
    /// Whether each job also gets a task that keeps running: an Azure job ends when all its
    /// tasks have, and only a job still active lets a failed task be reactivated (a Tencent
    /// job must end FAILED before `RetryJobs`).
    hold: bool,
    /// Whether a retry submits a copy of the failed job (AWS) rather than acting in place:
    /// then the copies are journaled as creates, one per retried job at most.
    resubmits: bool,
}

/// Retries that absorb a fault on several attempts in a row, quickly, and a per-attempt
/// timeout that ends a stall in a quarter of a second.
fn chaos_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(10)
        .with_initial_backoff(Duration::from_millis(2))
        .with_max_backoff(Duration::from_millis(10))
        .with_jitter(false)
}

const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(250);

#[derive(Default)]
struct Tally {
    ops: BTreeMap<&'static str, u64>,
    /// Wall time spent in each kind of operation, in milliseconds.
    millis: BTreeMap<&'static str, u128>,
    refused: BTreeMap<String, u64>,
    retried: u64,
}

impl Chaos<'_> {
    fn spec(&self, n: usize, seed: u64) -> JobSpec {
        let exit = if n.is_multiple_of(2) { "1" } else { "0" };
        let task = TaskSpec::shell(TaskId::new("work").unwrap(), "run")
            .with_env("POLYBATCH_RUN_SECONDS", "2")
            .with_env("POLYBATCH_EXIT_CODE", exit);
        let mut tasks = vec![task];
        if self.hold {
            tasks.push(
                TaskSpec::shell(TaskId::new("hold").unwrap(), "run")
                    .with_env("POLYBATCH_RUN_SECONDS", "100000"),
            );
        }
        JobSpec::new(format!("chaos-{n}"), self.placement.clone(), tasks)
            .with_idempotency_key(IdempotencyKey::new(format!("chaos-{seed}-{n}")).unwrap())
    }

    async fn run(&self, ops: usize, seed: u64) {
        let ctx = self.emulator.context();
        ctx.faults.seed(seed);
        for (fault, p) in self.faults() {
            ctx.faults
                .add(FaultRule::new(self.provider, "*", u32::MAX, fault).probability(p));
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let b = &self.backend;
        let mut live: Vec<JobId> = Vec::new();
        let mut submitted: Vec<JobId> = Vec::new();
        // A retried job's copy, for services that retry by resubmitting.
        let mut copies: BTreeMap<JobId, JobId> = BTreeMap::new();
        let mut tally = Tally::default();
        let started = Instant::now();
        for n in 0..ops {
            if n.is_multiple_of(10) {
                ctx.sim_clock.advance(Duration::from_secs(1));
            }
            let roll = rng.random_range(0..100);
            let pick =
                |rng: &mut StdRng, live: &[JobId]| live[rng.random_range(0..live.len())].clone();
            let op = if live.len() < 5 || roll < 12 {
                "submit"
            } else if roll < 40 {
                "status"
            } else if roll < 52 {
                "bulk_status"
            } else if roll < 60 {
                "list"
            } else if roll < 72 {
                "terminate"
            } else if roll < 90 {
                "retry"
            } else if self.backend.capabilities().delete_job {
                "delete"
            } else {
                // AWS Batch has no delete: the job ages out of the service on its own.
                "terminate"
            };
            *tally.ops.entry(op).or_default() += 1;
            let what = format!("{} op {n} ({op})", self.provider_name());
            let op_started = Instant::now();
            match op {
                "submit" => {
                    let out = b
                        .submit_job(self.spec(n, seed), SubmitJobOptions::default())
                        .await
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                    live.push(out.job.clone());
                    submitted.push(out.job);
                }
                "status" => {
                    let job = pick(&mut rng, &live);
                    let s = b
                        .job_status(&job, StatusOptions::default())
                        .await
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                    assert_eq!(s.job_id, job, "{what}");
                }
                "bulk_status" => {
                    let mut jobs: Vec<JobId> = (0..10).map(|_| pick(&mut rng, &live)).collect();
                    jobs.sort();
                    jobs.dedup();
                    let statuses = b
                        .job_statuses(&jobs, JobStatusesOptions::default())
                        .await
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                    assert_eq!(statuses.len(), jobs.len(), "{what}");
                    for (job, status) in statuses {
                        let status = status.unwrap_or_else(|e| panic!("{what}: {job}: {e}"));
                        assert_eq!(status.job_id, job, "{what}");
                    }
                }
                "list" => {
                    let page: Vec<_> = b
                        .list_jobs(ListJobsOptions::default().with_page_size(20))
                        .take(30)
                        .collect()
                        .await;
                    assert!(!page.is_empty(), "{what}: no jobs listed");
                    for job in page {
                        job.unwrap_or_else(|e| panic!("{what}: {e}"));
                    }
                }
                "terminate" => {
                    let job = pick(&mut rng, &live);
                    b.terminate_job(&job, TerminateJobOptions::default())
                        .await
                        .unwrap_or_else(|e| panic!("{what}: {job}: {e}"));
                }
                "retry" if self.resubmits => {
                    let job = pick(&mut rng, &live);
                    let before = self.created();
                    let result = b
                        .retry_failed_tasks(&job, RetryFailedTasksOptions::default())
                        .await;
                    let made = self.created() - before;
                    match result {
                        Ok(out) => {
                            assert!(out.resubmitted.len() <= 1, "{what}: {job}: {out:?}");
                            if let Some(copy) = out.resubmitted.first() {
                                match copies.get(&job) {
                                    // Retried before: the same copy, and no other.
                                    Some(earlier) => {
                                        assert_eq!(copy, earlier, "{what}: {job}: a second copy");
                                        assert_eq!(made, 0, "{what}: {job}: copied again");
                                    }
                                    None => {
                                        assert!(made <= 1, "{what}: {job}: {made} copies made");
                                        tally.retried += made as u64;
                                        copies.insert(job.clone(), copy.clone());
                                    }
                                }
                            } else {
                                assert_eq!(made, 0, "{what}: {job}: nothing retried, {made} made");
                            }
                            for failure in out.not_retried {
                                refused(&mut tally, &what, &failure.error, made);
                            }
                        }
                        Err(e) => refused(&mut tally, &what, &e, made),
                    }
                }
                "retry" => {
                    let job = pick(&mut rng, &live);
                    let before = self.applied(self.retries, &job);
                    let result = b
                        .retry_failed_tasks(&job, RetryFailedTasksOptions::default())
                        .await;
                    let applied = self.applied(self.retries, &job) - before;
                    match result {
                        Ok(out) => {
                            assert_eq!(
                                applied,
                                out.retried.len().min(1),
                                "{what}: {job}: retried {:?}, applied {applied} times",
                                out.retried
                            );
                            tally.retried += applied as u64;
                            for failure in out.not_retried {
                                refused(&mut tally, &what, &failure.error, applied);
                            }
                        }
                        Err(e) => refused(&mut tally, &what, &e, applied),
                    }
                }
                "delete" => {
                    let at = rng.random_range(0..live.len());
                    match b.delete_job(&live[at], DeleteJobOptions::default()).await {
                        Ok(_) => {
                            live.swap_remove(at);
                        }
                        // Tencent deletes only finished jobs: the service's rule, not a fault.
                        Err(e @ Error::InvalidState { .. }) => {
                            let why = format!("delete {} [{}]", e.kind(), e.code().unwrap_or("-"));
                            *tally.refused.entry(why).or_default() += 1;
                        }
                        Err(e) => panic!("{what}: {}: {e}", live[at]),
                    }
                }
                _ => unreachable!(),
            }
            *tally.millis.entry(op).or_default() += op_started.elapsed().as_millis();
        }
        let elapsed = started.elapsed();
        ctx.faults.clear();

        // Each submit made exactly one job, under its own id.
        let distinct: HashSet<&JobId> = submitted.iter().collect();
        assert_eq!(
            distinct.len(),
            submitted.len(),
            "two submits answered one job"
        );
        for job in &submitted {
            assert_eq!(self.applied(self.creates, job), 1, "job {job} created once");
        }
        for copy in copies.values() {
            assert_eq!(
                self.applied(self.creates, copy),
                1,
                "copy {copy} created once"
            );
        }
        let distinct: HashSet<&JobId> = copies.values().collect();
        assert_eq!(distinct.len(), copies.len(), "one copy stood for two jobs");
        assert_eq!(
            self.created(),
            submitted.len() + copies.len(),
            "no job created but the submitted ones and the retries' copies"
        );

        let stats = ctx.stats.snapshot();
        let requests = stats.total(self.provider);
        let fired = ctx.faults.fired();
        let faulted: u64 = fired.values().sum();
        let share = faulted as f64 / requests.max(1) as f64;
        println!(
            "chaos {}: seed {seed}, {ops} operations in {:.1} s: {requests} requests, \
             {faulted} faulted ({:.1}%)",
            self.provider_name(),
            elapsed.as_secs_f64(),
            share * 100.0
        );
        println!("  operations: {:?}", tally.ops);
        println!("  wall time by operation (ms): {:?}", tally.millis);
        println!("  faults by kind: {fired:?}");
        println!(
            "  outcomes: every idempotent operation succeeded; {} jobs created once each; \
             {} retries applied once each; refused (typed): {:?}",
            submitted.len(),
            tally.retried,
            tally.refused
        );
        println!(
            "  {} requests: {} sent for {} applied (the rest refused, faulted, or read back)",
            self.retries,
            stats.requests(self.provider, self.retries),
            // AWS retries by submitting: the same action makes both.
            if self.creates == self.retries {
                submitted.len() as u64 + tally.retried
            } else {
                tally.retried
            }
        );
        assert!(
            share >= 0.20,
            "only {:.1}% of requests faulted",
            share * 100.0
        );
        for kind in [
            "error",
            "lose_answer",
            "reset",
            "stall",
            "truncate",
            "invalid_json",
            "wrong_content_type",
            "wrong_types",
            "missing_fields",
        ] {
            assert!(
                fired.get(kind).copied().unwrap_or(0) > 0,
                "no {kind} fault fired"
            );
        }
    }

    fn faults(&self) -> Vec<(FaultKind, f64)> {
        match self.provider {
            Provider::Azure => chaos_faults(
                vec![
                    FaultKind::Error {
                        status: 503,
                        code: "ServerBusy".into(),
                        retry_after_secs: Some(0),
                    },
                    FaultKind::Error {
                        status: 429,
                        code: "TooManyRequests".into(),
                        retry_after_secs: None,
                    },
                ],
                FaultKind::Error {
                    status: 500,
                    code: "InternalError".into(),
                    retry_after_secs: None,
                },
            ),
            Provider::Aws => chaos_faults(
                vec![FaultKind::Error {
                    status: 429,
                    code: "TooManyRequestsException".into(),
                    retry_after_secs: None,
                }],
                FaultKind::Error {
                    status: 500,
                    code: "ServerException".into(),
                    retry_after_secs: None,
                },
            ),
            _ => chaos_faults(
                vec![FaultKind::Error {
                    status: 200,
                    code: "RequestLimitExceeded".into(),
                    retry_after_secs: None,
                }],
                FaultKind::Error {
                    status: 200,
                    code: "InternalError".into(),
                    retry_after_secs: None,
                },
            ),
        }
    }

    /// How many jobs the journal says were created.
    fn created(&self) -> usize {
        self.emulator
            .context()
            .journal
            .entries()
            .iter()
            .filter(|e| e.provider == self.provider && e.operation == self.creates)
            .count()
    }

    fn provider_name(&self) -> &'static str {
        self.backend.name()
    }

    /// How many times the journal says `operation` was applied to `job` (Azure's task-level
    /// entries count for their job).
    fn applied(&self, operation: &str, job: &JobId) -> usize {
        self.emulator
            .context()
            .journal
            .entries()
            .iter()
            .filter(|e| e.provider == self.provider && e.operation == operation)
            .filter(|e| {
                e.target == job.as_str()
                    || e.target.split_once('/').map(|(j, _)| j) == Some(job.as_str())
            })
            .count()
    }
}

/// A retry that did not happen must not have been applied, and must say why: the service's
/// refusal, or — when every send met a fault (the mutation is sent three times at most) — the
/// last fault, as a retryable error that names it.
fn refused(tally: &mut Tally, what: &str, e: &Error, applied: usize) {
    let faulted = e.is_retryable() && !e.to_string().is_empty();
    assert!(
        matches!(e, Error::InvalidState { .. } | Error::NotFound { .. }) || faulted,
        "{what}: an untyped failure reached the caller: {e}"
    );
    assert_eq!(applied, 0, "{what}: reported as not done ({e}) but applied");
    let why = format!("{} [{}]", e.kind(), e.code().unwrap_or("-"));
    *tally.refused.entry(why).or_default() += 1;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_chaos_loses_and_doubles_nothing() {
    let (ops, seed) = chaos_size();
    let env = support::azure::AzureEnv::start().await;
    let backend = env
        .builder(Auth::SharedKey, ApiVersion::default())
        .with_retry_policy(chaos_retries())
        .with_timeout(ATTEMPT_TIMEOUT)
        // The injected throttles are random, not a sign of load: slowing down for them would
        // only make the run long.
        .with_adaptive_rate_limits(false)
        .build()
        .expect("client");
    Chaos {
        provider: Provider::Azure,
        backend: Arc::new(backend),
        emulator: env.emulator(),
        placement: Placement::AzurePool {
            pool_id: "pool-1".into(),
        },
        creates: "Job_Add",
        retries: "Task_Reactivate",
        hold: true,
        resubmits: false,
    }
    .run(ops, seed)
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tencent_chaos_loses_and_doubles_nothing() {
    let (ops, seed) = chaos_size();
    let mut config = polybatch_emulator::EmulatorConfig::default();
    config.tencent.enforce_rate_limits = false;
    let env = TencentEnv::start(config).await;
    let backend = env
        .builder()
        .with_rate_limits_disabled()
        .with_retry_policy(chaos_retries())
        .with_timeout(ATTEMPT_TIMEOUT)
        .build()
        .expect("client");
    Chaos {
        provider: Provider::Tencent,
        backend: Arc::new(backend),
        emulator: env.emulator(),
        placement: Placement::TencentManaged {
            zone: support::tencent::ZONE.into(),
            instance_type: "S5.MEDIUM2".into(),
            image_id: "img-polybatch".into(),
        },
        creates: "SubmitJob",
        retries: "RetryJobs",
        hold: false,
        resubmits: false,
    }
    .run(ops, seed)
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_chaos_loses_and_doubles_nothing() {
    let (ops, seed) = chaos_size();
    let env = support::aws::AwsEnv::default_config().await;
    let backend = env
        .builder()
        .with_max_attempts(10)
        .with_backoff(Duration::from_millis(2), Duration::from_millis(10))
        .with_timeouts(ATTEMPT_TIMEOUT, Duration::from_secs(30))
        .build()
        .await
        .expect("client");
    Chaos {
        provider: Provider::Aws,
        backend: Arc::new(backend),
        emulator: env.emulator(),
        placement: support::aws::placement(),
        creates: "SubmitJob",
        retries: "SubmitJob",
        hold: false,
        resubmits: true,
    }
    .run(ops, seed)
    .await;
}

// ----- deadlines -----

/// The operation's deadline: shorter than one attempt's timeout, so only the deadline can end
/// a stalled call.
const DEADLINE: Duration = Duration::from_secs(1);
const SLACK: Duration = Duration::from_millis(100);

fn stall_everything(provider: Provider) -> FaultRule {
    FaultRule::new(
        provider,
        "*",
        u32::MAX,
        FaultKind::Stall {
            applied: false,
            headers: false,
        },
    )
}

async fn assert_deadline_holds(b: &dyn BatchBackend, job: &JobId) {
    let started = Instant::now();
    let e = b
        .job_status(job, StatusOptions::default())
        .await
        .expect_err("a server that never answers");
    let took = started.elapsed();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    // The AWS SDK keeps the deadline itself, and says so in its own words.
    let says = if b.name() == "aws" {
        "operation timeout"
    } else {
        "deadline"
    };
    assert!(e.to_string().contains(says), "{e}");
    assert!(
        took >= DEADLINE && took <= DEADLINE + SLACK,
        "{} failed after {took:?}, deadline {DEADLINE:?}",
        b.name()
    );
}

fn deadline_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_total_budget(DEADLINE)
        .with_initial_backoff(Duration::from_millis(10))
}

#[tokio::test]
async fn a_server_that_never_answers_fails_within_the_deadline() {
    let env = support::azure::AzureEnv::start().await;
    env.faults().add(stall_everything(Provider::Azure));
    let azure = env
        .builder(Auth::SharedKey, ApiVersion::default())
        .with_retry_policy(deadline_retries())
        .with_timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    assert_deadline_holds(&azure, &JobId::new("job-1").unwrap()).await;

    let tencent_env = TencentEnv::with_default_limits().await;
    tencent_env
        .emulator()
        .context()
        .faults
        .add(stall_everything(Provider::Tencent));
    let tencent = tencent_env
        .builder()
        .with_retry_policy(deadline_retries())
        .with_timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    assert_deadline_holds(&tencent, &JobId::new("job-12345678").unwrap()).await;

    let aws_env = support::aws::AwsEnv::default_config().await;
    aws_env
        .emulator()
        .context()
        .faults
        .add(stall_everything(Provider::Aws));
    let aws = aws_env
        .builder()
        .with_timeouts(Duration::from_secs(30), DEADLINE)
        .build()
        .await
        .expect("client");
    assert_deadline_holds(&aws, &JobId::new("job-1").unwrap()).await;
}
