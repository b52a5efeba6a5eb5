//! # polybatch
//!
//! Drive cloud batch services through one provider-neutral trait, [`BatchBackend`].
//!
//! - Provider crates implement it: `polybatch-azure` (Azure Batch REST) and `polybatch-tencent`
//!   (Tencent Cloud Batch API 3.0).
//! - [`memory::InMemoryBackend`] implements it with real semantics, for your tests.
//! - [`wrap`] holds backends that wrap backends (rate and concurrency limits).
//! - [`BatchBackendExt`] adds waiting and collecting helpers to every backend.
//!
//! Everything fails with the one [`Error`] type, which says whether a retry can help.
//!
//! ```
//! use std::time::Duration;
//!
//! use polybatch::memory::InMemoryBackend;
//! use polybatch::{BatchBackendExt, JobId, TaskId, TerminateJobOptions, WaitOptions};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> polybatch::Result<()> {
//! // A backend with real semantics; terminations take 20 s of (paused, simulated) time.
//! let backend = InMemoryBackend::new().with_termination_delay(Duration::from_secs(20));
//! let (job, task) = (JobId::new("nightly-render")?, TaskId::new("frame-001")?);
//! backend.seed().job(&job, "render-pool")?;
//! backend.seed().task(&job, &task)?;
//! backend.seed().start_task(&job, &task)?;
//!
//! let status = backend
//!     .terminate_job_and_wait(
//!         &job,
//!         TerminateJobOptions::default().with_reason("superseded"),
//!         WaitOptions::new(Duration::from_secs(5), Duration::from_secs(300)),
//!     )
//!     .await?;
//! assert!(status.state.is_terminal());
//! assert_eq!(status.terminate_reason.as_deref(), Some("superseded"));
//! # Ok(()) }
//! ```
//!
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod backend;
mod call;
mod capability;
pub mod clock;
mod error;
mod ext;
mod id;
pub mod memory;
pub mod migrate;
mod options;
mod outcome;
pub mod paging;
pub mod rate;
pub mod reconcile;
pub mod retry;
pub mod secret;
mod spec;
mod spec_support;
mod state;
mod status;
pub mod translate;
pub mod wrap;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use backend::{
    BatchBackend, DynBatchBackend, JobStatuses, JobStream, PrepReleaseStream, TaskStream,
    error_stream, job_statuses_one_by_one,
};
pub use call::{Call, CallOptions};
pub use capability::{Capabilities, ListJobsFilters};
pub use error::{
    Attempt, BoxError, Error, ErrorContext, Operation, ResourceKind, Result, error_from_status,
};
pub use ext::BatchBackendExt;
pub use id::{JobId, MAX_ID_LEN, TaskId};
pub use options::{
    DEFAULT_TERMINATE_REASON, DeleteJobOptions, ExportJobOptions, JobStatusesOptions,
    ListJobsOptions, ListPrepReleaseOptions, ListTasksOptions, OutputStream, Preconditions,
    ReactivateTaskOptions, RetryFailedTasksOptions, StatusOptions, SubmitJobOptions,
    TaskOutputOptions, TerminateJobOptions, TerminateTaskOptions, WaitOptions,
};
pub use outcome::{
    DeleteDisposition, DeleteJobOutcome, ReactivateTaskOutcome, RetryFailedTasksOutcome,
    RetryFailure, SubmitJobOutcome, TaskOutput, TerminateDisposition, TerminateJobOutcome,
    TerminateTaskOutcome,
};
pub use spec::{
    Command, ExportedJob, IDEMPOTENCY_LABEL, IdempotencyKey, JobSpec, MAX_IDEMPOTENCY_KEY_LEN,
    Placement, RESERVED_LABELS, Resources, SUBMIT_LABEL, TaskSpec,
};
pub use spec_support::{SpecIssue, SubmitCapabilities, env_var_problem};
pub use state::{JobState, PrepReleaseState, TaskResult, TaskState};
pub use status::{
    ETag, FailureInfo, JobStatus, PrepReleaseExecution, PrepReleaseStatus, TaskCounts, TaskStatus,
};
