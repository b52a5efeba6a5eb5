//! Smoke tests against the real clouds. These are the only tests allowed to skip: they need
//! credentials and an existing job, and they print why they skipped when those are not set.
//!
//! Azure: `POLYBATCH_SMOKE_AZURE_JOB` (an existing job id) plus the usual `AZURE_BATCH_*` or
//! `AZURE_TENANT_ID`/`AZURE_CLIENT_ID`/`AZURE_CLIENT_SECRET` variables.
//! Tencent: `POLYBATCH_SMOKE_TENCENT_JOB` plus `TENCENTCLOUD_SECRET_ID`/`TENCENTCLOUD_SECRET_KEY`/
//! `TENCENTCLOUD_REGION`.
//! Both only read status: they never change anything in the account.

use polybatch::{BatchBackend, JobId, StatusOptions};

fn job_from_env(var: &str) -> Option<JobId> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(JobId::new(v).expect("the smoke job id must be valid")),
        _ => {
            println!("skipped: set {var} (and the provider's credentials) to run this smoke test");
            None
        }
    }
}

async fn read_status(backend: &dyn BatchBackend, job: &JobId) {
    let status = backend
        .job_status(job, StatusOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{backend}: job_status failed: {e}"));
    assert_eq!(&status.job_id, job);
    assert!(!status.provider_state.is_empty());
    println!(
        "{backend}: {job} is {} ({})",
        status.state, status.provider_state
    );
}

#[tokio::test]
async fn azure_real_cloud_status() {
    let Some(job) = job_from_env("POLYBATCH_SMOKE_AZURE_JOB") else {
        return;
    };
    let backend = polybatch_azure::AzureBatchBuilder::from_env()
        .and_then(|b| b.build())
        .expect("Azure configuration from the environment");
    read_status(&backend, &job).await;
}

#[tokio::test]
async fn tencent_real_cloud_status() {
    let Some(job) = job_from_env("POLYBATCH_SMOKE_TENCENT_JOB") else {
        return;
    };
    let backend = polybatch_tencent::TencentBatchBuilder::from_env()
        .and_then(|b| b.build())
        .expect("Tencent configuration from the environment");
    read_status(&backend, &job).await;
}
