//! One Azure Batch HTTP round trip: build the URL and headers, authorize each attempt afresh,
//! send it through the shared HTTP layer ([`polybatch_http::send`]), map the response, and run
//! it all through the shared retry loop.

use polybatch_protocol::azure::rfc1123;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use polybatch::clock::Clock;
use polybatch::retry::{Idempotency, RetryPolicy};
use polybatch::secret::Secret;
use polybatch::{Error, ErrorContext, Operation, Preconditions, Result};
use polybatch_http::Request;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use tracing::Instrument;
use url::Url;

use polybatch::rate::{ActionLimiter, RateKey};

use crate::ApiVersion;
use crate::BACKEND;
use crate::credential::Credential;
use crate::error::{BatchError, Failure, map_error};
use crate::paging;
use crate::rate_limit;
use crate::signing::{self, QueryNameCase};

/// The largest response body read (the biggest Batch page is far smaller).
const MAX_BODY: usize = 32 * 1024 * 1024;

/// The response header carrying the service's request id.
const REQUEST_ID: &str = "request-id";

/// The `Content-Type` of JSON request bodies (signed byte for byte).
pub(crate) const JSON_CONTENT_TYPE: &str = "application/json; odata=minimalmetadata";

/// The server-timeout query parameter, on every api-version.
///
/// The 2025-06-01 spec (and `azure-batch` 15.x) spells it `timeOut`; earlier versions
/// `timeout`. The service matches query names case-insensitively (SDKs of both generations
/// run against it), but the two Shared Key rules sign a name differently: the documented one
/// lowercases it, Python 15.x signs it as sent. In lowercase both rules give the same string
/// to sign, so a server verifying either way accepts the request.
const TIMEOUT_QUERY: &str = "timeout";

/// Where a request goes.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// A path under the endpoint (unencoded segments) and decoded query pairs; `api-version`
    /// and the timeout are added by the client.
    Path {
        segments: Vec<String>,
        query: Vec<(String, String)>,
    },
    /// An absolute URL the service returned (`odata.nextLink`), already checked to be on the
    /// endpoint's origin; its query is kept verbatim.
    Link(Url),
}

/// One logical request.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub operation: Operation,
    pub method: Method,
    pub target: Target,
    pub body: Option<Vec<u8>>,
    pub preconditions: Preconditions,
    pub server_timeout: Option<Duration>,
    pub idempotency: Idempotency,
    pub job: Option<String>,
    pub task: Option<String>,
    /// More request headers (`ocp-range`); `ocp-` ones are signed like the others.
    pub extra_headers: Vec<(&'static str, String)>,
}

impl Call {
    /// A call with no body, preconditions or server timeout.
    pub(crate) fn new(operation: Operation, method: Method, segments: &[&str]) -> Self {
        let idempotency = if method == Method::GET {
            Idempotency::Idempotent
        } else {
            Idempotency::NotIdempotent
        };
        Call {
            operation,
            method,
            target: Target::Path {
                segments: segments.iter().map(|s| s.to_string()).collect(),
                query: Vec::new(),
            },
            body: None,
            preconditions: Preconditions::default(),
            server_timeout: None,
            idempotency,
            job: None,
            task: None,
            extra_headers: Vec::new(),
        }
    }

    /// Adds a request header.
    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extra_headers.push((name, value.into()));
        self
    }

    pub(crate) fn job(mut self, job: &str) -> Self {
        self.job = Some(job.to_string());
        self
    }

    pub(crate) fn task(mut self, task: &str) -> Self {
        self.task = Some(task.to_string());
        self
    }

    pub(crate) fn query(mut self, name: &str, value: impl Into<String>) -> Self {
        if let Target::Path { query, .. } = &mut self.target {
            query.push((name.to_string(), value.into()));
        }
        self
    }

    pub(crate) fn json(mut self, body: &impl serde::Serialize) -> Result<Self> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            Error::invalid_input(
                "body",
                format!("cannot be serialized: {e}"),
                ErrorContext::new(BACKEND, self.operation),
            )
        })?;
        self.body = Some(bytes);
        Ok(self)
    }

    pub(crate) fn preconditions(mut self, p: Preconditions) -> Self {
        self.preconditions = p;
        self
    }

    pub(crate) fn server_timeout(mut self, t: Option<Duration>) -> Self {
        self.server_timeout = t;
        self
    }

    pub(crate) fn idempotent(mut self) -> Self {
        self.idempotency = Idempotency::Idempotent;
        self
    }
}

/// A successful response.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub operation: Operation,
    pub status: u16,
    pub request_id: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON of type `T`. A body that is not is a retryable service error: a
    /// garbled answer (a proxy's page, a cut connection) may well come right on the next try,
    /// and [`Client::send_json`] makes that try.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let mut ctx = ErrorContext::new(BACKEND, self.operation)
                .with_message(format!("response body is not the expected JSON: {e}"));
            if let Some(id) = &self.request_id {
                ctx = ctx.with_request_id(id.clone());
            }
            Error::service(Some(self.status), true, ctx)
        })
    }
}

/// The largest body that can hold nothing but OData metadata (its one URL is ~150 bytes).
const METADATA_ONLY_MAX: usize = 1024;

impl Response {
    /// Fails (retryably) for a JSON object with no field but OData's own: every job, task and
    /// list page the service sends has at least its id or `value`, so such an answer is
    /// mangled, not empty (a page without `value` would read as the end of a listing).
    fn says_something(&self) -> Result<()> {
        // Only a small body can be nothing but metadata: real answers skip the second parse.
        if self.body.len() > METADATA_ONLY_MAX {
            return Ok(());
        }
        // Not an object: the typed parse already judged it.
        if !polybatch_http::metadata_only(&self.body, None, |k| k.starts_with("odata.")) {
            return Ok(());
        }
        let mut ctx = ErrorContext::new(BACKEND, self.operation)
            .with_message("response body has no field but OData metadata");
        if let Some(id) = &self.request_id {
            ctx = ctx.with_request_id(id.clone());
        }
        Err(Error::service(Some(self.status), true, ctx))
    }
}

/// The HTTP client of one backend (shared by its clones).
pub(crate) struct Client {
    /// Built by [`polybatch_http::ClientOptions::build_client`].
    pub(crate) http: reqwest::Client,
    pub(crate) endpoint: Url,
    pub(crate) account: String,
    pub(crate) credential: Credential,
    pub(crate) api_version: ApiVersion,
    pub(crate) retry: RetryPolicy,
    pub(crate) clock: Arc<dyn Clock>,
    /// Adapts each operation's rate to the account's throttling.
    pub(crate) limiter: ActionLimiter,
}

impl Client {
    /// Sends `call` and reads its body as `T`, retrying per the policy: an answer that is not
    /// the expected JSON is retried like any transient failure.
    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        call: &Call,
    ) -> Result<(Response, T)> {
        self.send_json_with(call, Ok).await
    }

    /// [`Client::send_json`], then `read` on the body, both inside the retry loop: a body that
    /// `read` refuses with a retryable error is fetched again.
    pub(crate) async fn send_json_with<W: DeserializeOwned, T>(
        &self,
        call: &Call,
        read: impl Fn(W) -> Result<T>,
    ) -> Result<(Response, T)> {
        self.send_parsed(call, |r| {
            let value = r.json()?;
            r.says_something()?;
            Ok((r, read(value)?))
        })
        .await
    }

    /// Sends `call`, retrying per the policy. One `client-request-id` for all attempts.
    pub(crate) async fn send(&self, call: &Call) -> Result<Response> {
        self.send_parsed(call, Ok).await
    }

    /// Sends `call` and turns each successful answer into `T` with `parse`, retrying per the
    /// policy (a failed `parse` too).
    async fn send_parsed<T>(
        &self,
        call: &Call,
        parse: impl Fn(Response) -> Result<T>,
    ) -> Result<T> {
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let url = self.url(call)?;
        let key = RateKey::new(
            call.operation.as_str(),
            &self.account,
            self.credential.kind(),
        );
        let ctx = ErrorContext::new(BACKEND, call.operation)
            .with_message(format!("client-request-id {client_request_id}"));
        self.retry
            .run(&ctx, call.idempotency, |attempt| {
                let key = &key;
                let url = &url;
                let client_request_id = &client_request_id;
                let parse = &parse;
                async move {
                    self.limiter.acquire(key).await;
                    let result = self.attempt(call, url, client_request_id, attempt).await;
                    self.limiter.observe(key, &result);
                    result.and_then(parse)
                }
            })
            .await
    }

    /// The full URL of a call: endpoint + path, `api-version`, the timeout, the call's query.
    pub(crate) fn url(&self, call: &Call) -> Result<Url> {
        let timeout = call
            .server_timeout
            .map(|t| (TIMEOUT_QUERY, t.as_secs().max(1).to_string()));
        match &call.target {
            Target::Path { segments, query } => {
                let mut url = self.endpoint.clone();
                {
                    let mut path = url.path_segments_mut().map_err(|_| {
                        Error::configuration(
                            BACKEND,
                            "AZURE_BATCH_ENDPOINT",
                            "cannot be a base URL",
                        )
                    })?;
                    path.pop_if_empty();
                    path.extend(segments);
                }
                let mut pairs: Vec<(String, String)> =
                    vec![("api-version".into(), self.api_version.as_str().into())];
                pairs.extend(query.iter().cloned());
                if let Some((name, value)) = timeout {
                    pairs.push((name.into(), value));
                }
                url.set_query(Some(&paging::encode_query(&pairs)));
                Ok(url)
            }
            Target::Link(link) => {
                let mut url = link.clone();
                // The configured api-version, whatever the link says: the Python SDK
                // (azure-batch 15.x) re-encodes a next link's query and overwrites its
                // api-version with the client's, so every page speaks one version.
                paging::set_query(&mut url, "api-version", self.api_version.as_str());
                if let Some((name, value)) = timeout {
                    paging::ensure_query(&mut url, name, &value);
                }
                Ok(url)
            }
        }
    }

    /// The headers of one attempt (everything but `Authorization`).
    fn headers(&self, call: &Call, client_request_id: &str) -> Vec<(&'static str, String)> {
        let mut h: Vec<(&'static str, String)> = vec![
            ("ocp-date", rfc1123(self.clock.now())),
            ("client-request-id", client_request_id.to_string()),
            ("return-client-request-id", "true".into()),
            ("Accept", "application/json".into()),
        ];
        h.extend(call.extra_headers.iter().cloned());
        let p = &call.preconditions;
        if let Some(e) = &p.if_match {
            h.push(("If-Match", e.as_str().to_string()));
        }
        if let Some(e) = &p.if_none_match {
            h.push(("If-None-Match", e.as_str().to_string()));
        }
        if let Some(t) = p.if_modified_since {
            h.push(("If-Modified-Since", rfc1123(t)));
        }
        if let Some(t) = p.if_unmodified_since {
            h.push(("If-Unmodified-Since", rfc1123(t)));
        }
        if call.method != Method::GET && call.method != Method::HEAD {
            // Always explicit, 0 included, so the value signed is the value sent.
            let len = call.body.as_ref().map_or(0, Vec::len);
            h.push(("Content-Length", len.to_string()));
            if call.body.is_some() {
                h.push(("Content-Type", JSON_CONTENT_TYPE.into()));
            }
        }
        h
    }

    /// The `Authorization` header value of an attempt.
    async fn authorization(
        &self,
        call: &Call,
        url: &Url,
        headers: &[(&'static str, String)],
    ) -> Result<Secret> {
        match &self.credential {
            Credential::SharedKey {
                account, decoded, ..
            } => {
                let header_refs: Vec<(&str, &str)> =
                    headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
                let query = signing::decode_query(url.query().unwrap_or(""));
                let query_refs: Vec<(&str, &str)> = query
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                Ok(Secret::new(signing::authorize(
                    account,
                    decoded.expose(),
                    call.method.as_str(),
                    &header_refs,
                    url.path(),
                    &query_refs,
                    QueryNameCase::Lowercase,
                )))
            }
            Credential::Entra(cache) => {
                let token = cache.token(call.operation).await?;
                Ok(Secret::new(format!("Bearer {}", token.expose())))
            }
        }
    }

    /// One attempt: sign, send, map.
    async fn attempt(
        &self,
        call: &Call,
        url: &Url,
        client_request_id: &str,
        attempt: u32,
    ) -> Result<Response> {
        let headers = self.headers(call, client_request_id);
        let auth = self.authorization(call, url, &headers).await?;
        let headers = header_map(&headers, &auth, call.operation)?;
        // Bodiless POSTs still get an (empty) body so the explicit Content-Length: 0 holds.
        let body = (call.method != Method::GET && call.method != Method::HEAD)
            .then(|| call.body.clone().unwrap_or_default());
        let secrets = self.credential.secrets();
        let ctx = ErrorContext::new(BACKEND, call.operation)
            .with_message(format!("client-request-id {client_request_id}"));
        let request = Request::new(call.method.clone(), url, ctx)
            .headers(headers)
            .sensitive_header("authorization")
            .body(body)
            .max_body(MAX_BODY)
            .request_id_header(REQUEST_ID)
            .secret(&auth)
            .secrets(&secrets)
            .attempt(attempt);
        let response = polybatch_http::send(&self.http, request)
            .instrument(tracing::debug_span!("azure", client_request_id))
            .await?;
        self.map_response(call, url, client_request_id, response, &secrets)
    }

    /// A response as the service meant it: a [`Response`] for 2xx, else its `BatchError`
    /// mapped to an [`Error`].
    fn map_response(
        &self,
        call: &Call,
        url: &Url,
        client_request_id: &str,
        response: polybatch_http::Response,
        secrets: &[Secret],
    ) -> Result<Response> {
        let status = response.status;
        let request_id = response.request_id.clone();
        if response.truncated {
            // Retryable: a service answer this large is a garbled one.
            let e = Error::service(
                Some(status),
                true,
                ErrorContext::new(BACKEND, call.operation).with_message(format!(
                    "{} {} (client-request-id {client_request_id}): response body over {MAX_BODY} bytes",
                    call.method,
                    url.path(),
                )),
            );
            return Err(match request_id {
                Some(id) => e.with_request_id(id),
                None => e,
            });
        }
        if response.is_success() {
            return Ok(Response {
                operation: call.operation,
                status,
                request_id,
                etag: response.header("etag").map(str::to_string),
                last_modified: response
                    .header("last-modified")
                    .and_then(|v| httpdate::parse_http_date(v).ok())
                    .map(DateTime::<Utc>::from),
                body: response.body,
            });
        }
        let retry_after = rate_limit::retry_after(&response, self.clock.now());
        let error = BatchError::parse(&response.body);
        if error.code.is_none() && !response.body.iter().all(u8::is_ascii_whitespace) {
            // A body that says nothing the service would say (an HTML page, a cut or mangled
            // BatchError): nothing tells what the error was, so it is treated as a garbled
            // answer, which the next try may well get right.
            let snippet = &response.body[..response.body.len().min(120)];
            let secret_refs: Vec<&Secret> = secrets.iter().collect();
            let snippet =
                polybatch::secret::redact(String::from_utf8_lossy(snippet).trim(), &secret_refs);
            let mut ctx = ErrorContext::new(BACKEND, call.operation).with_message(format!(
                "HTTP {status} answer to {} {} whose body is not a BatchError: {snippet}",
                call.method,
                url.path()
            ));
            if let Some(id) = request_id {
                ctx = ctx.with_request_id(id);
            }
            return Err(Error::service(Some(status), true, ctx));
        }
        let secret_refs: Vec<&Secret> = secrets.iter().collect();
        Err(map_error(
            Failure {
                status,
                error: &error,
                request_id: request_id.as_deref(),
                retry_after,
                operation: call.operation,
                job: call.job.as_deref(),
                task: call.task.as_deref(),
            },
            &secret_refs,
        ))
    }
}

/// The signed headers and `Authorization` as a header map. A value that cannot be a header
/// (only a caller's ETag could hold such characters) is invalid input naming the header.
fn header_map(
    headers: &[(&'static str, String)],
    auth: &Secret,
    operation: Operation,
) -> Result<HeaderMap> {
    let invalid = |name: &'static str| {
        Error::invalid_input(
            name,
            "contains characters not allowed in an HTTP header",
            ErrorContext::new(BACKEND, operation),
        )
    };
    let mut map = HeaderMap::with_capacity(headers.len() + 1);
    for (name, value) in headers {
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid(name))?;
        let value = HeaderValue::from_str(value).map_err(|_| invalid(name))?;
        map.append(header, value);
    }
    let mut value = HeaderValue::from_str(auth.expose()).map_err(|_| invalid("Authorization"))?;
    value.set_sensitive(true);
    map.insert(AUTHORIZATION, value);
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AzureBatchBuilder;
    use polybatch::{BatchBackend, JobId, StatusOptions};

    const KEY: &str =
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZg==";

    /// An http URL on 127.0.0.1 where nothing listens.
    fn refused() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        format!("http://{addr}")
    }

    /// A token endpoint on 127.0.0.1 that hands out `token`.
    async fn token_endpoint(token: &'static str) -> String {
        let app = axum::Router::new().fallback(move || async move {
            axum::Json(serde_json::json!({"access_token": token, "expires_in": 3600}))
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    }

    async fn job_status_error(builder: AzureBatchBuilder) -> Error {
        builder
            .with_retry_policy(RetryPolicy::none())
            .build()
            .unwrap()
            .job_status(&JobId::new("job-1").unwrap(), StatusOptions::default())
            .await
            .unwrap_err()
    }

    #[tokio::test]
    async fn refused_connection_error_never_shows_the_shared_key() {
        let e = job_status_error(
            AzureBatchBuilder::new()
                .with_endpoint(refused())
                .with_account("myaccount")
                .with_shared_key(KEY),
        )
        .await;
        assert!(e.certainly_not_sent(), "{e}");
        let shown = format!("{e} | {e:?}");
        assert!(shown.contains("GET /jobs/job-1"), "{shown}");
        assert!(!shown.contains(KEY), "{shown}");
        assert!(!shown.contains("SharedKey myaccount:"), "{shown}");
        assert!(!shown.contains("api-version"), "the query: {shown}");
    }

    #[tokio::test]
    async fn refused_connection_error_never_shows_the_token() {
        let builder = |token_url: String| {
            AzureBatchBuilder::new()
                .with_endpoint(refused())
                .with_client_credentials("tenant-1", "client-1", "client-SECRET")
                .with_authority_host(token_url)
        };
        let e = job_status_error(builder(token_endpoint("tok-SECRET").await)).await;
        assert!(e.certainly_not_sent(), "{e}");
        let shown = format!("{e} | {e:?}");
        // The token was fetched: it is the Batch request that failed.
        assert!(shown.contains("GET /jobs/job-1"), "{shown}");
        for hidden in ["tok-SECRET", "Bearer", "client-SECRET"] {
            assert!(!shown.contains(hidden), "{hidden}: {shown}");
        }

        // Redaction runs on the transport text itself: a token that happens to be a phrase of
        // the OS's error text is replaced there too.
        let e = job_status_error(builder(token_endpoint("tcp connect error").await)).await;
        let shown = format!("{e} | {e:?}");
        assert!(!shown.contains("tcp connect error"), "{shown}");
        assert!(shown.contains(polybatch::secret::REDACTED), "{shown}");
    }

    #[tokio::test]
    async fn both_endpoints_get_the_client_options_user_agent() {
        use std::sync::Mutex;
        let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let s = seen.clone();
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let s = s.clone();
            async move {
                let agent = req.headers()["user-agent"].to_str().unwrap().to_string();
                s.lock()
                    .unwrap()
                    .push((req.uri().path().to_string(), agent));
                if req.uri().path().ends_with("/token") {
                    axum::Json(serde_json::json!({"access_token": "t", "expires_in": 3600}))
                } else {
                    axum::Json(serde_json::json!({"id": "job-1", "state": "active"}))
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        AzureBatchBuilder::new()
            .with_endpoint(&base)
            .with_client_credentials("tenant-1", "client-1", "secret")
            .with_authority_host(&base)
            .with_client_options(
                polybatch_http::ClientOptions::default().with_user_agent("my-app/1.0"),
            )
            .build()
            .unwrap()
            .job_status(&JobId::new("job-1").unwrap(), StatusOptions::default())
            .await
            .unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            [
                (
                    "/tenant-1/oauth2/v2.0/token".to_string(),
                    "my-app/1.0".to_string()
                ),
                ("/jobs/job-1".to_string(), "my-app/1.0".to_string()),
            ]
        );
    }

    #[test]
    fn authorization_is_marked_sensitive() {
        let headers = vec![("ocp-date", "Fri, 17 Feb 2017 00:00:00 GMT".to_string())];
        let map = header_map(
            &headers,
            &Secret::new("SharedKey a:SIG-SECRET"),
            Operation::JobStatus,
        )
        .unwrap();
        assert!(map[AUTHORIZATION].is_sensitive());
        assert!(!format!("{map:?}").contains("SIG-SECRET"));
        let bad = vec![("If-Match", "0x1\n".to_string())];
        let e = header_map(&bad, &Secret::new("a"), Operation::JobStatus).unwrap_err();
        assert!(
            matches!(e, Error::InvalidInput { ref field, .. } if field == "If-Match"),
            "{e}"
        );
    }
}
