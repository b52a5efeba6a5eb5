//! One simulation per provider: the in-memory flavour and the real client against the emulator
//! answer the same situations with the same outcome or the same error code.
//!
//! The table is `polybatch::conformance::refusal_table`; each test holds both backends of one
//! provider to it and to what the service answers (the `*_EXPECTED` column), so the two cannot
//! drift apart, nor agree on something the service does not do.

mod support;

use polybatch::conformance::{MemoryFixture, refusal_table};
use polybatch::memory::{InMemoryBackend, TencentTask};
use polybatch::{BatchBackend, TaskId, TerminateJobOptions};
use polybatch_azure::ApiVersion;
use support::aws::AwsFixture;
use support::azure::{Auth, AzureFixture};
use support::tencent::{self, TencentFixture};

/// What Azure Batch answers in each situation of the table, in its order.
const AZURE_EXPECTED: [(&str, &str); 14] = [
    ("reactivate a succeeded task", "invalid_state:TaskSucceeded"),
    ("reactivate an unknown task", "not_found:TaskNotFound"),
    ("task status of an unknown task", "not_found:TaskNotFound"),
    ("reactivate in an unknown job", "not_found:JobNotFound"),
    ("status of an unknown job", "not_found:JobNotFound"),
    ("terminate an unknown job", "not_found:JobNotFound"),
    (
        "read an unchanged job with If-None-Match",
        "precondition_failed:-",
    ),
    (
        "reactivate a running task",
        "invalid_state:TaskNotCompleted",
    ),
    (
        "prep/release status of a job without a preparation task",
        "invalid_state:JobPreparationTaskNotSpecified",
    ),
    ("reactivate a failed task", "ok"),
    ("terminate a completed job", "already_completed"),
    ("terminate the job with a failed task", "accepted"),
    (
        "terminate that job again once it is terminal",
        "already_completed",
    ),
    (
        "reactivate the failed task of that terminal job",
        "invalid_state:JobCompleted",
    ),
];

/// What Tencent Cloud Batch answers: no per-task reactivate or prep/release at all, its own
/// not-found codes, and a job with a failed task is already `FAILED` (terminal).
const TENCENT_EXPECTED: [(&str, &str); 14] = [
    ("reactivate a succeeded task", "unsupported"),
    ("reactivate an unknown task", "unsupported"),
    (
        "task status of an unknown task",
        "not_found:ResourceNotFound.Task",
    ),
    ("reactivate in an unknown job", "unsupported"),
    ("status of an unknown job", "not_found:ResourceNotFound.Job"),
    ("terminate an unknown job", "not_found:ResourceNotFound.Job"),
    ("read an unchanged job with If-None-Match", "unsupported"),
    ("reactivate a running task", "unsupported"),
    (
        "prep/release status of a job without a preparation task",
        "unsupported",
    ),
    ("reactivate a failed task", "unsupported"),
    ("terminate a completed job", "already_completed"),
    ("terminate the job with a failed task", "already_completed"),
    (
        "terminate that job again once it is terminal",
        "already_completed",
    ),
    (
        "reactivate the failed task of that terminal job",
        "unsupported",
    ),
];

/// What AWS Batch answers: no reactivate, preconditions or prep/release; unknown jobs are
/// left out of `DescribeJobs` (not found, no code of the service); a job with a failed task is
/// `FAILED` (terminal), and the array index a task id must be does not name a task.
const AWS_EXPECTED: [(&str, &str); 14] = [
    ("reactivate a succeeded task", "unsupported"),
    ("reactivate an unknown task", "unsupported"),
    ("task status of an unknown task", "not_found:-"),
    ("reactivate in an unknown job", "unsupported"),
    ("status of an unknown job", "not_found:-"),
    ("terminate an unknown job", "not_found:-"),
    ("read an unchanged job with If-None-Match", "unsupported"),
    ("reactivate a running task", "unsupported"),
    (
        "prep/release status of a job without a preparation task",
        "unsupported",
    ),
    ("reactivate a failed task", "unsupported"),
    ("terminate a completed job", "already_completed"),
    ("terminate the job with a failed task", "already_completed"),
    (
        "terminate that job again once it is terminal",
        "already_completed",
    ),
    (
        "reactivate the failed task of that terminal job",
        "unsupported",
    ),
];

fn owned(rows: Vec<(&'static str, String)>) -> Vec<(String, String)> {
    rows.into_iter().map(|(s, a)| (s.to_string(), a)).collect()
}

/// Runs `f` on a paused clock of its own (the memory fixture moves tokio time).
fn paused<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
        .block_on(f)
}

/// Runs `f` in real time, for the emulator over loopback.
fn real<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

async fn memory_table(backend: InMemoryBackend) -> Vec<(String, String)> {
    owned(refusal_table(&backend, &MemoryFixture::new(&backend)).await)
}

/// Both tables match `expected` row by row, and each other.
fn assert_tables(
    expected: &[(&str, &str)],
    memory: Vec<(String, String)>,
    emulator: Vec<(String, String)>,
) {
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(s, a)| (s.to_string(), a.to_string()))
        .collect();
    for (i, want) in expected.iter().enumerate() {
        assert_eq!(memory.get(i), Some(want), "in-memory backend, row {i}");
        assert_eq!(emulator.get(i), Some(want), "emulator, row {i}");
    }
    assert_eq!(memory.len(), expected.len(), "{memory:?}");
    assert_eq!(memory, emulator);
}

#[test]
fn azure_memory_and_emulator_answer_alike_and_as_azure_does() {
    let memory = paused(memory_table(InMemoryBackend::azure()));
    let emulator = real(async {
        let fixture = AzureFixture::start(Auth::SharedKey, ApiVersion::default()).await;
        owned(refusal_table(fixture.backend(), &fixture).await)
    });
    assert_tables(&AZURE_EXPECTED, memory, emulator);
}

#[test]
fn tencent_memory_and_emulator_answer_alike_and_as_tencent_does() {
    let memory = paused(memory_table(InMemoryBackend::tencent()));
    let emulator = real(async {
        let fixture = TencentFixture::fast().await;
        owned(refusal_table(&fixture.backend, &fixture).await)
    });
    assert_tables(&TENCENT_EXPECTED, memory, emulator);
}

#[test]
fn aws_memory_and_emulator_answer_alike_and_as_aws_does() {
    let memory = paused(memory_table(InMemoryBackend::aws()));
    let emulator = real(async {
        let fixture = AwsFixture::start().await;
        owned(refusal_table(&fixture.backend, &fixture).await)
    });
    assert_tables(&AWS_EXPECTED, memory, emulator);
}

/// Tencent refuses to terminate a job that is still `SUBMITTED`, until it leaves that state by
/// itself: the same retryable answer from the in-memory flavour and from the real client
/// against the emulator.
#[test]
fn tencent_refuses_to_terminate_a_submitted_job_on_both() {
    let answer = |r: polybatch::Result<polybatch::TerminateJobOutcome>| match r {
        Ok(o) => o.disposition.to_string(),
        Err(e) => format!(
            "{}:{}:{:?}:retryable={}:hint={}",
            e.kind(),
            e.code().unwrap_or("-"),
            e.operation(),
            e.is_retryable(),
            e.message().contains("retry once it has"),
        ),
    };
    let memory = paused(async {
        let b = InMemoryBackend::tencent();
        let work = TencentTask::new(&TaskId::new("work").unwrap());
        let job = b.seed().tencent_job(&[work]).unwrap();
        answer(b.terminate_job(&job, TerminateJobOptions::default()).await)
    });
    let emulator = real(async {
        let fixture = TencentFixture::fast().await;
        let job = fixture
            .submit("submitted", vec![tencent::task("work", 0, "5")])
            .await
            .unwrap();
        answer(
            fixture
                .backend
                .terminate_job(&job, TerminateJobOptions::default())
                .await,
        )
    });
    // Retryable, with the hint to retry once the job has left SUBMITTED.
    assert_eq!(
        memory,
        "service:UnsupportedOperation:TerminateJob:retryable=true:hint=true"
    );
    assert_eq!(memory, emulator);
}
