//! Robustness under faults: the whole conformance suite, through each real client, while the
//! emulator answers a transient error on every third request (never two in a row). Every
//! check must still pass: the clients' retries absorb the faults — including for the
//! non-idempotent calls (Azure task reactivate and job/task add, Tencent `RetryJobs`), which may
//! be replayed only because the server refused them by throttling — and nothing leaks into the
//! neutral results.

mod support;

use polybatch::conformance::run_all;
use polybatch_azure::ApiVersion;
use polybatch_emulator::{FaultKind, FaultRule, Provider};

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
