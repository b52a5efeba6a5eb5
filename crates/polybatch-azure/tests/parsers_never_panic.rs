//! Resilience: no response parser of the Azure client panics, whatever the service answers.
//!
//! The parsers (`model.rs` wire types, `BatchError::parse` and the error mapping, OData list
//! pages and `odata.nextLink` resolution, the `TaskAddCollectionResult` of task submission,
//! `convert.rs`, the Entra ID token response of `credential.rs`, the response headers `etag`,
//! `last-modified`, `request-id` and the retry hints) are private: they are driven here through
//! the public backend, against a loopback mock that answers every request with one generated
//! response. Bodies are (a) arbitrary bytes, (b) arbitrary JSON values, (c) real-looking
//! documents with fields replaced by values of the wrong type (or extreme ones). Every call
//! must return `Ok` or `Err` (whose `Display` and `Debug` must not panic either), never panic
//! and never hang.

#[path = "../../../tests/shared/json_mutation.rs"]
mod json_mutation;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use futures::StreamExt;
use polybatch::retry::RetryPolicy;
use polybatch::{
    BatchBackend, DeleteJobOptions, ExportJobOptions, JobId, JobSpec, JobStatusesOptions,
    ListJobsOptions, ListPrepReleaseOptions, ListTasksOptions, Placement, ReactivateTaskOptions,
    RetryFailedTasksOptions, StatusOptions, SubmitJobOptions, TaskId, TaskOutputOptions, TaskSpec,
    TerminateJobOptions, TerminateTaskOptions,
};
use polybatch_azure::{AddJobRequest, AddTaskRequest, AzureBatchBackend, AzureBatchBuilder};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value};

const KEY: &str =
    "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZg==";
const CASES: u32 = 256;
/// A generous bound for one case's calls; a case that takes longer hangs.
const CASE_DEADLINE: Duration = Duration::from_secs(20);
/// How long a failure may be shrunk, in milliseconds.
const SHRINK_BUDGET_MS: u32 = 60_000;

// ----- real-looking documents -----

const CLOUD_JOB: &str = r#"{"odata.metadata":"https://a.b.batch.azure.com/$metadata#jobs/@Element","id":"job-1","displayName":"render","url":"https://a.b.batch.azure.com/jobs/job-1","eTag":"0x8D4E5D2D2C9E3F1","lastModified":"2024-01-01T00:00:00.123Z","creationTime":"2024-01-01T00:00:00Z","state":"completed","stateTransitionTime":"2024-01-01T00:10:00Z","previousState":"terminating","previousStateTransitionTime":"2024-01-01T00:09:00Z","priority":0,"constraints":{"maxWallClockTime":"P10675199DT2H48M5.4775807S","maxTaskRetryCount":0},"poolInfo":{"poolId":"pool-1"},"onAllTasksComplete":"terminatejob","onTaskFailure":"noaction","metadata":[{"name":"polybatch.label.team","value":"x"},{"name":"polybatch.idempotency","value":"k-1"}],"executionInfo":{"startTime":"2024-01-01T00:00:01Z","endTime":"2024-01-01T00:10:00Z","poolId":"pool-1","terminateReason":"AllTasksComplete","schedulingError":{"category":"usererror","code":"JobPreparationTaskFailed","message":"exit 1","details":[{"name":"Message","value":"m"}]}}}"#;

const CLOUD_TASK: &str = r#"{"id":"task-1","url":"https://a.b.batch.azure.com/jobs/job-1/tasks/task-1","eTag":"0xBODY","lastModified":"2024-01-01T00:00:00Z","creationTime":"2024-01-01T00:00:00Z","state":"completed","stateTransitionTime":"2024-01-01T00:01:00Z","previousState":"running","commandLine":"/bin/sh -c 'exit 3'","constraints":{"maxWallClockTime":"PT1H","retentionTime":"P7D","maxTaskRetryCount":2},"multiInstanceSettings":{"numberOfInstances":3},"executionInfo":{"startTime":"2024-01-01T00:00:00Z","endTime":"2024-01-01T00:01:00Z","exitCode":3,"result":"failure","retryCount":0,"requeueCount":0,"failureInfo":{"category":"usererror","code":"FailureExitCode","message":"exit 3","details":[{"name":"k","value":"v"}]}}}"#;

const BATCH_ERROR: &str = r#"{"odata.metadata":"https://a.b.batch.azure.com/$metadata#Microsoft.Azure.Batch.Protocol.Entities.Container.errors/@Element","code":"JobNotFound","message":{"lang":"en-US","value":"The specified job does not exist.\nRequestId:5f0bc4b2-0b3a-4d0b-8a4e-9f3f0ac4b1a2\nTime:2024-01-01T00:00:00.0000000Z"},"values":[{"key":"Reason","value":"x"},{"key":"HeaderName","value":"ocp-date"},{"key":"AuthenticationErrorDetail","value":"d"}]}"#;

const TASK_ADD_RESULT: &str = r#"{"value":[{"status":"success","taskId":"t-0","eTag":"0x1","lastModified":"2024-01-01T00:00:00Z","location":"https://a.b.batch.azure.com/jobs/job-1/tasks/t-0"},{"status":"clienterror","taskId":"t-1","error":{"code":"TaskExists","message":{"lang":"en-US","value":"The specified task already exists."}}},{"status":"servererror","taskId":"t-2","error":{"code":"ServerBusy","message":"busy"}}]}"#;

const TOKEN: &str = r#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e30.sig"}"#;

const TOKEN_ERROR: &str = r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1\r\nCorrelation ID: 2","error_codes":[7000215],"timestamp":"2024-01-01 00:00:00Z"}"#;

fn prep_item(node: &str) -> String {
    format!(
        r#"{{"poolId":"pool-1","nodeId":"{node}","nodeUrl":"https://a.b.batch.azure.com/pools/pool-1/nodes/{node}","jobPreparationTaskExecutionInfo":{{"state":"completed","startTime":"2015-05-01T10:20:31Z","endTime":"2015-05-02T20:12:42Z","taskRootDirectory":"tasks/job-1/jobpreparation","exitCode":0,"retryCount":0,"result":"success"}},"jobReleaseTaskExecutionInfo":{{"state":"running","startTime":"2015-05-01T10:20:31Z","exitCode":-1,"failureInfo":{{"category":"servererror","code":"c","message":"m"}},"result":"failure"}}}}"#
    )
}

/// Every document the tests start mutations from.
fn templates() -> Vec<String> {
    let page = |items: &[&str], next: &str| {
        format!(
            r#"{{"odata.metadata":"https://a.b.batch.azure.com/$metadata#x","value":[{}],"odata.nextLink":"{next}"}}"#,
            items.join(",")
        )
    };
    let p1 = prep_item("tvm-1");
    let p2 = prep_item("tvm-2");
    vec![
        CLOUD_JOB.to_string(),
        CLOUD_TASK.to_string(),
        BATCH_ERROR.to_string(),
        TASK_ADD_RESULT.to_string(),
        TOKEN.to_string(),
        TOKEN_ERROR.to_string(),
        page(
            &[CLOUD_JOB, CLOUD_JOB],
            "/jobs?api-version=2024-07-01.20.0&$skiptoken=2",
        ),
        page(
            &[CLOUD_TASK, CLOUD_TASK],
            "/jobs/job-1/tasks?$skiptoken=t%2B2",
        ),
        page(
            &[&p1, &p2],
            "/jobs/job-1/jobpreparationandreleasetaskstatus?$skiptoken=tvm-2",
        ),
        page(&[CLOUD_TASK], "https://evil.example.com/jobs/job-1/tasks"),
        format!(r#"{{"value":[{CLOUD_TASK}]}}"#),
    ]
}

// ----- strategies -----

/// Field names the wire types read, to put generated values where the parsers look.
const KEYS: &[&str] = &[
    "id",
    "displayName",
    "url",
    "eTag",
    "lastModified",
    "creationTime",
    "state",
    "stateTransitionTime",
    "previousState",
    "constraints",
    "maxWallClockTime",
    "retentionTime",
    "maxTaskRetryCount",
    "poolInfo",
    "poolId",
    "onAllTasksComplete",
    "executionInfo",
    "startTime",
    "endTime",
    "exitCode",
    "result",
    "retryCount",
    "requeueCount",
    "failureInfo",
    "schedulingError",
    "terminateReason",
    "category",
    "code",
    "message",
    "details",
    "name",
    "value",
    "values",
    "key",
    "lang",
    "metadata",
    "commandLine",
    "multiInstanceSettings",
    "numberOfInstances",
    "nodeId",
    "nodeUrl",
    "jobPreparationTaskExecutionInfo",
    "jobReleaseTaskExecutionInfo",
    "status",
    "taskId",
    "error",
    "odata.nextLink",
    "odata.metadata",
    "access_token",
    "expires_in",
    "error_description",
];

/// Strings that mean something to a parser: states, codes, extreme and malformed dates and
/// durations, links on and off the endpoint.
const STRINGS: &[&str] = &[
    "",
    "active",
    "completed",
    "terminating",
    "running",
    "preparing",
    "failure",
    "success",
    "noaction",
    "terminatejob",
    "JobNotFound",
    "JobCompleted",
    "JobBeingTerminated",
    "TaskCompleted",
    "TaskSucceeded",
    "TaskExists",
    "AuthenticationFailed",
    "ServerBusy",
    "OperationTimedOut",
    "InvalidHeaderValue",
    "2024-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59.9999999Z",
    "+262142-12-31T23:59:59Z",
    "-262143-01-01T00:00:00Z",
    "2024-02-30T25:61:61Z",
    "P10675199DT2H48M5.4775807S",
    "PT-1S",
    "18446744073709551615",
    "-9223372036854775808",
    "/jobs?$skiptoken=x",
    "//evil.example.com/x",
    "https://evil.example.com/jobs",
    "http://[::1]:0/x",
    ":::",
    "polybatch.label.",
    "polybatch.idempotency",
    "\u{0}",
    "\r\n",
    "RequestId:x\nTime:y",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        4 => "[ -~]{0,32}",
        3 => prop::sample::select(STRINGS).prop_map(str::to_string),
        1 => "[\\x00-\\x1f\\x7f]{0,8}",
        1 => (0usize..20_000, any::<char>()).prop_map(|(n, c)| c.to_string().repeat(n)),
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop::sample::select(
            &[
                0i64,
                -1,
                1,
                i32::MAX as i64,
                i32::MIN as i64,
                i64::MAX,
                i64::MIN,
                u32::MAX as i64
            ][..]
        )
        .prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        text().prop_map(Value::String),
    ]
}

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(str::to_string),
        1 => text(),
    ]
}

/// Any JSON value, nested a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((json_key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A template with one to four of its values (fields, items, or the whole) replaced.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let templates = templates();
    (
        prop::sample::select(templates),
        prop::collection::vec((any::<prop::sample::Index>(), json_value()), 1..4),
    )
        .prop_map(|(template, replacements)| {
            let doc = json_mutation::replaced(&template, replacements);
            serde_json::to_vec(&doc).expect("a Value serializes")
        })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..256),
        2 => json_value().prop_map(|v| serde_json::to_vec(&v).expect("a Value serializes")),
        5 => mutated(),
        1 => prop::sample::select(templates()).prop_map(String::into_bytes),
        1 => mutated().prop_map(|mut b| { let n = b.len() / 2; b.truncate(n); b }),
    ]
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => prop::sample::select(
            &[200u16, 201, 202, 204, 304, 400, 401, 403, 404, 409, 412, 429, 500, 503][..]
        ),
        1 => 200u16..600,
    ]
}

const RESPONSE_HEADERS: &[&str] = &[
    "etag",
    "last-modified",
    "request-id",
    "retry-after",
    "retry-after-ms",
    "x-ms-retry-after-ms",
    "content-type",
    "client-request-id",
    "dataserviceid",
    "www-authenticate",
];

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        prop::sample::select(
            &[
                "0",
                "-1",
                "18446744073709551615",
                "99999999999999999999",
                "1.5",
                "Fri, 17 Feb 2017 00:00:00 GMT",
                "Fri, 31 Dec 9999 23:59:59 GMT",
                "Thu, 01 Jan 1970 00:00:00 GMT",
                "application/json;odata=minimalmetadata",
            ][..]
        )
        .prop_map(str::to_string),
    ]
}

fn response_headers() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(
        (
            prop::sample::select(RESPONSE_HEADERS).prop_map(str::to_string),
            header_value(),
        ),
        0..5,
    )
}

/// One generated response.
#[derive(Debug, Clone, Default)]
struct Canned {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn canned() -> impl Strategy<Value = Canned> {
    (status(), response_headers(), body()).prop_map(|(status, headers, body)| Canned {
        status,
        headers,
        body,
    })
}

// ----- the mock -----

#[derive(Default)]
struct MockState {
    /// What every Batch request gets.
    batch: Mutex<Canned>,
    /// What every token request gets.
    token: Mutex<Canned>,
}

fn reply(c: &Canned) -> Response {
    let mut resp = Response::new(Body::from(c.body.clone()));
    *resp.status_mut() = StatusCode::from_u16(c.status).unwrap_or(StatusCode::OK);
    for (name, value) in &c.headers {
        // Values a server cannot send are left out (only legal responses are tested).
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            resp.headers_mut().append(n, v);
        }
    }
    resp
}

struct Harness {
    rt: tokio::runtime::Runtime,
    state: Arc<MockState>,
    base: String,
}

impl Harness {
    fn start() -> Harness {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let state = Arc::new(MockState::default());
        let s2 = state.clone();
        let app = axum::Router::new().fallback(move |req: Request| {
            let state = s2.clone();
            async move {
                let token = req.uri().path().ends_with("/oauth2/v2.0/token");
                let _ = axum::body::to_bytes(req.into_body(), 1 << 20).await;
                let canned = if token {
                    state.token.lock().unwrap().clone()
                } else {
                    state.batch.lock().unwrap().clone()
                };
                reply(&canned)
            }
        });
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a loopback port");
        let addr = listener.local_addr().expect("an address");
        rt.spawn(async move {
            axum::serve(listener, app).await.expect("the mock serves");
        });
        Harness {
            rt,
            state,
            base: format!("http://{addr}"),
        }
    }

    fn shared_key_backend(&self) -> AzureBatchBackend {
        AzureBatchBuilder::new()
            .with_endpoint(&self.base)
            .with_account("myaccount")
            .with_shared_key(KEY)
            .with_retry_policy(RetryPolicy::none())
            .with_adaptive_rate_limits(false)
            .with_timeout(Duration::from_secs(5))
            .build()
            .expect("a backend")
    }

    fn entra_backend(&self) -> AzureBatchBackend {
        AzureBatchBuilder::new()
            .with_endpoint(&self.base)
            .with_client_credentials("tenant-1", "client-1", "s3cret-value")
            .with_authority_host(&self.base)
            .with_retry_policy(RetryPolicy::none())
            .with_adaptive_rate_limits(false)
            .with_timeout(Duration::from_secs(5))
            .build()
            .expect("a backend")
    }

    /// Runs `cases` generated cases of `strategy`, each set up by `set` and exercised by `run`.
    fn check<S, F, Fut>(&self, strategy: S, set: impl Fn(&MockState, &S::Value), run: F)
    where
        S: Strategy,
        S::Value: Clone,
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let mut runner = TestRunner::new(Config {
            cases: CASES,
            failure_persistence: None,
            // Each shrinking step of a hang costs CASE_DEADLINE: bound it, so a hang is
            // reported in minutes (a CI run once spent 13 of them shrinking one).
            max_shrink_time: SHRINK_BUDGET_MS,
            ..Config::default()
        });
        runner
            .run(&strategy, |input| {
                set(&self.state, &input);
                self.rt
                    .block_on(async { tokio::time::timeout(CASE_DEADLINE, run()).await })
                    .map_err(|_| TestCaseError::fail("the calls did not finish (a hang)"))
            })
            .unwrap();
    }
}

/// Shows an outcome the way a caller would, so that formatting is exercised too.
fn show<T: std::fmt::Debug>(r: polybatch::Result<T>) {
    match r {
        Ok(v) => {
            let _ = format!("{v:?}");
        }
        Err(e) => {
            let _ = format!("{e} {e:?} {:?} {:?}", e.code(), e.kind());
        }
    }
}

/// Drains a listing (bounded: a page that links to itself ends it with an error).
async fn drain<T: std::fmt::Debug>(s: futures::stream::BoxStream<'static, polybatch::Result<T>>) {
    let items: Vec<_> = s.take(1_000).collect().await;
    for r in items {
        show(r);
    }
}

fn ids() -> (JobId, TaskId) {
    (
        JobId::new("job-1").expect("a job id"),
        TaskId::new("task-1").expect("a task id"),
    )
}

fn set_batch(state: &MockState, c: &Canned) {
    *state.batch.lock().unwrap() = c.clone();
}

// ----- the tests -----

/// Job_Get and Task_Get: `CloudJob`, `CloudTask`, `convert.rs`, `BatchError` on failure,
/// `etag`/`last-modified`/`request-id` and the retry hints.
#[test]
fn status_reads_never_panic() {
    let h = Harness::start();
    let b = h.shared_key_backend();
    let (job, task) = ids();
    h.check(canned(), set_batch, || async {
        show(b.job_status(&job, StatusOptions::default()).await);
        show(b.task_status(&job, &task, StatusOptions::default()).await);
        show(
            b.job_statuses(std::slice::from_ref(&job), JobStatusesOptions::default())
                .await,
        );
    });
}

/// Job_List, Task_List and the preparation/release status listing: `ListPage<T>`, the
/// `odata.nextLink` rules, the per-item conversions and invalid listed ids.
#[test]
fn listings_never_panic() {
    let h = Harness::start();
    let b = h.shared_key_backend();
    let (job, _) = ids();
    h.check(canned(), set_batch, || async {
        drain(b.list_jobs(ListJobsOptions::default())).await;
        drain(b.list_tasks(&job, ListTasksOptions::default())).await;
        drain(b.list_prep_release_status(&job, ListPrepReleaseOptions::default())).await;
        drain(b.list_tasks_filtered(&job, Some("state eq 'completed'".to_string()))).await;
    });
}

/// Terminate, reactivate, retry-failed-tasks (a listing, then reactivations), delete and
/// terminate-task: the empty and `BatchError` bodies of writes and their 409 special cases.
#[test]
fn writes_never_panic() {
    let h = Harness::start();
    let b = h.shared_key_backend();
    let (job, task) = ids();
    h.check(canned(), set_batch, || async {
        show(
            b.terminate_job(&job, TerminateJobOptions::default().with_reason("r"))
                .await,
        );
        show(
            b.reactivate_task(&job, &task, ReactivateTaskOptions::default())
                .await,
        );
        show(
            b.terminate_task(&job, &task, TerminateTaskOptions::default())
                .await,
        );
        show(
            b.retry_failed_tasks(&job, RetryFailedTasksOptions::default())
                .await,
        );
        show(b.delete_job(&job, DeleteJobOptions::default()).await);
    });
}

/// Submission (Job_Add, the job read-back, TaskCollection_Add's `TaskAddCollectionResult`),
/// export (the job and its tasks as raw JSON), task output and the Azure-only adds.
#[test]
fn submission_export_and_output_never_panic() {
    let h = Harness::start();
    let b = h.shared_key_backend();
    let (job, task) = ids();
    let spec = JobSpec::new(
        "render",
        Placement::AzurePool {
            pool_id: "pool-1".into(),
        },
        vec![
            TaskSpec::shell(TaskId::new("t-0").expect("an id"), "true"),
            TaskSpec::shell(TaskId::new("t-1").expect("an id"), "exit 1"),
            TaskSpec::shell(TaskId::new("t-2").expect("an id"), "exit 2"),
        ],
    );
    h.check(canned(), set_batch, || async {
        show(
            b.submit_job(spec.clone(), SubmitJobOptions::default())
                .await,
        );
        show(b.export_job(&job, ExportJobOptions::default()).await);
        show(
            b.task_output(&job, &task, TaskOutputOptions::default().with_range(0..10))
                .await,
        );
        show(
            b.task_output(&job, &task, TaskOutputOptions::default())
                .await,
        );
        show(b.add_job(AddJobRequest::new(job.clone(), "pool-1")).await);
        show(
            b.add_task(&job, AddTaskRequest::new(task.clone(), "echo hi"))
                .await,
        );
    });
}

/// The Entra ID client-credentials token response (`credential.rs`): success and error bodies
/// of any shape, `expires_in` of any type and size. The Batch request behind it gets a plain
/// 404, so that a token that parses is used once.
#[test]
fn token_responses_never_panic() {
    let h = Harness::start();
    let (job, _) = ids();
    let not_found = Canned {
        status: 404,
        headers: vec![],
        body: BATCH_ERROR.as_bytes().to_vec(),
    };
    let token_body = prop_oneof![
        1 => body(),
        2 => (
            prop_oneof![json_value(), text().prop_map(Value::String), number()],
            prop::option::of(json_value()),
        )
            .prop_map(|(expires_in, access_token)| {
                let mut doc: Value = serde_json::from_str(TOKEN).expect("JSON");
                doc["expires_in"] = expires_in;
                if let Some(t) = access_token {
                    doc["access_token"] = t;
                }
                serde_json::to_vec(&doc).expect("a Value serializes")
            }),
    ];
    let strategy =
        (status(), response_headers(), token_body).prop_map(|(status, headers, body)| Canned {
            status,
            headers,
            body,
        });
    h.check(
        strategy,
        |state, c| {
            *state.token.lock().unwrap() = c.clone();
            *state.batch.lock().unwrap() = not_found.clone();
        },
        || async {
            // A fresh backend each case: the token cache must be empty.
            let b = h.entra_backend();
            show(b.job_status(&job, StatusOptions::default()).await);
        },
    );
}
