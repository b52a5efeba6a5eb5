//! `polybatch jobs terminate`: good, malformed and unknown ids in one file; one bad id never
//! stops the rest, every id gets a line in the summary, and the exit code says whether any
//! failed.

mod common;

use std::io::Write;

use common::{TestEmulator, run};

const IDS: &str =
    "# jobs to stop\njob-ok\n\njob-long   # the long one\nbad id\nno-such-job\njob-fail\n";

fn ids_file(emu: &TestEmulator, text: &str) -> std::path::PathBuf {
    let path = emu.home.path().join("ids.txt");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    path
}

#[test]
fn mixed_ids_summary_per_id_and_exit_1() {
    let emu = TestEmulator::start();
    emu.seed_azure();
    let path = ids_file(&emu, IDS);
    let out = run(emu
        .azure_cli()
        .args([
            "--output",
            "json",
            "jobs",
            "terminate",
            "--concurrency",
            "2",
            "--ids-file",
        ])
        .arg(&path));
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["total"], 5);
    assert_eq!(v["failed"], 2);
    let results = v["results"].as_array().unwrap();
    let by_id = |id: &str| results.iter().find(|r| r["job_id"] == id).unwrap().clone();
    // Input order is kept.
    let order: Vec<&str> = results
        .iter()
        .map(|r| r["job_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        ["job-ok", "job-long", "bad id", "no-such-job", "job-fail"]
    );
    assert_eq!(by_id("job-ok")["disposition"], "accepted");
    assert_eq!(by_id("job-long")["disposition"], "accepted");
    assert_eq!(by_id("job-fail")["disposition"], "accepted");
    assert_eq!(by_id("bad id")["ok"], false);
    assert_eq!(by_id("bad id")["error"]["kind"], "invalid_input");
    assert_eq!(by_id("no-such-job")["error"]["kind"], "not_found");
    assert_eq!(by_id("no-such-job")["error"]["code"], "JobNotFound");

    // Not a terminal: plain progress lines on stderr, one per id, then the one error line.
    let progress: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(progress.len(), 5, "{}", out.stderr);
    assert!(
        out.stderr.lines().last().unwrap().contains("2 of 5"),
        "{}",
        out.stderr
    );
}

#[test]
fn table_summary_from_stdin_and_all_good_exits_0() {
    let emu = TestEmulator::start();
    emu.seed_azure();
    let out = run(emu
        .azure_cli()
        .args(["jobs", "terminate", "--ids-file", "-"])
        .write_stdin("job-ok\njob-fail\n"));
    out.success();
    assert!(out.stdout.contains("job-ok"), "{}", out.stdout);
    assert!(out.stdout.contains("job-fail"), "{}", out.stdout);
    assert!(
        out.stdout.contains("2 job(s): 2 ok, 0 failed"),
        "{}",
        out.stdout
    );

    // Terminating again once they finished: already completed is still success.
    emu.advance(2);
    let out = run(emu
        .azure_cli()
        .args(["jobs", "terminate", "--ids-file", "-"])
        .write_stdin("job-ok\n"));
    out.success();
    assert!(out.stdout.contains("already_completed"), "{}", out.stdout);
}

#[test]
fn tencent_bulk_terminate_goes_through_the_rate_limited_client() {
    let emu = TestEmulator::start();
    let [ok, _bad, long] = emu.seed_tencent();
    let path = ids_file(&emu, &format!("{ok}\n{long}\njob-00000000\n"));
    let out = run(emu
        .tencent_cli()
        .args(["--output", "json", "jobs", "terminate", "--ids-file"])
        .arg(&path));
    assert_eq!(out.code, Some(1));
    let v = out.json();
    assert_eq!(v["results"][0]["disposition"], "already_completed");
    assert_eq!(v["results"][1]["disposition"], "accepted");
    assert_eq!(v["results"][2]["error"]["code"], "ResourceNotFound.Job");
}

#[test]
fn unreadable_ids_file_and_unsupported_option_are_usage_errors() {
    let emu = TestEmulator::start();
    let out = run(emu
        .azure_cli()
        .args(["jobs", "terminate", "--ids-file", "/nonexistent/ids"]));
    let line = out.one_error_line(2);
    assert!(line.contains("/nonexistent/ids"), "{line}");

    let path = ids_file(&emu, "job-1\n");
    let out = run(emu
        .tencent_cli()
        .args(["jobs", "terminate", "--reason", "x", "--ids-file"])
        .arg(&path));
    out.one_error_line(2);
}

#[test]
fn ids_as_arguments_and_repeats_are_terminated_once() {
    let emu = TestEmulator::start();
    emu.seed_azure();
    // Azure job ids are case-insensitive: `JOB-OK` is `job-ok`.
    let path = ids_file(&emu, "job-long\nJOB-OK\njob-long\n");
    let out = run(emu
        .azure_cli()
        .args([
            "--output",
            "json",
            "jobs",
            "terminate",
            "job-ok",
            "--ids-file",
        ])
        .arg(&path));
    out.success();
    let v = out.json();
    let order: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["job_id"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["job-ok", "job-long"], "{v}");
    assert_eq!(v["duplicates_skipped"], 2);
    assert_eq!(v["failed"], 0);
    // Each job got exactly one terminate request.
    let stats = emu.stats();
    assert_eq!(
        stats.requests.get("azure:Job_Terminate"),
        Some(&2),
        "{stats:?}"
    );

    // Neither ids nor a file: a usage error, before any request.
    let out = run(emu.azure_cli().args(["jobs", "terminate"]));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("--ids-file"), "{}", out.stderr);
}
