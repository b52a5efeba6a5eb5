//! # polybatch-emulator
//!
//! A local server that speaks the Azure Batch REST protocol, Tencent Cloud Batch API 3.0 and
//! AWS Batch's REST-JSON protocol over simulated services, with real authentication checks
//! (Shared Key, Entra ID bearer tokens, TC3-HMAC-SHA256, SigV4), the providers' state rules and error codes, rate limits, and
//! fault injection. The polybatch clients are tested end to end against it, the official
//! Python SDKs can talk to it, and `polybatch demo` runs on it.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use polybatch_emulator::{Emulator, EmulatorConfig};
//! let running = Emulator::new(EmulatorConfig::default()).spawn_local().await?;
//! println!("serving on {}", running.url());
//! running.shutdown().await;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod admin;
pub mod aws;
pub mod azure;
pub mod clock;
pub mod config;
pub mod faults;
pub mod journal;
mod limiter;
mod log;
mod server;
pub mod stats;
pub mod tencent;

use std::sync::Arc;

use polybatch::clock::{Clock, SystemClock};

pub use clock::SimClock;
pub use config::{AwsConfig, AzureConfig, EmulatorConfig, TencentConfig};
pub use faults::{FaultKind, FaultRule, Faults, Provider};
pub use journal::{Journal, JournalEntry};
pub use server::{Emulator, RunningEmulator};
pub use stats::{Stats, StatsSnapshot};

/// The path prefix of the admin API (never a valid Batch path).
pub const ADMIN_PREFIX: &str = "/_polybatch";

/// What every provider front end shares.
#[derive(Debug, Clone)]
pub struct Context {
    /// Configuration.
    pub config: EmulatorConfig,
    /// Drives the simulated jobs and tasks.
    pub sim_clock: SimClock,
    /// Checks request timestamps (the service's own real clock).
    pub auth_clock: Arc<dyn Clock>,
    /// Fault injection.
    pub faults: Faults,
    /// Request counters.
    pub stats: Stats,
    /// Every applied mutation.
    pub journal: Journal,
}

impl Context {
    /// A context with the given clocks.
    pub fn new(config: EmulatorConfig, sim_clock: SimClock, auth_clock: Arc<dyn Clock>) -> Self {
        Context {
            config,
            sim_clock,
            auth_clock,
            faults: Faults::default(),
            stats: Stats::default(),
            journal: Journal::default(),
        }
    }

    /// A context for serving: real-time simulation and the system clock.
    pub fn real_time(config: EmulatorConfig) -> Self {
        Context::new(config, SimClock::real(), Arc::new(SystemClock))
    }
}
