//! Rate limiting: one algorithm (GCRA, the token bucket as arrival times), used by the
//! rate-limit wrapper backend, the clients' per-action limiters and the emulator's strict
//! server-side limiter.
//!
//! [`Gcra`] is pure: it is handed the time, so the server can check against its own clock and
//! tests can drive it exactly. [`RateLimiter`] and [`KeyedRateLimiter`] wait with
//! `tokio::time`, so callers queue for permits instead of failing, in arrival order.
//!
//! The clients' limiter is [`ActionLimiter`]: a configured quota per action, adapted down when
//! the service throttles anyway ([`AdaptiveRate`]), with permits from a [`PermitSource`]: this
//! process's ([`LocalPermits`]) or one shared by a fleet (the `polybatch-redis` crate).

mod action;
mod adaptive;
mod permits;

pub use action::ActionLimiter;
pub use adaptive::AdaptiveRate;
pub use permits::{LocalPermits, PermitSource, RateKey};

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// A rate: one request per `interval`, with up to `burst` requests at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    /// Time between requests at the sustained rate.
    pub interval: Duration,
    /// How many requests may go at once after a quiet period (at least 1).
    pub burst: u32,
}

impl Quota {
    /// `n` requests per second, burst of `n`. `n == 0` is treated as 1.
    pub fn per_second(n: u32) -> Self {
        let n = n.max(1);
        Quota {
            interval: Duration::from_nanos(1_000_000_000 / u64::from(n)),
            burst: n,
        }
    }

    /// One request per `interval`, no burst.
    pub fn every(interval: Duration) -> Self {
        Quota { interval, burst: 1 }
    }

    /// `rate` requests per second (any positive rate, fractions included), burst 1. `None`
    /// for a rate that is not a positive finite number.
    pub fn from_rate(rate: f64) -> Option<Self> {
        if !(rate.is_finite() && rate > 0.0) {
            return None;
        }
        let interval = Duration::try_from_secs_f64(1.0 / rate).ok()?;
        Some(Quota::every(interval))
    }

    /// Sets the burst (at least 1).
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        self
    }

    /// Requests per second at the sustained rate.
    pub fn per_second_f64(&self) -> f64 {
        if self.interval.is_zero() {
            f64::INFINITY
        } else {
            1.0 / self.interval.as_secs_f64()
        }
    }
}

impl fmt::Display for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}/s burst {}", self.per_second_f64(), self.burst)
    }
}

/// The generic cell rate algorithm on a time axis the caller supplies (any monotonic
/// [`Duration`] since an origin).
#[derive(Debug, Clone)]
pub struct Gcra {
    quota: Quota,
    /// Theoretical arrival time of the next request.
    tat: Duration,
}

impl Gcra {
    /// A limiter with a full burst available.
    pub fn new(quota: Quota) -> Self {
        Gcra {
            quota,
            tat: Duration::ZERO,
        }
    }

    /// The quota.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// Changes the quota from the next reservation on; what is reserved stays reserved.
    pub fn set_quota(&mut self, quota: Quota) {
        self.quota = quota;
    }

    fn tolerance(&self) -> Duration {
        self.quota.interval * (self.quota.burst.max(1) - 1)
    }

    /// Reserves the next slot at time `now` and returns how long the caller must wait for it
    /// (zero if it may go now). Reservations are served in call order.
    pub fn reserve(&mut self, now: Duration) -> Duration {
        let tat = self.tat.max(now);
        let allowed_at = tat.saturating_sub(self.tolerance());
        self.tat = tat + self.quota.interval;
        allowed_at.saturating_sub(now)
    }

    /// Admits a request at `now` if the rate allows it; otherwise returns how long until it
    /// would be admitted, and records nothing.
    pub fn check(&mut self, now: Duration) -> Result<(), Duration> {
        let tat = self.tat.max(now);
        let allowed_at = tat.saturating_sub(self.tolerance());
        if allowed_at > now {
            return Err(allowed_at - now);
        }
        self.tat = tat + self.quota.interval;
        Ok(())
    }
}

/// An async limiter: [`RateLimiter::acquire`] waits for a permit. Clones share the limit.
#[derive(Clone)]
pub struct RateLimiter {
    origin: Instant,
    gcra: Arc<Mutex<Gcra>>,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RateLimiter({})", self.quota())
    }
}

impl RateLimiter {
    /// A limiter with the given quota.
    pub fn new(quota: Quota) -> Self {
        RateLimiter {
            origin: Instant::now(),
            gcra: Arc::new(Mutex::new(Gcra::new(quota))),
        }
    }

    /// The quota.
    pub fn quota(&self) -> Quota {
        self.gcra.lock().unwrap_or_else(|p| p.into_inner()).quota()
    }

    /// Waits until the caller may send one request.
    pub async fn acquire(&self) {
        let wait = {
            let now = Instant::now().saturating_duration_since(self.origin);
            self.gcra
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .reserve(now)
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// One [`RateLimiter`] per key (for example per action, region and credential), created on
/// first use with the quota `quota_for(key)` returns. Clones share the limiters.
pub struct KeyedRateLimiter<K> {
    limiters: Arc<Mutex<HashMap<K, RateLimiter>>>,
    quota_for: QuotaFor<K>,
}

/// Picks the quota of a key (`None`: not limited).
type QuotaFor<K> = Arc<dyn Fn(&K) -> Option<Quota> + Send + Sync>;

impl<K> Clone for KeyedRateLimiter<K> {
    fn clone(&self) -> Self {
        KeyedRateLimiter {
            limiters: self.limiters.clone(),
            quota_for: self.quota_for.clone(),
        }
    }
}

impl<K> fmt::Debug for KeyedRateLimiter<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyedRateLimiter")
    }
}

impl<K: Hash + Eq + Clone + Send + Sync + 'static> KeyedRateLimiter<K> {
    /// A keyed limiter; keys for which `quota_for` returns `None` are not limited.
    pub fn new(quota_for: impl Fn(&K) -> Option<Quota> + Send + Sync + 'static) -> Self {
        KeyedRateLimiter {
            limiters: Arc::new(Mutex::new(HashMap::new())),
            quota_for: Arc::new(quota_for),
        }
    }

    /// The limiter for `key`, if the key is limited.
    pub fn limiter(&self, key: &K) -> Option<RateLimiter> {
        let mut map = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = map.get(key) {
            return Some(l.clone());
        }
        let quota = (self.quota_for)(key)?;
        let l = RateLimiter::new(quota);
        map.insert(key.clone(), l.clone());
        Some(l)
    }

    /// Waits for a permit for `key`.
    pub async fn acquire(&self, key: &K) {
        if let Some(l) = self.limiter(key) {
            l.acquire().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn gcra_burst_then_sustained_rate() {
        let mut g = Gcra::new(Quota::per_second(2));
        let waits: Vec<u128> = (0..6).map(|_| g.reserve(ms(1000)).as_millis()).collect();
        assert_eq!(waits, vec![0, 0, 500, 1000, 1500, 2000]);
    }

    #[test]
    fn gcra_check_rejects_without_recording() {
        let mut g = Gcra::new(Quota::per_second(2));
        assert!(g.check(ms(0)).is_ok());
        assert!(g.check(ms(0)).is_ok());
        assert_eq!(g.check(ms(0)), Err(ms(500)));
        assert_eq!(g.check(ms(100)), Err(ms(400)));
        assert!(g.check(ms(500)).is_ok());
        assert_eq!(g.check(ms(500)), Err(ms(500)));
        // A quiet period refills the burst, and no more.
        assert!(g.check(ms(10_000)).is_ok());
        assert!(g.check(ms(10_000)).is_ok());
        assert!(g.check(ms(10_000)).is_err());
    }

    #[test]
    fn no_burst_spaces_every_request() {
        let mut g = Gcra::new(Quota::per_second(4).with_burst(1));
        let waits: Vec<u128> = (0..4).map(|_| g.reserve(ms(0)).as_millis()).collect();
        assert_eq!(waits, vec![0, 250, 500, 750]);
    }

    #[tokio::test(start_paused = true)]
    async fn limiter_admits_exactly_the_rate() {
        let l = RateLimiter::new(Quota::per_second(2).with_burst(1));
        let start = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..10 {
            let l = l.clone();
            handles.push(tokio::spawn(async move {
                l.acquire().await;
                Instant::now()
            }));
        }
        let mut times = Vec::new();
        for h in handles {
            times.push((h.await.unwrap() - start).as_millis());
        }
        times.sort();
        assert_eq!(times, (0..10).map(|i| i * 500).collect::<Vec<u128>>());
    }

    #[tokio::test(start_paused = true)]
    async fn keyed_limiters_are_independent_and_shared_by_clones() {
        let k = KeyedRateLimiter::new(|key: &&'static str| match *key {
            "slow" => Some(Quota::per_second(1).with_burst(1)),
            _ => None,
        });
        let k2 = k.clone();
        let start = Instant::now();
        k.acquire(&"slow").await;
        k2.acquire(&"slow").await;
        assert_eq!(start.elapsed(), ms(1000));
        k.acquire(&"free").await;
        k.acquire(&"free").await;
        assert_eq!(start.elapsed(), ms(1000));
    }
}
