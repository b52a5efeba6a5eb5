//! What changes on a terminal, run in a real pseudo-terminal (util-linux `script`): status
//! tables are boxed to fit its width, and `--ids-file -` says it is waiting for ids.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::TestEmulator;

/// Runs `shell_line` in a pseudo-terminal 120 columns wide with `env`, feeding it `input`;
/// returns everything the terminal showed.
fn in_terminal(env: &[(&str, &str)], shell_line: &str, input: &[u8]) -> String {
    let mut cmd = Command::new("script");
    cmd.args([
        "-qec",
        &format!("stty cols 120 rows 40; {shell_line}"),
        "/dev/null",
    ])
    .env_clear()
    .env("PATH", std::env::var("PATH").unwrap_or_default())
    .env("TERM", "xterm")
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap_or_else(|e| {
        panic!("util-linux `script` is needed for terminal tests (bsdutils): {e}")
    });
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn azure_env(emu: &TestEmulator) -> Vec<(&'static str, String)> {
    vec![
        ("HOME", emu.home.path().display().to_string()),
        ("POLYBATCH_PROVIDER", "azure".into()),
        ("AZURE_BATCH_ENDPOINT", emu.url.clone()),
        (
            "AZURE_BATCH_ACCOUNT",
            polybatch_emulator::config::DEFAULT_AZURE_ACCOUNT.into(),
        ),
        (
            "AZURE_BATCH_ACCESS_KEY",
            polybatch_emulator::config::DEFAULT_AZURE_KEY.into(),
        ),
    ]
}

#[test]
fn on_a_terminal_tables_are_boxed_and_stdin_ids_are_asked_for() {
    let emu = TestEmulator::start();
    emu.seed_azure();
    let env = azure_env(&emu);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let bin = common::BIN;

    let shown = in_terminal(&env, &format!("{bin} job status job-ok"), b"");
    assert!(shown.contains("│") && shown.contains("job-ok"), "{shown}");

    // Piped, the same command prints plain columns (no terminal width to fit).
    let piped = common::run(emu.azure_cli().args(["job", "status", "job-ok"]));
    assert!(
        !piped.stdout.contains("│") && piped.stdout.contains("job-ok"),
        "{}",
        piped.stdout
    );

    // `--ids-file -` on a terminal says what it waits for; Ctrl-D ends the list.
    let shown = in_terminal(
        &env,
        &format!("{bin} jobs terminate --ids-file -"),
        b"job-ok\n\x04",
    );
    assert!(shown.contains("reading job ids from stdin"), "{shown}");
    assert!(shown.contains("1 job(s): 1 ok, 0 failed"), "{shown}");
}

#[test]
fn on_a_terminal_bulk_status_shows_progress_and_then_the_table() {
    let emu = TestEmulator::start();
    emu.seed_azure();
    let env = azure_env(&emu);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let bin = common::BIN;
    let shown = in_terminal(
        &env,
        &format!("{bin} jobs status job-ok job-fail job-long"),
        b"",
    );
    // The bar counts what was read; the table follows, every job in it.
    assert!(shown.contains("3/3 read"), "{shown}");
    for job in ["job-ok", "job-fail", "job-long"] {
        assert!(shown.contains(job), "{job}: {shown}");
    }
    // Piped, no bar.
    let piped = common::run(
        emu.azure_cli()
            .args(["jobs", "status", "job-ok", "job-fail"]),
    );
    assert!(!piped.stderr.contains("read"), "{}", piped.stderr);
    assert!(piped.stdout.contains("job-fail"), "{}", piped.stdout);
}
