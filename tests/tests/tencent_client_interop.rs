//! polybatch's own Tencent client (`polybatch-tencent`) against the emulator over loopback:
//! the two were written from the same reference, so this catches either drifting from it.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use polybatch::clock::ManualClock;
use polybatch::{
    BatchBackend, DeleteJobOptions, JobId, StatusOptions, TaskId, TerminateJobOptions,
};
use polybatch_emulator::config::{DEFAULT_TENCENT_SECRET_ID, DEFAULT_TENCENT_SECRET_KEY};
use polybatch_emulator::{Context, Emulator, EmulatorConfig, SimClock};
use polybatch_tencent::{
    ComputeEnvironment, Endpoint, SubmitJobRequest, TaskRequest, TencentBatchBuilder,
};

#[tokio::test]
async fn the_tencent_client_runs_a_job_lifecycle_on_the_emulator() {
    let auth = ManualClock::new(Utc::now());
    let ctx = Context::new(
        EmulatorConfig::default(),
        SimClock::manual(),
        Arc::new(auth.clone()),
    );
    let running = Emulator::with_context(ctx).spawn_local().await.unwrap();
    let sim = running.emulator().context().sim_clock.clone();
    let client = TencentBatchBuilder::new()
        .with_secret_id(DEFAULT_TENCENT_SECRET_ID)
        .with_secret_key(DEFAULT_TENCENT_SECRET_KEY)
        .with_region("ap-guangzhou")
        .with_endpoint(Endpoint::Custom(running.url()))
        .with_clock(Arc::new(auth.clone()))
        .with_rate_limits_disabled()
        .build()
        .unwrap();
    let env = ComputeEnvironment::managed("SA5.MEDIUM4", "img-bd78fy2t");
    let task = |run_seconds: &str| {
        TaskRequest::new(TaskId::new("A").unwrap(), "echo hi", env.clone())
            .with_env_var("POLYBATCH_EXIT_CODE", "0")
            .with_env_var("POLYBATCH_RUN_SECONDS", run_seconds)
    };

    let ok = client
        .submit_job_request(SubmitJobRequest::new("interop", "ap-guangzhou-2").with_task(task("2")))
        .await
        .unwrap();
    let status = |job: JobId| {
        let client = &client;
        let auth = &auth;
        async move {
            // Keeps every request a second apart on the auth clock (the emulator's limits stay on).
            auth.advance(Duration::from_secs(1));
            client
                .job_status(&job, StatusOptions::default())
                .await
                .unwrap()
                .provider_state
        }
    };
    assert_eq!(status(ok.clone()).await, "SUBMITTED");
    sim.advance(Duration::from_secs(5));
    assert_eq!(status(ok.clone()).await, "RUNNING");
    sim.advance(Duration::from_secs(2));
    assert_eq!(status(ok.clone()).await, "SUCCEED");
    auth.advance(Duration::from_secs(1));
    let task_status = client
        .task_status(&ok, &TaskId::new("A").unwrap(), StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(task_status.provider_state, "SUCCEED");

    let long = client
        .submit_job_request(
            SubmitJobRequest::new("interop-long", "ap-guangzhou-2").with_task(task("100")),
        )
        .await
        .unwrap();
    sim.advance(Duration::from_secs(6));
    auth.advance(Duration::from_secs(1));
    client
        .terminate_job(&long, TerminateJobOptions::default())
        .await
        .unwrap();
    sim.advance(Duration::from_secs(2));
    assert_eq!(status(long.clone()).await, "FAILED");
    auth.advance(Duration::from_secs(1));
    client
        .delete_job(&long, DeleteJobOptions::default())
        .await
        .unwrap();
    auth.advance(Duration::from_secs(1));
    let gone = client.job_status(&long, StatusOptions::default()).await;
    assert!(gone.is_err(), "{gone:?}");
}
