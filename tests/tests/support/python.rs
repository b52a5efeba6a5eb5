//! Running an official-SDK check script (`tests/python/*.py`) against a running emulator.

use std::path::Path;

use super::script::SdkCheck;

/// How to install what the scripts need.
pub const INSTALL_HINT: &str = "pip install -r tests/python/requirements.txt";

/// Runs `python3 tests/python/<script> <args>` with `envs`, and fails the test with the
/// script's output unless it exits 0 and prints `success_marker`. A script exits 3 when its SDK
/// is not installed: that fails too, naming the install command (these tests never skip).
pub async fn run_sdk_check(
    sdk: &str,
    script: &str,
    args: Vec<String>,
    mut envs: Vec<(&'static str, String)>,
    success_marker: &str,
) {
    envs.push(("PYTHONDONTWRITEBYTECODE", "1".to_string()));
    SdkCheck {
        sdk: &format!("the official {sdk} Python SDK"),
        program: "python3",
        script: Path::new("python").join(script),
        args,
        envs,
        install_hint: INSTALL_HINT,
        success_marker,
    }
    .run()
    .await;
}
