//! The simulated Azure side (being written).

use std::sync::Arc;

use axum::Router;
use serde_json::{Value, json};

use crate::Context;

/// The simulated Azure service and its HTTP front end.
#[derive(Debug)]
pub struct AzureService {
    #[allow(dead_code)]
    ctx: Arc<Context>,
}

impl AzureService {
    /// A service over the shared context.
    pub fn new(ctx: Arc<Context>) -> Self {
        AzureService { ctx }
    }

    /// The routes this front end serves.
    pub fn router(service: &Arc<Self>) -> Router {
        let _ = service;
        Router::new()
    }

    /// A JSON view of the simulated state, for the admin API.
    pub fn snapshot(&self) -> Value {
        json!({})
    }
}
