//! Backends that wrap backends.
//!
//! Each wrapper forwards every trait method (checked by `#[deny(clippy::missing_trait_methods)]`)
//! and adds one concern. Compose them: `ConcurrencyLimited::new(RateLimited::new(azure, ..), 16)`.

mod concurrency;
mod rate_limit;

pub use concurrency::ConcurrencyLimited;
pub use rate_limit::{RateLimitConfig, RateLimited};
