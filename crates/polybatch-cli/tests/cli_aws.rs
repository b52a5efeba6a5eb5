//! `--provider aws`: the CLI builds the AWS backend from the SDK's own configuration
//! (`AWS_REGION`, the credential variables) plus its flags, and talks to the endpoint it is
//! given. A loopback server answers `DescribeJobs` as AWS Batch does; the full backend runs
//! against moto in `tests/tests/aws_moto.rs`.

mod common;

use std::sync::{Arc, Mutex};

use assert_cmd::Command;
use common::{BIN, run};

/// A loopback AWS Batch that knows one job, recording the paths it was asked.
fn fake_aws(runtime: &tokio::runtime::Runtime) -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, body: String| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(uri.path().to_string());
            let known = body.contains("\"job-known\"");
            let jobs = if known {
                serde_json::json!([{
                    "jobName": "render", "jobId": "job-known", "jobQueue": "q",
                    "status": "RUNNING", "createdAt": 1_700_000_000_000i64,
                    "startedAt": 1_700_000_001_000i64, "jobDefinition": "d", "dependsOn": [],
                    "tags": {"team": "vfx"}
                }])
            } else {
                serde_json::json!([])
            };
            (
                [("content-type", "application/json")],
                serde_json::json!({ "jobs": jobs }).to_string(),
            )
        }
    });
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

fn aws_cli(home: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("HOME", home)
        .env("POLYBATCH_PROVIDER", "aws")
        .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
        .env("AWS_SECRET_ACCESS_KEY", "secret-never-shown")
        .env("AWS_REGION", "us-east-1")
        // No metadata service probe from a test.
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

#[test]
fn job_status_through_the_aws_sdk() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (url, seen) = fake_aws(&runtime);
    let home = tempfile::tempdir().unwrap();
    let v = run(aws_cli(home.path()).args([
        "--output",
        "json",
        "job",
        "status",
        "job-known",
        "--endpoint",
        &url,
    ]))
    .success()
    .json();
    assert_eq!(v["state"], "running");
    assert_eq!(v["provider_state"], "RUNNING");
    assert_eq!(seen.lock().unwrap().as_slice(), ["/v1/describejobs"]);

    let out = run(aws_cli(home.path()).args(["job", "status", "job-missing", "--endpoint", &url]));
    let line = out.one_error_line(1).to_string();
    assert!(line.contains("job-missing"), "{line}");
    assert!(!out.stderr.contains("secret-never-shown"));

    // Flags of the other providers are refused, nothing sent.
    let before = seen.lock().unwrap().len();
    let out = run(aws_cli(home.path()).args([
        "job",
        "status",
        "job-known",
        "--endpoint",
        &url,
        "--secret-id",
        "AKIDx",
    ]));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert_eq!(seen.lock().unwrap().len(), before);
}
