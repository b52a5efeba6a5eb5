//! The AWS Batch backend against moto's server (an implementation nobody here wrote): submit
//! with tags and array jobs, idempotent resubmission, status, bulk status with unknown ids,
//! listing by state and name, the children of an array job, terminate and export.
//!
//! moto without Docker runs every job to SUCCEEDED at once, so running states are not seen
//! here.

mod support;

use std::time::Duration;

use futures::TryStreamExt;
use polybatch::{
    BatchBackend, Error, IdempotencyKey, JobId, JobSpec, JobState, ListJobsOptions,
    ListTasksOptions, Placement, StatusOptions, SubmitJobOptions, TaskId, TaskSpec,
    TerminateDisposition, TerminateJobOptions,
};
use polybatch_aws::AwsBatchBackend;
use support::aws_moto::{DEFINITION, Moto, QUEUE};

fn placement() -> Placement {
    Placement::AwsJobQueue {
        job_queue: QUEUE.into(),
        job_definition: DEFINITION.into(),
    }
}

fn spec(name: &str, instances: u32) -> JobSpec {
    let mut task =
        TaskSpec::shell(TaskId::new("render").unwrap(), "echo hello").with_env("QUALITY", "high");
    task.instance_count = instances;
    task.max_retries = Some(2);
    task.timeout = Some(Duration::from_secs(600));
    let mut spec = JobSpec::new(name, placement(), vec![task]);
    spec.labels.insert("team".into(), "vfx".into());
    spec
}

async fn until_terminal(b: &AwsBatchBackend, job: &JobId) -> polybatch::JobStatus {
    for _ in 0..100 {
        let s = b.job_status(job, StatusOptions::default()).await.unwrap();
        if s.state.is_terminal() {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {job} did not finish on moto");
}

#[tokio::test]
async fn submit_status_list_terminate_and_export_against_moto() {
    let moto = Moto::start().await;
    let b = moto.backend().await;

    // Submit, then the same key again: one job.
    let key = IdempotencyKey::new("moto-key-1").unwrap();
    let mut first_spec = spec("nightly render", 1);
    first_spec.idempotency_key = Some(key.clone());
    let first = b
        .submit_job(first_spec.clone(), SubmitJobOptions::default())
        .await
        .unwrap();
    assert!(first.created);
    let again = b
        .submit_job(first_spec.clone(), SubmitJobOptions::default())
        .await
        .unwrap();
    assert_eq!(again.job, first.job);
    assert!(!again.created, "a resubmission finds the first job");

    let done = until_terminal(&b, &first.job).await;
    assert_eq!(done.state, JobState::Succeeded, "{done:?}");
    assert_eq!(done.provider_state, "SUCCEEDED");
    assert_eq!(done.name.as_deref(), Some("nightly-render"));
    assert_eq!(done.labels.get("team").map(String::as_str), Some("vfx"));
    assert!(
        done.labels.keys().all(|k| !k.starts_with("polybatch-")),
        "polybatch's own tags are hidden: {:?}",
        done.labels
    );

    // An array job: its children are the tasks.
    let array = b
        .submit_job(spec("sweep", 3), SubmitJobOptions::default())
        .await
        .unwrap();
    until_terminal(&b, &array.job).await;
    let tasks: Vec<_> = b
        .list_tasks(&array.job, ListTasksOptions::default())
        .try_collect()
        .await
        .unwrap();
    let mut ids: Vec<&str> = tasks.iter().map(|t| t.task_id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["0", "1", "2"], "{tasks:?}");
    let child = b
        .task_status(
            &array.job,
            &TaskId::new("1").unwrap(),
            StatusOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(child.provider_state, "SUCCEEDED");
    assert!(matches!(
        b.task_status(
            &array.job,
            &TaskId::new("3").unwrap(),
            StatusOptions::default()
        )
        .await,
        Err(Error::NotFound { .. })
    ));
    // Output is a locator: the CloudWatch Logs stream the child wrote to.
    let out = b
        .task_output(
            &array.job,
            &TaskId::new("1").unwrap(),
            polybatch::TaskOutputOptions::default(),
        )
        .await
        .unwrap();
    assert!(!out.complete && out.bytes.is_empty(), "{out:?}");
    let location = out.location.expect("a log location");
    assert!(
        location.starts_with(&format!("cloudwatch-logs:///aws/batch/job/{DEFINITION}/")),
        "{location}"
    );
    // A plain job's one task is "0".
    let plain = b
        .task_status(
            &first.job,
            &TaskId::new("0").unwrap(),
            StatusOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(plain.provider_state, "SUCCEEDED");

    // Bulk status: unknown ids are reported, never dropped, in the order asked.
    let unknown = JobId::new("00000000-0000-0000-0000-000000000000").unwrap();
    let statuses = b
        .job_statuses(
            &[first.job.clone(), unknown.clone(), array.job.clone()],
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(statuses.len(), 3);
    assert_eq!(statuses[0].0, first.job);
    assert!(statuses[0].1.is_ok());
    assert!(
        matches!(statuses[1].1, Err(Error::NotFound { .. })),
        "{statuses:?}"
    );
    assert!(statuses[2].1.is_ok());

    // Listing by state, by name prefix, by label.
    let succeeded: Vec<_> = b
        .list_jobs(ListJobsOptions::default().with_state(JobState::Succeeded))
        .try_collect()
        .await
        .unwrap();
    assert!(succeeded.iter().any(|s| s.job_id == first.job));
    assert!(succeeded.iter().any(|s| s.job_id == array.job));
    let failed: Vec<_> = b
        .list_jobs(ListJobsOptions::default().with_state(JobState::Failed))
        .try_collect()
        .await
        .unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    let named: Vec<_> = b
        .list_jobs(ListJobsOptions::default().with_name_prefix("sweep"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(named.len(), 1, "{named:?}");
    assert_eq!(named[0].job_id, array.job);
    let labelled: Vec<_> = b
        .list_jobs(ListJobsOptions::default().with_label("team", "vfx"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(labelled.len(), 2, "{labelled:?}");

    // Terminate a finished job: nothing to do, and said so.
    let outcome = b
        .terminate_job(&first.job, TerminateJobOptions::default())
        .await
        .unwrap();
    assert_eq!(outcome.disposition, TerminateDisposition::AlreadyCompleted);
    assert!(matches!(
        b.terminate_job(&unknown, TerminateJobOptions::default())
            .await,
        Err(Error::NotFound { .. })
    ));

    // Export gives the spec back, up to the job name AWS accepts.
    let exported = b.export_job(&array.job, Default::default()).await.unwrap();
    let s = &exported.spec;
    assert_eq!(s.name, "sweep");
    let t = &s.tasks[0];
    assert_eq!(t.name.as_str(), "render");
    assert_eq!(t.instance_count, 3);
    assert_eq!(t.env.get("QUALITY").map(String::as_str), Some("high"));
    assert_eq!(
        t.command,
        polybatch::Command::Shell("echo hello".into()),
        "{t:?}"
    );
    assert_eq!(s.labels.get("team").map(String::as_str), Some("vfx"));
    assert!(s.idempotency_key.is_some());
}

#[tokio::test]
async fn what_aws_cannot_carry_is_refused_before_any_request() {
    let moto = Moto::start().await;
    let b = moto.backend().await;
    // Two tasks: AWS runs one per job.
    let mut two = spec("two", 1);
    two.tasks
        .push(TaskSpec::shell(TaskId::new("second").unwrap(), "true"));
    let e = b
        .submit_job(two, SubmitJobOptions::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("tasks"), "{e}");
    // Another provider's placement.
    let mut azure = spec("azure", 1);
    azure.placement = Placement::AzurePool {
        pool_id: "p".into(),
    };
    let e = b
        .submit_job(azure, SubmitJobOptions::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("placement"), "{e}");
    // Nothing reached the queue.
    let all: Vec<_> = b
        .list_jobs(ListJobsOptions::default())
        .try_collect()
        .await
        .unwrap();
    assert!(all.is_empty(), "{all:?}");
}

#[tokio::test]
async fn a_failed_job_is_retried_as_one_resubmission() {
    let moto = Moto::start_failing().await;
    let b = moto.backend().await;
    assert!(!b.capabilities().retry_failed_tasks_in_place);
    let failed = b
        .submit_job(spec("flaky", 1), SubmitJobOptions::default())
        .await
        .unwrap();
    let s = until_terminal(&b, &failed.job).await;
    assert_eq!(s.state, JobState::Failed, "{s:?}");
    assert!(s.failure.is_some(), "{s:?}");

    let first = b
        .retry_failed_tasks(&failed.job, Default::default())
        .await
        .unwrap();
    assert_eq!(first.retried.len(), 1, "{first:?}");
    assert_eq!(first.resubmitted.len(), 1, "{first:?}");
    let copy = first.resubmitted[0].clone();
    assert_ne!(copy, failed.job);
    // Asked again: the same copy, not a second one.
    let again = b
        .retry_failed_tasks(&failed.job, Default::default())
        .await
        .unwrap();
    assert_eq!(again.resubmitted.as_slice(), std::slice::from_ref(&copy));
    // The copy is the same work: same name, command and labels.
    let exported = b.export_job(&copy, Default::default()).await.unwrap().spec;
    assert_eq!(exported.name, "flaky");
    assert_eq!(
        exported.tasks[0].command,
        polybatch::Command::Shell("echo hello".into())
    );
    assert_eq!(exported.labels.get("team").map(String::as_str), Some("vfx"));

    // An array job cannot be retried in part.
    let array = b
        .submit_job(spec("flaky-sweep", 2), SubmitJobOptions::default())
        .await
        .unwrap();
    until_terminal(&b, &array.job).await;
    let e = b
        .retry_failed_tasks(&array.job, Default::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidState { .. }), "{e:?}");
}

/// The conformance checks moto can serve (it runs every job to SUCCEEDED at once, so the
/// checks of running, failed and terminating jobs run on the emulator instead,
/// `aws_e2e.rs`): submit idempotency and bulk status, refusals before any request, listing
/// filters and delete. Not `errors_carry_context` (it needs a running job) nor
/// `export_round_trips`: moto 5.2.5 leaves `retryStrategy` and
/// `schedulingPriority` out of its `DescribeJobs` answer (AWS sends both; the emulator's suite
/// runs that check).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_checks_pass_against_moto() {
    use polybatch::conformance;
    let fx = support::aws_moto::MotoFixture::start().await;
    let b = &fx.backend;
    conformance::submit_is_idempotent(b, &fx).await;
    conformance::submit_refuses_before_io(b, &fx).await;
    conformance::list_jobs_filters(b, &fx).await;
    conformance::unsupported_fail_before_io(b, &fx).await;
    conformance::delete_is_idempotent(b, &fx).await;
}
