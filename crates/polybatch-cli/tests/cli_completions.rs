//! `polybatch completions SHELL`: the script a shell sources, and what it completes.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_polybatch");

fn script(shell: &str) -> std::process::Output {
    Command::new(BIN)
        .args(["completions", shell])
        .output()
        .unwrap()
}

/// What bash's completion function offers for `words`, the last being the word being typed.
fn bash_complete(words: &[&str]) -> Vec<String> {
    let out = script("bash");
    assert!(out.status.success());
    let dir = std::env::temp_dir().join(format!("polybatch-completions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("polybatch.bash");
    std::fs::write(&path, &out.stdout).unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let current = words.len() - 1;
    let previous = if current == 0 { "" } else { words[current - 1] };
    let program = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={current}; \
         _polybatch polybatch '{}' '{previous}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        path.display(),
        quoted.join(" "),
        words[current],
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(program)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_commands_subcommands_and_their_own_flags() {
    assert_eq!(bash_complete(&["polybatch", "jo"]), ["job", "jobs"]);
    let job = bash_complete(&["polybatch", "job", ""]);
    for expected in ["status", "terminate", "wait", "retry-failed", "--provider"] {
        assert!(job.iter().any(|w| w == expected), "{expected} in {job:?}");
    }
    // Flags are scoped per command: the emulator's own flags are not offered for `job`.
    assert!(!job.iter().any(|w| w == "--nodes-per-pool"), "{job:?}");
    let emulator = bash_complete(&["polybatch", "emulator", "--"]);
    assert!(
        emulator.iter().any(|w| w == "--nodes-per-pool"),
        "{emulator:?}"
    );
    assert!(!emulator.iter().any(|w| w == "--provider"), "{emulator:?}");
}

#[test]
fn every_listed_shell_gets_a_script_and_others_are_usage_errors() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = script(shell);
        assert!(out.status.success(), "{shell}: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("polybatch"), "{shell}");
        assert!(
            text.contains("retry-failed"),
            "{shell}: subcommands are included"
        );
    }
    let out = script("tcsh");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    use std::process::{Command, Stdio};
    // `polybatch completions bash | head -0`: the reader is gone before the first write.
    let mut child = Command::new(env!("CARGO_BIN_EXE_polybatch"))
        .args(["completions", "bash"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}
