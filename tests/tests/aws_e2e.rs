//! The AWS backend (on the official `aws-sdk-batch`) against the emulator's AWS Batch front
//! end: SigV4 verified with `aws-sigv4`, the running states moto cannot show (SUBMITTED →
//! PENDING → RUNNABLE → STARTING → RUNNING → SUCCEEDED/FAILED on a clock the test moves),
//! terminate before and after start, array children, bulk status, throttling and lost answers,
//! and the conformance suite.

mod support;

use std::time::Duration;

use futures::TryStreamExt;
use polybatch::conformance::run_all;
use polybatch::{
    BatchBackend, Error, JobId, JobState, ListJobsOptions, ListTasksOptions, StatusOptions,
    SubmitJobOptions, TaskId, TaskState, TerminateDisposition, TerminateJobOptions,
};
use polybatch_emulator::{EmulatorConfig, FaultKind, FaultRule, Provider};
use support::aws::{AwsEnv, AwsFixture, FOREVER_SECS, spec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_passes_against_the_emulator() {
    let fx = AwsFixture::start().await;
    run_all(&fx.backend, &fx).await;
    assert_eq!(fx.env.errors("InvalidSignatureException"), 0);
}

async fn status(b: &impl BatchBackend, job: &JobId) -> polybatch::JobStatus {
    b.job_status(job, StatusOptions::default()).await.unwrap()
}

#[tokio::test]
async fn a_job_walks_every_documented_state() {
    let env = AwsEnv::default_config().await;
    let b = env.backend().await;
    let mut s = spec("walk", "10", 0, 1);
    s.tasks[0].max_retries = Some(1);
    let job = b
        .submit_job(s, SubmitJobOptions::default())
        .await
        .unwrap()
        .job;
    let mut seen = Vec::new();
    for _ in 0..20 {
        let st = status(&b, &job).await;
        if seen.last() != Some(&st.provider_state) {
            seen.push(st.provider_state.clone());
        }
        if st.state.is_terminal() {
            assert_eq!(st.state, JobState::Succeeded);
            break;
        }
        env.advance(Duration::from_secs(1));
    }
    assert_eq!(
        seen,
        [
            "SUBMITTED",
            "PENDING",
            "RUNNABLE",
            "STARTING",
            "RUNNING",
            "SUCCEEDED"
        ]
    );
    let task = b
        .task_status(&job, &TaskId::new("0").unwrap(), StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(task.state, TaskState::Succeeded);
    assert_eq!(task.exit_code, Some(0));
    assert!(task.start_time.is_some() && task.end_time.is_some());

    // A failing job with two attempts: both are counted.
    let mut f = spec("fails", "1", 7, 1);
    f.tasks[0].max_retries = Some(1);
    let failed = b
        .submit_job(f, SubmitJobOptions::default())
        .await
        .unwrap()
        .job;
    env.advance(Duration::from_secs(30));
    let t = b
        .task_status(
            &failed,
            &TaskId::new("0").unwrap(),
            StatusOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        (t.state, t.exit_code, t.retry_count),
        (TaskState::Failed, Some(7), 1)
    );
    assert_eq!(status(&b, &failed).await.state, JobState::Failed);
}

#[tokio::test]
async fn terminate_tells_cancelled_from_stopped() {
    let env = AwsEnv::default_config().await;
    let b = env.backend().await;
    let early = b
        .submit_job(
            spec("early", FOREVER_SECS, 0, 1),
            SubmitJobOptions::default(),
        )
        .await
        .unwrap()
        .job;
    let out = b
        .terminate_job(
            &early,
            TerminateJobOptions::default().with_reason("not needed"),
        )
        .await
        .unwrap();
    assert_eq!(out.disposition, TerminateDisposition::Cancelled);
    let st = status(&b, &early).await;
    assert_eq!(st.state, JobState::Failed);
    assert_eq!(st.terminate_reason.as_deref(), Some("not needed"));

    let late = b
        .submit_job(
            spec("late", FOREVER_SECS, 0, 1),
            SubmitJobOptions::default(),
        )
        .await
        .unwrap()
        .job;
    env.advance(Duration::from_secs(5));
    assert_eq!(status(&b, &late).await.provider_state, "RUNNING");
    let out = b
        .terminate_job(&late, TerminateJobOptions::default())
        .await
        .unwrap();
    assert_eq!(out.disposition, TerminateDisposition::Accepted);
    // Stopping takes a second; meanwhile a second terminate finds it under way.
    let again = b
        .terminate_job(&late, TerminateJobOptions::default())
        .await
        .unwrap();
    assert_eq!(again.disposition, TerminateDisposition::AlreadyTerminating);
    env.advance(Duration::from_secs(2));
    assert_eq!(status(&b, &late).await.state, JobState::Failed);
    let done = b
        .terminate_job(&late, TerminateJobOptions::default())
        .await
        .unwrap();
    assert_eq!(done.disposition, TerminateDisposition::AlreadyCompleted);
    assert_eq!(env.errors("InvalidSignatureException"), 0);
}

#[tokio::test]
async fn array_children_are_tasks_and_bulk_status_reports_unknown_ids() {
    let env = AwsEnv::default_config().await;
    let b = env.backend().await;
    let array = b
        .submit_job(spec("sweep", "20", 0, 4), SubmitJobOptions::default())
        .await
        .unwrap()
        .job;
    env.advance(Duration::from_secs(6));
    let st = status(&b, &array).await;
    assert_eq!(st.provider_state, "PENDING");
    assert_eq!(st.state, JobState::Running, "children run: {st:?}");
    assert_eq!(st.task_counts.as_ref().map(|c| c.running), Some(4));
    let tasks: Vec<_> = b
        .list_tasks(&array, ListTasksOptions::default())
        .try_collect()
        .await
        .unwrap();
    let mut ids: Vec<&str> = tasks.iter().map(|t| t.task_id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["0", "1", "2", "3"]);
    assert!(
        tasks.iter().all(|t| t.state == TaskState::Running),
        "{tasks:?}"
    );

    // 150 ids (plus one unknown) in two DescribeJobs calls, none dropped.
    let mut jobs = Vec::new();
    for i in 0..150 {
        jobs.push(
            b.submit_job(
                spec(&format!("bulk-{i}"), "1", 0, 1),
                SubmitJobOptions::default(),
            )
            .await
            .unwrap()
            .job,
        );
    }
    let unknown = JobId::new("00000000-0000-0000-0000-000000000000").unwrap();
    jobs.insert(75, unknown.clone());
    let before = env.requests("DescribeJobs");
    let statuses = b.job_statuses(&jobs, Default::default()).await.unwrap();
    assert_eq!(env.requests("DescribeJobs") - before, 2);
    assert_eq!(statuses.len(), 151);
    for (i, (id, s)) in statuses.iter().enumerate() {
        assert_eq!(id, &jobs[i]);
        if *id == unknown {
            assert!(matches!(s, Err(Error::NotFound { .. })), "{s:?}");
        } else {
            assert!(s.is_ok(), "{s:?}");
        }
    }

    // Listing: by state (server side) and by name (client side).
    env.advance(Duration::from_secs(10));
    let succeeded: Vec<_> = b
        .list_jobs(ListJobsOptions::default().with_state(JobState::Succeeded))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(succeeded.len(), 150, "the sweep still runs");
    let named: Vec<_> = b
        .list_jobs(ListJobsOptions::default().with_name_prefix("sweep"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(named.len(), 1);
    assert_eq!(named[0].job_id, array);

    // An array job stays PENDING while its children run: it was started, so it is stopped,
    // not cancelled.
    let out = b
        .terminate_job(&array, TerminateJobOptions::default())
        .await
        .unwrap();
    assert_eq!(out.disposition, TerminateDisposition::Accepted);
    env.advance(Duration::from_secs(2));
    assert_eq!(status(&b, &array).await.state, JobState::Failed);
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_by_the_sdk_and_typed_when_they_persist() {
    let env = AwsEnv::default_config().await;
    let b = env.backend().await;
    let job = b
        .submit_job(spec("t", "1", 0, 1), SubmitJobOptions::default())
        .await
        .unwrap()
        .job;
    let faults = &env.emulator().context().faults;
    faults.add(FaultRule::new(
        Provider::Aws,
        "DescribeJobs",
        1,
        FaultKind::Error {
            status: 429,
            code: "TooManyRequestsException".into(),
            retry_after_secs: None,
        },
    ));
    status(&b, &job).await;
    assert_eq!(env.errors("TooManyRequestsException"), 1);

    faults.add(FaultRule::new(
        Provider::Aws,
        "DescribeJobs",
        100,
        FaultKind::Error {
            status: 500,
            code: "ServerException".into(),
            retry_after_secs: None,
        },
    ));
    let e = b
        .job_status(&job, StatusOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Service { .. }), "{e:?}");
    assert!(e.is_retryable(), "{e}");
    assert_eq!(e.context().code.as_deref(), Some("ServerException"));
    assert!(
        e.context().request_id.is_some(),
        "the request id is kept: {e:?}"
    );
    faults.clear();

    // The configured limit: beyond it, TooManyRequestsException.
    let mut config = EmulatorConfig::default();
    config.aws.rate_limits.insert("DescribeJobs".into(), 1);
    let strict = AwsEnv::start(config).await;
    let sb = strict.builder().with_max_attempts(1).build().await.unwrap();
    let job = sb
        .submit_job(spec("t", "1", 0, 1), SubmitJobOptions::default())
        .await
        .unwrap()
        .job;
    let mut throttled = None;
    for _ in 0..5 {
        if let Err(e) = sb.job_status(&job, StatusOptions::default()).await {
            throttled = Some(e);
            break;
        }
    }
    let e = throttled.expect("a burst beyond 1/s is throttled");
    assert!(matches!(e, Error::Throttled { .. }), "{e:?}");
    assert!(e.is_retryable());
}

#[tokio::test]
async fn a_lost_submit_answer_creates_one_job() {
    let env = AwsEnv::default_config().await;
    let b = env.backend().await;
    env.emulator().context().faults.add(FaultRule::new(
        Provider::Aws,
        "SubmitJob",
        1,
        FaultKind::LoseAnswer {
            status: 500,
            code: "ServerException".into(),
        },
    ));
    let mut s = spec("once", "1", 0, 1);
    s.idempotency_key = Some(polybatch::IdempotencyKey::new("lost-1").unwrap());
    let out = b
        .submit_job(s.clone(), SubmitJobOptions::default())
        .await
        .unwrap();
    assert!(out.created);
    assert_eq!(
        env.requests("SubmitJob"),
        1,
        "the lookup found the job; no second submit"
    );
    let again = b.submit_job(s, SubmitJobOptions::default()).await.unwrap();
    assert_eq!((again.job, again.created), (out.job, false));
}

#[tokio::test]
async fn wrong_keys_are_refused_as_aws_refuses_them() {
    let env = AwsEnv::default_config().await;
    let wrong = env
        .builder()
        .with_credentials(
            polybatch_emulator::config::DEFAULT_AWS_ACCESS_KEY_ID,
            "not-the-secret",
            None,
        )
        .build()
        .await
        .unwrap();
    let e = wrong
        .job_status(&JobId::new("x").unwrap(), StatusOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e:?}");
    assert!(!e.to_string().contains("not-the-secret"), "{e}");
    assert_eq!(env.errors("InvalidSignatureException"), 1);
    let unknown = env
        .builder()
        .with_credentials("AKIAUNKNOWNKEY000000", "x", None)
        .build()
        .await
        .unwrap();
    let e = unknown
        .job_status(&JobId::new("x").unwrap(), StatusOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e:?}");
    assert_eq!(env.errors("UnrecognizedClientException"), 1);
}

#[tokio::test]
async fn a_submit_over_the_30_kib_quota_is_refused_once_and_creates_nothing() {
    let env = AwsEnv::default_config().await;
    let b = env.backend().await;
    let mut s = spec("big", "1", 0, 1);
    for task in &mut s.tasks {
        task.env.insert("PAD".into(), "x".repeat(40 * 1024));
    }
    let e = b
        .submit_job(s, SubmitJobOptions::default())
        .await
        .unwrap_err();
    assert!(!e.is_retryable(), "{e}");
    assert_eq!(e.code(), Some("ClientException"), "{e}");
    assert!(e.to_string().contains("30720 bytes"), "{e}");
    assert_eq!(env.requests("SubmitJob"), 1, "refused once, not retried");
    assert!(
        env.emulator().context().journal.entries().is_empty(),
        "nothing was created"
    );
}

#[tokio::test]
async fn a_request_body_over_the_cap_is_a_client_exception_not_a_bare_413() {
    let env = AwsEnv::default_config().await;
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/describejobs", env.url()))
        .header("content-type", "application/json")
        .body(format!(
            "{{\"jobs\":[\"{}\"]}}",
            "x".repeat(10 * 1024 * 1024)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    assert_eq!(
        answer
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok()),
        Some("ClientException")
    );
    let body: serde_json::Value = answer.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("exceeds")),
        "{body}"
    );
}
