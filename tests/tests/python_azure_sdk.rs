//! The official Azure Batch Python SDK (`azure-batch` 15.x, Shared Key) against the emulator:
//! `tests/python/azure_sdk_check.py` exercises every Azure operation the emulator serves.
//!
//! Needs `python3` with the SDK installed (`pip install -r tests/python/requirements.txt`);
//! without it the test fails, saying so.

mod support;

use std::sync::Arc;

use polybatch::clock::SystemClock;
use polybatch_emulator::{Context, Emulator, EmulatorConfig, SimClock};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_drives_every_azure_operation() {
    let mut config = EmulatorConfig::default();
    // The script pages the preparation status over more than 25 nodes.
    config.azure.nodes_per_pool = 30;
    let account = config.azure.account.clone();
    let key = config.azure.key.expose().to_string();
    // Simulated time moves only through the admin API the script calls; `ocp-date` is checked
    // against the real clock, as the SDK stamps requests with it.
    let ctx = Context::new(config, SimClock::manual(), Arc::new(SystemClock));
    let running = Emulator::with_context(ctx).spawn_local().await.unwrap();

    support::python::run_sdk_check(
        "Azure Batch",
        "azure_sdk_check.py",
        vec![running.url(), account],
        vec![("POLYBATCH_AZURE_KEY", key)],
        "azure-batch SDK check passed",
    )
    .await;
    running.shutdown().await;
}
