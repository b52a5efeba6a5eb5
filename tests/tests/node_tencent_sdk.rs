//! The official Tencent Cloud Node.js SDK (`tencentcloud-sdk-nodejs`, batch v20170312) against
//! the emulator: `tests/node/tencent_sdk_check.js` exercises every job action the emulator
//! serves.
//!
//! The SDK signs `host` without the port its `Host` header carries and takes the credential
//! scope's service from the endpoint's first label, so the script talks to
//! `batch.localhost:PORT` (resolved to loopback by its own lookup).
//!
//! Needs `node` (20+) with the SDK installed (`npm ci --prefix tests/node`); without it the test
//! fails, saying so.

mod support;

use std::sync::Arc;

use polybatch::clock::SystemClock;
use polybatch_emulator::{Context, Emulator, EmulatorConfig, SimClock};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_node_sdk_drives_every_tencent_action() {
    let mut config = EmulatorConfig::default();
    // The script polls faster than the documented per-action limits allow.
    config.tencent.enforce_rate_limits = false;
    let secret_id = config.tencent.secret_id.clone();
    let secret_key = config.tencent.secret_key.expose().to_string();
    // Simulated time moves only through the admin API the script calls; timestamps are
    // checked against the real clock, as the SDK signs with it.
    let ctx = Context::new(config, SimClock::manual(), Arc::new(SystemClock));
    let running = Emulator::with_context(ctx).spawn_local().await.unwrap();

    support::node::run_sdk_check(
        "Tencent Cloud",
        "tencent_sdk_check.js",
        vec![
            ("POLYBATCH_TENCENT_URL", running.url()),
            ("TENCENTCLOUD_SECRET_ID", secret_id),
            ("TENCENTCLOUD_SECRET_KEY", secret_key),
            ("TENCENTCLOUD_REGION", "ap-guangzhou".to_string()),
        ],
        "all Tencent Node SDK checks passed",
    )
    .await;
    running.shutdown().await;
}
