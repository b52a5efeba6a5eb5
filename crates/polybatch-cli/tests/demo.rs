//! `polybatch demo` runs end to end and every step behaves as documented.

use std::process::Command;

#[test]
fn demo_passes_every_check() {
    let out = Command::new(env!("CARGO_BIN_EXE_polybatch"))
        .arg("demo")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(!stdout.contains("[FAIL]"), "{stdout}");
    assert!(
        stdout.contains("Every step behaved as documented."),
        "{stdout}"
    );
    assert!(stdout.contains("Neutral states, side by side"), "{stdout}");
    // The table shows the three providers' view of the same work.
    assert!(stdout.contains("AWS Batch: neutral (provider)"), "{stdout}");
    for expected in [
        "succeeded (SUCCEED)",
        "failed (FAILED), exit 3",
        "failed (completed), exit 3",
        "completed (completed)",
        "succeeded (SUCCEEDED), exit 0",
        "running (PENDING); task 0 running (RUNNING)",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
    // AWS's own sections: terminate (stopped vs cancelled), retry by resubmitting, and what it
    // cannot do refused before any request.
    for expected in [
        "aws terminate_job",
        "a SUCCEEDED job is a no-op, reported as already completed: already_completed",
        "again, while it is stopping: already_terminating",
        "a job not yet started is cancelled: cancelled",
        "never ran",
        "(it had run: stopped)",
        "aws retry_failed_tasks",
        "resubmitted as [\"",
        "aws resubmitted job ran and failed again with its exit code",
        "aws reactivate_task is Unsupported",
        "aws delete_job is Unsupported",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.contains("[ok  ]") && l.contains(expected)),
            "no passing {expected:?} in\n{stdout}"
        );
    }
    // The portable lifecycle runs on every provider, through the neutral trait.
    for expected in [
        "azure submit_job(same key again)",
        "tencent list_jobs(by label)",
        "tencent task_output(stdout): \"hello from a portable job\\n\"",
        "aws submit_job(same key again)",
        "aws job_statuses([job, unknown])",
        "no bytes, where the output is: cloudwatch-logs://",
        "migrate azure -> tencent",
        "migrate tencent -> aws",
        "tencent cleanup by label",
        "aws cleanup by label (jobs cannot be deleted: each is terminated instead)",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.contains("[ok  ]") && l.contains(expected)),
            "no passing {expected:?} in\n{stdout}"
        );
    }
    // Every check line is reported and counted.
    let checks = stdout.lines().filter(|l| l.contains("[ok  ]")).count();
    assert!(
        stdout.contains(&format!("{checks} of {checks} checks")),
        "{stdout}"
    );
}
