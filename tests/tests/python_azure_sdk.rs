//! The official Azure Batch Python SDK (`azure-batch` 15.x, Shared Key) against the emulator:
//! `tests/python/azure_sdk_check.py` exercises every Azure operation the emulator serves.
//!
//! Needs `python3` with the SDK installed (`pip install -r tests/python/requirements.txt`);
//! without it the test fails, saying so.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use polybatch::clock::SystemClock;
use polybatch_emulator::{Context, Emulator, EmulatorConfig, SimClock};
use tokio::net::TcpListener;

const INSTALL_HINT: &str = "pip install -r tests/python/requirements.txt";

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
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = Emulator::with_context(ctx).spawn_on(listener).unwrap();
    let url = running.url();

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/azure_sdk_check.py");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(&script)
            .args([&url, &account])
            .env("POLYBATCH_AZURE_KEY", &key)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("cannot run python3 ({e}); install Python 3 and {INSTALL_HINT}"));
    running.shutdown().await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(
        output.status.code(),
        Some(3),
        "the official Azure Batch Python SDK is not installed: {INSTALL_HINT}\n{stderr}"
    );
    assert!(
        output.status.success(),
        "azure_sdk_check.py failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    assert!(stdout.contains("azure-batch SDK check passed"), "{stdout}");
}
