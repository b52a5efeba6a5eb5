//! Azure Batch: Shared Key signing and verification, the data-plane api-versions, and the
//! messages of its error codes.

mod api_version;
mod error_codes;
pub mod shared_key;
pub mod verify;

pub use api_version::{ApiVersion, UnknownApiVersion};
pub use error_codes::message_for;

/// How far a request's `ocp-date` (or `Date`) may be from the service's clock, in minutes.
pub const MAX_DATE_SKEW_MINUTES: u64 = 15;
