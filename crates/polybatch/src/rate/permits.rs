//! Where permits come from: this process ([`LocalPermits`]) or a store several processes
//! share (the `polybatch-redis` crate), behind one trait.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::{Gcra, Quota};

/// What a service counts requests under: one action, in one region, by one credential.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RateKey {
    /// The action or operation (`DescribeJob`, `Job_Get`).
    pub action: String,
    /// The region or account the request goes to.
    pub region: String,
    /// The identity of the credential (a SecretId, an account name, a role): never a secret.
    pub credential: String,
}

impl RateKey {
    /// A key.
    pub fn new(action: &str, region: &str, credential: &str) -> Self {
        RateKey {
            action: action.to_string(),
            region: region.to_string(),
            credential: credential.to_string(),
        }
    }
}

impl fmt::Display for RateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.action, self.region, self.credential)
    }
}

/// A source of permits: reserves the next slot of a key's GCRA and says how long the caller
/// must wait for it. Reservations are made in call order, so callers queue rather than fail.
/// The quota is passed with each reservation, as adaptation may change it between calls.
#[async_trait]
pub trait PermitSource: Send + Sync + fmt::Debug {
    /// Reserves the next permit for `key` under `quota`; the caller sends after the returned
    /// wait.
    async fn reserve(&self, key: &RateKey, quota: Quota) -> Duration;
}

/// Permits counted in this process, on `tokio::time` (so a paused clock drives them).
pub struct LocalPermits {
    origin: Instant,
    cells: Mutex<HashMap<RateKey, Gcra>>,
}

impl fmt::Debug for LocalPermits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalPermits")
    }
}

impl Default for LocalPermits {
    fn default() -> Self {
        LocalPermits::new()
    }
}

impl LocalPermits {
    /// No permits reserved yet.
    pub fn new() -> Self {
        LocalPermits {
            origin: Instant::now(),
            cells: Mutex::new(HashMap::new()),
        }
    }

    /// Reserves without waiting (the synchronous core of [`PermitSource::reserve`]).
    pub fn reserve_now(&self, key: &RateKey, quota: Quota) -> Duration {
        let now = Instant::now().saturating_duration_since(self.origin);
        let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        let cell = cells.entry(key.clone()).or_insert_with(|| Gcra::new(quota));
        cell.set_quota(quota);
        cell.reserve(now)
    }
}

#[async_trait]
impl PermitSource for LocalPermits {
    async fn reserve(&self, key: &RateKey, quota: Quota) -> Duration {
        self.reserve_now(key, quota)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn keys_are_counted_apart() {
        let p = LocalPermits::new();
        let q = Quota::per_second(2).with_burst(1);
        let a = RateKey::new("DescribeJob", "ap-guangzhou", "AKID1");
        let b = RateKey::new("DescribeJob", "ap-guangzhou", "AKID2");
        assert_eq!(p.reserve(&a, q).await, Duration::ZERO);
        assert_eq!(p.reserve(&a, q).await, Duration::from_millis(500));
        assert_eq!(p.reserve(&b, q).await, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_changed_quota_applies_from_the_next_reservation() {
        let p = LocalPermits::new();
        let k = RateKey::new("SubmitJob", "r", "c");
        let fast = Quota::per_second(10).with_burst(1);
        let slow = Quota::per_second(1).with_burst(1);
        assert_eq!(p.reserve(&k, fast).await, Duration::ZERO);
        assert_eq!(p.reserve(&k, slow).await, Duration::from_millis(100));
        assert_eq!(p.reserve(&k, slow).await, Duration::from_millis(1100));
    }
}
