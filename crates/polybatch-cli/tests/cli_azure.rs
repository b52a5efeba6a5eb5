//! Every operator command against the emulator's Azure Batch front end, through the real
//! Azure client (Shared Key over loopback HTTP), configured only through the environment.

mod common;

use common::{TestEmulator, run};
use polybatch_emulator::config::DEFAULT_AZURE_KEY;

#[test]
fn job_status_table_and_json() {
    let emu = TestEmulator::start();
    emu.seed_azure();
    let out = run(emu.azure_cli().args(["job", "status", "job-long"]));
    out.success();
    assert!(out.stdout.contains("job-long"), "{}", out.stdout);
    assert!(out.stdout.contains("active"), "{}", out.stdout);

    let out = run(emu
        .azure_cli()
        .args(["--output", "json", "job", "status", "job-long"]));
    let v = out.success().json();
    assert_eq!(v["job_id"], "job-long");
    assert_eq!(v["state"], "active");
    assert_eq!(v["provider_state"], "active");
    assert_eq!(v["pool_id"], "pool-c");
    assert!(v["etag"].is_string());
}

#[test]
fn task_status_json_reports_exit_code() {
    let emu = TestEmulator::start();
    emu.seed_azure();
    let out = run(emu
        .azure_cli()
        .args(["task", "status", "job-fail", "bad", "--output", "json"]));
    let v = out.success().json();
    assert_eq!(v["task_id"], "bad");
    assert_eq!(v["state"], "failed");
    assert_eq!(v["provider_state"], "completed");
    assert_eq!(v["exit_code"], 3);
    assert_eq!(v["result"], "failure");

    let out = run(emu.azure_cli().args(["task", "status", "job-ok", "ok"]));
    out.success();
    assert!(out.stdout.contains("succeeded"), "{}", out.stdout);
}

#[test]
fn terminate_is_idempotent_and_waits() {
    let emu = TestEmulator::start();
    emu.seed_azure();
    // job-ok has no release task, so it completes at once and --wait returns immediately.
    let out = run(emu.azure_cli().args([
        "--output",
        "json",
        "job",
        "terminate",
        "job-ok",
        "--reason",
        "cli-test",
        "--wait",
        "--poll-interval",
        "0.5",
        "--wait-timeout",
        "5",
    ]));
    let v = out.success().json();
    assert_eq!(v["disposition"], "accepted");
    assert_eq!(v["final_status"]["state"], "completed");
    assert_eq!(v["final_status"]["terminate_reason"], "cli-test");
    assert!(v["request_id"].is_string());

    let out = run(emu.azure_cli().args(["job", "terminate", "job-ok"]));
    out.success();
    assert_eq!(
        out.stdout.lines().next().unwrap().split(' ').nth(1),
        Some("already_completed")
    );

    // job-long's release task keeps it terminating for a simulated second.
    let out = run(emu
        .azure_cli()
        .args(["job", "terminate", "job-long", "--force"]));
    out.success();
    assert!(
        out.stdout.starts_with("job-long: accepted"),
        "{}",
        out.stdout
    );
}

#[test]
fn terminate_with_a_stale_etag_fails_the_precondition() {
    let emu = TestEmulator::start();
    emu.seed_azure();
    let out = run(emu.azure_cli().args([
        "job",
        "terminate",
        "job-long",
        "--if-match",
        "\"0x8D0000000000000\"",
    ]));
    let line = out.one_error_line(1);
    assert!(line.contains("precondition failed"), "{line}");
    assert!(line.contains("request id"), "{line}");

    // The current ETag works.
    let v = run(emu
        .azure_cli()
        .args(["job", "status", "job-long", "--output", "json"]))
    .json();
    let etag = v["etag"].as_str().unwrap().to_string();
    let out = run(emu
        .azure_cli()
        .args(["job", "terminate", "job-long", "--if-match", &etag]));
    out.success();
}

#[test]
fn reactivate_a_failed_task_and_refuse_a_succeeded_one() {
    let emu = TestEmulator::start();
    emu.seed_azure();
    let out = run(emu
        .azure_cli()
        .args(["task", "reactivate", "job-fail", "bad"]));
    out.success();
    assert!(
        out.stdout.starts_with("job-fail/bad: reactivated"),
        "{}",
        out.stdout
    );
    let v = run(emu
        .azure_cli()
        .args(["task", "status", "job-fail", "bad", "--output", "json"]))
    .json();
    assert_ne!(v["state"], "failed", "{v}");

    let out = run(emu.azure_cli().args(["task", "reactivate", "job-ok", "ok"]));
    let line = out.one_error_line(1);
    assert!(line.contains("[TaskSucceeded]"), "{line}");
    assert!(line.contains("request id"), "{line}");
}

#[test]
fn retry_failed_reports_each_task() {
    let emu = TestEmulator::start();
    emu.seed_azure();
    let out = run(emu
        .azure_cli()
        .args(["job", "retry-failed", "job-fail", "--output", "json"]));
    let v = out.success().json();
    assert_eq!(v["job_id"], "job-fail");
    assert_eq!(v["retried"], serde_json::json!(["bad"]));
    assert_eq!(v["not_retried"], serde_json::json!([]));

    let out = run(emu.azure_cli().args(["job", "retry-failed", "job-ok"]));
    out.success();
    assert!(out.stdout.contains("no failed tasks"), "{}", out.stdout);
}

#[test]
fn prep_release_streams_entries() {
    let emu = TestEmulator::start();
    emu.seed_azure();
    let out = run(emu.azure_cli().args([
        "job",
        "prep-release",
        "job-long",
        "--max-results",
        "1",
        "--output",
        "json",
    ]));
    out.success();
    // JSON Lines: one document per node.
    let entries: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 1, "{}", out.stdout);
    assert_eq!(entries[0]["preparation"]["state"], "completed");
    assert!(entries[0]["node_id"].is_string());

    let out = run(emu.azure_cli().args(["job", "prep-release", "job-long"]));
    out.success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("NODE"), "{}", out.stdout);
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    // The whole node id, in a column as wide as it needs.
    let node = entries[0]["node_id"].as_str().unwrap();
    assert!(lines[1].starts_with(&format!("{node}  ")), "{}", out.stdout);
    assert_eq!(lines[0].find("POOL"), Some(node.len().max(4) + 2));

    // Azure refuses the listing for a job without a preparation task.
    let out = run(emu.azure_cli().args(["job", "prep-release", "job-ok"]));
    let line = out.one_error_line(1);
    assert!(line.contains("[JobPreparationTaskNotSpecified]"), "{line}");
}

#[test]
fn unknown_job_is_one_line_with_the_code() {
    let emu = TestEmulator::start();
    let out = run(emu.azure_cli().args(["job", "status", "no-such-job"]));
    let line = out.one_error_line(1);
    assert!(line.contains("[JobNotFound]"), "{line}");
    assert!(line.contains("request id"), "{line}");
    assert!(out.stdout.is_empty());

    let out = run(emu
        .azure_cli()
        .args(["--output", "json", "task", "status", "no-such-job", "t"]));
    let line = out.one_error_line(1);
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["error"]["kind"], "not_found");
    assert_eq!(v["error"]["backend"], "azure");
    assert!(v["error"]["request_id"].is_string());
}

#[test]
fn malformed_ids_are_usage_errors() {
    let emu = TestEmulator::start();
    for args in [
        &["job", "status", "bad id"][..],
        &["task", "status", "job-ok", "a/b"][..],
        &["job", "terminate", ""][..],
    ] {
        let out = run(emu.azure_cli().args(args));
        let line = out.one_error_line(2);
        assert!(line.contains("invalid"), "{line}");
    }
}

#[test]
fn verbose_logs_requests_but_never_the_key() {
    let emu = TestEmulator::start();
    emu.seed_azure();
    let out = run(emu
        .azure_cli()
        .args(["--verbose", "job", "status", "job-ok"]));
    out.success();
    assert!(!out.stderr.is_empty(), "--verbose logs something");
    assert!(!out.stderr.contains(DEFAULT_AZURE_KEY));
    assert!(!out.stdout.contains(DEFAULT_AZURE_KEY));
}

#[test]
fn entra_id_client_credentials_from_the_environment() {
    use polybatch_emulator::config::{
        DEFAULT_ENTRA_CLIENT_ID, DEFAULT_ENTRA_CLIENT_SECRET, DEFAULT_ENTRA_TENANT,
    };
    let emu = TestEmulator::start();
    emu.seed_azure();
    let out = run(emu
        .bare()
        .env("AZURE_BATCH_ENDPOINT", &emu.url)
        .env("AZURE_AUTHORITY_HOST", &emu.url)
        .env("AZURE_TENANT_ID", DEFAULT_ENTRA_TENANT)
        .env("AZURE_CLIENT_ID", DEFAULT_ENTRA_CLIENT_ID)
        .env("AZURE_CLIENT_SECRET", DEFAULT_ENTRA_CLIENT_SECRET)
        .args([
            "--verbose",
            "job",
            "--provider",
            "azure",
            "status",
            "job-ok",
        ]));
    out.success();
    assert!(out.stdout.contains("job-ok"), "{}", out.stdout);
    assert!(!out.stderr.contains(DEFAULT_ENTRA_CLIENT_SECRET));
}

/// A wait that fails (here the service refuses the status reads) still reports the terminate
/// it followed, with its request id, before the error.
#[test]
fn a_failed_wait_still_reports_the_terminate() {
    let emu = TestEmulator::start();
    emu.seed_azure();
    emu.running
        .as_ref()
        .unwrap()
        .emulator()
        .context()
        .faults
        .add(polybatch_emulator::FaultRule::new(
            polybatch_emulator::Provider::Azure,
            "Job_Get",
            100,
            polybatch_emulator::FaultKind::Error {
                status: 403,
                code: "AuthorizationFailure".into(),
                retry_after_secs: None,
            },
        ));
    let out = run(emu
        .azure_cli()
        .args(["job", "terminate", "job-ok", "--wait"]));
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stdout.starts_with("job-ok: accepted (request id "),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("AuthorizationFailure"),
        "{}",
        out.stderr
    );
}

/// `job wait` and `task wait` poll without changing anything, then show the status.
#[test]
fn job_and_task_wait_without_changing_anything() {
    let emu = TestEmulator::start();
    emu.seed_azure();
    // task `ok` has finished: the wait returns at once with its status.
    let v = run(emu
        .azure_cli()
        .args(["--output", "json", "task", "wait", "job-ok", "ok"]))
    .success()
    .json();
    assert_eq!(v["state"], "succeeded", "{v}");
    // An active job never ends by itself: the wait times out (exit 1) and terminated nothing.
    let out = run(emu.azure_cli().args([
        "job",
        "wait",
        "job-fail",
        "--wait-timeout",
        "0.5",
        "--poll-interval",
        "0.5",
    ]));
    let line = out.one_error_line(1);
    assert!(line.contains("timed out"), "{line}");
    let v = run(emu
        .azure_cli()
        .args(["--output", "json", "job", "status", "job-fail"]))
    .success()
    .json();
    assert_eq!(v["provider_state"], "active", "{v}");
    // Once terminated, the wait shows the completed job.
    run(emu.azure_cli().args(["job", "terminate", "job-ok"])).success();
    let v = run(emu
        .azure_cli()
        .args(["--output", "json", "job", "wait", "job-ok"]))
    .success()
    .json();
    assert_eq!(v["state"], "completed", "{v}");
}

/// `--force` on an api-version without it says which version has it.
#[test]
fn force_on_an_old_api_version_says_which_version_has_it() {
    let emu = TestEmulator::start();
    emu.seed_azure();
    let out = run(emu.azure_cli().args([
        "job",
        "terminate",
        "job-ok",
        "--force",
        "--api-version",
        "2023-11-01.18.0",
    ]));
    let line = out.one_error_line(2);
    assert!(
        line.contains("azure does not support --force on terminate_job"),
        "{line}"
    );
    assert!(line.contains("2024-07-01.20.0 or later"), "{line}");
    let out = run(emu.azure_cli().args([
        "task",
        "reactivate",
        "job-fail",
        "bad",
        "--if-match",
        "0x1",
        "--api-version",
        "2023-11-01.18.0",
    ]));
    // Conditional requests are supported on every version: this one reaches the service.
    assert_ne!(out.code, Some(2), "{}", out.stderr);
}
