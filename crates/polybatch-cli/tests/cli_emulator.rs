//! `polybatch emulator`: starts, prints where and with what to connect, answers the admin API,
//! and stops cleanly on SIGINT.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_polybatch");

/// Starts the emulator on a free loopback port; returns the child and its URL (read from the
/// first banner line) and the rest of the banner.
fn start(extra_env: &[(&str, &str)]) -> (Child, String, String) {
    start_with(&["--listen", "127.0.0.1:0"], extra_env)
}

/// [`start`] with these `polybatch emulator` arguments.
fn start_with(args: &[&str], extra_env: &[(&str, &str)]) -> (Child, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.arg("emulator")
        .args(args)
        .env_remove("POLYBATCH_EMULATOR_ADMIN_TOKEN")
        .env_remove("POLYBATCH_EMULATOR_ALLOW_REMOTE")
        .env_remove("POLYBATCH_EMULATOR_NO_RATE_LIMITS")
        .env_remove("RUST_LOG")
        .env_remove("POLYBATCH_EMULATOR_AZURE_KEY")
        .env_remove("POLYBATCH_EMULATOR_TENCENT_SECRET_KEY")
        .env_remove("POLYBATCH_EMULATOR_AWS_ACCESS_KEY_ID")
        .env_remove("POLYBATCH_EMULATOR_AWS_SECRET_ACCESS_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "banner ended early"
        );
        banner.push_str(&line);
        if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    let first = banner.lines().next().unwrap();
    let url = first
        .strip_prefix("polybatch emulator listening on ")
        .unwrap()
        .to_string();
    (child, url, banner)
}

/// The environment `sh` has after running `line`, starting from `before`.
fn shell_env(line: &str, before: &[(&str, &str)]) -> std::collections::HashMap<String, String> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(format!("{line}\nenv")).env_clear();
    for (k, v) in before {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{line}: {out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_with_deadline(child: &mut Child, deadline: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            panic!("emulator did not stop within {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn serves_health_and_stops_on_sigint() {
    let (mut child, url, banner) = start(&[]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    // The published development credentials are printed for copy and paste.
    // Each settings line is a shell command that sets exactly what its client needs.
    let lines: Vec<&str> = banner.lines().filter(|l| l.starts_with("unset ")).collect();
    assert_eq!(lines.len(), 4, "{banner}");
    let shared_key = shell_env(lines[0], &[("AZURE_CLIENT_SECRET", "stale")]);
    assert_eq!(shared_key["POLYBATCH_PROVIDER"], "azure");
    assert_eq!(shared_key["AZURE_BATCH_ENDPOINT"], url);
    assert_eq!(
        shared_key["AZURE_BATCH_ACCOUNT"],
        polybatch_emulator::config::DEFAULT_AZURE_ACCOUNT
    );
    assert_eq!(
        shared_key["AZURE_BATCH_ACCESS_KEY"],
        polybatch_emulator::config::DEFAULT_AZURE_KEY
    );
    assert!(!shared_key.contains_key("AZURE_CLIENT_SECRET"));
    let entra = shell_env(lines[1], &[("AZURE_BATCH_ACCESS_KEY", "stale")]);
    assert_eq!(entra["AZURE_AUTHORITY_HOST"], url);
    assert!(entra.contains_key("AZURE_CLIENT_SECRET"));
    assert!(!entra.contains_key("AZURE_BATCH_ACCESS_KEY"));
    let tencent = shell_env(lines[2], &[]);
    assert_eq!(tencent["POLYBATCH_PROVIDER"], "tencent");
    assert_eq!(tencent["POLYBATCH_ENDPOINT"], url);
    assert_eq!(
        tencent["TENCENTCLOUD_SECRET_KEY"],
        polybatch_emulator::config::DEFAULT_TENCENT_SECRET_KEY
    );
    // AWS: the SDK's own variables; what would override them (a generic endpoint, a session
    // token, a profile, a Batch-only endpoint) is unset.
    let aws = shell_env(
        lines[3],
        &[
            ("POLYBATCH_ENDPOINT", "http://stale"),
            ("AWS_SESSION_TOKEN", "stale"),
            ("AWS_PROFILE", "stale"),
            ("AWS_ENDPOINT_URL_BATCH", "http://stale"),
        ],
    );
    assert_eq!(aws["POLYBATCH_PROVIDER"], "aws");
    assert_eq!(aws["AWS_ENDPOINT_URL"], url);
    assert_eq!(
        aws["AWS_ACCESS_KEY_ID"],
        polybatch_emulator::config::DEFAULT_AWS_ACCESS_KEY_ID
    );
    assert_eq!(
        aws["AWS_SECRET_ACCESS_KEY"],
        polybatch_emulator::config::DEFAULT_AWS_SECRET_ACCESS_KEY
    );
    assert_eq!(
        aws["AWS_REGION"],
        polybatch_emulator::config::DEFAULT_AWS_REGION
    );
    assert_eq!(
        aws["POLYBATCH_AWS_JOB_QUEUES"],
        polybatch_emulator::aws::SEEDED_QUEUE
    );
    for gone in [
        "POLYBATCH_ENDPOINT",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL_BATCH",
    ] {
        assert!(!aws.contains_key(gone), "{gone}: {}", lines[3]);
    }

    let health: serde_json::Value = reqwest::get(format!("{url}/_polybatch/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");

    interrupt(&child);
    let status = wait_with_deadline(&mut child, Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("stopped"), "{stderr}");
}

#[test]
fn the_aws_line_configures_the_cli() {
    let (mut child, _url, banner) = start(&[]);
    let line = banner
        .lines()
        .find(|l| l.starts_with("unset ") && l.contains("POLYBATCH_PROVIDER='aws'"))
        .unwrap_or_else(|| panic!("no AWS line in {banner}"))
        .to_string();
    let home = tempfile::tempdir().unwrap();
    let spec = home.path().join("job.json");
    std::fs::write(
        &spec,
        serde_json::json!({
            "name": "from-the-banner",
            "placement": {
                "kind": "aws_job_queue",
                "job_queue": polybatch_emulator::aws::SEEDED_QUEUE,
                "job_definition": polybatch_emulator::aws::SEEDED_JOB_DEFINITION,
            },
            "tasks": [{"name": "hello", "command": {"shell": "echo hello"}}],
        })
        .to_string(),
    )
    .unwrap();
    // Nothing but the pasted line: the AWS SDK reads its own variables, `jobs list` the queue.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{line}\n\"$BIN\" --output json job submit --spec \"$SPEC\" && \
             exec \"$BIN\" --output json jobs list"
        ))
        .env_clear()
        .env("BIN", BIN)
        .env("SPEC", &spec)
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    interrupt(&child);
    wait_with_deadline(&mut child, Duration::from_secs(10));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{line}\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        2,
        "the submit, then the one job listed: {stdout}"
    );
    assert_eq!(lines[0]["created"], true, "{stdout}");
    assert_eq!(lines[1]["job_id"], lines[0]["job"], "{stdout}");
}

#[test]
fn configured_secrets_are_not_printed() {
    // base64 of "a-configured-azure-key-0123456789".
    let azure_key = "YS1jb25maWd1cmVkLWF6dXJlLWtleS0wMTIzNDU2Nzg5";
    let tencent_key = "a-configured-tencent-key";
    let aws_key = "a-configured-aws-secret-access-key";
    let (mut child, _url, banner) = start(&[
        ("POLYBATCH_EMULATOR_AZURE_KEY", azure_key),
        ("POLYBATCH_EMULATOR_TENCENT_SECRET_KEY", tencent_key),
        ("POLYBATCH_EMULATOR_AZURE_ACCOUNT", "myaccount"),
        (
            "POLYBATCH_EMULATOR_AWS_ACCESS_KEY_ID",
            "AKIACONFIGURED000000",
        ),
        ("POLYBATCH_EMULATOR_AWS_SECRET_ACCESS_KEY", aws_key),
    ]);
    interrupt(&child);
    wait_with_deadline(&mut child, Duration::from_secs(10));
    assert!(!banner.contains(azure_key), "{banner}");
    assert!(!banner.contains(tencent_key), "{banner}");
    assert!(!banner.contains(aws_key), "{banner}");
    assert!(banner.contains("AZURE_BATCH_ACCESS_KEY=<as configured>"));
    assert!(banner.contains("TENCENTCLOUD_SECRET_KEY=<as configured>"));
    assert!(banner.contains("AWS_SECRET_ACCESS_KEY=<as configured>"));
    // The access key id is not a secret: it is printed as configured.
    let aws_line = banner
        .lines()
        .find(|l| l.contains("POLYBATCH_PROVIDER='aws'"))
        .unwrap();
    let env = shell_env(aws_line, &[]);
    assert_eq!(env["AWS_ACCESS_KEY_ID"], "AKIACONFIGURED000000");
    assert!(!env.contains_key("AWS_SECRET_ACCESS_KEY"), "{aws_line}");
    let shared_key = banner.lines().find(|l| l.starts_with("unset ")).unwrap();
    let env = shell_env(shared_key, &[]);
    assert_eq!(env["AZURE_BATCH_ACCOUNT"], "myaccount");
    // The placeholder is a comment, never a value a paste would set.
    assert!(!env.contains_key("AZURE_BATCH_ACCESS_KEY"), "{shared_key}");
}

#[test]
fn the_operator_commands_environment_does_not_concern_the_emulator() {
    // Values no operator command would take: the emulator does not read them at all.
    let (mut child, url, _banner) = start(&[
        ("POLYBATCH_PROVIDER", "aws"),
        ("POLYBATCH_MAX_ATTEMPTS", "0"),
        ("POLYBATCH_ENDPOINT", "not a url"),
    ]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    interrupt(&child);
    let status = wait_with_deadline(&mut child, Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
}

#[test]
fn bad_settings_are_usage_errors() {
    let out = Command::new(BIN)
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--azure-key",
            "not base64!",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("base64"));
    assert!(
        !stderr.contains("not base64!"),
        "the rejected key is not echoed"
    );

    for (args, blamed) in [
        (&["--listen", "not-an-address"][..], "--listen"),
        (
            &["--listen", "127.0.0.1:0", "--nodes-per-pool", "100000000"],
            "--nodes-per-pool",
        ),
        (
            &["--listen", "127.0.0.1:0", "--nodes-per-pool", "0"],
            "--nodes-per-pool",
        ),
        // Reachable from other hosts without saying so.
        (&["--listen", "0.0.0.0:0"], "--allow-remote"),
        (
            &["--listen", "127.0.0.1:0", "--admin-token", ""],
            "--admin-token",
        ),
        (
            &["--listen", "127.0.0.1:0", "--aws-access-key-id", ""],
            "--aws-access-key-id",
        ),
        (
            &["--listen", "127.0.0.1:0", "--aws-secret-access-key", ""],
            "--aws-secret-access-key",
        ),
    ] {
        let out = Command::new(BIN)
            .arg("emulator")
            .args(args)
            .env_remove("POLYBATCH_EMULATOR_ALLOW_REMOTE")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(blamed), "{args:?}: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "{args:?}: no banner for a refused start"
        );
    }
}

#[test]
fn boolean_variables_take_the_usual_spellings() {
    for (value, limits) in [
        ("1", "off"),
        ("yes", "off"),
        ("true", "off"),
        ("0", "enforced"),
        ("no", "enforced"),
        ("false", "enforced"),
    ] {
        let (mut child, _url, banner) = start(&[("POLYBATCH_EMULATOR_NO_RATE_LIMITS", value)]);
        interrupt(&child);
        wait_with_deadline(&mut child, Duration::from_secs(10));
        assert!(
            banner.contains(&format!("Tencent rate limits: {limits}")),
            "{value}: {banner}"
        );
    }
    let out = Command::new(BIN)
        .args(["emulator", "--listen", "127.0.0.1:0"])
        .env("POLYBATCH_EMULATOR_NO_RATE_LIMITS", "maybe")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_short_listen_address_is_loopback() {
    let (mut child, url, banner) = start_with(&["--listen", ":0"], &[]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    // Loopback: the admin API is open, and no token is printed.
    assert!(!banner.contains("Bearer"), "{banner}");
    let status = reqwest::get(format!("{url}/_polybatch/state"))
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 200);
    interrupt(&child);
    wait_with_deadline(&mut child, Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_remote_listener_guards_the_admin_api_with_the_printed_token() {
    let (mut child, url, banner) = start_with(&["--listen", "0.0.0.0:0", "--allow-remote"], &[]);
    let token = banner
        .split("Authorization: Bearer ")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("no token in {banner}"))
        .to_string();
    assert_eq!(token.len(), 32, "{token}");
    assert_eq!(admin_state(&url, None).await, 401);
    assert_eq!(admin_state(&url, Some(&token)).await, 200);
    interrupt(&child);
    wait_with_deadline(&mut child, Duration::from_secs(10));

    // A token the operator chose is required but not printed.
    let (mut child, url, banner) = start_with(
        &["--listen", "0.0.0.0:0", "--allow-remote"],
        &[("POLYBATCH_EMULATOR_ADMIN_TOKEN", "operator-chosen-token")],
    );
    assert!(!banner.contains("operator-chosen-token"), "{banner}");
    assert!(banner.contains("Bearer <as configured>"), "{banner}");
    assert_eq!(admin_state(&url, Some("operator-chosen-token")).await, 200);
    interrupt(&child);
    wait_with_deadline(&mut child, Duration::from_secs(10));
}

/// The status of `GET /_polybatch/state` over loopback on the port of `url`, with a token.
async fn admin_state(url: &str, token: Option<&str>) -> u16 {
    let port = url.rsplit(':').next().unwrap();
    let mut request =
        reqwest::Client::new().get(format!("http://127.0.0.1:{port}/_polybatch/state"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().status().as_u16()
}

/// Stops the emulator and returns what it wrote on stderr.
fn stop_and_read_stderr(mut child: Child) -> String {
    interrupt(&child);
    wait_with_deadline(&mut child, Duration::from_secs(10));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn verbose_logs_each_request_served_and_its_outcome() {
    let (child, url, _banner) = start_with(&["--listen", "127.0.0.1:0", "-v"], &[]);
    let azure = reqwest::Client::new()
        .get(format!("{url}/jobs/some-job?api-version=2024-07-01.20.0"))
        .header("authorization", "SharedKey devbatch:bm90LWEtc2lnbmF0dXJl")
        .send()
        .await
        .unwrap();
    let azure_id = azure.headers()["request-id"].to_str().unwrap().to_string();
    let tencent: serde_json::Value = reqwest::Client::new()
        .post(format!("{url}/"))
        .header("x-tc-action", "DescribeJob")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tencent_id = tencent["Response"]["RequestId"]
        .as_str()
        .unwrap()
        .to_string();
    let stderr = stop_and_read_stderr(child);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("served")).collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    for (line, expected) in lines.iter().zip([
        [
            "provider=\"azure\"",
            "GET /jobs/some-job",
            "Job_Get",
            "status=403",
            &azure_id,
            "outcome=\"AuthenticationFailed\"",
        ],
        [
            "provider=\"tencent\"",
            "POST /",
            "DescribeJob",
            "status=200",
            &tencent_id,
            "outcome=\"AuthFailure",
        ],
    ]) {
        for part in expected {
            assert!(line.contains(part), "{part} in {line}");
        }
    }
    // The presented signature is never logged.
    assert!(!stderr.contains("bm90LWEtc2lnbmF0dXJl"), "{stderr}");

    // Without -v (and without RUST_LOG) nothing is logged per request.
    let (child, url, _banner) = start(&[]);
    reqwest::get(format!("{url}/jobs/x?api-version=2024-07-01.20.0"))
        .await
        .unwrap();
    let stderr = stop_and_read_stderr(child);
    assert!(!stderr.contains("served"), "{stderr}");
}
