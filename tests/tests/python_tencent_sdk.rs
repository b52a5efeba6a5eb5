//! The official Tencent Cloud Python SDK (`tencentcloud-sdk-python`) against the emulator:
//! `tests/python/tencent_sdk_check.py` exercises every job action the emulator serves.
//!
//! Needs `python3` with the SDK installed (`pip install -r tests/python/requirements.txt`);
//! without it the test fails, saying so.

mod support;

use std::sync::Arc;

use polybatch::clock::SystemClock;
use polybatch_emulator::{Context, Emulator, EmulatorConfig, SimClock};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_drives_every_tencent_action() {
    let mut config = EmulatorConfig::default();
    // The script polls faster than the documented per-action limits allow.
    config.tencent.enforce_rate_limits = false;
    let secret_id = config.tencent.secret_id.clone();
    let secret_key = config.tencent.secret_key.expose().to_string();
    // Simulated time moves only through the admin API the script calls; timestamps are
    // checked against the real clock, as the SDK signs with it.
    let ctx = Context::new(config, SimClock::manual(), Arc::new(SystemClock));
    let running = Emulator::with_context(ctx).spawn_local().await.unwrap();

    support::python::run_sdk_check(
        "Tencent Cloud",
        "tencent_sdk_check.py",
        vec![
            "--url".into(),
            running.url(),
            "--secret-id".into(),
            secret_id,
        ],
        vec![("TENCENTCLOUD_SECRET_KEY", secret_key)],
        "all Tencent SDK checks passed",
    )
    .await;
    running.shutdown().await;
}
