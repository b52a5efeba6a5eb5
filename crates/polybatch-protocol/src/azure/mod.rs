//! Azure Batch: Shared Key signing and verification, and the data-plane api-versions.

mod api_version;
pub mod shared_key;
pub mod verify;

pub use api_version::{ApiVersion, UnknownApiVersion};

/// How far a request's `ocp-date` (or `Date`) may be from the service's clock, in minutes.
pub const MAX_DATE_SKEW_MINUTES: u64 = 15;
