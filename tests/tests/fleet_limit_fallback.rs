//! `polybatch-redis`'s fallback when Redis is unreachable: local permits and one warning.
//!
//! Alone in its own test binary: it captures `tracing` events with a scoped subscriber, and a
//! test on another thread of the same process could otherwise register the warning's callsite
//! first, with no subscriber, and have it cached as never enabled.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use polybatch::rate::{PermitSource, Quota, RateKey};
use polybatch_redis::RedisPermits;
use support::redis::free_port;

const SECS_10: Quota = Quota {
    interval: Duration::from_secs(10),
    burst: 1,
};

fn key(credential: &str) -> RateKey {
    RateKey::new("DescribeJob", "ap-guangzhou", credential)
}

/// Asserts `wait` is `slots` intervals of 10 s, less the little real time that has passed.
fn assert_slot(wait: Duration, slots: u32) {
    let full = Duration::from_secs(10) * slots;
    assert!(
        wait <= full && wait + Duration::from_secs(2) > full,
        "wait {wait:?}, expected just under {full:?}"
    );
}

/// Counts WARN events.
struct CountWarnings(Arc<AtomicUsize>, Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountWarnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if *event.metadata().level() == tracing::Level::WARN {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        let mut text = String::new();
        event.record(
            &mut |field: &tracing::field::Field, value: &dyn std::fmt::Debug| {
                text.push_str(&format!("{}={value:?} ", field.name()));
            },
        );
        self.1.lock().unwrap().push(text);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn an_unreachable_redis_falls_back_to_local_permits_and_warns_once() {
    use tracing_subscriber::layer::SubscriberExt;
    let warnings = Arc::new(AtomicUsize::new(0));
    let lines = Arc::new(Mutex::new(Vec::new()));
    let subscriber =
        tracing_subscriber::registry().with(CountWarnings(warnings.clone(), lines.clone()));
    let _guard = tracing::subscriber::set_default(subscriber);

    let port = free_port();
    let url = format!("redis://:hunter2-redis-password@127.0.0.1:{port}/");
    let permits = RedisPermits::new(&url)
        .unwrap()
        .with_retry_after(Duration::ZERO);
    assert!(!format!("{permits:?}").contains("hunter2"));
    // Nothing listens: each reservation is served by the local limiter, exactly as it spaces.
    assert_eq!(
        permits.reserve(&key("AKID1"), SECS_10).await,
        Duration::ZERO
    );
    assert_slot(permits.reserve(&key("AKID1"), SECS_10).await, 1);
    assert_slot(permits.reserve(&key("AKID1"), SECS_10).await, 2);
    assert!(permits.is_degraded());
    assert_eq!(permits.fallbacks(), 3);
    assert_eq!(
        warnings.load(Ordering::SeqCst),
        1,
        "one warning for the outage"
    );

    let logged = lines.lock().unwrap().join("\n");
    assert!(!logged.contains("hunter2"), "{logged}");
    assert!(logged.contains("unreachable"), "{logged}");
}
