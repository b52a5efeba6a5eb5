//! AWS Batch for polybatch, on the official AWS SDK for Rust (`aws-sdk-batch`, `aws-config`):
//! SigV4, retries, timeouts and the standard credential chain come from the SDK; this crate
//! adds the neutral operations, the state and error mappings, and an idempotent submit (which
//! `SubmitJob` lacks).
//!
//! A job is an AWS Batch job; its tasks are an array job's children (task ids `"0"`, `"1"`,
//! ..., AWS ids `jobId:index`) or, for a plain job, the job itself (task `"0"`). Files follow
//! the other provider crates, minus what the SDK does (signing, credentials, paging and rate
//! limiting): `builder.rs`, `backend.rs`, `lifecycle.rs`, `convert.rs`, `error.rs`, `answers.rs`
//! (answers the SDK would accept but polybatch must not: oversized, cut down, garbled), and
//! `attempts.rs` (each attempt the SDK made, for the error that survives them).
//!
//! ```no_run
//! use polybatch::{BatchBackend, JobId, StatusOptions};
//! # async fn run() -> polybatch::Result<()> {
//! let aws = polybatch_aws::AwsBatchBuilder::from_env().build().await?;
//! let status = aws.job_status(&JobId::new("0e1a...")?, StatusOptions::default()).await?;
//! println!("{} ({})", status.state, status.provider_state);
//! # Ok(()) }
//! ```

mod answers;
mod attempts;
mod backend;
mod builder;
mod convert;
mod error;
mod lifecycle;

pub use answers::MAX_ANSWER_BYTES;
pub use aws_config;
pub use aws_sdk_batch;
pub use backend::{
    AwsBatchBackend, JOB_IDS_PER_REQUEST, MAX_ARRAY_SIZE, aws_capabilities, submit_capabilities,
};
pub use builder::{
    AwsBatchBuilder, ENV_ENDPOINT_URL, ENV_ENDPOINT_URL_BATCH, ENV_JOB_QUEUES, ENV_PROFILE,
    ENV_REGION,
};
pub use convert::{TASK_TAG, job_state, task_state};
pub use error::BACKEND;
pub use lifecycle::{MIN_TIMEOUT, job_name};
