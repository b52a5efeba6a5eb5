//! The simulated Tencent Cloud Batch service.

mod sim;

pub use sim::*;
