//! Client-side per-action rate limits.
//!
//! Tencent limits each action per (action, access region, sub-account). The defaults are the
//! documented limits of the endpoint's site ([`Site`]: the China site's for
//! `*.tencentcloudapi.com`, the international site's for `*.intl.tencentcloudapi.com` and, as
//! the conservative choice, for any other host). Every quota has a burst of 1: permits are evenly spaced at `1/rate`, so a server
//! enforcing a token bucket of the same rate (whatever its bucket size, even 1) never sees two
//! requests closer than it allows and never answers `RequestLimitExceeded`. A larger client
//! burst would only be safe if the server's bucket were at least as large, which Tencent does
//! not document.

use std::collections::HashMap;
use std::sync::Arc;

use polybatch::rate::{KeyedRateLimiter, Quota};
use polybatch_protocol::tencent::documented_limit_at;
pub use polybatch_protocol::tencent::{ActionLimit, RATE_LIMITS, Site};

/// The default quota of `action` on `site` (evenly spaced, burst 1), if Tencent documents a
/// limit for it ([`RATE_LIMITS`], the table the emulator enforces too).
pub fn default_quota(site: Site, action: &str) -> Option<Quota> {
    documented_limit_at(site, action).map(|n| Quota::per_second(n).with_burst(1))
}

/// The limiter key: action, region, SecretId.
pub(crate) type RateKey = (String, String, String);

/// The per-(action, region, credential) limiter of one client and all its clones.
#[derive(Clone, Debug)]
pub(crate) struct ActionRateLimiter {
    keyed: Option<KeyedRateLimiter<RateKey>>,
}

impl ActionRateLimiter {
    /// A limiter with the defaults, overridden per action by `overrides`.
    pub fn new(site: Site, overrides: HashMap<String, Quota>) -> Self {
        let overrides = Arc::new(overrides);
        let keyed = KeyedRateLimiter::new(move |(action, _, _): &RateKey| {
            overrides
                .get(action)
                .copied()
                .or_else(|| default_quota(site, action))
        });
        ActionRateLimiter { keyed: Some(keyed) }
    }

    /// A limiter that never waits.
    pub fn disabled() -> Self {
        ActionRateLimiter { keyed: None }
    }

    /// The quota applied to `action`, if any.
    pub fn quota(&self, action: &str, region: &str, secret_id: &str) -> Option<Quota> {
        let key = (
            action.to_string(),
            region.to_string(),
            secret_id.to_string(),
        );
        self.keyed.as_ref()?.limiter(&key).map(|l| l.quota())
    }

    /// Waits for a permit to send `action`.
    pub async fn acquire(&self, action: &str, region: &str, secret_id: &str) {
        if let Some(keyed) = &self.keyed {
            let key = (
                action.to_string(),
                region.to_string(),
                secret_id.to_string(),
            );
            keyed.acquire(&key).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::time::Instant;

    async fn permit_times(
        limiter: &ActionRateLimiter,
        callers: Vec<(&'static str, &'static str, &'static str)>,
    ) -> Vec<u128> {
        let start = Instant::now();
        let handles: Vec<_> = callers
            .into_iter()
            .map(|(a, r, s)| {
                let l = limiter.clone();
                tokio::spawn(async move {
                    l.acquire(a, r, s).await;
                    (Instant::now() - start).as_millis()
                })
            })
            .collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out.sort();
        out
    }

    #[test]
    fn defaults_are_the_international_limits_with_burst_1() {
        for (action, per_sec) in [
            ("TerminateJob", 2),
            ("TerminateTaskInstance", 2),
            ("RetryJobs", 2),
            ("DescribeJob", 2),
            ("DescribeJobs", 2),
            ("DescribeTask", 3),
            ("SubmitJob", 7),
            ("DeleteJob", 30),
        ] {
            let q = default_quota(Site::International, action).unwrap();
            assert_eq!(q.burst, 1, "{action}");
            assert_eq!(
                q.interval,
                Duration::from_nanos(1_000_000_000 / per_sec),
                "{action}"
            );
        }
        assert!(default_quota(Site::International, "CreateComputeEnv").is_none());
        // The China site documents higher limits.
        assert_eq!(
            default_quota(Site::China, "DescribeJob").map(|q| q.interval),
            Some(Duration::from_millis(20))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn sixty_four_callers_get_evenly_spaced_permits() {
        let l = ActionRateLimiter::new(Site::International, HashMap::new());
        let times = permit_times(&l, vec![("TerminateJob", "ap-guangzhou", "AKID1"); 64]).await;
        assert_eq!(times, (0..64).map(|i| i * 500).collect::<Vec<u128>>());
        // DescribeTask: 3/s, i.e. every 333.333333 ms; tokio's timer wakes on the next whole
        // millisecond, so each permit lands on the ceiling of its exact slot.
        let l = ActionRateLimiter::new(Site::International, HashMap::new());
        let times = permit_times(&l, vec![("DescribeTask", "ap-guangzhou", "AKID1"); 64]).await;
        let want: Vec<u128> = (0..64u128)
            .map(|i| (333_333_333 * i).div_ceil(1_000_000))
            .collect();
        assert_eq!(times, want);
    }

    #[tokio::test(start_paused = true)]
    async fn overrides_apply_per_action() {
        let mut o = HashMap::new();
        o.insert(
            "TerminateJob".to_string(),
            Quota::per_second(10).with_burst(1),
        );
        let l = ActionRateLimiter::new(Site::International, o);
        let times = permit_times(&l, vec![("TerminateJob", "r", "s"); 5]).await;
        assert_eq!(times, vec![0, 100, 200, 300, 400]);
        assert_eq!(
            l.quota("DescribeJob", "r", "s"),
            Some(Quota::per_second(2).with_burst(1))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn clones_share_and_keys_are_independent() {
        let l = ActionRateLimiter::new(Site::International, HashMap::new());
        let clone = l.clone();
        let start = Instant::now();
        l.acquire("RetryJobs", "ap-guangzhou", "AKID1").await;
        clone.acquire("RetryJobs", "ap-guangzhou", "AKID1").await;
        assert_eq!(start.elapsed(), Duration::from_millis(500), "clones share");
        // A different action, region or credential has its own bucket: no wait.
        for (a, r, s) in [
            ("TerminateJob", "ap-guangzhou", "AKID1"),
            ("RetryJobs", "ap-shanghai", "AKID1"),
            ("RetryJobs", "ap-guangzhou", "AKID2"),
        ] {
            clone.acquire(a, r, s).await;
        }
        assert_eq!(start.elapsed(), Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn disabled_never_waits() {
        let l = ActionRateLimiter::disabled();
        let times = permit_times(&l, vec![("TerminateJob", "r", "s"); 10]).await;
        assert!(times.iter().all(|t| *t == 0));
        assert!(l.quota("TerminateJob", "r", "s").is_none());
    }
}
