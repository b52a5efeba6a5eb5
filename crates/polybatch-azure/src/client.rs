//! One Azure Batch HTTP round trip: build the URL and headers, authorize each attempt afresh,
//! send, read the response within limits, and run it all through the shared retry loop.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use polybatch::clock::Clock;
use polybatch::retry::{Idempotency, RetryPolicy, parse_retry_after, parse_retry_after_ms};
use polybatch::secret::Secret;
use polybatch::transport::{read_capped, transport_error};
use polybatch::{Error, ErrorContext, Operation, Preconditions, Result};
use reqwest::Method;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use url::Url;

use crate::ApiVersion;
use crate::BACKEND;
use crate::credential::Credential;
use crate::error::{BatchError, Failure, map_error};
use crate::odata;
use crate::signing::{self, QueryNameCase};

/// The largest response body read (the biggest Batch page is far smaller).
const MAX_BODY: usize = 32 * 1024 * 1024;

/// The `Content-Type` of JSON request bodies (signed byte for byte).
pub(crate) const JSON_CONTENT_TYPE: &str = "application/json; odata=minimalmetadata";

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
        }
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
    /// The body as JSON of type `T`; a body that is not is a non-retryable service error.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let mut ctx = ErrorContext::new(BACKEND, self.operation)
                .with_message(format!("response body is not the expected JSON: {e}"));
            if let Some(id) = &self.request_id {
                ctx = ctx.with_request_id(id.clone());
            }
            Error::service(Some(self.status), false, ctx)
        })
    }
}

/// The HTTP client of one backend (shared by its clones).
pub(crate) struct Client {
    pub(crate) http: reqwest::Client,
    pub(crate) endpoint: Url,
    pub(crate) account: String,
    pub(crate) credential: Credential,
    pub(crate) api_version: ApiVersion,
    pub(crate) retry: RetryPolicy,
    pub(crate) clock: Arc<dyn Clock>,
}

/// RFC 1123 (`Fri, 17 Feb 2017 00:00:00 GMT`), formatted without panicking for any date.
pub(crate) fn rfc1123(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

impl Client {
    /// Sends `call`, retrying per the policy. One `client-request-id` for all attempts.
    pub(crate) async fn send(&self, call: &Call) -> Result<Response> {
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let url = self.url(call)?;
        self.retry
            .run(call.idempotency, |attempt| {
                self.attempt(call, &url, &client_request_id, attempt)
            })
            .await
    }

    /// The full URL of a call: endpoint + path, `api-version`, the timeout, the call's query.
    pub(crate) fn url(&self, call: &Call) -> Result<Url> {
        let timeout = call.server_timeout.map(|t| {
            (
                self.api_version.timeout_query_name(),
                t.as_secs().max(1).to_string(),
            )
        });
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
                url.set_query(Some(&odata::encode_query(&pairs)));
                Ok(url)
            }
            Target::Link(link) => {
                let mut url = link.clone();
                odata::ensure_query(&mut url, "api-version", self.api_version.as_str());
                if let Some((name, value)) = timeout {
                    odata::ensure_query(&mut url, name, &value);
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
            Credential::SharedKey { account, key } => {
                let key = signing::decode_key(key.expose()).map_err(|e| {
                    Error::configuration(BACKEND, "AZURE_BATCH_ACCESS_KEY", e.to_string())
                })?;
                let header_refs: Vec<(&str, &str)> =
                    headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
                let query = signing::decode_query(url.query().unwrap_or(""));
                let query_refs: Vec<(&str, &str)> = query
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                Ok(Secret::new(signing::authorize(
                    account,
                    &key,
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

    async fn attempt(
        &self,
        call: &Call,
        url: &Url,
        client_request_id: &str,
        attempt: u32,
    ) -> Result<Response> {
        let headers = self.headers(call, client_request_id);
        let auth = self.authorization(call, url, &headers).await?;
        let mut request = self.http.request(call.method.clone(), url.clone());
        for (name, value) in &headers {
            request = request.header(*name, value.as_str());
        }
        request = request.header("Authorization", auth.expose());
        if call.method != Method::GET && call.method != Method::HEAD {
            // Bodiless POSTs still get an (empty) body so the explicit Content-Length: 0 holds.
            request = request.body(call.body.clone().unwrap_or_default());
        }

        let ctx = || {
            ErrorContext::new(BACKEND, call.operation).with_message(format!(
                "{} {} (client-request-id {client_request_id})",
                call.method,
                url.path()
            ))
        };
        let started = Instant::now();
        let response = request.send().await.map_err(|e| {
            let e = e.without_url();
            transport_error(e.is_connect(), e.is_timeout(), Box::new(e), ctx())
        })?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let request_id = header("request-id");
        let etag = header("etag");
        let last_modified = header("last-modified")
            .and_then(|v| httpdate::parse_http_date(&v).ok())
            .map(DateTime::<Utc>::from);
        let retry_after = header("retry-after-ms")
            .or_else(|| header("x-ms-retry-after-ms"))
            .and_then(|v| parse_retry_after_ms(&v))
            .or_else(|| {
                header("retry-after").and_then(|v| parse_retry_after(&v, self.clock.now()))
            });
        let body = read_capped(response.bytes_stream(), MAX_BODY).await;
        tracing::debug!(
            method = %call.method,
            path = url.path(),
            status,
            attempt,
            client_request_id,
            request_id = request_id.as_deref().unwrap_or(""),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "azure batch request"
        );
        let body = match body {
            Ok((body, false)) => body,
            failed => {
                let e = match failed {
                    Err(e) => {
                        let e = e.without_url();
                        transport_error(false, e.is_timeout(), Box::new(e), ctx())
                    }
                    _ => Error::service(
                        Some(status),
                        false,
                        ctx().with_message(format!("response body over {MAX_BODY} bytes")),
                    ),
                };
                return Err(match &request_id {
                    Some(id) => e.with_request_id(id.clone()),
                    None => e,
                });
            }
        };
        if (200..300).contains(&status) {
            return Ok(Response {
                operation: call.operation,
                status,
                request_id,
                etag,
                last_modified,
                body,
            });
        }
        let error = BatchError::parse(&body);
        let secrets = self.credential.secrets();
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
