//! Conveniences built on the required trait methods.

use async_trait::async_trait;
use futures::TryStreamExt;
use tokio::time::Instant;

use crate::backend::BatchBackend;
use crate::error::{Error, ErrorContext, Operation, Result};
use crate::id::{JobId, TaskId};
use crate::options::{ListPrepReleaseOptions, StatusOptions, TerminateJobOptions, WaitOptions};
use crate::status::{JobStatus, PrepReleaseStatus, TaskStatus};

/// Conveniences for every [`BatchBackend`].
///
/// Blanket-implemented; you must not implement this trait yourself. Waiting uses
/// `tokio::time`, so tests with a paused clock run instantly.
#[async_trait]
pub trait BatchBackendExt: BatchBackend {
    /// Terminates the job, then polls its status every `wait.interval` until it is terminal.
    ///
    /// Fails with [`Error::Timeout`] if it is not terminal within `wait.deadline`.
    async fn terminate_job_and_wait(
        &self,
        job: &JobId,
        options: TerminateJobOptions,
        wait: WaitOptions,
    ) -> Result<JobStatus> {
        self.terminate_job(job, options).await?;
        wait_until(self.name(), Operation::TerminateJob, wait, || async {
            let status = self.job_status(job, StatusOptions::default()).await?;
            Ok((status.state.is_terminal(), status.state.as_str(), status))
        })
        .await
    }

    /// Polls the job until it is terminal.
    async fn wait_for_job(&self, job: &JobId, wait: WaitOptions) -> Result<JobStatus> {
        wait_until(self.name(), Operation::JobStatus, wait, || async {
            let status = self.job_status(job, StatusOptions::default()).await?;
            Ok((status.state.is_terminal(), status.state.as_str(), status))
        })
        .await
    }

    /// Polls the task until it is terminal.
    async fn wait_for_task(
        &self,
        job: &JobId,
        task: &TaskId,
        wait: WaitOptions,
    ) -> Result<TaskStatus> {
        wait_until(self.name(), Operation::TaskStatus, wait, || async {
            let status = self
                .task_status(job, task, StatusOptions::default())
                .await?;
            Ok((status.state.is_terminal(), status.state.as_str(), status))
        })
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

/// Polls `check` until it reports done, sleeping `wait.interval` between polls.
async fn wait_until<T, F, Fut>(
    backend: &'static str,
    operation: Operation,
    wait: WaitOptions,
    mut check: F,
) -> Result<T>
where
    F: FnMut() -> Fut + Send,
    Fut: std::future::Future<Output = Result<(bool, &'static str, T)>> + Send,
    T: Send,
{
    let deadline = Instant::now() + wait.deadline;
    loop {
        let (done, state, value) = check().await?;
        if done {
            return Ok(value);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::timeout(
                ErrorContext::new(backend, operation).with_message(format!(
                    "not terminal after waiting {} ms (last state: {state})",
                    wait.deadline.as_millis()
                )),
            ));
        }
        tokio::time::sleep(wait.interval.min(deadline - now)).await;
    }
}
