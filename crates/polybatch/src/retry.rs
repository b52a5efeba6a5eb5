//! The retry loop both provider clients share.
//!
//! Retries are decided by [`crate::Error::is_retryable`] (set by each provider's error mapping)
//! and by whether the operation is safe to replay: an idempotent operation is retried on any
//! retryable error; a non-idempotent one (Azure task reactivate, Tencent `RetryJobs`) only when
//! the request certainly never reached the server or the server refused it by throttling.
//!
//! Delays are exponential with jitter, never shorter than the server's `Retry-After` (read by
//! the client from its response headers, with `polybatch-http`'s parsers, and handed over as
//! [`crate::Error::retry_after`]), and the whole loop stays inside a total budget. Sleeping uses
//! `tokio::time`, so tests with a paused clock are instant and exact.
//!
//! The total budget is the operation's deadline: it bounds the attempts and the waits between
//! them, and cuts short an attempt still running when it passes. Each attempt is also bounded
//! by the client's own per-attempt timeout (`polybatch-http`'s `ClientOptions`). An error that
//! survives retries lists every attempt and why it failed ([`crate::Error::attempts`]).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

use crate::error::{Error, ErrorContext, Result};

/// Whether an operation may be replayed after it may have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Replaying has the same effect as sending once (status reads, terminate).
    Idempotent,
    /// Replaying may fail or act twice (reactivate, RetryJobs, submit without a token).
    NotIdempotent,
}

/// How many times and how patiently to retry.
#[derive(Clone)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 disables retries).
    pub max_attempts: u32,
    /// The delay before the first retry.
    pub initial_backoff: Duration,
    /// The longest computed delay (a server's `Retry-After` may be longer).
    pub max_backoff: Duration,
    /// Growth factor between delays.
    pub multiplier: f64,
    /// Give up once this much time has passed since the first attempt.
    pub total_budget: Duration,
    /// Randomize each delay in `[delay/2, delay]` to spread out callers.
    pub jitter: bool,
    rng: Arc<Mutex<StdRng>>,
}

impl std::fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("multiplier", &self.multiplier)
            .field("total_budget", &self.total_budget)
            .field("jitter", &self.jitter)
            .finish()
    }
}

impl Default for RetryPolicy {
    /// 4 attempts, 500 ms doubling to at most 30 s, within 2 minutes, with jitter.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            multiplier: 2.0,
            total_budget: Duration::from_secs(120),
            jitter: true,
            rng: Arc::new(Mutex::new(StdRng::from_os_rng())),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Sets the number of attempts (at least 1).
    pub fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Sets the first delay.
    pub fn with_initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }

    /// Sets the longest computed delay.
    pub fn with_max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// Sets the total time budget.
    pub fn with_total_budget(mut self, d: Duration) -> Self {
        self.total_budget = d;
        self
    }

    /// Turns jitter on or off (off makes delays exact, for tests).
    pub fn with_jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// Seeds the jitter's random source, for reproducible delays.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.rng = Arc::new(Mutex::new(StdRng::seed_from_u64(seed)));
        self
    }

    /// The delay before retry number `retry` (1-based), ignoring any `Retry-After`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self.multiplier.powi(retry.saturating_sub(1) as i32);
        let base = self.initial_backoff.as_secs_f64() * exp;
        let capped = base.min(self.max_backoff.as_secs_f64()).max(0.0);
        let secs = if self.jitter {
            let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
            capped / 2.0 + rng.random_range(0.0..=capped / 2.0)
        } else {
            capped
        };
        Duration::from_secs_f64(secs)
    }

    /// Whether `error` on attempt `attempt` (1-based) of an operation with `idempotency`
    /// should be retried.
    pub fn should_retry(&self, error: &Error, attempt: u32, idempotency: Idempotency) -> bool {
        if attempt >= self.max_attempts || !error.is_retryable() {
            return false;
        }
        match idempotency {
            Idempotency::Idempotent => true,
            Idempotency::NotIdempotent => {
                error.certainly_not_sent() || matches!(error, Error::Throttled { .. })
            }
        }
    }

    /// Runs `op` (given the 1-based attempt number) until it succeeds, fails for good, or the
    /// attempts or budget run out. Returns the last error; when more than one attempt was
    /// made, it lists them all ([`Error::attempts`]).
    ///
    /// The total budget is the operation's deadline: no attempt starts once the next wait
    /// would pass it, and an attempt still running when it passes is cut short with
    /// [`Error::Timeout`] (in `ctx`'s name: the backend and operation being run).
    pub async fn run<T, F, Fut>(
        &self,
        ctx: &ErrorContext,
        idempotency: Idempotency,
        mut op: F,
    ) -> Result<T>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let start = Instant::now();
        let deadline = start + self.total_budget;
        let mut attempts = Vec::new();
        let mut attempt = 1;
        loop {
            let error = match tokio::time::timeout_at(deadline, op(attempt)).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => e,
                Err(_) => Error::timeout(ctx.clone().with_message(format!(
                    "the operation's deadline of {:?} passed during attempt {attempt}",
                    self.total_budget
                ))),
            };
            attempts.push(error.as_attempt());
            let give_up = |error: Error| {
                if attempts.len() > 1 {
                    error.with_attempts(attempts.clone())
                } else {
                    error
                }
            };
            if !self.should_retry(&error, attempt, idempotency) {
                return Err(give_up(error));
            }
            let delay = self
                .backoff(attempt)
                .max(error.retry_after().unwrap_or_default());
            if start.elapsed() + delay > self.total_budget {
                return Err(give_up(error));
            }
            tracing::debug!(
                backend = error.backend(),
                operation = %error.operation(),
                attempt,
                delay_ms = delay.as_millis() as u64,
                error = %error,
                "retrying"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Operation;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn ctx() -> ErrorContext {
        ErrorContext::new("test", Operation::JobStatus)
    }

    fn exact() -> RetryPolicy {
        RetryPolicy::default()
            .with_jitter(false)
            .with_max_attempts(4)
            .with_initial_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_secs(1))
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = exact();
        let d: Vec<u128> = (1..=6).map(|n| p.backoff(n).as_millis()).collect();
        assert_eq!(d, vec![100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn jitter_stays_in_range_and_is_seeded() {
        let a = exact().with_jitter(true).with_seed(7);
        let b = exact().with_jitter(true).with_seed(7);
        for n in 1..=5 {
            let (da, db) = (a.backoff(n), b.backoff(n));
            assert_eq!(da, db);
            let full = exact().backoff(n);
            assert!(da >= full / 2 && da <= full, "{da:?} vs {full:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_errors_with_exact_delays() {
        let calls = AtomicU32::new(0);
        let start = Instant::now();
        let r: Result<u32> = exact()
            .run(&ctx(), Idempotency::Idempotent, |attempt| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if attempt < 3 {
                        Err(Error::service(Some(503), true, ctx()))
                    } else {
                        Ok(attempt)
                    }
                }
            })
            .await;
        assert_eq!(r.unwrap(), 3);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(start.elapsed(), Duration::from_millis(300));
    }

    #[tokio::test(start_paused = true)]
    async fn honours_retry_after_when_longer() {
        let start = Instant::now();
        let r: Result<()> = exact()
            .run(&ctx(), Idempotency::Idempotent, |attempt| async move {
                if attempt == 1 {
                    Err(Error::throttled(Some(Duration::from_secs(5)), ctx()))
                } else {
                    Ok(())
                }
            })
            .await;
        assert!(r.is_ok());
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_max_attempts_with_last_error() {
        let calls = AtomicU32::new(0);
        let r: Result<()> = exact()
            .run(&ctx(), Idempotency::Idempotent, |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err(Error::timeout(ctx())) }
            })
            .await;
        assert!(matches!(r, Err(Error::Timeout { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn non_retryable_and_non_idempotent_stop_at_once() {
        let calls = AtomicU32::new(0);
        let r: Result<()> = exact()
            .run(&ctx(), Idempotency::Idempotent, |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err(Error::invalid_state(None, ctx())) }
            })
            .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        // A maybe-sent transport error is not replayed for a non-idempotent operation...
        let calls = AtomicU32::new(0);
        let _ = exact()
            .run(&ctx(), Idempotency::NotIdempotent, |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err::<(), _>(Error::transport(true, None, ctx())) }
            })
            .await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // ...but a certainly-unsent one and a throttle are.
        let calls = AtomicU32::new(0);
        let _ = exact()
            .run(&ctx(), Idempotency::NotIdempotent, |a| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    match a {
                        1 => Err(Error::transport(false, None, ctx())),
                        2 => Err(Error::throttled(None, ctx())),
                        _ => Ok(()),
                    }
                }
            })
            .await;
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn stays_inside_the_budget() {
        let p = exact().with_total_budget(Duration::from_millis(250));
        let start = Instant::now();
        let calls = AtomicU32::new(0);
        let _ = p
            .run(&ctx(), Idempotency::Idempotent, |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err::<(), _>(Error::timeout(ctx())) }
            })
            .await;
        // 100 ms, then 200 ms would exceed 250 ms in total: two attempts.
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(start.elapsed(), Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_attempt_is_cut_at_the_deadline() {
        let p = exact().with_total_budget(Duration::from_secs(3));
        let start = Instant::now();
        let r: Result<()> = p
            .run(&ctx(), Idempotency::Idempotent, |attempt| async move {
                if attempt == 1 {
                    Err(Error::transport(true, None, ctx()))
                } else {
                    // A server that accepted the connection and never answers.
                    std::future::pending().await
                }
            })
            .await;
        assert_eq!(start.elapsed(), Duration::from_secs(3));
        let e = r.unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{e}");
        assert_eq!(e.operation(), Operation::JobStatus);
        let kinds: Vec<&str> = e.attempts().iter().map(|a| a.kind).collect();
        assert_eq!(kinds, ["transport", "timeout"]);
        assert!(
            e.to_string()
                .contains("deadline of 3s passed during attempt 2"),
            "{e}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_final_error_lists_every_attempt() {
        let r: Result<()> = exact()
            .run(&ctx(), Idempotency::Idempotent, |attempt| async move {
                Err(match attempt {
                    1 => Error::throttled(None, ctx().with_code("RequestLimitExceeded")),
                    2 => Error::timeout(ctx()),
                    3 => Error::service(Some(500), true, ctx().with_code("InternalError")),
                    _ => Error::transport(true, None, ctx()),
                })
            })
            .await;
        let e = r.unwrap_err();
        assert_eq!(e.attempts().len(), 4);
        assert!(
            e.to_string().ends_with(
                " after 4 attempts: throttled [RequestLimitExceeded], timeout, \
                 service [InternalError], transport"
            ),
            "{e}"
        );
        // One attempt: nothing to list.
        let once: Result<()> = exact()
            .run(&ctx(), Idempotency::Idempotent, |_| async {
                Err(Error::invalid_state(None, ctx()))
            })
            .await;
        let once = once.unwrap_err();
        assert!(once.attempts().is_empty());
        assert!(!once.to_string().contains("attempts"), "{once}");
    }
}
