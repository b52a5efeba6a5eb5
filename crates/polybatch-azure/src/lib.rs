//! # polybatch-azure
//!
//! The Azure Batch data-plane REST backend for [`polybatch`]: build an [`AzureBatchBackend`]
//! with [`AzureBatchBuilder`] and drive it through [`polybatch::BatchBackend`].
//!
//! - Authentication: Shared Key ([`signing`], pure functions tested against the official SDK's
//!   vectors) or Microsoft Entra ID client credentials (a cached, proactively refreshed token).
//! - api-versions `2022-01-01.15.0` to `2025-06-01` ([`ApiVersion`]); `force` on terminate is
//!   reported unsupported, before any request, on versions that lack it.
//! - Every request carries `client-request-id` (the same on retries), `ocp-date`,
//!   `api-version`, an explicit `Content-Length` on POST, and the caller's conditional headers.
//!   Retries go through the shared [`polybatch::retry::RetryPolicy`]; each attempt goes through
//!   the shared HTTP layer ([`polybatch_http::send`]), configured by [`ClientOptions`]
//!   (timeouts, proxy, user agent, TLS roots) for the Batch and Entra ID endpoints alike.
//! - The service's `BatchError` codes map to typed [`polybatch::Error`]s in one function
//!   (`error.rs`).
//! - Listings are lazy and follow `odata.nextLink` only on the endpoint's own origin.
//! - Azure-only operations (create jobs and tasks, ...) are inherent methods of [`AzureBatchBackend`] (`extras.rs`).
//!
//! The server-side timeout option is sent as given (whole seconds); the service itself uses
//! its default (30 s) for larger values, so the client does not clamp it.
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
mod model;
mod paging;
mod rate_limit;

/// The backend's short name, used in errors.
pub const BACKEND: &str = "azure";

pub use backend::{AzureBatchBackend, FAILED_TASKS_FILTER, FAILED_TASKS_SELECT};
pub use builder::parse_api_version;
pub use builder::{
    AzureBatchBuilder, DEFAULT_TIMEOUT, ENV_ACCESS_KEY, ENV_ACCOUNT, ENV_API_VERSION,
    ENV_AUTHORITY_HOST, ENV_CLIENT_CERTIFICATE_PASSWORD, ENV_CLIENT_CERTIFICATE_PATH,
    ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_ENDPOINT, ENV_FEDERATED_TOKEN_FILE,
    ENV_IDENTITY_ENDPOINT, ENV_TENANT_ID, ENV_TOKEN_CREDENTIALS, EntraIdentity,
};
pub use credential::{
    AUTHORITY_HOST_CHINA, AUTHORITY_HOST_US_GOV, BATCH_SCOPE, BATCH_SCOPE_CHINA,
    BATCH_SCOPE_US_GOV, DEFAULT_AUTHORITY_HOST, authority_host, batch_scope,
};
pub use extras::{AddJobRequest, AddTaskRequest, JobTaskSpec, WriteOutcome};
pub use model::OnAllTasksComplete;
/// How the HTTP clients connect (from `polybatch-http`, shared with the other providers).
pub use polybatch_http::{ClientOptions, Proxy};
/// Shared Key signing, as pure functions (from `polybatch-protocol`, which the emulator verifies
/// with).
pub use polybatch_protocol::azure::shared_key as signing;
pub use polybatch_protocol::azure::{ApiVersion, UnknownApiVersion};
/// The Azure SDK crates [`EntraIdentity`] is built on, re-exported so that a caller's own
/// [`azure_core::credentials::TokenCredential`] is of the same version.
pub use {azure_core, azure_identity};
