//! Adaptive rates: how fast to send once a service throttles anyway.
//!
//! The algorithm is the AWS SDKs' adaptive retry mode (the `ClientRateLimiter` of smithy-rs
//! and botocore's `adaptive` mode): CUBIC congestion control over a measured send rate. A
//! throttled answer cuts the rate to `BETA` × what was being sent; each answer after that
//! grows it back along a cubic curve that is flat near the rate that was throttled and steep
//! away from it, capped at twice the measured send rate so an idle key does not accumulate
//! an unbounded allowance. Until the first throttle, nothing is limited by this type.
//!
//! Pure: every method is handed the time (a monotonic [`Duration`] since an origin), so tests
//! drive it exactly.

use std::time::Duration;

/// The multiplicative decrease on a throttle.
const BETA: f64 = 0.7;
/// How fast the cubic recovers (requests/s per s³).
const SCALE_CONSTANT: f64 = 0.4;
/// The lowest rate adaptation goes to (requests/s).
const MIN_RATE: f64 = 0.5;
/// Weight of the newest measurement in the smoothed send rate.
const SMOOTH: f64 = 0.8;
/// Width of a send-rate measurement bucket, in seconds.
const BUCKET_SECS: f64 = 0.5;

/// The adaptive rate of one key (one action, region and credential).
#[derive(Debug, Clone, Default)]
pub struct AdaptiveRate {
    /// Whether a throttle has been seen (before that, no limit applies).
    enabled: bool,
    /// The rate to send at, requests/s (meaningful once enabled).
    rate: f64,
    /// Smoothed rate at which answers arrive, requests/s.
    measured: f64,
    /// Start of the current measurement bucket, seconds.
    bucket: f64,
    /// Answers in the current bucket.
    count: u64,
    /// The rate that was throttled last, requests/s.
    last_max: f64,
    /// When the last throttle was seen, seconds.
    last_throttle: f64,
}

impl AdaptiveRate {
    /// A key that has not been throttled.
    pub fn new() -> Self {
        AdaptiveRate::default()
    }

    /// The rate to send at, requests/s, or `None` while no throttle has been seen.
    pub fn rate(&self) -> Option<f64> {
        self.enabled.then_some(self.rate)
    }

    /// The smoothed rate at which answers have arrived, requests/s.
    pub fn measured(&self) -> f64 {
        self.measured
    }

    /// Records an answer at `now`: `throttled` if the service refused it for its rate.
    /// `ceiling` is the configured rate of the key, if any: a throttle measured before any
    /// send rate is known starts from it rather than from nothing.
    pub fn record(&mut self, now: Duration, throttled: bool, ceiling: Option<f64>) {
        let t = now.as_secs_f64();
        self.measure(t);
        let calculated = if throttled {
            let sending = match (self.measured > 0.0, ceiling) {
                (true, _) => self.measured,
                (false, Some(c)) => c,
                (false, None) => MIN_RATE,
            };
            let base = if self.enabled {
                sending.min(self.rate)
            } else {
                sending
            };
            self.last_max = base;
            self.last_throttle = t;
            self.enabled = true;
            base * BETA
        } else {
            let window = (self.last_max * (1.0 - BETA) / SCALE_CONSTANT).cbrt();
            SCALE_CONSTANT * (t - self.last_throttle - window).powi(3) + self.last_max
        };
        // Never above twice what is being sent: an allowance is earned by sending. Before any
        // bucket has closed nothing is measured yet, and the throttle's own cut stands.
        let capped = if self.measured > 0.0 {
            calculated.min(2.0 * self.measured)
        } else {
            calculated
        };
        let capped = match ceiling {
            Some(c) => capped.min(c),
            None => capped,
        };
        self.rate = capped.max(MIN_RATE);
    }

    fn measure(&mut self, t: f64) {
        let bucket = (t / BUCKET_SECS).floor() * BUCKET_SECS;
        self.count += 1;
        if bucket > self.bucket {
            let current = self.count as f64 / (bucket - self.bucket);
            self.measured = current * SMOOTH + self.measured * (1.0 - SMOOTH);
            self.count = 0;
            self.bucket = bucket;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    /// Sends `n` answers evenly over `[from, to)`, all successes.
    fn send(a: &mut AdaptiveRate, from: f64, to: f64, n: u32, ceiling: Option<f64>) {
        for i in 0..n {
            let t = from + (to - from) * f64::from(i) / f64::from(n);
            a.record(secs(t), false, ceiling);
        }
    }

    #[test]
    fn nothing_is_limited_before_a_throttle() {
        let mut a = AdaptiveRate::new();
        send(&mut a, 0.0, 10.0, 1000, None);
        assert_eq!(a.rate(), None);
        assert!((a.measured() - 100.0).abs() < 5.0, "{}", a.measured());
    }

    #[test]
    fn a_throttle_cuts_to_beta_of_the_measured_rate() {
        let mut a = AdaptiveRate::new();
        send(&mut a, 0.0, 10.0, 1000, None);
        let measured = a.measured();
        a.record(secs(10.0), true, None);
        let rate = a.rate().expect("limited after a throttle");
        assert!((rate - measured * BETA).abs() < 1.0, "{rate} vs {measured}");
    }

    #[test]
    fn repeated_throttles_keep_cutting_down_to_the_floor() {
        let mut a = AdaptiveRate::new();
        send(&mut a, 0.0, 5.0, 500, None);
        let mut last = f64::INFINITY;
        for i in 0..40 {
            a.record(secs(5.0 + f64::from(i) * 0.01), true, None);
            let rate = a.rate().unwrap();
            assert!(rate <= last, "throttle {i}: {rate} > {last}");
            last = rate;
        }
        assert_eq!(last, MIN_RATE);
    }

    #[test]
    fn the_rate_recovers_along_the_cubic_up_to_the_ceiling() {
        let mut a = AdaptiveRate::new();
        // 20/s configured and sent, then one throttle.
        send(&mut a, 0.0, 10.0, 200, Some(20.0));
        a.record(secs(10.0), true, Some(20.0));
        let cut = a.rate().unwrap();
        assert!((cut - 14.0).abs() < 1.0, "{cut}");
        // Sending at the cut rate: the rate climbs back, never past the ceiling.
        let mut t = 10.0;
        let mut rates = Vec::new();
        while t < 30.0 {
            let rate = a.rate().unwrap();
            rates.push(rate);
            t += 1.0 / rate;
            a.record(secs(t), false, Some(20.0));
        }
        assert!(rates.windows(2).all(|w| w[1] >= w[0] - 1e-9), "{rates:?}");
        assert_eq!(a.rate(), Some(20.0));
    }

    #[test]
    fn a_throttle_before_any_measurement_starts_from_the_ceiling() {
        let mut a = AdaptiveRate::new();
        a.record(secs(0.1), true, Some(10.0));
        assert_eq!(a.rate(), Some(7.0));
        let mut b = AdaptiveRate::new();
        b.record(secs(0.1), true, None);
        assert_eq!(b.rate(), Some(MIN_RATE));
    }
}
