//! Running an official-SDK check script (`tests/python/*.py`) against a running emulator.

use std::path::PathBuf;
use std::process::Command;

/// How to install what the scripts need.
pub const INSTALL_HINT: &str = "pip install -r tests/python/requirements.txt";

/// Runs `python3 tests/python/<script> <args>` with `envs`, and fails the test with the
/// script's output unless it exits 0 and prints `success_marker`. A script exits 3 when its SDK
/// is not installed: that fails too, naming the install command (these tests never skip).
pub async fn run_sdk_check(
    sdk: &str,
    script: &str,
    args: Vec<String>,
    envs: Vec<(&'static str, String)>,
    success_marker: &str,
) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(script);
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(&path)
            .args(&args)
            .envs(envs)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
    })
    .await
    .expect("the python3 runner task")
    .unwrap_or_else(|e| panic!("cannot run python3 ({e}); install Python 3 and {INSTALL_HINT}"));

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(
        output.status.code(),
        Some(3),
        "the official {sdk} Python SDK is not installed: {INSTALL_HINT}\n{stderr}"
    );
    assert!(
        output.status.success(),
        "{script} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    assert!(stdout.contains(success_marker), "{stdout}");
}
