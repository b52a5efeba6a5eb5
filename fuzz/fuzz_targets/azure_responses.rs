//! The Azure client's response parsers, through the public backend against a loopback mock
//! that answers with the fuzz input as the body: `CloudJob`, `CloudTask`, OData list pages of
//! jobs, tasks and preparation/release statuses (and `odata.nextLink` resolution), the
//! `TaskAddCollectionResult` of submission, the raw JSON of export, the `BatchError` body and
//! its mapping (under an error status picked by the input), and the Entra ID token response
//! when the input mentions `access_token`.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use futures::StreamExt;
use libfuzzer_sys::fuzz_target;
use polybatch::retry::RetryPolicy;
use polybatch::{
    BatchBackend, ExportJobOptions, JobId, JobSpec, ListJobsOptions, ListPrepReleaseOptions,
    ListTasksOptions, Placement, StatusOptions, SubmitJobOptions, TaskId, TaskSpec,
    TerminateJobOptions,
};
use polybatch_azure::{AzureBatchBackend, AzureBatchBuilder};
use polybatch_fuzz::{Canned, ERROR_STATUSES, Mock, show};

const KEY: &str =
    "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZg==";

fn builder(mock: &Mock) -> AzureBatchBuilder {
    AzureBatchBuilder::new()
        .with_endpoint(&mock.base)
        .with_retry_policy(RetryPolicy::none())
        .with_adaptive_rate_limits(false)
        .with_timeout(Duration::from_secs(5))
}

fn backend(mock: &Mock) -> &'static AzureBatchBackend {
    static B: OnceLock<AzureBatchBackend> = OnceLock::new();
    B.get_or_init(|| {
        builder(mock)
            .with_account("myaccount")
            .with_shared_key(KEY)
            .build()
            .expect("a backend")
    })
}

async fn drain<T: std::fmt::Debug>(s: futures::stream::BoxStream<'static, polybatch::Result<T>>) {
    for r in s.take(20).collect::<Vec<_>>().await {
        show(r);
    }
}

fuzz_target!(|data: &[u8]| {
    let mock = Mock::get();
    let b = backend(mock);
    let job = JobId::new("job-1").expect("an id");
    let task = TaskId::new("task-1").expect("an id");
    let ok = |status| Canned {
        status,
        headers: vec![
            ("etag".into(), "0x8D0".into()),
            ("request-id".into(), "rid".into()),
        ],
        body: data.to_vec(),
    };
    mock.rt.block_on(async {
        mock.answer(ok(200));
        show(b.job_status(&job, StatusOptions::default()).await);
        show(b.task_status(&job, &task, StatusOptions::default()).await);
        drain(b.list_jobs(ListJobsOptions::default())).await;
        drain(b.list_tasks(&job, ListTasksOptions::default())).await;
        drain(b.list_prep_release_status(&job, ListPrepReleaseOptions::default())).await;
        show(b.export_job(&job, ExportJobOptions::default()).await);
        let spec = JobSpec::new(
            "render",
            Placement::AzurePool {
                pool_id: "pool-1".into(),
            },
            vec![TaskSpec::shell(task.clone(), "true")],
        );
        show(b.submit_job(spec, SubmitJobOptions::default()).await);

        let status = ERROR_STATUSES[data.len() % ERROR_STATUSES.len()];
        let mut failed = ok(status);
        failed.headers.push(("retry-after".into(), "1".into()));
        mock.answer(failed);
        show(b.job_status(&job, StatusOptions::default()).await);
        show(b.terminate_job(&job, TerminateJobOptions::default()).await);

        if data.windows(12).any(|w| w == b"access_token") {
            mock.answer(ok(200));
            let entra = builder(mock)
                .with_client_credentials("tenant-1", "client-1", "secret")
                .with_authority_host(&mock.base)
                .build()
                .expect("a backend");
            show(entra.job_status(&job, StatusOptions::default()).await);
        }
    });
});
