//! The portable job lifecycle: submit (idempotent), bulk status, delete (idempotent), and
//! what a backend cannot express refused before any request.

use std::sync::atomic::{AtomicU64, Ordering};

use futures::TryStreamExt;

use super::Fixture;
use super::support::{Check, MAX_POLLS, POLL_STEP};
use crate::backend::BatchBackend;
use crate::error::{Error, Operation, ResourceKind};
use crate::id::{JobId, TaskId};

use crate::options::{
    DeleteJobOptions, ExportJobOptions, JobStatusesOptions, ListJobsOptions, ListTasksOptions,
    SubmitJobOptions, TaskOutputOptions, TerminateJobOptions,
};
use crate::outcome::DeleteDisposition;
use crate::spec::{IdempotencyKey, JobSpec, Placement, Resources, TaskSpec};

/// Tells the specs of one process's checks apart (labels, keys).
static SEQ: AtomicU64 = AtomicU64::new(0);

fn task(name: &str) -> TaskSpec {
    let name = TaskId::new(name).unwrap_or_else(|e| panic!("built-in task name: {e}"));
    TaskSpec::shell(name, "echo polybatch conformance")
}

/// A two-task spec (one task where the backend takes one) labelled uniquely, with a dependency where the backend has them.
fn spec(c: &Check<'_>, placement: Placement, what: &str) -> JobSpec {
    let n = SEQ.fetch_add(1, Ordering::SeqCst);
    let nonce = format!("{:08x}", rand::random::<u32>());
    let mut second = task("second");
    if c.caps().submit.dependencies {
        second
            .depends_on
            .push(TaskId::new("first").unwrap_or_else(|e| panic!("{e}")));
    }
    let key = IdempotencyKey::new(format!("conformance-{what}-{nonce}-{n}"))
        .unwrap_or_else(|e| panic!("built-in key: {e}"));
    // One task where the backend runs one per job (AWS Batch).
    let tasks = if c.caps().submit.max_tasks >= 2 {
        vec![task("first"), second]
    } else {
        vec![task("first")]
    };
    JobSpec::new(format!("conformance-{what}"), placement, tasks)
        .with_label("conformance-suite", format!("{nonce}-{n}"))
        .with_idempotency_key(key)
}

fn placement(c: &Check<'_>) -> Placement {
    match c.fixture.placement() {
        Some(p) => p,
        None => c.fail("the backend supports submit_job but the fixture gives no placement()"),
    }
}

/// A submit creates the job once: the same key again finds it (`created: false`, same id);
/// its status carries the labels; `job_statuses` answers every id asked, in order, once each,
/// with `NotFound` for an unknown one. Without the capability, submit is `Unsupported`
/// before any I/O.
pub async fn submit_is_idempotent(backend: &dyn BatchBackend, fixture: &dyn Fixture) {
    let c = Check::new("submit_is_idempotent", backend, fixture);
    let op = Operation::SubmitJob;
    if !c.caps().submit_job {
        let placement = fixture.placement().unwrap_or(Placement::AzurePool {
            pool_id: "pool".into(),
        });
        let s = JobSpec::new("unsupported", placement, vec![task("only")]);
        c.expect_unsupported(
            "submit_job without the capability",
            op,
            None,
            backend.submit_job(s, SubmitJobOptions::default()),
        )
        .await;
        return;
    }
    let s = spec(&c, placement(&c), "submit");
    let first = c.ok(
        "submit_job(new spec)",
        backend
            .submit_job(s.clone(), SubmitJobOptions::default())
            .await,
    );
    c.ensure(first.created, || {
        format!(
            "submit_job(new spec) reported created: false for {}",
            first.job
        )
    });
    c.ensure(
        Some(&first.idempotency_key) == s.idempotency_key.as_ref(),
        || "submit_job did not keep the caller's idempotency key".to_string(),
    );
    let again = c.ok(
        "submit_job(same key again)",
        backend
            .submit_job(s.clone(), SubmitJobOptions::default())
            .await,
    );
    c.ensure(!again.created && again.job == first.job, || {
        format!(
            "submit_job(same key) made {} (created: {}), expected to find {}",
            again.job, again.created, first.job
        )
    });

    let status = c.job_status(&first.job).await;
    c.ensure(status.labels == s.labels, || {
        format!(
            "job_status({}) labels {:?}, submitted {:?}",
            first.job, status.labels, s.labels
        )
    });

    if !c.caps().job_statuses {
        c.expect_unsupported(
            "job_statuses without the capability",
            Operation::JobStatuses,
            None,
            backend.job_statuses(
                std::slice::from_ref(&first.job),
                JobStatusesOptions::default(),
            ),
        )
        .await;
        return;
    }
    let unknown = fixture.unknown_job_id();
    let asked = [first.job.clone(), unknown.clone(), first.job.clone()];
    let answers = c.ok(
        "job_statuses([job, unknown, job])",
        backend
            .job_statuses(&asked, JobStatusesOptions::default())
            .await,
    );
    let ids: Vec<&JobId> = answers.iter().map(|(j, _)| j).collect();
    c.ensure(ids == [&first.job, &unknown], || {
        format!(
            "job_statuses answered {ids:?}, expected [{}, {unknown}] (each id once, in order)",
            first.job
        )
    });
    match answers.first() {
        Some((_, Ok(st))) => c.ensure(st.job_id == first.job && st.labels == s.labels, || {
            format!("job_statuses: status of {} is {st:?}", first.job)
        }),
        other => c.fail(format_args!(
            "job_statuses: {} not answered with a status: {other:?}",
            first.job
        )),
    }
    match answers.get(1) {
        Some((_, Err(e))) => c.expect_not_found(
            "job_statuses(unknown)",
            e,
            Operation::JobStatuses,
            Some(ResourceKind::Job),
        ),
        other => c.fail(format_args!(
            "job_statuses: unknown job answered {other:?}, expected NotFound"
        )),
    }
    let e = c
        .without_io(
            "job_statuses(concurrency 0)",
            backend.job_statuses(&asked, JobStatusesOptions::default().with_concurrency(0)),
        )
        .await;
    c.ensure(matches!(e, Error::InvalidInput { .. }), || {
        format!(
            "job_statuses(concurrency 0) failed with {} ({e}), expected InvalidInput",
            e.kind()
        )
    });
}

/// Delete is idempotent: a finished job is deleted, a second delete is an answer
/// (`AlreadyDeleting` or `AlreadyGone`), and the job is soon `NotFound`. An unknown job is
/// `AlreadyGone`. Without the capability, delete is `Unsupported` before any I/O.
pub async fn delete_is_idempotent(backend: &dyn BatchBackend, fixture: &dyn Fixture) {
    let c = Check::new("delete_is_idempotent", backend, fixture);
    let op = Operation::DeleteJob;
    if !c.caps().delete_job {
        c.expect_unsupported(
            "delete_job without the capability",
            op,
            None,
            backend.delete_job(&fixture.unknown_job_id(), DeleteJobOptions::default()),
        )
        .await;
        return;
    }
    let job = if c.caps().submit_job {
        let s = spec(&c, placement(&c), "delete");
        c.ok(
            "submit_job",
            backend.submit_job(s, SubmitJobOptions::default()).await,
        )
        .job
    } else {
        c.setup("completed_job", fixture.completed_job().await)
    };
    // Some providers delete only finished jobs: finish it first.
    if c.caps().terminate_job {
        let mut terminated = backend
            .terminate_job(&job, TerminateJobOptions::default())
            .await;
        for _ in 0..MAX_POLLS {
            match &terminated {
                Err(e) if e.is_retryable() => {
                    fixture.advance(POLL_STEP).await;
                    terminated = backend
                        .terminate_job(&job, TerminateJobOptions::default())
                        .await;
                }
                _ => break,
            }
        }
        c.ok("terminate_job before delete", terminated);
    }
    c.wait_job_terminal(&job).await;
    let first = c.ok(
        "delete_job(finished job)",
        backend.delete_job(&job, DeleteJobOptions::default()).await,
    );
    c.ensure(first.disposition == DeleteDisposition::Accepted, || {
        format!(
            "delete_job(finished job {job}) reported {}, expected accepted",
            first.disposition
        )
    });
    let again = c.ok(
        "delete_job again",
        backend.delete_job(&job, DeleteJobOptions::default()).await,
    );
    c.ensure(again.disposition != DeleteDisposition::Accepted, || {
        format!("delete_job({job}) twice reported accepted twice")
    });
    let mut gone = false;
    for _ in 0..MAX_POLLS {
        match backend.job_status(&job, Default::default()).await {
            Err(Error::NotFound { .. }) => {
                gone = true;
                break;
            }
            Ok(_) => fixture.advance(POLL_STEP).await,
            Err(e) => c.fail(format_args!("job_status(deleted job {job}): {e}")),
        }
    }
    c.ensure(gone, || {
        format!("job {job} still readable {MAX_POLLS} polls after delete")
    });
    let unknown = c.ok(
        "delete_job(unknown job)",
        backend
            .delete_job(&fixture.unknown_job_id(), DeleteJobOptions::default())
            .await,
    );
    c.ensure(
        unknown.disposition == DeleteDisposition::AlreadyGone,
        || {
            format!(
                "delete_job(unknown job) reported {}, expected already_gone",
                unknown.disposition
            )
        },
    );
}

/// A spec field the backend cannot express is `Unsupported` naming the field, and a spec
/// that is wrong everywhere (no task) is `InvalidInput`, both before any request.
pub async fn submit_refuses_before_io(backend: &dyn BatchBackend, fixture: &dyn Fixture) {
    let c = Check::new("submit_refuses_before_io", backend, fixture);
    let op = Operation::SubmitJob;
    if !c.caps().submit_job {
        return; // submit_is_idempotent covers the missing capability
    }
    let caps = c.caps().submit;
    let placement = placement(&c);
    let mut s = spec(&c, placement.clone(), "refused");
    let field = if !caps.gpus {
        s.tasks[0].resources = Resources {
            gpus: Some(1),
            ..Resources::default()
        };
        "tasks[].resources.gpus"
    } else if !caps.placement_azure_pool {
        s.placement = Placement::AzurePool {
            pool_id: "p".into(),
        };
        "placement"
    } else if !caps.placement_tencent_managed {
        s.placement = Placement::TencentManaged {
            zone: "z".into(),
            instance_type: "t".into(),
            image_id: "i".into(),
        };
        "placement"
    } else {
        s.extensions
            .insert("another-provider".into(), serde_json::json!({}));
        "extensions"
    };
    c.expect_unsupported(
        &format!("submit_job(spec with {field})"),
        op,
        Some(field),
        backend.submit_job(s, SubmitJobOptions::default()),
    )
    .await;
    let mut empty = spec(&c, placement, "empty");
    empty.tasks.clear();
    let e = c
        .without_io(
            "submit_job(no tasks)",
            backend.submit_job(empty, SubmitJobOptions::default()),
        )
        .await;
    c.ensure(
        matches!(&e, Error::InvalidInput { field, .. } if field == "tasks"),
        || {
            format!(
                "submit_job(no tasks) failed with {} ({e}), expected InvalidInput on tasks",
                e.kind()
            )
        },
    );
}

/// `list_jobs` finds jobs by label (all labels must match), by name prefix and by state,
/// page by page with the same answer at any page size; `list_tasks` lists a job's tasks.
/// Without the capability, the listing's one item is `Unsupported`, before any I/O; a page
/// size of 0 is `InvalidInput`, before any I/O.
pub async fn list_jobs_filters(backend: &dyn BatchBackend, fixture: &dyn Fixture) {
    let c = Check::new("list_jobs_filters", backend, fixture);
    let op = Operation::ListJobs;
    let collect = |options: ListJobsOptions| async move {
        backend.list_jobs(options).try_collect::<Vec<_>>().await
    };
    if !c.caps().list_jobs {
        c.expect_unsupported(
            "list_jobs without the capability",
            op,
            None,
            collect(ListJobsOptions::default()),
        )
        .await;
        return;
    }
    let e = c
        .without_io(
            "list_jobs(page_size 0)",
            collect(ListJobsOptions::default().with_page_size(0)),
        )
        .await;
    c.ensure(matches!(e, Error::InvalidInput { .. }), || {
        format!(
            "list_jobs(page_size 0) failed with {} ({e}), expected InvalidInput",
            e.kind()
        )
    });
    if !c.caps().submit_job {
        return; // nothing to label
    }
    let placement = placement(&c);
    let batch = format!("{:08x}", rand::random::<u32>());
    let mut submitted = Vec::new();
    for (i, extra) in [(0, true), (1, false)] {
        let mut s = spec(&c, placement.clone(), &format!("list-{i}"));
        s.labels.insert("conformance-batch".into(), batch.clone());
        if extra {
            s.labels.insert("conformance-extra".into(), "yes".into());
        }
        let o = c.ok(
            "submit_job",
            backend.submit_job(s, SubmitJobOptions::default()).await,
        );
        submitted.push(o.job);
    }
    let mut unlabelled = spec(&c, placement, "list-other");
    unlabelled
        .labels
        .insert("conformance-batch".into(), format!("not-{batch}"));
    c.ok(
        "submit_job",
        backend
            .submit_job(unlabelled, SubmitJobOptions::default())
            .await,
    );

    let ids = |found: Vec<crate::status::JobStatus>| {
        let mut ids: Vec<JobId> = found.into_iter().map(|s| s.job_id).collect();
        ids.sort();
        ids
    };
    let mut want = submitted.clone();
    want.sort();
    let by_label = ListJobsOptions::default().with_label("conformance-batch", batch.clone());
    for size in [None, Some(1)] {
        let mut o = by_label.clone();
        o.page_size = size;
        let found = ids(c.ok("list_jobs(by label)", collect(o).await));
        c.ensure(found == want, || {
            format!("list_jobs(label, page size {size:?}) found {found:?}, expected {want:?}")
        });
    }
    let both = by_label.clone().with_label("conformance-extra", "yes");
    let found = ids(c.ok("list_jobs(two labels)", collect(both).await));
    c.ensure(
        found
            == want[..]
                .iter()
                .filter(|j| **j == submitted[0])
                .cloned()
                .collect::<Vec<_>>(),
        || {
            format!(
                "list_jobs(two labels) found {found:?}, expected [{}]",
                submitted[0]
            )
        },
    );
    let prefixed = by_label.clone().with_name_prefix("conformance-list-1");
    let found = ids(c.ok("list_jobs(name prefix)", collect(prefixed).await));
    c.ensure(found == [submitted[1].clone()], || {
        format!(
            "list_jobs(name prefix) found {found:?}, expected [{}]",
            submitted[1]
        )
    });
    // No job just submitted is being deleted.
    let none = by_label.with_state(crate::JobState::Deleting);
    let found = ids(c.ok("list_jobs(state deleting)", collect(none).await));
    c.ensure(found.is_empty(), || {
        format!("list_jobs(state deleting) found {found:?}")
    });

    if !c.caps().list_tasks {
        return;
    }
    let tasks: Vec<crate::status::TaskStatus> = c.ok(
        "list_tasks",
        backend
            .list_tasks(&submitted[0], ListTasksOptions::default())
            .try_collect()
            .await,
    );
    let mut names: Vec<&str> = tasks.iter().map(|t| t.task_id.as_str()).collect();
    names.sort();
    // A backend with one task per job names it itself (AWS: the job's index "0").
    let expected_tasks = if c.caps().submit.max_tasks >= 2 { 2 } else { 1 };
    c.ensure(
        names.len() == expected_tasks && (expected_tasks == 1 || names == ["first", "second"]),
        || format!("list_tasks({}) named {names:?}", submitted[0]),
    );
    c.ensure(tasks.iter().all(|t| t.job_id == submitted[0]), || {
        "list_tasks: a task of another job".into()
    });
}

/// `export_job` gives back the spec a job was submitted with: name, key, labels, priority,
/// placement, and each task's command, image-less environment, retries, timeout and
/// dependencies. Without the capability, export is `Unsupported` before any I/O.
pub async fn export_round_trips(backend: &dyn BatchBackend, fixture: &dyn Fixture) {
    let c = Check::new("export_round_trips", backend, fixture);
    let op = Operation::ExportJob;
    if !c.caps().export_job {
        c.expect_unsupported(
            "export_job without the capability",
            op,
            None,
            backend.export_job(&fixture.unknown_job_id(), ExportJobOptions::default()),
        )
        .await;
        return;
    }
    if !c.caps().submit_job {
        return;
    }
    let mut s = spec(&c, placement(&c), "export").with_priority(5);
    for t in &mut s.tasks {
        t.env.insert("STAGE".into(), t.name.as_str().into());
        t.max_retries = Some(1);
        t.timeout = Some(std::time::Duration::from_secs(3600));
    }
    let job = c
        .ok(
            "submit_job",
            backend
                .submit_job(s.clone(), SubmitJobOptions::default())
                .await,
        )
        .job;
    let exported = c.ok(
        "export_job",
        backend.export_job(&job, ExportJobOptions::default()).await,
    );
    let mut got = exported.spec.clone();
    // Task order is the provider's (Azure lists by id); compare by name.
    got.tasks.sort_by(|a, b| a.name.cmp(&b.name));
    let mut want = s.clone();
    want.tasks.sort_by(|a, b| a.name.cmp(&b.name));
    c.ensure(got == want, || {
        format!("export_job({job}) gave\n{got:#?}\nfor the submitted\n{want:#?}")
    });
    c.ensure(exported.dropped.is_empty(), || {
        format!(
            "export_job({job}) dropped {:?} of a neutral spec",
            exported.dropped
        )
    });
    let e = c.err(
        "export_job(unknown job)",
        backend
            .export_job(&fixture.unknown_job_id(), ExportJobOptions::default())
            .await,
    );
    c.expect_not_found("export_job(unknown job)", &e, op, Some(ResourceKind::Job));
}

/// `task_output` reads what a task wrote, whole or a byte range of it, stdout and stderr;
/// a task that has not started has none (`NotFound`); a range that ends before it starts is
/// `InvalidInput` before any I/O. Without the capability, `Unsupported` before any I/O.
pub async fn task_output_reads_streams(backend: &dyn BatchBackend, fixture: &dyn Fixture) {
    let c = Check::new("task_output_reads_streams", backend, fixture);
    let op = Operation::TaskOutput;
    let unknown = fixture.unknown_job_id();
    let task = TaskId::new("first").unwrap_or_else(|e| panic!("{e}"));
    if !c.caps().task_output {
        c.expect_unsupported(
            "task_output without the capability",
            op,
            None,
            backend.task_output(&unknown, &task, TaskOutputOptions::default()),
        )
        .await;
        return;
    }
    #[allow(clippy::reversed_empty_ranges)]
    let backwards = TaskOutputOptions::default().with_range(5..2);
    let e = c
        .without_io(
            "task_output(range 5..2)",
            backend.task_output(&unknown, &task, backwards),
        )
        .await;
    c.ensure(matches!(e, Error::InvalidInput { .. }), || {
        format!(
            "task_output(range 5..2) failed with {} ({e}), expected InvalidInput",
            e.kind()
        )
    });
    if !c.caps().submit_job {
        return;
    }
    const OUT: &str = "line one\nline two\n";
    let mut s = spec(&c, placement(&c), "output");
    s.tasks.truncate(1);
    s.tasks[0].env.insert("POLYBATCH_STDOUT".into(), OUT.into());
    s.tasks[0]
        .env
        .insert("POLYBATCH_STDERR".into(), "oops".into());
    s.tasks[0]
        .env
        .insert("POLYBATCH_RUN_SECONDS".into(), "1".into());
    let job = c
        .ok(
            "submit_job",
            backend.submit_job(s, SubmitJobOptions::default()).await,
        )
        .job;
    // The id the backend gives the spec's task (AWS names a job's one task "0").
    let task = if c.caps().list_tasks {
        let listed: Vec<crate::status::TaskStatus> = c.ok(
            "list_tasks",
            backend
                .list_tasks(&job, ListTasksOptions::default())
                .try_collect()
                .await,
        );
        match listed.into_iter().next() {
            Some(t) => t.task_id,
            None => c.fail(format!("list_tasks({job}) listed no task")),
        }
    } else {
        task
    };
    let mut started = false;
    for _ in 0..MAX_POLLS {
        let st = c.task_status(&job, &task).await;
        if st.start_time.is_some() && st.state != crate::state::TaskState::Pending
            || st.state.is_terminal()
        {
            started = true;
            break;
        }
        fixture.advance(POLL_STEP).await;
    }
    if !started {
        // Nothing runs on this backend by itself (the in-memory Azure pools have no nodes):
        // a task that never started has no output.
        let e = c.err(
            "task_output(task not started)",
            backend
                .task_output(&job, &task, TaskOutputOptions::default())
                .await,
        );
        c.ensure(matches!(e, Error::NotFound { .. }), || {
            format!(
                "task_output(task not started) failed with {} ({e}), expected NotFound",
                e.kind()
            )
        });
        return;
    }
    let all = c.ok(
        "task_output(stdout)",
        backend
            .task_output(&job, &task, TaskOutputOptions::default())
            .await,
    );
    if !c.caps().task_output_bytes {
        // The backend only says where the output is.
        c.ensure(
            all.bytes.is_empty() && !all.complete && all.location.is_some(),
            || format!("task_output of a locating backend gave {all:?}, expected a location only"),
        );
        return;
    }
    c.ensure(all.bytes == OUT.as_bytes() && all.complete, || {
        format!(
            "task_output(stdout) read {:?}, expected {OUT:?}",
            String::from_utf8_lossy(&all.bytes)
        )
    });
    let part = c.ok(
        "task_output(stdout, 5..8)",
        backend
            .task_output(&job, &task, TaskOutputOptions::default().with_range(5..8))
            .await,
    );
    c.ensure(part.bytes == OUT.as_bytes()[5..8], || {
        format!(
            "task_output(5..8) read {:?}, expected \"one\"",
            String::from_utf8_lossy(&part.bytes)
        )
    });
    let beyond = c.ok(
        "task_output(stdout, past the end)",
        backend
            .task_output(
                &job,
                &task,
                TaskOutputOptions::default().with_range(1000..2000),
            )
            .await,
    );
    c.ensure(beyond.bytes.is_empty(), || {
        "task_output past the end read bytes".into()
    });
    let err = c.ok(
        "task_output(stderr)",
        backend
            .task_output(&job, &task, TaskOutputOptions::default().stderr())
            .await,
    );
    c.ensure(err.bytes == b"oops", || {
        format!(
            "task_output(stderr) read {:?}, expected \"oops\"",
            String::from_utf8_lossy(&err.bytes)
        )
    });
    let missing = TaskId::new("polybatch-no-such-task").unwrap_or_else(|e| panic!("{e}"));
    let e = c.err(
        "task_output(unknown task)",
        backend
            .task_output(&job, &missing, TaskOutputOptions::default())
            .await,
    );
    c.ensure(matches!(e, Error::NotFound { .. }), || {
        format!(
            "task_output(unknown task) failed with {} ({e}), expected NotFound",
            e.kind()
        )
    });
}
