//! How Azure Batch limits request rates, and how the client stays under them.
//!
//! Batch documents no per-operation request rates: throttling is server-driven. An overloaded
//! account answers 429 `TooManyRequests` or 503 `ServerBusy`, usually with a hint of when to
//! come back; the shared retry loop waits at least that long. The hint's headers, in the order
//! the Azure SDKs read them: `retry-after-ms`, `x-ms-retry-after-ms` (milliseconds), then
//! `Retry-After` (seconds or an HTTP date).

use std::time::Duration;

use chrono::{DateTime, Utc};
use polybatch_http::{Response, parse_retry_after, parse_retry_after_ms};

/// The server's hint of when to retry, if the response carries one.
pub(crate) fn retry_after(response: &Response, now: DateTime<Utc>) -> Option<Duration> {
    response
        .header("retry-after-ms")
        .or_else(|| response.header("x-ms-retry-after-ms"))
        .and_then(parse_retry_after_ms)
        .or_else(|| {
            response
                .header("retry-after")
                .and_then(|v| parse_retry_after(v, now))
        })
}
