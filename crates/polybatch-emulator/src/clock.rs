//! The simulated service's clock.
//!
//! Two clocks are at work. The *auth* clock is the emulator's notion of real time, used to
//! check request timestamps (Tencent's five-minute and Azure's fifteen-minute skew windows),
//! exactly as the real services use theirs. The *simulation* clock drives job and task state
//! machines; tests move it forward without sleeping, and when served it runs in real time with
//! an offset the admin API can push forward.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use polybatch::clock::{Clock, ManualClock};

/// The simulation clock: manual (tests) or real time plus an adjustable offset (served).
#[derive(Debug, Clone)]
pub enum SimClock {
    /// Moves only when advanced.
    Manual(ManualClock),
    /// Real time plus an offset.
    Real(Arc<Mutex<chrono::Duration>>),
}

impl SimClock {
    /// A real-time clock with no offset.
    pub fn real() -> Self {
        SimClock::Real(Arc::new(Mutex::new(chrono::Duration::zero())))
    }

    /// A manual clock starting now.
    pub fn manual() -> Self {
        SimClock::Manual(ManualClock::new(Utc::now()))
    }

    /// Moves simulated time forward.
    pub fn advance(&self, by: Duration) {
        match self {
            SimClock::Manual(c) => c.advance(by),
            SimClock::Real(offset) => {
                let mut o = offset.lock().unwrap_or_else(|p| p.into_inner());
                *o += chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
            }
        }
    }
}

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        match self {
            SimClock::Manual(c) => c.now(),
            SimClock::Real(offset) => {
                Utc::now() + *offset.lock().unwrap_or_else(|p| p.into_inner())
            }
        }
    }
}
