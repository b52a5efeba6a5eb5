//! The Tencent client's response parsers: the `{"Response": {...}}` envelope (with and without
//! `Error`), the error-code mapping, and the DescribeJob, DescribeJobs, DescribeTask,
//! DescribeTaskLogs, DescribeJobSubmitInfo and SubmitJob views, through the public backend
//! against a loopback mock that answers with the fuzz input as the body; plus the public
//! `model` types, `parse_time`, `job_state`/`task_state` and
//! `polybatch::translate::tencent::export` called directly.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use futures::StreamExt;
use libfuzzer_sys::fuzz_target;
use polybatch::retry::RetryPolicy;
use polybatch::{
    BatchBackend, ExportJobOptions, JobId, ListJobsOptions, StatusOptions, TaskId,
    TaskOutputOptions, TerminateJobOptions,
};
use polybatch_fuzz::{Canned, Mock, show};
use polybatch_tencent::model::{
    DescribeJobResponse, DescribeJobsResponse, DescribeTaskResponse, SubmitJobResponse,
};
use polybatch_tencent::{DescribeJobsOptions, Endpoint, TencentBatchBackend, TencentBatchBuilder};

fn backend(mock: &Mock) -> &'static TencentBatchBackend {
    static B: OnceLock<TencentBatchBackend> = OnceLock::new();
    B.get_or_init(|| {
        TencentBatchBuilder::new()
            .with_secret_id("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE")
            .with_secret_key("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE")
            .with_region("ap-guangzhou")
            .with_endpoint(Endpoint::Custom(mock.base.clone()))
            .with_retry_policy(RetryPolicy::none())
            .with_rate_limits_disabled()
            .with_adaptive_rate_limits(false)
            .with_timeout(Duration::from_secs(5))
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
    // The public pieces, directly.
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let inner = v
            .get("Response")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        for doc in [&v, &inner] {
            let _ = serde_json::from_value::<DescribeJobResponse>(doc.clone());
            let _ = serde_json::from_value::<DescribeJobsResponse>(doc.clone());
            let _ = serde_json::from_value::<DescribeTaskResponse>(doc.clone());
            let _ = serde_json::from_value::<SubmitJobResponse>(doc.clone());
            show(polybatch::translate::tencent::export(doc, "ap-guangzhou-3"));
            for key in ["CreateTime", "EndTime", "JobState", "TaskState"] {
                if let Some(s) = doc.get(key).and_then(serde_json::Value::as_str) {
                    let _ = polybatch_tencent::parse_time(Some(s));
                    let _ = polybatch_tencent::job_state(s);
                    let _ = polybatch_tencent::task_state(s);
                }
            }
        }
    }

    // The private ones, through the backend.
    let mock = Mock::get();
    let b = backend(mock);
    let job = JobId::new("job-abcd1234").expect("an id");
    let task = TaskId::new("A").expect("an id");
    let status = if data.len() % 7 == 0 { 500 } else { 200 };
    mock.answer(Canned {
        status,
        headers: vec![],
        body: data.to_vec(),
    });
    mock.rt.block_on(async {
        show(b.job_status(&job, StatusOptions::default()).await);
        show(b.task_status(&job, &task, StatusOptions::default()).await);
        drain(b.list_jobs(ListJobsOptions::default())).await;
        drain(b.describe_jobs(DescribeJobsOptions::default())).await;
        show(b.export_job(&job, ExportJobOptions::default()).await);
        show(
            b.task_output(&job, &task, TaskOutputOptions::default())
                .await,
        );
        show(b.terminate_job(&job, TerminateJobOptions::default()).await);
    });
});
