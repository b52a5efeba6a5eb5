//! A fleet-wide rate limiter for polybatch clients.
//!
//! Several scheduler processes that use one credential share the provider's per-action limit:
//! each keeping to the limit alone sends N times too much together. [`RedisPermits`] keeps the
//! limiter's state (one GCRA arrival time per action, region and credential) in Redis and
//! reserves each permit with one atomic script timed by the Redis server's clock, so every
//! process is held to the limit together. Give it to a client as its permit source:
//!
//! ```no_run
//! # async fn f() -> polybatch::Result<()> {
//! use std::sync::Arc;
//! let permits = Arc::new(polybatch_redis::RedisPermits::new("redis://127.0.0.1:6379")?);
//! let tencent = polybatch_tencent::TencentBatchBuilder::from_env()?
//!     .with_permit_source(permits)
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! Its own crate, so users who do not need it do not compile a Redis client. When Redis is
//! unreachable, permits come from the process's own limiter and one warning says so.

mod gcra;
mod permits;

pub use permits::RedisPermits;
