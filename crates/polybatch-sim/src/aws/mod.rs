//! The simulated AWS Batch service: compute environments, job queues, job definitions and
//! jobs (plain and array) with their state machine (`sim`), the request shapes and parameter
//! rules of its operations (`requests`), and its error answers (`errors`).

pub mod errors;
pub mod requests;
mod sim;

pub use sim::*;
