//! The client over real loopback HTTP against a tiny axum mock of the Tencent API: headers,
//! signing (verified by the mock on every request), retries with re-signing, envelopes, error
//! mapping and the backend flows. Real time with millisecond backoffs (a paused tokio clock
//! would fire timeouts while loopback I/O is pending).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use polybatch::clock::{Clock, ManualClock};
use polybatch::rate::Quota;
use polybatch::retry::RetryPolicy;
use polybatch::{
    BatchBackend, DeleteJobOptions, Error, JobId, JobState, ListPrepReleaseOptions, Operation,
    ReactivateTaskOptions, ResourceKind, RetryFailedTasksOptions, StatusOptions, TaskId,
    TaskResult, TaskState, TerminateDisposition, TerminateJobOptions,
};
use polybatch_protocol::tencent::verify;
use polybatch_tencent::{
    ComputeEnvironment, DescribeJobsOptions, Endpoint, SubmitJobRequest, TaskRequest,
    TencentBatchBackend, TencentBatchBuilder,
};
use serde_json::{Value, json};

const ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
const KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
const TOKEN: &str = "tmp-session-token-EXAMPLE+/=";
const JOB: &str = "job-abcd1234";

/// One request as the mock received it.
#[derive(Debug, Clone)]
struct Recorded {
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Recorded {
    fn h(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    fn action(&self) -> &str {
        self.h("x-tc-action")
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// What the mock answers.
struct Answer {
    status: u16,
    body: String,
    delay: Option<Duration>,
}

fn ok(response: Value) -> Answer {
    let mut r = response;
    if r.get("RequestId").is_none() {
        r["RequestId"] = json!("rid-ok");
    }
    Answer {
        status: 200,
        body: json!({ "Response": r }).to_string(),
        delay: None,
    }
}

fn api_error(code: &str, message: &str) -> Answer {
    Answer {
        status: 200,
        body: json!({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "rid-err"}})
            .to_string(),
        delay: None,
    }
}

type Responder = dyn Fn(&Recorded, usize) -> Answer + Send + Sync;

struct MockState {
    requests: Mutex<Vec<Recorded>>,
    responder: Box<Responder>,
}

/// Verifies a request the way Tencent does: the signed headers as received, the body bytes as
/// received, and the timestamp within five minutes of the server's (real) clock.
fn check_auth(r: &Recorded) -> Option<&'static str> {
    let headers: Vec<(&str, &str)> = r
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let request = verify::Received {
        query: "",
        headers: &headers,
        body: &r.body,
    };
    // The mock knows the keys both as permanent (no token) and as temporary with TOKEN.
    let credentials = verify::Credentials {
        secret_id: ID,
        secret_key: KEY,
        session_token: r.headers.contains_key("x-tc-token").then_some(TOKEN),
    };
    verify::verify(&request, &credentials, Utc::now().timestamp())
        .err()
        .map(verify::Failure::code)
}

async fn handle(
    State(state): State<Arc<MockState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let recorded = Recorded {
        path: uri.path().to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    };
    let index = {
        let mut reqs = state.requests.lock().unwrap();
        reqs.push(recorded.clone());
        reqs.len() - 1
    };
    let answer = match check_auth(&recorded) {
        Some(code) => api_error(code, "signature check failed"),
        None => (state.responder)(&recorded, index),
    };
    if let Some(d) = answer.delay {
        tokio::time::sleep(d).await;
    }
    (
        StatusCode::from_u16(answer.status).unwrap(),
        [("content-type", "application/json")],
        answer.body,
    )
        .into_response()
}

struct Mock {
    addr: SocketAddr,
    state: Arc<MockState>,
}

impl Mock {
    async fn start(responder: impl Fn(&Recorded, usize) -> Answer + Send + Sync + 'static) -> Mock {
        let state = Arc::new(MockState {
            requests: Mutex::new(Vec::new()),
            responder: Box::new(responder),
        });
        let app = Router::new().fallback(handle).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Mock { addr, state }
    }

    fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    fn actions(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| r.action().to_string())
            .collect()
    }

    fn builder(&self) -> TencentBatchBuilder {
        TencentBatchBuilder::new()
            .with_secret_id(ID)
            .with_secret_key(KEY)
            .with_region("ap-guangzhou")
            .with_endpoint(Endpoint::Custom(format!("http://{}", self.addr)))
            .with_retry_policy(fast_retries())
            .with_rate_limits_disabled()
    }

    fn backend(&self) -> TencentBatchBackend {
        self.builder().build().unwrap()
    }
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_jitter(false)
        .with_initial_backoff(Duration::from_millis(5))
        .with_max_backoff(Duration::from_millis(20))
}

/// A clock one second further on every time it is read: proves each attempt reads it afresh.
#[derive(Debug)]
struct TickClock {
    base: DateTime<Utc>,
    ticks: AtomicI64,
}

impl Clock for TickClock {
    fn now(&self) -> DateTime<Utc> {
        self.base + chrono::Duration::seconds(self.ticks.fetch_add(1, Ordering::SeqCst))
    }
}

fn job() -> JobId {
    JobId::new(JOB).unwrap()
}

fn describe(state: &str) -> Answer {
    ok(
        json!({"JobId": JOB, "JobState": state, "NextAction": "", "StateReason": "",
              "CreateTime": "2018-02-07T09:29:09Z", "RequestId": "rid-describe"}),
    )
}

#[tokio::test]
async fn sends_the_documented_headers_and_a_verifiable_signature() {
    let mock = Mock::start(|_, _| describe("RUNNING")).await;
    let backend = mock
        .builder()
        .with_token(TOKEN)
        .with_language("en-US")
        .build()
        .unwrap();
    let status = backend
        .job_status(&job(), StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(status.state, JobState::Running);

    let reqs = mock.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.h("host"), mock.addr.to_string());
    assert_eq!(r.h("content-type"), "application/json; charset=utf-8");
    assert_eq!(r.h("x-tc-action"), "DescribeJob");
    assert_eq!(r.h("x-tc-version"), "2017-03-12");
    assert_eq!(r.h("x-tc-region"), "ap-guangzhou");
    assert_eq!(r.h("x-tc-token"), TOKEN);
    assert_eq!(r.h("x-tc-language"), "en-US");
    let rc = r.h("x-tc-requestclient");
    assert!(rc.starts_with("SDK_RUST_POLYBATCH_"), "{rc}");
    assert!(
        rc.chars()
            .all(|c| c.is_ascii_alphanumeric() || " _,;.".contains(c))
    );
    let ts: i64 = r.h("x-tc-timestamp").parse().unwrap();
    assert!((Utc::now().timestamp() - ts).abs() < 60);
    let auth = polybatch_tencent::signing::parse_authorization(r.h("authorization")).unwrap();
    assert_eq!(auth.algorithm, "TC3-HMAC-SHA256");
    assert_eq!(auth.service, "batch");
    assert_eq!(auth.signed_headers, ["content-type", "host"]);
    assert_eq!(check_auth(r), None);
    // The body is the compact JSON that was hashed.
    assert_eq!(r.body, br#"{"JobId":"job-abcd1234"}"#);
}

#[tokio::test]
async fn the_token_is_omitted_when_unset_and_the_language_always_sent() {
    let mock = Mock::start(|_, _| describe("RUNNING")).await;
    mock.backend()
        .job_status(&job(), StatusOptions::default())
        .await
        .unwrap();
    let r = &mock.requests()[0];
    assert!(!r.headers.contains_key("x-tc-token"));
    // The SDKs always send X-TC-Language; unset, this client asks for English.
    assert_eq!(r.h("x-tc-language"), "en-US");
}

#[tokio::test]
async fn an_endpoint_path_is_requested_but_the_canonical_uri_stays_slash() {
    let mock = Mock::start(|_, _| describe("RUNNING")).await;
    let backend = mock
        .builder()
        .with_endpoint(Endpoint::Custom(format!(
            "http://{}/gateway/batch/",
            mock.addr
        )))
        .build()
        .unwrap();
    let status = backend
        .job_status(&job(), StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(status.provider_state, "RUNNING");
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 1, "not an AuthFailure, so not a retry either");
    assert_eq!(reqs[0].path, "/gateway/batch/");
    // The mock verifies with canonical URI `/`, as Tencent (and every SDK) does.
    assert_eq!(check_auth(&reqs[0]), None);
}

#[tokio::test]
async fn request_limit_exceeded_is_retried_and_each_attempt_is_signed_afresh() {
    let mock = Mock::start(|_, i| {
        if i < 2 {
            api_error("RequestLimitExceeded", "too fast")
        } else {
            describe("RUNNING")
        }
    })
    .await;
    let clock = Arc::new(TickClock {
        base: Utc::now(),
        ticks: AtomicI64::new(0),
    });
    let backend = mock.builder().with_clock(clock).build().unwrap();
    let status = backend
        .job_status(&job(), StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(status.provider_state, "RUNNING");

    let reqs = mock.requests();
    assert_eq!(reqs.len(), 3);
    let stamps: Vec<i64> = reqs
        .iter()
        .map(|r| r.h("x-tc-timestamp").parse().unwrap())
        .collect();
    assert!(
        stamps.windows(2).all(|w| w[1] > w[0]),
        "fresh timestamps: {stamps:?}"
    );
    let auths: Vec<&str> = reqs.iter().map(|r| r.h("authorization")).collect();
    assert!(auths[0] != auths[1] && auths[1] != auths[2]);
    for r in &reqs {
        assert_eq!(check_auth(r), None, "every attempt verifies");
        assert_eq!(r.body, reqs[0].body, "the same body bytes every attempt");
    }
}

#[tokio::test]
async fn throttling_gives_up_after_the_policy_attempts() {
    let mock =
        Mock::start(|_, _| api_error("RequestLimitExceeded.UinLimitExceeded", "slow down")).await;
    let err = mock
        .backend()
        .job_status(&job(), StatusOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Throttled {
                retry_after: None,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), Some("RequestLimitExceeded.UinLimitExceeded"));
    assert_eq!(mock.requests().len(), 4, "default policy: 4 attempts");
}

#[tokio::test]
async fn an_expired_timestamp_is_unauthenticated_and_says_check_the_clock() {
    let mock = Mock::start(|_, _| describe("RUNNING")).await;
    let clock = ManualClock::new(Utc::now() - chrono::Duration::minutes(10));
    let backend = mock.builder().with_clock(Arc::new(clock)).build().unwrap();
    let err = backend
        .job_status(&job(), StatusOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthenticated { .. }), "{err:?}");
    assert_eq!(err.code(), Some("AuthFailure.SignatureExpire"));
    assert!(err.message().contains("five minutes"), "{err}");
    assert!(err.message().contains("clock"), "{err}");
    assert_eq!(err.request_id(), Some("rid-err"));
    assert_eq!(mock.requests().len(), 1, "not retried");
}

#[tokio::test]
async fn not_found_keeps_code_message_and_request_id() {
    let mock =
        Mock::start(|_, _| api_error("ResourceNotFound.Job", "The specified job does not exist."))
            .await;
    let err = mock
        .backend()
        .job_status(&job(), StatusOptions::default())
        .await
        .unwrap_err();
    match &err {
        Error::NotFound { resource, id, .. } => {
            assert_eq!(*resource, ResourceKind::Job);
            assert_eq!(id, JOB);
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(err.message(), "The specified job does not exist.");
    assert_eq!(err.request_id(), Some("rid-err"));
    assert_eq!(err.operation(), Operation::JobStatus);
}

#[tokio::test]
async fn server_messages_never_echo_the_secret() {
    let mock =
        Mock::start(|_, _| api_error("InvalidParameter", &format!("bad key {KEY} / {TOKEN}")))
            .await;
    let backend = mock.builder().with_token(TOKEN).build().unwrap();
    let err = backend
        .job_status(&job(), StatusOptions::default())
        .await
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(KEY) && !shown.contains(TOKEN), "{shown}");
    assert!(shown.contains("<redacted>"));
}

#[tokio::test]
async fn non_200_is_typed_and_retried_when_transient() {
    let mock = Mock::start(|_, _| Answer {
        status: 502,
        body: "<html>Bad Gateway</html>".into(),
        delay: None,
    })
    .await;
    let err = mock
        .backend()
        .job_status(&job(), StatusOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Service {
                status: Some(502),
                retryable: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(mock.requests().len(), 4);

    let mock = Mock::start(|_, _| Answer {
        status: 404,
        body: "nope".into(),
        delay: None,
    })
    .await;
    let err = mock
        .backend()
        .job_status(&job(), StatusOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn a_body_that_is_not_the_envelope_is_a_service_error() {
    for body in [
        "not json",
        r#"{"JobId": "job-1"}"#,
        r#"{"Response": {"JobState": 5}}"#,
    ] {
        let b = body.to_string();
        let mock = Mock::start(move |_, _| Answer {
            status: 200,
            body: b.clone(),
            delay: None,
        })
        .await;
        let err = mock
            .backend()
            .job_status(&job(), StatusOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Service {
                    status: Some(200),
                    retryable: true,
                    ..
                }
            ),
            "{body}: {err:?}"
        );
        // Retried as a garbled answer may come right, then reported with every attempt.
        assert_eq!(mock.requests().len(), 4);
        assert_eq!(err.attempts().len(), 4, "{err}");
    }
}

#[tokio::test]
async fn an_envelope_of_its_request_id_only_is_refused_and_fetched_again() {
    let bare = |body: &str| Answer {
        status: 200,
        body: body.to_string(),
        delay: None,
    };
    let mock = Mock::start(move |_, n| match n {
        0 => bare(r#"{"Response":{"RequestId":"rid-bare"}}"#),
        1 => bare(r#"{"Response":{}}"#),
        _ => describe("RUNNING"),
    })
    .await;
    let status = mock
        .backend()
        .job_status(&job(), StatusOptions::default())
        .await
        .expect("the third answer is the job");
    assert_eq!(status.provider_state, "RUNNING");
    assert_eq!(
        mock.requests().len(),
        3,
        "both bare envelopes were fetched again"
    );
}

#[tokio::test]
async fn connect_failure_is_certainly_not_sent_and_timeout_is_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let backend = TencentBatchBuilder::new()
        .with_secret_id(ID)
        .with_secret_key(KEY)
        .with_region("ap-guangzhou")
        .with_endpoint(Endpoint::Custom(format!("http://{addr}")))
        .with_retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = backend
        .job_status(&job(), StatusOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                maybe_sent: false,
                ..
            }
        ),
        "{err:?}"
    );

    let mock = Mock::start(|_, _| Answer {
        delay: Some(Duration::from_secs(5)),
        ..describe("RUNNING")
    })
    .await;
    let backend = mock
        .builder()
        .with_timeout(Duration::from_millis(200))
        .with_retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = backend
        .job_status(&job(), StatusOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn rate_limit_spaces_attempts_and_clones_share_it() {
    let mock = Mock::start(|_, _| describe("RUNNING")).await;
    let backend = TencentBatchBuilder::new()
        .with_secret_id(ID)
        .with_secret_key(KEY)
        .with_region("ap-guangzhou")
        .with_endpoint(Endpoint::Custom(format!("http://{}", mock.addr)))
        .with_rate_limit("DescribeJob", Quota::every(Duration::from_millis(100)))
        .build()
        .unwrap();
    assert_eq!(
        backend.rate_limit("DescribeJob"),
        Some(Quota::every(Duration::from_millis(100)))
    );
    assert_eq!(
        mock.builder().build().unwrap().rate_limit("DescribeJob"),
        None,
        "disabled"
    );
    let clone = backend.clone();
    let j = job();
    let (a, b, c) = tokio::join!(
        backend.job_status(&j, StatusOptions::default()),
        clone.job_status(&j, StatusOptions::default()),
        clone.job_status(&j, StatusOptions::default()),
    );
    assert!(a.is_ok() && b.is_ok() && c.is_ok());
    let default = TencentBatchBuilder::new()
        .with_secret_id(ID)
        .with_secret_key(KEY)
        .with_region("ap-guangzhou")
        .build()
        .unwrap();
    // The default endpoint is the China site's, with its documented limits; the
    // international endpoint has the international ones.
    assert_eq!(
        default.rate_limit("TerminateJob"),
        Some(Quota::per_second(10).with_burst(1))
    );
    let intl = TencentBatchBuilder::new()
        .with_secret_id(ID)
        .with_secret_key(KEY)
        .with_region("ap-guangzhou")
        .with_endpoint(Endpoint::International)
        .build()
        .unwrap();
    assert_eq!(
        intl.rate_limit("TerminateJob"),
        Some(Quota::per_second(2).with_burst(1))
    );
}

// ----- backend flows -----

#[tokio::test]
async fn terminate_running_job_is_accepted() {
    let mock = Mock::start(|r, _| match r.action() {
        "DescribeJob" => describe("RUNNING"),
        "TerminateJob" => ok(json!({"RequestId": "rid-terminate"})),
        other => panic!("unexpected {other}"),
    })
    .await;
    let out = mock
        .backend()
        .terminate_job(&job(), TerminateJobOptions::default())
        .await
        .unwrap();
    assert_eq!(out.disposition, TerminateDisposition::Accepted);
    assert_eq!(out.request_id.as_deref(), Some("rid-terminate"));
    assert!(out.etag.is_none());
    assert_eq!(mock.actions(), ["DescribeJob", "TerminateJob"]);
    assert_eq!(mock.requests()[1].json(), json!({"JobId": JOB}));
}

/// Instance counts of a job (`TaskInstanceMetrics`).
fn instance_metrics(running: u64, succeed: u64, failed: u64, interrupted: u64) -> Value {
    json!({"SubmittedCount": 0, "PendingCount": 0, "RunnableCount": 0, "StartingCount": 0,
           "RunningCount": running, "SucceedCount": succeed,
           "FailedInterruptedCount": interrupted, "FailedCount": failed})
}

#[tokio::test]
async fn terminate_finished_or_terminating_job_sends_no_terminate() {
    for (state, next, metrics, want) in [
        (
            "SUCCEED",
            "",
            instance_metrics(0, 2, 0, 0),
            TerminateDisposition::AlreadyCompleted,
        ),
        (
            "FAILED",
            "",
            instance_metrics(0, 1, 1, 0),
            TerminateDisposition::AlreadyCompleted,
        ),
        (
            "RUNNING",
            "TERMINATING",
            instance_metrics(1, 0, 0, 0),
            TerminateDisposition::AlreadyTerminating,
        ),
    ] {
        let mock = Mock::start(move |_, _| {
            ok(json!({"JobId": JOB, "JobState": state, "NextAction": next,
                      "TaskInstanceMetrics": metrics.clone()}))
        })
        .await;
        let out = mock
            .backend()
            .terminate_job(&job(), TerminateJobOptions::default())
            .await
            .unwrap();
        assert_eq!(out.disposition, want, "{state}/{next}");
        assert_eq!(mock.actions(), ["DescribeJob"]);
    }
}

#[tokio::test]
async fn terminate_failed_job_with_instances_still_held_sends_terminate() {
    // FAILED, but an instance is FAILED_INTERRUPTED and keeps its compute instance until
    // terminated; and a FAILED job whose instance counts are unknown.
    for metrics in [instance_metrics(0, 1, 1, 1), Value::Null] {
        let m = metrics.clone();
        let mock = Mock::start(move |r, _| match r.action() {
            "DescribeJob" => ok(json!({"JobId": JOB, "JobState": "FAILED", "NextAction": "",
                                       "TaskInstanceMetrics": m.clone()})),
            "TerminateJob" => ok(json!({"RequestId": "rid-terminate"})),
            other => panic!("unexpected {other}"),
        })
        .await;
        let out = mock
            .backend()
            .terminate_job(&job(), TerminateJobOptions::default())
            .await
            .unwrap();
        assert_eq!(out.disposition, TerminateDisposition::Accepted, "{metrics}");
        assert_eq!(out.request_id.as_deref(), Some("rid-terminate"));
        assert_eq!(mock.actions(), ["DescribeJob", "TerminateJob"], "{metrics}");
    }
}

#[tokio::test]
async fn terminate_submitted_job_is_refused_retryably_with_a_hint() {
    for code in ["UnsupportedOperation", "ResourceInUse.Job"] {
        let mock = Mock::start(move |r, _| match r.action() {
            "DescribeJob" => describe("SUBMITTED"),
            _ => api_error(code, "terminate not allowed"),
        })
        .await;
        let err = mock
            .backend()
            .terminate_job(&job(), TerminateJobOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Service {
                    retryable: true,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.is_retryable());
        assert_eq!(err.code(), Some(code));
        assert_eq!(err.operation(), Operation::TerminateJob);
        let m = err.message();
        assert!(
            m.contains("SUBMITTED") && m.contains("retry once it has"),
            "{m}"
        );
        assert!(
            m.contains("terminate not allowed"),
            "the server's text is kept: {m}"
        );
        // Retried as any retryable answer (TerminateJob is idempotent), then reported.
        assert_eq!(
            mock.actions(),
            [
                "DescribeJob",
                "TerminateJob",
                "TerminateJob",
                "TerminateJob",
                "TerminateJob"
            ]
        );
    }
}

#[tokio::test]
async fn terminate_in_a_named_compute_environment_is_permanently_unsupported() {
    let mock = Mock::start(|r, _| match r.action() {
        "DescribeJob" => describe("RUNNING"),
        _ => api_error(
            "UnsupportedOperation.TerminateOperationWithEnvId",
            "This operation is prohibited for the task instances in the specified compute environment.",
        ),
    })
    .await;
    let err = mock
        .backend()
        .terminate_job(&job(), TerminateJobOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Unsupported { option: None, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(
        err.code(),
        Some("UnsupportedOperation.TerminateOperationWithEnvId")
    );
    assert!(err.message().contains("EnvId"), "{err}");
    assert_eq!(err.request_id(), Some("rid-err"));
    assert_eq!(
        mock.actions(),
        ["DescribeJob", "TerminateJob"],
        "not retried"
    );
}

#[tokio::test]
async fn job_status_reports_terminating_the_failure_reason_and_no_made_up_start() {
    let mock = Mock::start(|_, i| match i {
        0 => ok(
            json!({"JobId": JOB, "JobState": "RUNNING", "NextAction": "TERMINATING",
                       "StateReason": "", "CreateTime": "2018-02-07T09:29:09Z"}),
        ),
        _ => ok(json!({"JobId": JOB, "JobState": "FAILED", "NextAction": "",
                       "StateReason": "Task A instance 0 failed: Terminated by user",
                       "CreateTime": "2018-02-07T09:29:09Z",
                       "EndTime": "2018-02-07T09:31:00Z"})),
    })
    .await;
    let b = mock.backend();
    let s = b
        .job_status(&job(), StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(s.state, JobState::Terminating);
    assert_eq!(s.provider_state, "RUNNING");
    assert_eq!(s.start_time, None, "CreateTime is not a start time");

    let s = b
        .job_status(&job(), StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(s.state, JobState::Failed);
    assert_eq!(
        s.terminate_reason, None,
        "Tencent records no terminate reason"
    );
    let f = s.failure.unwrap();
    assert_eq!(f.code.as_deref(), Some("FAILED"));
    assert_eq!(
        f.message.as_deref(),
        Some("Task A instance 0 failed: Terminated by user")
    );
    assert_eq!(s.start_time, None);
    assert!(s.end_time.is_some());
}

#[tokio::test]
async fn unsupported_requests_fail_before_any_io() {
    let mock = Mock::start(|_, _| describe("RUNNING")).await;
    let b = mock.backend();
    for opts in [
        TerminateJobOptions::default().with_reason("why"),
        TerminateJobOptions::default().with_force(true),
        TerminateJobOptions::default().with_server_timeout(Duration::from_secs(1)),
        TerminateJobOptions::default()
            .with_preconditions(polybatch::Preconditions::default().with_if_match("etag")),
    ] {
        let err = b.terminate_job(&job(), opts).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Unsupported {
                    option: Some(_),
                    ..
                }
            ),
            "{err:?}"
        );
    }
    let task = TaskId::new("A").unwrap();
    let err = b
        .reactivate_task(&job(), &task, ReactivateTaskOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Unsupported { option: None, .. }),
        "{err:?}"
    );
    let items: Vec<_> = b
        .list_prep_release_status(&job(), ListPrepReleaseOptions::default())
        .collect()
        .await;
    assert_eq!(items.len(), 1);
    assert!(matches!(items[0], Err(Error::Unsupported { .. })));
    let err = b
        .job_status(
            &job(),
            StatusOptions::default().with_server_timeout(Duration::from_secs(1)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }));
    assert!(mock.requests().is_empty(), "no request was sent");
}

#[tokio::test]
async fn task_status_reads_one_page_of_a_small_task() {
    let mock = Mock::start(|r, _| {
        let req = r.json();
        assert_eq!(req["JobId"], JOB);
        assert_eq!(req["TaskName"], "A");
        ok(json!({"JobId": JOB, "TaskName": "A", "TaskState": "FAILED",
                  "CreateTime": "2018-02-07T09:29:09Z", "EndTime": "2018-02-07T09:30:31Z",
                  "TaskInstanceTotalCount": 2,
                  "TaskInstanceMetrics": instance_metrics(0, 1, 1, 0),
                  "TaskInstanceSet": [
                      {"TaskInstanceIndex": 0, "TaskInstanceState": "SUCCEED", "ExitCode": 0},
                      {"TaskInstanceIndex": 1, "TaskInstanceState": "FAILED", "ExitCode": 137,
                       "StateReason": "killed"}]}))
    })
    .await;
    let s = mock
        .backend()
        .task_status(&job(), &TaskId::new("A").unwrap(), StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(s.state, TaskState::Failed);
    assert_eq!(s.instance_count, 2);
    assert_eq!(s.exit_code, Some(137));
    assert_eq!(s.result, Some(TaskResult::Failure));
    assert_eq!(s.failure.unwrap().message.as_deref(), Some("killed"));
    assert_eq!(mock.actions(), ["DescribeTask"]);
}

/// A task of 2500 instances, all running but instance 2400, which failed; DescribeTask
/// answers pages of it as the service does (Offset/Limit, the `task-instance-state` filter).
fn wide_task(r: &Recorded) -> Answer {
    let req = r.json();
    let offset = req["Offset"].as_u64().unwrap_or(0);
    let limit = req["Limit"].as_u64().unwrap_or(100);
    assert!(limit <= 1000, "{req}");
    let states: Vec<String> = req["Filters"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .inspect(|f| assert_eq!(f["Name"], "task-instance-state", "{req}"))
                .flat_map(|f| f["Values"].as_array().cloned().unwrap_or_default())
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let instance = |i: u64| {
        if i == 2400 {
            json!({"TaskInstanceIndex": i, "TaskInstanceState": "FAILED", "ExitCode": 9,
                   "StateReason": "exit 9", "RunningTime": "2018-02-07T09:29:55Z"})
        } else {
            json!({"TaskInstanceIndex": i, "TaskInstanceState": "RUNNING",
                   "RunningTime": "2018-02-07T09:29:50Z"})
        }
    };
    let matching: Vec<Value> = (0..2500)
        .map(instance)
        .filter(|v| {
            states.is_empty()
                || states
                    .iter()
                    .any(|s| v["TaskInstanceState"].as_str() == Some(s))
        })
        .collect();
    let total = matching.len();
    let page: Vec<Value> = matching
        .into_iter()
        .skip(offset as usize)
        .take(limit as usize)
        .collect();
    ok(
        json!({"JobId": JOB, "TaskName": "wide", "TaskState": "RUNNING",
              "CreateTime": "2018-02-07T09:29:09Z", "TaskInstanceTotalCount": total,
              "TaskInstanceSet": page,
              "TaskInstanceMetrics": instance_metrics(2499, 0, 1, 0)}),
    )
}

#[tokio::test]
async fn task_status_reads_counts_and_the_failed_page_not_every_instance() {
    let mock = Mock::start(|r, _| wide_task(r)).await;
    let s = mock
        .backend()
        .task_status(
            &job(),
            &TaskId::new("wide").unwrap(),
            StatusOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(s.state, TaskState::Running);
    assert_eq!(s.instance_count, 2500);
    assert_eq!(s.exit_code, Some(9));
    let f = s.failure.unwrap();
    assert_eq!(f.message.as_deref(), Some("exit 9"));
    assert!(
        f.details
            .contains(&("TaskInstanceIndex".to_string(), "2400".to_string())),
        "{:?}",
        f.details
    );
    assert!(s.start_time.is_some());
    // Two small pages from offset 0: the first of all instances, the first of the failed.
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 2, "{:?}", mock.actions());
    for r in &reqs {
        let body = r.json();
        assert_eq!(body["Offset"], 0, "{body}");
        assert!(body["Limit"].as_u64().unwrap() <= 100, "{body}");
    }
    assert!(reqs[0].json().get("Filters").is_none());
    assert_eq!(
        reqs[1].json()["Filters"],
        json!([{"Name": "task-instance-state", "Values": ["FAILED", "FAILED_INTERRUPTED"]}])
    );
}

#[tokio::test]
async fn retry_failed_tasks_retries_the_job_and_reports_its_failed_tasks() {
    let mock = Mock::start(|r, _| match r.action() {
        "DescribeJob" => ok(json!({"JobId": JOB, "JobState": "FAILED", "TaskSet": [
            {"TaskName": "A", "TaskState": "SUCCEED"},
            {"TaskName": "B", "TaskState": "FAILED"},
            {"TaskName": "C", "TaskState": "FAILED_INTERRUPTED"}]})),
        "RetryJobs" => {
            assert_eq!(r.json(), json!({"JobIds": [JOB]}));
            ok(json!({}))
        }
        other => panic!("unexpected {other}"),
    })
    .await;
    let out = mock
        .backend()
        .retry_failed_tasks(&job(), RetryFailedTasksOptions::default())
        .await
        .unwrap();
    let names: Vec<&str> = out.retried.iter().map(|t| t.as_str()).collect();
    assert_eq!(names, ["B", "C"]);
    assert!(out.is_complete());
    assert_eq!(mock.actions(), ["DescribeJob", "RetryJobs"]);
}

#[tokio::test]
async fn retry_of_a_job_that_is_not_failed_is_refused_without_retry_jobs() {
    for (state, task_state, advice) in [
        ("RUNNING", "FAILED", "only a FAILED job"),
        ("FAILED_INTERRUPTED", "FAILED_INTERRUPTED", "terminate"),
    ] {
        let mock = Mock::start(move |r, _| match r.action() {
            "DescribeJob" => ok(json!({"JobId": JOB, "JobState": state, "NextAction": "",
                "TaskSet": [{"TaskName": "broken", "TaskState": task_state}],
                "RequestId": "rid-describe"})),
            other => panic!("unexpected {other}"),
        })
        .await;
        let err = mock
            .backend()
            .retry_failed_tasks(&job(), RetryFailedTasksOptions::default())
            .await
            .unwrap_err();
        match &err {
            Error::InvalidState { state: s, .. } => assert_eq!(s.as_deref(), Some(state)),
            e => panic!("{e:?}"),
        }
        assert_eq!(
            err.code(),
            Some("UnsupportedOperation"),
            "the service's answer"
        );
        assert_eq!(err.operation(), Operation::RetryFailedTasks);
        assert!(err.message().contains(advice), "{state}: {err}");
        assert_eq!(err.request_id(), Some("rid-describe"));
        assert_eq!(
            mock.actions(),
            ["DescribeJob"],
            "{state}: no RetryJobs sent"
        );
    }
}

/// Nothing failed: the same empty outcome as on every provider, and no RetryJobs to refuse.
#[tokio::test]
async fn retry_of_a_job_with_nothing_failed_retries_nothing() {
    for state in ["RUNNING", "SUCCEED"] {
        let mock = Mock::start(move |r, _| match r.action() {
            "DescribeJob" => describe(state),
            other => panic!("unexpected {other}"),
        })
        .await;
        let outcome = mock
            .backend()
            .retry_failed_tasks(&job(), RetryFailedTasksOptions::default())
            .await
            .unwrap();
        assert!(outcome.retried.is_empty() && outcome.not_retried.is_empty());
        assert_eq!(mock.actions(), ["DescribeJob"], "{state}");
    }
}

// ----- extras -----

#[tokio::test]
async fn submit_job_keeps_one_client_token_across_retries() {
    let mock = Mock::start(|_, i| {
        if i == 0 {
            api_error("RequestLimitExceeded", "slow down")
        } else {
            ok(json!({"JobId": "job-4yn0we13"}))
        }
    })
    .await;
    let req = SubmitJobRequest::new("normal_job", "ap-guangzhou-2").with_task(
        TaskRequest::new(
            TaskId::new("hello").unwrap(),
            "echo hi",
            ComputeEnvironment::managed("SA5.MEDIUM4", "img-bd78fy2t"),
        )
        .with_env_var("GREETING", "hi"),
    );
    let id = mock.backend().submit_job_request(req).await.unwrap();
    assert_eq!(id.as_str(), "job-4yn0we13");
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 2);
    let tokens: Vec<Value> = reqs
        .iter()
        .map(|r| r.json()["ClientToken"].clone())
        .collect();
    assert!(tokens[0].is_string());
    assert_eq!(tokens[0], tokens[1]);
    assert_eq!(reqs[0].action(), "SubmitJob");
    assert_eq!(
        reqs[0].json()["Job"]["Tasks"][0]["EnvVars"],
        json!([{"Name": "GREETING", "Value": "hi"}])
    );
}

#[tokio::test]
async fn describe_jobs_walks_offset_and_limit() {
    let mock = Mock::start(|r, _| {
        let req = r.json();
        assert_eq!(
            req["Filters"],
            json!([{"Name": "job-state", "Values": ["RUNNING"]}])
        );
        let offset = req["Offset"].as_u64().unwrap();
        let limit = req["Limit"].as_u64().unwrap();
        let jobs: Vec<Value> = (offset..(offset + limit).min(5))
            .map(|i| {
                json!({"JobId": format!("job-0000000{i}"), "JobState": "RUNNING",
                            "Placement": {"Zone": "ap-guangzhou-2"}, "EndTime": null})
            })
            .collect();
        ok(json!({"JobSet": jobs, "TotalCount": 5}))
    })
    .await;
    let items: Vec<_> = mock
        .backend()
        .describe_jobs(
            DescribeJobsOptions::default()
                .with_job_states(["RUNNING"])
                .with_page_size(2),
        )
        .collect()
        .await;
    let ids: Vec<String> = items
        .into_iter()
        .map(|r| r.unwrap().job_id.into_string())
        .collect();
    assert_eq!(ids.len(), 5);
    assert_eq!(ids[4], "job-00000004");
    let offsets: Vec<u64> = mock
        .requests()
        .iter()
        .map(|r| r.json()["Offset"].as_u64().unwrap())
        .collect();
    assert_eq!(offsets, [0, 2, 4]);
}

#[tokio::test]
async fn terminate_task_instance_and_delete_job() {
    let mock = Mock::start(|r, _| match r.action() {
        "TerminateTaskInstance" => ok(json!({"RequestId": "rid-tti"})),
        "DeleteJob" => api_error("ResourceInUse.Job", "job not finished"),
        other => panic!("unexpected {other}"),
    })
    .await;
    let b = mock.backend();
    let rid = b
        .terminate_task_instance(&job(), &TaskId::new("A").unwrap(), 3)
        .await
        .unwrap();
    assert_eq!(rid.as_deref(), Some("rid-tti"));
    assert_eq!(
        mock.requests()[0].json(),
        json!({"JobId": JOB, "TaskName": "A", "TaskInstanceIndex": 3})
    );
    let err = b
        .delete_job(&job(), DeleteJobOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidState { .. }), "{err:?}");
    assert_eq!(err.operation(), Operation::DeleteJob);
    assert!(err.to_string().contains("terminate it"), "{err}");
}

/// `terminate_task` pages `DescribeTask` at its documented maximum (1000), so a shorter page
/// is the last whatever total the answer claims: a server claiming 2^64 - 1 instances while
/// sending one is read once, and only the instance it sent is terminated.
#[tokio::test]
async fn terminate_task_stops_at_a_short_page_whatever_the_claimed_total() {
    let mock = Mock::start(|r, _| match r.action() {
        "DescribeTask" => ok(
            json!({"JobId": JOB, "TaskName": "A", "TaskState": "RUNNING",
            "TaskInstanceTotalCount": u64::MAX,
            "TaskInstanceSet": [{"TaskInstanceIndex": 7, "TaskInstanceState": "RUNNING"}],
            "TaskInstanceMetrics": instance_metrics(8, 0, 0, 0)}),
        ),
        "TerminateTaskInstance" => ok(json!({"RequestId": "rid-tti"})),
        other => panic!("unexpected {other}"),
    })
    .await;
    let bound = Duration::from_secs(10);
    let (b, job, task) = (mock.backend(), job(), TaskId::new("A").unwrap());
    let terminate = b.terminate_task(&job, &task, polybatch::TerminateTaskOptions::default());
    let out = tokio::time::timeout(bound, terminate)
        .await
        .expect("no endless paging")
        .unwrap();
    assert_eq!(out.disposition, polybatch::TerminateDisposition::Accepted);
    assert_eq!(mock.actions(), ["DescribeTask", "TerminateTaskInstance"]);
    assert_eq!(mock.requests()[1].json()["TaskInstanceIndex"], 7);
}
