//! The simulated Tencent side (being written).

use std::sync::Arc;

use axum::Router;
use serde_json::{Value, json};

use crate::Context;

/// The simulated Tencent service and its HTTP front end.
#[derive(Debug)]
pub struct TencentService {
    #[allow(dead_code)]
    ctx: Arc<Context>,
}

impl TencentService {
    /// A service over the shared context.
    pub fn new(ctx: Arc<Context>) -> Self {
        TencentService { ctx }
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
