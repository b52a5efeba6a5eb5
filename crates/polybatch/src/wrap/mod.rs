//! Backends that wrap backends.
//!
//! Each wrapper implements the `*_impl` methods by calling its inner backend's, and adds one
//! concern; the trait's provided methods check each call once, at the outermost wrapper, before
//! any wrapper waits. Compose them: `ConcurrencyLimited::new(RateLimited::new(azure, ..), 16)`.
//!
//! - [`RateLimited`], [`ConcurrencyLimited`]: limits of the caller's own.
//! - [`Restricted`]: narrower capabilities, to mimic a provider that supports less.
//! - [`FaultInjected`]: the next calls of an operation fail or take (simulated) time.
//! - [`Journaled`]: a record of every call, refused ones included, in call order.
//!
//! All of them work over any backend, the real clients included; the in-memory backend has the
//! same fault injection and journal built in.

/// `name`, `capabilities` and `on_refused` of a wrapper that changes none of them: the inner
/// backend's.
macro_rules! inner_identity {
    () => {
        fn name(&self) -> &'static str {
            self.inner.name()
        }

        fn capabilities(&self) -> $crate::Capabilities {
            self.inner.capabilities()
        }

        fn on_refused(&self, call: $crate::Call, error: &$crate::Error) {
            self.inner.on_refused(call, error)
        }
    };
}

mod concurrency;
mod fault_injected;
pub(crate) mod faults;
pub(crate) mod journal;
mod journaled;
mod rate_limit;
mod restricted;

pub use concurrency::ConcurrencyLimited;
pub use fault_injected::FaultInjected;
pub use faults::{ErrorFactory, Faults};
pub use journal::{CallResult, JournalEntry, JournalOptions};
pub use journaled::Journaled;
pub use rate_limit::{RateLimitConfig, RateLimited};
pub use restricted::Restricted;
