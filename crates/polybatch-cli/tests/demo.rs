//! `polybatch demo` runs end to end and every step behaves as documented.

use std::process::Command;

#[test]
fn demo_passes_every_check() {
    let out = Command::new(env!("CARGO_BIN_EXE_polybatch"))
        .arg("demo")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(!stdout.contains("[FAIL]"), "{stdout}");
    assert!(
        stdout.contains("Every step behaved as documented."),
        "{stdout}"
    );
    assert!(stdout.contains("Neutral states, side by side"), "{stdout}");
    // The table shows both providers' view of the same work.
    for expected in [
        "succeeded (SUCCEED)",
        "failed (FAILED), exit 3",
        "failed (completed), exit 3",
        "completed (completed)",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
    // The portable lifecycle runs on both providers, through the neutral trait.
    for expected in [
        "azure submit_job(same key again)",
        "tencent list_jobs(by label)",
        "tencent task_output(stdout): \"hello from a portable job\\n\"",
        "migrate azure -> tencent",
        "tencent cleanup by label",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.contains("[ok  ]") && l.contains(expected)),
            "no passing {expected:?} in\n{stdout}"
        );
    }
    // Every check line is reported and counted.
    let checks = stdout.lines().filter(|l| l.contains("[ok  ]")).count();
    assert!(
        stdout.contains(&format!("{checks} of {checks} checks")),
        "{stdout}"
    );
}
