//! Tencent's documented per-action rate limits. The client paces itself by them and the
//! emulator enforces them, from this one table, so the two cannot drift apart.
//!
//! Tencent limits each action per (action, access region, sub-account). Its two doc sets
//! document different limits: the China site (cloud.tencent.com, API category page 599/30660
//! and the per-API pages) higher ones for most actions, the international site
//! (tencentcloud.com, 599/30458 and the per-API pages) lower ones. Each site's limits apply to
//! the endpoints of that site.

/// Which of Tencent Cloud's two sites an endpoint belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Site {
    /// The China site: `*.tencentcloudapi.com` (other than `*.intl.tencentcloudapi.com`).
    China,
    /// The international site: `*.intl.tencentcloudapi.com`, and the default for any other
    /// host (gateways, emulators) because its limits are the conservative ones.
    #[default]
    International,
}

impl Site {
    /// The site of an endpoint host: `*.intl.tencentcloudapi.com` international,
    /// `tencentcloudapi.com` and its other subdomains China, anything else international.
    pub fn of_host(host: &str) -> Site {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let under = |domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
        if under("intl.tencentcloudapi.com") {
            Site::International
        } else if under("tencentcloudapi.com") {
            Site::China
        } else {
            Site::International
        }
    }
}

/// One action's documented limits, in requests per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionLimit {
    /// The action.
    pub action: &'static str,
    /// The China site's limit.
    pub china: u32,
    /// The international site's limit.
    pub international: u32,
}

impl ActionLimit {
    /// The limit on `site`.
    pub fn at(&self, site: Site) -> u32 {
        match site {
            Site::China => self.china,
            Site::International => self.international,
        }
    }
}

const fn limit(action: &'static str, china: u32, international: u32) -> ActionLimit {
    ActionLimit {
        action,
        china,
        international,
    }
}

/// Every action polybatch calls, with both sites' documented limits. Where a site's category
/// page is cut off or silent, its per-API page gives the figure (SubmitJob 7, RetryJobs 2,
/// TerminateJob 2, TerminateTaskInstance 2 internationally; TerminateJob 10 in China).
pub const RATE_LIMITS: &[ActionLimit] = &[
    limit("TerminateJob", 10, 2),
    limit("TerminateTaskInstance", 2, 2),
    limit("RetryJobs", 10, 2),
    limit("DescribeJob", 50, 2),
    limit("DescribeJobs", 10, 2),
    limit("DescribeJobSubmitInfo", 20, 2),
    limit("DescribeTask", 20, 3),
    limit("SubmitJob", 20, 7),
    limit("DeleteJob", 30, 30),
    limit("DescribeTaskLogs", 20, 20),
];

/// The documented limit of `action` on `site`, in requests per second, if Tencent documents
/// one.
pub fn documented_limit_at(site: Site, action: &str) -> Option<u32> {
    RATE_LIMITS
        .iter()
        .find(|l| l.action == action)
        .map(|l| l.at(site))
}

/// The documented international limit of `action` (the conservative one).
pub fn documented_limit(action: &str) -> Option<u32> {
    documented_limit_at(Site::International, action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tencent::action;

    #[test]
    fn every_action_polybatch_calls_has_a_documented_limit() {
        for a in action::ALL {
            assert!(documented_limit(a).is_some(), "{a}");
            assert!(documented_limit_at(Site::China, a).is_some(), "{a}");
        }
        assert_eq!(documented_limit("DescribeJob"), Some(2));
        assert_eq!(documented_limit_at(Site::China, "DescribeJob"), Some(50));
        assert_eq!(documented_limit("DescribeTask"), Some(3));
        assert_eq!(documented_limit("NoSuchAction"), None);
        // The international site is never the more generous one.
        for l in RATE_LIMITS {
            assert!(l.international <= l.china, "{l:?}");
        }
    }

    #[test]
    fn the_site_follows_the_endpoint_host() {
        for (host, site) in [
            ("batch.tencentcloudapi.com", Site::China),
            ("batch.ap-guangzhou.tencentcloudapi.com", Site::China),
            ("BATCH.TENCENTCLOUDAPI.COM.", Site::China),
            ("batch.intl.tencentcloudapi.com", Site::International),
            (
                "batch.ap-singapore.intl.tencentcloudapi.com",
                Site::International,
            ),
            ("127.0.0.1", Site::International),
            ("gateway.example.com", Site::International),
            ("eviltencentcloudapi.com", Site::International),
        ] {
            assert_eq!(Site::of_host(host), site, "{host}");
        }
    }
}
