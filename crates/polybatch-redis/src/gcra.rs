//! The GCRA reservation as one Redis script, so that a reservation is atomic across every
//! process sharing the store, and timed by one clock: the Redis server's.

use polybatch::rate::{Quota, RateKey};

/// Reserves the next slot of `KEYS[1]` and returns how long the caller must wait for it, in
/// microseconds. `ARGV[1]` is the interval and `ARGV[2]` the tolerance (interval × (burst −
/// 1)), both in microseconds. The stored value is the theoretical arrival time of the next
/// request on the server's `TIME` axis; it expires once it lies in the past (plus a second),
/// so idle keys do not stay in the store. Lua numbers are doubles: microseconds since the
/// epoch (about 1.8e15) are exact below 2^53.
pub(crate) const RESERVE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local interval = tonumber(ARGV[1])
local allowed = tat - tonumber(ARGV[2])
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1000)
local wait = allowed - now
if wait < 0 then wait = 0 end
return wait
";

/// The store key of a rate key: `{prefix}:{action}:{region}:{credential}`. The credential is an
/// identity (a SecretId, an account, a role), never a secret.
pub(crate) fn store_key(prefix: &str, key: &RateKey) -> String {
    format!("{prefix}:{}:{}:{}", key.action, key.region, key.credential)
}

/// The script's arguments for `quota`: interval and tolerance in microseconds (at least 1 µs
/// of interval, so a reservation always moves the arrival time on).
pub(crate) fn arguments(quota: Quota) -> (u64, u64) {
    let interval = u64::try_from(quota.interval.as_micros())
        .unwrap_or(u64::MAX)
        .max(1);
    let tolerance = interval.saturating_mul(u64::from(quota.burst.max(1) - 1));
    (interval, tolerance)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn arguments_are_microseconds_with_the_burst_as_tolerance() {
        assert_eq!(arguments(Quota::per_second(4).with_burst(1)), (250_000, 0));
        assert_eq!(arguments(Quota::per_second(2)), (500_000, 500_000));
        assert_eq!(arguments(Quota::every(Duration::from_nanos(10))), (1, 0));
    }

    #[test]
    fn store_keys_name_action_region_and_credential() {
        let k = RateKey::new("DescribeJob", "ap-guangzhou", "AKID1");
        assert_eq!(
            store_key("polybatch:rate", &k),
            "polybatch:rate:DescribeJob:ap-guangzhou:AKID1"
        );
    }
}
