//! Conditional request headers (reference §2.5): read from the request here; which combination
//! is allowed and when a condition holds is `polybatch_sim::azure::conditions`.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};

use super::errors::Reject;
use super::sim::Meta;
use polybatch_protocol::azure::rfc1123;
use polybatch_sim::azure::conditions::Conditions as SimConditions;

/// The condition a request carries, if any: the headers parsed here, the rules in
/// `polybatch_sim::azure::conditions` (shared with the in-memory backend).
#[derive(Debug, Clone, Default)]
pub(crate) struct Conditions(SimConditions);

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

impl Conditions {
    /// Reads the four headers; an unsupported combination or a malformed date is a 400.
    pub(crate) fn parse(headers: &HeaderMap) -> Result<Conditions, Reject> {
        let im = text(headers, "if-match");
        let inm = text(headers, "if-none-match");
        let ims = date(headers, "if-modified-since")?;
        let ius = date(headers, "if-unmodified-since")?;
        Ok(Conditions(SimConditions::new(im, inm, ims, ius)?))
    }

    /// Checks the condition against a resource. `read`: GET (unmet If-None-Match and
    /// If-Modified-Since answer 304) rather than a write (every unmet condition is 412).
    pub(crate) fn check(&self, meta: &Meta, read: bool) -> Result<(), Reject> {
        self.0
            .check(&meta.etag, meta.last_modified, read)
            .map_err(|r| {
                Reject::from(r)
                    .with_header("ETag", meta.etag.clone())
                    .with_header("Last-Modified", rfc1123(meta.last_modified))
            })
    }
}
