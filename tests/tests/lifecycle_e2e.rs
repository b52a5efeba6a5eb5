//! The portable lifecycle through the real clients on the emulator, under the fault that
//! matters most to a scheduler: the answer to a submit is lost after the job was created.
//! The client retries (or the caller submits again with the same key), and exactly one job
//! exists, with each task once; the outcome says whether this call created it.

mod support;

use std::time::Duration;

use polybatch::{
    BatchBackend, DeleteDisposition, DeleteJobOptions, IdempotencyKey, JobSpec, JobState,
    JobStatusesOptions, Placement, SubmitJobOptions, TaskId, TaskSpec, TerminateJobOptions,
};
use polybatch_azure::ApiVersion;
use polybatch_emulator::{FaultKind, FaultRule, Provider};
use serde_json::Value;

use support::azure::{Auth, AzureEnv};
use support::tencent::{TencentEnv, ZONE};

fn tasks() -> Vec<TaskSpec> {
    let t = |n: &str| TaskId::new(n).unwrap();
    vec![
        TaskSpec::shell(t("first"), "echo one").with_env("POLYBATCH_RUN_SECONDS", "1"),
        TaskSpec::shell(t("second"), "echo two")
            .with_env("POLYBATCH_RUN_SECONDS", "1")
            .with_dependency(t("first")),
    ]
}

fn spec(placement: Placement, key: &str) -> JobSpec {
    JobSpec::new("lost-answer", placement, tasks())
        .with_label("team", "render")
        .with_idempotency_key(IdempotencyKey::new(key).unwrap())
}

fn lose(provider: Provider, operation: &str, status: u16, code: &str) -> FaultRule {
    FaultRule::new(
        provider,
        operation,
        1,
        FaultKind::LoseAnswer {
            status,
            code: code.to_string(),
        },
    )
}

fn azure_jobs(env: &AzureEnv) -> Vec<Value> {
    env.emulator().azure().snapshot()["jobs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn azure_submit_whose_answers_are_lost_creates_one_job_once() {
    let env = AzureEnv::start().await;
    let backend = env.backend(Auth::SharedKey, ApiVersion::default());
    // Every step of the submit loses its first answer after the service acted.
    for op in ["Job_Add", "Task_AddCollection", "Job_Patch"] {
        env.faults()
            .add(lose(Provider::Azure, op, 500, "InternalError"));
    }
    let placement = Placement::AzurePool {
        pool_id: "pool-1".into(),
    };
    let s = spec(placement, "azure-lost-1");
    let outcome = backend
        .submit_job(s.clone(), SubmitJobOptions::default())
        .await
        .unwrap();
    assert!(
        outcome.created,
        "this call's own lost attempt created the job"
    );
    assert!(env.faults().rules().is_empty(), "every fault fired");
    let jobs = azure_jobs(&env);
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    let tasks = jobs[0]["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2, "each task added once: {tasks:#?}");
    assert_eq!(jobs[0]["onAllTasksComplete"], "terminatejob");

    // The caller crashed and submits again: the same job, found, not made.
    let again = backend
        .submit_job(s, SubmitJobOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (again.job.clone(), again.created),
        (outcome.job.clone(), false)
    );
    assert_eq!(azure_jobs(&env).len(), 1);

    // It runs to completion on its own (onAllTasksComplete) and then deletes idempotently.
    let mut state = JobState::Active;
    for _ in 0..60 {
        env.advance(Duration::from_secs(1));
        let st = backend
            .job_status(&outcome.job, Default::default())
            .await
            .unwrap();
        assert_eq!(st.labels.get("team").map(String::as_str), Some("render"));
        state = st.state;
        if state.is_terminal() {
            break;
        }
    }
    assert_eq!(state, JobState::Completed);
    env.faults()
        .add(lose(Provider::Azure, "Job_Delete", 500, "InternalError"));
    let deleted = backend
        .delete_job(&outcome.job, DeleteJobOptions::default())
        .await
        .unwrap();
    // The retry found the job being deleted (or gone): an answer, not an error.
    assert_ne!(deleted.disposition, DeleteDisposition::Accepted);
    env.advance(Duration::from_secs(60));
    assert!(azure_jobs(&env).is_empty());
}

#[tokio::test]
async fn azure_submit_under_another_key_is_a_conflict_not_a_reuse() {
    let env = AzureEnv::start().await;
    let backend = env.backend(Auth::SharedKey, ApiVersion::default());
    let placement = Placement::AzurePool {
        pool_id: "pool-1".into(),
    };
    let first = backend
        .submit_job(spec(placement.clone(), "k-a"), SubmitJobOptions::default())
        .await
        .unwrap();
    // A job someone made by hand under the id another key would derive is not taken over.
    let other = IdempotencyKey::new("k-b").unwrap();
    let id = polybatch::translate::azure::job_id("lost-answer", &other).unwrap();
    backend
        .add_job(polybatch_azure::AddJobRequest::new(id.clone(), "pool-1"))
        .await
        .unwrap();
    let e = backend
        .submit_job(spec(placement, "k-b"), SubmitJobOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, polybatch::Error::InvalidState { .. }), "{e:?}");
    assert_eq!(e.code(), Some("JobExists"));
    assert_ne!(first.job, id);
}

#[tokio::test]
async fn tencent_submit_whose_answer_is_lost_creates_one_job() {
    let env = TencentEnv::fast().await;
    let backend = env.fast_builder().build().unwrap();
    env.emulator()
        .context()
        .faults
        .add(lose(Provider::Tencent, "SubmitJob", 200, "InternalError"));
    let placement = Placement::TencentManaged {
        zone: ZONE.into(),
        instance_type: "S5.MEDIUM2".into(),
        image_id: "img-polybatch".into(),
    };
    let s = spec(placement, "tencent-lost-1");
    let outcome = backend
        .submit_job(s.clone(), SubmitJobOptions::default())
        .await
        .unwrap();
    assert!(outcome.created);
    let jobs = env.emulator().tencent().snapshot()["jobs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        jobs.len(),
        1,
        "the ClientToken folded the replay: {jobs:#?}"
    );
    assert_eq!(
        env.requests_of("SubmitJob"),
        2,
        "one lost answer, one replay"
    );

    let again = backend
        .submit_job(s, SubmitJobOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (again.job.clone(), again.created),
        (outcome.job.clone(), false)
    );
    assert_eq!(
        env.requests_of("SubmitJob"),
        2,
        "found by its tag, not submitted"
    );

    // Bulk status in one DescribeJobs, with the labels; then finish, delete, delete again.
    let before = env.requests_of("DescribeJobs");
    let unknown = polybatch::JobId::new("job-zzzzzzzz").unwrap();
    let answers = backend
        .job_statuses(
            &[outcome.job.clone(), unknown.clone()],
            JobStatusesOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(env.requests_of("DescribeJobs"), before + 1);
    let status = answers[0].1.as_ref().unwrap();
    assert_eq!(
        status.labels.get("team").map(String::as_str),
        Some("render")
    );
    assert!(matches!(
        answers[1].1,
        Err(polybatch::Error::NotFound { .. })
    ));

    for _ in 0..120 {
        env.advance(Duration::from_secs(1));
        let st = backend
            .job_status(&outcome.job, Default::default())
            .await
            .unwrap();
        if st.state.is_terminal() {
            break;
        }
    }
    let _ = backend
        .terminate_job(&outcome.job, TerminateJobOptions::default())
        .await;
    let first = backend
        .delete_job(&outcome.job, DeleteJobOptions::default())
        .await
        .unwrap();
    assert_eq!(first.disposition, DeleteDisposition::Accepted);
    let second = backend
        .delete_job(&outcome.job, DeleteJobOptions::default())
        .await
        .unwrap();
    assert_eq!(second.disposition, DeleteDisposition::AlreadyGone);
}
