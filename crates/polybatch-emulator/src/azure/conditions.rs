//! Conditional request headers (reference §2.5): one condition per request, except
//! If-None-Match with If-Modified-Since (If-None-Match wins) and If-Match with
//! If-Unmodified-Since (If-Match wins).

use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};

use super::errors::Reject;
use super::reply::rfc1123;
use super::sim::Meta;

#[derive(Debug, Clone)]
#[allow(clippy::enum_variant_names)] // named after the headers
enum Condition {
    IfMatch(String),
    IfNoneMatch(String),
    IfModifiedSince(DateTime<Utc>),
    IfUnmodifiedSince(DateTime<Utc>),
}

/// The condition a request carries, if any.
#[derive(Debug, Clone, Default)]
pub(crate) struct Conditions {
    condition: Option<Condition>,
}

fn date(headers: &HeaderMap, name: &str) -> Result<Option<DateTime<Utc>>, Reject> {
    let Some(v) = headers.get(name) else {
        return Ok(None);
    };
    let raw = v.to_str().unwrap_or("");
    httpdate::parse_http_date(raw.trim())
        .map(|t| Some(t.into()))
        .map_err(|_| Reject::header("InvalidHeaderValue", name, raw))
}

fn text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| v.to_str().unwrap_or("").trim().to_string())
}

fn etag_matches(list: &str, etag: &str) -> bool {
    list.split(',').any(|candidate| {
        let c = candidate.trim();
        let c = c.strip_prefix("W/").unwrap_or(c).trim_matches('"');
        c == "*" || c == etag
    })
}

impl Conditions {
    /// Reads the four headers; an unsupported combination or a malformed date is a 400.
    pub(crate) fn parse(headers: &HeaderMap) -> Result<Conditions, Reject> {
        let im = text(headers, "if-match");
        let inm = text(headers, "if-none-match");
        let ims = date(headers, "if-modified-since")?;
        let ius = date(headers, "if-unmodified-since")?;
        let condition = match (im, inm, ims, ius) {
            (None, None, None, None) => None,
            (Some(m), None, None, _) => Some(Condition::IfMatch(m)),
            (None, Some(n), _, None) => Some(Condition::IfNoneMatch(n)),
            (None, None, Some(d), None) => Some(Condition::IfModifiedSince(d)),
            (None, None, None, Some(d)) => Some(Condition::IfUnmodifiedSince(d)),
            _ => return Err(Reject::bad_request("MultipleConditionHeadersNotSupported")),
        };
        Ok(Conditions { condition })
    }

    /// Checks the condition against a resource. `read`: GET (unmet If-None-Match and
    /// If-Modified-Since answer 304) rather than a write (every unmet condition is 412).
    pub(crate) fn check(&self, meta: &Meta, read: bool) -> Result<(), Reject> {
        // Last-Modified is sent with one-second precision, so compare at that precision.
        let modified = meta.last_modified.timestamp();
        let (met, not_modified_kind) = match &self.condition {
            None => return Ok(()),
            Some(Condition::IfMatch(list)) => (etag_matches(list, &meta.etag), false),
            Some(Condition::IfNoneMatch(list)) => (!etag_matches(list, &meta.etag), true),
            Some(Condition::IfModifiedSince(d)) => (modified > d.timestamp(), true),
            Some(Condition::IfUnmodifiedSince(d)) => (modified <= d.timestamp(), false),
        };
        if met {
            return Ok(());
        }
        let status = if read && not_modified_kind {
            StatusCode::NOT_MODIFIED
        } else {
            StatusCode::PRECONDITION_FAILED
        };
        Err(Reject::condition_not_met(status)
            .with_header("ETag", meta.etag.clone())
            .with_header("Last-Modified", rfc1123(meta.last_modified)))
    }
}
