//! The Tencent flavour of `InMemoryBackend`: Tencent Batch's own state machine (the one the
//! emulator serves) behind the trait, on a paused clock.

use std::time::Duration;

use polybatch::memory::{Flavour, InMemoryBackend, TencentTask};
use polybatch::{
    BatchBackend, Error, JobId, JobState, Operation, ReactivateTaskOptions,
    RetryFailedTasksOptions, StatusOptions, TaskId, TaskResult, TaskState, TerminateDisposition,
    TerminateJobOptions,
};

fn task(name: &str, secs: u64, exit_code: i64) -> TencentTask {
    TencentTask::new(&TaskId::new(name).unwrap()).runs(Duration::from_secs(secs), exit_code)
}

async fn state(b: &InMemoryBackend, job: &JobId) -> String {
    b.job_status(job, StatusOptions::default())
        .await
        .unwrap()
        .provider_state
}

/// Moves the clock a second at a time until the job's Tencent state is `want`.
async fn until(b: &InMemoryBackend, job: &JobId, want: &str) {
    for _ in 0..600 {
        if b.seed().tencent_job_state(job).unwrap() == want {
            return;
        }
        tokio::time::advance(Duration::from_secs(1)).await;
    }
    panic!("{job} never reached {want}");
}

#[tokio::test(start_paused = true)]
async fn identity_and_capabilities_are_tencents() {
    let b = InMemoryBackend::tencent();
    assert_eq!(b.flavour(), Flavour::Tencent);
    assert_eq!(InMemoryBackend::azure().flavour(), Flavour::Azure);
    assert_eq!(b.to_string(), "InMemory(tencent)");
    let c = b.capabilities();
    assert!(c.terminate_job && c.job_status && c.task_status && c.retry_failed_tasks);
    assert!(!c.reactivate_task && !c.list_prep_release_status);
    assert!(!c.terminate_job_reason && !c.terminate_job_force);
    assert!(!c.conditional_requests && !c.server_timeout);
}

#[tokio::test(start_paused = true)]
async fn a_job_lives_its_tencent_timeline() {
    let b = InMemoryBackend::tencent();
    let job = b
        .seed()
        .tencent_job(&[task("a", 30, 0).with_instances(2), task("b", 10, 0)])
        .unwrap();
    assert!(job.as_str().starts_with("job-"), "{job}");
    assert_eq!(state(&b, &job).await, "SUBMITTED");
    let s = b.job_status(&job, StatusOptions::default()).await.unwrap();
    assert_eq!(s.state, JobState::Submitted);
    until(&b, &job, "RUNNING").await;
    let t = b
        .task_status(&job, &TaskId::new("a").unwrap(), StatusOptions::default())
        .await
        .unwrap();
    assert_eq!((t.state, t.instance_count), (TaskState::Running, 2));
    until(&b, &job, "SUCCEED").await;
    let s = b.job_status(&job, StatusOptions::default()).await.unwrap();
    assert_eq!(s.state, JobState::Succeeded);
    assert!(s.end_time.is_some() && s.failure.is_none());
    let counts = s.task_counts.unwrap();
    assert_eq!((counts.succeeded, counts.failed, counts.pending), (2, 0, 0));
    let t = b
        .task_status(&job, &TaskId::new("b").unwrap(), StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (t.state, t.result, t.exit_code),
        (TaskState::Succeeded, Some(TaskResult::Success), Some(0))
    );
}

#[tokio::test(start_paused = true)]
async fn terminate_is_refused_while_submitted_then_accepted_once() {
    let b = InMemoryBackend::tencent();
    let job = b.seed().tencent_job(&[task("work", 3600, 0)]).unwrap();
    let e = b
        .terminate_job(&job, TerminateJobOptions::default())
        .await
        .unwrap_err();
    // Refused while SUBMITTED, retryably: the job leaves SUBMITTED by itself.
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
    assert!(e.message().contains("SUBMITTED"), "{e}");
    assert_eq!(e.code(), Some("UnsupportedOperation"));
    assert_eq!(e.operation(), Operation::TerminateJob);
    until(&b, &job, "RUNNING").await;
    let first = b
        .terminate_job(&job, TerminateJobOptions::default())
        .await
        .unwrap();
    assert_eq!(first.disposition, TerminateDisposition::Accepted);
    // The instance fails two seconds later; until then the job is terminating.
    let s = b.job_status(&job, StatusOptions::default()).await.unwrap();
    assert_eq!(
        (s.state, s.provider_state.as_str()),
        (JobState::Terminating, "RUNNING")
    );
    assert_eq!((s.start_time, s.terminate_reason), (None, None));
    let again = b
        .terminate_job(&job, TerminateJobOptions::default())
        .await
        .unwrap();
    assert_eq!(again.disposition, TerminateDisposition::AlreadyTerminating);
    until(&b, &job, "FAILED").await;
    let done = b
        .terminate_job(&job, TerminateJobOptions::default())
        .await
        .unwrap();
    assert_eq!(done.disposition, TerminateDisposition::AlreadyCompleted);
    let s = b.job_status(&job, StatusOptions::default()).await.unwrap();
    assert_eq!(s.state, JobState::Failed);
    assert!(s.failure.is_some());
}

#[tokio::test(start_paused = true)]
async fn retry_acts_only_on_a_failed_job_and_names_its_failed_tasks() {
    let b = InMemoryBackend::tencent();
    let job = b
        .seed()
        .tencent_job(&[task("ok", 5, 0), task("broken", 5, 7)])
        .unwrap();
    until(&b, &job, "RUNNING").await;
    // Nothing failed yet: nothing to retry (the same empty outcome as on Azure).
    let nothing = b
        .retry_failed_tasks(&job, RetryFailedTasksOptions::default())
        .await
        .unwrap();
    assert!(nothing.retried.is_empty() && nothing.not_retried.is_empty());
    until(&b, &job, "FAILED").await;
    let broken = TaskId::new("broken").unwrap();
    let t = b
        .task_status(&job, &broken, StatusOptions::default())
        .await
        .unwrap();
    assert_eq!((t.state, t.exit_code), (TaskState::Failed, Some(7)));
    let outcome = b
        .retry_failed_tasks(&job, RetryFailedTasksOptions::default())
        .await
        .unwrap();
    assert_eq!(outcome.retried, vec![broken.clone()]);
    assert!(outcome.not_retried.is_empty());
    // The failed task runs again; the one that succeeded keeps its history.
    assert_ne!(state(&b, &job).await, "FAILED");
    let ok = b
        .task_status(&job, &TaskId::new("ok").unwrap(), StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(ok.state, TaskState::Succeeded);
    until(&b, &job, "FAILED").await;
}

/// A task failed but the job still runs: RetryJobs would be refused, so the retry is.
#[tokio::test(start_paused = true)]
async fn retry_while_a_failed_job_still_runs_is_refused() {
    let b = InMemoryBackend::tencent();
    let job = b
        .seed()
        .tencent_job(&[task("broken", 5, 7), task("long", 3600, 0)])
        .unwrap();
    let broken = TaskId::new("broken").unwrap();
    for _ in 0..600 {
        if b.seed().tencent_task_state(&job, &broken).unwrap() == "FAILED" {
            break;
        }
        tokio::time::advance(Duration::from_secs(1)).await;
    }
    assert_eq!(state(&b, &job).await, "RUNNING");
    let e = b
        .retry_failed_tasks(&job, RetryFailedTasksOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("UnsupportedOperation"), "{e:?}");
}

#[tokio::test(start_paused = true)]
async fn unknown_jobs_and_tasks_use_tencents_codes() {
    let b = InMemoryBackend::tencent();
    let missing = JobId::new("job-00000000").unwrap();
    let e = b
        .job_status(&missing, StatusOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }));
    assert_eq!(e.code(), Some("ResourceNotFound.Job"));
    let e = b
        .terminate_job(&missing, TerminateJobOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ResourceNotFound.Job"));
    let job = b.seed().tencent_job(&[task("work", 5, 0)]).unwrap();
    let e = b
        .task_status(
            &job,
            &TaskId::new("nope").unwrap(),
            StatusOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }));
    assert_eq!(e.code(), Some("ResourceNotFound.Task"));
}

#[tokio::test(start_paused = true)]
async fn what_tencent_cannot_do_is_refused_before_executing() {
    let b = InMemoryBackend::tencent();
    let job = b.seed().tencent_job(&[task("work", 5, 0)]).unwrap();
    let work = TaskId::new("work").unwrap();
    let e = b
        .reactivate_task(&job, &work, ReactivateTaskOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { option: None, .. }));
    let e = b
        .terminate_job(&job, TerminateJobOptions::default().with_reason("r"))
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        Error::Unsupported {
            option: Some("reason"),
            ..
        }
    ));
    assert_eq!(b.requests_seen(), 0);
    assert_eq!(b.journal().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn seeding_belongs_to_one_flavour() {
    let tencent = InMemoryBackend::tencent();
    let azure = InMemoryBackend::azure();
    let job = JobId::new("job-1").unwrap();
    let e = tencent.seed().job(&job, "pool-1").unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
    assert!(e.to_string().contains("Azure flavour"), "{e}");
    let e = azure.seed().tencent_job(&[task("work", 5, 0)]).unwrap_err();
    assert!(e.to_string().contains("Tencent flavour"), "{e}");
    for bad in [
        vec![],
        vec![task("same", 1, 0), task("same", 1, 0)],
        vec![task("none", 1, 0).with_instances(0)],
    ] {
        let e = tencent.seed().tencent_job(&bad).unwrap_err();
        assert!(matches!(e, Error::InvalidInput { .. }), "{bad:?}: {e:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn faults_and_the_journal_work_as_in_the_azure_flavour() {
    let b = InMemoryBackend::tencent();
    let job = b.seed().tencent_job(&[task("work", 5, 0)]).unwrap();
    b.faults()
        .fail_next(Operation::JobStatus, 1, |ctx| Error::throttled(None, ctx));
    let e = b
        .job_status(&job, StatusOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Throttled { .. }));
    assert_eq!(state(&b, &job).await, "SUBMITTED");
    let journal = b.journal();
    assert_eq!(journal.len(), 2);
    assert!(
        journal
            .iter()
            .all(|e| e.executed && e.job.as_ref() == Some(&job))
    );
    assert_eq!(journal[0].error_kind(), Some("throttled"));
}
