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

use polybatch::rate::{ActionLimiter, PermitSource, Quota};
use polybatch_protocol::tencent::documented_limit_at;
pub use polybatch_protocol::tencent::{ActionLimit, RATE_LIMITS, Site};

/// The default quota of `action` on `site` (evenly spaced, burst 1), if Tencent documents a
/// limit for it ([`RATE_LIMITS`], the table the emulator enforces too).
pub fn default_quota(site: Site, action: &str) -> Option<Quota> {
    documented_limit_at(site, action).map(|n| Quota::per_second(n).with_burst(1))
}

/// How the builder configured the limiter.
#[derive(Debug, Clone, Default)]
pub(crate) struct LimitSettings {
    /// Quotas that replace the defaults, per action.
    pub overrides: HashMap<String, Quota>,
    /// No client-side limits and no adaptation at all.
    pub disabled: bool,
    /// No adaptation to throttling (the configured quotas only).
    pub fixed: bool,
    /// Where permits come from, when not from this process (a fleet-wide store).
    pub permits: Option<Arc<dyn PermitSource>>,
}

/// The per-(action, region, credential) limiter of one client and all its clones: the
/// documented limits of `site`, overridden per action, adapted down when Tencent answers
/// `RequestLimitExceeded` anyway (another process using the same sub-account, for one).
pub(crate) fn limiter(site: Site, settings: LimitSettings) -> ActionLimiter {
    if settings.disabled {
        return ActionLimiter::unlimited();
    }
    let overrides = settings.overrides;
    let mut limiter = ActionLimiter::new(move |action| {
        overrides
            .get(action)
            .copied()
            .or_else(|| default_quota(site, action))
    })
    .with_adaptive(!settings.fixed);
    if let Some(permits) = settings.permits {
        limiter = limiter.with_permits(permits);
    }
    limiter
}

#[cfg(test)]
mod tests {
    use super::*;
    use polybatch::rate::RateKey;
    use std::time::Duration;
    use tokio::time::Instant;

    fn limits(overrides: HashMap<String, Quota>) -> ActionLimiter {
        limiter(
            Site::International,
            LimitSettings {
                overrides,
                ..LimitSettings::default()
            },
        )
    }

    async fn permit_times(
        limiter: &ActionLimiter,
        callers: Vec<(&'static str, &'static str, &'static str)>,
    ) -> Vec<u128> {
        let start = Instant::now();
        let handles: Vec<_> = callers
            .into_iter()
            .map(|(a, r, s)| {
                let l = limiter.clone();
                tokio::spawn(async move {
                    l.acquire(&RateKey::new(a, r, s)).await;
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
        let l = limits(HashMap::new());
        let times = permit_times(&l, vec![("TerminateJob", "ap-guangzhou", "AKID1"); 64]).await;
        assert_eq!(times, (0..64).map(|i| i * 500).collect::<Vec<u128>>());
        // DescribeTask: 3/s, i.e. every 333.333333 ms; tokio's timer wakes on the next whole
        // millisecond, so each permit lands on the ceiling of its exact slot.
        let l = limits(HashMap::new());
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
        let l = limits(o);
        let times = permit_times(&l, vec![("TerminateJob", "r", "s"); 5]).await;
        assert_eq!(times, vec![0, 100, 200, 300, 400]);
        assert_eq!(
            l.quota(&RateKey::new("DescribeJob", "r", "s")),
            Some(Quota::per_second(2).with_burst(1))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn clones_share_and_keys_are_independent() {
        let l = limits(HashMap::new());
        let clone = l.clone();
        let start = Instant::now();
        let k = RateKey::new("RetryJobs", "ap-guangzhou", "AKID1");
        l.acquire(&k).await;
        clone.acquire(&k).await;
        assert_eq!(start.elapsed(), Duration::from_millis(500), "clones share");
        // A different action, region or credential has its own bucket: no wait.
        for (a, r, s) in [
            ("TerminateJob", "ap-guangzhou", "AKID1"),
            ("RetryJobs", "ap-shanghai", "AKID1"),
            ("RetryJobs", "ap-guangzhou", "AKID2"),
        ] {
            clone.acquire(&RateKey::new(a, r, s)).await;
        }
        assert_eq!(start.elapsed(), Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn disabled_never_waits() {
        let l = limiter(
            Site::International,
            LimitSettings {
                disabled: true,
                ..LimitSettings::default()
            },
        );
        let times = permit_times(&l, vec![("TerminateJob", "r", "s"); 10]).await;
        assert!(times.iter().all(|t| *t == 0));
        let k = RateKey::new("TerminateJob", "r", "s");
        l.record(&k, true);
        assert!(l.quota(&k).is_none(), "no adaptation either");
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_slows_only_its_key_unless_fixed() {
        let default = default_quota(Site::International, "DescribeJob");
        let k = RateKey::new("DescribeJob", "ap-guangzhou", "AKID1");
        let l = limits(HashMap::new());
        l.record(&k, true);
        let slowed = l.quota(&k).unwrap();
        assert!(slowed.interval > Duration::from_millis(700), "{slowed}");
        let other = RateKey::new("DescribeJob", "ap-guangzhou", "AKID2");
        assert_eq!(l.quota(&other), default);
        let fixed = limiter(
            Site::International,
            LimitSettings {
                fixed: true,
                ..LimitSettings::default()
            },
        );
        fixed.record(&k, true);
        assert_eq!(fixed.quota(&k), default);
    }
}
