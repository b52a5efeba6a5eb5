//! The simulated Azure Batch service and its REST front end.
//!
//! Routes: `POST /jobs`, `GET /jobs/{job}`, `POST /jobs/{job}/terminate`,
//! `POST|GET /jobs/{job}/tasks`, `GET /jobs/{job}/tasks/{task}`,
//! `POST /jobs/{job}/tasks/{task}/{reactivate,terminate}`,
//! `GET /jobs/{job}/jobpreparationandreleasetaskstatus`, and the Entra ID stand-in
//! `POST /{tenant}/oauth2/v2.0/token`. Behaviour is documented in `docs/emulator.md`.
//!
//! Each request goes through authentication (`auth.rs`, Entra ID tokens from `token.rs`), the
//! route and query checks (`requests.rs`, OData options from `odata.rs`), conditional headers
//! (`conditions.rs`), then the operation (`handlers.rs`) over the simulated account of
//! `polybatch-sim`, rendered by `render.rs` into replies (`reply.rs`, errors from `errors.rs`).
//!
//! A command's simulated run is steered by its environment settings (the names in
//! `polybatch_protocol::sim_env`): seconds to run (tasks default to 5, preparation and release
//! tasks to 1) and the exit code (default 0).

mod auth;
mod conditions;
mod errors;
mod handlers;
mod identity;
mod odata;
mod render;
mod reply;
mod requests;
mod token;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::routing::{any, get, post};
use polybatch::clock::Clock;
use serde_json::{Value, json};

use crate::Context;
use polybatch_sim::azure as sim;

/// The simulated Azure service and its HTTP front end.
#[derive(Debug)]
pub struct AzureService {
    pub(crate) ctx: Arc<Context>,
    sim: Mutex<sim::Sim>,
    pub(crate) tokens: token::TokenStore,
}

impl AzureService {
    /// A service over the shared context.
    pub fn new(ctx: Arc<Context>) -> Self {
        let mut sim = sim::Sim::new(ctx.sim_clock.now(), ctx.config.azure.nodes_per_pool);
        let millis = i64::try_from(ctx.config.azure.termination_millis).unwrap_or(i64::MAX);
        sim.set_termination_time(chrono::Duration::milliseconds(millis));
        AzureService {
            ctx,
            sim: Mutex::new(sim),
            tokens: token::TokenStore::default(),
        }
    }

    /// The routes this front end serves.
    pub fn router(service: &Arc<Self>) -> Router {
        Router::new()
            .route("/jobs", any(handlers::dispatch))
            .route("/jobs/{*rest}", any(handlers::dispatch))
            .route("/{tenant}/oauth2/v2.0/token", post(token::issue))
            .route("/metadata/identity/oauth2/token", get(identity::imds))
            .route("/msi/token", get(identity::app_service))
            .with_state(service.clone())
    }

    fn lock(&self) -> MutexGuard<'_, sim::Sim> {
        self.sim.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the simulated account at the simulation clock's time, in process (tests and
    /// benchmarks seed with it what would take many requests).
    pub fn with_sim<T>(
        &self,
        f: impl FnOnce(&mut sim::Sim, chrono::DateTime<chrono::Utc>) -> T,
    ) -> T {
        let now = self.ctx.sim_clock.now();
        let mut sim = self.lock();
        sim.advance(now);
        f(&mut sim, now)
    }

    /// A JSON view of the simulated state, for the admin API: jobs with their tasks and
    /// preparation/release records, and pools with what each node is running. URLs in it are
    /// relative.
    pub fn snapshot(&self) -> Value {
        let mut sim = self.lock();
        sim.advance(self.ctx.sim_clock.now());
        let now = sim.now();
        let jobs: Vec<Value> = sim
            .jobs()
            .values()
            .map(|j| {
                let pool = sim.pool_of(j);
                let mut v = render::job(j, "");
                v["tasks"] = j
                    .tasks
                    .values()
                    .map(|t| render::task(j, t, pool, ""))
                    .collect();
                v["preparationAndRelease"] = render::prep_release_items(j, pool, "", now)
                    .into_iter()
                    .map(|(_, item)| item)
                    .collect();
                v
            })
            .collect();
        let pools: Vec<Value> = sim
            .pools()
            .values()
            .map(|p| {
                let nodes: Vec<Value> = p
                    .node_ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| {
                        let running: Vec<Value> = sim
                            .jobs()
                            .values()
                            .flat_map(|j| j.tasks.values().map(move |t| (j, t)))
                            .filter(|(_, t)| {
                                t.node == Some(i)
                                    && matches!(
                                        t.state.state,
                                        sim::TaskState::Preparing | sim::TaskState::Running
                                    )
                            })
                            .filter(|(j, _)| j.pool_key == sim::key_of(&p.id))
                            .map(|(j, t)| json!({"jobId": j.id, "taskId": t.id}))
                            .collect();
                        json!({"id": id, "running": running})
                    })
                    .collect();
                json!({"id": p.id, "nodes": nodes})
            })
            .collect();
        json!({
            "account": self.ctx.config.azure.account,
            "now": reply::iso(now),
            "jobs": jobs,
            "pools": pools,
        })
    }

    /// Test seeding: records a successful run of the job's preparation task, at the current
    /// simulated time, on up to `nodes` nodes of its pool where it has not run yet (so status
    /// listings can be paged without running tasks). Returns how many nodes got one, or `None`
    /// when the job does not exist or has no preparation task.
    pub fn seed_preparation(&self, job_id: &str, nodes: usize) -> Option<usize> {
        let mut sim = self.lock();
        let now = self.ctx.sim_clock.now();
        sim.advance(now);
        sim.seed_preparation(job_id, nodes, now)
    }
}
