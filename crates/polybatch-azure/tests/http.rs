//! The client's HTTP behaviour against a small axum mock on 127.0.0.1: headers, signing as
//! received, retries, Retry-After, paging, error mapping, transport failures and Entra ID.
//! Real time (no paused clock: the I/O is real); backoffs are tiny.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::TimeZone;
use futures::StreamExt;
use polybatch::clock::ManualClock;
use polybatch::retry::RetryPolicy;
use polybatch::{
    BatchBackend, Error, JobId, JobState, ListPrepReleaseOptions, Operation, Preconditions,
    ReactivateTaskOptions, StatusOptions, TaskId, TaskState, TerminateDisposition,
    TerminateJobOptions, TerminateTaskOptions,
};
use polybatch_azure::signing::{self, QueryNameCase};
use polybatch_azure::{
    AddJobRequest, AddTaskRequest, ApiVersion, AzureBatchBackend, AzureBatchBuilder, JobTaskSpec,
    OnAllTasksComplete,
};

const KEY: &str =
    "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZg==";

// ----- the mock -----

#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn header_count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }

    /// Verifies the Shared Key signature the way a server does: from the request as received.
    fn assert_signed(&self, account: &str) {
        self.assert_signed_as(QueryNameCase::Lowercase, account);
    }

    /// Like [`Recorded::assert_signed`], with query names canonicalised by `case`.
    fn assert_signed_as(&self, case: QueryNameCase, account: &str) {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let query = signing::decode_query(&self.query);
        let query: Vec<(&str, &str)> = query
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let key = signing::decode_key(KEY).unwrap();
        let expected = signing::authorize(
            account,
            &key,
            &self.method,
            &headers,
            &self.path,
            &query,
            case,
        );
        assert_eq!(
            self.header("authorization"),
            Some(expected.as_str()),
            "{self:?}"
        );
    }
}

#[derive(Debug, Clone, Default)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Option<Duration>,
}

impl Reply {
    fn new(status: u16) -> Self {
        Reply {
            status,
            ..Reply::default()
        }
    }

    fn json(status: u16, body: impl Into<String>) -> Self {
        Reply {
            status,
            body: body.into(),
            headers: vec![(
                "content-type",
                "application/json;odata=minimalmetadata".into(),
            )],
            delay: None,
        }
    }

    fn error(status: u16, code: &str) -> Self {
        Reply::json(
            status,
            format!(
                r#"{{"odata.metadata":"x","code":"{code}","message":{{"lang":"en-US","value":"{code} happened.\nRequestId:r\nTime:t"}}}}"#
            ),
        )
        .header("request-id", format!("rid-{code}"))
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

type Responder = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

struct Mock {
    base: String,
    seen: Arc<Mutex<Vec<Recorded>>>,
}

impl Mock {
    async fn start(respond: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static) -> Mock {
        let seen: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let respond: Arc<Responder> = Arc::new(respond);
        let seen2 = seen.clone();
        let app = axum::Router::new().fallback(move |req: Request| {
            let seen = seen2.clone();
            let respond = respond.clone();
            async move {
                let (parts, body) = req.into_parts();
                let body = axum::body::to_bytes(body, 1 << 20).await.unwrap().to_vec();
                let rec = Recorded {
                    method: parts.method.to_string(),
                    path: parts.uri.path().to_string(),
                    query: parts.uri.query().unwrap_or("").to_string(),
                    headers: parts
                        .headers
                        .iter()
                        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
                        .collect(),
                    body,
                };
                let n = {
                    let mut s = seen.lock().unwrap();
                    s.push(rec.clone());
                    s.len() - 1
                };
                let reply = respond(&rec, n);
                if let Some(d) = reply.delay {
                    tokio::time::sleep(d).await;
                }
                let mut resp = Response::new(Body::from(reply.body));
                *resp.status_mut() = StatusCode::from_u16(reply.status).unwrap();
                for (name, value) in reply.headers {
                    resp.headers_mut().append(
                        HeaderName::from_static(name),
                        HeaderValue::from_str(&value).unwrap(),
                    );
                }
                resp
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Mock {
            base: format!("http://{addr}"),
            seen,
        }
    }

    fn seen(&self) -> Vec<Recorded> {
        self.seen.lock().unwrap().clone()
    }
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_jitter(false)
        .with_max_attempts(4)
        .with_initial_backoff(Duration::from_millis(5))
        .with_max_backoff(Duration::from_millis(20))
}

fn builder(mock: &Mock) -> AzureBatchBuilder {
    let clock = ManualClock::new(chrono::Utc.with_ymd_and_hms(2017, 2, 17, 0, 0, 0).unwrap());
    AzureBatchBuilder::new()
        .with_endpoint(&mock.base)
        .with_account("myaccount")
        .with_shared_key(KEY)
        .with_clock(Arc::new(clock))
        .with_retry_policy(fast_retries())
        .with_timeout(Duration::from_secs(5))
}

fn backend(mock: &Mock) -> AzureBatchBackend {
    builder(mock).build().unwrap()
}

fn ids() -> (JobId, TaskId) {
    (JobId::new("job-1").unwrap(), TaskId::new("task-1").unwrap())
}

const TASK_FAILED: &str = r#"{"id":"task-1","eTag":"0xBODY","state":"completed","previousState":"running","executionInfo":{"startTime":"2024-01-01T00:00:00Z","endTime":"2024-01-01T00:01:00Z","exitCode":3,"result":"failure","retryCount":0,"requeueCount":0,"failureInfo":{"category":"usererror","code":"FailureExitCode","message":"exit 3"}}}"#;

// ----- headers and signing -----

#[tokio::test]
async fn bodiless_post_matches_the_sdk_vector_and_sends_every_header() {
    let mock = Mock::start(|_, _| {
        Reply::new(204)
            .header("request-id", "rid-1")
            .header("etag", "0x8D0")
            .header("last-modified", "Fri, 17 Feb 2017 00:00:01 GMT")
    })
    .await;
    let (job, task) = ids();
    let out = backend(&mock)
        .reactivate_task(&job, &task, ReactivateTaskOptions::default())
        .await
        .unwrap();
    assert_eq!(out.etag.unwrap().as_str(), "0x8D0");
    assert_eq!(out.request_id.as_deref(), Some("rid-1"));

    let seen = mock.seen();
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/jobs/job-1/tasks/task-1/reactivate");
    assert_eq!(r.query, "api-version=2024-07-01.20.0");
    assert_eq!(r.header("content-length"), Some("0"));
    assert_eq!(r.header_count("content-length"), 1);
    assert_eq!(r.header("content-type"), None);
    assert_eq!(r.header("ocp-date"), Some("Fri, 17 Feb 2017 00:00:00 GMT"));
    assert_eq!(r.header("return-client-request-id"), Some("true"));
    assert_eq!(r.header("accept"), Some("application/json"));
    let crid = r.header("client-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(crid).is_ok(), "{crid}");
    assert!(!crid.contains('{'));
    // Byte for byte what the official Python SDK computes for this request (vector 2).
    assert_eq!(
        r.header("authorization"),
        Some("SharedKey myaccount:cDYLI4W6RF4j0Ms3ucNfjUgxk1gEO8erSxT599p6CM0=")
    );
    r.assert_signed("myaccount");
}

#[tokio::test]
async fn prep_release_get_matches_the_sdk_vector() {
    let mock = Mock::start(|_, _| Reply::json(200, r#"{"value":[]}"#)).await;
    let (job, _) = ids();
    let items: Vec<_> = backend(&mock)
        .list_prep_release_status(
            &job,
            ListPrepReleaseOptions::default()
                .with_filter("nodeId eq 'tvm-1'")
                .with_page_size(10),
        )
        .collect()
        .await;
    assert!(items.is_empty());
    let r = &mock.seen()[0];
    assert_eq!(r.method, "GET");
    assert_eq!(r.path, "/jobs/job-1/jobpreparationandreleasetaskstatus");
    assert_eq!(
        r.query,
        "api-version=2024-07-01.20.0&%24filter=nodeId%20eq%20%27tvm-1%27&maxresults=10"
    );
    assert_eq!(
        r.header("content-length"),
        None,
        "GET sends no Content-Length"
    );
    assert_eq!(
        r.header("authorization"),
        Some("SharedKey myaccount:vNglIgJ8dvK0AHYj1nnkcHU8sm1Qq45cHiK5u9/owTU=")
    );
}

#[tokio::test]
async fn terminate_with_reason_force_conditions_and_timeout() {
    let mock = Mock::start(|_, _| {
        Reply::new(202)
            .header("etag", "0xNEW")
            .header("request-id", "rid")
    })
    .await;
    let (job, _) = ids();
    let since = chrono::Utc.with_ymd_and_hms(2017, 2, 16, 12, 0, 0).unwrap();
    let out = backend(&mock)
        .terminate_job(
            &job,
            TerminateJobOptions::default()
                .with_reason("superseded")
                .with_force(true)
                .with_server_timeout(Duration::from_secs(20))
                .with_preconditions(
                    Preconditions::default()
                        .with_if_match("0xOLD")
                        .with_if_unmodified_since(since),
                ),
        )
        .await
        .unwrap();
    assert_eq!(out.disposition, TerminateDisposition::Accepted);
    assert_eq!(out.etag.unwrap().as_str(), "0xNEW");
    let r = &mock.seen()[0];
    assert_eq!(r.path, "/jobs/job-1/terminate");
    assert_eq!(r.query, "api-version=2024-07-01.20.0&force=true&timeout=20");
    assert_eq!(r.body, br#"{"terminateReason":"superseded"}"#);
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str())
    );
    assert_eq!(r.header_count("content-length"), 1);
    assert_eq!(
        r.header("content-type"),
        Some("application/json; odata=minimalmetadata")
    );
    assert_eq!(r.header("if-match"), Some("0xOLD"));
    assert_eq!(
        r.header("if-unmodified-since"),
        Some("Thu, 16 Feb 2017 12:00:00 GMT")
    );
    r.assert_signed("myaccount");
}

#[tokio::test]
async fn terminate_without_reason_sends_no_body_and_2025_spells_timeout_in_lowercase() {
    let mock = Mock::start(|_, _| Reply::new(202)).await;
    let (job, _) = ids();
    builder(&mock)
        .with_api_version(ApiVersion::V2025_06_01)
        .build()
        .unwrap()
        .terminate_job(
            &job,
            TerminateJobOptions::default().with_server_timeout(Duration::from_secs(30)),
        )
        .await
        .unwrap();
    let r = &mock.seen()[0];
    // `timeout` in lowercase on 2025-06-01 too (its spec says `timeOut`): the service takes
    // either, and only the lowercase name signs the same under both Shared Key rules.
    assert_eq!(r.query, "api-version=2025-06-01&timeout=30");
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-length"), Some("0"));
    assert_eq!(r.header("content-type"), None);
    r.assert_signed("myaccount");
    r.assert_signed_as(QueryNameCase::AsSent, "myaccount");
}

#[tokio::test]
async fn force_on_an_old_version_fails_before_any_request() {
    let mock = Mock::start(|_, _| Reply::new(202)).await;
    let (job, _) = ids();
    let b = builder(&mock)
        .with_api_version(ApiVersion::V2023_11_01_18_0)
        .build()
        .unwrap();
    assert!(!b.capabilities().terminate_job_force);
    let e = b
        .terminate_job(&job, TerminateJobOptions::default().with_force(true))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Unsupported {
                option: Some("force"),
                ..
            }
        ),
        "{e}"
    );
    assert!(mock.seen().is_empty());
}

// ----- retries -----

#[tokio::test]
async fn retries_keep_the_client_request_id_and_honour_retry_after() {
    let mock = Mock::start(|_, n| match n {
        0 => Reply::error(503, "ServerBusy").header("retry-after-ms", "300"),
        1 => Reply::error(500, "InternalError"),
        _ => Reply::json(
            200,
            r#"{"id":"job-1","state":"terminating","previousState":"active"}"#,
        )
        .header("etag", "0xHDR")
        .header("last-modified", "Fri, 17 Feb 2017 00:00:01 GMT"),
    })
    .await;
    let (job, _) = ids();
    let s = backend(&mock)
        .job_status(&job, StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(s.state, JobState::Terminating);
    assert_eq!(s.etag.unwrap().as_str(), "0xHDR");
    assert_eq!(
        s.last_modified.unwrap().to_rfc3339(),
        "2017-02-17T00:00:01+00:00"
    );
    let seen = mock.seen();
    assert_eq!(seen.len(), 3);
    let crid = seen[0].header("client-request-id").unwrap();
    assert!(
        seen.iter()
            .all(|r| r.header("client-request-id") == Some(crid))
    );
    for r in &seen {
        r.assert_signed("myaccount");
    }
}

#[tokio::test]
async fn reactivate_is_not_replayed_after_it_may_have_run() {
    let mock = Mock::start(|_, _| Reply::error(500, "InternalError")).await;
    let (job, task) = ids();
    let e = backend(&mock)
        .reactivate_task(&job, &task, ReactivateTaskOptions::default())
        .await
        .unwrap_err();
    assert!(e.is_retryable());
    assert_eq!(e.code(), Some("InternalError"));
    assert_eq!(e.request_id(), Some("rid-InternalError"));
    // One reactivation; then a read-back to learn whether it ran, which failed too, so
    // nothing was sent again.
    let methods: Vec<String> = mock.seen().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods[0], "POST");
    assert_eq!(
        methods.iter().filter(|m| *m == "POST").count(),
        1,
        "{methods:?}"
    );
    assert!(methods[1..].iter().all(|m| m == "GET"), "{methods:?}");

    // ...but a throttled one is (the server refused it).
    let mock = Mock::start(|_, n| {
        if n == 0 {
            Reply::new(429).header("retry-after", "0")
        } else {
            Reply::new(204)
        }
    })
    .await;
    backend(&mock)
        .reactivate_task(&job, &task, ReactivateTaskOptions::default())
        .await
        .unwrap();
    assert_eq!(mock.seen().len(), 2);
}

#[tokio::test]
async fn a_throttled_operation_is_sent_slower_unless_adaptation_is_off() {
    let throttle_first = |_: &_, n: usize| {
        if n == 0 {
            Reply::new(429).header("retry-after", "0")
        } else {
            Reply::json(200, r#"{"id":"job-1","state":"active"}"#)
        }
    };
    let (job, _) = ids();
    let mock = Mock::start(throttle_first).await;
    let b = backend(&mock);
    assert_eq!(
        b.rate_limit(Operation::JobStatus),
        None,
        "no rate before a throttle"
    );
    b.job_status(&job, StatusOptions::default()).await.unwrap();
    assert_eq!(mock.seen().len(), 2, "the throttled read was retried");
    let quota = b
        .rate_limit(Operation::JobStatus)
        .expect("limited after a throttle");
    assert!(quota.per_second_f64() < 1.0, "{quota}");
    assert_eq!(
        b.rate_limit(Operation::ListJobs),
        None,
        "other operations untouched"
    );

    let mock = Mock::start(throttle_first).await;
    let b = builder(&mock)
        .with_adaptive_rate_limits(false)
        .build()
        .unwrap();
    b.job_status(&job, StatusOptions::default()).await.unwrap();
    assert_eq!(b.rate_limit(Operation::JobStatus), None);
}

#[tokio::test]
async fn throttling_reports_retry_after_seconds() {
    let mock = Mock::start(|_, _| Reply::new(429).header("retry-after", "7")).await;
    let (job, _) = ids();
    let e = builder(&mock)
        .with_retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
        .job_status(&job, StatusOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Throttled { .. }), "{e}");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
}

/// The millisecond hints reach the error exactly; `RetryPolicy::run` waits at least that long
/// (proved on a paused clock in `polybatch::retry`), so no test here has to time a retry.
#[tokio::test]
async fn throttling_reports_retry_after_milliseconds() {
    for header in ["retry-after-ms", "x-ms-retry-after-ms"] {
        let mock =
            Mock::start(move |_, _| Reply::error(503, "ServerBusy").header(header, "300")).await;
        let (job, _) = ids();
        let e = builder(&mock)
            .with_retry_policy(RetryPolicy::none())
            .build()
            .unwrap()
            .job_status(&job, StatusOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Throttled { .. }), "{header}: {e}");
        assert_eq!(
            e.retry_after(),
            Some(Duration::from_millis(300)),
            "{header}"
        );
    }
}

// ----- error mapping over the wire -----

#[tokio::test]
async fn terminate_is_idempotent_over_409s() {
    let (job, _) = ids();
    for (code, want) in [
        ("JobCompleted", TerminateDisposition::AlreadyCompleted),
        (
            "JobBeingTerminated",
            TerminateDisposition::AlreadyTerminating,
        ),
    ] {
        let mock = Mock::start(move |_, _| Reply::error(409, code)).await;
        let out = backend(&mock)
            .terminate_job(&job, TerminateJobOptions::default())
            .await
            .unwrap();
        assert_eq!(out.disposition, want);
        assert_eq!(out.request_id, Some(format!("rid-{code}")));
    }
    let mock = Mock::start(|_, _| Reply::error(409, "JobBeingDeleted")).await;
    let e = backend(&mock)
        .terminate_job(&job, TerminateJobOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidState { .. }), "{e}");
    assert_eq!(e.code(), Some("JobBeingDeleted"));
}

#[tokio::test]
async fn a_forced_terminate_that_meets_one_under_way_is_reported_not_forced() {
    let (job, _) = ids();
    let forced = TerminateJobOptions::default().with_force(true);
    let mock = Mock::start(|_, _| Reply::error(409, "JobBeingTerminated")).await;
    let out = backend(&mock)
        .terminate_job(&job, forced.clone())
        .await
        .unwrap();
    assert_eq!(out.disposition, TerminateDisposition::AlreadyTerminating);
    assert_eq!(
        out.forced,
        Some(false),
        "the earlier terminate was not forced"
    );
    let out = backend(&mock)
        .terminate_job(&job, TerminateJobOptions::default())
        .await
        .unwrap();
    assert_eq!(out.forced, None, "force was not asked");

    let mock = Mock::start(|_, _| Reply::new(202)).await;
    let out = backend(&mock).terminate_job(&job, forced).await.unwrap();
    assert_eq!(out.disposition, TerminateDisposition::Accepted);
    assert_eq!(out.forced, Some(true));
}

#[tokio::test]
async fn statuses_and_empty_bodies_map_to_typed_errors() {
    let (job, task) = ids();
    let mock = Mock::start(|_, n| match n {
        0 => Reply::new(404).header("request-id", "rid-404"),
        1 => Reply::new(304),
        2 => Reply::error(409, "TaskSucceeded"),
        _ => Reply::json(200, "not json"),
    })
    .await;
    let b = backend(&mock);
    let e = b
        .task_status(&job, &task, StatusOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    assert_eq!(e.request_id(), Some("rid-404"));
    let e = b
        .job_status(&job, StatusOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::PreconditionFailed { .. }), "{e}");
    let e = b
        .reactivate_task(&job, &task, ReactivateTaskOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidState { .. }), "{e}");
    assert_eq!(e.code(), Some("TaskSucceeded"));
    // A body that is not the expected JSON is retried (a garbled answer may come right),
    // then reported with every attempt.
    let e = b
        .job_status(&job, StatusOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Service {
                retryable: true,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.attempts().len() > 1, "{e}");
    assert!(e.attempts().iter().all(|a| a.kind == "service"), "{e}");
}

#[tokio::test]
async fn an_answer_of_odata_metadata_only_is_refused_and_fetched_again() {
    let (job, _) = ids();
    let metadata_only = r#"{"odata.metadata":"https://acct/$metadata#jobs/@Element"}"#;
    let good = r#"{"odata.metadata":"m","id":"job-1","state":"active","poolInfo":{"poolId":"p"}}"#;
    let mock = Mock::start(move |_, n| match n {
        0 => Reply::json(200, metadata_only),
        1 => Reply::json(200, "{}"),
        _ => Reply::json(200, good),
    })
    .await;
    let status = backend(&mock)
        .job_status(&job, StatusOptions::default())
        .await
        .expect("the third answer is a job");
    assert_eq!(status.provider_state, "active");
    assert_eq!(mock.seen().len(), 3, "both bare answers were fetched again");
}

#[tokio::test]
async fn authentication_failure_shows_the_servers_string_to_sign_never_the_key() {
    let mock = Mock::start(|_, _| {
        Reply::json(
            403,
            format!(
                r#"{{"code":"AuthenticationFailed","message":{{"value":"Server failed to authenticate the request.\nRequestId:r"}},"values":[{{"key":"AuthenticationErrorDetail","value":"Server used following string to sign: 'GET\n\n/myaccount/jobs/job-1' (echo {KEY})"}}]}}"#
            ),
        )
    })
    .await;
    let (job, _) = ids();
    let e = backend(&mock)
        .job_status(&job, StatusOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e}");
    let shown = format!("{e} {e:?}");
    assert!(
        shown.contains("Server used following string to sign"),
        "{shown}"
    );
    assert!(!shown.contains(KEY), "{shown}");
}

#[tokio::test]
async fn prep_task_not_specified_is_typed() {
    let mock = Mock::start(|_, _| Reply::error(409, "JobPreparationTaskNotSpecified")).await;
    let (job, _) = ids();
    let all: Vec<_> = backend(&mock)
        .list_prep_release_status(&job, ListPrepReleaseOptions::default())
        .collect()
        .await;
    assert_eq!(all.len(), 1);
    let e = all.into_iter().next().unwrap().unwrap_err();
    assert!(matches!(e, Error::InvalidState { .. }), "{e}");
    assert!(
        e.message()
            .contains("no job preparation or job release task")
    );
}

// ----- transport -----

#[tokio::test]
async fn connection_refused_is_certainly_not_sent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let (job, task) = ids();
    let e = AzureBatchBuilder::new()
        .with_endpoint(format!("http://{addr}"))
        .with_account("myaccount")
        .with_shared_key(KEY)
        .with_retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
        .reactivate_task(&job, &task, ReactivateTaskOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Transport {
                maybe_sent: false,
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn slow_server_times_out() {
    let mock = Mock::start(|_, _| Reply {
        delay: Some(Duration::from_secs(3)),
        ..Reply::new(200)
    })
    .await;
    let (job, _) = ids();
    let e = builder(&mock)
        .with_timeout(Duration::from_millis(200))
        .with_retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
        .job_status(&job, StatusOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
}

// ----- paging -----

fn prep_item(node: &str) -> String {
    format!(
        r#"{{"poolId":"p","nodeId":"{node}","jobPreparationTaskExecutionInfo":{{"state":"completed","startTime":"2015-05-01T10:20:31Z","exitCode":0,"retryCount":0,"result":"success"}}}}"#
    )
}

#[tokio::test]
async fn next_links_are_followed_lazily() {
    let base = Arc::new(Mutex::new(String::new()));
    let b2 = base.clone();
    let mock = Mock::start(move |_, n| {
        let base = b2.lock().unwrap().clone();
        match n {
            0 => Reply::json(
                200,
                format!(
                    r#"{{"value":[{}],"odata.nextLink":"{base}/jobs/job-1/jobpreparationandreleasetaskstatus?$skiptoken=tvm-1%2B&maxresults=1"}}"#,
                    prep_item("tvm-1")
                ),
            ),
            _ => Reply::json(200, format!(r#"{{"value":[{}]}}"#, prep_item("tvm-2"))),
        }
    })
    .await;
    *base.lock().unwrap() = mock.base.clone();
    let (job, _) = ids();
    let mut stream = backend(&mock)
        .list_prep_release_status(&job, ListPrepReleaseOptions::default().with_page_size(1));
    assert!(mock.seen().is_empty(), "nothing before polling");
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.node_id, "tvm-1");
    assert_eq!(mock.seen().len(), 1, "second page not fetched yet");
    let second = stream.next().await.unwrap().unwrap();
    assert_eq!(second.node_id, "tvm-2");
    assert!(stream.next().await.is_none());
    let seen = mock.seen();
    assert_eq!(seen.len(), 2);
    // The link's query is kept verbatim; api-version is added because it was missing.
    assert_eq!(
        seen[1].query,
        "$skiptoken=tvm-1%2B&maxresults=1&api-version=2024-07-01.20.0"
    );
    seen[1].assert_signed("myaccount");
}

#[tokio::test]
async fn next_links_are_followed_with_the_configured_api_version() {
    let base = Arc::new(Mutex::new(String::new()));
    let b2 = base.clone();
    let mock = Mock::start(move |_, n| {
        let base = b2.lock().unwrap().clone();
        let body = if n == 0 {
            // A link naming another version (the service's links carry one).
            format!(
                r#"{{"value":[{}],"odata.nextLink":"{base}/jobs/job-1/jobpreparationandreleasetaskstatus?$skiptoken=tvm-1&api-version=2025-06-01.21.0"}}"#,
                prep_item("tvm-1")
            )
        } else {
            format!(r#"{{"value":[{}]}}"#, prep_item("tvm-2"))
        };
        Reply::json(200, body)
    })
    .await;
    *base.lock().unwrap() = mock.base.clone();
    let (job, _) = ids();
    let all: Vec<_> = backend(&mock)
        .list_prep_release_status(&job, ListPrepReleaseOptions::default())
        .collect()
        .await;
    assert_eq!(all.len(), 2);
    let seen = mock.seen();
    assert_eq!(seen.len(), 2);
    // As the Python SDK does: the client's api-version replaces the link's.
    assert_eq!(
        seen[1].query,
        "$skiptoken=tvm-1&api-version=2024-07-01.20.0"
    );
    seen[1].assert_signed("myaccount");
}

#[tokio::test]
async fn off_host_next_links_are_refused() {
    let mock = Mock::start(|_, _| {
        Reply::json(
            200,
            format!(
                r#"{{"value":[{}],"odata.nextLink":"https://collector.example.com/jobs/job-1/jobpreparationandreleasetaskstatus?$skiptoken=x"}}"#,
                prep_item("tvm-1")
            ),
        )
    })
    .await;
    let (job, _) = ids();
    let all: Vec<_> = backend(&mock)
        .list_prep_release_status(&job, ListPrepReleaseOptions::default())
        .collect()
        .await;
    assert_eq!(all.len(), 2);
    assert!(all[0].is_ok());
    let e = all[1].as_ref().unwrap_err();
    assert!(
        e.message().contains("refusing to follow odata.nextLink"),
        "{e}"
    );
    assert_eq!(mock.seen().len(), 1, "nothing sent to the other host");
}

/// A prep/release listing whose every page links to `$skiptoken={token(n)}` (n: the request's
/// index), at most 10 items read (so that a loop fails the test instead of hanging it), and the
/// requests it made.
async fn listing_with_links(
    token: fn(usize) -> &'static str,
) -> (Vec<polybatch::Result<polybatch::PrepReleaseStatus>>, usize) {
    let base = Arc::new(Mutex::new(String::new()));
    let b2 = base.clone();
    let mock = Mock::start(move |_, n| {
        let base = b2.lock().unwrap().clone();
        let token = token(n);
        Reply::json(
            200,
            format!(
                r#"{{"value":[{}],"odata.nextLink":"{base}/jobs/job-1/jobpreparationandreleasetaskstatus?$skiptoken={token}&api-version=2024-07-01.20.0"}}"#,
                prep_item("tvm-1")
            ),
        )
    })
    .await;
    *base.lock().unwrap() = mock.base.clone();
    let (job, _) = ids();
    let all: Vec<_> = backend(&mock)
        .list_prep_release_status(&job, ListPrepReleaseOptions::default())
        .take(10)
        .collect()
        .await;
    (all, mock.seen().len())
}

#[tokio::test]
async fn a_next_link_that_repeats_ends_the_listing_with_an_error() {
    let (all, requests) = listing_with_links(|_| "same").await;
    // Page 1, page 2 (the link), then the repeat is refused instead of looping.
    assert_eq!(all.len(), 3);
    assert!(all[0].is_ok() && all[1].is_ok());
    let e = all[2].as_ref().unwrap_err();
    assert!(e.message().contains("repeats"), "{e}");
    assert_eq!(requests, 2);
}

/// Two links that lead to each other are a loop too: the first one offered again ends it.
#[tokio::test]
async fn next_links_that_cycle_end_the_listing_with_an_error() {
    let (all, requests) = listing_with_links(|n| if n.is_multiple_of(2) { "a" } else { "b" }).await;
    // The first page links to a, a to b, b to a again: three pages, then the refusal.
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(all[..3].iter().all(Result::is_ok));
    let e = all[3].as_ref().unwrap_err();
    assert!(e.message().contains("repeats"), "{e}");
    assert_eq!(requests, 3);
}

#[tokio::test]
async fn invalid_page_size_fails_before_any_request() {
    let mock = Mock::start(|_, _| Reply::json(200, r#"{"value":[]}"#)).await;
    let (job, _) = ids();
    let all: Vec<_> = backend(&mock)
        .list_prep_release_status(&job, ListPrepReleaseOptions::default().with_page_size(0))
        .collect()
        .await;
    assert!(matches!(all.as_slice(), [Err(Error::InvalidInput { .. })]));
    assert!(mock.seen().is_empty());
}

// ----- retry_failed_tasks and extras -----

#[tokio::test]
async fn retry_failed_tasks_lists_then_reactivates_each() {
    let lists = Arc::new(AtomicUsize::new(0));
    let l2 = lists.clone();
    let mock = Mock::start(move |r, _| {
        if r.method == "GET" {
            l2.fetch_add(1, Ordering::SeqCst);
            let t = |id: &str| TASK_FAILED.replace("\"task-1\"", &format!("\"{id}\""));
            Reply::json(
                200,
                format!(r#"{{"value":[{},{},{}]}}"#, t("t-a"), t("t-b"), t("t-c")),
            )
        } else if r.path.contains("/t-b/") {
            Reply::error(409, "JobBeingTerminated")
        } else {
            Reply::new(204)
        }
    })
    .await;
    let (job, _) = ids();
    let out = backend(&mock)
        .retry_failed_tasks(
            &job,
            polybatch::RetryFailedTasksOptions::default().with_concurrency(2),
        )
        .await
        .unwrap();
    let retried: Vec<&str> = out.retried.iter().map(TaskId::as_str).collect();
    assert_eq!(retried, vec!["t-a", "t-c"]);
    assert_eq!(out.not_retried.len(), 1);
    assert_eq!(out.not_retried[0].task_id.as_str(), "t-b");
    assert_eq!(out.not_retried[0].error.code(), Some("JobBeingTerminated"));
    assert_eq!(lists.load(Ordering::SeqCst), 1);
    let seen = mock.seen();
    let list = seen.iter().find(|r| r.method == "GET").unwrap();
    assert_eq!(list.path, "/jobs/job-1/tasks");
    let query = signing::decode_query(&list.query);
    let get = |name: &str| {
        query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    // Only the failed ones, and only their ids and ETags.
    assert_eq!(get("$filter"), Some("executionInfo/result eq 'failure'"));
    assert_eq!(get("$select"), Some("id,eTag"));
    assert_eq!(seen.iter().filter(|r| r.method == "POST").count(), 3);
}

#[tokio::test]
async fn task_status_and_list_tasks() {
    let mock = Mock::start(|r, _| {
        if r.path.ends_with("/tasks") {
            Reply::json(200, format!(r#"{{"value":[{TASK_FAILED}]}}"#))
        } else {
            Reply::json(200, TASK_FAILED)
        }
    })
    .await;
    let (job, task) = ids();
    let b = backend(&mock);
    let s = b
        .task_status(&job, &task, StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(s.state, TaskState::Failed);
    assert_eq!(s.exit_code, Some(3));
    assert_eq!(s.etag.unwrap().as_str(), "0xBODY");
    let listed: Vec<_> = b
        .list_tasks_filtered(&job, Some("state eq 'completed'".into()))
        .collect()
        .await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].as_ref().unwrap().task_id, task);
}

#[tokio::test]
async fn terminate_task_takes_conditions_and_the_server_timeout() {
    let mock = Mock::start(|_, _| Reply::new(204).header("etag", "0xT")).await;
    let (job, task) = ids();
    let out = backend(&mock)
        .terminate_task(
            &job,
            &task,
            TerminateTaskOptions::default()
                .with_preconditions(Preconditions::default().with_if_match("0xOLD"))
                .with_server_timeout(Duration::from_secs(12)),
        )
        .await
        .unwrap();
    assert_eq!(out.etag.unwrap().as_str(), "0xT");
    let r = &mock.seen()[0];
    assert_eq!(r.path, "/jobs/job-1/tasks/task-1/terminate");
    assert_eq!(r.query, "api-version=2024-07-01.20.0&timeout=12");
    assert_eq!(r.header("if-match"), Some("0xOLD"));
    r.assert_signed("myaccount");
}

#[tokio::test]
async fn task_completed_answering_a_retry_of_terminate_task_is_success() {
    // The first attempt was lost (503); the retry finds the task completed: by that attempt.
    let mock = Mock::start(|_, n| match n {
        0 => Reply::error(503, "ServerBusy"),
        _ => Reply::error(409, "TaskCompleted"),
    })
    .await;
    let (job, task) = ids();
    let out = backend(&mock)
        .terminate_task(&job, &task, TerminateTaskOptions::default())
        .await
        .unwrap();
    assert_eq!(out.request_id.as_deref(), Some("rid-TaskCompleted"));
    assert_eq!(out.etag, None);
    assert_eq!(mock.seen().len(), 2);

    assert_eq!(out.disposition, TerminateDisposition::AlreadyCompleted);

    // On the first attempt too: nothing to stop.
    let mock = Mock::start(|_, _| Reply::error(409, "TaskCompleted")).await;
    let out = backend(&mock)
        .terminate_task(&job, &task, TerminateTaskOptions::default())
        .await
        .unwrap();
    assert_eq!(out.disposition, TerminateDisposition::AlreadyCompleted);
    assert_eq!(mock.seen().len(), 1);
}

#[tokio::test]
async fn status_reads_select_properties_and_a_304_is_not_modified() {
    let mock = Mock::start(|r, _| {
        if r.header("if-none-match") == Some("0xSAME") {
            Reply::new(304).header("request-id", "rid-304")
        } else {
            Reply::json(200, r#"{"id":"job-1","state":"active","eTag":"0xSAME"}"#)
                .header("etag", "0xSAME")
        }
    })
    .await;
    let (job, task) = ids();
    let b = backend(&mock);
    let s = b
        .job_status(
            &job,
            StatusOptions::default().with_select(["id", "state", "eTag"]),
        )
        .await
        .unwrap();
    assert_eq!(s.state, JobState::Active);
    let etag = s.etag.unwrap();
    let e = b
        .job_status(
            &job,
            StatusOptions::default()
                .with_select(["state"])
                .with_if_none_match(etag.clone()),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::PreconditionFailed { .. }), "{e:?}");
    assert!(e.message().contains("not modified"), "{e}");
    assert_eq!(e.request_id(), Some("rid-304"));
    let e = b
        .task_status(
            &job,
            &task,
            StatusOptions::default().with_if_none_match(etag),
        )
        .await
        .unwrap_err();
    assert!(e.message().contains("not modified"), "{e}");

    let seen = mock.seen();
    assert_eq!(seen.len(), 3, "a 304 is not retried");
    assert_eq!(
        seen[0].query,
        "api-version=2024-07-01.20.0&%24select=id%2Cstate%2CeTag"
    );
    assert_eq!(seen[0].header("if-none-match"), None);
    assert_eq!(seen[1].query, "api-version=2024-07-01.20.0&%24select=state");
    assert_eq!(seen[1].header("if-none-match"), Some("0xSAME"));
    assert_eq!(seen[2].path, "/jobs/job-1/tasks/task-1");
    assert_eq!(seen[2].header("if-none-match"), Some("0xSAME"));
    for r in &seen {
        r.assert_signed("myaccount");
    }
}

#[tokio::test]
async fn add_job_add_task_and_terminate_task() {
    let mock = Mock::start(|r, _| {
        if r.path.ends_with("/terminate") {
            Reply::new(204)
        } else {
            Reply::new(201)
                .header("etag", "0xC")
                .header("request-id", "rid-add")
        }
    })
    .await;
    let (job, task) = ids();
    let b = backend(&mock);
    let out = b
        .add_job(
            AddJobRequest::new(job.clone(), "pool-1")
                .with_preparation_task(JobTaskSpec::new("echo prep").with_env("A", "1"))
                .with_release_task(JobTaskSpec::new("echo release"))
                .with_on_all_tasks_complete(OnAllTasksComplete::TerminateJob)
                .with_max_task_retry_count(0),
        )
        .await
        .unwrap();
    assert_eq!(out.request_id.as_deref(), Some("rid-add"));
    b.add_task(
        &job,
        AddTaskRequest::new(task.clone(), "/bin/sh -c 'exit 3'")
            .with_env("X", "y")
            .with_max_task_retry_count(0),
    )
    .await
    .unwrap();
    b.terminate_task(&job, &task, TerminateTaskOptions::default())
        .await
        .unwrap();
    let seen = mock.seen();
    assert_eq!(seen[0].path, "/jobs");
    let body: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "id": "job-1",
            "poolInfo": {"poolId": "pool-1"},
            "jobPreparationTask": {"commandLine": "echo prep", "environmentSettings": [{"name": "A", "value": "1"}]},
            "jobReleaseTask": {"commandLine": "echo release"},
            "onAllTasksComplete": "terminatejob",
            "constraints": {"maxTaskRetryCount": 0}
        })
    );
    assert_eq!(seen[1].path, "/jobs/job-1/tasks");
    let body: serde_json::Value = serde_json::from_slice(&seen[1].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "id": "task-1",
            "commandLine": "/bin/sh -c 'exit 3'",
            "environmentSettings": [{"name": "X", "value": "y"}],
            "constraints": {"maxTaskRetryCount": 0}
        })
    );
    assert_eq!(seen[2].path, "/jobs/job-1/tasks/task-1/terminate");
    for r in &seen {
        r.assert_signed("myaccount");
        assert_eq!(r.header_count("content-length"), 1);
    }
}

// ----- Microsoft Entra ID -----

#[tokio::test]
async fn entra_fetches_one_token_and_sends_bearer() {
    let mock = Mock::start(|r, _| {
        if r.path == "/tenant-1/oauth2/v2.0/token" {
            Reply::json(
                200,
                r#"{"token_type":"Bearer","expires_in":3599,"access_token":"tok-abc123"}"#,
            )
        } else {
            Reply::json(200, r#"{"id":"job-1","state":"active"}"#)
        }
    })
    .await;
    let b = AzureBatchBuilder::new()
        .with_endpoint(&mock.base)
        .with_client_credentials("tenant-1", "client-1", "s3cret-value")
        .with_authority_host(&mock.base)
        .with_retry_policy(fast_retries())
        .build()
        .unwrap();
    let (job, _) = ids();
    let calls = (0..3).map(|_| b.job_status(&job, StatusOptions::default()));
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.unwrap().state, JobState::Active);
    }
    let seen = mock.seen();
    let token_calls: Vec<&Recorded> = seen.iter().filter(|r| r.path.contains("oauth2")).collect();
    assert_eq!(token_calls.len(), 1);
    let form = signing::decode_query(std::str::from_utf8(&token_calls[0].body).unwrap());
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("grant_type"), Some("client_credentials"));
    assert_eq!(get("client_id"), Some("client-1"));
    assert_eq!(get("client_secret"), Some("s3cret-value"));
    assert_eq!(
        get("scope"),
        Some("https://batch.core.windows.net//.default")
    );
    for r in seen.iter().filter(|r| r.path.starts_with("/jobs")) {
        assert_eq!(r.header("authorization"), Some("Bearer tok-abc123"));
        assert!(r.header("ocp-date").is_some());
    }
    let shown = format!("{b:?} {b}");
    assert!(
        !shown.contains("tok-abc123") && !shown.contains("s3cret-value"),
        "{shown}"
    );
}

/// A loopback address where nothing listens.
fn refused_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

#[tokio::test]
async fn entra_asks_for_the_batch_scope_of_the_endpoints_cloud() {
    for (endpoint, scope) in [
        (
            "https://acct.westus.batch.azure.com",
            "https://batch.core.windows.net//.default",
        ),
        (
            "https://acct.chinanorth.batch.chinacloudapi.cn",
            "https://batch.chinacloudapi.cn//.default",
        ),
        (
            "https://acct.usgovvirginia.batch.usgovcloudapi.net",
            "https://batch.core.usgovcloudapi.net//.default",
        ),
    ] {
        // The token endpoint is the loopback mock; the Batch request goes through a loopback
        // "proxy" where nothing listens, so nothing leaves this machine.
        let mock =
            Mock::start(|_, _| Reply::json(200, r#"{"expires_in":3599,"access_token":"tok"}"#))
                .await;
        let b = AzureBatchBuilder::new()
            .with_endpoint(endpoint)
            .with_client_credentials("tenant-1", "client-1", "secret")
            .with_authority_host(&mock.base)
            .with_retry_policy(RetryPolicy::none())
            .with_client_options(
                polybatch_azure::ClientOptions::default()
                    .with_proxy(polybatch_azure::Proxy::url(refused_addr())),
            )
            .build()
            .unwrap();
        let (job, _) = ids();
        let e = b
            .job_status(&job, StatusOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Transport { .. }), "{endpoint}: {e:?}");
        let seen = mock.seen();
        assert_eq!(seen.len(), 1, "{endpoint}: one token request");
        let form = signing::decode_query(std::str::from_utf8(&seen[0].body).unwrap());
        let asked = form
            .iter()
            .find(|(n, _)| n == "scope")
            .map(|(_, v)| v.as_str());
        assert_eq!(asked, Some(scope), "{endpoint}");
    }
}

#[tokio::test]
async fn entra_token_errors_are_unauthenticated_without_the_secret() {
    let mock = Mock::start(|_, _| {
        Reply::json(
            401,
            r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Got s3cret-value.\r\nTrace ID: 1\r\nCorrelation ID: 2","error_codes":[7000215]}"#,
        )
    })
    .await;
    let b = AzureBatchBuilder::new()
        .with_endpoint(&mock.base)
        .with_client_credentials("tenant-1", "client-1", "s3cret-value")
        .with_authority_host(&mock.base)
        .with_retry_policy(fast_retries())
        .build()
        .unwrap();
    let (job, _) = ids();
    let e = b
        .job_status(&job, StatusOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e}");
    assert_eq!(e.code(), Some("invalid_client"));
    let shown = format!("{e} {e:?}");
    assert!(shown.contains("AADSTS7000215"), "{shown}");
    assert!(!shown.contains("s3cret-value"), "{shown}");
    assert!(!shown.contains("Trace ID"), "{shown}");
    assert_eq!(mock.seen().len(), 1, "no Batch request without a token");
}
