//! [`RedisPermits`]: a [`PermitSource`] several processes share, with a local fallback.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use polybatch::Error;
use polybatch::rate::{LocalPermits, PermitSource, Quota, RateKey};
use polybatch::secret::{Secret, redact};
use redis::aio::ConnectionManager;
use tokio::time::Instant;

use crate::gcra;

const BACKEND: &str = "redis";

/// Permits from a GCRA kept in Redis: every process (and every client) that takes permits
/// for the same key from the same store is held to the quota together.
///
/// When Redis cannot be reached (or does not answer within the timeout), permits come from
/// this process's own limiter instead ([`LocalPermits`]) and one warning is logged; Redis is
/// tried again after a pause, and its return is logged too. While it is away, each process
/// keeps to the quota alone, so a fleet may exceed it; the clients' adaptation to throttling
/// is what holds it in then.
pub struct RedisPermits {
    client: redis::Client,
    /// Where the store is, for messages: host and port, never the password.
    addr: String,
    password: Option<Secret>,
    prefix: String,
    timeout: Duration,
    retry_after: Duration,
    script: redis::Script,
    connection: tokio::sync::Mutex<Option<ConnectionManager>>,
    /// No connection is attempted before this instant after a failure.
    next_attempt: Mutex<Option<Instant>>,
    local: LocalPermits,
    degraded: AtomicBool,
    fallbacks: AtomicU64,
}

impl fmt::Debug for RedisPermits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisPermits")
            .field("addr", &self.addr)
            .field("prefix", &self.prefix)
            .field("degraded", &self.degraded.load(Ordering::Relaxed))
            .finish()
    }
}

impl RedisPermits {
    /// Permits from the Redis at `url` (`redis://host:port/db`, `rediss://…`,
    /// `redis+unix:///path`). Nothing is sent until the first reservation. A URL that does not
    /// parse is `Error::Configuration`; the message never repeats the URL, which may hold a
    /// password.
    pub fn new(url: &str) -> polybatch::Result<Self> {
        let client = redis::Client::open(url).map_err(|_| {
            Error::configuration(
                BACKEND,
                "url",
                "is not a Redis URL (redis://host:port, rediss://… or redis+unix:///path)",
            )
        })?;
        let info = client.get_connection_info();
        let addr = info.addr.to_string();
        let password = info.redis.password.clone().map(Secret::new);
        Ok(RedisPermits {
            client,
            addr,
            password,
            prefix: "polybatch:rate".to_string(),
            timeout: Duration::from_millis(500),
            retry_after: Duration::from_secs(5),
            script: redis::Script::new(gcra::RESERVE),
            connection: tokio::sync::Mutex::new(None),
            next_attempt: Mutex::new(None),
            local: LocalPermits::new(),
            degraded: AtomicBool::new(false),
            fallbacks: AtomicU64::new(0),
        })
    }

    /// The prefix of every key this source writes (default `polybatch:rate`); sources with
    /// different prefixes count apart.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a reservation may wait for Redis before falling back (default 500 ms).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long to count locally after Redis failed before trying it again (default 5 s).
    pub fn with_retry_after(mut self, pause: Duration) -> Self {
        self.retry_after = pause;
        self
    }

    /// Whether permits are being counted locally because Redis is away.
    pub fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    /// How many reservations were served locally because Redis was away.
    pub fn fallbacks(&self) -> u64 {
        self.fallbacks.load(Ordering::Relaxed)
    }

    /// A connection, connecting if there is none and a retry is due.
    async fn connection(&self) -> Result<ConnectionManager, String> {
        let mut slot = self.connection.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        {
            let next = self.next_attempt.lock().unwrap_or_else(|p| p.into_inner());
            if next.is_some_and(|at| Instant::now() < at) {
                return Err("not retried yet".to_string());
            }
        }
        let connected =
            tokio::time::timeout(self.timeout, ConnectionManager::new(self.client.clone())).await;
        match connected {
            Ok(Ok(c)) => {
                *slot = Some(c.clone());
                Ok(c)
            }
            Ok(Err(e)) => Err(self.reason(&e)),
            Err(_) => Err(format!("no connection within {:?}", self.timeout)),
        }
    }

    async fn reserve_remote(&self, key: &RateKey, quota: Quota) -> Result<Duration, String> {
        let mut conn = self.connection().await?;
        let (interval, tolerance) = gcra::arguments(quota);
        let mut invocation = self.script.key(gcra::store_key(&self.prefix, key));
        invocation.arg(interval).arg(tolerance);
        let answer = tokio::time::timeout(self.timeout, invocation.invoke_async::<i64>(&mut conn))
            .await
            .map_err(|_| format!("no answer within {:?}", self.timeout))?
            .map_err(|e| self.reason(&e))?;
        Ok(Duration::from_micros(u64::try_from(answer).unwrap_or(0)))
    }

    /// A Redis error's text with the password, if any, taken out.
    fn reason(&self, e: &redis::RedisError) -> String {
        let text = e.to_string();
        match &self.password {
            Some(p) => redact(&text, &[p]),
            None => text,
        }
    }
}

#[async_trait]
impl PermitSource for RedisPermits {
    async fn reserve(&self, key: &RateKey, quota: Quota) -> Duration {
        match self.reserve_remote(key, quota).await {
            Ok(wait) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!(redis = %self.addr, "Redis is reachable again: rate-limit permits are shared again");
                }
                wait
            }
            Err(reason) => {
                {
                    let mut next = self.next_attempt.lock().unwrap_or_else(|p| p.into_inner());
                    if next.is_none_or(|at| Instant::now() >= at) {
                        *next = Some(Instant::now() + self.retry_after);
                    }
                }
                // A connection that broke is dropped, so the next attempt reconnects.
                if let Ok(mut slot) = self.connection.try_lock() {
                    *slot = None;
                }
                if !self.degraded.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        redis = %self.addr,
                        %reason,
                        "Redis is unreachable: rate-limit permits are counted in this process only until it is back"
                    );
                }
                self.fallbacks.fetch_add(1, Ordering::Relaxed);
                self.local.reserve_now(key, quota)
            }
        }
    }
}
