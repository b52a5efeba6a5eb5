//! A record of every call over any backend, refused ones included, in call order: what a test
//! asserts on when it must know what a scheduler asked of the service, and in which order.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use futures::StreamExt;

use super::journal::{CallResult, Journal, JournalEntry};
use crate::backend::{BatchBackend, JobStream, PrepReleaseStream, TaskStream};
use crate::call::Call;
use crate::capability::Capabilities;
use crate::clock::{Clock, TokioClock};
use crate::error::{Error, Result};
use crate::id::{JobId, TaskId};
use crate::options::{
    DeleteJobOptions, JobStatusesOptions, ListJobsOptions, ListPrepReleaseOptions,
    ListTasksOptions, ReactivateTaskOptions, RetryFailedTasksOptions, StatusOptions,
    SubmitJobOptions, TerminateJobOptions,
};
use crate::outcome::{
    DeleteJobOutcome, ReactivateTaskOutcome, RetryFailedTasksOutcome, SubmitJobOutcome,
    TerminateJobOutcome,
};
use crate::spec::{IdempotencyKey, JobSpec};
use crate::status::{JobStatus, TaskStatus};

/// Wraps a backend and journals every call: the ones that reached the inner backend
/// (`executed: true`, with how they ended, `Cancelled` if the caller dropped them) and the ones
/// the capability checks refused before any I/O (`executed: false`). A listing is one entry,
/// from its first poll to its end or first error. Clones share the journal.
#[derive(Clone)]
pub struct Journaled<B> {
    inner: B,
    record: Record,
}

impl<B: BatchBackend> Journaled<B> {
    /// Wraps `inner`, timing entries on a [`TokioClock`].
    pub fn new(inner: B) -> Self {
        Journaled::with_clock(inner, Arc::new(TokioClock::new()))
    }

    /// Wraps `inner`, timing entries on `clock`.
    pub fn with_clock(inner: B, clock: Arc<dyn Clock>) -> Self {
        Journaled {
            inner,
            record: Record {
                journal: Arc::default(),
                clock,
            },
        }
    }

    /// Every call so far (since the last [`Journaled::clear_journal`]), in call order.
    pub fn journal(&self) -> Vec<JournalEntry> {
        lock(&self.record.journal).entries()
    }

    /// Forgets the entries (`seq` numbers and the request count continue).
    pub fn clear_journal(&self) {
        lock(&self.record.journal).clear();
    }

    /// How many calls reached the inner backend in the wrapper's lifetime.
    pub fn requests_seen(&self) -> u64 {
        lock(&self.record.journal).executed()
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }
}

fn lock(journal: &Mutex<Journal>) -> MutexGuard<'_, Journal> {
    journal.lock().unwrap_or_else(|p| p.into_inner())
}

/// A journal and the clock its entries are timed on.
#[derive(Clone)]
struct Record {
    journal: Arc<Mutex<Journal>>,
    clock: Arc<dyn Clock>,
}

impl Record {
    fn entry(&self, call: Call, executed: bool, result: CallResult) -> JournalEntry {
        JournalEntry::new(call, executed, false, self.clock.now(), result)
    }

    /// Journals a call as it reaches the inner backend.
    fn start(&self, call: Call) -> Pending {
        let seq = lock(&self.journal).push(self.entry(call, true, CallResult::InFlight));
        Pending {
            record: self.clone(),
            seq,
            done: false,
        }
    }
}

/// A listing being journaled: dropped before its end, its entry says `Cancelled`.
struct Listing<T> {
    inner: futures::stream::BoxStream<'static, Result<T>>,
    call: Option<Call>,
    pending: Option<Pending>,
    record: Record,
}

/// An executed call's entry until it ends; dropped unfinished, the call was cancelled.
struct Pending {
    record: Record,
    seq: u64,
    done: bool,
}

impl Pending {
    fn end(&mut self, result: CallResult) {
        self.done = true;
        let now = self.record.clock.now();
        lock(&self.record.journal).finish(self.seq, now, result);
    }

    fn finish<T>(mut self, result: Result<T>) -> Result<T> {
        self.end(CallResult::of(&result));
        result
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.done {
            self.end(CallResult::Cancelled);
        }
    }
}

impl<B: BatchBackend> fmt::Debug for Journaled<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Journaled")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<B: BatchBackend> fmt::Display for Journaled<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Journaled({})", self.inner)
    }
}

impl<B: BatchBackend> Journaled<B> {
    /// One journal entry for a whole listing: it opens at the first poll and closes at the end
    /// or the first error.
    fn listing<T: Send + 'static>(
        &self,
        call: Call,
        inner: futures::stream::BoxStream<'static, Result<T>>,
    ) -> futures::stream::BoxStream<'static, Result<T>> {
        let state = Listing {
            inner,
            call: Some(call),
            pending: None,
            record: self.record.clone(),
        };
        futures::stream::unfold(state, |mut st| async move {
            // The entry opens at the first poll and closes at the end or the first error.
            if let Some(call) = st.call.take() {
                st.pending = Some(st.record.start(call));
            }
            match st.inner.next().await {
                Some(Ok(item)) => Some((Ok(item), st)),
                Some(Err(e)) => {
                    if let Some(mut p) = st.pending.take() {
                        p.end(CallResult::failed(&e));
                    }
                    Some((Err(e), st))
                }
                None => {
                    if let Some(mut p) = st.pending.take() {
                        p.end(CallResult::Succeeded);
                    }
                    None
                }
            }
        })
        .boxed()
    }
}

#[async_trait]
impl<B: BatchBackend> BatchBackend for Journaled<B> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn on_refused(&self, call: Call, error: &Error) {
        let entry = self
            .record
            .entry(call.clone(), false, CallResult::failed(error));
        lock(&self.record.journal).push(entry);
        self.inner.on_refused(call, error)
    }

    async fn terminate_job_impl(
        &self,
        job: &JobId,
        options: TerminateJobOptions,
    ) -> Result<TerminateJobOutcome> {
        let call = Call::terminate(job, options.clone());
        let pending = self.record.start(call);
        pending.finish(self.inner.terminate_job_impl(job, options).await)
    }

    async fn reactivate_task_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: ReactivateTaskOptions,
    ) -> Result<ReactivateTaskOutcome> {
        let call = Call::reactivate(job, task, options.clone());
        let pending = self.record.start(call);
        pending.finish(self.inner.reactivate_task_impl(job, task, options).await)
    }

    async fn job_status_impl(&self, job: &JobId, options: StatusOptions) -> Result<JobStatus> {
        let call = Call::job_status(job, options.clone());
        let pending = self.record.start(call);
        pending.finish(self.inner.job_status_impl(job, options).await)
    }

    async fn task_status_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: StatusOptions,
    ) -> Result<TaskStatus> {
        let call = Call::task_status(job, task, options.clone());
        let pending = self.record.start(call);
        pending.finish(self.inner.task_status_impl(job, task, options).await)
    }

    fn list_prep_release_status_impl(
        &self,
        job: &JobId,
        options: ListPrepReleaseOptions,
    ) -> PrepReleaseStream {
        let call = Call::list_prep_release(job, options.clone(), 0);
        self.listing(call, self.inner.list_prep_release_status_impl(job, options))
    }

    fn list_jobs_impl(&self, options: ListJobsOptions) -> JobStream {
        let call = Call::list_jobs(options.clone(), 0);
        self.listing(call, self.inner.list_jobs_impl(options))
    }

    fn list_tasks_impl(&self, job: &JobId, options: ListTasksOptions) -> TaskStream {
        let call = Call::list_tasks(job, options.clone(), 0);
        self.listing(call, self.inner.list_tasks_impl(job, options))
    }

    async fn retry_failed_tasks_impl(
        &self,
        job: &JobId,
        options: RetryFailedTasksOptions,
    ) -> Result<RetryFailedTasksOutcome> {
        let call = Call::retry_failed(job, options.clone());
        let pending = self.record.start(call);
        pending.finish(self.inner.retry_failed_tasks_impl(job, options).await)
    }

    async fn submit_job_impl(
        &self,
        spec: &JobSpec,
        key: &IdempotencyKey,
        options: SubmitJobOptions,
    ) -> Result<SubmitJobOutcome> {
        let call = Call::submit(spec.clone(), options.clone());
        let pending = self.record.start(call);
        pending.finish(self.inner.submit_job_impl(spec, key, options).await)
    }

    async fn job_statuses_impl(
        &self,
        jobs: &[JobId],
        options: JobStatusesOptions,
    ) -> Result<crate::JobStatuses> {
        let call = Call::job_statuses(jobs.to_vec(), options.clone());
        let pending = self.record.start(call);
        pending.finish(self.inner.job_statuses_impl(jobs, options).await)
    }

    async fn delete_job_impl(
        &self,
        job: &JobId,
        options: DeleteJobOptions,
    ) -> Result<DeleteJobOutcome> {
        let call = Call::delete(job, options.clone());
        let pending = self.record.start(call);
        pending.finish(self.inner.delete_job_impl(job, options).await)
    }

    async fn export_job_impl(
        &self,
        job: &JobId,
        options: crate::options::ExportJobOptions,
    ) -> Result<crate::spec::ExportedJob> {
        let call = Call::export(job, options.clone());
        let pending = self.record.start(call);
        pending.finish(self.inner.export_job_impl(job, options).await)
    }

    async fn task_output_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: crate::options::TaskOutputOptions,
    ) -> Result<crate::outcome::TaskOutput> {
        let call = Call::task_output(job, task, options.clone());
        let pending = self.record.start(call);
        pending.finish(self.inner.task_output_impl(job, task, options).await)
    }

    async fn terminate_task_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: crate::options::TerminateTaskOptions,
    ) -> Result<crate::outcome::TerminateTaskOutcome> {
        let call = Call::terminate_task(job, task, options.clone());
        let pending = self.record.start(call);
        pending.finish(self.inner.terminate_task_impl(job, task, options).await)
    }
}
