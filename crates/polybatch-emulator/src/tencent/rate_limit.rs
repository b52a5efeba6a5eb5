//! Strict server-side rate limits per (action, SecretId, region), on the auth clock: the
//! documented international per-API limits unless the configuration overrides them.

use chrono::{DateTime, Utc};

use crate::config::TencentConfig;
use crate::limiter::Limiters;

pub use polybatch_protocol::tencent::documented_limit_at;

/// One limiter per (action, SecretId, region).
#[derive(Debug, Default)]
pub struct RateLimits {
    limiters: Limiters,
}

impl RateLimits {
    /// Admits one request at `now`, or says it exceeds the limit.
    pub fn admit(
        &self,
        config: &TencentConfig,
        action: &str,
        secret_id: &str,
        region: &str,
        now: DateTime<Utc>,
    ) -> bool {
        if !config.enforce_rate_limits {
            return true;
        }
        let Some(per_second) = config
            .rate_limits
            .get(action)
            .copied()
            .or_else(|| documented_limit_at(config.site, action))
        else {
            return true;
        };
        self.limiters
            .admit((action, secret_id, region), per_second, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate_per_key() {
        let limits = RateLimits::default();
        let config = TencentConfig::default();
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let ok = |action: &str, region: &str, ms: i64| {
            limits.admit(
                &config,
                action,
                "id",
                region,
                t + chrono::Duration::milliseconds(ms),
            )
        };
        assert!(ok("DescribeJob", "r", 0));
        assert!(ok("DescribeJob", "r", 0));
        assert!(!ok("DescribeJob", "r", 0));
        assert!(ok("DescribeJob", "other", 0));
        assert!(ok("DescribeTask", "r", 0));
        assert!(!ok("DescribeJob", "r", 499));
        assert!(ok("DescribeJob", "r", 500));
        assert!(ok("NotLimited", "r", 0));
        let off = TencentConfig {
            enforce_rate_limits: false,
            ..TencentConfig::default()
        };
        for _ in 0..10 {
            assert!(limits.admit(&off, "DescribeJob", "id", "r", t));
        }
    }
}
