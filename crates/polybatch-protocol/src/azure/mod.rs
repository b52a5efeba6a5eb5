//! Azure Batch: Shared Key signing and verification, the data-plane api-versions, the
//! messages of its error codes, and the date format of its headers.

mod api_version;
mod error_codes;
mod rfc1123;
pub mod shared_key;
pub mod verify;

pub use api_version::{ApiVersion, UnknownApiVersion};
pub use error_codes::message_for;
pub use rfc1123::rfc1123;

/// How far a request's `ocp-date` (or `Date`) may be from the service's clock, in minutes.
pub const MAX_DATE_SKEW_MINUTES: u64 = 15;
