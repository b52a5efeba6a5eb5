//! The admin API under [`crate::ADMIN_PREFIX`]: inspect the simulated service, move its clock,
//! and switch fault injection. Documented in `docs/emulator.md`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use polybatch::clock::Clock;
use polybatch_protocol::constant_time;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Context;
use crate::aws::AwsService;
use crate::azure::AzureService;
use crate::faults::FaultRule;
use crate::tencent::TencentService;

/// What the admin API reads and steers: the shared context and every simulated service.
#[derive(Clone)]
pub(crate) struct Admin {
    pub(crate) ctx: Arc<Context>,
    pub(crate) azure: Arc<AzureService>,
    pub(crate) tencent: Arc<TencentService>,
    pub(crate) aws: Arc<AwsService>,
}

impl Admin {
    fn context(&self) -> &Arc<Context> {
        &self.ctx
    }
}

pub(crate) fn router(admin: Admin) -> Router {
    let steering = Router::new()
        .route("/_polybatch/state", get(state))
        .route("/_polybatch/clock", get(clock))
        .route("/_polybatch/clock/advance", post(advance))
        .route(
            "/_polybatch/faults",
            get(faults).post(add_fault).delete(clear_faults),
        )
        .route("/_polybatch/faults/enabled", post(set_enabled))
        .route("/_polybatch/faults/seed", post(seed_faults))
        .route("/_polybatch/journal", get(journal).delete(clear_journal))
        .route("/_polybatch/stats", get(stats).delete(reset_stats))
        .route_layer(middleware::from_fn_with_state(admin.clone(), require_token))
        .with_state(admin);
    Router::new()
        .route("/_polybatch/health", get(health))
        .merge(steering)
}

/// Refuses an admin request without the configured bearer token (when one is configured).
async fn require_token(State(e): State<Admin>, request: Request, next: Next) -> Response {
    let Some(token) = &e.ctx.config.admin_token else {
        return next.run(request).await;
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if constant_time::eq(presented.as_bytes(), token.expose().as_bytes()) {
        next.run(request).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            Json(json!({"error": "the admin API needs `Authorization: Bearer <admin token>`"})),
        )
            .into_response()
    }
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

async fn state(State(e): State<Admin>) -> Json<Value> {
    Json(json!({
        "clock": e.context().sim_clock.now().to_rfc3339(),
        "azure": e.azure.snapshot(),
        "tencent": e.tencent.snapshot(),
        "aws": e.aws.snapshot(),
    }))
}

async fn clock(State(e): State<Admin>) -> Json<Value> {
    Json(json!({"now": e.context().sim_clock.now().to_rfc3339()}))
}

#[derive(Deserialize)]
struct Advance {
    seconds: f64,
}

async fn advance(
    State(e): State<Admin>,
    Json(a): Json<Advance>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    if !a.seconds.is_finite() || a.seconds < 0.0 || a.seconds > 1e9 {
        return Err((
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "seconds must be between 0 and 1e9"})),
        ));
    }
    e.context()
        .sim_clock
        .advance(Duration::from_secs_f64(a.seconds));
    Ok(Json(
        json!({"now": e.context().sim_clock.now().to_rfc3339()}),
    ))
}

async fn faults(State(e): State<Admin>) -> Json<Value> {
    let faults = &e.context().faults;
    Json(json!({"enabled": faults.enabled(), "rules": faults.rules(), "fired": faults.fired()}))
}

#[derive(Deserialize)]
struct Seed {
    seed: u64,
}

async fn seed_faults(State(e): State<Admin>, Json(s): Json<Seed>) -> Json<Value> {
    e.context().faults.seed(s.seed);
    Json(json!({"seed": s.seed}))
}

async fn journal(State(e): State<Admin>) -> Json<Value> {
    Json(json!({"entries": e.context().journal.entries()}))
}

async fn clear_journal(State(e): State<Admin>) -> StatusCode {
    e.context().journal.clear();
    StatusCode::NO_CONTENT
}

async fn add_fault(State(e): State<Admin>, Json(rule): Json<FaultRule>) -> StatusCode {
    e.context().faults.add(rule);
    StatusCode::CREATED
}

async fn clear_faults(State(e): State<Admin>) -> StatusCode {
    e.context().faults.clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Enabled {
    enabled: bool,
}

async fn set_enabled(State(e): State<Admin>, Json(b): Json<Enabled>) -> Json<Value> {
    e.context().faults.set_enabled(b.enabled);
    Json(json!({"enabled": b.enabled}))
}

async fn stats(State(e): State<Admin>) -> Json<Value> {
    Json(serde_json::to_value(e.context().stats.snapshot()).unwrap_or(Value::Null))
}

async fn reset_stats(State(e): State<Admin>) -> StatusCode {
    e.context().stats.reset();
    StatusCode::NO_CONTENT
}
