//! Conveniences built on the required trait methods.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::TryStreamExt;
use tokio::time::Instant;

use crate::backend::BatchBackend;
use crate::error::{Error, ErrorContext, Operation, ResourceKind, Result};
use crate::id::{JobId, TaskId};
use crate::options::{ListPrepReleaseOptions, StatusOptions, TerminateJobOptions, WaitOptions};
use crate::state::JobState;
use crate::status::{JobStatus, PrepReleaseStatus, TaskStatus};

/// Conveniences for every [`BatchBackend`].
///
/// Blanket-implemented; you must not implement this trait yourself. Waiting uses
/// `tokio::time`, so tests with a paused clock run instantly.
#[async_trait]
pub trait BatchBackendExt: BatchBackend {
    /// Terminates the job, then polls its status every `wait.interval` until the termination
    /// is over, all within `wait.deadline`.
    ///
    /// - A terminate refused with a retryable error (Tencent refuses to terminate a job while
    ///   it is still `SUBMITTED`) is tried again every `wait.interval`, so "submit, then
    ///   cancel" works: the job is terminated as soon as the provider allows it.
    /// - The termination is over when the job is terminal, is being deleted, or was seen
    ///   [`JobState::Terminating`](crate::JobState::Terminating) and no longer is — as the
    ///   official Azure SDKs' pollers decide it (Python `TerminateJobPollingMethod`, .NET
    ///   `TerminateJobOperation`: done once the state is not `terminating`).
    /// - A job that disappears while waiting (not found: it was deleted) ends the wait
    ///   successfully, as those pollers treat a 404; the status returned is then
    ///   [`JobState::Deleting`](crate::JobState::Deleting) with an empty `provider_state`
    ///   (the provider has nothing more to report).
    ///
    /// Fails with [`Error::Timeout`] if the termination is not over within `wait.deadline`,
    /// and with the terminate's error if it is not retryable (or still refused at the
    /// deadline).
    async fn terminate_job_and_wait(
        &self,
        job: &JobId,
        options: TerminateJobOptions,
        wait: WaitOptions,
    ) -> Result<JobStatus> {
        let deadline = Instant::now() + wait.deadline;
        loop {
            match self.terminate_job(job, options.clone()).await {
                Ok(_) => break,
                Err(e) if e.is_retryable() && Instant::now() < deadline => {
                    tracing::debug!(
                        backend = self.name(),
                        %job,
                        error = %e,
                        "terminate refused for now; trying again"
                    );
                    sleep_towards(wait.interval, deadline).await;
                }
                Err(e) => return Err(e),
            }
        }
        // Whether a poll saw the job terminating (shared with the polls' futures).
        let seen_terminating = AtomicBool::new(false);
        let seen = &seen_terminating;
        let what = "the termination is not over";
        wait_until(
            self.name(),
            Operation::TerminateJob,
            wait,
            deadline,
            what,
            || async move {
                match self.job_status(job, StatusOptions::default()).await {
                    Ok(status) => {
                        let terminating = status.state == JobState::Terminating;
                        let was_terminating = seen.load(Ordering::Relaxed) || terminating;
                        seen.store(was_terminating, Ordering::Relaxed);
                        let done = status.state.is_terminal()
                            || status.state == JobState::Deleting
                            || (was_terminating && !terminating);
                        Ok((done, status.state.as_str(), status))
                    }
                    Err(Error::NotFound {
                        resource: ResourceKind::Job,
                        ..
                    }) => Ok((
                        true,
                        "deleted",
                        JobStatus::new(job.clone(), JobState::Deleting, ""),
                    )),
                    Err(e) => Err(e),
                }
            },
        )
        .await
    }

    /// Polls the job until it is terminal.
    async fn wait_for_job(&self, job: &JobId, wait: WaitOptions) -> Result<JobStatus> {
        let deadline = Instant::now() + wait.deadline;
        wait_until(
            self.name(),
            Operation::JobStatus,
            wait,
            deadline,
            NOT_TERMINAL,
            || async {
                let status = self.job_status(job, StatusOptions::default()).await?;
                Ok((status.state.is_terminal(), status.state.as_str(), status))
            },
        )
        .await
    }

    /// Polls the task until it is terminal.
    async fn wait_for_task(
        &self,
        job: &JobId,
        task: &TaskId,
        wait: WaitOptions,
    ) -> Result<TaskStatus> {
        let deadline = Instant::now() + wait.deadline;
        wait_until(
            self.name(),
            Operation::TaskStatus,
            wait,
            deadline,
            NOT_TERMINAL,
            || async {
                let status = self
                    .task_status(job, task, StatusOptions::default())
                    .await?;
                Ok((status.state.is_terminal(), status.state.as_str(), status))
            },
        )
        .await
    }

    /// Collects every page of [`BatchBackend::list_prep_release_status`].
    async fn collect_prep_release_status(
        &self,
        job: &JobId,
        options: ListPrepReleaseOptions,
    ) -> Result<Vec<PrepReleaseStatus>> {
        self.list_prep_release_status(job, options)
            .try_collect()
            .await
    }
}

impl<T: BatchBackend + ?Sized> BatchBackendExt for T {}

/// What a wait for a terminal state reports at its deadline.
const NOT_TERMINAL: &str = "not terminal";

/// Sleeps `interval`, or until `deadline` if that comes first.
async fn sleep_towards(interval: Duration, deadline: Instant) {
    let left = deadline.saturating_duration_since(Instant::now());
    tokio::time::sleep(interval.min(left)).await;
}

/// Polls `check` until it reports done, sleeping `wait.interval` between polls, until
/// `deadline` (then fails with a timeout saying `what`).
async fn wait_until<T, F, Fut>(
    backend: &'static str,
    operation: Operation,
    wait: WaitOptions,
    deadline: Instant,
    what: &'static str,
    mut check: F,
) -> Result<T>
where
    F: FnMut() -> Fut + Send,
    Fut: std::future::Future<Output = Result<(bool, &'static str, T)>> + Send,
    T: Send,
{
    loop {
        let (done, state, value) = check().await?;
        if done {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            return Err(Error::timeout(
                ErrorContext::new(backend, operation).with_message(format!(
                    "{what} after waiting {} ms (last state: {state})",
                    wait.deadline.as_millis()
                )),
            ));
        }
        sleep_towards(wait.interval, deadline).await;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::fmt;
    use std::sync::Mutex;
    use std::sync::atomic::AtomicU32;

    use super::*;
    use crate::capability::Capabilities;
    use crate::memory::{InMemoryBackend, TencentTask};
    use crate::options::{ReactivateTaskOptions, RetryFailedTasksOptions};
    use crate::outcome::{
        ReactivateTaskOutcome, RetryFailedTasksOutcome, TerminateDisposition, TerminateJobOutcome,
    };

    /// What the scripted backend answers to one call.
    type Answer<T> = std::result::Result<T, fn() -> Error>;

    /// A backend answering terminate and job status from scripts (the last answer repeats),
    /// counting the calls.
    #[derive(Default)]
    struct Scripted {
        terminates: Mutex<VecDeque<Answer<TerminateDisposition>>>,
        statuses: Mutex<VecDeque<Answer<JobState>>>,
        terminate_calls: AtomicU32,
        status_calls: AtomicU32,
    }

    impl fmt::Debug for Scripted {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("Scripted")
        }
    }

    impl fmt::Display for Scripted {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("Scripted")
        }
    }

    fn next<T: Copy>(script: &Mutex<VecDeque<Answer<T>>>) -> Answer<T> {
        let mut s = script.lock().unwrap();
        if s.len() > 1 {
            s.pop_front().unwrap()
        } else {
            *s.front().unwrap()
        }
    }

    impl Scripted {
        fn new(
            terminates: Vec<Answer<TerminateDisposition>>,
            statuses: Vec<Answer<JobState>>,
        ) -> Self {
            Scripted {
                terminates: Mutex::new(terminates.into()),
                statuses: Mutex::new(statuses.into()),
                ..Scripted::default()
            }
        }

        fn calls(&self) -> (u32, u32) {
            (
                self.terminate_calls.load(Ordering::SeqCst),
                self.status_calls.load(Ordering::SeqCst),
            )
        }
    }

    fn submitted() -> Error {
        Error::service(
            None,
            true,
            ErrorContext::new("scripted", Operation::TerminateJob)
                .with_code("UnsupportedOperation")
                .with_message("still SUBMITTED; retry once it has left"),
        )
    }

    fn gone() -> Error {
        Error::not_found(
            ResourceKind::Job,
            "j",
            ErrorContext::new("scripted", Operation::JobStatus),
        )
    }

    fn refused() -> Error {
        Error::invalid_state(None, ErrorContext::new("scripted", Operation::TerminateJob))
    }

    #[async_trait]
    impl BatchBackend for Scripted {
        fn name(&self) -> &'static str {
            "scripted"
        }

        fn capabilities(&self) -> Capabilities {
            Capabilities::all()
        }

        async fn terminate_job_impl(
            &self,
            _job: &JobId,
            _options: TerminateJobOptions,
        ) -> Result<TerminateJobOutcome> {
            self.terminate_calls.fetch_add(1, Ordering::SeqCst);
            next(&self.terminates)
                .map(TerminateJobOutcome::new)
                .map_err(|e| e())
        }

        async fn reactivate_task_impl(
            &self,
            _job: &JobId,
            _task: &TaskId,
            _options: ReactivateTaskOptions,
        ) -> Result<ReactivateTaskOutcome> {
            Err(Error::unsupported("scripted", Operation::ReactivateTask))
        }

        async fn job_status_impl(&self, job: &JobId, _options: StatusOptions) -> Result<JobStatus> {
            self.status_calls.fetch_add(1, Ordering::SeqCst);
            next(&self.statuses)
                .map(|s| JobStatus::new(job.clone(), s, s.as_str()))
                .map_err(|e| e())
        }

        async fn task_status_impl(
            &self,
            _job: &JobId,
            _task: &TaskId,
            _options: StatusOptions,
        ) -> Result<TaskStatus> {
            Err(Error::unsupported("scripted", Operation::TaskStatus))
        }

        fn list_prep_release_status_impl(
            &self,
            _job: &JobId,
            _options: ListPrepReleaseOptions,
        ) -> crate::PrepReleaseStream {
            crate::error_stream(Error::unsupported(
                "scripted",
                Operation::ListPrepReleaseStatus,
            ))
        }

        async fn retry_failed_tasks_impl(
            &self,
            _job: &JobId,
            _options: RetryFailedTasksOptions,
        ) -> Result<RetryFailedTasksOutcome> {
            Err(Error::unsupported("scripted", Operation::RetryFailedTasks))
        }
    }

    fn job() -> JobId {
        JobId::new("j").unwrap()
    }

    fn every_second_for(secs: u64) -> WaitOptions {
        WaitOptions::new(Duration::from_secs(1), Duration::from_secs(secs))
    }

    async fn terminate_and_wait(b: &Scripted, wait: WaitOptions) -> Result<JobStatus> {
        b.terminate_job_and_wait(&job(), TerminateJobOptions::default(), wait)
            .await
    }

    #[tokio::test(start_paused = true)]
    async fn a_retryable_refusal_is_retried_then_the_termination_awaited() {
        let b = Scripted::new(
            vec![
                Err(submitted),
                Err(submitted),
                Ok(TerminateDisposition::Accepted),
            ],
            vec![Ok(JobState::Terminating), Ok(JobState::Failed)],
        );
        let s = terminate_and_wait(&b, every_second_for(60)).await.unwrap();
        assert_eq!(s.state, JobState::Failed);
        assert_eq!(b.calls(), (3, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_still_there_at_the_deadline_is_returned() {
        let b = Scripted::new(vec![Err(submitted)], vec![Ok(JobState::Failed)]);
        let e = terminate_and_wait(&b, every_second_for(5))
            .await
            .unwrap_err();
        assert!(e.is_retryable(), "{e:?}");
        assert_eq!(e.code(), Some("UnsupportedOperation"));
        // Tries at 0, 1, 2, 3, 4 and 5 s; the one at the deadline is the last.
        assert_eq!(b.calls(), (6, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_permanent_refusal_is_returned_at_once() {
        let b = Scripted::new(vec![Err(refused)], vec![Ok(JobState::Failed)]);
        let e = terminate_and_wait(&b, every_second_for(60))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidState { .. }), "{e:?}");
        assert_eq!(b.calls(), (1, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn the_wait_ends_once_the_job_is_no_longer_terminating() {
        // As the SDKs' pollers: terminating, then anything else (here disabled) is the end.
        let b = Scripted::new(
            vec![Ok(TerminateDisposition::Accepted)],
            vec![Ok(JobState::Terminating), Ok(JobState::Disabled)],
        );
        let s = terminate_and_wait(&b, every_second_for(60)).await.unwrap();
        assert_eq!(s.state, JobState::Disabled);
        assert_eq!(b.calls(), (1, 2));

        // Being deleted ends it too, seen terminating or not.
        let b = Scripted::new(
            vec![Ok(TerminateDisposition::Accepted)],
            vec![Ok(JobState::Deleting)],
        );
        let s = terminate_and_wait(&b, every_second_for(60)).await.unwrap();
        assert_eq!(s.state, JobState::Deleting);
        assert_eq!(b.calls(), (1, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_job_not_yet_terminating_is_polled_on() {
        // A provider that shows the terminate late (Tencent's NextAction) is not "done".
        let b = Scripted::new(
            vec![Ok(TerminateDisposition::Accepted)],
            vec![
                Ok(JobState::Running),
                Ok(JobState::Terminating),
                Ok(JobState::Failed),
            ],
        );
        let s = terminate_and_wait(&b, every_second_for(60)).await.unwrap();
        assert_eq!(s.state, JobState::Failed);
        assert_eq!(b.calls(), (1, 3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_job_that_vanishes_while_waiting_was_deleted() {
        let b = Scripted::new(
            vec![Ok(TerminateDisposition::Accepted)],
            vec![Ok(JobState::Terminating), Err(gone)],
        );
        let s = terminate_and_wait(&b, every_second_for(60)).await.unwrap();
        assert_eq!(s.state, JobState::Deleting);
        assert_eq!(s.provider_state, "");
        assert_eq!(s.job_id, job());
        assert_eq!(b.calls(), (1, 2));

        // Not found on the terminate itself is still an error: there was nothing to wait for.
        let b = Scripted::new(vec![Err(gone)], vec![Ok(JobState::Failed)]);
        let e = terminate_and_wait(&b, every_second_for(60))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_termination_never_over_times_out_at_the_deadline() {
        let b = Scripted::new(
            vec![Ok(TerminateDisposition::Accepted)],
            vec![Ok(JobState::Terminating)],
        );
        let e = terminate_and_wait(&b, every_second_for(3))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
        assert!(e.message().contains("terminating"), "{e}");
        // Polls at 0, 1, 2 and 3 s.
        assert_eq!(b.calls(), (1, 4));
    }

    #[tokio::test(start_paused = true)]
    async fn submit_then_cancel_works_on_the_tencent_flavour() {
        let b = InMemoryBackend::tencent();
        let work =
            TencentTask::new(&TaskId::new("work").unwrap()).runs(Duration::from_secs(3600), 0);
        let job = b.seed().tencent_job(&[work]).unwrap();
        let s = b
            .terminate_job_and_wait(
                &job,
                TerminateJobOptions::default(),
                WaitOptions::new(Duration::from_millis(500), Duration::from_secs(60)),
            )
            .await
            .unwrap();
        assert_eq!(s.state, JobState::Failed);
        let terminates = b
            .journal()
            .iter()
            .filter(|e| e.operation == Operation::TerminateJob)
            .count();
        assert!(terminates >= 2, "refused while SUBMITTED, then accepted");
    }
}
