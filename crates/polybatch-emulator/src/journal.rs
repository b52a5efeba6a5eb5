//! The journal of applied mutations: one entry per request that changed the simulated
//! service, recorded when the change happened — before any fault replaced or lost its answer.
//! Tests count effects with it rather than answers (a submit replayed after a lost answer
//! must make one job, a reactivation must be applied once).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::faults::Provider;

/// One applied mutation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    /// Its place in the journal, from 1.
    pub seq: u64,
    /// The front end that applied it.
    pub provider: Provider,
    /// The operation (`Job_Add`, `RetryJobs`, `SubmitJob`, ...).
    pub operation: String,
    /// What it acted on: the job id (Azure `job` or `job/task`; Tencent and AWS the job id the
    /// request named or the submit created; several ids joined with `,`).
    pub target: String,
    /// The request id the emulator answered (or would have answered) with.
    pub request_id: String,
    /// When, on the simulation clock.
    pub at: DateTime<Utc>,
}

/// The journal. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    entries: Arc<Mutex<Vec<JournalEntry>>>,
}

impl Journal {
    /// Records an applied mutation.
    pub fn record(
        &self,
        provider: Provider,
        operation: &str,
        target: String,
        request_id: &str,
        at: DateTime<Utc>,
    ) {
        let mut entries = self.lock();
        let seq = entries.len() as u64 + 1;
        entries.push(JournalEntry {
            seq,
            provider,
            operation: operation.to_string(),
            target,
            request_id: request_id.to_string(),
            at,
        });
    }

    /// Every entry, in order.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.lock().clone()
    }

    /// How many times `operation` of `provider` was applied to `target`.
    pub fn count(&self, provider: Provider, operation: &str, target: &str) -> usize {
        self.lock()
            .iter()
            .filter(|e| e.provider == provider && e.operation == operation && e.target == target)
            .count()
    }

    /// Empties the journal.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<JournalEntry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_provider_operation_and_target() {
        let j = Journal::default();
        let at = DateTime::<Utc>::UNIX_EPOCH;
        j.record(Provider::Azure, "Job_Add", "a".into(), "r1", at);
        j.record(Provider::Azure, "Job_Add", "b".into(), "r2", at);
        j.record(Provider::Tencent, "Job_Add", "a".into(), "r3", at);
        assert_eq!(j.count(Provider::Azure, "Job_Add", "a"), 1);
        assert_eq!(j.count(Provider::Azure, "Job_Delete", "a"), 0);
        let seqs: Vec<u64> = j.entries().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [1, 2, 3]);
        j.clear();
        assert!(j.entries().is_empty());
    }
}
