//! Every operator command against the emulator's Tencent Cloud Batch front end, through the
//! real Tencent client (TC3-HMAC-SHA256 over loopback HTTP), configured through the
//! environment and flags.

mod common;

use common::{TestEmulator, run};
use polybatch_emulator::config::DEFAULT_TENCENT_SECRET_KEY;

#[test]
fn job_and_task_status() {
    let emu = TestEmulator::start();
    let [ok, bad, long] = emu.seed_tencent();
    let v = run(emu
        .tencent_cli()
        .args(["--output", "json", "job", "status", ok.as_str()]))
    .success()
    .json();
    assert_eq!(v["state"], "succeeded");
    assert_eq!(v["provider_state"], "SUCCEED");

    let v =
        run(emu
            .tencent_cli()
            .args(["--output", "json", "task", "status", bad.as_str(), "bad"]))
        .success()
        .json();
    assert_eq!(v["state"], "failed");
    assert_eq!(v["provider_state"], "FAILED");

    let out = run(emu.tencent_cli().args(["job", "status", long.as_str()]));
    out.success();
    assert!(out.stdout.contains("RUNNING"), "{}", out.stdout);
}

#[test]
fn terminate_running_then_succeeded() {
    let emu = TestEmulator::start();
    let [ok, _bad, long] = emu.seed_tencent();
    let out = run(emu.tencent_cli().args(["job", "terminate", long.as_str()]));
    out.success();
    assert_eq!(
        out.stdout.trim_end().split(' ').nth(1),
        Some("accepted"),
        "{}",
        out.stdout
    );
    let out = run(emu.tencent_cli().args(["job", "terminate", long.as_str()]));
    out.success();
    assert!(out.stdout.contains("already_terminating"), "{}", out.stdout);

    // SUCCEED: TerminateJob has no effect, reported as already completed.
    let v = run(emu
        .tencent_cli()
        .args(["job", "terminate", ok.as_str(), "--output", "json"]))
    .success()
    .json();
    assert_eq!(v["disposition"], "already_completed");
}

#[test]
fn options_tencent_does_not_support_are_usage_errors() {
    let emu = TestEmulator::start();
    let [_ok, bad, long] = emu.seed_tencent();
    let out = run(emu
        .tencent_cli()
        .args(["job", "terminate", long.as_str(), "--reason", "x"]));
    let line = out.one_error_line(2);
    // Named as the flag, with what to do instead.
    assert!(
        line.contains("tencent does not support --reason on terminate_job"),
        "{line}"
    );
    assert!(line.contains("leave --reason out"), "{line}");

    let out = run(emu
        .tencent_cli()
        .args(["task", "reactivate", bad.as_str(), "bad"]));
    let line = out.one_error_line(2);
    assert!(line.contains("does not support reactivate_task"), "{line}");
    assert!(
        line.contains("use `polybatch job retry-failed JOB`"),
        "{line}"
    );

    let out = run(emu
        .tencent_cli()
        .args(["job", "prep-release", bad.as_str()]));
    let line = out.one_error_line(2);
    assert!(line.contains("no preparation or release tasks"), "{line}");

    // Azure-only flags are refused rather than ignored.
    let out = run(emu
        .tencent_cli()
        .args(["job", "status", bad.as_str(), "--account", "a"]));
    let line = out.one_error_line(2);
    assert!(line.contains("--account"), "{line}");
}

#[test]
fn retry_failed_job() {
    let emu = TestEmulator::start();
    let [ok, bad, _long] = emu.seed_tencent();
    let v = run(emu
        .tencent_cli()
        .args(["job", "retry-failed", bad.as_str(), "--output", "json"]))
    .success()
    .json();
    assert_eq!(v["retried"], serde_json::json!(["bad"]));

    // Nothing failed: the same result as on Azure.
    let out = run(emu.tencent_cli().args(["job", "retry-failed", ok.as_str()]));
    out.success();
    assert!(out.stdout.contains("no failed tasks"), "{}", out.stdout);
}

#[test]
fn unknown_job_and_flags_override_the_environment() {
    let emu = TestEmulator::start();
    let out = run(emu.tencent_cli().args(["job", "status", "job-00000000"]));
    let line = out.one_error_line(1);
    assert!(line.contains("[ResourceNotFound.Job]"), "{line}");
    assert!(line.contains("request id"), "{line}");

    // --region and --endpoint flags win over the environment.
    let out = run(emu
        .tencent_cli()
        .env("TENCENTCLOUD_REGION", "eu-nowhere")
        .env(
            "POLYBATCH_ENDPOINT",
            "https://batch.tencentcloudapi.invalid",
        )
        .args([
            "job",
            "status",
            "job-00000000",
            "--region",
            "ap-guangzhou",
            "--endpoint",
            &emu.url,
        ]));
    let line = out.one_error_line(1);
    assert!(line.contains("[ResourceNotFound.Job]"), "{line}");
}

#[test]
fn a_wrong_secret_key_is_rejected_without_printing_it() {
    let emu = TestEmulator::start();
    let wrong = "definitely-not-the-emulator-key";
    let out = run(emu
        .tencent_cli()
        .env("TENCENTCLOUD_SECRET_KEY", wrong)
        .args(["--verbose", "job", "status", "job-00000000"]));
    let last = out.stderr.lines().last().unwrap_or_default().to_string();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(last.contains("unauthenticated"), "{last}");
    assert!(!out.stderr.contains(wrong));
    assert!(!out.stderr.contains(DEFAULT_TENCENT_SECRET_KEY));
}
