//! Request counters, so tests can assert that nothing was sent (unsupported operations fail
//! before any I/O) and benchmarks can count throttled answers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::faults::Provider;

/// Per provider and operation: requests received, and requests answered with an error code.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StatsSnapshot {
    /// `"{provider}:{operation}"` → requests received.
    pub requests: BTreeMap<String, u64>,
    /// `"{provider}:{code}"` → error answers with that code.
    pub errors: BTreeMap<String, u64>,
}

impl StatsSnapshot {
    /// Requests received by one provider's front end.
    pub fn total(&self, provider: Provider) -> u64 {
        let prefix = format!("{}:", provider_name(provider));
        self.requests
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, v)| v)
            .sum()
    }

    /// Requests one provider's front end received for `operation` (a Tencent action, an Azure
    /// operation name).
    pub fn requests(&self, provider: Provider, operation: &str) -> u64 {
        self.requests
            .get(&format!("{}:{operation}", provider_name(provider)))
            .copied()
            .unwrap_or(0)
    }

    /// Error answers of one provider with exactly this code.
    pub fn errors_with_code(&self, provider: Provider, code: &str) -> u64 {
        self.errors
            .get(&format!("{}:{code}", provider_name(provider)))
            .copied()
            .unwrap_or(0)
    }
}

fn provider_name(p: Provider) -> &'static str {
    match p {
        Provider::Azure => "azure",
        Provider::Tencent => "tencent",
        Provider::Aws => "aws",
    }
}

/// The counters. Clones share them.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    inner: Arc<Mutex<StatsSnapshot>>,
}

impl Stats {
    /// Counts a request (call once per request, before authentication).
    pub fn record_request(&self, provider: Provider, operation: &str) {
        let key = format!("{}:{operation}", provider_name(provider));
        *self.lock().requests.entry(key).or_default() += 1;
    }

    /// Counts an error answer.
    pub fn record_error(&self, provider: Provider, code: &str) {
        let key = format!("{}:{code}", provider_name(provider));
        *self.lock().errors.entry(key).or_default() += 1;
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        self.lock().clone()
    }

    /// Resets the counters.
    pub fn reset(&self) {
        *self.lock() = StatsSnapshot::default();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StatsSnapshot> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}
