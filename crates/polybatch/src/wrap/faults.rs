//! Fault injection: make the next calls of an operation fail or take simulated time.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{Error, ErrorContext, Operation};

/// Builds the error an injected failure returns, from the context of the failing call (the
/// backend's name, its operation).
pub type ErrorFactory = Arc<dyn Fn(ErrorContext) -> Error + Send + Sync>;

struct Pending<T> {
    remaining: usize,
    what: T,
}

/// The queued faults, per operation. Each call consumes at most one failure and one delay.
#[derive(Default)]
struct FaultQueues {
    failures: HashMap<Operation, VecDeque<Pending<ErrorFactory>>>,
    delays: HashMap<Operation, VecDeque<Pending<Duration>>>,
}

fn take<T: Clone>(queue: Option<&mut VecDeque<Pending<T>>>) -> Option<T> {
    let queue = queue?;
    let front = queue.front_mut()?;
    let what = front.what.clone();
    front.remaining = front.remaining.saturating_sub(1);
    if front.remaining == 0 {
        queue.pop_front();
    }
    Some(what)
}

impl FaultQueues {
    /// The delay and failure the next call of `operation` gets, consuming them.
    fn take(&mut self, operation: Operation) -> (Option<Duration>, Option<ErrorFactory>) {
        (
            take(self.delays.get_mut(&operation)),
            take(self.failures.get_mut(&operation)),
        )
    }

    fn pending(&self, operation: Operation) -> (usize, usize) {
        let count = |q: Option<usize>| q.unwrap_or(0);
        (
            count(
                self.failures
                    .get(&operation)
                    .map(|q| q.iter().map(|p| p.remaining).sum()),
            ),
            count(
                self.delays
                    .get(&operation)
                    .map(|q| q.iter().map(|p| p.remaining).sum()),
            ),
        )
    }
}

/// Injects faults into a backend's next calls; get one from
/// [`crate::memory::InMemoryBackend::faults`] or [`super::FaultInjected::faults`].
///
/// Faults apply to calls that reach the service (not to calls refused as unsupported), in
/// call order: a queued delay first, then a queued failure, and the failure replaces the call's
/// effect (nothing changes). In the in-memory backend each page request of
/// `list_prep_release_status` is one call and the per-task reactivations of
/// `retry_failed_tasks` are `ReactivateTask` calls; over another backend a listing takes its
/// faults once.
#[derive(Clone, Default)]
pub struct Faults {
    queues: Arc<Mutex<FaultQueues>>,
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Faults")
    }
}

impl Faults {
    fn queues(&self) -> std::sync::MutexGuard<'_, FaultQueues> {
        self.queues.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next `n` calls of `operation` fail with the error `make` builds from the call's
    /// context, after any queued failures of that operation.
    ///
    /// ```
    /// # use polybatch::{Error, Operation};
    /// # use std::time::Duration;
    /// let backend = polybatch::memory::InMemoryBackend::new();
    /// backend.faults().fail_next(Operation::JobStatus, 2, |ctx| {
    ///     Error::throttled(Some(Duration::from_secs(1)), ctx.with_code("ServerBusy"))
    /// });
    /// ```
    pub fn fail_next(
        &self,
        operation: Operation,
        n: usize,
        make: impl Fn(ErrorContext) -> Error + Send + Sync + 'static,
    ) -> &Self {
        if n > 0 {
            self.queues()
                .failures
                .entry(operation)
                .or_default()
                .push_back(Pending {
                    remaining: n,
                    what: Arc::new(make),
                });
        }
        self
    }

    /// The next `n` calls of `operation` take `delay` of simulated time first
    /// (`tokio::time::sleep`: instant under a paused clock, and the call counts as in flight
    /// meanwhile).
    pub fn delay_next(&self, operation: Operation, n: usize, delay: Duration) -> &Self {
        if n > 0 {
            self.queues()
                .delays
                .entry(operation)
                .or_default()
                .push_back(Pending {
                    remaining: n,
                    what: delay,
                });
        }
        self
    }

    /// Takes the next queued delay and failure of `operation`.
    pub(crate) fn take(&self, operation: Operation) -> (Option<Duration>, Option<ErrorFactory>) {
        self.queues().take(operation)
    }

    /// How many injected failures and delays of `operation` are still queued.
    pub fn pending(&self, operation: Operation) -> (usize, usize) {
        self.queues().pending(operation)
    }

    /// Drops every queued fault.
    pub fn clear(&self) {
        *self.queues() = FaultQueues::default();
    }
}
