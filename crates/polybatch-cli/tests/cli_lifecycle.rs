//! The lifecycle commands against the emulator, on both providers: `job submit --spec`
//! (JSON and TOML, safe to repeat), `jobs list` by label, `jobs status` in bulk, and
//! `job delete` (idempotent).

mod common;

use common::{TestEmulator, run};

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const AZURE_TOML: &str = r#"
name = "nightly-render"
labels = { team = "render", run = "cli-test" }

[placement]
kind = "azure_pool"
pool_id = "pool-1"

[[tasks]]
name = "frame-1"
command = { shell = "echo one" }
env = { POLYBATCH_RUN_SECONDS = "1" }

[[tasks]]
name = "frame-2"
command = { argv = ["echo", "two words"] }
depends_on = ["frame-1"]
env = { POLYBATCH_RUN_SECONDS = "1" }
"#;

#[test]
fn azure_submit_list_status_delete() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let spec = write(&dir, "job.toml", AZURE_TOML);
    let submit = |key: &str| {
        run(emu.azure_cli().args([
            "--output",
            "json",
            "job",
            "submit",
            "--spec",
            spec.to_str().unwrap(),
            "--idempotency-key",
            key,
        ]))
    };
    let first = submit("cli-key-1");
    let first = first.success().json();
    assert_eq!(first["created"], true, "{first}");
    let job = first["job"].as_str().unwrap().to_string();
    // Repeating the command finds the job it made.
    let again = submit("cli-key-1");
    let again = again.success().json();
    assert_eq!(
        (again["job"].as_str(), again["created"].as_bool()),
        (Some(job.as_str()), Some(false))
    );

    let listed = run(emu.azure_cli().args([
        "--output",
        "json",
        "jobs",
        "list",
        "--label",
        "run=cli-test",
        "--label",
        "team=render",
    ]));
    let lines: Vec<serde_json::Value> = listed
        .success()
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{}", listed.stdout);
    assert_eq!(lines[0]["job_id"], job.as_str());
    assert_eq!(lines[0]["labels"]["team"], "render");
    assert_eq!(lines[0]["name"], "nightly-render");
    let none = run(emu
        .azure_cli()
        .args(["jobs", "list", "--label", "run=other"]));
    assert!(
        none.success().stdout.contains("no job matches"),
        "{}",
        none.stdout
    );
    let table = run(emu
        .azure_cli()
        .args(["jobs", "list", "--label", "run=cli-test"]));
    let out = &table.success().stdout;
    assert!(
        out.starts_with("JOB") && out.contains(&job) && out.contains("team=render"),
        "{out}"
    );

    // Bulk status answers every id, and says which one is missing (exit 1).
    let status = run(emu
        .azure_cli()
        .args(["jobs", "status", job.as_str(), "job-missing"]));
    assert_eq!(status.code, Some(1), "{}", status.stderr);
    assert!(status.stdout.contains(&job), "{}", status.stdout);
    assert!(
        status.stderr.contains("job-missing") && status.stderr.contains("not found"),
        "{}",
        status.stderr
    );

    let deleted = run(emu.azure_cli().args(["job", "delete", job.as_str()]));
    assert!(
        deleted
            .success()
            .stdout
            .contains(&format!("{job}: accepted")),
        "{}",
        deleted.stdout
    );
    emu.advance(60);
    let again = run(emu.azure_cli().args(["job", "delete", job.as_str()]));
    assert!(
        again.success().stdout.contains("already_gone"),
        "{}",
        again.stdout
    );
}

#[test]
fn tencent_submit_from_json_and_bulk_status() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let spec = serde_json::json!({
        "name": "cli-json",
        "labels": {"run": "cli-json"},
        "placement": {"kind": "tencent_managed", "zone": "ap-guangzhou-3",
                      "instance_type": "S5.MEDIUM2", "image_id": "img-polybatch"},
        "tasks": [{"name": "only", "command": {"shell": "true"}, "instance_count": 2}],
    });
    let path = write(&dir, "job.json", &spec.to_string());
    let out = run(emu
        .tencent_cli()
        .args(["job", "submit", "--spec", path.to_str().unwrap()]));
    let line = out.success().stdout.trim().to_string();
    assert!(line.contains(": submitted (idempotency key "), "{line}");
    let job = line.split(':').next().unwrap().to_string();
    let before = emu
        .stats()
        .requests
        .get("tencent:DescribeJobs")
        .copied()
        .unwrap_or(0);
    let status = run(emu
        .tencent_cli()
        .args(["--output", "json", "jobs", "status", job.as_str()]));
    let v = status.success().json();
    assert_eq!(v["job_id"], job.as_str());
    assert_eq!(v["labels"]["run"], "cli-json");
    let after = emu
        .stats()
        .requests
        .get("tencent:DescribeJobs")
        .copied()
        .unwrap_or(0);
    assert_eq!(after, before + 1, "one DescribeJobs for the bulk read");
}

#[test]
fn bad_specs_and_flags_are_usage_errors() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let bad = write(&dir, "bad.toml", "name = \"x\"\ncolour = \"blue\"\n");
    let out = run(emu
        .azure_cli()
        .args(["job", "submit", "--spec", bad.to_str().unwrap()]));
    let line = out.one_error_line(2);
    assert!(line.contains("not a job spec"), "{line}");
    // A field Azure cannot carry is refused before any request, naming it.
    let gpu = AZURE_TOML.replace(
        "depends_on = [\"frame-1\"]",
        "depends_on = [\"frame-1\"]\nresources = { gpus = 1 }",
    );
    let gpu = write(&dir, "gpu.toml", &gpu);
    let before = emu.requests();
    let out = run(emu
        .azure_cli()
        .args(["job", "submit", "--spec", gpu.to_str().unwrap()]));
    assert_ne!(out.code, Some(0));
    assert!(
        out.stderr.contains("tasks[].resources.gpus"),
        "{}",
        out.stderr
    );
    assert_eq!(emu.requests(), before, "nothing was sent");
    let out = run(emu.azure_cli().args(["jobs", "list", "--label", "novalue"]));
    assert!(out.one_error_line(2).contains("KEY=VALUE"));
    let out = run(emu
        .azure_cli()
        .args(["jobs", "list", "--state", "sleeping"]));
    assert!(out.one_error_line(2).contains("not a job state"));
}

const MAP: &str = r#"
[[placements]]
from = { kind = "azure_pool", pool_id = "pool-1" }
to = { kind = "tencent_managed", zone = "ap-guangzhou-3", instance_type = "S5.MEDIUM2", image_id = "img-polybatch" }
"#;

#[test]
fn migrate_azure_to_tencent_then_stop_the_source() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let spec = write(&dir, "job.toml", AZURE_TOML);
    let map = write(&dir, "map.toml", MAP);
    let submitted = run(emu.azure_cli().args([
        "--output",
        "json",
        "job",
        "submit",
        "--spec",
        spec.to_str().unwrap(),
        "--idempotency-key",
        "migrate-me",
    ]));
    let source = submitted.success().json()["job"]
        .as_str()
        .unwrap()
        .to_string();
    let migrate = |extra: &[&str]| {
        let mut cmd = emu.both_cli();
        cmd.args([
            "--output",
            "json",
            "migrate",
            source.as_str(),
            "--from",
            "azure",
            "--to",
            "tencent",
            "--placement-map",
            map.to_str().unwrap(),
        ]);
        cmd.args(extra);
        run(&mut cmd)
    };
    let before = emu
        .stats()
        .requests
        .get("tencent:SubmitJob")
        .copied()
        .unwrap_or(0);
    let dry = migrate(&["--dry-run"]);
    let plan = dry.success().json();
    assert_eq!(plan["ready"], true, "{plan}");
    assert_eq!(plan["spec"]["placement"]["kind"], "tencent_managed");
    // An argv travels as its shell line; the key travels too.
    assert_eq!(plan["spec"]["idempotency_key"], "migrate-me");
    assert_eq!(
        emu.stats()
            .requests
            .get("tencent:SubmitJob")
            .copied()
            .unwrap_or(0),
        before,
        "dry run sent nothing"
    );

    let done = migrate(&["--terminate-source"]);
    let report = done.success().json();
    assert_eq!(report["target"]["created"], true, "{report}");
    assert_eq!(report["source_terminated"], "accepted");
    let target = report["target"]["job_id"].as_str().unwrap().to_string();
    let status =
        run(emu
            .tencent_cli()
            .args(["--output", "json", "job", "status", target.as_str()]));
    let status = status.success().json();
    assert_eq!(status["labels"]["team"], "render");
    assert_eq!(status["name"], "nightly-render");
    let source_status =
        run(emu
            .azure_cli()
            .args(["--output", "json", "job", "status", source.as_str()]));
    let state = source_status.success().json()["state"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(state == "terminating" || state == "completed", "{state}");

    // Again: the same key finds the job it made; nothing is submitted twice.
    let again = migrate(&[]);
    let again = again.success().json();
    assert_eq!(
        (
            again["target"]["job_id"].as_str(),
            again["target"]["created"].as_bool()
        ),
        (Some(target.as_str()), Some(false))
    );
}

#[test]
fn migrate_stops_on_what_cannot_travel_and_names_it() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    // Tencent → Azure: three instances of a task have no Azure form.
    let spec = serde_json::json!({
        "name": "fanout",
        "placement": {"kind": "tencent_managed", "zone": "ap-guangzhou-3",
                      "instance_type": "S5.MEDIUM2", "image_id": "img-polybatch"},
        "tasks": [{"name": "work", "command": {"shell": "true"}, "instance_count": 3}],
    });
    let spec = write(&dir, "job.json", &spec.to_string());
    let out = run(emu.tencent_cli().args([
        "--output",
        "json",
        "job",
        "submit",
        "--spec",
        spec.to_str().unwrap(),
    ]));
    let job = out.success().json()["job"].as_str().unwrap().to_string();
    let map = write(&dir, "map.json", &serde_json::json!({"placements": [{
        "from": {"kind": "tencent_managed", "zone": "ap-guangzhou-3", "instance_type": "S5.MEDIUM2", "image_id": "img-polybatch"},
        "to": {"kind": "azure_pool", "pool_id": "pool-1"}}]}).to_string());
    let before = emu
        .stats()
        .requests
        .get("azure:Job_Add")
        .copied()
        .unwrap_or(0);
    let out = run(emu.both_cli().args([
        "migrate",
        job.as_str(),
        "--from",
        "tencent",
        "--to",
        "azure",
        "--placement-map",
        map.to_str().unwrap(),
        "--drop-unportable",
    ]));
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("tasks[].instance_count"),
        "{}",
        out.stderr
    );
    assert_eq!(
        emu.stats()
            .requests
            .get("azure:Job_Add")
            .copied()
            .unwrap_or(0),
        before
    );
}

#[test]
fn cleanup_terminates_and_deletes_by_label() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let spec = serde_json::json!({
        "name": "sweep",
        "labels": {"owner": "ci-run-7"},
        "placement": {"kind": "tencent_managed", "zone": "ap-guangzhou-3",
                      "instance_type": "S5.MEDIUM2", "image_id": "img-polybatch"},
        "tasks": [{"name": "long", "command": {"shell": "sleep 1000"},
                   "env": {"POLYBATCH_RUN_SECONDS": "100000"}}],
    });
    let path = write(&dir, "job.json", &spec.to_string());
    let mut jobs = Vec::new();
    for key in ["sweep-1", "sweep-2"] {
        let out = run(emu.tencent_cli().args([
            "--output",
            "json",
            "job",
            "submit",
            "--spec",
            path.to_str().unwrap(),
            "--idempotency-key",
            key,
        ]));
        jobs.push(out.success().json()["job"].as_str().unwrap().to_string());
    }
    emu.advance(5);
    let dry =
        run(emu
            .tencent_cli()
            .args(["jobs", "cleanup", "--label", "owner=ci-run-7", "--dry-run"]));
    assert!(
        dry.success()
            .stdout
            .contains("2 job(s) match; nothing changed"),
        "{}",
        dry.stdout
    );
    // The emulator's clock is moved by hand: terminations finish once it is advanced, so
    // advance it in the background while cleanup waits.
    let ctx = emu.running.as_ref().unwrap().emulator().context().clone();
    let ticker = std::thread::spawn(move || {
        for _ in 0..40 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            ctx.sim_clock.advance(std::time::Duration::from_secs(5));
        }
    });
    let out = run(emu.tencent_cli().args([
        "jobs",
        "cleanup",
        "--label",
        "owner=ci-run-7",
        "--wait-timeout",
        "30",
    ]));
    ticker.join().unwrap();
    let text = &out.success().stdout;
    assert!(text.contains("2 job(s) deleted, 0 failed"), "{text}");
    for job in &jobs {
        let gone = run(emu.tencent_cli().args(["job", "status", job.as_str()]));
        assert_eq!(gone.code, Some(1), "{}", gone.stdout);
    }
    let out = run(emu.tencent_cli().args(["jobs", "cleanup"]));
    assert_eq!(out.code, Some(2), "a cleanup without a label is refused");
}

#[test]
fn task_logs_print_what_the_task_wrote() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let spec = serde_json::json!({
        "name": "talker",
        "placement": {"kind": "azure_pool", "pool_id": "pool-1"},
        "tasks": [{"name": "say", "command": {"shell": "echo hi"},
                   "env": {"POLYBATCH_STDOUT": "hello\nworld\n", "POLYBATCH_STDERR": "warn",
                           "POLYBATCH_RUN_SECONDS": "1"}}],
    });
    let path = write(&dir, "job.json", &spec.to_string());
    let out = run(emu.azure_cli().args([
        "--output",
        "json",
        "job",
        "submit",
        "--spec",
        path.to_str().unwrap(),
    ]));
    let job = out.success().json()["job"].as_str().unwrap().to_string();
    emu.advance(5);
    let out = run(emu.azure_cli().args(["task", "logs", job.as_str(), "say"]));
    assert_eq!(out.success().stdout, "hello\nworld\n");
    let out = run(emu
        .azure_cli()
        .args(["task", "logs", job.as_str(), "say", "--range", "6..11"]));
    assert_eq!(out.success().stdout, "world");
    let out = run(emu.azure_cli().args([
        "--output",
        "json",
        "task",
        "logs",
        job.as_str(),
        "say",
        "--stderr",
    ]));
    assert_eq!(out.success().json()["text"], "warn");
    let out = run(emu
        .azure_cli()
        .args(["task", "logs", job.as_str(), "say", "--range", "9..3"]));
    assert!(out.one_error_line(2).contains("START..END"));
}

#[test]
fn task_terminate_stops_one_task_and_is_idempotent() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let spec = serde_json::json!({
        "name": "two-tasks",
        "placement": {"kind": "tencent_managed", "zone": "ap-guangzhou-3",
                      "instance_type": "S5.MEDIUM2", "image_id": "img-polybatch"},
        "tasks": [
            {"name": "stop-me", "command": {"shell": "sleep 1000"}, "instance_count": 2,
             "env": {"POLYBATCH_RUN_SECONDS": "100000"}},
            {"name": "keep-me", "command": {"shell": "sleep 1000"},
             "env": {"POLYBATCH_RUN_SECONDS": "100000"}}
        ],
    });
    let path = write(&dir, "job.json", &spec.to_string());
    let out = run(emu.tencent_cli().args([
        "--output",
        "json",
        "job",
        "submit",
        "--spec",
        path.to_str().unwrap(),
    ]));
    let job = out.success().json()["job"].as_str().unwrap().to_string();
    emu.advance(10);
    let out = run(emu.tencent_cli().args([
        "task",
        "terminate",
        job.as_str(),
        "stop-me",
        "--instance",
        "1",
    ]));
    assert!(
        out.success().stdout.contains("stop-me: accepted"),
        "{}",
        out.stdout
    );
    let out = run(emu
        .tencent_cli()
        .args(["task", "terminate", job.as_str(), "stop-me"]));
    assert!(
        out.success().stdout.contains("stop-me: accepted"),
        "{}",
        out.stdout
    );
    emu.advance(10);
    let out = run(emu
        .tencent_cli()
        .args(["task", "terminate", job.as_str(), "stop-me"]));
    assert!(
        out.success().stdout.contains("stop-me: already_completed"),
        "{}",
        out.stdout
    );
    let out = run(emu.tencent_cli().args([
        "--output",
        "json",
        "task",
        "status",
        job.as_str(),
        "keep-me",
    ]));
    assert_eq!(
        out.success().json()["state"],
        "running",
        "the other task runs on"
    );
    let out = run(emu.tencent_cli().args([
        "task",
        "terminate",
        job.as_str(),
        "stop-me",
        "--instance",
        "7",
    ]));
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    // Azure has no task instances: the option is refused before any request.
    let before = emu.requests();
    let out = run(emu
        .azure_cli()
        .args(["task", "terminate", "job-1", "t", "--instance", "0"]));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert_eq!(emu.requests(), before);
}
