//! The real Tencent client (`TencentBatchBuilder` with `Endpoint::Custom`) against the emulator
//! over loopback HTTP: the core conformance suite, authentication failures, Tencent's state
//! rules, retries of injected faults, the Tencent-only extras, and rate limits on both sides.
//!
//! Simulated job time is a manual clock the tests advance; only the rate-limit tests spend
//! real time (a few seconds), because pacing over HTTP is real.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::TryStreamExt;
use polybatch::clock::ManualClock;
use polybatch::conformance::run_all;
use polybatch::rate::Quota;
use polybatch::retry::RetryPolicy;
use polybatch::{
    BatchBackend, BatchBackendExt, DeleteDisposition, DeleteJobOptions, Error, JobId, JobState,
    ListPrepReleaseOptions, Operation, Preconditions, ReactivateTaskOptions, ResourceKind,
    RetryFailedTasksOptions, StatusOptions, TaskId, TaskResult, TaskState, TerminateDisposition,
    TerminateJobOptions, WaitOptions,
};
use polybatch_emulator::config::DEFAULT_TENCENT_SECRET_KEY;
use polybatch_emulator::{EmulatorConfig, FaultKind, FaultRule, Provider};
use polybatch_protocol::tencent::documented_limit;
use polybatch_tencent::{DescribeJobsOptions, RATE_LIMITS, Site, TencentBatchBackend};
use support::tencent::{FOREVER_SECS, TencentEnv, TencentFixture, ZONE, task, uniform_limits};

fn task_id(name: &str) -> TaskId {
    TaskId::new(name).unwrap()
}

/// The `Error` of a call that must fail.
fn err<T: std::fmt::Debug>(what: &str, r: polybatch::Result<T>) -> Error {
    match r {
        Ok(v) => panic!("{what}: expected an error, got Ok({v:?})"),
        Err(e) => e,
    }
}

// ---------------------------------------------------------------------------------------------
// The core suite

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_passes_against_the_emulator() {
    let fx = TencentFixture::fast().await;
    run_all(&fx.backend, &fx).await;
    // The suite ran at the configured (fast) rate: the client never overran the emulator.
    assert_eq!(fx.env.errors("RequestLimitExceeded"), 0);
    assert!(
        fx.env.requests() > 50,
        "the suite barely talked to the emulator"
    );
}

// ---------------------------------------------------------------------------------------------
// Authentication

#[tokio::test]
async fn wrong_secret_key_is_unauthenticated_signature_failure() {
    let env = TencentEnv::fast().await;
    let wrong_key = "thisIsNotTheEmulatorKey0000000000";
    let backend = env
        .fast_builder()
        .with_secret_key(wrong_key)
        .build()
        .unwrap();
    let job = JobId::new("job-00000000").unwrap();
    let e = err(
        "job_status with a wrong key",
        backend.job_status(&job, StatusOptions::default()).await,
    );
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e:?}");
    assert_eq!(e.code(), Some("AuthFailure.SignatureFailure"));
    assert_eq!(e.backend(), "tencent");
    assert_eq!(e.operation(), Operation::JobStatus);
    assert!(e.request_id().is_some(), "the emulator's RequestId is kept");
    // Not retried: a bad signature stays bad.
    assert_eq!(env.requests_of("DescribeJob"), 1);
    for text in [e.to_string(), format!("{e:?}"), format!("{backend:?}")] {
        assert!(!text.contains(wrong_key), "the key leaked: {text}");
    }
}

#[tokio::test]
async fn unknown_secret_id_is_unauthenticated_secret_id_not_found() {
    let env = TencentEnv::fast().await;
    let backend = env
        .fast_builder()
        .with_secret_id("AKIDnobodyKnowsThisSecretId000000000")
        .build()
        .unwrap();
    let job = JobId::new("job-00000000").unwrap();
    let e = err(
        "terminate_job with an unknown SecretId",
        backend
            .terminate_job(&job, TerminateJobOptions::default())
            .await,
    );
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e:?}");
    assert_eq!(e.code(), Some("AuthFailure.SecretIdNotFound"));
    assert_eq!(e.operation(), Operation::TerminateJob);
}

#[tokio::test]
async fn clock_ten_minutes_behind_is_signature_expire_naming_the_clock() {
    let env = TencentEnv::fast().await;
    let behind = ManualClock::new(Utc::now() - chrono::Duration::minutes(10));
    let backend = env
        .fast_builder()
        .with_clock(Arc::new(behind))
        .build()
        .unwrap();
    let job = JobId::new("job-00000000").unwrap();
    let e = err(
        "job_status with a slow clock",
        backend.job_status(&job, StatusOptions::default()).await,
    );
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e:?}");
    assert_eq!(e.code(), Some("AuthFailure.SignatureExpire"));
    assert!(e.message().contains("clock"), "{}", e.message());
    assert_eq!(
        env.requests_of("DescribeJob"),
        1,
        "an expired signature is not retried"
    );

    // The same client with a correct clock gets through (and finds no such job).
    let ok = env.fast_builder().build().unwrap();
    let e = err(
        "job_status with the right clock",
        ok.job_status(&job, StatusOptions::default()).await,
    );
    assert!(
        matches!(
            e,
            Error::NotFound {
                resource: ResourceKind::Job,
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn malformed_job_id_is_invalid_input_from_the_server() {
    let env = TencentEnv::fast().await;
    let backend = env.fast_builder().build().unwrap();
    // Well-formed for polybatch, not for Tencent (`job-` + 8 of [0-9a-z]).
    let job = JobId::new("job-NOT_VALID").unwrap();
    for (what, r) in [
        (
            "job_status",
            backend
                .job_status(&job, StatusOptions::default())
                .await
                .map(|_| ()),
        ),
        (
            "terminate_job",
            backend
                .terminate_job(&job, TerminateJobOptions::default())
                .await
                .map(|_| ()),
        ),
        (
            "task_status",
            backend
                .task_status(&job, &task_id("work"), StatusOptions::default())
                .await
                .map(|_| ()),
        ),
    ] {
        let e = err(what, r);
        match &e {
            Error::InvalidInput { field, .. } => assert_eq!(field, "job id", "{what}"),
            other => panic!("{what}: expected InvalidInput, got {other:?}"),
        }
        assert_eq!(e.code(), Some("InvalidParameter.JobIdMalformed"), "{what}");
    }
    assert_eq!(
        env.requests(),
        3,
        "each reached the server once, no retries"
    );
}

// ---------------------------------------------------------------------------------------------
// Terminate

#[tokio::test]
async fn terminate_submitted_job_is_refused_retryably_with_the_code() {
    let fx = TencentFixture::fast().await;
    let job = fx
        .submit("submitted", vec![task("work", 0, FOREVER_SECS)])
        .await
        .unwrap();
    let e = err(
        "terminate_job(SUBMITTED)",
        fx.backend
            .terminate_job(&job, TerminateJobOptions::default())
            .await,
    );
    assert!(
        matches!(
            e,
            Error::Service {
                retryable: true,
                ..
            }
        ),
        "expected a retryable refusal, got {e:?}"
    );
    assert!(e.message().contains("SUBMITTED"), "{e}");
    assert_eq!(e.code(), Some("UnsupportedOperation"));
    assert_eq!(e.operation(), Operation::TerminateJob);
    // The client's own retries (4 attempts) all met a job that stays SUBMITTED while the
    // simulated clock stands still.
    assert_eq!(fx.env.requests_of("TerminateJob"), 4);
    assert_eq!(fx.env.errors("UnsupportedOperation"), 4);
    // Refused means untouched: it goes on to run.
    fx.advance_until(&job, "RUNNING").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_then_terminate_and_wait_terminates_once_the_job_leaves_submitted() {
    let fx = TencentFixture::fast().await;
    let job = fx
        .submit("cancelled", vec![task("work", 0, FOREVER_SECS)])
        .await
        .unwrap();
    let backend = fx.backend.clone();
    let waiting = {
        let job = job.clone();
        tokio::spawn(async move {
            backend
                .terminate_job_and_wait(
                    &job,
                    TerminateJobOptions::default(),
                    WaitOptions::new(Duration::from_millis(20), Duration::from_secs(60)),
                )
                .await
        })
    };
    // Simulated time moves only once the job was refused for being SUBMITTED; from then on
    // it moves a second at a time until the wait is over, whatever the real timing.
    for _ in 0..2000 {
        if fx.env.errors("UnsupportedOperation") > 0 || waiting.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for _ in 0..600 {
        if waiting.is_finished() {
            break;
        }
        fx.env.advance(Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let s = waiting.await.unwrap().unwrap();
    assert_eq!(s.provider_state, "FAILED");
    assert_eq!(s.state, JobState::Failed);
    let refused = fx.env.errors("UnsupportedOperation");
    assert!(refused >= 1);
    assert_eq!(
        fx.env.requests_of("TerminateJob"),
        refused + 1,
        "refused while SUBMITTED, then accepted once"
    );
    let f = s.failure.unwrap();
    assert!(
        f.message.unwrap_or_default().contains("Terminated by user"),
        "the job failed because it was terminated"
    );
}

#[tokio::test]
async fn terminate_in_a_named_compute_environment_is_permanently_unsupported() {
    let fx = TencentFixture::fast().await;
    let job = fx
        .submit_until("env-id", vec![task("work", 0, FOREVER_SECS)], "RUNNING")
        .await
        .unwrap();
    fx.env.inject(
        "TerminateJob",
        "UnsupportedOperation.TerminateOperationWithEnvId",
        1,
    );
    let e = err(
        "terminate_job(EnvId)",
        fx.backend
            .terminate_job(&job, TerminateJobOptions::default())
            .await,
    );
    assert!(
        matches!(e, Error::Unsupported { option: None, .. }),
        "{e:?}"
    );
    assert!(!e.is_retryable());
    assert_eq!(
        e.code(),
        Some("UnsupportedOperation.TerminateOperationWithEnvId")
    );
    assert_eq!(fx.env.requests_of("TerminateJob"), 1, "not retried");
}

#[tokio::test]
async fn terminate_succeeded_job_is_already_completed_without_terminate_job() {
    let fx = TencentFixture::fast().await;
    let job = fx
        .submit_until("done", vec![task("work", 0, "1")], "SUCCEED")
        .await
        .unwrap();
    let outcome = fx
        .backend
        .terminate_job(&job, TerminateJobOptions::default())
        .await
        .unwrap();
    assert_eq!(outcome.disposition, TerminateDisposition::AlreadyCompleted);
    assert!(outcome.request_id.is_some());
    assert_eq!(
        fx.env.requests_of("TerminateJob"),
        0,
        "no TerminateJob sent"
    );
    let s = fx
        .backend
        .job_status(&job, StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(s.provider_state, "SUCCEED", "no effect");
    assert!(s.failure.is_none());
}

#[tokio::test]
async fn terminate_running_job_is_accepted_then_failed_after_the_delay() {
    let fx = TencentFixture::fast().await;
    let work = task_id("work");
    let job = fx
        .submit_until("run", vec![task("work", 0, FOREVER_SECS)], "RUNNING")
        .await
        .unwrap();
    let outcome = fx
        .backend
        .terminate_job(&job, TerminateJobOptions::default())
        .await
        .unwrap();
    assert_eq!(outcome.disposition, TerminateDisposition::Accepted);
    assert!(outcome.request_id.is_some());
    assert_eq!(fx.env.requests_of("TerminateJob"), 1);

    // Terminating takes the emulator 2 simulated seconds; meanwhile a second terminate is
    // answered from NextAction without another TerminateJob.
    let again = fx
        .backend
        .terminate_job(&job, TerminateJobOptions::default())
        .await
        .unwrap();
    assert_eq!(again.disposition, TerminateDisposition::AlreadyTerminating);
    assert_eq!(fx.env.requests_of("TerminateJob"), 1);
    fx.env.advance(Duration::from_secs(1));
    let s = fx
        .backend
        .job_status(&job, StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(s.provider_state, "RUNNING", "not yet");
    assert_eq!(s.state, JobState::Terminating, "NextAction is TERMINATING");
    assert!(!s.state.is_terminal());
    assert_eq!(s.start_time, None, "DescribeJob reports no start time");

    fx.env.advance(Duration::from_secs(1));
    let s = fx
        .backend
        .job_status(&job, StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(s.provider_state, "FAILED");
    assert!(s.state.is_terminal());
    assert_eq!(
        s.terminate_reason, None,
        "StateReason is the failure's reason"
    );
    let reason = s.failure.and_then(|f| f.message).unwrap_or_default();
    assert!(reason.contains("Terminated by user"), "{reason}");
    let t = fx
        .backend
        .task_status(&job, &work, StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(t.state, TaskState::Failed);
    assert_eq!(t.result, Some(TaskResult::Failure));
    let f = t.failure.unwrap();
    assert_eq!(f.message.as_deref(), Some("Terminated by user"));
    assert_eq!(t.exit_code, None, "killed, it never exited");

    let last = fx
        .backend
        .terminate_job(&job, TerminateJobOptions::default())
        .await
        .unwrap();
    assert_eq!(last.disposition, TerminateDisposition::AlreadyCompleted);
    assert_eq!(fx.env.requests_of("TerminateJob"), 1);
}

// ---------------------------------------------------------------------------------------------
// Retry

#[tokio::test]
async fn retry_failed_tasks_reruns_a_failed_job_and_retries_nothing_while_nothing_failed() {
    let fx = TencentFixture::fast().await;
    let broken = task_id("broken");
    let fine = task_id("fine");
    // Runs 30 s, then exits 3: long enough to catch it running again after the retry.
    let job = fx
        .submit_until(
            "retry",
            vec![task("broken", 3, "30"), task("fine", 0, "1")],
            "FAILED",
        )
        .await
        .unwrap();
    let outcome = fx
        .backend
        .retry_failed_tasks(&job, RetryFailedTasksOptions::default())
        .await
        .unwrap();
    assert_eq!(outcome.retried, vec![broken.clone()]);
    assert!(outcome.not_retried.is_empty());
    assert_eq!(fx.env.requests_of("RetryJobs"), 1);

    // PENDING 1 s, RUNNABLE 1 s, STARTING 2 s, then RUNNING again; the succeeded task keeps
    // its outcome.
    let t = fx
        .backend
        .task_status(&job, &broken, StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(t.state, TaskState::Pending, "{}", t.provider_state);
    assert!(t.failure.is_none() && t.exit_code.is_none(), "{t:?}");
    fx.env.advance(Duration::from_secs(4));
    let t = fx
        .backend
        .task_status(&job, &broken, StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(t.provider_state, "RUNNING");
    let f = fx
        .backend
        .task_status(&job, &fine, StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(f.provider_state, "SUCCEED");
    let s = fx
        .backend
        .job_status(&job, StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(s.provider_state, "RUNNING");

    // Now RUNNING with nothing failed: nothing to retry (as on Azure), and no RetryJobs sent
    // (RetryJobs acts only on FAILED jobs).
    let nothing = fx
        .backend
        .retry_failed_tasks(&job, RetryFailedTasksOptions::default())
        .await
        .unwrap();
    assert!(nothing.retried.is_empty() && nothing.not_retried.is_empty());
    assert_eq!(fx.env.requests_of("RetryJobs"), 1, "no RetryJobs sent");

    // The retried run fails again the same way.
    let t = fx
        .advance_until_task(&job, &broken, "FAILED")
        .await
        .unwrap();
    assert_eq!(t.exit_code, Some(3));
}

// ---------------------------------------------------------------------------------------------
// Unsupported before any I/O

#[tokio::test]
async fn unsupported_options_fail_without_a_request() {
    let env = TencentEnv::fast().await;
    let backend = env.fast_builder().build().unwrap();
    let job = JobId::new("job-abcd1234").unwrap();
    let task = task_id("work");
    let expect = |what: &str, e: Error, option: Option<&str>| {
        match &e {
            Error::Unsupported { option: o, .. } => assert_eq!(*o, option, "{what}"),
            other => panic!("{what}: expected Unsupported, got {other:?}"),
        }
        assert_eq!(e.backend(), "tencent", "{what}");
    };
    let terminate = |o: TerminateJobOptions| backend.terminate_job(&job, o);
    expect(
        "reason",
        err(
            "reason",
            terminate(TerminateJobOptions::default().with_reason("x")).await,
        ),
        Some("reason"),
    );
    expect(
        "force",
        err(
            "force",
            terminate(TerminateJobOptions::default().with_force(true)).await,
        ),
        Some("force"),
    );
    expect(
        "if_match",
        err(
            "if_match",
            terminate(
                TerminateJobOptions::default()
                    .with_preconditions(Preconditions::default().with_if_match("etag")),
            )
            .await,
        ),
        Some("if_match"),
    );
    expect(
        "if_unmodified_since",
        err(
            "if_unmodified_since",
            terminate(
                TerminateJobOptions::default().with_preconditions(
                    Preconditions::default().with_if_unmodified_since(Utc::now()),
                ),
            )
            .await,
        ),
        Some("if_unmodified_since"),
    );
    expect(
        "server_timeout",
        err(
            "server_timeout",
            backend
                .job_status(
                    &job,
                    StatusOptions::default().with_server_timeout(Duration::from_secs(5)),
                )
                .await,
        ),
        Some("server_timeout"),
    );
    for (option, options) in [
        ("select", StatusOptions::default().with_select(["JobState"])),
        (
            "if_none_match",
            StatusOptions::default().with_if_none_match("0x1"),
        ),
    ] {
        expect(
            option,
            err(option, backend.job_status(&job, options.clone()).await),
            Some(option),
        );
        expect(
            option,
            err(option, backend.task_status(&job, &task, options).await),
            Some(option),
        );
    }
    expect(
        "reactivate",
        err(
            "reactivate",
            backend
                .reactivate_task(&job, &task, ReactivateTaskOptions::default())
                .await,
        ),
        None,
    );
    let e = err(
        "prep/release",
        backend
            .list_prep_release_status(&job, ListPrepReleaseOptions::default())
            .try_collect::<Vec<_>>()
            .await,
    );
    expect("prep/release", e, None);
    let e = err(
        "prep/release with a filter",
        backend
            .list_prep_release_status(
                &job,
                ListPrepReleaseOptions::default().with_filter("nodeId eq 'n'"),
            )
            .try_collect::<Vec<_>>()
            .await,
    );
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    assert_eq!(env.requests(), 0, "nothing reached the emulator");
}

// ---------------------------------------------------------------------------------------------
// Faults and retries

#[tokio::test]
async fn injected_transient_errors_are_retried_until_success() {
    let fx = TencentFixture::fast().await;
    let job = fx
        .submit("faults", vec![task("work", 0, FOREVER_SECS)])
        .await
        .unwrap();

    fx.env.inject("DescribeJob", "InternalError", 1);
    let s = fx
        .backend
        .job_status(&job, StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(s.provider_state, "SUBMITTED");
    assert_eq!(fx.env.requests_of("DescribeJob"), 2);
    assert_eq!(fx.env.errors("InternalError"), 1);

    fx.env.inject("DescribeTask", "RequestLimitExceeded", 2);
    let t = fx
        .backend
        .task_status(&job, &task_id("work"), StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(t.provider_state, "SUBMITTED");
    assert_eq!(fx.env.requests_of("DescribeTask"), 3);
    assert_eq!(fx.env.errors("RequestLimitExceeded"), 2);

    // A fault outlasting every attempt (4 by default) surfaces, typed and retryable.
    fx.env.inject("DescribeJob", "InternalError", 4);
    let e = err(
        "job_status with 4 faults",
        fx.backend.job_status(&job, StatusOptions::default()).await,
    );
    assert!(
        matches!(
            e,
            Error::Service {
                retryable: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.code(), Some("InternalError"));
    assert_eq!(fx.env.requests_of("DescribeJob"), 2 + 4);
}

#[tokio::test]
async fn retry_jobs_is_read_back_after_an_internal_error_and_replayed_when_throttled() {
    let fx = TencentFixture::fast().await;
    let job = fx
        .submit_until("rj", vec![task("broken", 3, "1")], "FAILED")
        .await
        .unwrap();

    // RetryJobs may have acted before an InternalError: it is not replayed blind. The job is
    // described again, still FAILED with the same end, so RetryJobs is sent once more.
    let journal = &fx.env.emulator().context().journal;
    fx.env.inject("RetryJobs", "InternalError", 1);
    let describes = fx.env.requests_of("DescribeJob");
    let outcome = fx
        .backend
        .retry_failed_tasks(&job, RetryFailedTasksOptions::default())
        .await
        .unwrap();
    assert_eq!(outcome.retried, vec![task_id("broken")]);
    assert_eq!(fx.env.requests_of("RetryJobs"), 2);
    // The job read before, and once more after the internal error.
    assert_eq!(fx.env.requests_of("DescribeJob") - describes, 2);
    assert_eq!(
        journal.count(Provider::Tencent, "RetryJobs", job.as_str()),
        1
    );

    // An answer lost after RetryJobs acted: the read-back sees the job retried (no longer
    // FAILED), and nothing is sent again.
    let job = fx
        .submit_until("rj-lost", vec![task("broken", 3, "1")], "FAILED")
        .await
        .unwrap();
    fx.env.emulator().context().faults.add(FaultRule::new(
        Provider::Tencent,
        "RetryJobs",
        1,
        FaultKind::LoseAnswer {
            status: 200,
            code: "InternalError".into(),
        },
    ));
    let sent = fx.env.requests_of("RetryJobs");
    let outcome = fx
        .backend
        .retry_failed_tasks(&job, RetryFailedTasksOptions::default())
        .await
        .unwrap();
    assert_eq!(outcome.retried, vec![task_id("broken")]);
    assert_eq!(fx.env.requests_of("RetryJobs") - sent, 1);
    assert_eq!(
        journal.count(Provider::Tencent, "RetryJobs", job.as_str()),
        1
    );

    // Throttled means refused before acting: safe to replay at once.
    let job = fx
        .submit_until("rj-throttled", vec![task("broken", 3, "1")], "FAILED")
        .await
        .unwrap();
    fx.env.inject("RetryJobs", "RequestLimitExceeded", 1);
    let sent = fx.env.requests_of("RetryJobs");
    let outcome = fx
        .backend
        .retry_failed_tasks(&job, RetryFailedTasksOptions::default())
        .await
        .unwrap();
    assert_eq!(outcome.retried, vec![task_id("broken")]);
    assert_eq!(fx.env.requests_of("RetryJobs") - sent, 2);
    assert_eq!(
        journal.count(Provider::Tencent, "RetryJobs", job.as_str()),
        1
    );
}

// ---------------------------------------------------------------------------------------------
// Task status from instances

#[tokio::test]
async fn task_status_takes_exit_code_and_reason_from_a_failed_instance() {
    let fx = TencentFixture::fast().await;
    let broken = task_id("broken");
    let job = fx
        .submit(
            "instances",
            vec![task("broken", 3, "2").with_instance_count(3)],
        )
        .await
        .unwrap();
    let t = fx
        .advance_until_task(&job, &broken, "FAILED")
        .await
        .unwrap();
    assert_eq!(t.instance_count, 3);
    assert_eq!(t.exit_code, Some(3));
    assert_eq!(t.result, Some(TaskResult::Failure));
    let f = t.failure.unwrap();
    assert_eq!(f.code.as_deref(), Some("FAILED"));
    assert_eq!(f.message.as_deref(), Some("Application exited with code 3"));
    assert!(
        f.details
            .contains(&("TaskInstanceIndex".to_string(), "0".to_string())),
        "{:?}",
        f.details
    );
    assert!(t.start_time.is_some() && t.end_time.is_some());
    assert!(t.start_time <= t.end_time);
}

#[tokio::test]
async fn terminating_one_instance_fails_the_task_once_the_others_finish() {
    let fx = TencentFixture::fast().await;
    let work = task_id("work");
    let job = fx
        .submit_until(
            "one-instance",
            vec![task("work", 0, "20").with_instance_count(2)],
            "RUNNING",
        )
        .await
        .unwrap();
    let rid = fx
        .backend
        .terminate_task_instance(&job, &work, 1)
        .await
        .unwrap();
    assert!(rid.is_some());
    fx.env.advance(Duration::from_secs(2));

    // Instance 1 failed, instance 0 still runs: the task runs, the failure is already known.
    let t = fx
        .backend
        .task_status(&job, &work, StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(t.state, TaskState::Running);
    assert_eq!(t.result, None);
    let f = t.failure.clone().unwrap();
    assert_eq!(f.message.as_deref(), Some("Terminated by user"));
    assert!(
        f.details
            .contains(&("TaskInstanceIndex".to_string(), "1".to_string())),
        "{:?}",
        f.details
    );

    let t = fx.advance_until_task(&job, &work, "FAILED").await.unwrap();
    assert_eq!(t.instance_count, 2);
    assert_eq!(
        t.exit_code, None,
        "one succeeded (0), the failed one never exited"
    );
    assert_eq!(t.result, Some(TaskResult::Failure));

    // An instance that does not exist.
    let e = err(
        "terminate_task_instance(index 7)",
        fx.backend.terminate_task_instance(&job, &work, 7).await,
    );
    match &e {
        Error::NotFound { resource, id, .. } => {
            assert_eq!(*resource, ResourceKind::TaskInstance);
            assert_eq!(id, &format!("{job}/work/7"));
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn task_status_reads_the_counts_and_a_failed_page_not_every_instance() {
    let fx = TencentFixture::fast().await;
    let wide = task_id("wide");
    // Far more instances than a DescribeTask page (at most 1000) holds.
    let job = fx
        .submit_until(
            "wide",
            vec![task("wide", 0, FOREVER_SECS).with_instance_count(2500)],
            "RUNNING",
        )
        .await
        .unwrap();
    let before = fx.env.requests_of("DescribeTask");
    let t = fx
        .backend
        .task_status(&job, &wide, StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(t.instance_count, 2500);
    assert!(t.failure.is_none() && t.exit_code.is_none());
    assert_eq!(
        fx.env.requests_of("DescribeTask") - before,
        1,
        "the counts say nothing failed: one page"
    );

    // One instance far down the list fails: found through the state filter.
    fx.backend
        .terminate_task_instance(&job, &wide, 2400)
        .await
        .unwrap();
    fx.env.advance(Duration::from_secs(2));
    let before = fx.env.requests_of("DescribeTask");
    let t = fx
        .backend
        .task_status(&job, &wide, StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(t.state, TaskState::Running);
    let f = t.failure.unwrap();
    assert_eq!(f.message.as_deref(), Some("Terminated by user"));
    assert!(
        f.details
            .contains(&("TaskInstanceIndex".to_string(), "2400".to_string())),
        "{:?}",
        f.details
    );
    assert_eq!(
        fx.env.requests_of("DescribeTask") - before,
        2,
        "one page of all instances, one of the failed ones (3 pages of 1000 before)"
    );
}

// ---------------------------------------------------------------------------------------------
// Extras: listing and deleting

#[tokio::test]
async fn describe_jobs_pages_lazily_and_filters() {
    let fx = TencentFixture::fast().await;
    let mut listed = Vec::new();
    for _ in 0..5 {
        let job = fx
            .backend
            .submit_job_request(support::tencent::job(
                "listed",
                vec![task("work", 0, FOREVER_SECS)],
            ))
            .await
            .unwrap();
        listed.push(job);
        // A second apart, so "newest first" is observable.
        fx.env.advance(Duration::from_secs(1));
    }
    let other = fx
        .backend
        .submit_job_request(support::tencent::job("other", vec![task("work", 0, "1")]))
        .await
        .unwrap();
    fx.advance_until(&other, "SUCCEED").await.unwrap();

    let before = fx.env.requests_of("DescribeJobs");
    let stream = fx.backend.describe_jobs(
        DescribeJobsOptions::default()
            .with_job_name("listed")
            .with_page_size(2),
    );
    assert_eq!(
        fx.env.requests_of("DescribeJobs"),
        before,
        "nothing is sent before the stream is polled"
    );
    let page: Vec<_> = stream.try_collect().await.unwrap();
    assert_eq!(
        fx.env.requests_of("DescribeJobs") - before,
        3,
        "5 jobs in pages of 2"
    );
    let ids: Vec<JobId> = page.iter().map(|j| j.job_id.clone()).collect();
    let newest_first: Vec<JobId> = listed.iter().rev().cloned().collect();
    assert_eq!(ids, newest_first);
    for j in &page {
        assert_eq!(j.job_name.as_deref(), Some("listed"));
        assert_eq!(j.zone.as_deref(), Some(ZONE));
        assert_eq!(j.provider_state, "RUNNING");
        assert!(j.create_time.is_some());
        assert_eq!(j.task_counts.map(|c| c.running), Some(1));
    }

    let done: Vec<_> = fx
        .backend
        .describe_jobs(DescribeJobsOptions::default().with_job_states(["SUCCEED"]))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].job_id, other);
    assert!(done[0].end_time.is_some());

    let picked: Vec<_> = fx
        .backend
        .describe_jobs(
            DescribeJobsOptions::default()
                .with_job_ids([listed[0].clone(), listed[3].clone(), other.clone()])
                .with_job_states(["RUNNING"]),
        )
        .try_collect()
        .await
        .unwrap();
    let mut ids: Vec<JobId> = picked.into_iter().map(|j| j.job_id).collect();
    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let mut want = vec![listed[0].clone(), listed[3].clone()];
    want.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!(ids, want, "filters are AND-ed");

    // A page size out of range fails before any request.
    let before = fx.env.requests();
    for n in [0, 101] {
        let e = err(
            "page size",
            fx.backend
                .describe_jobs(DescribeJobsOptions::default().with_page_size(n))
                .try_collect::<Vec<_>>()
                .await,
        );
        assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
    }
    assert_eq!(fx.env.requests(), before);
}

#[tokio::test]
async fn delete_job_refuses_unfinished_jobs_and_forgets_finished_ones() {
    let fx = TencentFixture::fast().await;
    let running = fx
        .submit_until("busy", vec![task("work", 0, FOREVER_SECS)], "RUNNING")
        .await
        .unwrap();
    let e = err(
        "delete_job(RUNNING)",
        fx.backend
            .delete_job(&running, DeleteJobOptions::default())
            .await,
    );
    assert!(matches!(e, Error::InvalidState { .. }), "{e:?}");
    assert_eq!(e.code(), Some("ResourceInUse.Job"));

    let done = fx
        .submit_until("finished", vec![task("work", 0, "1")], "SUCCEED")
        .await
        .unwrap();
    let outcome = fx
        .backend
        .delete_job(&done, DeleteJobOptions::default())
        .await
        .unwrap();
    assert_eq!(outcome.disposition, DeleteDisposition::Accepted);
    assert!(outcome.request_id.is_some());
    // A replay finds it gone: an answer, not an error.
    let again = fx
        .backend
        .delete_job(&done, DeleteJobOptions::default())
        .await
        .unwrap();
    assert_eq!(again.disposition, DeleteDisposition::AlreadyGone);
    let e = err(
        "job_status(deleted)",
        fx.backend.job_status(&done, StatusOptions::default()).await,
    );
    assert!(
        matches!(&e, Error::NotFound { resource: ResourceKind::Job, id, .. } if id == done.as_str()),
        "{e:?}"
    );
    // The running job is still there.
    fx.backend
        .job_status(&running, StatusOptions::default())
        .await
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Rate limits (real time: pacing over HTTP is real)

/// Runs `n` concurrent `job_status` calls on clones of `backend`; returns the results. What
/// the tests check is what the strict emulator counted, not how long it took (pacing itself is
/// tested exactly on a paused clock in `polybatch-tencent`).
async fn burst(
    backend: &TencentBatchBackend,
    job: &JobId,
    n: usize,
) -> Vec<polybatch::Result<String>> {
    let calls: Vec<_> = (0..n)
        .map(|_| {
            let b = backend.clone();
            let job = job.clone();
            tokio::spawn(async move {
                b.job_status(&job, StatusOptions::default())
                    .await
                    .map(|s| s.provider_state)
            })
        })
        .collect();
    let mut results = Vec::with_capacity(n);
    for c in calls {
        results.push(c.await.unwrap());
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_client_limiter_the_emulator_throttles_and_the_client_retries() {
    let env = TencentEnv::with_default_limits().await;
    let submitter = env.builder().build().unwrap();
    let job = submitter
        .submit_job_request(support::tencent::job("burst", vec![task("w", 0, "1")]))
        .await
        .unwrap();
    // Enough patience for 6 calls at the emulator's 2/s.
    let backend = env
        .builder()
        .with_rate_limits_disabled()
        .with_retry_policy(
            RetryPolicy::default()
                .with_max_attempts(20)
                .with_initial_backoff(Duration::from_millis(100))
                .with_max_backoff(Duration::from_millis(400)),
        )
        .build()
        .unwrap();
    let results = burst(&backend, &job, 6).await;
    for r in &results {
        assert_eq!(r.as_deref().unwrap(), "SUBMITTED");
    }
    let throttled = env.errors("RequestLimitExceeded");
    // Burst 2 at once, then one every 500 ms: 4 are refused at first (fewer only if the
    // calls arrived spread out), and refused calls are refused again until their slot.
    assert!(throttled >= 1, "no RequestLimitExceeded answers");
    assert_eq!(
        env.requests_of("DescribeJob"),
        6 + throttled,
        "every refused request was retried once more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_limiter_or_retries_a_burst_surfaces_throttled() {
    let env = TencentEnv::with_default_limits().await;
    let submitter = env.builder().build().unwrap();
    let job = submitter
        .submit_job_request(support::tencent::job("burst", vec![task("w", 0, "1")]))
        .await
        .unwrap();
    let backend = env
        .builder()
        .with_rate_limits_disabled()
        .with_retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let results = burst(&backend, &job, 6).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    // Burst 2, then one every 500 ms: typically exactly 2 get through at once.
    assert!((2..6).contains(&ok), "{ok} of 6 got through a 2/s limit");
    for e in results.into_iter().filter_map(Result::err) {
        assert!(matches!(e, Error::Throttled { .. }), "{e:?}");
        assert_eq!(e.code(), Some("RequestLimitExceeded"));
        assert!(e.is_retryable());
        assert!(e.request_id().is_some());
    }
    assert_eq!(env.errors("RequestLimitExceeded"), (6 - ok) as u64);
    assert_eq!(env.requests_of("DescribeJob"), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_client_limiter_64_callers_never_see_request_limit_exceeded() {
    const RATE: u32 = 20;
    const CALLERS: usize = 64;
    let mut config = EmulatorConfig::default();
    config
        .tencent
        .rate_limits
        .insert("DescribeJob".to_string(), RATE);
    let env = TencentEnv::start(config).await;
    // One client, shared by every caller; limiter on (evenly spaced), default retries.
    let backend = env
        .builder()
        .with_rate_limit("DescribeJob", Quota::per_second(RATE).with_burst(1))
        .build()
        .unwrap();
    assert_eq!(
        backend.rate_limit("DescribeJob"),
        Some(Quota::per_second(RATE).with_burst(1))
    );
    let job = backend
        .submit_job_request(support::tencent::job("shared", vec![task("w", 0, "1")]))
        .await
        .unwrap();
    let results = burst(&backend, &job, CALLERS).await;
    for r in &results {
        assert_eq!(r.as_deref().unwrap(), "SUBMITTED");
    }
    assert_eq!(env.errors("RequestLimitExceeded"), 0);
    assert_eq!(
        env.requests_of("DescribeJob"),
        CALLERS as u64,
        "no call needed a retry"
    );
    // 64 permits evenly spaced at 20/s span 63 intervals of 50 ms.
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_default_limits_agree_and_hold_end_to_end() {
    // Both sides default to the documented international limits.
    let env = TencentEnv::with_default_limits().await;
    let backend = env
        .builder()
        .with_retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    // A loopback endpoint is no Tencent site: the conservative (international) limits.
    for limit in RATE_LIMITS {
        assert_eq!(
            backend.rate_limit(limit.action),
            Some(Quota::per_second(limit.international).with_burst(1)),
            "{}",
            limit.action
        );
        assert_eq!(
            documented_limit(limit.action),
            Some(limit.international),
            "{}",
            limit.action
        );
    }
    // The China site's endpoints get its (higher) limits, the international site's its own.
    for (endpoint, site) in [
        (polybatch_tencent::Endpoint::Default, Site::China),
        (polybatch_tencent::Endpoint::Regional, Site::China),
        (
            polybatch_tencent::Endpoint::International,
            Site::International,
        ),
    ] {
        let b = env
            .builder()
            .with_endpoint(endpoint.clone())
            .build()
            .unwrap();
        for limit in RATE_LIMITS {
            assert_eq!(
                b.rate_limit(limit.action),
                Some(Quota::per_second(limit.at(site)).with_burst(1)),
                "{endpoint:?} {}",
                limit.action
            );
        }
    }
    let fresh = EmulatorConfig::default();
    assert!(fresh.tencent.enforce_rate_limits && fresh.tencent.rate_limits.is_empty());
    assert_eq!(
        uniform_limits(7).tencent.rate_limits.len(),
        RATE_LIMITS.len()
    );

    // 5 callers at DescribeJob's 2/s, no retries: none refused, paced over 2 s.
    let job = backend
        .submit_job_request(support::tencent::job("defaults", vec![task("w", 0, "1")]))
        .await
        .unwrap();
    let results = burst(&backend, &job, 5).await;
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    assert_eq!(env.errors("RequestLimitExceeded"), 0);
}

#[tokio::test]
async fn secrets_stay_out_of_debug_output() {
    let env = TencentEnv::fast().await;
    let builder = env.fast_builder();
    let backend = builder.clone().build().unwrap();
    for text in [
        format!("{builder:?}"),
        format!("{backend:?}"),
        backend.to_string(),
    ] {
        assert!(!text.contains(DEFAULT_TENCENT_SECRET_KEY), "{text}");
    }
}

/// A FAILED job can still hold machines: a task whose `FailedAction` is INTERRUPT keeps its
/// failed instances FAILED_INTERRUPTED while another task's failure made the job FAILED.
/// `terminate_job` must send TerminateJob for it (skipping it would leave the machines held),
/// and the emulator must then end the interrupted instances.
#[tokio::test]
async fn a_failed_job_with_interrupted_instances_is_still_terminated() {
    let f = TencentFixture::fast().await;
    let job = f
        .submit_until(
            "failed-with-interrupted",
            vec![
                task("fails", 3, "1"),
                task("kept", 3, "1").with_failed_action("INTERRUPT"),
            ],
            "FAILED",
        )
        .await
        .expect("job fails");
    let kept = TaskId::new("kept").unwrap();
    let status = f
        .backend
        .task_status(&job, &kept, StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(status.provider_state, "FAILED_INTERRUPTED");
    let before = f.env.requests_of("TerminateJob");
    let outcome = f
        .backend
        .terminate_job(&job, TerminateJobOptions::default())
        .await
        .unwrap();
    assert_eq!(outcome.disposition, TerminateDisposition::Accepted);
    assert_eq!(f.env.requests_of("TerminateJob"), before + 1);
    let ended = f
        .env
        .advance_until_task(&f.backend, &job, &kept, "FAILED")
        .await
        .unwrap();
    assert_eq!(ended.state, TaskState::Failed);
    // Once every instance finished, another terminate is skipped as already completed.
    let again = f
        .backend
        .terminate_job(&job, TerminateJobOptions::default())
        .await
        .unwrap();
    assert_eq!(again.disposition, TerminateDisposition::AlreadyCompleted);
    assert_eq!(f.env.requests_of("TerminateJob"), before + 1);
}

/// A gateway that serves the API under a path prefix: the client posts to the endpoint's
/// path but signs the canonical URI `/` (as the Go and Python SDKs do), so the service
/// behind the gateway verifies the same signature.
#[tokio::test]
async fn an_endpoint_with_a_path_prefix_signs_slash() {
    let env = TencentEnv::fast().await;
    let upstream = env.url();
    let http = reqwest::Client::new();
    let forwarded = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let app = {
        let forwarded = forwarded.clone();
        axum::Router::new().route(
            "/gateway/batch/",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let (http, upstream, forwarded) =
                        (http.clone(), upstream.clone(), forwarded.clone());
                    async move {
                        forwarded.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let mut request = http.post(format!("{upstream}/"));
                        for (name, value) in &headers {
                            // Host included: the signature covers the host the client saw.
                            if name != "content-length" {
                                request = request.header(name, value);
                            }
                        }
                        let answer = request.body(body).send().await.unwrap();
                        let status = answer.status().as_u16();
                        let text = answer.text().await.unwrap();
                        (
                            axum::http::StatusCode::from_u16(status).unwrap(),
                            [("content-type", "application/json")],
                            text,
                        )
                    }
                },
            ),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway = format!("http://{}/gateway/batch/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let backend = env
        .fast_builder()
        .with_endpoint(polybatch_tencent::Endpoint::Custom(gateway))
        .build()
        .unwrap();
    let job = JobId::new("job-00000000").unwrap();
    let e = backend
        .job_status(&job, StatusOptions::default())
        .await
        .unwrap_err();
    // Through the gateway, authenticated: the service looked for the job.
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    assert_eq!(forwarded.load(std::sync::atomic::Ordering::SeqCst), 1);
}
