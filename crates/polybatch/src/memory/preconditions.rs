//! Conditional-request preconditions on the in-memory backend's writes, evaluated by the Azure
//! rules the emulator shares.

use chrono::{DateTime, Utc};

use polybatch_sim::azure::conditions::Conditions;

use crate::error::{Error, ErrorContext, Result};
use crate::options::Preconditions;
use crate::status::ETag;

/// Fails with `PreconditionFailed` (code `ConditionNotMet`) unless `p` holds for a resource
/// with `etag` last modified at `last_modified`, by the rules the emulator uses too
/// (`polybatch_sim::azure::conditions`): one condition, or the pairs `If-None-Match` +
/// `If-Modified-Since` and `If-Match` + `If-Unmodified-Since` (the ETag condition wins); any
/// other combination is `InvalidInput` (code `MultipleConditionHeadersNotSupported`). Times are
/// compared in whole seconds, the precision of an HTTP date.
pub(crate) fn check(
    ctx: impl Fn() -> ErrorContext,
    p: &Preconditions,
    etag: &ETag,
    last_modified: DateTime<Utc>,
) -> Result<()> {
    let text = |e: &Option<ETag>| e.as_ref().map(|e| e.as_str().to_string());
    let conditions = Conditions::new(
        text(&p.if_match),
        text(&p.if_none_match),
        p.if_modified_since,
        p.if_unmodified_since,
    )
    .map_err(|r| {
        Error::invalid_input(
            "preconditions",
            "only If-None-Match with If-Modified-Since, or If-Match with If-Unmodified-Since, \
             may be combined",
            ctx().with_code(r.code),
        )
    })?;
    // Writes only: every unmet condition is 412.
    conditions
        .check(etag.as_str(), last_modified, false)
        .map_err(|r| {
            let message = r.message();
            Error::precondition_failed(ctx().with_code(r.code).with_message(message))
        })
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

    /// As the service (and the emulator) reads them: quoted, weak and listed ETags match.
    #[test]
    fn etag_lists_match_as_the_service_reads_them() {
        let e = ETag::new("0x1");
        let ok = |p: Preconditions| check(ctx, &p, &e, t(10)).is_ok();
        assert!(ok(Preconditions::default().with_if_match("\"0x1\"")));
        assert!(ok(Preconditions::default().with_if_match("W/\"0x1\"")));
        assert!(ok(Preconditions::default().with_if_match("0x7, 0x1")));
        assert!(!ok(
            Preconditions::default().with_if_none_match("0x7, \"0x1\"")
        ));
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
