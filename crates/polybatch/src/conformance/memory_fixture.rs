//! The [`Fixture`] of [`InMemoryBackend`]: the situations the suite asks for, seeded directly.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::Fixture;
use crate::backend::BatchBackend;
use crate::error::{Error, ErrorContext, Operation, Result};
use crate::id::{JobId, TaskId};
use crate::memory::{Flavour, InMemoryBackend, TencentTask};
use crate::options::{StatusOptions, SubmitJobOptions};
use crate::spec::{JobSpec, Placement, TaskSpec};
use crate::state::{PrepReleaseState, TaskResult};
use crate::status::{PrepReleaseExecution, PrepReleaseStatus};

/// How long a Tencent task that "keeps running until terminated" runs.
const FOREVER: Duration = Duration::from_secs(30 * 24 * 3600);

/// How far the fixture moves tokio's (paused) clock per look at a Tencent job, and how many
/// looks a situation may take.
const STEP: Duration = Duration::from_secs(1);
const MAX_STEPS: usize = 600;

/// Seeds an `InMemoryBackend` (through a clone sharing its state) with fresh ids every time,
/// in the backend's flavour (AWS: as Tencent, through submits and the clock): the Azure flavour directly into the wanted state, the Tencent
/// flavour by submitting jobs and moving tokio's clock until they get there (the clock must be
/// paused).
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

/// The Tencent flavour's situations, as `tests/` builds them on the emulator.
impl MemoryFixture {
    fn tencent(&self) -> bool {
        self.backend.flavour() == Flavour::Tencent
    }

    fn task(&self, name: &str, secs: Duration, exit_code: i64) -> Result<TencentTask> {
        let name = TaskId::new(name)?;
        Ok(TencentTask::new(&name).runs(secs, exit_code))
    }

    /// Moves the clock until `reached` says yes.
    async fn until(&self, what: &str, reached: impl Fn() -> Result<bool>) -> Result<()> {
        for _ in 0..MAX_STEPS {
            if reached()? {
                return Ok(());
            }
            tokio::time::advance(STEP).await;
        }
        Err(Error::invalid_state(
            None,
            ErrorContext::new(self.backend.name(), Operation::Other("fixture"))
                .with_message(format!("{what} not reached within {MAX_STEPS} s")),
        ))
    }

    async fn tencent_job(&self, tasks: &[TencentTask], state: &str) -> Result<JobId> {
        let seed = self.backend.seed();
        let job = seed.tencent_job(tasks)?;
        self.until(state, || Ok(seed.tencent_job_state(&job)? == state))
            .await?;
        Ok(job)
    }

    async fn tencent_situation(&self, which: &str) -> Result<(JobId, TaskId)> {
        let first = |tasks: &[TencentTask]| tasks.first().map(|t| t.name.clone());
        let (tasks, state) = match which {
            "running" => (vec![self.task("work", FOREVER, 0)?], "RUNNING"),
            "completed" => (vec![self.task("work", STEP, 0)?], "SUCCEED"),
            "failed" => (vec![self.task("broken", STEP, 3)?], "FAILED"),
            _ => {
                // One task done, the job still running.
                let tasks = vec![self.task("quick", STEP, 0)?, self.task("long", FOREVER, 0)?];
                let seed = self.backend.seed();
                let job = seed.tencent_job(&tasks)?;
                let quick = TaskId::new("quick")?;
                self.until("a succeeded task", || {
                    Ok(seed.tencent_task_state(&job, &quick)? == "SUCCEED")
                })
                .await?;
                return Ok((job, quick));
            }
        };
        let task = first(&tasks).ok_or_else(|| {
            Error::invalid_input(
                "tasks",
                "empty",
                ErrorContext::new(self.backend.name(), Operation::Other("fixture")),
            )
        })?;
        Ok((self.tencent_job(&tasks, state).await?, task))
    }
}

/// The AWS flavour's situations, as `tests/` builds them on the emulator: jobs submitted
/// through the trait and tokio's clock moved until they get there.
impl MemoryFixture {
    fn aws(&self) -> bool {
        self.backend.flavour() == Flavour::Aws
    }

    fn aws_spec(&self, name: &str, secs: u64, exit_code: i64, instances: u32) -> Result<JobSpec> {
        let task = TaskSpec::shell(TaskId::new("work")?, "true")
            .with_env(
                polybatch_protocol::sim_env::RUN_SECONDS_VAR,
                secs.to_string(),
            )
            .with_env(
                polybatch_protocol::sim_env::EXIT_CODE_VAR,
                exit_code.to_string(),
            );
        let mut task = task;
        task.instance_count = instances;
        Ok(JobSpec::new(name, aws_placement(), vec![task]))
    }

    async fn aws_job(&self, spec: JobSpec, reached: impl Fn(&str) -> bool) -> Result<JobId> {
        let job = self
            .backend
            .submit_job(spec, SubmitJobOptions::default())
            .await?
            .job;
        for _ in 0..MAX_STEPS {
            let s = self
                .backend
                .job_status(&job, StatusOptions::default())
                .await?;
            if reached(&s.provider_state) {
                return Ok(job);
            }
            tokio::time::advance(STEP).await;
        }
        Err(Error::invalid_state(
            None,
            ErrorContext::new(self.backend.name(), Operation::Other("fixture")).with_message(
                format!("{job} did not reach its state within {MAX_STEPS} s"),
            ),
        ))
    }

    async fn aws_situation(&self, which: &str) -> Result<(JobId, TaskId)> {
        let zero = TaskId::new("0")?;
        let forever = FOREVER.as_secs();
        let job = match which {
            "running" => {
                self.aws_job(self.aws_spec("running", forever, 0, 1)?, |s| s == "RUNNING")
                    .await?
            }
            "completed" => {
                self.aws_job(self.aws_spec("completed", 1, 0, 1)?, |s| s == "SUCCEEDED")
                    .await?
            }
            "failed" => {
                self.aws_job(self.aws_spec("failed", 1, 3, 1)?, |s| s == "FAILED")
                    .await?
            }
            _ => {
                // Two children one after the other: the first succeeded, the second runs.
                let mut spec = self.aws_spec("half-done", 60, 0, 2)?;
                spec.extensions.insert(
                    "aws".into(),
                    serde_json::json!({"dependsOn": [{"type": "SEQUENTIAL"}]}),
                );
                let job = self.aws_job(spec, |s| s == "PENDING").await?;
                for _ in 0..MAX_STEPS {
                    let t = self
                        .backend
                        .task_status(&job, &zero, StatusOptions::default())
                        .await?;
                    if t.provider_state == "SUCCEEDED" {
                        return Ok((job, zero));
                    }
                    tokio::time::advance(STEP).await;
                }
                return Err(Error::invalid_state(
                    None,
                    ErrorContext::new(self.backend.name(), Operation::Other("fixture"))
                        .with_message("the first child did not succeed"),
                ));
            }
        };
        Ok((job, zero))
    }
}

/// Where the AWS flavour runs jobs: the simulation's seeded queue and definition (pinned to
/// its revision, as an export gives it back).
fn aws_placement() -> Placement {
    Placement::AwsJobQueue {
        job_queue: polybatch_sim::aws::SEEDED_QUEUE.into(),
        job_definition: format!("{}:1", polybatch_sim::aws::SEEDED_JOB_DEFINITION),
    }
}

#[async_trait]
impl Fixture for MemoryFixture {
    async fn running_job(&self) -> Result<(JobId, TaskId)> {
        if self.aws() {
            return self.aws_situation("running").await;
        }
        if self.tencent() {
            return self.tencent_situation("running").await;
        }
        let (job, task) = self.ids();
        let seed = self.backend.seed();
        seed.job(&job, "pool-1")?;
        seed.task(&job, &task)?;
        seed.start_task(&job, &task)?;
        Ok((job, task))
    }

    async fn completed_job(&self) -> Result<JobId> {
        if self.aws() {
            return Ok(self.aws_situation("completed").await?.0);
        }
        if self.tencent() {
            return Ok(self.tencent_situation("completed").await?.0);
        }
        let (job, task) = self.ids();
        let seed = self.backend.seed();
        seed.job(&job, "pool-1")?;
        seed.finished_task(&job, &task, 0)?;
        seed.complete_job(&job)?;
        Ok(job)
    }

    async fn job_with_failed_task(&self) -> Result<(JobId, TaskId)> {
        if self.aws() {
            return self.aws_situation("failed").await;
        }
        if self.tencent() {
            return self.tencent_situation("failed").await;
        }
        let (job, task) = self.ids();
        let seed = self.backend.seed();
        seed.job(&job, "pool-1")?;
        seed.finished_task(&job, &task, 3)?;
        seed.set_task_retry_count(&job, &task, 2)?;
        Ok((job, task))
    }

    async fn job_with_succeeded_task(&self) -> Result<(JobId, TaskId)> {
        if self.aws() {
            return self.aws_situation("succeeded task").await;
        }
        if self.tencent() {
            return self.tencent_situation("succeeded task").await;
        }
        let (job, task) = self.ids();
        let seed = self.backend.seed();
        seed.job(&job, "pool-1")?;
        seed.finished_task(&job, &task, 0)?;
        Ok((job, task))
    }

    async fn job_with_prep_release(&self, nodes: usize) -> Result<JobId> {
        if self.tencent() || self.aws() {
            // Tencent has no preparation/release tasks; the suite never asks here.
            return Err(Error::unsupported(
                self.backend.name(),
                Operation::ListPrepReleaseStatus,
            ));
        }
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

    fn placement(&self) -> Option<Placement> {
        Some(if self.aws() {
            aws_placement()
        } else if self.tencent() {
            Placement::TencentManaged {
                zone: format!("{}-3", crate::memory::TENCENT_REGION),
                instance_type: "S5.MEDIUM2".into(),
                image_id: "img-polybatch".into(),
            }
        } else {
            Placement::AzurePool {
                pool_id: "pool-1".into(),
            }
        })
    }
}
