//! [`InMemoryBackend`]: a [`BatchBackend`] with real semantics, for your tests.
//!
//! One flavour per provider, each a front end over that provider's simulation in
//! `polybatch-sim` (the very one the emulator serves, so the two agree by construction):
//! [`InMemoryBackend::azure`] (the default: jobs go active → terminating → completed, tasks
//! pending (Azure `active`) → running → completed; reactivation, preconditions, ETags, paging
//! and error codes as Batch documents them) and [`InMemoryBackend::tencent`]. Around that:
//!
//! - [`InMemoryBackend::seed`] puts jobs, tasks and node records in known situations;
//! - [`InMemoryBackend::faults`] makes the next calls fail or take simulated time;
//! - [`InMemoryBackend::journal`] records every call, in call order;
//! - [`InMemoryBackend::with_capabilities`] makes it refuse what a provider cannot do, exactly
//!   as that provider's backend would (before any I/O).
//!
//! Time comes from a [`Clock`]: by default [`TokioClock`], so a test that pauses tokio's clock
//! drives the simulated service too.
//!
//! ```
//! use std::time::Duration;
//! use polybatch::memory::InMemoryBackend;
//! use polybatch::{BatchBackend, JobId, JobState, StatusOptions, TerminateDisposition,
//!     TerminateJobOptions};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> polybatch::Result<()> {
//! let backend = InMemoryBackend::new().with_termination_delay(Duration::from_secs(30));
//! let job = JobId::new("job-1")?;
//! backend.seed().job(&job, "pool-1")?;
//!
//! let outcome = backend.terminate_job(&job, TerminateJobOptions::default()).await?;
//! assert_eq!(outcome.disposition, TerminateDisposition::Accepted);
//! let status = backend.job_status(&job, StatusOptions::default()).await?;
//! assert_eq!(status.state, JobState::Terminating);
//!
//! tokio::time::advance(Duration::from_secs(30)).await;
//! let status = backend.job_status(&job, StatusOptions::default()).await?;
//! assert_eq!(status.state, JobState::Completed);
//! assert_eq!(backend.journal().len(), 3);
//! # Ok(()) }
//! ```

mod aws;
mod preconditions;
mod prep_release;
mod seed;
mod store;
mod tencent;

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;

pub use crate::wrap::{CallResult, ErrorFactory, Faults, JournalEntry, JournalOptions};
pub use seed::Seeder;
pub use tencent::TencentTask;

/// The one region the Tencent flavour simulates: submitted jobs go to a zone of it
/// (`ap-guangzhou-3`).
pub const TENCENT_REGION: &str = tencent::REGION;

use crate::backend::{
    BatchBackend, JobStatuses, JobStream, PrepReleaseStream, TaskStream, job_statuses_one_by_one,
};
use crate::call::Call;
use crate::capability::Capabilities;
use crate::clock::{Clock, TokioClock};
use crate::error::{Error, ErrorContext, Operation, Result};
use crate::id::{JobId, TaskId};
use crate::options::{
    DeleteJobOptions, JobStatusesOptions, ListJobsOptions, ListPrepReleaseOptions,
    ListTasksOptions, ReactivateTaskOptions, RetryFailedTasksOptions, StatusOptions,
    SubmitJobOptions, TerminateJobOptions,
};
use crate::outcome::{
    DeleteJobOutcome, ReactivateTaskOutcome, RetryFailedTasksOutcome, RetryFailure,
    SubmitJobOutcome, TerminateJobOutcome,
};
use crate::paging::{Page, paginate};
use crate::spec::{IdempotencyKey, JobSpec};
use crate::status::{JobStatus, TaskStatus};
use crate::wrap::journal::Journal;
use prep_release::{Filter, Select};
use store::{BACKEND, Store};

/// Entries per page of `list_prep_release_status` when the caller sets no page size (Azure's
/// default).
pub const DEFAULT_PAGE_SIZE: u32 = 1000;

/// Where a job listing continues: after a job id (Azure's skip token), or at an offset
/// (Tencent's `Offset`).
#[derive(Debug, Clone)]
enum Cursor {
    Start,
    After(String),
    Offset(usize),
}

/// Which provider's rules a backend follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Flavour {
    /// Azure Batch (the default): see [`InMemoryBackend`].
    Azure,
    /// Tencent Cloud Batch: see [`InMemoryBackend::tencent`].
    Tencent,
    /// AWS Batch: see [`InMemoryBackend::aws`].
    Aws,
}

/// The state clones share.
#[derive(Default)]
struct Shared {
    store: Mutex<Store>,
    tencent: Mutex<polybatch_sim::tencent::Store>,
    aws: Mutex<aws::AwsStore>,
    journal: Mutex<Journal>,
    faults: Faults,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
}

/// A [`BatchBackend`] that keeps everything in memory, with the service's real semantics.
///
/// `Clone` shares the state (jobs, journal, faults); each clone keeps its own capabilities, so
/// `backend.clone().with_capabilities(..)` views the same jobs as a more limited provider.
/// See the [module documentation](self) for an example.
///
/// The default flavour is Azure's ([`InMemoryBackend::azure`]): the simulated Batch account of
/// `polybatch-sim`, the one the emulator serves, behind the trait (its pools have no nodes, so
/// tasks run only when seeding says). Semantics, as Azure Batch documents them:
///
/// - **terminate**: active or disabled → terminating, recording the reason (default
///   `UserTerminate`, reported once the job has completed) and ending every running task
///   (failed, failure code `TaskEnded`); active tasks stay active and are never scheduled. The
///   job becomes completed after the termination delay ([`Seeder::set_termination_delay`],
///   default zero), observed lazily from the clock. `force` completes it at once. Terminating →
///   `AlreadyTerminating`, completed → `AlreadyCompleted`, deleting → `InvalidState`
///   (`JobBeingDeleted`).
/// - **reactivate**: only a failed task of an active or disabled job; it becomes pending with
///   retry count 0 and its exit code, result, failure and times cleared. Otherwise
///   `InvalidState` with Azure's code: `TaskNotCompleted`, `TaskSucceeded`, `JobCompleted`,
///   `JobBeingTerminated`, `JobBeingDeleted`.
/// - **ETags**: every change of a job or task gives it a new ETag, never issued before, and a
///   new last-modified time (adding a task changes the task, not the job). Preconditions on
///   terminate and reactivate are evaluated as Azure evaluates them on writes (unmet →
///   `PreconditionFailed`, code `ConditionNotMet`).
/// - **not found**: `NotFound` with code `JobNotFound` / `TaskNotFound`.
/// - **list_prep_release_status**: the seeded per-node records in node-id order, paged for real
///   (`page_size`, default [`DEFAULT_PAGE_SIZE`]; each page is one journaled call). Filters:
///   `nodeId eq|ne '<id>'`, `poolId eq|ne '<id>'` (else `InvalidInput` naming the filter).
///   Select keeps the listed top-level parts (`poolId`, `nodeId`, `nodeUrl`,
///   `jobPreparationTaskExecutionInfo`, `jobReleaseTaskExecutionInfo`; comma-separated or one
///   per entry); an unselected `nodeId` is empty. A job without preparation or release task
///   is `InvalidState` (`JobPreparationTaskNotSpecified`).
/// - **retry_failed_tasks**: reactivates every failed task, at most `concurrency` at once;
///   each reactivation is its own journaled `ReactivateTask` call (marked `nested`), subject to
///   faults, and reported per task.
/// - Provider state strings are Azure's (`active`, `running`, `completed`, ...).
#[derive(Clone)]
pub struct InMemoryBackend {
    shared: Arc<Shared>,
    clock: Arc<dyn Clock>,
    capabilities: Capabilities,
    flavour: Flavour,
}

impl Default for InMemoryBackend {
    fn default() -> Self {
        InMemoryBackend::new()
    }
}

impl fmt::Debug for InMemoryBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryBackend")
            .field("flavour", &self.flavour)
            .field("capabilities", &self.capabilities)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for InMemoryBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.flavour {
            Flavour::Azure => f.write_str("InMemory"),
            Flavour::Tencent => f.write_str("InMemory(tencent)"),
            Flavour::Aws => f.write_str("InMemory(aws)"),
        }
    }
}

/// Keeps the in-flight count and the journal right even if the caller drops the call.
struct InFlight<'a> {
    backend: &'a InMemoryBackend,
    seq: u64,
    finished: bool,
}

impl<'a> InFlight<'a> {
    fn start(backend: &'a InMemoryBackend, seq: u64) -> Self {
        let now = backend.shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        backend
            .shared
            .peak_in_flight
            .fetch_max(now, Ordering::SeqCst);
        InFlight {
            backend,
            seq,
            finished: false,
        }
    }

    fn finish<T>(mut self, result: &Result<T>) {
        self.finished = true;
        let now = self.backend.now();
        self.backend
            .journal_lock()
            .finish(self.seq, now, CallResult::of(result));
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.backend.shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        if !self.finished {
            let now = self.backend.now();
            self.backend
                .journal_lock()
                .finish(self.seq, now, CallResult::Cancelled);
        }
    }
}

/// The Azure flavour's: everything, with Azure's submit rules, and statuses read one job a
/// request (Batch has no bulk job read by id).
fn azure_capabilities() -> Capabilities {
    let mut c = Capabilities::all();
    c.submit = crate::translate::azure::submit_capabilities();
    c.job_statuses_per_request = 1;
    c.list_jobs_server_filters = crate::translate::azure::LIST_JOBS_SERVER_FILTERS;
    c.terminate_task_instance = false;
    c
}

impl InMemoryBackend {
    /// An empty backend supporting everything, on a [`TokioClock`] (so a paused tokio clock
    /// drives it).
    pub fn new() -> Self {
        InMemoryBackend::with_clock(Arc::new(TokioClock::new()))
    }

    /// An empty backend supporting everything, reading time from `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        InMemoryBackend {
            shared: Arc::new(Shared::default()),
            clock,
            capabilities: azure_capabilities(),
            flavour: Flavour::Azure,
        }
    }

    /// The Azure flavour: the same as [`InMemoryBackend::new`].
    pub fn azure() -> Self {
        InMemoryBackend::new()
    }

    /// The Tencent flavour, on a [`TokioClock`]: Tencent Cloud Batch's state machine and rules,
    /// the very simulation the emulator serves (`polybatch-sim`), behind the trait.
    ///
    /// Jobs are seeded with [`Seeder::tencent_job`] and then live on their own: every instance
    /// is `SUBMITTED`, then `PENDING` → `RUNNABLE` → `STARTING` → `RUNNING` for its run time,
    /// retried up to `max_retry` times, and ends `SUCCEED` or `FAILED`, as tokio's (paused) clock
    /// moves. Capabilities are Tencent's: terminate (refused while the job is `SUBMITTED`, code
    /// `UnsupportedOperation`, retryably: the job leaves `SUBMITTED` by itself, and
    /// `terminate_job_and_wait` tries again; a finished job is `AlreadyCompleted`, a terminating one
    /// `AlreadyTerminating`), job and task status with Tencent's states as the provider state,
    /// and `retry_failed_tasks` as `RetryJobs` (only on a `FAILED` job); no per-task
    /// reactivate, no prep/release, no preconditions, no server timeout. Unknown jobs and tasks
    /// are `NotFound` with `ResourceNotFound.Job` / `ResourceNotFound.Task`. The journal and
    /// fault injection work as in the Azure flavour.
    ///
    /// ```
    /// use std::time::Duration;
    /// use polybatch::memory::{InMemoryBackend, TencentTask};
    /// use polybatch::{BatchBackend, Error, JobState, StatusOptions, TaskId, TerminateJobOptions};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> polybatch::Result<()> {
    /// let backend = InMemoryBackend::tencent();
    /// let task = TencentTask::new(&TaskId::new("render")?).runs(Duration::from_secs(60), 0);
    /// let job = backend.seed().tencent_job(&[task])?;
    ///
    /// // Just submitted: Tencent refuses to terminate it yet (retry once it left SUBMITTED).
    /// let e = backend.terminate_job(&job, TerminateJobOptions::default()).await.unwrap_err();
    /// assert!(matches!(e, Error::Service { retryable: true, .. }));
    /// assert_eq!(e.code(), Some("UnsupportedOperation"));
    ///
    /// tokio::time::advance(Duration::from_secs(120)).await;
    /// let status = backend.job_status(&job, StatusOptions::default()).await?;
    /// assert_eq!((status.state, status.provider_state.as_str()), (JobState::Succeeded, "SUCCEED"));
    /// # Ok(()) }
    /// ```
    pub fn tencent() -> Self {
        let mut backend = InMemoryBackend::new();
        backend.flavour = Flavour::Tencent;
        backend.capabilities = tencent::capabilities();
        backend
    }

    /// The AWS Batch flavour: `polybatch-sim`'s AWS Batch account (the one the emulator
    /// serves, with its seeded queue `polybatch-queue` and definition `polybatch-job`) behind
    /// the trait, with AWS's capabilities. Jobs run on tokio's clock (pause it in tests):
    /// `SUBMITTED` 1 s, `PENDING` until dependencies finish, then per attempt `RUNNABLE` 1 s,
    /// `STARTING` 1 s, `RUNNING` for the task's `POLYBATCH_RUN_SECONDS`. A terminate before
    /// `STARTING` is `Cancelled`; after, the job stops 1 s later. A retry resubmits.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> polybatch::Result<()> {
    /// use std::time::Duration;
    /// use polybatch::memory::InMemoryBackend;
    /// use polybatch::{BatchBackend, JobSpec, JobState, Placement, StatusOptions,
    ///     SubmitJobOptions, TaskId, TaskSpec, TerminateDisposition, TerminateJobOptions};
    ///
    /// let backend = InMemoryBackend::aws();
    /// let placement = Placement::AwsJobQueue {
    ///     job_queue: "polybatch-queue".into(),
    ///     job_definition: "polybatch-job".into(),
    /// };
    /// let task = TaskSpec::shell(TaskId::new("work")?, "true").with_env("POLYBATCH_RUN_SECONDS", "60");
    /// let job = backend
    ///     .submit_job(JobSpec::new("demo", placement, vec![task]), SubmitJobOptions::default())
    ///     .await?
    ///     .job;
    /// tokio::time::advance(Duration::from_secs(5)).await;
    /// let status = backend.job_status(&job, StatusOptions::default()).await?;
    /// assert_eq!((status.state, status.provider_state.as_str()), (JobState::Running, "RUNNING"));
    /// let stopped = backend.terminate_job(&job, TerminateJobOptions::default()).await?;
    /// assert_eq!(stopped.disposition, TerminateDisposition::Accepted);
    /// # Ok(()) }
    /// ```
    pub fn aws() -> Self {
        let mut backend = InMemoryBackend::new();
        backend.flavour = Flavour::Aws;
        backend.capabilities = crate::translate::aws::capabilities();
        backend
    }

    /// Which provider's rules this backend follows.
    pub fn flavour(&self) -> Flavour {
        self.flavour
    }

    /// This handle with different capabilities (the state stays shared with other clones):
    /// unsupported operations and options then fail with `Unsupported` before anything is
    /// executed, and are journaled with `executed: false`.
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Sets the termination delay (see [`Seeder::set_termination_delay`]).
    pub fn with_termination_delay(self, delay: Duration) -> Self {
        self.store().set_termination_delay(delay);
        self
    }

    /// Seeds jobs, tasks and node records.
    pub fn seed(&self) -> Seeder<'_> {
        Seeder { backend: self }
    }

    /// Injects failures and delays into the next calls.
    pub fn faults(&self) -> Faults {
        self.shared.faults.clone()
    }

    /// Every call so far (since the last [`InMemoryBackend::clear_journal`]), in call order.
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.journal_lock().entries()
    }

    /// Forgets the journal's entries (the request count and `seq` numbers continue).
    pub fn clear_journal(&self) {
        self.journal_lock().clear();
    }

    /// How many calls reached the simulated service (journaled with `executed: true`) in the
    /// backend's lifetime: the "requests the server received" of a real backend.
    pub fn requests_seen(&self) -> u64 {
        self.journal_lock().executed()
    }

    /// Calls executing right now.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// The most calls that were ever executing at once (see
    /// [`InMemoryBackend::reset_peak_in_flight`]).
    pub fn peak_in_flight(&self) -> usize {
        self.shared.peak_in_flight.load(Ordering::SeqCst)
    }

    /// Restarts [`InMemoryBackend::peak_in_flight`] from the current in-flight count.
    pub fn reset_peak_in_flight(&self) {
        self.shared
            .peak_in_flight
            .store(self.in_flight(), Ordering::SeqCst);
    }

    // ----- plumbing -----

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        // A panic elsewhere while holding the lock cannot leave the store half-changed in a way
        // that matters more than refusing all further calls would.
        self.shared.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn tencent_store(&self) -> MutexGuard<'_, polybatch_sim::tencent::Store> {
        self.shared
            .tencent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn aws_store(&self) -> MutexGuard<'_, aws::AwsStore> {
        self.shared.aws.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn journal_lock(&self) -> MutexGuard<'_, Journal> {
        self.shared
            .journal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Journals a call refused before any I/O and hands its error back.
    fn refuse(&self, call: Call, error: &Error) {
        let entry = JournalEntry::new(call, false, false, self.now(), CallResult::failed(error));
        self.journal_lock().push(entry);
    }

    /// Runs a call that reaches the simulated service: journals it, applies injected faults,
    /// then `run`s it at the current time (it locks the simulation it needs).
    async fn execute<T>(
        &self,
        call: Call,
        run: impl FnOnce(DateTime<Utc>) -> Result<T> + Send,
    ) -> Result<T> {
        self.execute_as(call, false, run).await
    }

    /// [`Self::execute`], journaled as `nested` (made by `retry_failed_tasks`) or not.
    async fn execute_as<T>(
        &self,
        call: Call,
        nested: bool,
        run: impl FnOnce(DateTime<Utc>) -> Result<T> + Send,
    ) -> Result<T> {
        let operation = call.operation;
        let seq = {
            let entry = JournalEntry::new(call, true, nested, self.now(), CallResult::InFlight);
            self.journal_lock().push(entry)
        };
        let (delay, failure) = self.shared.faults.take(operation);
        let in_flight = InFlight::start(self, seq);
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let result = match failure {
            Some(make) => Err(make(ErrorContext::new(BACKEND, operation))),
            None => run(self.now()),
        };
        in_flight.finish(&result);
        result
    }

    async fn reactivate(
        &self,
        job: &JobId,
        task: &TaskId,
        options: ReactivateTaskOptions,
        nested: bool,
    ) -> Result<ReactivateTaskOutcome> {
        let call = Call::reactivate(job, task, options.clone());
        self.execute_as(call, nested, |now| {
            self.store()
                .reactivate(job, task, &options.preconditions, now)
        })
        .await
    }
}

#[async_trait]
impl BatchBackend for InMemoryBackend {
    fn name(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    /// Refused calls are journaled too (never executed): what a real backend must never send.
    fn on_refused(&self, call: Call, error: &Error) {
        self.refuse(call, error);
    }

    async fn terminate_job_impl(
        &self,
        job: &JobId,
        options: TerminateJobOptions,
    ) -> Result<TerminateJobOutcome> {
        let call = Call::terminate(job, options.clone());
        if self.flavour == Flavour::Aws {
            return self
                .execute(call, |now| {
                    aws::terminate(&mut self.aws_store().0, job, options.reason, now)
                })
                .await;
        }
        if self.flavour == Flavour::Tencent {
            return self
                .execute(call, |now| {
                    tencent::terminate(&mut self.tencent_store(), job, now)
                })
                .await;
        }
        self.execute(call, |now| {
            self.store().terminate(
                job,
                options.reason,
                options.force,
                &options.preconditions,
                now,
            )
        })
        .await
    }

    async fn reactivate_task_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: ReactivateTaskOptions,
    ) -> Result<ReactivateTaskOutcome> {
        if matches!(self.flavour, Flavour::Tencent | Flavour::Aws) {
            // Neither has a per-task reactivate (Tencent: whole-job RetryJobs; AWS: none).
            return Err(Error::unsupported(BACKEND, Operation::ReactivateTask));
        }
        self.reactivate(job, task, options, false).await
    }

    async fn job_status_impl(&self, job: &JobId, options: StatusOptions) -> Result<JobStatus> {
        let read = options.clone();
        let call = Call::job_status(job, options);
        if self.flavour == Flavour::Aws {
            return self
                .execute(call, |now| aws::status(&mut self.aws_store().0, job, now))
                .await;
        }
        if self.flavour == Flavour::Tencent {
            return self
                .execute(call, |now| {
                    tencent::job_status(&mut self.tencent_store(), job, now)
                })
                .await;
        }
        self.execute(call, |now| self.store().job_status(job, &read, now))
            .await
    }

    async fn task_status_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: StatusOptions,
    ) -> Result<TaskStatus> {
        let call = Call::task_status(job, task, options.clone());
        if self.flavour == Flavour::Aws {
            return self
                .execute(call, |now| {
                    aws::task(&mut self.aws_store().0, job, task, now)
                })
                .await;
        }
        if self.flavour == Flavour::Tencent {
            return self
                .execute(call, |now| {
                    tencent::task_status(&mut self.tencent_store(), job, task, now)
                })
                .await;
        }
        self.execute(call, |now| {
            self.store().task_status(job, task, &options, now)
        })
        .await
    }

    fn list_prep_release_status_impl(
        &self,
        job: &JobId,
        options: ListPrepReleaseOptions,
    ) -> PrepReleaseStream {
        let op = Operation::ListPrepReleaseStatus;
        if matches!(self.flavour, Flavour::Tencent | Flavour::Aws) {
            // Neither has job preparation or release tasks.
            return crate::backend::error_stream(Error::unsupported(BACKEND, op));
        }
        let backend = self.clone();
        let job = job.clone();
        let page_size =
            usize::try_from(options.page_size.unwrap_or(DEFAULT_PAGE_SIZE)).unwrap_or(usize::MAX);
        paginate(move |cursor: Option<(u32, String)>| {
            let backend = backend.clone();
            let job = job.clone();
            let options = options.clone();
            async move {
                let (page, after) = match cursor {
                    None => (0, None),
                    Some((page, after)) => (page, Some(after)),
                };
                let call = Call::list_prep_release(&job, options.clone(), page);
                let (items, next) = backend
                    .execute(call, |now| {
                        let ctx = || ErrorContext::new(BACKEND, op);
                        let filter = options
                            .filter
                            .as_deref()
                            .map(|f| Filter::parse(f, ctx))
                            .transpose()?;
                        let select = Select::parse(&options.select, ctx)?;
                        backend.store().prep_release_page(
                            &job,
                            filter.as_ref(),
                            &select,
                            page_size,
                            after.as_deref(),
                            now,
                        )
                    })
                    .await?;
                Ok(Page::new(
                    items,
                    next.map(|after| (page.saturating_add(1), after)),
                ))
            }
        })
        .boxed()
    }

    async fn submit_job_impl(
        &self,
        spec: &JobSpec,
        key: &IdempotencyKey,
        options: SubmitJobOptions,
    ) -> Result<SubmitJobOutcome> {
        let call = Call::submit(spec.clone(), options);
        if self.flavour == Flavour::Aws {
            return self
                .execute(call, |now| {
                    aws::submit_spec(&mut self.aws_store().0, spec, key, now)
                })
                .await;
        }
        if self.flavour == Flavour::Tencent {
            return self
                .execute(call, |now| {
                    tencent::submit_spec(&mut self.tencent_store(), spec, key, now)
                })
                .await;
        }
        self.execute(call, |now| self.store().submit(spec, key, now))
            .await
    }

    async fn job_statuses_impl(
        &self,
        jobs: &[JobId],
        options: JobStatusesOptions,
    ) -> Result<JobStatuses> {
        if self.flavour == Flavour::Aws {
            // One journaled DescribeJobs per 100 ids, as the AWS client sends them.
            let mut out = Vec::with_capacity(jobs.len());
            for chunk in jobs.chunks(crate::translate::aws::JOB_IDS_PER_REQUEST) {
                let call = Call::job_statuses(chunk.to_vec(), options.clone());
                let found = self
                    .execute(call, |now| {
                        Ok(aws::statuses(&mut self.aws_store().0, chunk, now))
                    })
                    .await?;
                out.extend(found);
            }
            return Ok(out);
        }
        if self.flavour != Flavour::Tencent {
            return Ok(job_statuses_one_by_one(self, jobs, options.concurrency).await);
        }
        // One journaled DescribeJobs per 100 ids, as the Tencent client sends them.
        let mut out = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(tencent::MAX_JOB_IDS) {
            let call = Call::job_statuses(chunk.to_vec(), options.clone());
            let found = self
                .execute(call, |now| {
                    Ok(tencent::job_statuses(&mut self.tencent_store(), chunk, now))
                })
                .await?;
            out.extend(found);
        }
        Ok(out)
    }

    async fn delete_job_impl(
        &self,
        job: &JobId,
        options: DeleteJobOptions,
    ) -> Result<DeleteJobOutcome> {
        let call = Call::delete(job, options.clone());
        if self.flavour == Flavour::Aws {
            // AWS Batch has no delete: jobs age out.
            return Err(Error::unsupported(BACKEND, Operation::DeleteJob));
        }
        if self.flavour == Flavour::Tencent {
            return self
                .execute(call, |now| {
                    tencent::delete(&mut self.tencent_store(), job, now)
                })
                .await;
        }
        self.execute(call, |now| {
            self.store().delete(job, &options.preconditions, now)
        })
        .await
    }

    fn list_jobs_impl(&self, options: ListJobsOptions) -> JobStream {
        let backend = self.clone();
        let size = options.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        paginate(move |cursor: Option<(u32, Cursor)>| {
            let backend = backend.clone();
            let options = options.clone();
            async move {
                let (page, at) = cursor.unwrap_or((0, Cursor::Start));
                let call = Call::list_jobs(options.clone(), page);
                let (items, next) = backend
                    .execute(call, |now| match (backend.flavour, at) {
                        (Flavour::Aws, at) => {
                            let offset = if let Cursor::Offset(n) = at { n } else { 0 };
                            let (items, next) = aws::jobs_page(
                                &mut backend.aws_store().0,
                                &options,
                                offset,
                                size.min(crate::translate::aws::JOB_IDS_PER_REQUEST),
                                now,
                            );
                            Ok((items, next.map(Cursor::Offset)))
                        }
                        (Flavour::Tencent, at) => {
                            let offset = if let Cursor::Offset(n) = at { n } else { 0 };
                            let (items, next) = tencent::jobs_page(
                                &mut backend.tencent_store(),
                                &options,
                                offset,
                                size.min(tencent::MAX_JOB_IDS),
                                now,
                            );
                            Ok((items, next.map(Cursor::Offset)))
                        }
                        (_, at) => {
                            let after = if let Cursor::After(k) = &at {
                                Some(k.as_str())
                            } else {
                                None
                            };
                            let (items, next) =
                                backend.store().jobs_page(&options, size, after, now)?;
                            Ok((items, next.map(Cursor::After)))
                        }
                    })
                    .await?;
                Ok(Page::new(items, next.map(|c| (page.saturating_add(1), c))))
            }
        })
        .boxed()
    }

    fn list_tasks_impl(&self, job: &JobId, options: ListTasksOptions) -> TaskStream {
        let backend = self.clone();
        let job = job.clone();
        let size = options.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        paginate(move |cursor: Option<(u32, String)>| {
            let backend = backend.clone();
            let job = job.clone();
            let options = options.clone();
            async move {
                let (page, after) = match cursor {
                    None => (0, None),
                    Some((page, after)) => (page, Some(after)),
                };
                let call = Call::list_tasks(&job, options, page);
                let (items, next) = backend
                    .execute(call, |now| {
                        if backend.flavour == Flavour::Aws {
                            let items = aws::tasks(&mut backend.aws_store().0, &job, now)?;
                            return Ok((items, None));
                        }
                        if backend.flavour == Flavour::Tencent {
                            // DescribeJob answers every task at once.
                            let items = tencent::tasks(&mut backend.tencent_store(), &job, now)?;
                            return Ok((items, None));
                        }
                        backend
                            .store()
                            .tasks_page(&job, size, after.as_deref(), now)
                    })
                    .await?;
                Ok(Page::new(items, next.map(|c| (page.saturating_add(1), c))))
            }
        })
        .boxed()
    }

    async fn export_job_impl(
        &self,
        job: &JobId,
        options: crate::options::ExportJobOptions,
    ) -> Result<crate::spec::ExportedJob> {
        let call = Call::export(job, options);
        if self.flavour == Flavour::Aws {
            return self
                .execute(call, |now| aws::export(&mut self.aws_store().0, job, now))
                .await;
        }
        if self.flavour == Flavour::Tencent {
            return self
                .execute(call, |_| tencent::export(&mut self.tencent_store(), job))
                .await;
        }
        self.execute(call, |now| self.store().export(job, now))
            .await
    }

    async fn terminate_task_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: crate::options::TerminateTaskOptions,
    ) -> Result<crate::outcome::TerminateTaskOutcome> {
        let call = Call::terminate_task(job, task, options.clone());
        if self.flavour == Flavour::Aws {
            // A job's one task is the job: terminate_job stops it.
            return Err(Error::unsupported(BACKEND, Operation::TerminateTask));
        }
        if self.flavour == Flavour::Tencent {
            return self
                .execute(call, |now| {
                    tencent::terminate_task(
                        &mut self.tencent_store(),
                        job,
                        task,
                        options.instance,
                        now,
                    )
                })
                .await;
        }
        self.execute(call, |now| {
            self.store()
                .terminate_task(job, task, &options.preconditions, now)
        })
        .await
    }

    async fn task_output_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: crate::options::TaskOutputOptions,
    ) -> Result<crate::outcome::TaskOutput> {
        let call = Call::task_output(job, task, options.clone());
        if self.flavour == Flavour::Aws {
            return self
                .execute(call, |now| {
                    aws::task_output(&mut self.aws_store().0, job, task, &options, now)
                })
                .await;
        }
        if self.flavour == Flavour::Tencent {
            return self
                .execute(call, |now| {
                    tencent::task_output(&mut self.tencent_store(), job, task, &options, now)
                })
                .await;
        }
        self.execute(call, |now| {
            self.store().task_output(job, task, &options, now)
        })
        .await
    }

    async fn retry_failed_tasks_impl(
        &self,
        job: &JobId,
        options: RetryFailedTasksOptions,
    ) -> Result<RetryFailedTasksOutcome> {
        let concurrency = options.concurrency.max(1);
        let call = Call::retry_failed(job, options);
        if self.flavour == Flavour::Aws {
            return self
                .execute(call, |now| {
                    aws::retry_failed(&mut self.aws_store().0, job, now)
                })
                .await;
        }
        if self.flavour == Flavour::Tencent {
            return self
                .execute(call, |now| {
                    tencent::retry_failed(&mut self.tencent_store(), job, now)
                })
                .await;
        }
        let failed = self
            .execute(call, |now| self.store().failed_tasks(job, now))
            .await?;
        let mut results: Vec<(TaskId, Result<ReactivateTaskOutcome>)> =
            futures::stream::iter(failed)
                .map(|task| async move {
                    let result = self
                        .reactivate(job, &task, ReactivateTaskOptions::default(), true)
                        .await;
                    (task, result)
                })
                .buffer_unordered(concurrency)
                .collect()
                .await;
        results.sort_by(|a, b| a.0.cmp(&b.0));
        let mut outcome = RetryFailedTasksOutcome::new();
        for (task, result) in results {
            match result {
                Ok(_) => outcome.retried.push(task),
                Err(error) => outcome.not_retried.push(RetryFailure::new(task, error)),
            }
        }
        Ok(outcome)
    }
}
