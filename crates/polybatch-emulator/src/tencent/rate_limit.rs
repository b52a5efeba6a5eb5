//! Strict server-side rate limits per (action, SecretId, region), on the auth clock: the
//! documented international per-API limits unless the configuration overrides them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use polybatch::rate::{Gcra, Quota};

use crate::config::TencentConfig;

pub use polybatch_protocol::tencent::documented_limit_at;

/// One limiter per (action, SecretId, region).
#[derive(Debug, Default)]
pub struct RateLimits {
    limiters: Mutex<HashMap<(String, String, String), Gcra>>,
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
        // The GCRA's time axis: time since the UNIX epoch on the auth clock.
        let at = (now - DateTime::UNIX_EPOCH)
            .to_std()
            .unwrap_or(Duration::ZERO);
        let mut map = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
        let key = (
            action.to_string(),
            secret_id.to_string(),
            region.to_string(),
        );
        let quota = Quota::per_second(per_second);
        let gcra = map.entry(key).or_insert_with(|| Gcra::new(quota));
        if gcra.quota() != quota {
            *gcra = Gcra::new(quota);
        }
        gcra.check(at).is_ok()
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
