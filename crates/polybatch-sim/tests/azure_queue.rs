//! The Azure simulation keeps what falls due in a queue rather than scanning every job; these
//! property tests check, after every operation of a random history, that the queue stands for
//! the state (`Sim::queue_problem`) and that nothing due by the time reached was left undone.

use chrono::{DateTime, Duration, Utc};
use polybatch_sim::azure::{JobState, SeedJob, Sim, TaskState};
use proptest::prelude::*;
use serde_json::{Value, json};

const JOBS: usize = 3;
const TASKS: usize = 4;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).expect("a time")
}

#[derive(Debug, Clone)]
enum Op {
    AddJob {
        job: usize,
        pool: usize,
        terminate_when_done: bool,
        prep: Option<(u8, i32)>,
        release: bool,
    },
    AddTask {
        job: usize,
        task: usize,
        secs: u8,
        exit_code: i32,
        retries: i8,
        depends_on: Option<usize>,
    },
    TerminateTask(usize, usize),
    ReactivateTask(usize, usize),
    TerminateJob(usize, bool),
    DeleteJob(usize),
    Disable(usize),
    Enable(usize),
    TerminationTime(u8),
    Advance(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            0..JOBS,
            0..2usize,
            any::<bool>(),
            proptest::option::of((0..4u8, 0..2i32)),
            any::<bool>()
        )
            .prop_map(
                |(job, pool, terminate_when_done, prep, release)| Op::AddJob {
                    job,
                    pool,
                    terminate_when_done,
                    prep,
                    release,
                }
            ),
        (
            0..JOBS,
            0..TASKS,
            0..6u8,
            0..2i32,
            -1..3i8,
            proptest::option::of(0..TASKS)
        )
            .prop_map(|(job, task, secs, exit_code, retries, depends_on)| {
                Op::AddTask {
                    job,
                    task,
                    secs,
                    exit_code,
                    retries,
                    depends_on,
                }
            }),
        (0..JOBS, 0..TASKS).prop_map(|(j, t)| Op::TerminateTask(j, t)),
        (0..JOBS, 0..TASKS).prop_map(|(j, t)| Op::ReactivateTask(j, t)),
        (0..JOBS, any::<bool>()).prop_map(|(j, f)| Op::TerminateJob(j, f)),
        (0..JOBS).prop_map(Op::DeleteJob),
        (0..JOBS).prop_map(Op::Disable),
        (0..JOBS).prop_map(Op::Enable),
        (0..4u8).prop_map(Op::TerminationTime),
        (0..8_000u16).prop_map(Op::Advance),
    ]
}

fn env(secs: u8, exit_code: i32) -> Value {
    json!([
        {"name": polybatch_sim::azure::RUN_SECONDS_VAR, "value": secs.to_string()},
        {"name": polybatch_sim::azure::EXIT_CODE_VAR, "value": exit_code.to_string()},
    ])
}

fn job_id(j: usize) -> String {
    format!("job-{j}")
}

/// Applies one operation at `t`; refusals (a job that exists, a task not found) are part of
/// a random history and ignored.
fn apply(sim: &mut Sim, op: &Op, t: DateTime<Utc>) {
    match *op {
        Op::AddJob {
            job,
            pool,
            terminate_when_done,
            prep,
            release,
        } => {
            let mut body = json!({
                "id": job_id(job),
                "poolInfo": {"poolId": format!("pool-{pool}")},
                "usesTaskDependencies": true,
                "onAllTasksComplete": if terminate_when_done { "terminatejob" } else { "noaction" },
            });
            if let Some((secs, exit_code)) = prep {
                body["jobPreparationTask"] =
                    json!({"commandLine": "prep", "environmentSettings": env(secs, exit_code)});
                if release {
                    body["jobReleaseTask"] =
                        json!({"commandLine": "release", "environmentSettings": env(secs, 0)});
                }
            }
            let _ = sim.add_job(body, t);
        }
        Op::AddTask {
            job,
            task,
            secs,
            exit_code,
            retries,
            depends_on,
        } => {
            let mut body = json!({
                "id": format!("t{task}"),
                "commandLine": "run",
                "environmentSettings": env(secs, exit_code),
                "constraints": {"maxTaskRetryCount": retries},
            });
            if let Some(d) = depends_on.filter(|d| *d != task) {
                body["dependsOn"] = json!({"taskIds": [format!("t{d}")]});
            }
            let _ = sim.add_task(&job_id(job), body, t);
        }
        Op::TerminateTask(j, k) => {
            let _ = sim.terminate_task(&job_id(j), &format!("t{k}"), t);
        }
        Op::ReactivateTask(j, k) => {
            let _ = sim.reactivate_task(&job_id(j), &format!("t{k}"), t);
        }
        Op::TerminateJob(j, force) => {
            let _ = sim.terminate_job(&job_id(j), None, force, t);
        }
        Op::DeleteJob(j) => {
            let _ = sim.delete_job(&job_id(j), t);
        }
        Op::Disable(j) => {
            let _ = sim.seed_job_state(&job_id(j), SeedJob::Disable, t);
        }
        Op::Enable(j) => {
            let _ = sim.seed_job_state(&job_id(j), SeedJob::Enable, t);
        }
        Op::TerminationTime(secs) => sim.set_termination_time(Duration::seconds(secs.into())),
        Op::Advance(_) => {}
    }
    sim.advance(t);
}

/// What must hold once the simulation has reached `now`: nothing due by then is left undone.
fn nothing_overdue(sim: &Sim, now: DateTime<Utc>) -> Result<(), String> {
    for (jk, job) in sim.jobs() {
        let overdue = match job.state.state {
            JobState::Terminating => job.completes_at.is_some_and(|c| c <= now),
            JobState::Deleting => job.gone_at.is_some_and(|g| g <= now),
            _ => false,
        };
        if overdue {
            return Err(format!("job {jk} is still {:?}", job.state.state));
        }
        for (tk, task) in &job.tasks {
            let running = matches!(task.state.state, TaskState::Preparing | TaskState::Running);
            if running && task.phase_end.is_some_and(|e| e <= now) {
                return Err(format!("task {jk}/{tk}'s phase ended and was not stepped"));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_queues_stand_for_the_state_after_every_operation(
        ops in proptest::collection::vec(op(), 1..60)
    ) {
        let mut now = t0();
        let mut sim = Sim::new(now, 2);
        for op in &ops {
            if let Op::Advance(ms) = op {
                now += Duration::milliseconds((*ms).into());
            }
            apply(&mut sim, op, now);
            prop_assert_eq!(sim.queue_problem(), None, "after {:?}", op);
            if let Err(why) = nothing_overdue(&sim, now) {
                return Err(TestCaseError::fail(format!("after {op:?}: {why}")));
            }
        }
        // Long after: every finite task has finished and every job's end has come.
        now += Duration::days(1);
        sim.advance(now);
        prop_assert_eq!(sim.queue_problem(), None);
        if let Err(why) = nothing_overdue(&sim, now) {
            return Err(TestCaseError::fail(why));
        }
    }
}
