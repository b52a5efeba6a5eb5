//! Tencent's documented per-action rate limits. The client paces itself by them and the
//! emulator enforces them, from this one table, so the two cannot drift apart.
//!
//! Tencent limits each action per (action, access region, sub-account). These are the
//! documented international limits, the more conservative of Tencent's two doc sets (the China
//! set documents higher limits for some actions).

/// The documented international per-action limits, in requests per second.
pub const DEFAULT_RATE_LIMITS: &[(&str, u32)] = &[
    ("TerminateJob", 2),
    ("TerminateTaskInstance", 2),
    ("RetryJobs", 2),
    ("DescribeJob", 2),
    ("DescribeJobs", 2),
    ("DescribeJobSubmitInfo", 2),
    ("DescribeTask", 3),
    ("SubmitJob", 7),
    ("DeleteJob", 30),
    ("DescribeTaskLogs", 20),
];

/// The documented limit of `action` in requests per second, if Tencent documents one.
pub fn documented_limit(action: &str) -> Option<u32> {
    DEFAULT_RATE_LIMITS
        .iter()
        .find(|(name, _)| *name == action)
        .map(|(_, per_second)| *per_second)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tencent::action;

    #[test]
    fn every_action_polybatch_calls_has_a_documented_limit() {
        for a in action::ALL {
            assert!(documented_limit(a).is_some(), "{a}");
        }
        assert_eq!(documented_limit("DescribeJob"), Some(2));
        assert_eq!(documented_limit("DescribeTask"), Some(3));
        assert_eq!(documented_limit("NoSuchAction"), None);
    }
}
