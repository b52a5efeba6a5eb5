//! The secret canary for the `polybatch` binary: every operator command of every provider, in
//! JSON and in table output, with TRACE logging on (`RUST_LOG=trace`, which reaches the HTTP
//! and SDK crates too), through success, not-found, refused input and a wrong key. Nothing
//! printed on stdout or stderr may hold a key, a secret, or an `Authorization` value.
//! (`tests/tests/secret_canary.rs` does the same for the libraries' logs, `Debug` and errors.)

mod common;

use assert_cmd::Command;
use common::{Output, TestEmulator, run};
use polybatch_emulator::config::{
    DEFAULT_AWS_ACCESS_KEY_ID, DEFAULT_AWS_REGION, DEFAULT_AWS_SECRET_ACCESS_KEY,
    DEFAULT_AZURE_KEY, DEFAULT_TENCENT_SECRET_KEY,
};

/// Wrong keys the failing runs are given: printing them is as bad as printing the right ones.
const WRONG_AZURE_KEY: &str = "d3JvbmctYXp1cmUta2V5LWNhbmFyeS0wMTIzNDU2Nzg5";
const WRONG_TENCENT_KEY: &str = "wrongTencentKeyCanary0123456789ab";
const WRONG_AWS_KEY: &str = "wrongAwsSecretAccessKeyCanary000000000000";

/// What must never be printed: the keys, and the start of every scheme's `Authorization`
/// value (Shared Key, TC3, SigV4), whose signature part differs per request.
const FORBIDDEN: [&str; 9] = [
    DEFAULT_AZURE_KEY,
    DEFAULT_TENCENT_SECRET_KEY,
    DEFAULT_AWS_SECRET_ACCESS_KEY,
    WRONG_AZURE_KEY,
    WRONG_TENCENT_KEY,
    WRONG_AWS_KEY,
    "SharedKey devbatch:",
    "TC3-HMAC-SHA256 Credential=",
    "AWS4-HMAC-SHA256 Credential=",
];

/// Makes a configured `polybatch` command.
type Maker<'a> = dyn Fn() -> Command + 'a;

fn aws_cli(emu: &TestEmulator) -> Command {
    let mut cmd = emu.bare();
    cmd.env("POLYBATCH_PROVIDER", "aws")
        .env("AWS_ENDPOINT_URL", &emu.url)
        .env("AWS_ACCESS_KEY_ID", DEFAULT_AWS_ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", DEFAULT_AWS_SECRET_ACCESS_KEY)
        .env("AWS_REGION", DEFAULT_AWS_REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("POLYBATCH_MAX_ATTEMPTS", "1");
    cmd
}

/// Runs `args` with TRACE logs in both output formats; checks each run logged at TRACE and
/// printed nothing forbidden. Returns the runs' exit codes (JSON first).
fn canary(what: &str, make: &Maker, args: &[&str]) -> [Option<i32>; 2] {
    let mut codes = [None; 2];
    for (i, format) in ["json", "table"].into_iter().enumerate() {
        let mut cmd = make();
        cmd.env("RUST_LOG", "trace")
            .args(["--output", format])
            .args(args);
        let out: Output = run(&mut cmd);
        let printed = format!("{}{}", out.stdout, out.stderr);
        // Every run sends requests, so TRACE lines show the logs were on and checked.
        assert!(
            out.stderr.contains("TRACE"),
            "{what} ({format}) logged nothing at TRACE:\n{printed}"
        );
        for secret in FORBIDDEN {
            assert!(
                !printed.contains(secret),
                "{what} ({format}) printed {secret:?}:\n{printed}"
            );
        }
        codes[i] = out.code;
    }
    codes
}

#[test]
fn no_command_prints_a_secret_in_any_format_or_log() {
    let emu = TestEmulator::start();
    emu.seed_azure();
    let [ok, _, _] = emu.seed_tencent();
    let ok = ok.as_str().to_string();

    let azure = || emu.azure_cli();
    let tencent = || emu.tencent_cli();
    let aws = || aws_cli(&emu);
    let azure_wrong = || {
        let mut c = emu.azure_cli();
        c.env("AZURE_BATCH_ACCESS_KEY", WRONG_AZURE_KEY);
        c
    };
    let tencent_wrong = || {
        let mut c = emu.tencent_cli();
        c.env("TENCENTCLOUD_SECRET_KEY", WRONG_TENCENT_KEY);
        c
    };
    let aws_wrong = || {
        let mut c = aws_cli(&emu);
        c.env("AWS_SECRET_ACCESS_KEY", WRONG_AWS_KEY);
        c
    };

    let succeed = [Some(0), Some(0)];
    let runs: Vec<(&str, &Maker, Vec<&str>, bool)> = vec![
        (
            "azure job status",
            &azure,
            vec!["job", "status", "job-ok"],
            true,
        ),
        ("azure jobs list", &azure, vec!["jobs", "list"], true),
        (
            "azure task status",
            &azure,
            vec!["task", "status", "job-fail", "bad"],
            true,
        ),
        (
            "azure job export",
            &azure,
            vec!["job", "export", "job-ok"],
            true,
        ),
        (
            "azure not found",
            &azure,
            vec!["job", "status", "job-none"],
            false,
        ),
        (
            "azure wrong key",
            &azure_wrong,
            vec!["job", "status", "job-ok"],
            false,
        ),
        (
            "tencent job status",
            &tencent,
            vec!["job", "status", &ok],
            true,
        ),
        ("tencent jobs list", &tencent, vec!["jobs", "list"], true),
        (
            "tencent not found",
            &tencent,
            vec!["job", "status", "job-zzzzzzzz"],
            false,
        ),
        (
            "tencent malformed id",
            &tencent,
            vec!["job", "status", "not-a-job"],
            false,
        ),
        (
            "tencent wrong key",
            &tencent_wrong,
            vec!["job", "status", &ok],
            false,
        ),
        (
            "aws not found",
            &aws,
            vec!["job", "status", "job-none"],
            false,
        ),
        (
            "aws wrong key",
            &aws_wrong,
            vec!["job", "status", "job-none"],
            false,
        ),
    ];
    let mut failed = 0;
    for (what, make, args, ok) in &runs {
        let codes = canary(what, *make, args);
        if *ok {
            assert_eq!(codes, succeed, "{what} must succeed");
        } else {
            assert!(
                codes.iter().all(|c| c.is_some_and(|c| c != 0)),
                "{what} must fail: {codes:?}"
            );
            failed += 1;
        }
    }
    assert_eq!(failed, 7);
}
