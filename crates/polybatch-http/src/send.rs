//! One attempt of one HTTP request: [`send`] a [`Request`] the provider has already signed, and
//! get back a [`Response`] with the body read within a cap, or a classified, redacted
//! [`polybatch::Error`].
//!
//! What stays with the provider is only what differs between providers: computing the headers
//! (signing) before `send`, and parsing the error body and mapping its codes after it.

use std::fmt;
use std::time::Duration;

use polybatch::secret::{Secret, is_sensitive_header, redact};
use polybatch::{Error, ErrorContext, Result};
use reqwest::Method;
use reqwest::header::HeaderMap;
use tokio::time::Instant;
use tracing::Instrument;
use url::Url;

use crate::body::{read_capped, transport_error};

/// One attempt of a request, ready to send: everything is computed (signed) already.
///
/// ```
/// use polybatch::secret::Secret;
/// use polybatch::{ErrorContext, Operation};
/// use polybatch_http::Request;
/// use reqwest::Method;
/// use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
///
/// let url = url::Url::parse("https://batch.example.com/jobs/j1?api-version=1").unwrap();
/// let key = Secret::new("account-key");
/// let mut headers = HeaderMap::new();
/// headers.insert(AUTHORIZATION, HeaderValue::from_static("SharedKey acct:c2lnbmF0dXJl"));
/// let request = Request::new(Method::GET, &url, ErrorContext::new("azure", Operation::JobStatus))
///     .headers(headers)
///     .sensitive_header("authorization")
///     .max_body(32 * 1024 * 1024)
///     .request_id_header("request-id")
///     .secret(&key)
///     .attempt(2);
/// assert!(!format!("{request:?}").contains("c2lnbmF0dXJl"));
/// ```
pub struct Request<'a> {
    method: Method,
    url: &'a Url,
    headers: HeaderMap,
    sensitive: Vec<&'a str>,
    body: Option<Vec<u8>>,
    max_body: usize,
    max_error_body: Option<usize>,
    request_id_headers: Vec<&'a str>,
    secrets: Vec<&'a Secret>,
    attempt: u32,
    ctx: ErrorContext,
}

/// The default response body cap: 32 MiB.
pub const DEFAULT_MAX_BODY: usize = 32 * 1024 * 1024;

impl<'a> Request<'a> {
    /// A request with no headers or body, attempt 1, a 32 MiB body cap, no request-id header
    /// and no secrets. `ctx` names the backend and operation in errors; its message, if any,
    /// is kept in every error's message (for example a client request id).
    pub fn new(method: Method, url: &'a Url, ctx: ErrorContext) -> Self {
        Request {
            method,
            url,
            headers: HeaderMap::new(),
            sensitive: Vec::new(),
            body: None,
            max_body: DEFAULT_MAX_BODY,
            max_error_body: None,
            request_id_headers: Vec::new(),
            secrets: Vec::new(),
            attempt: 1,
            ctx,
        }
    }

    /// The headers to send, as signed.
    pub fn headers(mut self, headers: HeaderMap) -> Self {
        self.headers = headers;
        self
    }

    /// Names a header that carries a credential (`authorization`, `x-tc-token`, ...): its value
    /// is marked sensitive, so it never shows in `Debug` of the headers or in HTTP/2 header
    /// compression tables. Headers [`polybatch::secret::is_sensitive_header`] recognises are
    /// marked whether named or not.
    pub fn sensitive_header(mut self, name: &'a str) -> Self {
        self.sensitive.push(name);
        self
    }

    /// The body (none: no body is sent).
    pub fn body(mut self, body: Option<Vec<u8>>) -> Self {
        self.body = body;
        self
    }

    /// The most bytes of the response body read; past it reading stops and
    /// [`Response::truncated`] is set.
    pub fn max_body(mut self, cap: usize) -> Self {
        self.max_body = cap;
        self
    }

    /// A smaller cap for responses that are not 2xx, whose body only feeds an error message
    /// (default: the same as [`Request::max_body`]).
    pub fn max_error_body(mut self, cap: usize) -> Self {
        self.max_error_body = Some(cap);
        self
    }

    /// A response header that carries the provider's request id (`request-id`,
    /// `x-tc-requestid`, ...). When several are named, the first one present wins.
    pub fn request_id_header(mut self, name: &'a str) -> Self {
        self.request_id_headers.push(name);
        self
    }

    /// A secret to redact from every error message (keys, tokens, client secrets).
    pub fn secret(mut self, secret: &'a Secret) -> Self {
        self.secrets.push(secret);
        self
    }

    /// Secrets to redact from every error message.
    pub fn secrets(mut self, secrets: impl IntoIterator<Item = &'a Secret>) -> Self {
        self.secrets.extend(secrets);
        self
    }

    /// The 1-based attempt number, for the trace span.
    pub fn attempt(mut self, attempt: u32) -> Self {
        self.attempt = attempt;
        self
    }

    fn mark_sensitive(&mut self) {
        let sensitive = &self.sensitive;
        for (name, value) in self.headers.iter_mut() {
            if is_sensitive_header(name.as_str())
                || sensitive
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(name.as_str()))
            {
                value.set_sensitive(true);
            }
        }
    }
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.url.path())
            .field("headers", &SafeHeaders(&self.headers, &self.sensitive))
            .field("body_len", &self.body.as_ref().map(Vec::len))
            .field("max_body", &self.max_body)
            .field("max_error_body", &self.max_error_body)
            .field("request_id_headers", &self.request_id_headers)
            .field("secrets", &self.secrets)
            .field("attempt", &self.attempt)
            .field("ctx", &self.ctx)
            .finish()
    }
}

/// Headers shown with every credential-carrying value hidden, whether or not it has been
/// marked sensitive yet.
struct SafeHeaders<'h>(&'h HeaderMap, &'h [&'h str]);

impl fmt::Debug for SafeHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (name, value) in self.0 {
            let n = name.as_str();
            if value.is_sensitive()
                || is_sensitive_header(n)
                || self.1.iter().any(|s| s.eq_ignore_ascii_case(n))
            {
                m.entry(&n, &"Sensitive");
            } else {
                m.entry(&n, value);
            }
        }
        m.finish()
    }
}

/// A response whose status arrived and whose body was read (within the cap).
#[non_exhaustive]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The provider's request id, from the first request-id header present.
    pub request_id: Option<String>,
    /// The body, at most the cap.
    pub body: Vec<u8>,
    /// Whether the body was longer than the cap (and reading stopped).
    pub truncated: bool,
    /// How long the attempt took, headers and body.
    pub elapsed: Duration,
}

impl Response {
    /// A response header as text (`None` if absent or not visible ASCII).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("request_id", &self.request_id)
            .field("body_len", &self.body.len())
            .field("truncated", &self.truncated)
            .field("elapsed", &self.elapsed)
            .finish()
    }
}

/// The text of a failed round trip: the error and its causes, with the URL left out.
#[derive(Debug)]
struct TransportFailure(String);

impl fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TransportFailure {}

/// Sends one attempt and reads its response within the cap.
///
/// - A connection that could not be established (refused, DNS, connect timeout), or a request
///   reqwest could not even build, is [`Error::Transport`] with
///   [`Error::certainly_not_sent`]; a timeout of the attempt is
///   [`Error::Timeout`]; any other failure, before or while reading the body, is
///   [`Error::Transport`] that may have reached the server.
/// - Error messages name the method and path (never the query), keep the context's message,
///   and have every secret of the request redacted; the error's source holds the same
///   redacted text, never the underlying error itself.
/// - Any status is a [`Response`]: mapping statuses and error bodies is the provider's job.
///
/// The attempt runs in a `debug` span `http` with `backend`, `operation`, `method`, `path`
/// and `attempt`, on which `status`, `request_id` and `elapsed_ms` are recorded; one `debug`
/// event closes it. No header value and no body is ever logged.
pub async fn send(http: &reqwest::Client, mut request: Request<'_>) -> Result<Response> {
    request.mark_sensitive();
    let span = tracing::debug_span!(
        "http",
        backend = %request.ctx.backend,
        operation = %request.ctx.operation,
        method = %request.method,
        path = request.url.path(),
        attempt = request.attempt,
        status = tracing::field::Empty,
        request_id = tracing::field::Empty,
        elapsed_ms = tracing::field::Empty,
    );
    let started = Instant::now();
    let result = round_trip(http, &request, &span, started)
        .instrument(span.clone())
        .await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    span.record("elapsed_ms", elapsed_ms);
    span.in_scope(|| match &result {
        Ok(r) => tracing::debug!(
            status = r.status,
            request_id = r.request_id.as_deref().unwrap_or(""),
            elapsed_ms,
            body_bytes = r.body.len(),
            truncated = r.truncated,
            "http response"
        ),
        Err(e) => tracing::debug!(kind = e.kind(), error = %e, elapsed_ms, "http request failed"),
    });
    result
}

async fn round_trip(
    http: &reqwest::Client,
    request: &Request<'_>,
    span: &tracing::Span,
    started: Instant,
) -> Result<Response> {
    let mut builder = http
        .request(request.method.clone(), request.url.clone())
        .headers(request.headers.clone());
    if let Some(body) = &request.body {
        builder = builder.body(body.clone());
    }
    let response = builder.send().await.map_err(|e| {
        let not_sent = e.is_connect() || e.is_builder();
        failure(request, e, not_sent, None)
    })?;

    let status = response.status().as_u16();
    span.record("status", status);
    let headers = response.headers().clone();
    let request_id = request.request_id_headers.iter().find_map(|name| {
        headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });
    if let Some(id) = &request_id {
        span.record("request_id", id.as_str());
    }
    let cap = match request.max_error_body {
        Some(cap) if !(200..300).contains(&status) => cap,
        _ => request.max_body,
    };
    let (body, truncated) = read_capped(response.bytes_stream(), cap)
        .await
        .map_err(|e| failure(request, e, false, request_id.as_deref()))?;
    Ok(Response {
        status,
        headers,
        request_id,
        body,
        truncated,
        elapsed: started.elapsed(),
    })
}

/// A classified, redacted error for a failed round trip.
fn failure(
    request: &Request<'_>,
    e: reqwest::Error,
    not_sent: bool,
    request_id: Option<&str>,
) -> Error {
    let e = e.without_url();
    let text = redacted_text(request, &e);
    let what = format!("{} {}", request.method, request.url.path());
    let mut ctx = request.ctx.clone();
    let message = if ctx.message.is_empty() {
        format!("{what}: {text}")
    } else {
        format!("{what} ({}): {text}", ctx.message)
    };
    ctx.message = redact(&message, &request.secrets);
    if let Some(id) = request_id {
        ctx = ctx.with_request_id(id);
    }
    transport_error(
        not_sent,
        e.is_timeout(),
        Box::new(TransportFailure(text)),
        ctx,
    )
}

/// The error and its causes as one line, without the URL or its query, secrets redacted.
fn redacted_text(request: &Request<'_>, e: &reqwest::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let t = s.to_string();
        if parts.last() != Some(&t) {
            parts.push(t);
        }
        source = s.source();
    }
    let mut text = parts.join(": ");
    // Defence in depth: no cause may carry the URL or its query (signatures, tokens) either.
    text = text.replace(request.url.as_str(), request.url.path());
    if let Some(q) = request.url.query().filter(|q| !q.is_empty()) {
        text = text.replace(q, "<query>");
    }
    redact(&text, &request.secrets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use polybatch::Operation;
    use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};

    #[test]
    fn credential_headers_are_marked_sensitive_before_sending() {
        let url = Url::parse("https://h.example.com/").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static("SharedKey a:SIG-SECRET"),
        );
        headers.insert(
            HeaderName::from_static("x-tc-token"),
            HeaderValue::from_static("token-SECRET"),
        );
        headers.insert(
            HeaderName::from_static("x-api-key"),
            HeaderValue::from_static("apikey-SECRET"),
        );
        headers.insert(
            HeaderName::from_static("x-tc-action"),
            HeaderValue::from_static("DescribeJob"),
        );
        let mut request = Request::new(
            Method::GET,
            &url,
            ErrorContext::new("t", Operation::JobStatus),
        )
        .headers(headers)
        .sensitive_header("Authorization")
        .sensitive_header("x-api-key");
        request.mark_sensitive();
        // `HeaderMap`'s own Debug, as reqwest and hyper would print it.
        let shown = format!("{:?}", request.headers);
        for hidden in ["SIG-SECRET", "token-SECRET", "apikey-SECRET"] {
            assert!(!shown.contains(hidden), "{hidden}: {shown}");
        }
        assert!(shown.contains("DescribeJob"), "{shown}");
        assert!(request.headers[AUTHORIZATION].is_sensitive());
    }
}
