//! What the test files share: a server on 127.0.0.1, a client for it, credential headers.
#![allow(dead_code)]

use axum::Router;
use polybatch::{ErrorContext, Operation};
use polybatch_http::ClientOptions;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use url::Url;

pub const TOKEN: &str = "Bearer tok-SECRET-1234";

pub fn ctx() -> ErrorContext {
    ErrorContext::new("test", Operation::JobStatus)
}

/// Serves `app` on 127.0.0.1 and returns its base URL.
pub async fn serve(app: Router) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Url::parse(&format!("http://{addr}")).unwrap()
}

pub fn client(base: &Url) -> reqwest::Client {
    ClientOptions::default().build_client("test", base).unwrap()
}

pub fn auth_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(AUTHORIZATION, HeaderValue::from_static(TOKEN));
    h.insert(
        HeaderName::from_static("x-tc-token"),
        HeaderValue::from_static("session-SECRET"),
    );
    h.insert(
        HeaderName::from_static("x-tc-action"),
        HeaderValue::from_static("DescribeJob"),
    );
    h
}
