//! Each command offers and accepts only the flags that apply to it: the provider and connection
//! flags belong to the operator commands (`job`, `task`, `jobs`), before or after the
//! subcommand; `emulator` and `demo` neither list nor accept them.

mod common;

use std::time::Duration;

use assert_cmd::Command;
use common::{BIN, TestEmulator, run};
use polybatch_emulator::config::{
    DEFAULT_AZURE_ACCOUNT, DEFAULT_AZURE_KEY, DEFAULT_TENCENT_REGION, DEFAULT_TENCENT_SECRET_ID,
    DEFAULT_TENCENT_SECRET_KEY,
};

/// The flags that configure the client of an operator command, each with a valid value.
const CLIENT_FLAGS: [(&str, &str); 7] = [
    ("--provider", "azure"),
    ("--endpoint", "http://127.0.0.1:1"),
    ("--account", "devbatch"),
    ("--api-version", "2024-07-01.20.0"),
    ("--region", "ap-guangzhou"),
    ("--secret-id", "AKIDx"),
    ("--max-attempts", "1"),
];

/// Every operator command and command group.
const OPERATOR_COMMANDS: [&[&str]; 10] = [
    &["job"],
    &["job", "status"],
    &["job", "terminate"],
    &["job", "prep-release"],
    &["job", "retry-failed"],
    &["task"],
    &["task", "status"],
    &["task", "reactivate"],
    &["jobs"],
    &["jobs", "terminate"],
];

/// `polybatch` with none of the operator commands' environment variables.
fn polybatch() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear();
    // A command that wrongly accepted a flag would run: the emulator until stopped.
    cmd.timeout(Duration::from_secs(20));
    cmd
}

/// The long flags `--help` lists for a command (`-v, --verbose` gives `--verbose`).
fn listed_flags(command: &[&str]) -> Vec<String> {
    let out = run(polybatch().args(command).arg("--help"));
    out.success();
    out.stdout
        .lines()
        .map(str::trim_start)
        .filter(|line| line.starts_with('-'))
        .flat_map(|line| {
            line.split([' ', ','])
                .take_while(|word| word.is_empty() || word.starts_with('-'))
                .filter(|word| word.starts_with("--"))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn emulator_and_demo_help_list_no_client_flags() {
    for command in [&["emulator"][..], &["demo"], &[]] {
        let listed = listed_flags(command);
        assert!(
            listed.iter().any(|f| f == "--output"),
            "{command:?}: {listed:?}"
        );
        for (flag, _) in CLIENT_FLAGS {
            assert!(
                !listed.iter().any(|f| f == flag),
                "`polybatch {}` lists {flag}: {listed:?}",
                command.join(" ")
            );
        }
    }
    // The emulator's own flags are still there.
    let listed = listed_flags(&["emulator"]);
    for flag in [
        "--listen",
        "--azure-key",
        "--no-rate-limits",
        "--aws-access-key-id",
        "--aws-secret-access-key",
    ] {
        assert!(listed.iter().any(|f| f == flag), "{flag}: {listed:?}");
    }
}

#[test]
fn a_client_flag_on_emulator_or_demo_is_a_usage_error() {
    for (flag, value) in CLIENT_FLAGS {
        for args in [
            &["emulator", "--listen", "127.0.0.1:0", flag, value][..],
            &[flag, value, "emulator", "--listen", "127.0.0.1:0"],
            &["demo", flag, value],
            &[flag, value, "demo"],
        ] {
            let out = run(polybatch().args(args));
            assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
            assert!(
                out.stderr
                    .contains(&format!("unexpected argument '{flag}' found")),
                "{args:?}: {}",
                out.stderr
            );
        }
    }
}

#[test]
fn verbose_is_offered_where_requests_are_logged_and_not_by_completions() {
    for command in [&["demo"][..], &["emulator"], &[]] {
        let listed = listed_flags(command);
        assert!(
            listed.iter().any(|f| f == "--verbose"),
            "{command:?}: {listed:?}"
        );
    }
    let listed = listed_flags(&["completions"]);
    assert!(!listed.iter().any(|f| f == "--verbose"), "{listed:?}");

    let out = run(polybatch().args(["completions", "bash", "-v"]));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("-v"), "{}", out.stderr);
    // Before the command it passes clap, so the refusal is the one-line error of the CLI.
    let out = run(polybatch().args(["--output", "json", "-v", "completions", "bash"]));
    let line = out.one_error_line(2);
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["error"]["kind"], "usage");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--verbose does not apply to `polybatch completions`"),
        "{line}"
    );
    assert!(out.stdout.is_empty(), "no script after a refusal");
}

#[test]
fn a_client_flag_before_the_command_group_says_where_it_goes() {
    let out = run(polybatch().args(["--provider", "azure", "job", "status", "j"]));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("'job --provider' exists"),
        "{}",
        out.stderr
    );
}

#[test]
fn operator_commands_list_every_client_flag() {
    for command in OPERATOR_COMMANDS {
        let listed = listed_flags(command);
        for flag in CLIENT_FLAGS
            .iter()
            .map(|(flag, _)| *flag)
            .chain(["--output", "--verbose"])
        {
            assert!(
                listed.iter().any(|f| f == flag),
                "`polybatch {}` does not list {flag}: {listed:?}",
                command.join(" ")
            );
        }
    }
}

/// `args` with `flags` put right after the command group (`job FLAGS status J`) and after the
/// whole command (`job status J FLAGS`).
fn both_placements(args: &[&str], flags: &[&str]) -> [Vec<String>; 2] {
    let (group, rest) = args.split_first().unwrap();
    let before = std::iter::once(*group)
        .chain(flags.iter().copied())
        .chain(rest.iter().copied());
    let after = args.iter().chain(flags).copied();
    [
        before.map(str::to_string).collect(),
        after.map(str::to_string).collect(),
    ]
}

#[test]
fn operator_commands_take_every_azure_connection_flag_before_or_after_the_subcommand() {
    let emu = TestEmulator::start();
    emu.seed_azure();
    // Only the secret comes from the environment: without the flags nothing could connect.
    let flags = [
        "--provider",
        "azure",
        "--endpoint",
        &emu.url,
        "--account",
        DEFAULT_AZURE_ACCOUNT,
        "--api-version",
        "2024-07-01.20.0",
        "--max-attempts",
        "1",
    ];
    for (args, expected) in [
        (&["job", "status", "job-ok"][..], "job-ok"),
        (&["task", "status", "job-fail", "bad"], "bad"),
        (&["jobs", "terminate", "--ids-file", "-"], "1 ok"),
    ] {
        for args in both_placements(args, &flags) {
            let out = run(emu
                .bare()
                .env("AZURE_BATCH_ACCESS_KEY", DEFAULT_AZURE_KEY)
                .args(&args)
                .write_stdin("job-ok\n"));
            out.success();
            assert!(out.stdout.contains(expected), "{args:?}: {}", out.stdout);
        }
    }
}

#[test]
fn operator_commands_take_every_tencent_connection_flag_before_or_after_the_subcommand() {
    let emu = TestEmulator::start();
    let [ok, ..] = emu.seed_tencent();
    let flags = [
        "--provider",
        "tencent",
        "--endpoint",
        &emu.url,
        "--region",
        DEFAULT_TENCENT_REGION,
        "--secret-id",
        DEFAULT_TENCENT_SECRET_ID,
        "--max-attempts",
        "1",
    ];
    for args in both_placements(&["job", "status", ok.as_str()], &flags) {
        let out = run(emu
            .bare()
            .env("TENCENTCLOUD_SECRET_KEY", DEFAULT_TENCENT_SECRET_KEY)
            .args(&args));
        out.success();
        assert!(out.stdout.contains(ok.as_str()), "{args:?}: {}", out.stdout);
    }
}

#[test]
fn named_profiles_and_tccli_credentials() {
    use polybatch_emulator::config::{DEFAULT_TENCENT_SECRET_ID, DEFAULT_TENCENT_SECRET_KEY};
    let emu = common::TestEmulator::start();
    let [ok, _, _] = emu.seed_tencent();
    let home = emu.home.path();
    std::fs::create_dir_all(home.join(".config/polybatch")).unwrap();
    std::fs::write(
        home.join(".config/polybatch/config.toml"),
        format!(
            "[profiles.emu-tencent]\nprovider = \"tencent\"\nendpoint = \"{url}\"\ntccli_profile = \"emu\"\n\n\
             [profiles.emu-azure]\nprovider = \"azure\"\nendpoint = \"{url}\"\naccount = \"devbatch\"\n",
            url = emu.url
        ),
    )
    .unwrap();
    std::fs::create_dir_all(home.join(".tccli")).unwrap();
    std::fs::write(
        home.join(".tccli/emu.credential"),
        serde_json::json!({"secretId": DEFAULT_TENCENT_SECRET_ID, "secretKey": DEFAULT_TENCENT_SECRET_KEY}).to_string(),
    )
    .unwrap();
    std::fs::write(
        home.join(".tccli/emu.configure"),
        serde_json::json!({"_sys_param": {"region": "ap-guangzhou", "output": "json"}}).to_string(),
    )
    .unwrap();
    // Nothing in the environment: the profile and tccli's files say everything.
    let out = common::run(emu.bare().args([
        "--output",
        "json",
        "job",
        "--profile",
        "emu-tencent",
        "status",
        ok.as_str(),
    ]));
    assert_eq!(out.success().json()["provider_state"], "SUCCEED");
    // POLYBATCH_PROFILE works too; a flag still beats the profile.
    let out = common::run(emu.bare().env("POLYBATCH_PROFILE", "emu-tencent").args([
        "job",
        "status",
        ok.as_str(),
        "--region",
        "ap-shanghai",
    ]));
    assert_ne!(
        out.code,
        Some(0),
        "the flag's region is used: {}",
        out.stdout
    );
    // The Azure profile takes its key from the environment, as secrets never sit in the file.
    let out = common::run(
        emu.bare()
            .env(
                "AZURE_BATCH_ACCESS_KEY",
                polybatch_emulator::config::DEFAULT_AZURE_KEY,
            )
            .args(["job", "--profile", "emu-azure", "status", "job-none"]),
    );
    assert!(out.stderr.contains("JobNotFound"), "{}", out.stderr);
    let out = common::run(emu.bare().args(["job", "--profile", "nope", "status", "j"]));
    let line = out.one_error_line(2);
    assert!(line.contains("emu-azure, emu-tencent"), "{line}");
    std::fs::write(
        home.join(".config/polybatch/config.toml"),
        "[profiles.leaky]\nprovider = \"azure\"\naccess_key = \"c2VjcmV0\"\n",
    )
    .unwrap();
    let out = common::run(
        emu.bare()
            .args(["job", "--profile", "leaky", "status", "j"]),
    );
    let line = out.one_error_line(2);
    assert!(
        line.contains("access_key") && !line.contains("c2VjcmV0"),
        "{line}"
    );
}
