//! The simulated Tencent Cloud Batch service: its state machine (`sim`), the request bodies
//! and parameter rules of its job actions (`requests`), and its error answers (`errors`).

pub mod errors;
pub mod requests;
mod sim;

pub use sim::*;
