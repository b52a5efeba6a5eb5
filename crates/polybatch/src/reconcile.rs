//! Sending a mutation that must never be applied twice (Azure's task reactivate, Tencent's
//! `RetryJobs`): after a failure that may have reached the service, the resource is read
//! again to learn whether the mutation took effect before it is sent again.
//!
//! The retry loop ([`crate::retry`]) does not replay such a call once it may have arrived;
//! this is the layer above it that does, safely. Each provider supplies the two halves: how
//! to send, and how to tell from a fresh read that the mutation was applied.

use std::future::Future;

use crate::error::{Error, Result};

/// How many times a mutation is sent at most, the first included.
pub const SEND_ROUNDS: u32 = 3;

/// What [`apply_once`] learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied<T> {
    /// The outcome: the service's answer, or what the probe read.
    pub value: T,
    /// Whether a send whose answer was lost is what applied it (learned by reading back).
    pub reconciled: bool,
}

/// Whether `error` leaves open that the request reached the service and acted: a transport
/// failure after sending, a timeout, or a transient service error. A throttle, a refusal or a
/// request that never left is not.
pub fn maybe_applied(error: &Error) -> bool {
    match error {
        Error::Transport { maybe_sent, .. } => *maybe_sent,
        Error::Timeout { .. } => true,
        Error::Service { retryable, .. } => *retryable,
        _ => false,
    }
}

/// Sends with `send` until it is answered, at most [`SEND_ROUNDS`] times. After a failure
/// that may have applied it ([`maybe_applied`]), and after a refusal that follows one (a
/// replay refused by a precondition or a state rule because the first attempt did apply),
/// `probe` reads the resource: `Some` means the mutation took effect, and that is the
/// answer; `None` means it did not, and it is sent again.
///
/// A failure of `probe` itself ends the loop with the send's error, which says what
/// happened to the mutation.
pub async fn apply_once<T, S, SFut, P, PFut>(mut send: S, mut probe: P) -> Result<Applied<T>>
where
    S: FnMut() -> SFut,
    SFut: Future<Output = Result<T>>,
    P: FnMut() -> PFut,
    PFut: Future<Output = Result<Option<T>>>,
{
    let mut ambiguous = false;
    let mut round = 1;
    loop {
        let error = match send().await {
            Ok(value) => {
                return Ok(Applied {
                    value,
                    reconciled: false,
                });
            }
            Err(e) => e,
        };
        let refused_replay = ambiguous
            && matches!(
                error,
                Error::PreconditionFailed { .. } | Error::InvalidState { .. }
            );
        if !maybe_applied(&error) && !refused_replay {
            return Err(error);
        }
        ambiguous = true;
        match probe().await {
            Ok(Some(value)) => {
                tracing::debug!(
                    backend = error.backend(),
                    operation = %error.operation(),
                    "a mutation whose answer was lost had taken effect"
                );
                return Ok(Applied {
                    value,
                    reconciled: true,
                });
            }
            Ok(None) if round < SEND_ROUNDS && !refused_replay => round += 1,
            Ok(None) | Err(_) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorContext, Operation};
    use std::sync::Mutex;

    fn ctx() -> ErrorContext {
        ErrorContext::new("test", Operation::ReactivateTask)
    }

    /// A service: `applied` counts effects; each send takes the next scripted outcome.
    struct Script {
        applied: Mutex<u32>,
        sends: Mutex<Vec<(bool, Option<Error>)>>,
    }

    impl Script {
        fn new(steps: Vec<(bool, Option<Error>)>) -> Self {
            Script {
                applied: Mutex::new(0),
                sends: Mutex::new(steps.into_iter().rev().collect()),
            }
        }

        async fn send(&self) -> Result<u32> {
            let (applies, error) = self.sends.lock().unwrap().pop().expect("a scripted send");
            if applies {
                *self.applied.lock().unwrap() += 1;
            }
            match error {
                Some(e) => Err(e),
                None => Ok(*self.applied.lock().unwrap()),
            }
        }

        async fn probe(&self) -> Result<Option<u32>> {
            let n = *self.applied.lock().unwrap();
            Ok((n > 0).then_some(n))
        }
    }

    #[tokio::test]
    async fn a_lost_answer_is_read_back_not_sent_again() {
        let s = Script::new(vec![(true, Some(Error::transport(true, None, ctx())))]);
        let r = apply_once(|| s.send(), || s.probe()).await.unwrap();
        assert_eq!(
            r,
            Applied {
                value: 1,
                reconciled: true
            }
        );
        assert_eq!(*s.applied.lock().unwrap(), 1);
    }

    #[tokio::test]
    async fn a_reset_before_applying_is_sent_again() {
        let s = Script::new(vec![
            (false, Some(Error::timeout(ctx()))),
            (false, Some(Error::service(Some(500), true, ctx()))),
            (true, None),
        ]);
        let r = apply_once(|| s.send(), || s.probe()).await.unwrap();
        assert!(!r.reconciled);
        assert_eq!(*s.applied.lock().unwrap(), 1);
    }

    #[tokio::test]
    async fn a_replay_refused_because_the_first_applied_is_success() {
        // The first attempt's answer is lost and the probe races ahead of it; the replay is
        // refused (the ETag moved) and a second read sees the effect.
        let applied_late = Mutex::new(false);
        let s = Script::new(vec![
            (false, Some(Error::timeout(ctx()))),
            (true, Some(Error::precondition_failed(ctx()))),
        ]);
        let probe = || async {
            let late = std::mem::replace(&mut *applied_late.lock().unwrap(), true);
            if late { s.probe().await } else { Ok(None) }
        };
        let r = apply_once(|| s.send(), probe).await.unwrap();
        assert!(r.reconciled);
        assert_eq!(*s.applied.lock().unwrap(), 1);
    }

    #[tokio::test]
    async fn refusals_and_spent_rounds_are_errors() {
        let s = Script::new(vec![(false, Some(Error::invalid_state(None, ctx())))]);
        let e = apply_once(|| s.send(), || s.probe()).await.unwrap_err();
        assert!(matches!(e, Error::InvalidState { .. }));
        let s = Script::new(vec![
            (false, Some(Error::timeout(ctx()))),
            (false, Some(Error::timeout(ctx()))),
            (false, Some(Error::timeout(ctx()))),
        ]);
        let e = apply_once(|| s.send(), || s.probe()).await.unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }));
        assert_eq!(*s.applied.lock().unwrap(), 0);
        assert!(s.sends.lock().unwrap().is_empty(), "three sends at most");
    }
}
