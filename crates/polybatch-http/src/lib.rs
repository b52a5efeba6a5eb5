//! # polybatch-http
//!
//! The one HTTP layer of polybatch's hand-written REST clients (`polybatch-azure`,
//! `polybatch-tencent`), so the round trip is written once and cannot drift between them. A
//! provider keeps only what is its own: how to sign a request (headers computed before
//! [`send`]) and how to parse its error body and map its codes (after it).
//!
//! - [`ClientOptions`]: connect and per-attempt timeouts, proxy, user agent, extra TLS roots,
//!   and [`ClientOptions::build_client`], the one place a `reqwest::Client` is built.
//! - [`send`]: one attempt of a [`Request`] — credential headers marked sensitive, the body
//!   read within a cap ([`read_capped`]), the request id picked out, failures classified
//!   ([`transport_error`]) and redacted, one `debug` trace span per attempt.
//! - [`parse_retry_after`], [`parse_retry_after_ms`]: the servers' retry hints.
//! - [`parse_endpoint`], [`is_loopback`]: https everywhere, plain http to loopback only.
//! - [`metadata_only`]: whether an answer is a JSON object of bookkeeping keys only (a mangled
//!   answer, not an empty one), read without allocating.
//!
//! Retrying is not here: the attempt functions built on [`send`] run inside the core's
//! [`polybatch::retry::RetryPolicy::run`]. The policy's total budget and
//! [`ClientOptions::with_timeout`] (per attempt) together bound a call.
//!
//! ```no_run
//! use polybatch::{ErrorContext, Operation};
//! use polybatch_http::{ClientOptions, Request, send};
//! use reqwest::Method;
//!
//! # async fn run() -> polybatch::Result<()> {
//! let url = polybatch_http::parse_endpoint("azure", "endpoint", "https://acct.westus.batch.azure.com/jobs")?;
//! let http = ClientOptions::default().build_client("azure", &url)?;
//! let ctx = ErrorContext::new("azure", Operation::JobStatus);
//! let response = send(&http, Request::new(Method::GET, &url, ctx).request_id_header("request-id")).await?;
//! println!("{} {:?}", response.status, response.request_id);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod body;
mod endpoint;
mod metadata_only;
mod options;
mod retry_after;
mod send;

pub use body::{read_capped, transport_error};
pub use endpoint::{is_loopback, parse_endpoint};
pub use metadata_only::metadata_only;
pub use options::{
    ClientOptions, DEFAULT_TIMEOUT, DEFAULT_USER_AGENT, MAX_DEFAULT_CONNECT_TIMEOUT, Proxy,
    capped_retry,
};
pub use retry_after::{parse_retry_after, parse_retry_after_ms};
pub use send::{DEFAULT_MAX_BODY, Request, Response, send};
