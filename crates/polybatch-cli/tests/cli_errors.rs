//! Configuration and usage errors, and an unreachable service: exit codes and one-line
//! messages that name what to fix and never print a secret.

mod common;

use common::{BIN, TestEmulator, run};

#[test]
fn missing_azure_credentials_name_the_setting() {
    let emu = TestEmulator::start();
    let out = run(emu
        .bare()
        .args(["job", "--provider", "azure", "status", "j"]));
    let line = out.one_error_line(2);
    for part in [
        "--endpoint",
        "AZURE_BATCH_ENDPOINT",
        "AZURE_BATCH_ACCESS_KEY",
        "AZURE_CLIENT_SECRET",
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }

    let out = run(emu
        .bare()
        .env("AZURE_BATCH_ENDPOINT", &emu.url)
        .env("AZURE_BATCH_ACCOUNT", "devbatch")
        .args(["job", "--provider", "azure", "status", "j"]));
    let line = out.one_error_line(2);
    assert!(line.contains("AZURE_BATCH_ACCESS_KEY"), "{line}");
}

#[test]
fn missing_tencent_credentials_name_the_setting() {
    let emu = TestEmulator::start();
    let out = run(emu
        .bare()
        .env("POLYBATCH_PROVIDER", "tencent")
        .args(["job", "status", "j"]));
    let line = out.one_error_line(2);
    // Everything missing is reported at once, each with what can give it.
    for part in [
        "--secret-id",
        "TENCENTCLOUD_SECRET_ID",
        "TENCENTCLOUD_SECRET_KEY",
        "credentials file",
        "--region",
        "TENCENTCLOUD_REGION",
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }

    let out = run(emu
        .bare()
        .env("TENCENTCLOUD_SECRET_ID", "AKIDx")
        .env("TENCENTCLOUD_SECRET_KEY", "k")
        .args(["job", "--provider", "tencent", "status", "j"]));
    let line = out.one_error_line(2);
    assert!(line.contains("TENCENTCLOUD_REGION"), "{line}");
}

#[test]
fn a_secret_in_a_bad_setting_is_not_echoed() {
    let emu = TestEmulator::start();
    let key = "not*base64*secret-value";
    let out = run(emu
        .azure_cli()
        .env("AZURE_BATCH_ACCESS_KEY", key)
        .args(["job", "status", "j"]));
    let line = out.one_error_line(2);
    assert!(line.contains("AZURE_BATCH_ACCESS_KEY"), "{line}");
    assert!(!line.contains(key), "{line}");
}

#[test]
fn no_provider_and_bad_usage_exit_2() {
    let emu = TestEmulator::start();
    let out = run(emu.bare().args(["job", "status", "j"]));
    let line = out.one_error_line(2);
    assert!(line.contains("--provider"), "{line}");

    // clap's own usage errors.
    let out = run(emu.bare().args(["job", "frobnicate"]));
    assert_eq!(out.code, Some(2));
    let out = run(emu.bare().args(["job", "--provider", "aws", "status", "j"]));
    assert_eq!(out.code, Some(2));
    let out = run(emu.bare().args(["jobs", "terminate"]));
    assert_eq!(out.code, Some(2), "--ids-file is required");

    // Options the api-version cannot express fail before any request.
    let out = run(emu.azure_cli().args([
        "job",
        "--api-version",
        "2023-11-01.18.0",
        "terminate",
        "j",
        "--force",
    ]));
    let line = out.one_error_line(2);
    assert!(line.contains("force"), "{line}");
    let out = run(emu
        .azure_cli()
        .args(["job", "--api-version", "1999-01-01", "status", "j"]));
    out.one_error_line(2);
}

#[test]
fn unreachable_endpoint_is_one_line_exit_1() {
    let emu = TestEmulator::start();
    // A loopback port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let closed = format!("http://127.0.0.1:{port}");
    // One attempt: the default policy would retry the transport error with backoff first.
    let out = run(emu
        .azure_cli()
        .env("AZURE_BATCH_ENDPOINT", &closed)
        .env("POLYBATCH_MAX_ATTEMPTS", "1")
        .args(["job", "status", "j"]));
    let line = out.one_error_line(1);
    assert!(line.contains("transport error"), "{line}");

    let out = run(emu.tencent_cli().args([
        "job",
        "--endpoint",
        &closed,
        "--max-attempts",
        "1",
        "status",
        "job-1",
    ]));
    let line = out.one_error_line(1);
    assert!(line.contains("transport error"), "{line}");
}

#[test]
fn help_and_version_exit_0() {
    let out = run(assert_cmd::Command::new(BIN).arg("--help"));
    out.success();
    assert!(out.stdout.contains("Exit codes"), "{}", out.stdout);
    run(assert_cmd::Command::new(BIN).arg("--version")).success();
}

/// Values that cannot be meant are usage errors (exit 2), before any request.
#[test]
fn values_that_cannot_be_meant_are_usage_errors() {
    let emu = TestEmulator::start();
    for args in [
        &["job", "terminate", "j", "--reason", ""][..],
        &["job", "terminate", "j", "--if-match", ""],
        &["task", "reactivate", "j", "t", "--if-match", ""],
        &["job", "retry-failed", "j", "--concurrency", "0"],
        &["jobs", "terminate", "--ids-file", "-", "--reason", ""],
        // --poll-interval and --wait-timeout mean something only with --wait.
        &["job", "terminate", "j", "--poll-interval", "1"],
        &["job", "terminate", "j", "--wait-timeout", "10"],
        // A wait may not poll faster than twice a second.
        &["job", "terminate", "j", "--wait", "--poll-interval", "0"],
        &["job", "terminate", "j", "--wait", "--poll-interval", "0.1"],
        &["job", "status", "j", "--timeout", "0"],
        &["job", "status", "j", "--total-timeout", "soon"],
    ] {
        let out = run(emu.azure_cli().args(args));
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
    }
    assert_eq!(emu.requests(), 0, "nothing was sent");
}

/// A server that accepts and never answers fails the request within the timeouts, with a
/// timeout error, instead of hanging for the library's two minutes.
#[test]
fn a_server_that_never_answers_times_out() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // Accept and hold every connection, answering nothing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(32) {
            held.push(stream);
        }
    });
    let emu = TestEmulator::start();
    let out = run(emu.azure_cli().env("AZURE_BATCH_ENDPOINT", &url).args([
        "job",
        "status",
        "j",
        "--timeout",
        "0.3",
        "--total-timeout",
        "0.5",
    ]));
    let line = out.one_error_line(1);
    assert!(
        line.contains("timed out") || line.contains("timeout"),
        "{line}"
    );
}

/// With JSON output asked for, clap's usage errors are one JSON error too (exit 2); help
/// still prints as help.
#[test]
fn usage_errors_are_json_when_json_is_asked_for() {
    let emu = TestEmulator::start();
    for (args, env) in [
        (&["--output", "json", "job", "status"][..], None),
        (&["job", "statuss", "j", "--output=json"], None),
        (&["job", "status", "j", "--bogus"], Some("json")),
    ] {
        let mut cmd = emu.azure_cli();
        if let Some(v) = env {
            cmd.env("POLYBATCH_OUTPUT", v);
        }
        let out = run(cmd.args(args));
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        let v: serde_json::Value = serde_json::from_str(out.stderr.trim())
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", out.stderr));
        assert_eq!(v["error"]["kind"], "usage", "{v}");
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
    }
    let missing = run(emu.azure_cli().args(["--output", "json", "job", "status"]));
    assert!(missing.stderr.contains("<JOB>"), "{}", missing.stderr);
    // Table output keeps clap's own report; help is not an error.
    let out = run(emu.azure_cli().args(["job", "status"]));
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    let help = run(emu.azure_cli().args(["--output", "json", "job", "--help"]));
    assert_eq!(help.code, Some(0));
    assert!(help.stdout.contains("Usage"), "{}", help.stdout);
}

/// A bad value given as a flag is blamed on the flag; the same value from the environment is
/// blamed on the variable.
#[test]
fn a_bad_flag_is_blamed_on_the_flag_and_a_bad_variable_on_the_variable() {
    let emu = TestEmulator::start();
    let flag =
        run(emu
            .azure_cli()
            .args(["job", "status", "j", "--endpoint", "http://example.com"]));
    let line = flag.one_error_line(2);
    assert!(line.starts_with("error: --endpoint: plain http"), "{line}");
    assert!(!line.contains("AZURE_BATCH_ENDPOINT"), "{line}");
    let var = run(emu
        .azure_cli()
        .env("AZURE_BATCH_ENDPOINT", "http://example.com")
        .args(["job", "status", "j"]));
    let line = var.one_error_line(2);
    assert!(line.contains("AZURE_BATCH_ENDPOINT"), "{line}");
    let version = run(emu
        .azure_cli()
        .args(["job", "status", "j", "--api-version", "1999"]));
    let line = version.one_error_line(2);
    assert!(
        line.starts_with("error: --api-version: unsupported"),
        "{line}"
    );
    let tencent = run(emu.tencent_cli().args([
        "job",
        "status",
        "job-00000000",
        "--endpoint",
        "http://example.com",
    ]));
    let line = tencent.one_error_line(2);
    assert!(line.starts_with("error: --endpoint: "), "{line}");
}

#[test]
fn a_providers_own_endpoint_variable_wins_over_the_generic_one() {
    let emu = TestEmulator::start();
    // POLYBATCH_ENDPOINT left over from a Tencent session does not redirect Azure commands.
    let out = run(emu
        .azure_cli()
        .env(
            "POLYBATCH_ENDPOINT",
            "https://batch.tencentcloudapi.invalid",
        )
        .args(["job", "status", "nope"]));
    let line = out.one_error_line(1);
    assert!(
        line.contains("[JobNotFound]"),
        "reached the emulator: {line}"
    );

    // Without the provider's own variable, the generic one is used...
    let out = run(emu
        .azure_cli()
        .env_remove("AZURE_BATCH_ENDPOINT")
        .env("POLYBATCH_ENDPOINT", &emu.url)
        .args(["job", "status", "nope"]));
    let line = out.one_error_line(1);
    assert!(line.contains("[JobNotFound]"), "{line}");

    // ...and a bad value is blamed on it, not on a flag nobody passed.
    let out = run(emu
        .azure_cli()
        .env_remove("AZURE_BATCH_ENDPOINT")
        .env("POLYBATCH_ENDPOINT", "http://example.com")
        .args(["job", "status", "nope"]));
    let line = out.one_error_line(2);
    assert!(line.contains("POLYBATCH_ENDPOINT: plain http"), "{line}");
    assert!(!line.contains("--endpoint"), "{line}");

    // The flag beats both, and is blamed as the flag.
    let out = run(emu.azure_cli().env("POLYBATCH_ENDPOINT", &emu.url).args([
        "job",
        "status",
        "nope",
        "--endpoint",
        "http://example.com",
    ]));
    let line = out.one_error_line(2);
    assert!(line.contains("--endpoint: plain http"), "{line}");

    // Tencent has no variable of its own: an Azure endpoint does not concern it.
    let out = run(emu
        .tencent_cli()
        .env("AZURE_BATCH_ENDPOINT", "http://example.com")
        .args(["job", "status", "job-00000000"]));
    let line = out.one_error_line(1);
    assert!(line.contains("[ResourceNotFound.Job]"), "{line}");
    let out = run(emu
        .tencent_cli()
        .env("POLYBATCH_ENDPOINT", "http://example.com")
        .args(["job", "status", "job-00000000"]));
    let line = out.one_error_line(2);
    assert!(line.contains("POLYBATCH_ENDPOINT: plain http"), "{line}");
}
