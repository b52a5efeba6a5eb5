//! AWS Batch error answers as neutral errors, through the real SDK: a loopback server answers
//! each request with one canned AWS error, and the backend's mapping is checked.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use futures::StreamExt;
use polybatch::{BatchBackend, Error, JobId, ListJobsOptions, StatusOptions};
use polybatch_aws::{AwsBatchBackend, AwsBatchBuilder};

/// A server answering every request with `status`, `headers` and `body`, counting requests.
async fn serving(
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
) -> (String, Arc<AtomicU32>) {
    let hits = Arc::new(AtomicU32::new(0));
    let counter = hits.clone();
    let status = axum::http::StatusCode::from_u16(status).unwrap();
    let mut header_map = axum::http::HeaderMap::new();
    for (name, value) in headers {
        header_map.insert(name, value.parse().unwrap());
    }
    let body = axum::body::Bytes::from(body);
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        let reply = (status, header_map.clone(), body.clone());
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            reply
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, hits)
}

/// A server answering every request with `status` and an AWS JSON error of type `kind`.
async fn answering(
    status: u16,
    kind: &'static str,
    message: &'static str,
) -> (String, Arc<AtomicU32>) {
    let headers = vec![
        ("content-type", "application/json".to_string()),
        ("x-amzn-errortype", kind.to_string()),
        ("x-amzn-requestid", "req-123".to_string()),
    ];
    let body = format!(r#"{{"__type":"{kind}","message":"{message}"}}"#);
    serving(status, headers, body.into_bytes()).await
}

async fn backend(url: &str, attempts: u32) -> AwsBatchBackend {
    AwsBatchBuilder::new()
        .with_region("us-east-1")
        .with_endpoint_url(url)
        .with_credentials("AKIDTEST", "SECRET-never-shown", None)
        .with_max_attempts(attempts)
        .build()
        .await
        .unwrap()
}

async fn status_error(status: u16, kind: &'static str, message: &'static str) -> (Error, u32) {
    let (url, hits) = answering(status, kind, message).await;
    let b = backend(&url, 1).await;
    let e = b
        .job_status(&JobId::new("j-1").unwrap(), StatusOptions::default())
        .await
        .unwrap_err();
    (e, hits.load(Ordering::SeqCst))
}

#[tokio::test]
async fn throttling_and_server_errors_are_retryable_client_errors_are_not() {
    let (e, _) = status_error(429, "TooManyRequestsException", "Too Many Requests").await;
    assert!(matches!(e, Error::Throttled { .. }), "{e:?}");
    assert!(e.is_retryable());
    assert_eq!(e.code(), Some("TooManyRequestsException"));
    assert_eq!(e.request_id(), Some("req-123"));

    let (e, _) = status_error(500, "ServerException", "internal").await;
    assert!(matches!(e, Error::Service { .. }), "{e:?}");
    assert!(e.is_retryable());
    // One attempt: nothing to list.
    assert!(e.attempts().is_empty(), "{e}");

    let (e, _) = status_error(400, "ClientException", "Job j-1 not found").await;
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    assert!(!e.is_retryable());

    let (e, _) = status_error(400, "ClientException", "jobs: too many").await;
    assert!(matches!(e, Error::Service { .. }), "{e:?}");
    assert!(!e.is_retryable());
    assert!(!e.to_string().contains("SECRET"), "{e}");

    let (e, _) = status_error(403, "AccessDeniedException", "no").await;
    assert!(matches!(e, Error::PermissionDenied { .. }), "{e:?}");
}

#[tokio::test]
async fn the_sdk_retries_throttling_within_its_attempts() {
    let (url, hits) = answering(429, "TooManyRequestsException", "slow down").await;
    let b = backend(&url, 2).await;
    let e = b
        .job_status(&JobId::new("j-1").unwrap(), StatusOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Throttled { .. }), "{e:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    // The error says how many attempts the SDK made and why each failed.
    let attempts: Vec<String> = e.attempts().iter().map(ToString::to_string).collect();
    assert_eq!(attempts, ["throttled [TooManyRequestsException]"; 2], "{e}");
    assert!(e.to_string().contains("after 2 attempts"), "{e}");
}

#[tokio::test]
async fn bad_configuration_is_refused_before_any_request() {
    for (builder, key) in [
        (
            AwsBatchBuilder::new().with_endpoint_url("http://batch.example.com"),
            "AWS_ENDPOINT_URL",
        ),
        (AwsBatchBuilder::new().with_region("US East"), "AWS_REGION"),
        (
            AwsBatchBuilder::new()
                .with_region("us-east-1")
                .with_max_attempts(0),
            "max_attempts",
        ),
    ] {
        match builder.build().await {
            Err(Error::Configuration { key: k, .. }) => assert_eq!(k, key),
            other => panic!("expected a configuration error for {key}, got {other:?}"),
        }
    }
    let shown = format!(
        "{:?}",
        AwsBatchBuilder::new().with_credentials(
            "AKIDEXAMPLE",
            "SECRET-KEY",
            Some("TOKEN-1".into())
        )
    );
    assert!(
        !shown.contains("SECRET-KEY") && !shown.contains("TOKEN-1"),
        "{shown}"
    );
}

#[tokio::test]
async fn adaptive_retry_is_the_sdks_own_mode() {
    use aws_sdk_batch::config::retry::RetryMode;
    let mode = |b: &AwsBatchBackend| {
        let r = b.sdk_client().config().retry_config().cloned().unwrap();
        (r.mode(), r.max_attempts())
    };
    let (url, _) = answering(500, "ServerException", "down").await;
    let base = || {
        AwsBatchBuilder::new()
            .with_region("us-east-1")
            .with_endpoint_url(&url)
            .with_credentials("AKIDTEST", "SECRET-never-shown", None)
    };
    let b = base().with_adaptive_retry(true).build().await.unwrap();
    assert_eq!(mode(&b), (RetryMode::Adaptive, 3));
    let b = base()
        .with_adaptive_retry(true)
        .with_max_attempts(5)
        .build()
        .await
        .unwrap();
    assert_eq!(mode(&b), (RetryMode::Adaptive, 5));
    let b = base().with_max_attempts(2).build().await.unwrap();
    assert_eq!(mode(&b), (RetryMode::Standard, 2));
}

#[tokio::test]
async fn unreadable_success_answers_are_retried_then_reported_as_retryable() {
    let mut oversized = br#"{"jobs":[],"pad":""#.to_vec();
    oversized.resize(polybatch_aws::MAX_ANSWER_BYTES + 1024, b'x');
    oversized.extend_from_slice(br#""}"#);
    let cases: [(&str, Call, Vec<u8>); 5] = [
        // The SDK would read `{}` as "no such job": the member is missing.
        ("incomplete", Call::Status, b"{}".to_vec()),
        // ...and as an empty page: it fills ListJobs' required list in.
        ("incomplete page", Call::List, b"{}".to_vec()),
        ("garbled", Call::Status, br#"{"jobs":[{"jobId":"#.to_vec()),
        (
            "mistyped",
            Call::Status,
            br#"{"jobs":"not a list"}"#.to_vec(),
        ),
        ("oversized", Call::Status, oversized),
    ];
    for (what, call, body) in cases {
        let json = vec![("content-type", "application/json".to_string())];
        let (url, hits) = serving(200, json, body).await;
        let b = AwsBatchBuilder::new()
            .with_region("us-east-1")
            .with_endpoint_url(&url)
            .with_credentials("AKIDTEST", "SECRET-never-shown", None)
            .with_job_queue("queue-1")
            .with_max_attempts(3)
            .with_backoff(
                std::time::Duration::from_millis(1),
                std::time::Duration::from_millis(2),
            )
            .build()
            .await
            .unwrap();
        let e = match call {
            Call::Status => b
                .job_status(&JobId::new("j-1").unwrap(), StatusOptions::default())
                .await
                .expect_err(what),
            Call::List => b
                .list_jobs(ListJobsOptions::default())
                .next()
                .await
                .expect(what)
                .expect_err(what),
        };
        assert_eq!(hits.load(Ordering::SeqCst), 3, "{what}: every attempt made");
        assert!(e.is_retryable(), "{what}: {e}");
        assert!(!matches!(e, Error::NotFound { .. }), "{what}: {e}");
        assert!(e.to_string().contains("could not be read"), "{what}: {e}");
    }
}

#[derive(Clone, Copy)]
enum Call {
    Status,
    List,
}

/// A backend listing queue `queue-1`, one attempt per call.
async fn one_queue(url: &str) -> AwsBatchBackend {
    AwsBatchBuilder::new()
        .with_region("us-east-1")
        .with_endpoint_url(url)
        .with_credentials("AKIDTEST", "SECRET-never-shown", None)
        .with_job_queue("queue-1")
        .with_max_attempts(1)
        .build()
        .await
        .unwrap()
}

/// A server that answers `ListJobs` with the `nextToken` it was sent (or any token the listing
/// has followed) would serve the same pages forever: the listing ends with an error after the
/// pages it had, and the submit's look-up for its idempotency key fails instead of looping
/// (nothing is submitted).
#[tokio::test]
async fn a_next_token_that_repeats_is_refused_instead_of_looping() {
    let page = br#"{"jobSummaryList":[{"jobId":"a","jobName":"other","status":"RUNNING","createdAt":1}],"nextToken":"t-1"}"#;
    let json = || vec![("content-type", "application/json".to_string())];

    let (url, hits) = serving(200, json(), page.to_vec()).await;
    let b = one_queue(&url).await;
    let options = ListJobsOptions::default().with_state(polybatch::JobState::Running);
    // Bounded, so that a loop fails the test instead of hanging it.
    let bound = std::time::Duration::from_secs(10);
    let listing = b.list_jobs(options).take(10).collect::<Vec<_>>();
    let all = tokio::time::timeout(bound, listing).await.expect("no loop");
    // Page 1 (no token sent), page 2 (t-1 sent, t-1 answered): both pages' items, then the refusal.
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(all[..2].iter().all(Result::is_ok), "{all:?}");
    let e = all[2].as_ref().expect_err("the repeat is refused");
    assert!(
        e.message()
            .contains("nextToken this listing has already followed"),
        "{e}"
    );
    assert!(!e.is_retryable(), "{e}");

    let (url, hits) = serving(200, json(), page.to_vec()).await;
    let b = backend(&url, 1).await;
    let spec = polybatch::JobSpec::new(
        "n",
        polybatch::Placement::AwsJobQueue {
            job_queue: "queue-1".into(),
            job_definition: "d:1".into(),
        },
        vec![polybatch::TaskSpec::shell(
            polybatch::TaskId::new("work").unwrap(),
            "true",
        )],
    );
    let submit = b.submit_job(spec, polybatch::SubmitJobOptions::default());
    let submitted = tokio::time::timeout(bound, submit).await.expect("no loop");
    let e = submitted.expect_err("the look-up fails");
    assert!(
        e.message()
            .contains("nextToken this listing has already followed"),
        "{e}"
    );
    // Two ListJobs (no candidate named "n" to describe); no SubmitJob.
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

/// Two tokens that lead to each other are a loop too: the listing ends at the first one
/// offered again.
#[tokio::test]
async fn next_tokens_that_cycle_end_the_listing() {
    let hits = Arc::new(AtomicU32::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let token = if n.is_multiple_of(2) { "t-1" } else { "t-2" };
        let body = format!(
            r#"{{"jobSummaryList":[{{"jobId":"a{n}","jobName":"x","status":"RUNNING","createdAt":1}}],"nextToken":"{token}"}}"#
        );
        async move { ([("content-type", "application/json")], body) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let b = one_queue(&url).await;
    let options = ListJobsOptions::default().with_state(polybatch::JobState::Running);
    // Bounded, so that a loop fails the test instead of hanging it.
    let all: Vec<_> = b.list_jobs(options).take(10).collect().await;
    // No token, then t-1 (answered t-2), then t-2 (answered t-1): three pages, then the refusal.
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(all[..3].iter().all(Result::is_ok), "{all:?}");
    let e = all[3].as_ref().expect_err("the cycle is refused");
    assert!(e.message().contains("already followed"), "{e}");
}
