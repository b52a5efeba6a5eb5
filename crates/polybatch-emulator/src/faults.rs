//! Fault injection: the next N calls of an operation fail with a given error or take longer.
//!
//! Each provider front end asks [`Faults::take`] once per request, after authentication, with
//! its own operation name (Azure: `Job_Terminate`, `Task_Get`, ...; Tencent: the action,
//! `TerminateJob`, ...; AWS: the operation, `SubmitJob`, ...). A rule with operation `*` matches every operation of its provider.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which front end a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Azure Batch REST.
    Azure,
    /// Tencent Cloud API 3.0.
    Tencent,
    /// AWS Batch REST-JSON.
    Aws,
}

/// What happens to a faulted request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with an error. Azure: this HTTP status with a BatchError body of `code`;
    /// Tencent: HTTP 200 with `Response.Error.Code = code` (or this status with a non-envelope
    /// body when `status` is not 200).
    Error {
        /// HTTP status (Azure; Tencent uses 200 for envelope errors).
        status: u16,
        /// The provider error code.
        code: String,
        /// A `Retry-After` header, in seconds (Azure).
        #[serde(default)]
        retry_after_secs: Option<u64>,
    },
    /// Serve the request normally after waiting this long (real time).
    Delay {
        /// The delay in milliseconds.
        millis: u64,
    },
    /// Apply the request (its effect happens and is kept), then answer this error instead of
    /// the real answer: the answer a client never got, as from a gateway that timed out
    /// after the service acted. Azure: this HTTP status with a BatchError body of `code`;
    /// Tencent: as [`FaultKind::Error`].
    LoseAnswer {
        /// HTTP status (Tencent: 200 for an envelope error).
        status: u16,
        /// The provider error code.
        code: String,
    },
}

/// One fault rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// The front end.
    pub provider: Provider,
    /// The operation name, or `*`.
    pub operation: String,
    /// How many more faults it injects.
    pub times: u32,
    /// Inject on every `every`-th matching request only (1: every one). With 2 or more, no
    /// two matching requests in a row fail: a deterministic stream of transient faults that a
    /// client's retries must absorb.
    #[serde(default = "every_request")]
    pub every: u32,
    /// What happens.
    pub fault: FaultKind,
}

fn every_request() -> u32 {
    1
}

impl FaultRule {
    /// A rule injecting `fault` into the next `times` requests of `operation` (or `*`).
    pub fn new(
        provider: Provider,
        operation: impl Into<String>,
        times: u32,
        fault: FaultKind,
    ) -> Self {
        FaultRule {
            provider,
            operation: operation.into(),
            times,
            every: 1,
            fault,
        }
    }

    /// Injects only on every `n`-th matching request (at least 1).
    pub fn every(mut self, n: u32) -> Self {
        self.every = n.max(1);
        self
    }
}

#[derive(Debug, Default)]
struct State {
    enabled: bool,
    /// Each rule with the number of matching requests it has seen.
    rules: Vec<(FaultRule, u32)>,
}

/// The fault registry. Clones share it.
#[derive(Debug, Clone)]
pub struct Faults {
    state: Arc<Mutex<State>>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            state: Arc::new(Mutex::new(State {
                enabled: true,
                rules: Vec::new(),
            })),
        }
    }
}

impl Faults {
    /// Adds a rule.
    pub fn add(&self, rule: FaultRule) {
        self.lock().rules.push((rule, 0));
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// Switches injection on or off (rules are kept).
    pub fn set_enabled(&self, enabled: bool) {
        self.lock().enabled = enabled;
    }

    /// Whether injection is on.
    pub fn enabled(&self) -> bool {
        self.lock().enabled
    }

    /// The remaining rules.
    pub fn rules(&self) -> Vec<FaultRule> {
        self.lock().rules.iter().map(|(r, _)| r.clone()).collect()
    }

    /// Consumes one use of the first rule that matches this request and is due, if any.
    pub fn take(&self, provider: Provider, operation: &str) -> Option<FaultKind> {
        let mut s = self.lock();
        if !s.enabled {
            return None;
        }
        let mut fired = None;
        for (idx, (rule, seen)) in s.rules.iter_mut().enumerate() {
            let matches = rule.provider == provider
                && rule.times > 0
                && (rule.operation == "*" || rule.operation == operation);
            if !matches {
                continue;
            }
            *seen += 1;
            if *seen % rule.every.max(1) == 0 {
                rule.times -= 1;
                fired = Some((idx, rule.fault.clone(), rule.times == 0));
                break;
            }
        }
        let (idx, fault, exhausted) = fired?;
        if exhausted {
            s.rules.remove(idx);
        }
        Some(fault)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Convenience: how long a delay fault waits.
pub fn delay_of(kind: &FaultKind) -> Option<Duration> {
    match kind {
        FaultKind::Delay { millis } => Some(Duration::from_millis(*millis)),
        FaultKind::Error { .. } | FaultKind::LoseAnswer { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: &str) -> FaultKind {
        FaultKind::Error {
            status: 503,
            code: code.into(),
            retry_after_secs: None,
        }
    }

    #[test]
    fn rules_are_consumed_in_order() {
        let f = Faults::default();
        f.add(FaultRule {
            provider: Provider::Azure,
            operation: "Job_Get".into(),
            times: 2,
            every: 1,
            fault: err("ServerBusy"),
        });
        assert_eq!(f.take(Provider::Tencent, "Job_Get"), None);
        assert_eq!(f.take(Provider::Azure, "Task_Get"), None);
        assert_eq!(f.take(Provider::Azure, "Job_Get"), Some(err("ServerBusy")));
        assert_eq!(f.take(Provider::Azure, "Job_Get"), Some(err("ServerBusy")));
        assert_eq!(f.take(Provider::Azure, "Job_Get"), None);
        assert!(f.rules().is_empty());
    }

    #[test]
    fn every_nth_request_never_two_in_a_row() {
        let f = Faults::default();
        f.add(FaultRule::new(Provider::Azure, "*", 3, err("ServerBusy")).every(2));
        let fired: Vec<bool> = (0..8)
            .map(|_| f.take(Provider::Azure, "Job_Get").is_some())
            .collect();
        assert_eq!(fired, [false, true, false, true, false, true, false, false]);
        assert!(f.rules().is_empty());
    }

    #[test]
    fn wildcard_and_switch() {
        let f = Faults::default();
        f.add(FaultRule {
            provider: Provider::Tencent,
            operation: "*".into(),
            times: 1,
            every: 1,
            fault: FaultKind::Delay { millis: 5 },
        });
        f.set_enabled(false);
        assert_eq!(f.take(Provider::Tencent, "DescribeJob"), None);
        f.set_enabled(true);
        assert_eq!(
            delay_of(&f.take(Provider::Tencent, "DescribeJob").unwrap()),
            Some(Duration::from_millis(5))
        );
    }
}
