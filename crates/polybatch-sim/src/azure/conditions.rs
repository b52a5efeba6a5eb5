//! Conditional requests (`If-Match`, `If-None-Match`, `If-Modified-Since`,
//! `If-Unmodified-Since`) as Azure Batch evaluates them, for every simulation of the service.
//!
//! One condition per request, except `If-None-Match` with `If-Modified-Since` and `If-Match`
//! with `If-Unmodified-Since`, where the ETag condition wins; any other combination is 400
//! `MultipleConditionHeadersNotSupported`. ETag lists are comma-separated, may be quoted or weak
//! (`W/"..."`), and `*` matches any ETag. Times are compared in whole seconds, the precision of
//! an HTTP date. An unmet condition is 412 `ConditionNotMet`, or 304 on a read for the
//! "not modified" kinds (`If-None-Match`, `If-Modified-Since`).

use chrono::{DateTime, Utc};

use super::refusal::{Refusal, RefusalKind};

#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // named after the headers
enum Condition {
    IfMatch(String),
    IfNoneMatch(String),
    IfModifiedSince(DateTime<Utc>),
    IfUnmodifiedSince(DateTime<Utc>),
}

/// The condition a request carries, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    condition: Option<Condition>,
}

fn etag_matches(list: &str, etag: &str) -> bool {
    list.split(',').any(|candidate| {
        let c = candidate.trim();
        let c = c.strip_prefix("W/").unwrap_or(c).trim_matches('"');
        c == "*" || c == etag
    })
}

impl Conditions {
    /// The condition of a request with these four headers (already parsed).
    pub fn new(
        if_match: Option<String>,
        if_none_match: Option<String>,
        if_modified_since: Option<DateTime<Utc>>,
        if_unmodified_since: Option<DateTime<Utc>>,
    ) -> Result<Conditions, Refusal> {
        let condition = match (
            if_match,
            if_none_match,
            if_modified_since,
            if_unmodified_since,
        ) {
            (None, None, None, None) => None,
            (Some(m), None, None, _) => Some(Condition::IfMatch(m)),
            (None, Some(n), _, None) => Some(Condition::IfNoneMatch(n)),
            (None, None, Some(d), None) => Some(Condition::IfModifiedSince(d)),
            (None, None, None, Some(d)) => Some(Condition::IfUnmodifiedSince(d)),
            _ => return Err(Refusal::bad_request("MultipleConditionHeadersNotSupported")),
        };
        Ok(Conditions { condition })
    }

    /// Checks the condition against a resource with `etag` last modified at `last_modified`.
    /// `read`: a GET, where an unmet "not modified" condition is 304 rather than 412.
    pub fn check(
        &self,
        etag: &str,
        last_modified: DateTime<Utc>,
        read: bool,
    ) -> Result<(), Refusal> {
        let modified = last_modified.timestamp();
        let (met, not_modified_kind) = match &self.condition {
            None => return Ok(()),
            Some(Condition::IfMatch(list)) => (etag_matches(list, etag), false),
            Some(Condition::IfNoneMatch(list)) => (!etag_matches(list, etag), true),
            Some(Condition::IfModifiedSince(d)) => (modified > d.timestamp(), true),
            Some(Condition::IfUnmodifiedSince(d)) => (modified <= d.timestamp(), false),
        };
        if met {
            return Ok(());
        }
        let kind = if read && not_modified_kind {
            RefusalKind::NotModified
        } else {
            RefusalKind::PreconditionFailed
        };
        Err(Refusal::of_kind(kind, "ConditionNotMet"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).single().unwrap()
    }

    fn check(c: Result<Conditions, Refusal>, read: bool) -> Option<RefusalKind> {
        c.and_then(|c| c.check("0x1", t(10), read))
            .err()
            .map(|r| r.kind)
    }

    #[test]
    fn each_condition_on_a_write() {
        let m = |s: &str| Conditions::new(Some(s.into()), None, None, None);
        let n = |s: &str| Conditions::new(None, Some(s.into()), None, None);
        let fail = Some(RefusalKind::PreconditionFailed);
        assert_eq!(check(Conditions::new(None, None, None, None), false), None);
        assert_eq!(check(m("0x1"), false), None);
        assert_eq!(check(m("*"), false), None);
        assert_eq!(check(m("\"0x1\""), false), None);
        assert_eq!(check(m("W/\"0x1\""), false), None);
        assert_eq!(check(m("0x9, 0x1"), false), None);
        assert_eq!(check(m("0x2"), false), fail);
        assert_eq!(check(n("0x2"), false), None);
        assert_eq!(check(n("0x1"), false), fail);
        assert_eq!(check(n("*"), false), fail);
        let ims = |s| Conditions::new(None, None, Some(t(s)), None);
        let ius = |s| Conditions::new(None, None, None, Some(t(s)));
        assert_eq!(check(ims(9), false), None);
        assert_eq!(check(ims(10), false), fail);
        assert_eq!(check(ius(10), false), None);
        assert_eq!(check(ius(9), false), fail);
    }

    #[test]
    fn reads_answer_not_modified_and_pairs_are_limited() {
        let n = Conditions::new(None, Some("0x1".into()), None, None);
        assert_eq!(check(n, true), Some(RefusalKind::NotModified));
        let m = Conditions::new(Some("0x2".into()), None, None, None);
        assert_eq!(check(m, true), Some(RefusalKind::PreconditionFailed));
        // The ETag condition wins in the two allowed pairs.
        let pair = Conditions::new(Some("0x1".into()), None, None, Some(t(0)));
        assert_eq!(check(pair, false), None);
        let pair = Conditions::new(None, Some("0x2".into()), Some(t(99)), None);
        assert_eq!(check(pair, false), None);
        let e = Conditions::new(Some("0x1".into()), Some("0x2".into()), None, None).unwrap_err();
        assert_eq!(
            (e.kind, e.code.as_str()),
            (
                RefusalKind::BadRequest,
                "MultipleConditionHeadersNotSupported"
            )
        );
    }
}
