//! The simulated Azure Batch account.

mod refusal;
mod sim;

pub use refusal::{Refusal, RefusalKind};
pub use sim::*;
