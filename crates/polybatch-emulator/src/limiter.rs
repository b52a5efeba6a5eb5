//! Strict server-side request limits: one GCRA per key, on the auth clock. The front ends
//! decide the keys and rates (Tencent: per action, SecretId and region from the documented
//! table; AWS: per operation and access key, as configured).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use polybatch::rate::{Gcra, Quota};

/// The limiters of one front end.
#[derive(Debug, Default)]
pub struct Limiters {
    limiters: Mutex<HashMap<(String, String, String), Gcra>>,
}

impl Limiters {
    /// Admits one request under `key` at `per_second` at `now`, or says it exceeds the limit.
    pub fn admit(&self, key: (&str, &str, &str), per_second: u32, now: DateTime<Utc>) -> bool {
        // The GCRA's time axis: time since the UNIX epoch on the auth clock.
        let at = (now - DateTime::UNIX_EPOCH)
            .to_std()
            .unwrap_or(Duration::ZERO);
        let mut map = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
        let quota = Quota::per_second(per_second);
        let gcra = map
            .entry((key.0.to_string(), key.1.to_string(), key.2.to_string()))
            .or_insert_with(|| Gcra::new(quota));
        if gcra.quota() != quota {
            *gcra = Gcra::new(quota);
        }
        gcra.check(at).is_ok()
    }
}
