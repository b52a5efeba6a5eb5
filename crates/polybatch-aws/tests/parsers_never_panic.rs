//! Resilience: nothing an AWS Batch endpoint answers makes the AWS client panic or hang.
//!
//! The official SDK parses the answers; what is polybatch's own sits around it: the answer
//! checks (`answers.rs`: the body cap, a required member missing, a success that does not
//! parse), the error mapping (`error.rs`) and the conversion into neutral types
//! (`convert.rs`, `lifecycle.rs`). They are driven here through the public backend, against a
//! loopback mock that answers every request with one generated response: (a) arbitrary bytes,
//! (b) arbitrary JSON values, (c) real-looking `DescribeJobs`, `ListJobs` and `SubmitJob`
//! answers and error bodies with members replaced by values of the wrong type or extreme ones,
//! each under a success or an error status and error type. Every call must return `Ok` or
//! `Err` (whose `Display` and `Debug` must not panic either), never panic and never hang.

#[path = "../../../tests/shared/json_mutation.rs"]
mod json_mutation;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use futures::StreamExt;
use polybatch::{
    BatchBackend, JobId, JobSpec, JobStatusesOptions, ListJobsOptions, ListTasksOptions, Placement,
    StatusOptions, SubmitJobOptions, TaskId, TaskSpec, TerminateJobOptions,
};
use polybatch_aws::{AwsBatchBackend, AwsBatchBuilder};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value};

const CASES: u32 = 96;
/// A generous bound for one case's calls; a case that takes longer hangs.
const CASE_DEADLINE: Duration = Duration::from_secs(20);
/// How long a failure may be shrunk, in milliseconds.
const SHRINK_BUDGET_MS: u32 = 60_000;
const JOB: &str = "6a3c2f1e-0b7d-4c5e-9f8a-1d2e3f4a5b6c";

const DESCRIBE_JOBS: &str = r#"{"jobs":[{"jobArn":"arn:aws:batch:us-east-1:123456789012:job/6a3c2f1e-0b7d-4c5e-9f8a-1d2e3f4a5b6c","jobName":"render","jobId":"6a3c2f1e-0b7d-4c5e-9f8a-1d2e3f4a5b6c","jobQueue":"arn:aws:batch:us-east-1:123456789012:job-queue/q","status":"FAILED","statusReason":"Essential container in task exited","attempts":[{"container":{"exitCode":1,"reason":"x","logStreamName":"s"},"startedAt":1700000000000,"stoppedAt":1700000001000,"statusReason":"Essential container in task exited"}],"createdAt":1700000000000,"startedAt":1700000000500,"stoppedAt":1700000001000,"dependsOn":[],"jobDefinition":"arn:aws:batch:us-east-1:123456789012:job-definition/d:1","parameters":{},"container":{"image":"busybox","command":["sh","-c","exit 1"],"environment":[{"name":"A","value":"1"}],"exitCode":1,"resourceRequirements":[{"type":"VCPU","value":"1"},{"type":"MEMORY","value":"512"}]},"arrayProperties":{"statusSummary":{"FAILED":1,"SUCCEEDED":1},"size":2},"tags":{"polybatch.idempotency":"k-1"},"timeout":{"attemptDurationSeconds":60},"retryStrategy":{"attempts":2}}]}"#;
const LIST_JOBS: &str = r#"{"jobSummaryList":[{"jobArn":"arn:aws:batch:us-east-1:123456789012:job/a","jobId":"a","jobName":"n","createdAt":1700000000000,"status":"RUNNING","statusReason":"","startedAt":1700000000001,"stoppedAt":null,"container":{"exitCode":0},"arrayProperties":{"size":3,"index":1},"jobDefinition":"d:1"}],"nextToken":"t-1"}"#;
const SUBMITTED: &str =
    r#"{"jobArn":"arn:aws:batch:us-east-1:123456789012:job/a","jobName":"n","jobId":"a"}"#;
const ERROR: &str = r#"{"__type":"ClientException","message":"Job a not found"}"#;
const EMPTY: &str = "{}";

const KEYS: &[&str] = &[
    "jobs",
    "jobSummaryList",
    "nextToken",
    "jobId",
    "jobArn",
    "jobName",
    "status",
    "statusReason",
    "attempts",
    "container",
    "exitCode",
    "createdAt",
    "startedAt",
    "stoppedAt",
    "arrayProperties",
    "statusSummary",
    "size",
    "index",
    "tags",
    "__type",
    "message",
];

/// Strings a parser may treat specially, besides the job statuses
/// (`polybatch::translate::aws::STATUSES`).
const STRINGS: &[&str] = &[
    "",
    "ClientException",
    "ServerException",
    "TooManyRequestsException",
    "not found",
    "18446744073709551615",
    "\u{0}",
    "\r\n",
];

/// The error types a mock may name (in `x-amzn-ErrorType`), and none.
const ERROR_TYPES: &[&str] = &[
    "",
    "ClientException",
    "ServerException",
    "TooManyRequestsException",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "Unknown:http://internal.amazon.com/coral/",
];

fn special_strings() -> Vec<String> {
    STRINGS
        .iter()
        .chain(polybatch::translate::aws::STATUSES.iter())
        .map(|s| s.to_string())
        .collect()
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        3 => prop::sample::select(special_strings()),
        1 => (0usize..5_000, any::<char>()).prop_map(|(n, c)| c.to_string().repeat(n)),
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        text().prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(str::to_string),
        1 => text(),
    ];
    json_leaf().prop_recursive(4, 32, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A real-looking answer with one to three members replaced.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(&[DESCRIBE_JOBS, LIST_JOBS, SUBMITTED, ERROR, EMPTY][..]),
        prop::collection::vec((any::<prop::sample::Index>(), json_value()), 1..4),
    )
        .prop_map(|(template, replacements)| {
            let doc = json_mutation::replaced(template, replacements);
            serde_json::to_vec(&doc).expect("a Value serializes")
        })
}

/// One answer: status, error type, body.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    error_type: &'static str,
    body: Vec<u8>,
}

fn answer(body: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Answer> {
    (
        prop::sample::select(&[200u16, 200, 200, 400, 403, 404, 429, 500, 503][..]),
        prop::sample::select(ERROR_TYPES),
        body,
    )
        .prop_map(|(status, error_type, body)| Answer {
            status,
            error_type,
            body,
        })
}

type Shared = Arc<Mutex<Answer>>;

/// A loopback server answering every request with the shared answer.
async fn mock(shared: Shared) -> String {
    let app = axum::Router::new().fallback(move || {
        let a = shared.lock().unwrap_or_else(|p| p.into_inner()).clone();
        async move {
            let mut r = Response::new(axum::body::Body::from(a.body));
            *r.status_mut() = StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK);
            let h = r.headers_mut();
            h.insert("content-type", HeaderValue::from_static("application/json"));
            h.insert("x-amzn-requestid", HeaderValue::from_static("req-1"));
            if !a.error_type.is_empty() {
                h.insert(
                    HeaderName::from_static("x-amzn-errortype"),
                    HeaderValue::from_static(a.error_type),
                );
            }
            r
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn shown<T: std::fmt::Debug>(r: polybatch::Result<T>) {
    match r {
        Ok(v) => drop(format!("{v:?}")),
        Err(e) => drop(format!("{e} {e:?}")),
    }
}

/// Every read and mutation the answers feed.
async fn every_operation(b: &AwsBatchBackend) {
    let job = JobId::new(JOB).expect("an id");
    shown(b.job_status(&job, StatusOptions::default()).await);
    let two = [job.clone(), JobId::new("b").expect("an id")];
    match b.job_statuses(&two, JobStatusesOptions::default()).await {
        Ok(all) => all.into_iter().for_each(|(_, r)| shown(r)),
        Err(e) => drop(format!("{e} {e:?}")),
    }
    for r in b
        .list_jobs(ListJobsOptions::default())
        .take(20)
        .collect::<Vec<_>>()
        .await
    {
        shown(r);
    }
    for r in b
        .list_tasks(&job, ListTasksOptions::default())
        .take(20)
        .collect::<Vec<_>>()
        .await
    {
        shown(r);
    }
    let task = TaskId::new("1").expect("an id");
    shown(b.task_status(&job, &task, StatusOptions::default()).await);
    let spec = JobSpec::new(
        "render",
        Placement::AwsJobQueue {
            job_queue: "q".into(),
            job_definition: "d:1".into(),
        },
        vec![TaskSpec::shell(TaskId::new("work").expect("an id"), "true")],
    );
    shown(b.submit_job(spec, SubmitJobOptions::default()).await);
    shown(b.terminate_job(&job, TerminateJobOptions::default()).await);
}

fn setup() -> (tokio::runtime::Runtime, Shared, AwsBatchBackend) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let shared: Shared = Arc::new(Mutex::new(Answer {
        status: 200,
        error_type: "",
        body: Vec::new(),
    }));
    let url = rt.block_on(mock(shared.clone()));
    let backend = rt
        .block_on(
            AwsBatchBuilder::new()
                .with_region("us-east-1")
                .with_endpoint_url(&url)
                .with_credentials("AKIDTEST", "SECRET-never-shown", None)
                .with_max_attempts(1)
                .build(),
        )
        .expect("a backend");
    (rt, shared, backend)
}

fn run(strategy: impl Strategy<Value = Answer>) {
    let (rt, shared, backend) = setup();
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        // Each shrinking step of a hang costs CASE_DEADLINE: bound it, so a hang is
        // reported in minutes (a CI run once spent 13 of them shrinking one).
        max_shrink_time: SHRINK_BUDGET_MS,
        ..Config::default()
    });
    runner
        .run(&strategy, |a| {
            *shared.lock().unwrap_or_else(|p| p.into_inner()) = a;
            rt.block_on(async {
                tokio::time::timeout(CASE_DEADLINE, every_operation(&backend)).await
            })
            .map_err(|_| TestCaseError::fail("the calls hung"))
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn arbitrary_bytes_never_panic() {
    run(answer(prop::collection::vec(any::<u8>(), 0..512)));
}

#[test]
fn arbitrary_json_never_panics() {
    run(answer(json_value().prop_map(|v| {
        serde_json::to_vec(&v).expect("a Value serializes")
    })));
}

#[test]
fn real_answers_with_wrong_members_never_panic() {
    run(answer(mutated()));
}

/// The mock is really read: a well-formed answer gives the job, so the cases above exercise
/// the parsers rather than failing before them.
#[test]
fn a_real_answer_is_read() {
    let (rt, shared, backend) = setup();
    *shared.lock().unwrap_or_else(|p| p.into_inner()) = Answer {
        status: 200,
        error_type: "",
        body: DESCRIBE_JOBS.as_bytes().to_vec(),
    };
    let job = JobId::new(JOB).expect("an id");
    let status = rt
        .block_on(backend.job_status(&job, StatusOptions::default()))
        .expect("the job");
    assert_eq!(status.job_id, job);
}
