//! One simulation of Azure Batch's rules: the in-memory backend and the real client against the
//! emulator answer the same situations with the same outcome or the same error code.
//!
//! The table is `polybatch::conformance::refusal_table`; this test holds both backends to it and
//! to what Azure Batch answers (the `EXPECTED` column), so the two cannot drift apart, nor agree
//! on something the service does not do.

mod support;

use polybatch::conformance::{MemoryFixture, refusal_table};
use polybatch::memory::InMemoryBackend;
use polybatch_azure::ApiVersion;
use support::azure::{Auth, AzureFixture};

/// What Azure Batch answers in each situation of the table, in its order.
const EXPECTED: [(&str, &str); 13] = [
    ("reactivate a succeeded task", "invalid_state:TaskSucceeded"),
    ("reactivate an unknown task", "not_found:TaskNotFound"),
    ("task status of an unknown task", "not_found:TaskNotFound"),
    ("reactivate in an unknown job", "not_found:JobNotFound"),
    ("status of an unknown job", "not_found:JobNotFound"),
    ("terminate an unknown job", "not_found:JobNotFound"),
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
    ("terminate an active job", "accepted"),
    ("terminate a job it terminated", "already_completed"),
    (
        "reactivate a failed task of a completed job",
        "invalid_state:JobCompleted",
    ),
];

fn owned(rows: Vec<(&'static str, String)>) -> Vec<(String, String)> {
    rows.into_iter().map(|(s, a)| (s.to_string(), a)).collect()
}

/// The in-memory table, on a paused clock of its own (the memory fixture moves tokio time).
fn memory_table() -> Vec<(String, String)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let backend = InMemoryBackend::new();
        owned(refusal_table(&backend, &MemoryFixture::new(&backend)).await)
    })
}

/// The emulator's table through the real client, in real time over loopback.
fn emulator_table() -> Vec<(String, String)> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let fixture = AzureFixture::start(Auth::SharedKey, ApiVersion::default()).await;
        owned(refusal_table(fixture.backend(), &fixture).await)
    })
}

#[test]
fn memory_and_emulator_answer_alike_and_as_azure_does() {
    let expected: Vec<(String, String)> = EXPECTED
        .iter()
        .map(|(s, a)| (s.to_string(), a.to_string()))
        .collect();
    let memory = memory_table();
    let emulator = emulator_table();
    for (i, want) in expected.iter().enumerate() {
        assert_eq!(memory.get(i), Some(want), "in-memory backend, row {i}");
        assert_eq!(emulator.get(i), Some(want), "emulator, row {i}");
    }
    assert_eq!(memory.len(), expected.len(), "{memory:?}");
    assert_eq!(memory, emulator);
}
