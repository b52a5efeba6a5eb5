//! The clients' limiter: per (action, region, credential), a configured quota, adapted down
//! when the service throttles anyway, with permits from a [`PermitSource`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

use crate::Error;

use super::{AdaptiveRate, LocalPermits, PermitSource, Quota, RateKey};

/// Picks the configured quota of an action (`None`: no configured limit).
type QuotaOf = Arc<dyn Fn(&str) -> Option<Quota> + Send + Sync>;

/// A client's rate limiter, shared by its clones.
///
/// Before each attempt the client [`acquire`](Self::acquire)s a permit for its key; after each
/// answer it [`record`](Self::record)s whether the service throttled it. The quota applied is
/// the configured one, or the adapted rate once the key has been throttled and while that is
/// lower ([`AdaptiveRate`]: cut to 0.7× on a throttle, recovering along a cubic). An action
/// without a configured quota is not limited until it is throttled.
#[derive(Clone)]
pub struct ActionLimiter {
    quota_of: QuotaOf,
    permits: Arc<dyn PermitSource>,
    /// `None`: adaptation off.
    adaptive: Option<Arc<Mutex<HashMap<RateKey, AdaptiveRate>>>>,
    origin: Instant,
}

impl fmt::Debug for ActionLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActionLimiter")
            .field("permits", &self.permits)
            .field("adaptive", &self.adaptive.is_some())
            .finish()
    }
}

impl ActionLimiter {
    /// Quotas from `quota_of`, adaptive, with this process's permits.
    pub fn new(quota_of: impl Fn(&str) -> Option<Quota> + Send + Sync + 'static) -> Self {
        ActionLimiter {
            quota_of: Arc::new(quota_of),
            permits: Arc::new(LocalPermits::new()),
            adaptive: Some(Arc::new(Mutex::new(HashMap::new()))),
            origin: Instant::now(),
        }
    }

    /// A limiter that never waits and never adapts.
    pub fn unlimited() -> Self {
        ActionLimiter::new(|_| None).with_adaptive(false)
    }

    /// Takes permits from `permits` (for example a store several processes share).
    pub fn with_permits(mut self, permits: Arc<dyn PermitSource>) -> Self {
        self.permits = permits;
        self
    }

    /// Turns adaptation to throttling on (the default) or off.
    pub fn with_adaptive(mut self, on: bool) -> Self {
        self.adaptive = on.then(|| Arc::new(Mutex::new(HashMap::new())));
        self
    }

    /// The configured quota of `action`.
    pub fn configured(&self, action: &str) -> Option<Quota> {
        (self.quota_of)(action)
    }

    /// The adapted rate of `key`, requests/s, if it has been throttled.
    pub fn adapted(&self, key: &RateKey) -> Option<f64> {
        let adaptive = self.adaptive.as_ref()?;
        let map = adaptive.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)?.rate()
    }

    /// The quota applied to `key` now.
    pub fn quota(&self, key: &RateKey) -> Option<Quota> {
        let configured = self.configured(&key.action);
        let adapted = self.adapted(key).and_then(Quota::from_rate);
        match (configured, adapted) {
            (c, None) => c,
            (None, a) => a,
            (Some(c), Some(a)) => Some(if a.interval > c.interval { a } else { c }),
        }
    }

    /// Waits for a permit to send under `key`.
    pub async fn acquire(&self, key: &RateKey) {
        let Some(quota) = self.quota(key) else {
            return;
        };
        let wait = self.permits.reserve(key, quota).await;
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Records what an attempt sent under `key` came back with: a success is an answer, an
    /// [`Error::Throttled`] a throttled one; any other error may have had no answer at all and
    /// says nothing about the rate, so it is not recorded.
    pub fn observe<T>(&self, key: &RateKey, result: &crate::Result<T>) {
        match result {
            Ok(_) => self.record(key, false),
            Err(Error::Throttled { .. }) => self.record(key, true),
            Err(_) => {}
        }
    }

    /// Records an answer the service sent under `key`: `throttled` if it refused it for its
    /// rate. Requests that got no answer are not recorded.
    pub fn record(&self, key: &RateKey, throttled: bool) {
        let Some(adaptive) = &self.adaptive else {
            return;
        };
        let ceiling = self.configured(&key.action).map(|q| q.per_second_f64());
        let now = Instant::now().saturating_duration_since(self.origin);
        let mut map = adaptive.lock().unwrap_or_else(|p| p.into_inner());
        // Keys are only tracked once throttled or already tracked: a client that is never
        // throttled keeps no per-key state.
        if !throttled && !map.contains_key(key) {
            return;
        }
        let rate = map.entry(key.clone()).or_default();
        rate.record(now, throttled, ceiling);
        if throttled {
            tracing::debug!(key = %key, rate = ?rate.rate(), "throttled: sending slower");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use async_trait::async_trait;

    fn key(action: &str) -> RateKey {
        RateKey::new(action, "ap-guangzhou", "AKIDEXAMPLE")
    }

    fn ten_per_second(action: &str) -> Option<Quota> {
        (action == "DescribeJob").then(|| Quota::per_second(10).with_burst(1))
    }

    /// Sends `n` requests through `l` one after another, recording each answer as
    /// `throttled(i)` says; returns the times they were sent, in ms since the start.
    async fn run(
        l: &ActionLimiter,
        k: &RateKey,
        n: u32,
        throttled: impl Fn(u32) -> bool,
    ) -> Vec<u128> {
        let start = Instant::now();
        let mut times = Vec::new();
        for i in 0..n {
            l.acquire(k).await;
            times.push(start.elapsed().as_millis());
            l.record(k, throttled(i));
        }
        times
    }

    #[tokio::test(start_paused = true)]
    async fn configured_quota_spaces_requests_exactly() {
        let l = ActionLimiter::new(ten_per_second);
        let times = run(&l, &key("DescribeJob"), 5, |_| false).await;
        assert_eq!(times, vec![0, 100, 200, 300, 400]);
        // An action without a quota is not limited.
        let times = run(&l, &key("DeleteJob"), 3, |_| false).await;
        assert_eq!(times, vec![0, 0, 0]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_slows_the_key_then_it_recovers_to_the_quota() {
        let l = ActionLimiter::new(ten_per_second);
        let k = key("DescribeJob");
        run(&l, &k, 30, |_| false).await;
        assert_eq!(l.quota(&k), ten_per_second("DescribeJob"));
        l.record(&k, true);
        let slowed = l.quota(&k).unwrap();
        assert!(
            slowed.interval > Duration::from_millis(130),
            "{slowed} after a throttle"
        );
        // Other keys are untouched.
        let other = RateKey::new("DescribeJob", "ap-shanghai", "AKIDEXAMPLE");
        assert_eq!(l.quota(&other), ten_per_second("DescribeJob"));
        // Successes bring it back to the configured quota, never past it.
        run(&l, &k, 200, |_| false).await;
        assert_eq!(l.quota(&k), ten_per_second("DescribeJob"));
    }

    #[tokio::test(start_paused = true)]
    async fn an_unconfigured_action_becomes_limited_once_throttled() {
        let l = ActionLimiter::new(|_| None);
        let k = key("Job_Get");
        // 50 answers in 1 s at 20 ms each, then a throttle.
        for _ in 0..50 {
            l.acquire(&k).await;
            l.record(&k, false);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(l.quota(&k), None, "untracked before a throttle");
        l.record(&k, true);
        assert!(l.quota(&k).is_some(), "limited after a throttle");
    }

    #[tokio::test(start_paused = true)]
    async fn only_answers_are_observed() {
        use crate::error::{ErrorContext, Operation};
        let l = ActionLimiter::new(ten_per_second);
        let k = key("DescribeJob");
        let ctx = || ErrorContext::new("test", Operation::JobStatus);
        // An error that may have had no answer teaches nothing.
        l.observe::<()>(&k, &Err(Error::timeout(ctx())));
        assert_eq!(l.adapted(&k), None);
        l.observe(&k, &Ok(()));
        assert_eq!(l.adapted(&k), None, "successes alone never limit");
        l.observe::<()>(&k, &Err(Error::throttled(None, ctx())));
        assert!(l.adapted(&k).is_some(), "a throttle is observed");
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_never_waits_or_adapts() {
        let l = ActionLimiter::unlimited();
        let k = key("DescribeJob");
        let times = run(&l, &k, 10, |_| true).await;
        assert!(times.iter().all(|t| *t == 0));
        assert_eq!(l.quota(&k), None);
    }

    #[tokio::test(start_paused = true)]
    async fn adaptation_off_keeps_the_configured_quota() {
        let l = ActionLimiter::new(ten_per_second).with_adaptive(false);
        let k = key("DescribeJob");
        let times = run(&l, &k, 4, |_| true).await;
        assert_eq!(times, vec![0, 100, 200, 300]);
    }

    #[derive(Debug, Default)]
    struct Counting(AtomicU32);

    #[async_trait]
    impl PermitSource for Counting {
        async fn reserve(&self, _: &RateKey, _: Quota) -> Duration {
            self.0.fetch_add(1, Ordering::SeqCst);
            Duration::from_millis(7)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn permits_come_from_the_source_given() {
        let source = Arc::new(Counting::default());
        let l = ActionLimiter::new(ten_per_second).with_permits(source.clone());
        let times = run(&l, &key("DescribeJob"), 3, |_| false).await;
        assert_eq!(times, vec![7, 14, 21]);
        assert_eq!(source.0.load(Ordering::SeqCst), 3);
        // Unlimited actions ask the source for nothing.
        run(&l, &key("DeleteJob"), 3, |_| false).await;
        assert_eq!(source.0.load(Ordering::SeqCst), 3);
    }
}
