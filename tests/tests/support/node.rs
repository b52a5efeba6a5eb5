//! Running an official-SDK check script (`tests/node/*.js`) against a running emulator.

use std::path::Path;

use super::script::{SdkCheck, tests_dir};

/// How to install what the scripts need (the versions `tests/node/package-lock.json` pins).
pub const INSTALL_HINT: &str = "npm ci --prefix tests/node";

/// Runs `node tests/node/<script>` with `envs`, and fails the test with the script's output
/// unless it exits 0 and prints `success_marker`. Without `tests/node/node_modules`, or when a
/// script says its SDK is missing (exit 3), it fails naming the install command: these tests
/// never skip.
pub async fn run_sdk_check(
    sdk: &str,
    script: &str,
    envs: Vec<(&'static str, String)>,
    success_marker: &str,
) {
    let modules = tests_dir().join("node").join("node_modules");
    assert!(
        modules.is_dir(),
        "{} is missing: the official {sdk} Node.js SDK is not installed; run `{INSTALL_HINT}` \
         (from the repository root)",
        modules.display()
    );
    SdkCheck {
        sdk: &format!("the official {sdk} Node.js SDK"),
        program: "node",
        script: Path::new("node").join(script),
        args: Vec::new(),
        envs,
        install_hint: INSTALL_HINT,
        success_marker,
    }
    .run()
    .await;
}
