//! Microsoft's official Azure Batch Node.js SDK (`@azure/batch` 10.x, Shared Key through
//! `BatchSharedKeyCredentials`) against the emulator: `tests/node/azure_sdk_check.js` exercises
//! every Azure operation the emulator serves that the SDK exposes.
//!
//! Needs `node` (20+) with the SDK installed (`npm ci --prefix tests/node`); without it the test
//! fails, saying so.

mod support;

use std::sync::Arc;

use polybatch::clock::SystemClock;
use polybatch_emulator::{Context, Emulator, EmulatorConfig, SimClock};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_node_sdk_drives_every_azure_operation() {
    let mut config = EmulatorConfig::default();
    // The script pages the preparation status over more than 25 nodes.
    config.azure.nodes_per_pool = 30;
    let account = config.azure.account.clone();
    let key = config.azure.key.expose().to_string();
    // Simulated time moves only through the admin API the script calls; `ocp-date` is checked
    // against the real clock, as the SDK stamps requests with it.
    let ctx = Context::new(config, SimClock::manual(), Arc::new(SystemClock));
    let running = Emulator::with_context(ctx).spawn_local().await.unwrap();

    support::node::run_sdk_check(
        "Azure Batch",
        "azure_sdk_check.js",
        vec![
            ("POLYBATCH_AZURE_URL", running.url()),
            ("POLYBATCH_AZURE_ACCOUNT", account),
            ("POLYBATCH_AZURE_KEY", key),
        ],
        "all Azure Node SDK checks passed",
    )
    .await;
    running.shutdown().await;
}
