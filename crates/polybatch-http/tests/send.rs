//! `send` against tiny servers on 127.0.0.1: capped bodies, request ids, the classification of
//! failures, redaction, and what the trace span records. No test asserts on wall time: the
//! timeout test runs on tokio's paused clock.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap as AxumHeaders, StatusCode};
use axum::routing::get;
use polybatch::Error;
use polybatch::secret::{REDACTED, Secret};
use polybatch_http::{ClientOptions, DEFAULT_USER_AGENT, Request, send};
use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

mod support;

use support::{TOKEN, auth_headers, client, ctx, serve};

/// A URL on 127.0.0.1 where nothing listens.
fn refused_url(path_and_query: &str) -> Url {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    Url::parse(&format!("http://{addr}{path_and_query}")).unwrap()
}

#[tokio::test]
async fn body_is_capped_and_truncation_is_reported() {
    let app = Router::new()
        .route("/big", get(|| async { "x".repeat(10_000) }))
        .route(
            "/error",
            get(|| async { (StatusCode::BAD_GATEWAY, "e".repeat(10_000)) }),
        );
    let base = serve(app).await;
    let http = client(&base);
    let big = base.join("/big").unwrap();

    let r = send(&http, Request::new(Method::GET, &big, ctx()).max_body(1000))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(r.is_success());
    assert_eq!(r.body.len(), 1000);
    assert!(r.truncated);

    let r = send(
        &http,
        Request::new(Method::GET, &big, ctx()).max_body(10_000),
    )
    .await
    .unwrap();
    assert_eq!(r.body.len(), 10_000);
    assert!(!r.truncated);

    // The error cap applies to non-2xx only.
    let error = base.join("/error").unwrap();
    let request = |url| {
        Request::new(Method::GET, url, ctx())
            .max_body(1 << 20)
            .max_error_body(100)
    };
    let r = send(&http, request(&error)).await.unwrap();
    assert_eq!(r.status, 502);
    assert!(!r.is_success());
    assert_eq!((r.body.len(), r.truncated), (100, true));
    let r = send(&http, request(&big)).await.unwrap();
    assert_eq!((r.body.len(), r.truncated), (10_000, false));
}

#[tokio::test]
async fn request_id_comes_from_the_named_header_and_headers_arrive_intact() {
    let seen: Arc<Mutex<Vec<BTreeMap<String, String>>>> = Arc::default();
    let s = seen.clone();
    let app = Router::new()
        .route(
            "/one",
            get(move |headers: AxumHeaders| {
                let s = s.clone();
                async move {
                    s.lock().unwrap().push(
                        headers
                            .iter()
                            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
                            .collect(),
                    );
                    ([("x-tc-requestid", "rid-tc")], "ok")
                }
            }),
        )
        .route(
            "/both",
            get(|| async {
                (
                    [("request-id", "rid-az"), ("x-tc-requestid", "rid-tc")],
                    "ok",
                )
            }),
        );
    let base = serve(app).await;
    let http = client(&base);
    let request = |url| {
        Request::new(Method::GET, url, ctx())
            .request_id_header("request-id")
            .request_id_header("x-tc-requestid")
    };
    let one = base.join("/one").unwrap();
    let r = send(&http, request(&one).headers(auth_headers()))
        .await
        .unwrap();
    assert_eq!(r.request_id.as_deref(), Some("rid-tc"));
    assert_eq!(r.header("x-tc-requestid"), Some("rid-tc"));
    // The first named header wins when several are present.
    let both = base.join("/both").unwrap();
    let r = send(&http, request(&both)).await.unwrap();
    assert_eq!(r.request_id.as_deref(), Some("rid-az"));
    // No request-id header named: none read.
    let r = send(&http, Request::new(Method::GET, &both, ctx()))
        .await
        .unwrap();
    assert_eq!(r.request_id, None);

    // Marking a header sensitive does not change what is sent.
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["authorization"], TOKEN);
    assert_eq!(seen[0]["x-tc-token"], "session-SECRET");
    assert_eq!(seen[0]["user-agent"], DEFAULT_USER_AGENT);
}

#[tokio::test]
async fn refused_connection_is_certainly_not_sent_and_names_no_query() {
    let url = refused_url("/jobs/job-1?api-version=1&sig=QUERY-SECRET");
    let http = client(&url);
    let e = send(
        &http,
        Request::new(
            Method::POST,
            &url,
            ctx().with_message("client-request-id c-1"),
        )
        .headers(auth_headers())
        .body(Some(b"{}".to_vec())),
    )
    .await
    .unwrap_err();
    assert!(e.certainly_not_sent(), "{e}");
    assert!(e.is_retryable());
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    let shown = format!("{e} | {e:?} | {:?}", std::error::Error::source(&e));
    assert!(shown.contains("POST /jobs/job-1"), "{shown}");
    assert!(shown.contains("client-request-id c-1"), "{shown}");
    for hidden in [
        "QUERY-SECRET",
        "api-version",
        "tok-SECRET",
        "session-SECRET",
    ] {
        assert!(!shown.contains(hidden), "{hidden}: {shown}");
    }
}

#[tokio::test]
async fn secrets_in_error_text_are_redacted() {
    let url = refused_url("/x");
    let http = client(&url);
    // Whatever text the failure has, a secret inside it is replaced: here the secret is a
    // phrase of the OS's own error text, and another one is in the caller's context.
    let in_text = Secret::new("tcp connect error");
    let in_ctx = Secret::new("ctx-SECRET");
    let e = send(
        &http,
        Request::new(Method::GET, &url, ctx().with_message("id ctx-SECRET"))
            .secret(&in_text)
            .secrets([&in_ctx]),
    )
    .await
    .unwrap_err();
    let shown = format!("{e} | {e:?}");
    assert!(!shown.contains("tcp connect error"), "{shown}");
    assert!(!shown.contains("ctx-SECRET"), "{shown}");
    assert!(e.message().contains(REDACTED), "{shown}");
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_times_out() {
    // Accepts, reads the request, and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/slow", listener.local_addr().unwrap())).unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let a = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            a.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            held.push(socket);
        }
    });
    // Only the attempt timeout can fire: the connect timeout is far longer. The paused clock
    // jumps to it as soon as nothing else is ready.
    let http = ClientOptions::default()
        .with_timeout(Duration::from_secs(2))
        .with_connect_timeout(Duration::from_secs(3600))
        .build_client("test", &url)
        .unwrap();
    let e = send(&http, Request::new(Method::GET, &url, ctx()))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert!(e.is_retryable() && !e.certainly_not_sent());
    assert!(accepted.load(Ordering::SeqCst) <= 1);
}

#[tokio::test]
async fn a_body_cut_short_may_have_been_sent_and_keeps_the_request_id() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/cut", listener.local_addr().unwrap())).unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let s = served.clone();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = socket.read(&mut buf).await;
        socket
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\nrequest-id: rid-cut\r\n\r\n0123456789",
            )
            .await
            .unwrap();
        s.fetch_add(1, Ordering::SeqCst);
        // Dropping the socket ends the body 990 bytes early.
    });
    let http = client(&url);
    let e = send(
        &http,
        Request::new(Method::GET, &url, ctx()).request_id_header("request-id"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Transport {
                maybe_sent: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.request_id(), Some("rid-cut"));
    assert_eq!(served.load(Ordering::SeqCst), 1);
}

#[test]
fn request_debug_hides_credentials_and_body() {
    let url = Url::parse("https://h.example.com/p?sig=QUERY-SECRET").unwrap();
    let key = Secret::new("key-SECRET");
    let mut headers = auth_headers();
    headers.insert(
        HeaderName::from_static("x-custom-credential"),
        HeaderValue::from_static("custom-SECRET"),
    );
    let request = Request::new(Method::POST, &url, ctx())
        .headers(headers)
        .sensitive_header("X-Custom-Credential")
        .body(Some(b"client_secret=body-SECRET".to_vec()))
        .secret(&key);
    let shown = format!("{request:?}");
    for hidden in [
        "tok-SECRET",
        "session-SECRET",
        "custom-SECRET",
        "body-SECRET",
        "key-SECRET",
        "QUERY-SECRET",
    ] {
        assert!(!shown.contains(hidden), "{hidden}: {shown}");
    }
    assert!(shown.contains("DescribeJob"), "{shown}");
}
