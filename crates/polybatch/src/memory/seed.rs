//! Putting jobs, tasks and node records into an [`InMemoryBackend`] without going through the
//! trait (what a provider's own create calls, or its scheduler, would do).

use std::time::Duration;

use super::store::SeedJobState;
use super::{Flavour, InMemoryBackend, TencentTask};
use crate::error::{Error, ErrorContext, Operation, Result};
use crate::id::{JobId, TaskId};
use crate::status::PrepReleaseStatus;

/// Seeds an [`InMemoryBackend`]; get one with [`InMemoryBackend::seed`].
///
/// Seeding follows the same rules as the service: an unknown job is `NotFound`, an existing id
/// or an illegal transition is `InvalidState`. Seeding is not journaled and ignores injected
/// faults and capabilities.
#[derive(Debug, Clone, Copy)]
pub struct Seeder<'a> {
    pub(crate) backend: &'a InMemoryBackend,
}

impl Seeder<'_> {
    fn with<T>(
        &self,
        f: impl FnOnce(&mut super::store::Store, chrono::DateTime<chrono::Utc>) -> Result<T>,
    ) -> Result<T> {
        self.flavour(Flavour::Azure)?;
        let now = self.backend.now();
        f(&mut self.backend.store(), now)
    }

    /// Seeding calls are for one flavour; on the other they would seed jobs it never reads.
    fn flavour(&self, wanted: Flavour) -> Result<()> {
        if self.backend.flavour == wanted {
            return Ok(());
        }
        Err(Error::invalid_input(
            "seed",
            format!(
                "this seeding call is for the {wanted:?} flavour; the backend is {:?}",
                self.backend.flavour
            ),
            ErrorContext::new(super::store::BACKEND, Operation::Other("seed")),
        ))
    }

    /// Tencent flavour: submits a job of `tasks` now (as `SubmitJob` would) and returns its
    /// Tencent-shaped id. From then on the job runs by itself as the clock moves.
    pub fn tencent_job(&self, tasks: &[TencentTask]) -> Result<JobId> {
        self.flavour(Flavour::Tencent)?;
        let now = self.backend.now();
        super::tencent::submit(&mut self.backend.tencent_store(), tasks, now)
    }

    /// Tencent flavour: a task's state as `DescribeTask` would say it now, without a journaled
    /// call.
    pub fn tencent_task_state(&self, job: &JobId, task: &TaskId) -> Result<String> {
        self.flavour(Flavour::Tencent)?;
        let now = self.backend.now();
        super::tencent::task_state_now(&mut self.backend.tencent_store(), job, task, now)
    }

    /// Tencent flavour: a job's state as `DescribeJob` would say it now (`SUBMITTED`, ...),
    /// without a journaled call.
    pub fn tencent_job_state(&self, job: &JobId) -> Result<String> {
        self.flavour(Flavour::Tencent)?;
        let now = self.backend.now();
        super::tencent::job_state_now(&mut self.backend.tencent_store(), job, now)
    }

    /// Adds an active job on `pool`, without job preparation or release task. An existing id
    /// is `InvalidState` with code `JobExists`.
    pub fn job(&self, job: &JobId, pool: &str) -> Result<()> {
        self.with(|s, now| s.add_job(job, pool, false, now))
    }

    /// Adds an active job on `pool` that has a job preparation and release task, so
    /// `list_prep_release_status` lists the records added with [`Seeder::prep_release_record`].
    pub fn job_with_prep_release(&self, job: &JobId, pool: &str) -> Result<()> {
        self.with(|s, now| s.add_job(job, pool, true, now))
    }

    /// Adds a pending task (Azure `active`) to an active or disabled job.
    ///
    /// Fails with `InvalidState` when the job is completed (`JobCompleted`), terminating
    /// (`JobBeingTerminated`) or being deleted (`JobBeingDeleted`), or the task exists
    /// (`TaskExists`).
    pub fn task(&self, job: &JobId, task: &TaskId) -> Result<()> {
        self.with(|s, now| s.add_task(job, task, now))
    }

    /// Starts a pending task of an active job: it becomes running.
    pub fn start_task(&self, job: &JobId, task: &TaskId) -> Result<()> {
        self.with(|s, now| s.start_task(job, task, now))
    }

    /// Completes a running task: exit code 0 succeeds, anything else fails (failure code
    /// `FailureExitCode`).
    pub fn complete_task(&self, job: &JobId, task: &TaskId, exit_code: i32) -> Result<()> {
        self.with(|s, now| s.complete_task(job, task, exit_code, now))
    }

    /// Adds a task, starts it and completes it with `exit_code`, in one step.
    pub fn finished_task(&self, job: &JobId, task: &TaskId, exit_code: i32) -> Result<()> {
        self.with(|s, now| {
            s.add_task(job, task, now)?;
            s.start_task(job, task, now)?;
            s.complete_task(job, task, exit_code, now)
        })
    }

    /// Sets how many times the service has retried a task (reactivation resets it to 0).
    pub fn set_task_retry_count(&self, job: &JobId, task: &TaskId, retry_count: u32) -> Result<()> {
        self.with(|s, now| s.set_retry_count(job, task, retry_count, now))
    }

    /// Adds (or replaces, by node id) one node's preparation/release record. The job must have
    /// been seeded with [`Seeder::job_with_prep_release`], else `InvalidState` with code
    /// `JobPreparationTaskNotSpecified`.
    pub fn prep_release_record(&self, job: &JobId, record: PrepReleaseStatus) -> Result<()> {
        self.with(|s, now| s.add_prep_release_record(job, record, now))
    }

    /// Disables an active job (Azure `disabled`): no task starts; it can still be terminated.
    pub fn disable_job(&self, job: &JobId) -> Result<()> {
        self.with(|s, now| s.set_job_phase(job, SeedJobState::Disabled, now))
    }

    /// Re-enables a disabled job.
    pub fn enable_job(&self, job: &JobId) -> Result<()> {
        self.with(|s, now| s.set_job_phase(job, SeedJobState::Enabled, now))
    }

    /// Marks a job as being deleted (Azure `deleting`): terminate and reactivate then fail
    /// with code `JobBeingDeleted`.
    pub fn set_job_state_deleting(&self, job: &JobId) -> Result<()> {
        self.with(|s, now| s.set_job_phase(job, SeedJobState::Deleting, now))
    }

    /// Completes an active or disabled job as the service does when all its tasks are done
    /// (terminate reason `AllTasksComplete`); unfinished tasks end as when terminated.
    pub fn complete_job(&self, job: &JobId) -> Result<()> {
        self.with(|s, now| {
            s.set_job_phase(job, SeedJobState::Completed("AllTasksComplete".into()), now)
        })
    }

    /// Removes a job and its tasks (as a finished delete would).
    pub fn remove_job(&self, job: &JobId) -> Result<()> {
        self.with(|s, _| s.remove_job(job))
    }

    /// How long an accepted terminate stays `terminating` before the job is `completed`
    /// (default zero: completed at once). Applies to terminations accepted from now on;
    /// completion is observed lazily from the clock on the next access.
    pub fn set_termination_delay(&self, delay: Duration) {
        self.backend.store().set_termination_delay(delay);
    }
}
