//! The simulated AWS Batch service (REST-JSON, API `2016-08-10`) and its front end: `/v1/...`
//! paths, one simulated account per region.
//!
//! Each request goes through, in order: request counting, the route (`handlers::route`),
//! SigV4 verification (`auth.rs`, recomputed with `aws-sigv4`), fault injection, the
//! configured rate limit (`TooManyRequestsException`), then the operation (`handlers.rs`)
//! over `polybatch-sim`'s AWS simulation, answered by `reply.rs`.
//!
//! Every region starts with a compute environment, a job queue and a job definition
//! ([`SEEDED_QUEUE`], [`SEEDED_JOB_DEFINITION`]), so a client can submit at once; tests that
//! create their own resources are unaffected.

mod auth;
mod handlers;
mod reply;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::routing::any;
use polybatch::clock::Clock;
use polybatch_sim::aws::Store;
use polybatch_sim::aws::errors::ApiError;
use serde_json::{Value, json};

pub use handlers::{Route, route};

use crate::Context;
use crate::faults::{FaultKind, Provider};
use crate::limiter::Limiters;

/// The largest body read. AWS Batch documents no cap of its own for a whole request (only
/// `SubmitJob`'s 30 KiB, which `handlers.rs` applies); this one keeps a hostile client from
/// growing the emulator's memory.
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

pub use polybatch_sim::aws::{SEEDED_COMPUTE_ENVIRONMENT, SEEDED_JOB_DEFINITION, SEEDED_QUEUE};

/// The simulated AWS service and its HTTP front end.
#[derive(Debug)]
pub struct AwsService {
    ctx: Arc<Context>,
    stores: Mutex<HashMap<String, Store>>,
    limits: Limiters,
}

/// An answer that failed: status, error type, message.
struct Refused {
    status: u16,
    code: String,
    message: String,
}

impl From<ApiError> for Refused {
    fn from(e: ApiError) -> Self {
        Refused {
            status: e.status(),
            code: e.code().to_string(),
            message: e.message,
        }
    }
}

impl From<auth::Failure> for Refused {
    fn from(f: auth::Failure) -> Self {
        Refused {
            status: f.status(),
            code: f.code().to_string(),
            message: f.message(),
        }
    }
}

impl AwsService {
    /// A service over the shared context.
    pub fn new(ctx: Arc<Context>) -> Self {
        AwsService {
            ctx,
            stores: Mutex::new(HashMap::new()),
            limits: Limiters::default(),
        }
    }

    /// The routes this front end serves: every `/v1/` path (the operation is chosen from the
    /// method and path, as the service does).
    pub fn router(service: &Arc<Self>) -> Router {
        Router::new()
            .route("/v1/{*rest}", any(handle))
            .with_state(service.clone())
    }

    fn stores(&self) -> MutexGuard<'_, HashMap<String, Store>> {
        self.stores.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the account of `region` (created, seeded, on first use).
    pub fn with_store<T>(&self, region: &str, f: impl FnOnce(&mut Store) -> T) -> T {
        let mut stores = self.stores();
        let account = &self.ctx.config.aws.account_id;
        let store = stores
            .entry(region.to_string())
            .or_insert_with(|| Store::seeded(region, account));
        f(store)
    }

    /// A JSON view of the simulated state, for the admin API: per region, every job as
    /// `DescribeJobs` shows it now, oldest first.
    pub fn snapshot(&self) -> Value {
        let now = self.ctx.sim_clock.now();
        let stores = self.stores();
        let regions: serde_json::Map<String, Value> = stores
            .iter()
            .map(|(region, store)| {
                let jobs: Vec<Value> = store
                    .job_ids()
                    .filter_map(|id| store.detail(id, now))
                    .filter_map(|d| serde_json::to_value(d).ok())
                    .collect();
                (region.clone(), json!({ "jobs": jobs }))
            })
            .collect();
        json!({ "regions": regions })
    }

    async fn serve(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Result<&[u8], ApiError>,
    ) -> Response {
        let request_id = reply::request_id();
        let route = route(method.as_str(), uri.path());
        let operation = route.as_ref().map_or("", |r| r.operation);
        self.ctx.stats.record_request(Provider::Aws, operation);
        let mut exchange = Exchange {
            request_id: &request_id,
            disruption: None,
        };
        let answer = self
            .process(route.as_ref(), method, uri, headers, body, &mut exchange)
            .await;
        let disruption = exchange.disruption;
        let (response, outcome) = match answer {
            Ok(value) => (reply::success(&value, &request_id), None),
            Err(r) => {
                self.ctx.stats.record_error(Provider::Aws, &r.code);
                (
                    reply::failure(r.status, &r.code, &r.message, &request_id),
                    Some(r.code),
                )
            }
        };
        let response = crate::faults::disrupt(disruption.as_ref(), response).await;
        let outcome = disruption
            .as_ref()
            .map(|f| f.name().to_string())
            .or(outcome);
        crate::log::served(
            "aws",
            &format!("{method} {}", uri.path()),
            operation,
            response.status(),
            Some(&request_id),
            outcome.as_deref(),
        );
        response
    }

    async fn process(
        &self,
        route: Option<&Route>,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Result<&[u8], ApiError>,
        exchange: &mut Exchange<'_>,
    ) -> Result<Value, Refused> {
        // A body too big to read cannot be verified either: refused first.
        let body = body?;
        let config = &self.ctx.config.aws;
        let now = self.ctx.auth_clock.now();
        let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
        // Authentication comes first, as on the service: an unsigned probe learns nothing.
        let verified = auth::verify(config, method.as_str(), path_and_query, headers, body, now)?;
        let Some(route) = route else {
            return Err(Refused {
                status: 404,
                code: "UnknownOperationException".into(),
                message: format!("No operation is served at {method} {}", uri.path()),
            });
        };
        let op = route.operation;
        let mut lost_answer = None;
        match self.ctx.faults.take(Provider::Aws, op) {
            Some(FaultKind::Error { status, code, .. }) => {
                return Err(Refused {
                    status,
                    code,
                    message: "Injected fault.".into(),
                });
            }
            Some(FaultKind::Delay { millis }) => {
                tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
            }
            Some(FaultKind::LoseAnswer { status, code }) => lost_answer = Some((status, code)),
            Some(fault) => {
                let applies = fault.applies();
                exchange.disruption = Some(fault);
                if !applies {
                    // Whatever is answered here is replaced by the disruption.
                    return Err(Refused {
                        status: 500,
                        code: "ServerException".into(),
                        message: "Injected fault.".into(),
                    });
                }
            }
            None => {}
        }
        let limit = config
            .rate_limits
            .get(op)
            .or_else(|| config.rate_limits.get("*"))
            .copied();
        if let Some(per_second) = limit
            && !self.limits.admit(
                (op, &verified.access_key_id, &verified.region),
                per_second,
                now,
            )
        {
            return Err(ApiError::too_many_requests().into());
        }
        let sim_now = self.ctx.sim_clock.now();
        let answer = self.with_store(&verified.region, |store| {
            handlers::run(store, route, body, sim_now)
        });
        if let Ok(value) = &answer
            && let Some(target) = mutated(op, body, value)
        {
            self.ctx
                .journal
                .record(Provider::Aws, op, target, exchange.request_id, sim_now);
        }
        match lost_answer {
            // The effect stays; only the answer is replaced.
            Some((status, code)) => Err(Refused {
                status,
                code,
                message: "Injected fault.".into(),
            }),
            None => answer.map_err(Refused::from),
        }
    }
}

/// One request's id, and the transport fault to carry out on its answer.
struct Exchange<'a> {
    request_id: &'a str,
    disruption: Option<FaultKind>,
}

/// What a successful mutation acted on, for the journal: the job a submit created or the
/// request named (else the resource's name); `None` for a read.
fn mutated(operation: &str, body: &[u8], answer: &Value) -> Option<String> {
    if operation.starts_with("Describe") || operation.starts_with("List") {
        return None;
    }
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let named = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    named(answer, "jobId")
        .or_else(|| named(&request, "jobId"))
        .or_else(|| named(&request, "resourceArn"))
        .or(Some(String::new()))
}

async fn handle(
    State(service): State<Arc<AwsService>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    // Read here, not by an extractor, so that a body over the cap is answered in the
    // service's error shape (a `ClientException`) rather than with axum's bare 413.
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::client(format!("The request body exceeds {MAX_BODY_BYTES} bytes.")));
    service
        .serve(
            &method,
            &uri,
            &headers,
            body.as_deref().map_err(Clone::clone),
        )
        .await
}
