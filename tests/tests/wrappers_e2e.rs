//! The wrapper backends over the real clients against the emulator: fault injection, the
//! journal and capability restrictions work over any backend, not only the in-memory one.

mod support;

use polybatch::conformance::Fixture;
use polybatch::wrap::{FaultInjected, Journaled, Restricted};
use polybatch::{BatchBackend, Capabilities, Error, Operation, StatusOptions};
use polybatch_azure::ApiVersion;
use support::azure::{Auth, AzureFixture};
use support::tencent::TencentFixture;

#[tokio::test]
async fn faults_and_the_journal_over_the_azure_client() {
    let fixture = AzureFixture::start(Auth::SharedKey, ApiVersion::default()).await;
    let (job, _) = fixture.running_job().await.unwrap();
    let faulty = FaultInjected::new(fixture.backend().clone());
    let faults = faulty.faults();
    let backend = Journaled::new(faulty);
    faults.fail_next(Operation::JobStatus, 1, |ctx| {
        Error::service(Some(503), true, ctx.with_code("ServerBusy"))
    });
    let before = fixture.env().requests();
    let e = backend
        .job_status(&job, StatusOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ServerBusy"));
    assert_eq!(
        (e.backend(), e.operation()),
        ("azure", Operation::JobStatus)
    );
    assert_eq!(
        fixture.env().requests(),
        before,
        "the injected failure sent nothing"
    );
    let status = backend
        .job_status(&job, StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(status.provider_state, "active");
    assert_eq!(fixture.env().requests(), before + 1);
    let journal = backend.journal();
    assert_eq!(journal.len(), 2);
    assert_eq!(journal[0].error_kind(), Some("service"));
    assert!(journal[1].succeeded() && journal.iter().all(|e| e.job.as_ref() == Some(&job)));
}

#[tokio::test]
async fn a_restricted_tencent_client_refuses_before_any_request() {
    let fixture = TencentFixture::fast().await;
    let (job, _) = fixture.running_job().await.unwrap();
    let mut allowed = Capabilities::all();
    allowed.retry_failed_tasks = false;
    let backend = Journaled::new(Restricted::new(fixture.backend.clone(), allowed));
    assert_eq!(
        backend.capabilities(),
        polybatch_tencent::tencent_capabilities().intersect(&allowed)
    );
    let before = fixture.env.requests();
    let e = backend
        .retry_failed_tasks(&job, Default::default())
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Unsupported { option: None, .. }),
        "{e:?}"
    );
    assert_eq!(fixture.env.requests(), before, "nothing was sent");
    let status = backend
        .job_status(&job, StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(status.provider_state, "RUNNING");
    let journal = backend.journal();
    assert_eq!(
        journal
            .iter()
            .map(|e| (e.operation, e.executed))
            .collect::<Vec<_>>(),
        [
            (Operation::RetryFailedTasks, false),
            (Operation::JobStatus, true)
        ]
    );
    assert_eq!(backend.requests_seen(), 1);
}
