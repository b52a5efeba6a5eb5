//! # polybatch-sim
//!
//! Each provider's service simulated once, as a state machine without HTTP: the rules of every
//! transition, the provider's refusal codes, and time that moves only when the caller says
//! (every method is handed the time, so the same requests at the same times give the same
//! state). The emulator puts HTTP front ends over these simulations.
//!
//! - [`azure`]: a Batch account's jobs, tasks, pools and nodes; job preparation and release
//!   tasks; refusals are [`azure::Refusal`] with Batch's `BatchError` codes.
//! - [`aws`]: AWS Batch compute environments, job queues, job definitions and jobs (plain
//!   and array, with dependencies, attempts and timeouts); refusals are
//!   [`aws::errors::ApiError`] (`ClientException`).
//! - [`tencent`]: Tencent Cloud Batch jobs, tasks and instances; refusals are
//!   [`tencent::Refusal`].
//!
//! Tasks read how long they run and how they exit from the variables in
//! [`polybatch_protocol::sim_env`].
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod aws;
pub mod azure;
pub mod tencent;
