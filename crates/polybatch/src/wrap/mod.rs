//! Backends that wrap backends.
//!
//! Each wrapper implements the `*_impl` methods by calling its inner backend's, and adds one
//! concern; the trait's provided methods check each call once, at the outermost wrapper, before
//! any wrapper waits. Compose them: `ConcurrencyLimited::new(RateLimited::new(azure, ..), 16)`.

mod concurrency;
mod rate_limit;

pub use concurrency::ConcurrencyLimited;
pub use rate_limit::{RateLimitConfig, RateLimited};
