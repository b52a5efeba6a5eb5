//! The [`Fixture`] of [`InMemoryBackend`]: the situations the suite asks for, seeded directly.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::Fixture;
use crate::error::Result;
use crate::id::{JobId, TaskId};
use crate::memory::InMemoryBackend;
use crate::state::{PrepReleaseState, TaskResult};
use crate::status::{PrepReleaseExecution, PrepReleaseStatus};

/// Seeds an `InMemoryBackend` (through a clone sharing its state) with fresh ids every time.
pub struct MemoryFixture {
    backend: InMemoryBackend,
    next: AtomicU64,
}

impl MemoryFixture {
    /// A fixture seeding `backend` (and every clone of it).
    pub fn new(backend: &InMemoryBackend) -> Self {
        MemoryFixture {
            backend: backend.clone(),
            next: AtomicU64::new(1),
        }
    }

    fn ids(&self) -> (JobId, TaskId) {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let job = JobId::new(format!("job-{n:08}"));
        let task = TaskId::new(format!("task-{n}"));
        match (job, task) {
            (Ok(job), Ok(task)) => (job, task),
            (Err(e), _) | (_, Err(e)) => panic!("fixture ids are valid: {e}"),
        }
    }
}

#[async_trait]
impl Fixture for MemoryFixture {
    async fn running_job(&self) -> Result<(JobId, TaskId)> {
        let (job, task) = self.ids();
        let seed = self.backend.seed();
        seed.job(&job, "pool-1")?;
        seed.task(&job, &task)?;
        seed.start_task(&job, &task)?;
        Ok((job, task))
    }

    async fn completed_job(&self) -> Result<JobId> {
        let (job, task) = self.ids();
        let seed = self.backend.seed();
        seed.job(&job, "pool-1")?;
        seed.finished_task(&job, &task, 0)?;
        seed.complete_job(&job)?;
        Ok(job)
    }

    async fn job_with_failed_task(&self) -> Result<(JobId, TaskId)> {
        let (job, task) = self.ids();
        let seed = self.backend.seed();
        seed.job(&job, "pool-1")?;
        seed.finished_task(&job, &task, 3)?;
        seed.set_task_retry_count(&job, &task, 2)?;
        Ok((job, task))
    }

    async fn job_with_succeeded_task(&self) -> Result<(JobId, TaskId)> {
        let (job, task) = self.ids();
        let seed = self.backend.seed();
        seed.job(&job, "pool-1")?;
        seed.finished_task(&job, &task, 0)?;
        Ok((job, task))
    }

    async fn job_with_prep_release(&self, nodes: usize) -> Result<JobId> {
        let (job, _) = self.ids();
        let seed = self.backend.seed();
        seed.job_with_prep_release(&job, "pool-1")?;
        for i in 0..nodes {
            let mut record = PrepReleaseStatus::new(format!("tvm-{i:04}"));
            record.pool_id = Some("pool-1".into());
            let mut prep = PrepReleaseExecution::new(PrepReleaseState::Completed, "completed");
            prep.exit_code = Some(0);
            prep.result = Some(TaskResult::Success);
            record.preparation = Some(prep);
            seed.prep_release_record(&job, record)?;
        }
        Ok(job)
    }

    async fn advance(&self, by: Duration) {
        tokio::time::advance(by).await;
    }

    async fn requests_seen(&self) -> Option<u64> {
        Some(self.backend.requests_seen())
    }
}
