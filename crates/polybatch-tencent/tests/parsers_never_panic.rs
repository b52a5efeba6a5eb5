//! Resilience: no response parser of the Tencent client panics, whatever the service answers.
//!
//! The envelope parser (`{"Response": {...}}`, with and without `Error`, `client.rs`), the
//! error-code mapping (`error.rs`), the job, job-list, task, task-log and submit-info views
//! (`convert.rs`, `extras.rs`, `lifecycle.rs`) and the temporary-credential answers of the CVM
//! metadata service and of STS (`credential.rs`) are private: they are driven here through the
//! public backend, against a loopback mock that answers with one generated response. The
//! public pieces (`model` types, `job_state`, `task_state`, `parse_time`, and
//! `polybatch::translate::tencent::export`) are also called directly. Bodies are (a) arbitrary
//! bytes, (b) arbitrary JSON values, (c) real-looking documents with fields replaced by values
//! of the wrong type (or extreme ones). Every call must return `Ok` or `Err` (whose `Display`
//! and `Debug` must not panic either), never panic and never hang.

#[path = "../../../tests/shared/json_mutation.rs"]
mod json_mutation;

use std::io::Write;
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
    ListJobsOptions, ListTasksOptions, Placement, ReactivateTaskOptions, RetryFailedTasksOptions,
    StatusOptions, SubmitJobOptions, TaskId, TaskOutputOptions, TaskSpec, TerminateJobOptions,
    TerminateTaskOptions,
};
use polybatch_tencent::model::{
    DescribeJobResponse, DescribeJobsResponse, DescribeTaskResponse, EmptyResponse, JobView,
    Metrics, SubmitJobResponse, TaskInstanceView,
};
use polybatch_tencent::{
    ComputeEnvironment, DescribeJobsOptions, Endpoint, SubmitJobRequest, TaskRequest,
    TemporaryCredential, TencentBatchBackend, TencentBatchBuilder,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value};

const ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
const KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
const JOB: &str = "job-abcd1234";
const CASES: u32 = 256;
/// A generous bound for one case's calls; a case that takes longer hangs.
const CASE_DEADLINE: Duration = Duration::from_secs(20);
/// How long a failure may be shrunk, in milliseconds.
const SHRINK_BUDGET_MS: u32 = 60_000;
/// Listings are drained up to this many items (a server may claim any `TotalCount`).
const MAX_ITEMS: usize = 50;

// ----- real-looking documents -----

const METRICS: &str = r#"{"SubmittedCount":0,"PendingCount":0,"RunnableCount":1,"StartingCount":0,"RunningCount":1,"SucceedCount":2,"FailedInterruptedCount":0,"FailedCount":1}"#;

fn describe_job() -> String {
    format!(
        r#"{{"Response":{{"JobId":"{JOB}","JobName":"render","Zone":"ap-guangzhou-3","Priority":10,"JobState":"FAILED","CreateTime":"2018-02-07T09:29:09Z","EndTime":"2018-02-07T09:30:31Z","TaskSet":[{{"TaskName":"A","TaskState":"FAILED","CreateTime":"2018-02-07T09:29:09Z","EndTime":"2018-02-07T09:30:31Z"}},{{"TaskName":"B","TaskState":"SUCCEED"}}],"DependenceSet":[{{"StartTask":"A","EndTask":"B"}}],"TaskMetrics":{METRICS},"TaskInstanceMetrics":{METRICS},"StateReason":"task A failed","NextAction":"","Tags":[{{"Key":"polybatch.idempotency","Value":"k-1"}},{{"Key":"team","Value":"x"}}],"RequestId":"rid-describe"}}}}"#
    )
}

fn describe_jobs() -> String {
    format!(
        r#"{{"Response":{{"JobSet":[{{"JobId":"{JOB}","JobName":"a","JobState":"RUNNING","Priority":0,"Placement":{{"Zone":"ap-guangzhou-3","ProjectId":0}},"CreateTime":"2018-02-07T09:29:09Z","EndTime":"","TaskMetrics":{METRICS},"Tags":[]}},{{"JobId":"job-00000001","JobState":"SUCCEED"}}],"TotalCount":5,"RequestId":"rid-list"}}}}"#
    )
}

fn describe_task() -> String {
    format!(
        r#"{{"Response":{{"JobId":"{JOB}","TaskName":"A","TaskState":"FAILED","CreateTime":"2018-02-07T09:29:09Z","EndTime":"2018-02-07T09:30:31Z","TaskInstanceTotalCount":3,"TaskInstanceMetrics":{METRICS},"TaskInstanceSet":[{{"TaskInstanceIndex":0,"TaskInstanceState":"SUCCEED","ExitCode":0,"CreateTime":"2018-02-07T09:29:09Z","LaunchTime":"2018-02-07T09:29:10Z","RunningTime":"2018-02-07T09:29:11Z","EndTime":"2018-02-07T09:30:31Z","ComputeNodeInstanceId":"ins-1"}},{{"TaskInstanceIndex":1,"TaskInstanceState":"FAILED","ExitCode":137,"StateReason":"killed","StateDetailedReason":"oom"}}],"RequestId":"rid-task"}}}}"#
    )
}

const TASK_LOGS: &str = r#"{"Response":{"TotalCount":1,"TaskInstanceLogSet":[{"TaskInstanceIndex":0,"StdoutLog":"data:text/plain;base64,aGVsbG8K","StderrLog":"","StdoutRedirectPath":"cos://bucket/out/","StdoutRedirectFileName":"stdout.log","StderrRedirectPath":"","StderrRedirectFileName":""}],"RequestId":"rid-logs"}}"#;

fn submit_info() -> String {
    format!(
        r#"{{"Response":{{"JobId":"{JOB}","JobName":"render","JobDescription":"d","Priority":3,"Zone":"ap-guangzhou-3","JobState":"RUNNING","Tasks":[{{"TaskName":"A","TaskInstanceNum":2,"Application":{{"Command":"echo a","DeliveryForm":"LOCAL","Docker":{{"Image":"ubuntu"}}}},"ComputeEnv":{{"EnvType":"MANAGED","EnvData":{{"InstanceType":"S5.MEDIUM2","ImageId":"img-1"}}}},"EnvVars":[{{"Name":"A","Value":"1"}}],"MaxRetryCount":2,"Timeout":3600,"RedirectInfo":{{}}}},{{"TaskName":"B","EnvId":"env-1","Application":{{"Command":"true"}}}}],"Dependences":[{{"StartTask":"A","EndTask":"B"}}],"Tags":[{{"Key":"k","Value":"v"}}],"RequestId":"rid-info"}}}}"#
    )
}

fn submitted() -> String {
    format!(r#"{{"Response":{{"JobId":"{JOB}","RequestId":"rid-submit"}}}}"#)
}

const EMPTY: &str = r#"{"Response":{"RequestId":"rid-empty"}}"#;

const API_ERROR: &str = r#"{"Response":{"Error":{"Code":"ResourceNotFound.Job","Message":"The job does not exist."},"RequestId":"rid-err"}}"#;

const METADATA_KEYS: &str = r#"{"TmpSecretId":"AKIDtmpEXAMPLE","TmpSecretKey":"tmpKeyEXAMPLE","ExpiredTime":4102444800,"Expiration":"2100-01-01T00:00:00Z","Token":"tmp-token","Code":"Success"}"#;

const STS_KEYS: &str = r#"{"Response":{"Credentials":{"Token":"tmp-token","TmpSecretId":"AKIDtmpEXAMPLE","TmpSecretKey":"tmpKeyEXAMPLE"},"ExpiredTime":4102444800,"Expiration":"2100-01-01T00:00:00Z","RequestId":"rid-sts"}}"#;

const STS_ERROR: &str = r#"{"Response":{"Error":{"Code":"InvalidParameter.WebIdentityTokenError","Message":"bad token"},"RequestId":"rid-sts"}}"#;

/// Every document the tests start mutations from.
fn templates() -> Vec<String> {
    vec![
        describe_job(),
        describe_jobs(),
        describe_task(),
        TASK_LOGS.to_string(),
        submit_info(),
        submitted(),
        EMPTY.to_string(),
        API_ERROR.to_string(),
        METADATA_KEYS.to_string(),
        STS_KEYS.to_string(),
        STS_ERROR.to_string(),
    ]
}

// ----- strategies -----

/// Field names the views read, to put generated values where the parsers look.
const KEYS: &[&str] = &[
    "Response",
    "Error",
    "Code",
    "Message",
    "RequestId",
    "JobId",
    "JobName",
    "JobState",
    "Zone",
    "Priority",
    "CreateTime",
    "EndTime",
    "TaskSet",
    "TaskName",
    "TaskState",
    "DependenceSet",
    "StartTask",
    "EndTask",
    "TaskMetrics",
    "TaskInstanceMetrics",
    "FailedCount",
    "RunningCount",
    "StateReason",
    "NextAction",
    "Tags",
    "Key",
    "Value",
    "JobSet",
    "TotalCount",
    "Placement",
    "TaskInstanceTotalCount",
    "TaskInstanceSet",
    "TaskInstanceIndex",
    "TaskInstanceState",
    "ExitCode",
    "TaskInstanceLogSet",
    "StdoutLog",
    "StderrLog",
    "StdoutRedirectPath",
    "Tasks",
    "Application",
    "Command",
    "EnvId",
    "ComputeEnv",
    "EnvData",
    "EnvVars",
    "TaskInstanceNum",
    "MaxRetryCount",
    "Timeout",
    "Dependences",
    "TmpSecretId",
    "TmpSecretKey",
    "Token",
    "ExpiredTime",
    "Credentials",
];

/// Strings that mean something to a parser: states, codes, extreme and malformed times,
/// base64 and data URIs.
const STRINGS: &[&str] = &[
    "",
    "SUBMITTED",
    "PENDING",
    "RUNNABLE",
    "STARTING",
    "RUNNING",
    "SUCCEED",
    "FAILED",
    "FAILED_INTERRUPTED",
    "TERMINATING",
    "Success",
    "ResourceNotFound.Job",
    "ResourceNotFound.TaskInstance",
    "UnsupportedOperation.TerminateOperationWithEnvId",
    "RequestLimitExceeded",
    "InternalError",
    "AuthFailure.SignatureFailure",
    "InvalidParameter",
    "2018-02-07T09:29:09Z",
    "2018-02-07 09:29:09",
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "+262142-12-31T23:59:59Z",
    "-262143-01-01T00:00:00+08:00",
    "2018-02-30T25:61:61Z",
    "18446744073709551615",
    "-9223372036854775808",
    "data:text/plain;base64,",
    ";base64,",
    "aGVsbG8K",
    "====",
    "job-abcd1234",
    "job-",
    "polybatch.idempotency",
    "\u{0}",
    "\r\n",
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
                2048,
                i32::MAX as i64,
                i32::MIN as i64,
                i64::MAX,
                i64::MIN,
                u32::MAX as i64
            ][..]
        )
        .prop_map(Value::from),
        Just(Value::from(u64::MAX)),
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
fn mutated_value() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(templates()),
        prop::collection::vec((any::<prop::sample::Index>(), json_value()), 1..4),
    )
        .prop_map(|(template, replacements)| json_mutation::replaced(&template, replacements))
}

fn to_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("a Value serializes")
}

/// An envelope around any value, with or without an `Error` of any shape.
fn envelope() -> impl Strategy<Value = Value> {
    (
        json_value(),
        prop::option::of(json_value()),
        prop::option::of(json_value()),
    )
        .prop_map(|(inner, error, request_id)| {
            let mut response = match inner {
                Value::Object(m) => m,
                other => Map::from_iter([("Value".to_string(), other)]),
            };
            if let Some(e) = error {
                response.insert("Error".into(), e);
            }
            if let Some(r) = request_id {
                response.insert("RequestId".into(), r);
            }
            serde_json::json!({ "Response": response })
        })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..256),
        2 => json_value().prop_map(|v| to_bytes(&v)),
        2 => envelope().prop_map(|v| to_bytes(&v)),
        5 => mutated_value().prop_map(|v| to_bytes(&v)),
        1 => prop::sample::select(templates()).prop_map(String::into_bytes),
        1 => mutated_value().prop_map(|v| { let mut b = to_bytes(&v); let n = b.len() / 2; b.truncate(n); b }),
    ]
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        4 => Just(200u16),
        2 => prop::sample::select(&[400u16, 401, 403, 404, 429, 500, 502, 503, 504][..]),
        1 => 200u16..600,
    ]
}

fn response_headers() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(
        (
            prop::sample::select(
                &[
                    "x-tc-requestid",
                    "retry-after",
                    "content-type",
                    "x-tc-traceid",
                ][..],
            )
            .prop_map(str::to_string),
            text(),
        ),
        0..3,
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
    /// What every metadata-service or STS request gets.
    credentials: Mutex<Canned>,
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
                let credentials = req.uri().path().starts_with("/latest/")
                    || req
                        .headers()
                        .get("x-tc-action")
                        .is_some_and(|a| a == "AssumeRoleWithWebIdentity");
                let _ = axum::body::to_bytes(req.into_body(), 1 << 20).await;
                let canned = if credentials {
                    state.credentials.lock().unwrap().clone()
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

    fn builder(&self) -> TencentBatchBuilder {
        TencentBatchBuilder::new()
            .with_region("ap-guangzhou")
            .with_endpoint(Endpoint::Custom(self.base.clone()))
            .with_retry_policy(RetryPolicy::none())
            .with_rate_limits_disabled()
            .with_adaptive_rate_limits(false)
            .with_timeout(Duration::from_secs(5))
    }

    fn backend(&self) -> TencentBatchBackend {
        self.builder()
            .with_secret_id(ID)
            .with_secret_key(KEY)
            .build()
            .expect("a backend")
    }

    /// Runs the generated cases of `strategy`, each set up by `set` and exercised by `run`.
    fn check<S, F, Fut>(&self, strategy: S, set: impl Fn(&MockState, &S::Value), run: F)
    where
        S: Strategy,
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

/// Drains a listing, bounded.
async fn drain<T: std::fmt::Debug>(s: futures::stream::BoxStream<'static, polybatch::Result<T>>) {
    let items: Vec<_> = s.take(MAX_ITEMS).collect().await;
    for r in items {
        show(r);
    }
}

fn ids() -> (JobId, TaskId) {
    (
        JobId::new(JOB).expect("a job id"),
        TaskId::new("A").expect("a task id"),
    )
}

fn set_batch(state: &MockState, c: &Canned) {
    *state.batch.lock().unwrap() = c.clone();
}

// ----- the tests -----

/// The public wire types and conversions, on their own.
#[test]
fn public_views_and_conversions_never_panic() {
    let strategy = prop_oneof![
        json_value(),
        mutated_value(),
        mutated_value()
            .prop_map(|mut v| v.get_mut("Response").map(Value::take).unwrap_or_default()),
    ];
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        // Each shrinking step of a hang costs CASE_DEADLINE: bound it, so a hang is
        // reported in minutes (a CI run once spent 13 of them shrinking one).
        max_shrink_time: SHRINK_BUDGET_MS,
        ..Config::default()
    });
    runner
        .run(&(strategy, text(), text()), |(v, s, zone)| {
            let _ = serde_json::from_value::<DescribeJobResponse>(v.clone());
            let _ = serde_json::from_value::<DescribeJobsResponse>(v.clone());
            let _ = serde_json::from_value::<DescribeTaskResponse>(v.clone());
            let _ = serde_json::from_value::<SubmitJobResponse>(v.clone());
            let _ = serde_json::from_value::<EmptyResponse>(v.clone());
            let _ = serde_json::from_value::<JobView>(v.clone());
            let _ = serde_json::from_value::<Metrics>(v.clone());
            let _ = serde_json::from_value::<TaskInstanceView>(v.clone());
            let _ = polybatch_tencent::job_state(&s);
            let _ = polybatch_tencent::task_state(&s);
            let _ = polybatch_tencent::parse_time(Some(&s));
            let _ = polybatch_tencent::parse_time(v.as_str());
            show(polybatch::translate::tencent::export(&v, &zone));
            show(polybatch::translate::tencent::export(&v["Response"], &zone));
            Ok(())
        })
        .unwrap();
}

/// DescribeJob, DescribeJobs (job statuses, the job listing and `describe_jobs` paging) and
/// DescribeTask (with its second, filtered page), through the envelope and error mapping.
#[test]
fn reads_and_listings_never_panic() {
    let h = Harness::start();
    let b = h.backend();
    let (job, task) = ids();
    h.check(canned(), set_batch, || async {
        show(b.job_status(&job, StatusOptions::default()).await);
        show(b.task_status(&job, &task, StatusOptions::default()).await);
        show(
            b.job_statuses(
                &[job.clone(), JobId::new("job-00000001").expect("an id")],
                JobStatusesOptions::default(),
            )
            .await,
        );
        drain(b.list_jobs(ListJobsOptions::default())).await;
        drain(b.list_tasks(&job, ListTasksOptions::default())).await;
        drain(b.describe_jobs(DescribeJobsOptions::default())).await;
    });
}

/// TerminateJob, RetryJobs, DeleteJob, TerminateTaskInstance, SubmitJob, the submit-info
/// export and DescribeTaskLogs.
#[test]
fn writes_export_and_output_never_panic() {
    let h = Harness::start();
    let b = h.backend();
    let (job, task) = ids();
    let spec = JobSpec::new(
        "render",
        Placement::TencentManaged {
            zone: "ap-guangzhou-3".into(),
            instance_type: "S5.MEDIUM2".into(),
            image_id: "img-1".into(),
        },
        vec![TaskSpec::shell(task.clone(), "true")],
    );
    let request = SubmitJobRequest::new("render", "ap-guangzhou-3").with_task(TaskRequest::new(
        task.clone(),
        "echo hi",
        ComputeEnvironment::managed("S5.MEDIUM2", "img-1"),
    ));
    h.check(canned(), set_batch, || async {
        show(b.terminate_job(&job, TerminateJobOptions::default()).await);
        show(
            b.reactivate_task(&job, &task, ReactivateTaskOptions::default())
                .await,
        );
        show(
            b.retry_failed_tasks(&job, RetryFailedTasksOptions::default())
                .await,
        );
        show(b.delete_job(&job, DeleteJobOptions::default()).await);
        show(
            b.terminate_task(&job, &task, TerminateTaskOptions::default())
                .await,
        );
        show(b.terminate_task_instance(&job, &task, 0).await);
        show(
            b.submit_job(spec.clone(), SubmitJobOptions::default())
                .await,
        );
        show(b.submit_job_request(request.clone()).await);
        show(b.export_job(&job, ExportJobOptions::default()).await);
        show(
            b.task_output(&job, &task, TaskOutputOptions::default())
                .await,
        );
        show(
            b.task_output(&job, &task, TaskOutputOptions::default().stderr())
                .await,
        );
    });
}

/// The CVM metadata service's role name and keys, and STS `AssumeRoleWithWebIdentity`, of any
/// shape; the Batch request behind them gets a plain success.
#[test]
fn credential_answers_never_panic() {
    let h = Harness::start();
    let (job, _) = ids();
    let mut token_file = tempfile::NamedTempFile::new().expect("a temporary file");
    token_file
        .write_all(b"eyJhbGciOiJSUzI1NiJ9.e30.sig")
        .expect("the token file");
    let token_path = token_file.path().to_path_buf();
    let ok = Canned {
        status: 200,
        headers: vec![],
        body: describe_job().into_bytes(),
    };
    let credential_body = prop_oneof![
        2 => body(),
        1 => text().prop_map(String::into_bytes),
        1 => prop::sample::select(&[METADATA_KEYS, STS_KEYS, STS_ERROR][..])
            .prop_map(|s| s.as_bytes().to_vec()),
        2 => (
            prop::option::of(json_value()),
            prop::option::of(json_value()),
            prop::option::of(json_value()),
        )
            .prop_map(|(expired, token, id)| {
                let mut doc: Value = serde_json::from_str(METADATA_KEYS).expect("JSON");
                for (field, value) in [("ExpiredTime", expired), ("Token", token), ("TmpSecretId", id)] {
                    if let Some(v) = value {
                        doc[field] = v;
                    }
                }
                to_bytes(&doc)
            }),
        2 => (
            prop::option::of(json_value()),
            prop::option::of(json_value()),
            prop::option::of(json_value()),
        )
            .prop_map(|(expired, credentials, error)| {
                let mut doc: Value = serde_json::from_str(STS_KEYS).expect("JSON");
                for (field, value) in
                    [("ExpiredTime", expired), ("Credentials", credentials), ("Error", error)]
                {
                    if let Some(v) = value {
                        doc["Response"][field] = v;
                    }
                }
                to_bytes(&doc)
            }),
    ];
    let strategy =
        (status(), response_headers(), credential_body).prop_map(|(status, headers, body)| {
            Canned {
                status,
                headers,
                body,
            }
        });
    h.check(
        strategy,
        |state, c| {
            *state.credentials.lock().unwrap() = c.clone();
            *state.batch.lock().unwrap() = ok.clone();
        },
        || async {
            // A fresh backend per source and case: no keys are cached from an earlier case.
            for source in [
                TemporaryCredential::CvmRole {
                    role: Some("polybatch-role".into()),
                    metadata_endpoint: h.base.clone(),
                },
                TemporaryCredential::CvmRole {
                    role: None,
                    metadata_endpoint: h.base.clone(),
                },
                TemporaryCredential::OidcRole {
                    region: "ap-guangzhou".into(),
                    provider_id: "provider-1".into(),
                    token_file: token_path.clone(),
                    role_arn: "qcs::cam::uin/100000000001:roleName/polybatch".into(),
                    session_name: "polybatch-test".into(),
                    duration: Duration::from_secs(7200),
                    sts_endpoint: h.base.clone(),
                },
            ] {
                match h.builder().with_temporary_credential(source).build() {
                    Ok(b) => show(b.job_status(&job, StatusOptions::default()).await),
                    Err(e) => panic!("the backend does not build: {e}"),
                }
            }
        },
    );
    drop(token_file);
}
