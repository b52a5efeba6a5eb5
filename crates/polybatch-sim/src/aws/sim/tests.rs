use super::requests::{
    ArrayProperties, ContainerOverrides, ContainerProperties, KeyValuesPair, SubmitJob,
};
use super::*;

fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
}

fn store() -> Store {
    let mut s = Store::new("us-east-1", DEFAULT_ACCOUNT);
    s.create_compute_environment(CreateComputeEnvironment {
        compute_environment_name: Some("ce".into()),
        kind: Some("MANAGED".into()),
        ..Default::default()
    })
    .unwrap();
    s.create_job_queue(CreateJobQueue {
        job_queue_name: Some("q".into()),
        priority: Some(1),
        compute_environment_order: Some(vec![ComputeEnvironmentOrder {
            order: Some(1),
            compute_environment: Some("ce".into()),
        }]),
        ..Default::default()
    })
    .unwrap();
    s.register_job_definition(RegisterJobDefinition {
        job_definition_name: Some("def".into()),
        kind: Some("container".into()),
        container_properties: Some(ContainerProperties {
            image: Some("busybox".into()),
            vcpus: Some(1),
            memory: Some(128),
            ..Default::default()
        }),
        ..Default::default()
    })
    .unwrap();
    s
}

fn env(run: &str, exit: &str) -> Vec<KeyValuePair> {
    vec![
        KeyValuePair {
            name: Some(RUN_SECONDS_VAR.into()),
            value: Some(run.into()),
        },
        KeyValuePair {
            name: Some(EXIT_CODE_VAR.into()),
            value: Some(exit.into()),
        },
    ]
}

fn submit(s: &mut Store, id: &str, run: &str, exit: &str, edit: impl FnOnce(&mut SubmitJob)) {
    let mut req = SubmitJob {
        job_name: Some(format!("n-{id}")),
        job_queue: Some("q".into()),
        job_definition: Some("def".into()),
        container_overrides: Some(ContainerOverrides {
            environment: Some(env(run, exit)),
            ..Default::default()
        }),
        ..Default::default()
    };
    edit(&mut req);
    s.submit_job(req, id.into(), t(0)).unwrap();
}

fn status(s: &Store, id: &str, at: i64) -> Status {
    s.detail(id, t(at)).unwrap().status
}

#[test]
fn a_job_walks_the_documented_states() {
    let mut s = store();
    submit(&mut s, "a", "10", "0", |_| {});
    let seen: Vec<Status> = [0, 1, 2, 3, 4, 13, 14]
        .iter()
        .map(|&x| status(&s, "a", x))
        .collect();
    assert_eq!(
        seen,
        [
            Status::Submitted,
            Status::Pending,
            Status::Runnable,
            Status::Starting,
            Status::Running,
            Status::Running,
            Status::Succeeded
        ]
    );
    let d = s.detail("a", t(20)).unwrap();
    assert_eq!(d.container.exit_code, Some(0));
    assert_eq!(d.attempts.len(), 1);
    assert_eq!(d.started_at, Some(t(4).timestamp_millis()));
    assert_eq!(d.stopped_at, Some(t(14).timestamp_millis()));
    assert_eq!(d.status_reason.as_deref(), Some(CONTAINER_EXITED));
    assert!(d.job_arn.ends_with(":job/a"));
}

#[test]
fn failed_attempts_are_retried_up_to_the_strategy() {
    let mut s = store();
    submit(&mut s, "f", "1", "3", |r| {
        r.retry_strategy = Some(RetryStrategy { attempts: Some(3) });
    });
    // Each attempt: RUNNABLE 1 s, STARTING 1 s, RUNNING 1 s, from t=2.
    assert_eq!(status(&s, "f", 5), Status::Runnable);
    assert_eq!(status(&s, "f", 10), Status::Running);
    assert_eq!(status(&s, "f", 11), Status::Failed);
    let d = s.detail("f", t(11)).unwrap();
    assert_eq!(d.attempts.len(), 3);
    assert!(d.attempts.iter().all(|a| a.container.exit_code == Some(3)));
}

#[test]
fn an_attempt_is_cut_at_its_timeout() {
    let mut s = store();
    submit(&mut s, "slow", "1000", "0", |r| {
        r.timeout = Some(JobTimeout {
            attempt_duration_seconds: Some(60),
        });
    });
    assert_eq!(status(&s, "slow", 63), Status::Running);
    let d = s.detail("slow", t(64)).unwrap();
    assert_eq!(d.status, Status::Failed);
    assert_eq!(d.status_reason.as_deref(), Some(TIMED_OUT));
    assert_eq!(d.container.exit_code, None);
}

#[test]
fn terminate_cancels_before_start_and_stops_after() {
    let mut s = store();
    submit(&mut s, "early", "100", "0", |_| {});
    submit(&mut s, "late", "100", "0", |_| {});
    s.terminate_job("early", Some("not needed"), t(1)).unwrap();
    let d = s.detail("early", t(1)).unwrap();
    assert_eq!(
        (d.status, d.is_cancelled, d.is_terminated),
        (Status::Failed, true, false)
    );
    assert_eq!(d.status_reason.as_deref(), Some("not needed"));
    assert!(d.attempts.is_empty());

    s.terminate_job("late", Some("stop"), t(10)).unwrap();
    let d = s.detail("late", t(10)).unwrap();
    assert_eq!((d.status, d.is_terminated), (Status::Running, true));
    let d = s.detail("late", t(11)).unwrap();
    assert_eq!(
        (d.status, d.is_cancelled, d.is_terminated),
        (Status::Failed, false, true)
    );
    assert_eq!(d.attempts.len(), 1);
    // Before the stop was asked for, history is unchanged.
    assert_eq!(status(&s, "late", 9), Status::Running);
}

#[test]
fn cancel_does_nothing_to_a_running_job_and_needs_a_reason() {
    let mut s = store();
    submit(&mut s, "r", "100", "0", |_| {});
    s.cancel_job("r", Some("x"), t(10)).unwrap();
    assert_eq!(status(&s, "r", 50), Status::Running);
    assert!(!s.detail("r", t(50)).unwrap().is_cancelled);
    assert!(s.cancel_job("r", None, t(10)).is_err());
    assert!(s.terminate_job("nope", Some("x"), t(10)).is_err());
    // Terminating a finished job changes nothing.
    submit(&mut s, "done", "1", "0", |_| {});
    s.terminate_job("done", Some("late"), t(100)).unwrap();
    assert_eq!(status(&s, "done", 100), Status::Succeeded);
}

#[test]
fn an_array_job_counts_its_children() {
    let mut s = store();
    submit(&mut s, "arr", "5", "0", |r| {
        r.array_properties = Some(ArrayProperties { size: Some(3) });
    });
    let d = s.detail("arr", t(6)).unwrap();
    assert_eq!(d.status, Status::Pending);
    let summary = d.array_properties.unwrap().status_summary.unwrap();
    assert_eq!(summary.get("RUNNING"), Some(&3));
    assert_eq!(status(&s, "arr:2", 6), Status::Running);
    assert_eq!(
        s.detail("arr:2", t(6))
            .unwrap()
            .array_properties
            .unwrap()
            .index,
        Some(2)
    );
    assert!(s.detail("arr:3", t(6)).is_none());
    assert_eq!(status(&s, "arr", 9), Status::Succeeded);
    // Terminating the parent stops every child.
    submit(&mut s, "arr2", "50", "0", |r| {
        r.array_properties = Some(ArrayProperties { size: Some(2) });
    });
    s.terminate_job("arr2", Some("enough"), t(10)).unwrap();
    let d = s.detail("arr2", t(12)).unwrap();
    assert_eq!((d.status, d.is_terminated), (Status::Failed, true));
    assert_eq!(d.status_reason.as_deref(), Some("enough"));
}

#[test]
fn dependencies_gate_and_fail_dependents() {
    let mut s = store();
    submit(&mut s, "first", "10", "1", |_| {});
    submit(&mut s, "second", "1", "0", |r| {
        r.depends_on = Some(vec![JobDependency {
            job_id: Some("first".into()),
            kind: None,
        }]);
    });
    assert_eq!(status(&s, "second", 10), Status::Pending);
    let d = s.detail("second", t(14)).unwrap();
    assert_eq!(d.status, Status::Failed);
    assert_eq!(d.status_reason.as_deref(), Some(DEPENDENCY_FAILED));
    assert!(
        s.submit_job(
            SubmitJob {
                job_name: Some("x".into()),
                job_queue: Some("q".into()),
                job_definition: Some("def".into()),
                depends_on: Some(vec![JobDependency {
                    job_id: Some("missing".into()),
                    kind: None,
                }]),
                ..Default::default()
            },
            "x".into(),
            t(0)
        )
        .is_err()
    );
}

#[test]
fn sequential_children_run_one_after_another() {
    let mut s = store();
    submit(&mut s, "seq", "10", "0", |r| {
        r.array_properties = Some(ArrayProperties { size: Some(3) });
        r.depends_on = Some(vec![JobDependency {
            job_id: None,
            kind: Some("SEQUENTIAL".into()),
        }]);
    });
    assert_eq!(status(&s, "seq:0", 5), Status::Running);
    assert_eq!(status(&s, "seq:1", 5), Status::Pending);
    assert_eq!(status(&s, "seq:1", 16), Status::Running);
    assert_eq!(status(&s, "seq:2", 16), Status::Pending);
}

#[test]
fn list_jobs_filters_by_status_and_name_newest_first() {
    let mut s = store();
    submit(&mut s, "a", "100", "0", |_| {});
    submit(&mut s, "b", "100", "0", |_| {});
    submit(&mut s, "c", "1", "0", |_| {});
    let list = |s: &Store, req: ListJobs| -> Vec<String> {
        s.list_jobs(&req, t(10))
            .unwrap()
            .items
            .into_iter()
            .map(|j| j.job_id)
            .collect()
    };
    let q = || ListJobs {
        job_queue: Some("q".into()),
        ..Default::default()
    };
    // No status and no filter: RUNNING only.
    assert_eq!(list(&s, q()), ["b", "a"]);
    let mut done = q();
    done.job_status = Some("SUCCEEDED".into());
    assert_eq!(list(&s, done), ["c"]);
    let mut named = q();
    named.job_status = Some("SUCCEEDED".into());
    named.filters = Some(vec![KeyValuesPair {
        name: Some("JOB_NAME".into()),
        values: Some(vec!["n-a".into()]),
    }]);
    // A filter lists every status (jobStatus ignored).
    assert_eq!(list(&s, named), ["a"]);
    let mut paged = q();
    paged.max_results = Some(1);
    let first = s.list_jobs(&paged, t(10)).unwrap();
    assert_eq!(first.items.len(), 1);
    paged.next_token = first.next_token;
    let second = s.list_jobs(&paged, t(10)).unwrap();
    assert_eq!(second.items[0].job_id, "a");
    assert_eq!(second.next_token, None);
    assert!(s.list_jobs(&ListJobs::default(), t(10)).is_err());
}

#[test]
fn describe_leaves_out_unknown_ids_and_caps_the_batch() {
    let mut s = store();
    submit(&mut s, "a", "1", "0", |_| {});
    let found = s.describe_jobs(&["zz".into(), "a".into()], t(1)).unwrap();
    assert_eq!(found.len(), 1);
    let many: Vec<String> = (0..101).map(|i| i.to_string()).collect();
    assert!(s.describe_jobs(&many, t(1)).is_err());
    assert!(s.describe_jobs(&[], t(1)).is_err());
}

#[test]
fn submits_are_checked() {
    let mut s = store();
    let base = || SubmitJob {
        job_name: Some("ok".into()),
        job_queue: Some("q".into()),
        job_definition: Some("def".into()),
        ..Default::default()
    };
    let refused = |s: &mut Store, r: SubmitJob| s.submit_job(r, "id".into(), t(0)).unwrap_err();
    let mut r = base();
    r.job_queue = Some("nope".into());
    assert!(refused(&mut s, r).message.contains("nope"));
    let mut r = base();
    r.job_definition = Some("def:9".into());
    assert!(refused(&mut s, r).message.contains("def:9"));
    let mut r = base();
    r.array_properties = Some(ArrayProperties { size: Some(1) });
    assert!(refused(&mut s, r).message.contains("arrayProperties.size"));
    let mut r = base();
    r.retry_strategy = Some(RetryStrategy { attempts: Some(11) });
    assert!(refused(&mut s, r).message.contains("attempts"));
    let mut r = base();
    r.timeout = Some(JobTimeout {
        attempt_duration_seconds: Some(59),
    });
    assert!(refused(&mut s, r).message.contains("60"));
    let mut r = base();
    r.job_name = Some("bad name".into());
    assert!(refused(&mut s, r).message.contains("jobName"));
    assert_eq!(s.job_count(), 0);
    // The definition resolves by name, name:revision and ARN.
    for d in [
        "def",
        "def:1",
        "arn:aws:batch:us-east-1:123456789012:job-definition/def:1",
    ] {
        let mut r = base();
        r.job_definition = Some(d.into());
        s.submit_job(r, format!("id-{}", s.job_count()), t(0))
            .unwrap();
    }
}

#[test]
fn tags_are_kept_per_resource() {
    let mut s = store();
    submit(&mut s, "a", "1", "0", |r| {
        r.tags = Some([("k".to_string(), "v".to_string())].into());
    });
    let arn = s.detail("a", t(0)).unwrap().job_arn;
    s.tag_resource(&arn, [("k2".to_string(), "v2".to_string())].into())
        .unwrap();
    assert_eq!(s.list_tags(&arn).unwrap().len(), 2);
    assert!(
        s.list_tags("arn:aws:batch:us-east-1:123456789012:job/zz")
            .is_err()
    );
    let q = s.describe_job_queues(&[], None, None).unwrap().items[0]
        .job_queue_arn
        .clone();
    s.tag_resource(&q, [("team".to_string(), "x".to_string())].into())
        .unwrap();
    assert_eq!(
        s.list_tags(&q).unwrap().get("team").map(String::as_str),
        Some("x")
    );
}

#[test]
fn children_read_at_once_are_each_childs_detail() {
    let mut s = store();
    submit(&mut s, "arr", "5", "0", |r| {
        r.array_properties = Some(ArrayProperties { size: Some(3) });
        r.tags = Some([("k".to_string(), "v".to_string())].into());
    });
    let all = s.children("arr", t(6)).unwrap();
    assert_eq!(all.len(), 3);
    for (i, d) in all.iter().enumerate() {
        assert_eq!(Some(d), s.detail(&format!("arr:{i}"), t(6)).as_ref());
    }
    submit(&mut s, "plain", "5", "0", |_| {});
    assert!(s.children("plain", t(6)).is_none());
    assert!(s.children("nope", t(6)).is_none());
    assert_eq!(
        s.tags("arr").and_then(|t| t.get("k")).map(String::as_str),
        Some("v")
    );
}
