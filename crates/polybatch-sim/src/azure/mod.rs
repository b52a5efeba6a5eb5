//! The simulated Azure Batch account.

pub mod conditions;
mod refusal;
pub mod rules;
mod sim;

pub use refusal::{Refusal, RefusalKind};
pub use sim::*;
