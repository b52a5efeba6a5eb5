//! The record of every call made to a backend, in call order: kept by
//! [`crate::memory::InMemoryBackend`] and by the [`super::Journaled`] wrapper over any backend.

use chrono::{DateTime, Utc};

use crate::call::Call;
use crate::error::{Error, Operation};
use crate::id::{JobId, TaskId};

/// The options a journaled call was made with (the core's [`crate::CallOptions`]).
pub use crate::call::CallOptions as JournalOptions;

/// How a journaled call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallResult {
    /// Still running (for example inside an injected delay).
    InFlight,
    /// The caller dropped the call before it finished.
    Cancelled,
    /// It succeeded.
    Succeeded,
    /// It failed.
    Failed {
        /// [`Error::kind`] of the error.
        kind: &'static str,
        /// The error's provider code, if any.
        code: Option<String>,
        /// The error, formatted.
        message: String,
    },
}

impl CallResult {
    pub(crate) fn of<T>(result: &Result<T, Error>) -> Self {
        match result {
            Ok(_) => CallResult::Succeeded,
            Err(e) => CallResult::failed(e),
        }
    }

    pub(crate) fn failed(e: &Error) -> Self {
        CallResult::Failed {
            kind: e.kind(),
            code: e.code().map(str::to_owned),
            message: e.to_string(),
        }
    }
}

/// One call to the backend.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JournalEntry {
    /// Position in call order, counting from 0 for the backend's lifetime (not reset by
    /// [`crate::memory::InMemoryBackend::clear_journal`] or [`super::Journaled::clear_journal`]).
    pub seq: u64,
    /// The operation.
    pub operation: Operation,
    /// The job, for calls about one job.
    pub job: Option<JobId>,
    /// The task, for task operations.
    pub task: Option<TaskId>,
    /// The options it was called with.
    pub options: JournalOptions,
    /// Whether the call reached the simulated service. `false` means it was refused before any
    /// I/O (an unsupported operation or option, an invalid page size): exactly what a real
    /// backend must never send.
    pub executed: bool,
    /// Whether `retry_failed_tasks` made this call on the caller's behalf.
    pub nested: bool,
    /// When the call started, by the backend's clock.
    pub started_at: DateTime<Utc>,
    /// When it finished, by the backend's clock (`None` while in flight).
    pub finished_at: Option<DateTime<Utc>>,
    /// How it ended.
    pub result: CallResult,
}

impl JournalEntry {
    /// The entry for `call`, started at `now` (and finished then, unless `result` is
    /// in flight); its `seq` is set when the journal takes it.
    pub(crate) fn new(
        call: Call,
        executed: bool,
        nested: bool,
        now: DateTime<Utc>,
        result: CallResult,
    ) -> Self {
        JournalEntry {
            seq: 0,
            operation: call.operation,
            job: call.job,
            task: call.task,
            options: call.options,
            executed,
            nested,
            started_at: now,
            finished_at: (result != CallResult::InFlight).then_some(now),
            result,
        }
    }

    /// Whether the call finished successfully.
    pub fn succeeded(&self) -> bool {
        self.result == CallResult::Succeeded
    }

    /// The [`Error::kind`] of the call's error, when it failed.
    pub fn error_kind(&self) -> Option<&'static str> {
        match &self.result {
            CallResult::Failed { kind, .. } => Some(kind),
            _ => None,
        }
    }
}

/// The journal itself: entries in call order, addressable by `seq` while in flight.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    entries: Vec<JournalEntry>,
    /// `seq` of `entries[0]`; entries before it were cleared.
    base: u64,
    next_seq: u64,
    /// Executed calls among the cleared entries, so the request count never goes back.
    cleared_executed: u64,
}

impl Journal {
    /// Appends an entry and returns its `seq`.
    pub(crate) fn push(&mut self, mut entry: JournalEntry) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        entry.seq = seq;
        self.entries.push(entry);
        seq
    }

    /// Records how the call `seq` ended (a no-op if it was cleared meanwhile).
    pub(crate) fn finish(&mut self, seq: u64, at: DateTime<Utc>, result: CallResult) {
        let Some(index) = seq.checked_sub(self.base) else {
            return;
        };
        if let Some(entry) = usize::try_from(index)
            .ok()
            .and_then(|i| self.entries.get_mut(i))
        {
            entry.finished_at = Some(at);
            entry.result = result;
        }
    }

    pub(crate) fn entries(&self) -> Vec<JournalEntry> {
        self.entries.clone()
    }

    pub(crate) fn executed(&self) -> u64 {
        self.entries.iter().filter(|e| e.executed).count() as u64 + self.cleared_executed
    }

    pub(crate) fn clear(&mut self) {
        self.cleared_executed += self.entries.iter().filter(|e| e.executed).count() as u64;
        self.base = self.next_seq;
        self.entries.clear();
    }
}
