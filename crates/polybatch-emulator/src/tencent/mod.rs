//! The simulated Tencent Cloud Batch service (API 3.0, version `2017-03-12`) and its front end,
//! `POST /` routed by `X-TC-Action`.
//!
//! Each request goes through, in order: request counting, TC3-HMAC-SHA256 verification
//! (`auth.rs`), version and region checks, fault injection, the per-action rate limit
//! (`rate_limit.rs`), the request body's parsing (`requests.rs`), then the action
//! (`handlers.rs`) over the simulated jobs of `polybatch-sim`, rendered by `render.rs`. Every
//! answer is HTTP 200 with the `{"Response": ...}` envelope (`reply.rs`, errors from
//! `errors.rs`), except injected faults that ask for another status.

mod auth;
mod handlers;
mod rate_limit;
mod render;
mod reply;
mod sts;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use polybatch::clock::Clock;
use serde_json::{Map, Value, json};

pub use sts::{ASSUME_ROLE_WITH_WEB_IDENTITY, METADATA_ROLE_KEYS, METADATA_ROLE_NAME, STS_VERSION};

use crate::Context;
use crate::faults::{FaultKind, Provider};
use errors::ApiError;
use rate_limit::RateLimits;
use sim::Store;

use polybatch_protocol::tencent::API_VERSION;
use polybatch_sim::tencent as sim;
use polybatch_sim::tencent::{errors, requests};

/// The largest body accepted (the TC3 limit for POST).
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// The simulated Tencent service and its HTTP front end.
#[derive(Debug)]
pub struct TencentService {
    ctx: Arc<Context>,
    store: Mutex<Store>,
    limits: RateLimits,
    issued: sts::Issued,
}

/// What a request ends in besides an envelope error.
enum Reply {
    /// A success envelope with these fields.
    Fields(Map<String, Value>),
    /// An injected non-200 answer.
    Raw(Response),
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

impl TencentService {
    /// A service over the shared context.
    pub fn new(ctx: Arc<Context>) -> Self {
        TencentService {
            ctx,
            store: Mutex::new(Store::default()),
            limits: RateLimits::default(),
            issued: sts::Issued::default(),
        }
    }

    /// The routes this front end serves: `POST /` (Batch, and STS's
    /// `AssumeRoleWithWebIdentity`) and the CVM instance metadata service's role keys.
    pub fn router(service: &Arc<Self>) -> Router {
        Router::new()
            .route("/", post(handle))
            .route(
                "/latest/meta-data/cam/security-credentials/",
                get(sts::role_name),
            )
            .route(
                "/latest/meta-data/cam/security-credentials/{role}",
                get(sts::role_keys),
            )
            .with_state(service.clone())
    }

    /// A JSON view of the simulated state, for the admin API: every job, oldest first, with
    /// its tasks' and instances' current states.
    pub fn snapshot(&self) -> Value {
        let now = self.ctx.sim_clock.now();
        let store = self.store();
        let jobs: Vec<Value> = store
            .all()
            .map(|job| render::snapshot(job, &job.view(now)))
            .collect();
        json!({ "jobs": jobs })
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the simulated jobs at the simulation clock's time, in process (tests and
    /// benchmarks seed with it what the rate limits would make slow over HTTP).
    pub fn with_store<T>(
        &self,
        f: impl FnOnce(&mut Store, chrono::DateTime<chrono::Utc>) -> T,
    ) -> T {
        let now = self.ctx.sim_clock.now();
        f(&mut self.store(), now)
    }

    /// Serves one API request.
    async fn serve(
        &self,
        headers: &HeaderMap,
        query: &str,
        body: Result<&[u8], ApiError>,
    ) -> Response {
        let request_id = reply::request_id();
        let action = header(headers, "x-tc-action")
            .unwrap_or_default()
            .to_string();
        self.ctx.stats.record_request(Provider::Tencent, &action);
        let mut disruption = None;
        let answer = self
            .process(&action, headers, query, body, &request_id, &mut disruption)
            .await;
        let mut outcome = disruption
            .as_ref()
            .map(|f: &FaultKind| f.name().to_string());
        let response = match answer {
            Ok(Reply::Fields(fields)) => reply::success(fields, &request_id),
            Ok(Reply::Raw(resp)) => {
                outcome.get_or_insert_with(|| format!("HTTP {}", resp.status().as_u16()));
                resp
            }
            Err(err) => {
                self.ctx.stats.record_error(Provider::Tencent, &err.code);
                outcome.get_or_insert_with(|| err.code.clone());
                reply::failure(&err, &request_id)
            }
        };
        let response = crate::faults::disrupt(disruption.as_ref(), response).await;
        crate::log::served(
            "tencent",
            "POST /",
            &action,
            response.status(),
            Some(&request_id),
            outcome.as_deref(),
        );
        response
    }

    async fn process(
        &self,
        action: &str,
        headers: &HeaderMap,
        query: &str,
        body: Result<&[u8], ApiError>,
        request_id: &str,
        disruption: &mut Option<FaultKind>,
    ) -> Result<Reply, ApiError> {
        let body = body?;
        let now = self.ctx.auth_clock.now();
        if action == sts::ASSUME_ROLE_WITH_WEB_IDENTITY {
            // STS, unsigned: the web identity token is the proof.
            return sts::assume_role_with_web_identity(
                &self.issued,
                header(headers, "x-tc-version"),
                body,
                now,
            )
            .map(Reply::Fields);
        }
        let config = &self.ctx.config.tencent;
        // Keys the metadata service or STS issued are checked with their own key and token.
        let issued = match header(headers, "authorization").and_then(sts::signed_secret_id) {
            Some(id) => self.issued.lookup(id, now)?.map(|keys| (id, keys)),
            None => None,
        };
        let credentials = match &issued {
            Some((id, keys)) => auth::Credentials {
                secret_id: id,
                secret_key: keys.secret_key.expose(),
                session_token: Some(keys.token.expose()),
            },
            None => auth::configured(config),
        };
        let verified = auth::verify(&credentials, headers, query, body, now)?;
        match header(headers, "x-tc-version") {
            None => return Err(ApiError::missing("X-TC-Version")),
            Some(API_VERSION) => {}
            Some(other) => {
                return Err(ApiError::new(
                    "NoSuchVersion",
                    format!("The API version `{other}` does not exist."),
                ));
            }
        }
        let region = match header(headers, "x-tc-region").filter(|r| !r.is_empty()) {
            None => return Err(ApiError::missing("X-TC-Region")),
            Some(r) if config.regions.iter().any(|known| known == r) => r,
            Some(r) => {
                return Err(ApiError::new(
                    "UnsupportedRegion",
                    format!("The API does not support the region `{r}`."),
                ));
            }
        };
        if action.is_empty() {
            return Err(ApiError::missing("X-TC-Action"));
        }
        let mut lost_answer = None;
        match self.ctx.faults.take(Provider::Tencent, action) {
            Some(FaultKind::Error {
                status: 200, code, ..
            }) => {
                return Err(ApiError::new(code, "Injected fault."));
            }
            Some(FaultKind::Error { status, code, .. }) => {
                self.ctx.stats.record_error(Provider::Tencent, &code);
                return Ok(Reply::Raw(reply::raw_status(status, &code)));
            }
            Some(FaultKind::Delay { millis }) => {
                tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
            }
            Some(FaultKind::LoseAnswer { status, code }) => lost_answer = Some((status, code)),
            Some(fault) => {
                let applies = fault.applies();
                *disruption = Some(fault);
                if !applies {
                    // Whatever is answered here is replaced by the disruption.
                    return Err(ApiError::new("InternalError", "Injected fault."));
                }
            }
            None => {}
        }
        // A SubmitJob whose ClientToken names a job already made creates nothing.
        let folded = action == "SubmitJob"
            && serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|b| b.get("ClientToken")?.as_str().map(str::to_string))
                .is_some_and(|token| self.store().job_for_token(region, &token).is_some());
        let answer = self.operate(config, &verified.secret_id, action, region, body);
        if let Ok(Reply::Fields(fields)) = &answer
            && !folded
            && let Some(target) = mutated(action, body, fields)
        {
            self.ctx.journal.record(
                Provider::Tencent,
                action,
                target,
                request_id,
                self.ctx.sim_clock.now(),
            );
        }
        match lost_answer {
            // The effect stays; only the answer is replaced.
            Some((200, code)) => Err(ApiError::new(code, "Injected fault.")),
            Some((status, code)) => {
                self.ctx.stats.record_error(Provider::Tencent, &code);
                Ok(Reply::Raw(reply::raw_status(status, &code)))
            }
            None => answer,
        }
    }

    /// The action itself, once the request passed authentication, versioning and faults.
    fn operate(
        &self,
        config: &crate::config::TencentConfig,
        secret_id: &str,
        action: &str,
        region: &str,
        body: &[u8],
    ) -> Result<Reply, ApiError> {
        if !self
            .limits
            .admit(config, action, secret_id, region, self.ctx.auth_clock.now())
        {
            return Err(ApiError::new(
                "RequestLimitExceeded",
                format!(
                    "Your current request times exceeds the limit of {action}. Please try again later."
                ),
            ));
        }
        if !handlers::ACTIONS.contains(&action) {
            return Err(ApiError::new(
                "InvalidAction",
                format!("The action `{action}` does not exist."),
            ));
        }
        let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
            Value::Object(Map::new())
        } else {
            serde_json::from_slice(body).map_err(|e| {
                ApiError::invalid(format!("The request body is not valid JSON: {e}."))
            })?
        };
        if !body.is_object() {
            return Err(ApiError::invalid("The request body must be a JSON object."));
        }
        let now = self.ctx.sim_clock.now();
        let mut store = self.store();
        handlers::run(&mut store, action, region, &body, now).map(Reply::Fields)
    }
}

/// What a successful mutation acted on, for the journal: the job ids the request named, or
/// the job a submit created; `None` for a read.
fn mutated(action: &str, body: &[u8], fields: &Map<String, Value>) -> Option<String> {
    if action.starts_with("Describe") {
        return None;
    }
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let ids = |v: Option<&Value>| match v {
        Some(Value::String(id)) => Some(id.clone()),
        Some(Value::Array(ids)) => Some(
            ids.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => None,
    };
    ids(fields.get("JobId"))
        .or_else(|| ids(request.get("JobId")))
        .or_else(|| ids(request.get("JobIds")))
        .or(Some(String::new()))
}

async fn handle(
    State(service): State<Arc<TencentService>>,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    // Read here, not by an extractor, so that a body over the limit is answered as the
    // service does, in an envelope, rather than with a bare 413.
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                "RequestSizeLimitExceeded",
                format!("The request body exceeds {MAX_BODY_BYTES} bytes."),
            )
        });
    let body = body.as_deref().map_err(Clone::clone);
    service
        .serve(&headers, uri.query().unwrap_or_default(), body)
        .await
}
