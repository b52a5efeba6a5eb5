//! Conditional-request preconditions, evaluated the way Azure Batch evaluates them on writes.

use chrono::{DateTime, Utc};

use crate::error::{Error, ErrorContext, Result};
use crate::options::Preconditions;
use crate::status::ETag;

/// Fails with `PreconditionFailed` (code `ConditionNotMet`) unless `p` holds for a resource
/// with `etag` last modified at `last_modified`.
///
/// Like Azure, only one condition may be set, except the pairs `If-None-Match` +
/// `If-Modified-Since` and `If-Match` + `If-Unmodified-Since` (the ETag condition wins); any
/// other combination is `InvalidInput` (code `MultipleConditionHeadersNotSupported`). Times are
/// compared in whole seconds, the precision of an HTTP date.
pub(crate) fn check(
    ctx: impl Fn() -> ErrorContext,
    p: &Preconditions,
    etag: &ETag,
    last_modified: DateTime<Utc>,
) -> Result<()> {
    let set = [
        p.if_match.is_some(),
        p.if_none_match.is_some(),
        p.if_modified_since.is_some(),
        p.if_unmodified_since.is_some(),
    ]
    .iter()
    .filter(|s| **s)
    .count();
    let allowed_pair = set == 2
        && ((p.if_none_match.is_some() && p.if_modified_since.is_some())
            || (p.if_match.is_some() && p.if_unmodified_since.is_some()));
    if set > 1 && !allowed_pair {
        return Err(Error::invalid_input(
            "preconditions",
            "only If-None-Match with If-Modified-Since, or If-Match with If-Unmodified-Since, \
             may be combined",
            ctx().with_code("MultipleConditionHeadersNotSupported"),
        ));
    }
    let modified = last_modified.timestamp();
    let met_match = match (&p.if_match, p.if_unmodified_since) {
        (Some(m), _) => m.as_str() == "*" || m == etag,
        (None, Some(t)) => modified <= t.timestamp(),
        (None, None) => true,
    };
    let met_none_match = match (&p.if_none_match, p.if_modified_since) {
        (Some(n), _) => !(n.as_str() == "*" || n == etag),
        (None, Some(t)) => modified > t.timestamp(),
        (None, None) => true,
    };
    if met_match && met_none_match {
        Ok(())
    } else {
        Err(Error::precondition_failed(
            ctx().with_code("ConditionNotMet").with_message(
                "The condition specified using HTTP conditional header(s) is not met.",
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Operation;
    use chrono::TimeZone;

    fn ctx() -> ErrorContext {
        ErrorContext::new("memory", Operation::TerminateJob)
    }

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).single().unwrap()
    }

    #[test]
    fn each_condition() {
        let e = ETag::new("0x1");
        let ok = |p: Preconditions| check(ctx, &p, &e, t(10)).is_ok();
        assert!(ok(Preconditions::default()));
        assert!(ok(Preconditions::default().with_if_match("0x1")));
        assert!(ok(Preconditions::default().with_if_match("*")));
        assert!(!ok(Preconditions::default().with_if_match("0x2")));
        assert!(ok(Preconditions::default().with_if_none_match("0x2")));
        assert!(!ok(Preconditions::default().with_if_none_match("0x1")));
        assert!(!ok(Preconditions::default().with_if_none_match("*")));
        assert!(ok(Preconditions::default().with_if_modified_since(t(9))));
        assert!(!ok(Preconditions::default().with_if_modified_since(t(10))));
        assert!(ok(Preconditions::default().with_if_unmodified_since(t(10))));
        assert!(!ok(Preconditions::default().with_if_unmodified_since(t(9))));
    }

    #[test]
    fn combinations() {
        let e = ETag::new("0x1");
        // The ETag condition wins in the allowed pairs.
        let p = Preconditions::default()
            .with_if_match("0x1")
            .with_if_unmodified_since(t(0));
        assert!(check(ctx, &p, &e, t(10)).is_ok());
        let p = Preconditions::default()
            .with_if_match("0x1")
            .with_if_none_match("0x2");
        let err = check(ctx, &p, &e, t(10)).unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }));
        assert_eq!(err.code(), Some("MultipleConditionHeadersNotSupported"));
        let err = check(ctx, &Preconditions::default().with_if_match("x"), &e, t(10)).unwrap_err();
        assert!(matches!(err, Error::PreconditionFailed { .. }));
        assert_eq!(err.code(), Some("ConditionNotMet"));
    }
}
