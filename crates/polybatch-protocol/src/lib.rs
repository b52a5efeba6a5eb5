//! # polybatch-protocol
//!
//! What a client and a server of each provider must agree on by definition, as pure functions
//! and constants: no clock, no I/O, no HTTP client. The clients (`polybatch-azure`,
//! `polybatch-tencent`) sign with it; the emulator verifies with it; neither depends on the
//! other.
//!
//! - [`aws`]: SigV4 verification ([`aws::verify`], recomputed with the official `aws-sigv4`),
//!   the AWS Batch operations and their paths.
//! - [`azure`]: Shared Key signing ([`azure::shared_key`]) and verification
//!   ([`azure::verify`]), the data-plane api-versions ([`azure::ApiVersion`]).
//! - [`tencent`]: TC3-HMAC-SHA256 signing ([`tencent::tc3`]) and verification
//!   ([`tencent::verify`]), the API version and action names, the documented per-action rate
//!   limits of both sites ([`tencent::RATE_LIMITS`]).
//! - [`sim_env`]: the task environment variables the simulations read.
//! - [`constant_time`]: the one constant-time comparison every verifier uses.
//!
//! Every signing stage is an inspectable value (canonical request, string to sign, signature),
//! tested against the official SDKs' vectors kept in this crate's `vectors/` folder.
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod aws;
pub mod azure;
pub mod constant_time;
pub mod headers;
pub mod sim_env;
pub mod tencent;
