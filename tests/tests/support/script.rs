//! Running an official-SDK check script (`tests/python/*.py`, `tests/node/*.js`) against a
//! running emulator, and failing the test with its output unless it passed.

use std::path::PathBuf;
use std::process::Command;

/// The exit code with which a check script says its SDK is not installed.
pub const SDK_MISSING: i32 = 3;

/// One check script run.
pub struct SdkCheck<'a> {
    /// The SDK, for messages ("the official Azure Batch Python SDK").
    pub sdk: &'a str,
    /// The interpreter: `python3`, `node`.
    pub program: &'a str,
    /// The script's path from the `tests` crate's directory.
    pub script: PathBuf,
    /// Arguments after the script.
    pub args: Vec<String>,
    /// Environment variables set for it (endpoint, credentials).
    pub envs: Vec<(&'static str, String)>,
    /// What installs the interpreter and the SDK, named when either is missing.
    pub install_hint: &'a str,
    /// A line the script prints only when every check passed.
    pub success_marker: &'a str,
}

/// The `tests` crate's directory.
pub fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl SdkCheck<'_> {
    /// Runs the script and fails the test with its output unless it exits 0 and prints the
    /// success marker. Exit code [`SDK_MISSING`] fails too, naming the install command: these
    /// tests never skip.
    pub async fn run(self) {
        let path = tests_dir().join(&self.script);
        let program = self.program.to_string();
        let args = self.args;
        let envs = self.envs;
        let output = tokio::task::spawn_blocking(move || {
            Command::new(&program)
                .arg(&path)
                .args(&args)
                .envs(envs)
                .output()
        })
        .await
        .expect("the check runner task")
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}); install it and then: {}",
                self.program, self.install_hint
            )
        });

        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let script = self.script.display();
        assert_ne!(
            output.status.code(),
            Some(SDK_MISSING),
            "{} is not installed: {}\n{stderr}",
            self.sdk,
            self.install_hint
        );
        assert!(
            output.status.success(),
            "{script} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            output.status
        );
        assert!(
            stdout.contains(self.success_marker),
            "{script} exited 0 without printing {:?}:\n{stdout}",
            self.success_marker
        );
    }
}
