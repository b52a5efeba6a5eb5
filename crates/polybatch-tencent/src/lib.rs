//! # polybatch-tencent
//!
//! Tencent Cloud Batch (API 3.0, version 2017-03-12) as a [`polybatch::BatchBackend`].
//!
//! - Requests are signed with TC3-HMAC-SHA256 ([`signing`], pure functions the emulator also
//!   uses to verify), re-signed with a fresh timestamp on every attempt.
//! - Responses are HTTP 200 with a `{"Response": {...}}` envelope; `Response.Error` codes map to
//!   [`polybatch::Error`] variants keeping the code, message and request id.
//! - Client-side per-action rate limits default to Tencent's documented limits of the
//!   endpoint's site ([`RATE_LIMITS`], [`Site`]: China or international), keyed by (action,
//!   region, credential) and shared by clones.
//! - Retries use the shared [`polybatch::retry::RetryPolicy`]; `RequestLimitExceeded*` is
//!   [`polybatch::Error::Throttled`] and retried with backoff.
//! - Each attempt goes through the shared HTTP layer ([`polybatch_http::send`]), configured by
//!   [`ClientOptions`] (timeouts, proxy, user agent, TLS roots).
//!
//! ```no_run
//! use polybatch::{BatchBackend, JobId, StatusOptions};
//! use polybatch_tencent::TencentBatchBuilder;
//! # async fn run() -> polybatch::Result<()> {
//! let tencent = TencentBatchBuilder::from_env()?.build()?;
//! let status = tencent
//!     .job_status(&JobId::new("job-rybewp57")?, StatusOptions::default())
//!     .await?;
//! println!("{} ({})", status.state, status.provider_state);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod backend;
mod builder;
mod client;
mod convert;
mod credential;
mod error;
mod extras;
mod lifecycle;
pub mod model;
mod paging;
mod rate_limit;
/// TC3-HMAC-SHA256 signing, as pure functions (from `polybatch-protocol`, which the emulator
/// verifies with).
pub use polybatch_protocol::tencent::tc3 as signing;

pub use backend::{TencentBatchBackend, tencent_capabilities};
pub use builder::{
    DEFAULT_LANGUAGE, ENV_CREDENTIALS_FILE, ENV_REGION, ENV_SECRET_ID, ENV_SECRET_KEY,
    ENV_SECURITY_TOKEN, ENV_TOKEN, Endpoint, TencentBatchBuilder,
};
pub use client::{CONTENT_TYPE, MAX_RESPONSE_BYTES, REQUEST_CLIENT};
pub use convert::{job_state, parse_time, task_state};
pub use credential::{
    DEFAULT_METADATA_ENDPOINT, DEFAULT_STS_ENDPOINT, ENV_TKE_PROVIDER_ID, ENV_TKE_REGION,
    ENV_TKE_ROLE_ARN, ENV_TKE_WEB_IDENTITY_TOKEN_FILE, INTL_STS_ENDPOINT, REFRESH_BEFORE_EXPIRY,
    TemporaryCredential,
};
pub use extras::{
    ComputeEnvironment, DescribeJobsOptions, JobSummary, SubmitJobRequest, TaskRequest,
};
/// How the HTTP client connects (from `polybatch-http`, shared with the other providers).
pub use polybatch_http::{ClientOptions, Proxy};
pub use rate_limit::{ActionLimit, RATE_LIMITS, Site, default_quota};
