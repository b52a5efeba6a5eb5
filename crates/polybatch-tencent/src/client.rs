//! One API 3.0 call over HTTP: serialise once, then per attempt wait for a rate-limit permit,
//! sign afresh, send through the shared HTTP layer ([`polybatch_http::send`], within Tencent's
//! 50 MB cap) and parse the envelope, all inside the shared retry loop.

use std::fmt;
use std::sync::Arc;

use polybatch::clock::Clock;
use polybatch::retry::{Idempotency, RetryPolicy};
use polybatch::secret::{Secret, redact};
use polybatch::{Error, ErrorContext, Operation, ResourceKind, Result, error_from_status};
use polybatch_http::{ClientOptions, Request, parse_retry_after};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::error::Category;
use serde_json::value::RawValue;
use tracing::Instrument;
use url::Url;

use crate::credential::{Credentials, Keys};
use crate::error::{ApiFailure, BACKEND, Subject, map_error};
use crate::model::{API_VERSION, ApiError};
use crate::signing;
use polybatch::rate::{ActionLimiter, RateKey};

/// The largest response body read: Tencent caps JSON responses at 50 MB.
pub const MAX_RESPONSE_BYTES: usize = 50 * 1024 * 1024;

/// How much of a non-200 body is kept for the error message.
const ERROR_SNIPPET_BYTES: usize = 4096;

/// The response header carrying the request id (also in the envelope's `RequestId`).
const REQUEST_ID_HEADER: &str = "x-tc-requestid";

/// The request headers that carry credentials.
const SENSITIVE_HEADERS: [&str; 2] = ["authorization", "x-tc-token"];

pub use crate::model::{CONTENT_TYPE, REQUEST_CLIENT};

/// The canonical URI of every signed request. The Go SDK (`common/client.go`,
/// `canonicalURI := "/"`) and the Python SDK (`abstract_client.py`, `canonical_uri = '/'`)
/// sign `/` whatever path the endpoint has, so a gateway that serves the API under a path
/// prefix verifies the same signature as the service itself.
pub(crate) const CANONICAL_URI: &str = "/";

/// Everything one client needs to send requests; shared by all clones of a backend.
pub(crate) struct Client {
    /// The keys requests are signed with, fixed or refreshed.
    pub credentials: Credentials,
    pub region: String,
    pub url: Url,
    /// The `Host` header: the endpoint's host, plus its port when not the default.
    pub host: String,
    /// `X-TC-Language`, sent on every request.
    pub language: String,
    /// Built by [`ClientOptions::build_client`] from `options`.
    pub http: reqwest::Client,
    pub options: ClientOptions,
    pub retry: RetryPolicy,
    pub clock: Arc<dyn Clock>,
    pub limiter: ActionLimiter,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("credentials", &self.credentials)
            .field("region", &self.region)
            .field("endpoint", &self.url.as_str())
            .field("language", &self.language)
            .field("options", &self.options)
            .field("retry", &self.retry)
            .field("clock", &self.clock)
            .field("limiter", &self.limiter)
            .finish()
    }
}

/// One API action to call.
pub(crate) struct Call {
    /// The action name (`X-TC-Action`).
    pub action: &'static str,
    /// The polybatch operation, for errors.
    pub operation: Operation,
    /// Whether replaying after the request may have reached the server is safe.
    pub idempotency: Idempotency,
    /// What the request is about, for errors.
    pub subject: Subject,
}

impl Call {
    /// A call of `action` for `operation`, about nothing in particular, replayable: every
    /// Tencent action polybatch makes is safe to replay except `RetryJobs`
    /// ([`Call::not_idempotent`]).
    pub(crate) fn new(action: &'static str, operation: Operation) -> Self {
        Call {
            action,
            operation,
            idempotency: Idempotency::Idempotent,
            subject: Subject::default(),
        }
    }

    /// What the request is about, for errors.
    pub(crate) fn subject(mut self, subject: Subject) -> Self {
        self.subject = subject;
        self
    }

    /// Replayed only when it certainly never reached the server or was throttled.
    pub(crate) fn not_idempotent(mut self) -> Self {
        self.idempotency = Idempotency::NotIdempotent;
        self
    }
}

/// A parsed success response and its request id.
#[derive(Debug)]
pub(crate) struct Reply<T> {
    pub value: T,
    pub request_id: Option<String>,
}

/// What a response body said.
#[derive(Debug)]
pub(crate) enum Envelope<T> {
    /// `Response` without `Error`.
    Success(Reply<T>),
    /// `Response.Error`.
    Failure(ApiFailure),
}

/// Parses `{"Response": {...}}`. `Response.Error` is checked first, so an error response is
/// never mistaken for an empty success. `Err` says why the body is not the envelope.
///
/// The body is read in place, never into a `serde_json::Value` tree: one pass finds the
/// `Response` object's text and its `RequestId` and `Error` members (skipping the rest), and
/// only a success is then parsed into `T`.
pub(crate) fn parse_envelope<T: DeserializeOwned>(
    body: &[u8],
) -> std::result::Result<Envelope<T>, String> {
    #[derive(serde::Deserialize)]
    struct Top<'a> {
        #[serde(rename = "Response", borrow)]
        response: Option<&'a RawValue>,
    }
    #[derive(serde::Deserialize)]
    struct Head<'a> {
        #[serde(rename = "RequestId", borrow)]
        request_id: Option<&'a RawValue>,
        #[serde(rename = "Error", borrow)]
        error: Option<&'a RawValue>,
    }
    let not_json = |e: serde_json::Error| format!("response is not JSON ({e})");
    // A derived struct would also read a JSON array, by position: only an object is looked at.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(not_json)?;
        return Err("response is not a JSON object".to_string());
    }
    let top: Top<'_> = serde_json::from_slice(body).map_err(|e| match e.classify() {
        Category::Data => format!("response is not the expected JSON object ({e})"),
        _ => not_json(e),
    })?;
    let no_response = || "response has no \"Response\" object".to_string();
    let response = top.response.ok_or_else(no_response)?;
    let head: Head<'_> = serde_json::from_str(response.get()).map_err(|_| no_response())?;
    // A `RequestId` that is not a string is left out, as an absent one is.
    let request_id = head
        .request_id
        .and_then(|id| serde_json::from_str::<String>(id.get()).ok());
    // `"Error": null` reads as no error.
    if let Some(error) = head.error {
        let error: ApiError = serde_json::from_str(error.get())
            .map_err(|e| format!("response has a malformed \"Error\" ({e})"))?;
        let code = error.code.unwrap_or_default();
        if code.is_empty() {
            return Err("response has an \"Error\" without a \"Code\"".to_string());
        }
        return Ok(Envelope::Failure(ApiFailure {
            code,
            message: error.message.unwrap_or_default(),
            request_id,
        }));
    }
    let value = serde_json::from_str(response.get())
        .map_err(|e| format!("response has an unexpected shape ({e})"))?;
    Ok(Envelope::Success(Reply { value, request_id }))
}

/// The largest body that can be `{"Response":{"RequestId":"<uuid>"}}` (~70 bytes) with room.
const BARE_ENVELOPE_MAX: usize = 512;

/// Whether a success envelope answering `action` says nothing it should: every `Describe*`
/// answer carries data besides its `RequestId`, so one without is a mangled answer, not an
/// empty one (it would read as "no such job").
fn lacks_data(action: &str, body: &[u8]) -> bool {
    // Only a small body can be a bare envelope: real answers skip the second parse.
    action.starts_with("Describe")
        && body.len() <= BARE_ENVELOPE_MAX
        && polybatch_http::metadata_only(body, Some("Response"), |k| k == "RequestId")
}

fn header(
    name: &'static str,
    value: &str,
    what: &'static str,
) -> Result<(HeaderName, HeaderValue)> {
    let value = HeaderValue::from_str(value).map_err(|_| {
        Error::configuration(
            BACKEND,
            what,
            "contains characters not allowed in an HTTP header",
        )
    })?;
    Ok((HeaderName::from_static(name), value))
}

impl Client {
    fn ctx(&self, operation: Operation) -> ErrorContext {
        ErrorContext::new(BACKEND, operation)
    }

    /// The secrets to redact from any text that reaches an error.
    fn secrets(&self) -> Vec<Secret> {
        self.credentials.secrets()
    }

    fn redact(&self, text: &str) -> String {
        let secrets = self.secrets();
        redact(text, &secrets.iter().collect::<Vec<_>>())
    }

    /// Sends `body` as `call.action` with retries, and parses the success response as `T`.
    pub async fn call<B, T>(&self, call: &Call, body: &B) -> Result<Reply<T>>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.call_with(call, body, Ok).await
    }

    /// [`Client::call`], then `read` on the reply, both inside the retry loop: an answer that
    /// `read` refuses with a retryable error (a garbled one) is asked for again.
    pub async fn call_with<B, T, U>(
        &self,
        call: &Call,
        body: &B,
        read: impl Fn(Reply<T>) -> Result<U>,
    ) -> Result<U>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        // Serialised once: the bytes hashed into the signature are the bytes sent.
        let payload = serde_json::to_vec(body).map_err(|e| {
            Error::invalid_input(
                "request body",
                format!("cannot be serialised as JSON: {e}"),
                self.ctx(call.operation),
            )
        })?;
        self.retry
            .run(&self.ctx(call.operation), call.idempotency, |attempt| {
                let payload = &payload;
                let read = &read;
                async move {
                    let key = RateKey::new(call.action, &self.region, &self.credentials.identity());
                    self.limiter.acquire(&key).await;
                    let result = self.attempt(call, payload, attempt).await;
                    self.limiter.observe(&key, &result);
                    result.and_then(read)
                }
            })
            .await
    }

    fn headers(
        &self,
        keys: &Keys,
        action: &str,
        timestamp: i64,
        payload: &[u8],
    ) -> Result<HeaderMap> {
        let signed = signing::sign(
            &keys.secret_id,
            keys.secret_key.expose(),
            signing::SERVICE,
            timestamp,
            "POST",
            CANONICAL_URI,
            "",
            &[("content-type", CONTENT_TYPE), ("host", &self.host)],
            payload,
        )
        .ok_or_else(|| {
            Error::configuration(
                BACKEND,
                "clock",
                format!("timestamp {timestamp} is out of range"),
            )
        })?;
        let mut pairs = vec![
            header("host", &self.host, "endpoint")?,
            header("content-type", CONTENT_TYPE, "content type")?,
            header(
                "authorization",
                &signed.authorization,
                "TENCENTCLOUD_SECRET_ID",
            )?,
            header("x-tc-action", action, "action")?,
            header("x-tc-timestamp", &timestamp.to_string(), "clock")?,
            header("x-tc-version", API_VERSION, "version")?,
            header("x-tc-region", &self.region, "TENCENTCLOUD_REGION")?,
            header("x-tc-requestclient", REQUEST_CLIENT, "request client")?,
            // Always sent, as the Go and Python SDKs always send one (their default is zh-CN;
            // this client's is en-US, see the builder).
            header("x-tc-language", &self.language, "language")?,
        ];
        if let Some(token) = &keys.token {
            pairs.push(header("x-tc-token", token.expose(), "TENCENTCLOUD_TOKEN")?);
        }
        // `send` marks the credential headers (SENSITIVE_HEADERS) sensitive.
        Ok(pairs.into_iter().collect())
    }

    /// One round trip: sign, send, map.
    async fn attempt<T: DeserializeOwned>(
        &self,
        call: &Call,
        payload: &[u8],
        attempt: u32,
    ) -> Result<Reply<T>> {
        // A fresh timestamp per attempt: a long backoff never yields AuthFailure.SignatureExpire.
        let keys = self.credentials.keys(call.operation).await?;
        let timestamp = self.clock.now().timestamp();
        let headers = self.headers(&keys, call.action, timestamp, payload)?;
        let secrets: Vec<&Secret> = std::iter::once(&keys.secret_key)
            .chain(keys.token.as_ref())
            .collect();
        let mut request = Request::new(
            Method::POST,
            &self.url,
            self.ctx(call.operation).with_message(call.action),
        )
        .headers(headers)
        .body(Some(payload.to_vec()))
        .max_body(MAX_RESPONSE_BYTES)
        .max_error_body(ERROR_SNIPPET_BYTES)
        .request_id_header(REQUEST_ID_HEADER)
        .secrets(secrets)
        .attempt(attempt);
        for name in SENSITIVE_HEADERS {
            request = request.sensitive_header(name);
        }
        let response = polybatch_http::send(&self.http, request)
            .instrument(tracing::debug_span!("tencent", action = call.action))
            .await?;
        self.map_response(call, response)
    }

    /// A response as the API meant it: a parsed success envelope, or the error it carries (in
    /// the envelope or, rarely, as a non-200 status).
    fn map_response<T: DeserializeOwned>(
        &self,
        call: &Call,
        response: polybatch_http::Response,
    ) -> Result<Reply<T>> {
        let op = call.operation;
        let status = response.status;
        if status != 200 {
            let retry_after = response
                .header(reqwest::header::RETRY_AFTER.as_str())
                .and_then(|v| parse_retry_after(v, self.clock.now()));
            let snippet = &response.body[..response.body.len().min(ERROR_SNIPPET_BYTES)];
            let snippet = self.redact(String::from_utf8_lossy(snippet).trim());
            let mut ctx = self
                .ctx(op)
                .with_message(format!("HTTP {status} from {}: {snippet}", call.action));
            if let Some(id) = response.request_id {
                ctx = ctx.with_request_id(id);
            }
            let (resource, id) = match (&call.subject.job, &call.subject.task) {
                (Some(_), Some(task)) => (ResourceKind::Task, task.clone()),
                (Some(job), None) => (ResourceKind::Job, job.clone()),
                _ => (ResourceKind::Other, String::new()),
            };
            return Err(error_from_status(status, retry_after, resource, &id, ctx));
        }
        if response.truncated {
            // Retryable: a service answer this large is a garbled one.
            return Err(Error::service(
                Some(status),
                true,
                self.ctx(op).with_message(format!(
                    "{} response is larger than Tencent's {} MB cap; reading stopped",
                    call.action,
                    MAX_RESPONSE_BYTES / (1024 * 1024)
                )),
            ));
        }
        let parsed = match parse_envelope::<T>(&response.body) {
            Ok(Envelope::Success(_)) if lacks_data(call.action, &response.body) => {
                Err("response has no field but its RequestId".to_string())
            }
            other => other,
        };
        match parsed {
            Ok(Envelope::Success(reply)) => Ok(reply),
            Ok(Envelope::Failure(mut failure)) => {
                tracing::debug!(
                    action = call.action,
                    code = failure.code.as_str(),
                    request_id = failure.request_id.as_deref().unwrap_or(""),
                    "tencent request returned an error"
                );
                failure.message = self.redact(&failure.message);
                Err(map_error(&failure, op, &call.subject))
            }
            Err(why) => {
                tracing::debug!(action = call.action, status, "{why}");
                let mut ctx = self.ctx(op).with_message(format!("{}: {why}", call.action));
                if let Some(id) = response.request_id {
                    ctx = ctx.with_request_id(id);
                }
                // Retryable: a garbled answer (a proxy's page, a cut connection) may well come
                // right on the next try.
                Err(Error::service(Some(status), true, ctx))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DescribeJobResponse, EmptyResponse};

    #[test]
    fn error_is_checked_first() {
        let body = br#"{"Response": {"Error": {"Code": "ResourceNotFound.Job", "Message": "no such job"}, "RequestId": "rid-9", "JobId": "job-1"}}"#;
        match parse_envelope::<DescribeJobResponse>(body).unwrap() {
            Envelope::Failure(f) => {
                assert_eq!(f.code, "ResourceNotFound.Job");
                assert_eq!(f.message, "no such job");
                assert_eq!(f.request_id.as_deref(), Some("rid-9"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn success_keeps_request_id() {
        let body = br#"{"Response": {"JobId": "job-1", "JobState": "RUNNING", "RequestId": "rid-1", "New": 1}}"#;
        match parse_envelope::<DescribeJobResponse>(body).unwrap() {
            Envelope::Success(r) => {
                assert_eq!(r.request_id.as_deref(), Some("rid-1"));
                assert_eq!(r.value.job_state.as_deref(), Some("RUNNING"));
            }
            other => panic!("{other:?}"),
        }
        // An error whose RequestId is not a string is still the error, without an id.
        let body = br#"{"Response": {"Error": {"Code": "InternalError"}, "RequestId": 7}}"#;
        match parse_envelope::<DescribeJobResponse>(body).unwrap() {
            Envelope::Failure(f) => {
                assert_eq!((f.code.as_str(), f.request_id), ("InternalError", None))
            }
            other => panic!("{other:?}"),
        }
        // A null Error is not an error.
        let body = br#"{"Response": {"Error": null, "RequestId": "r"}}"#;
        assert!(matches!(
            parse_envelope::<EmptyResponse>(body),
            Ok(Envelope::Success(_))
        ));
    }

    #[test]
    fn malformed_envelopes_are_rejected_with_a_reason() {
        for (body, why) in [
            (&b"<html>502 Bad Gateway</html>"[..], "not JSON"),
            (br#"{"JobId": "job-1"}"#, "no \"Response\""),
            (br#"{"Response": "oops"}"#, "no \"Response\""),
            (br#"[1, 2]"#, "not a JSON object"),
            (
                br#"{"Response": {"Error": {"Message": "x"}}}"#,
                "without a \"Code\"",
            ),
            (br#"{"Response": {"Error": "boom"}}"#, "malformed \"Error\""),
            (br#"{"Response": {"JobState": 7}}"#, "unexpected shape"),
            (b"", "not JSON"),
        ] {
            let err = parse_envelope::<DescribeJobResponse>(body).unwrap_err();
            assert!(err.contains(why), "{err} should contain {why}");
        }
    }

    #[test]
    fn request_client_matches_the_documented_pattern() {
        assert!(REQUEST_CLIENT.starts_with("SDK_RUST_POLYBATCH_"));
        assert!(REQUEST_CLIENT.len() <= 128);
        assert!(
            REQUEST_CLIENT
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || " _,;.".contains(c)),
            "{REQUEST_CLIENT}"
        );
    }
}
