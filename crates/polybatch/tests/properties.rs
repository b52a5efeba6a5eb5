//! Property tests of the in-memory state machine: random sequences of operations (trait calls,
//! seeding, passing time) on a seeded backend.
//!
//! - No operation moves a job or task out of a terminal state, except a legal reactivation of
//!   a failed task (which makes it pending).
//! - ETags never repeat: an ETag belongs to one resource, and once replaced never returns; a
//!   resource whose state changed has a new ETag.
//! - The journal lists the calls in the order they were made.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::TryStreamExt;
use polybatch::memory::InMemoryBackend;
use polybatch::{
    BatchBackend, Error, JobId, JobState, ListPrepReleaseOptions, Operation, ReactivateTaskOptions,
    RetryFailedTasksOptions, StatusOptions, TaskId, TaskState, TerminateJobOptions,
};
use proptest::prelude::*;

const JOBS: usize = 3;
const TASKS: usize = 4;

#[derive(Debug, Clone)]
enum Op {
    Terminate {
        job: usize,
        force: bool,
    },
    Reactivate {
        job: usize,
        task: usize,
    },
    RetryFailed {
        job: usize,
    },
    List {
        job: usize,
        page_size: u32,
    },
    AddTask {
        job: usize,
        task: usize,
    },
    StartTask {
        job: usize,
        task: usize,
    },
    CompleteTask {
        job: usize,
        task: usize,
        exit_code: i32,
    },
    DisableJob {
        job: usize,
    },
    EnableJob {
        job: usize,
    },
    CompleteJob {
        job: usize,
    },
    Advance {
        secs: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let j = 0..JOBS;
    let t = 0..TASKS;
    prop_oneof![
        1 => (j.clone(), any::<bool>()).prop_map(|(job, force)| Op::Terminate { job, force }),
        3 => (j.clone(), t.clone()).prop_map(|(job, task)| Op::Reactivate { job, task }),
        1 => j.clone().prop_map(|job| Op::RetryFailed { job }),
        1 => (j.clone(), 1..4u32).prop_map(|(job, page_size)| Op::List { job, page_size }),
        3 => (j.clone(), t.clone()).prop_map(|(job, task)| Op::AddTask { job, task }),
        3 => (j.clone(), t.clone()).prop_map(|(job, task)| Op::StartTask { job, task }),
        3 => (j.clone(), t.clone(), prop_oneof![Just(0), Just(1), Just(137)])
            .prop_map(|(job, task, exit_code)| Op::CompleteTask { job, task, exit_code }),
        1 => j.clone().prop_map(|job| Op::DisableJob { job }),
        1 => j.clone().prop_map(|job| Op::EnableJob { job }),
        1 => j.prop_map(|job| Op::CompleteJob { job }),
        1 => (0..15u64).prop_map(|secs| Op::Advance { secs }),
    ]
}

fn job_id(n: usize) -> JobId {
    JobId::new(format!("job-{n}")).unwrap()
}

fn task_id(n: usize) -> TaskId {
    TaskId::new(format!("task-{n}")).unwrap()
}

/// A resource: a job, or a task of a job.
type Key = (usize, Option<usize>);

/// What one observation of every resource saw.
#[derive(Debug, Clone, Default, PartialEq)]
struct Snapshot {
    jobs: HashMap<usize, JobState>,
    tasks: HashMap<(usize, usize), TaskState>,
}

/// The model's memory across observations.
#[derive(Default)]
struct Observer {
    /// Which resource each ETag ever seen belonged to.
    owners: HashMap<String, Key>,
    /// Each resource's current ETag and state.
    current: HashMap<Key, (String, String)>,
    /// ETags a resource has moved away from.
    retired: HashSet<String>,
    /// The calls made, in order: (operation, job, task).
    calls: Vec<(Operation, JobId, Option<TaskId>)>,
}

impl Observer {
    fn etag(&mut self, key: Key, etag: String, state: String) -> Result<(), TestCaseError> {
        if let Some(owner) = self.owners.insert(etag.clone(), key) {
            prop_assert_eq!(owner, key, "ETag {} seen on two resources", etag);
        }
        if let Some((old_etag, old_state)) = self.current.get(&key).cloned() {
            if old_etag != etag {
                prop_assert!(!self.retired.contains(&etag), "ETag {} came back", etag);
                self.retired.insert(old_etag);
            } else {
                prop_assert_eq!(
                    old_state,
                    state.clone(),
                    "{:?} changed state without a new ETag",
                    key
                );
            }
        }
        self.current.insert(key, (etag, state));
        Ok(())
    }

    async fn snapshot(&mut self, b: &InMemoryBackend) -> Result<Snapshot, TestCaseError> {
        let mut snap = Snapshot::default();
        for j in 0..JOBS {
            self.calls.push((Operation::JobStatus, job_id(j), None));
            let s = b
                .job_status(&job_id(j), StatusOptions::default())
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            self.etag((j, None), s.etag.unwrap().to_string(), s.provider_state)?;
            snap.jobs.insert(j, s.state);
            for t in 0..TASKS {
                self.calls
                    .push((Operation::TaskStatus, job_id(j), Some(task_id(t))));
                match b
                    .task_status(&job_id(j), &task_id(t), StatusOptions::default())
                    .await
                {
                    Ok(s) => {
                        let state = format!("{} {:?}", s.provider_state, s.result);
                        self.etag((j, Some(t)), s.etag.unwrap().to_string(), state)?;
                        snap.tasks.insert((j, t), s.state);
                    }
                    Err(Error::NotFound { .. }) => {}
                    Err(e) => return Err(TestCaseError::fail(e.to_string())),
                }
            }
        }
        Ok(snap)
    }
}

/// Applies one operation; returns the tasks it legally reactivated.
async fn apply(
    b: &InMemoryBackend,
    obs: &mut Observer,
    op: &Op,
) -> Result<Vec<(usize, usize)>, TestCaseError> {
    let seed = b.seed();
    let mut reactivated = Vec::new();
    match *op {
        Op::Terminate { job, force } => {
            obs.calls.push((Operation::TerminateJob, job_id(job), None));
            let r = b
                .terminate_job(
                    &job_id(job),
                    TerminateJobOptions::default().with_force(force),
                )
                .await;
            prop_assert!(r.is_ok(), "terminate is idempotent: {:?}", r);
        }
        Op::Reactivate { job, task } => {
            obs.calls
                .push((Operation::ReactivateTask, job_id(job), Some(task_id(task))));
            match b
                .reactivate_task(
                    &job_id(job),
                    &task_id(task),
                    ReactivateTaskOptions::default(),
                )
                .await
            {
                Ok(_) => reactivated.push((job, task)),
                Err(Error::InvalidState { .. } | Error::NotFound { .. }) => {}
                Err(e) => return Err(TestCaseError::fail(format!("reactivate: {e}"))),
            }
        }
        Op::RetryFailed { job } => {
            obs.calls
                .push((Operation::RetryFailedTasks, job_id(job), None));
            let outcome = b
                .retry_failed_tasks(&job_id(job), RetryFailedTasksOptions::default())
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            for t in outcome.retried {
                let n: usize = t.as_str().trim_start_matches("task-").parse().unwrap();
                reactivated.push((job, n));
            }
        }
        Op::List { job, page_size } => {
            obs.calls
                .push((Operation::ListPrepReleaseStatus, job_id(job), None));
            let r = b
                .list_prep_release_status(
                    &job_id(job),
                    ListPrepReleaseOptions::default().with_page_size(page_size),
                )
                .try_collect::<Vec<_>>()
                .await;
            match r {
                // Only job-0 has prep/release records: 5 of them, so ceil(5 / page_size)
                // page requests follow the first.
                Ok(records) => {
                    prop_assert_eq!(records.len(), 5);
                    for _ in 1..5u32.div_ceil(page_size) {
                        obs.calls
                            .push((Operation::ListPrepReleaseStatus, job_id(job), None));
                    }
                }
                Err(e) => prop_assert_eq!(e.code(), Some("JobPreparationTaskNotSpecified")),
            }
        }
        Op::AddTask { job, task } => {
            let _ = seed.task(&job_id(job), &task_id(task));
        }
        Op::StartTask { job, task } => {
            let _ = seed.start_task(&job_id(job), &task_id(task));
        }
        Op::CompleteTask {
            job,
            task,
            exit_code,
        } => {
            let _ = seed.complete_task(&job_id(job), &task_id(task), exit_code);
        }
        Op::DisableJob { job } => {
            let _ = seed.disable_job(&job_id(job));
        }
        Op::EnableJob { job } => {
            let _ = seed.enable_job(&job_id(job));
        }
        Op::CompleteJob { job } => {
            let _ = seed.complete_job(&job_id(job));
        }
        Op::Advance { secs } => tokio::time::advance(Duration::from_secs(secs)).await,
    }
    Ok(reactivated)
}

fn check_transition(
    before: &Snapshot,
    after: &Snapshot,
    reactivated: &[(usize, usize)],
    op: &Op,
) -> Result<(), TestCaseError> {
    for (j, state) in &before.jobs {
        if state.is_terminal() {
            prop_assert_eq!(
                after.jobs.get(j),
                Some(state),
                "job {} left {} after {:?}",
                j,
                state,
                op
            );
        }
    }
    for (key, state) in &before.tasks {
        let now = after.tasks.get(key);
        prop_assert!(now.is_some(), "task {:?} vanished after {:?}", key, op);
        if reactivated.contains(key) {
            // Legal only from failed, in a job that still accepts it.
            prop_assert_eq!(*state, TaskState::Failed, "reactivated a {} task", state);
            let job = before.jobs.get(&key.0).copied();
            prop_assert!(
                matches!(job, Some(JobState::Active | JobState::Disabled)),
                "reactivated a task of a {:?} job",
                job
            );
            prop_assert_eq!(now, Some(&TaskState::Pending));
        } else if state.is_terminal() {
            prop_assert_eq!(
                now,
                Some(state),
                "task {:?} left {} after {:?}",
                key,
                state,
                op
            );
        }
    }
    Ok(())
}

async fn run(delay_secs: u64, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let b = InMemoryBackend::new().with_termination_delay(Duration::from_secs(delay_secs));
    let seed = b.seed();
    seed.job_with_prep_release(&job_id(0), "pool-1").unwrap();
    for n in 0..5 {
        seed.prep_release_record(
            &job_id(0),
            polybatch::PrepReleaseStatus::new(format!("tvm-{n}")),
        )
        .unwrap();
    }
    for j in 1..JOBS {
        seed.job(&job_id(j), "pool-1").unwrap();
    }
    // Start with something in every state.
    seed.finished_task(&job_id(0), &task_id(0), 1).unwrap();
    seed.finished_task(&job_id(0), &task_id(1), 0).unwrap();
    seed.task(&job_id(1), &task_id(0)).unwrap();
    seed.start_task(&job_id(1), &task_id(0)).unwrap();

    let mut obs = Observer::default();
    let mut before = obs.snapshot(&b).await?;
    for op in &ops {
        let reactivated = apply(&b, &mut obs, op).await?;
        let after = obs.snapshot(&b).await?;
        check_transition(&before, &after, &reactivated, op)?;
        before = after;
    }

    let journal: Vec<(Operation, JobId, Option<TaskId>)> = b
        .journal()
        .into_iter()
        .filter(|e| !e.nested)
        .filter_map(|e| Some((e.operation, e.job?, e.task)))
        .collect();
    prop_assert_eq!(journal.len(), obs.calls.len());
    prop_assert!(
        journal == obs.calls,
        "journal order differs from call order"
    );
    let seqs: Vec<u64> = b.journal().iter().map(|e| e.seq).collect();
    prop_assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    prop_assert_eq!(b.in_flight(), 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn state_machine_invariants(
        delay_secs in prop_oneof![Just(0u64), 1..20u64],
        ops in prop::collection::vec(op(), 1..64),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(run(delay_secs, ops))?;
    }
}
