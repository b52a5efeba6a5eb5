//! The Azure simulation's `advance` at a time already reached does nothing unless something
//! changed since: a change at that same time must still be scheduled by the next `advance`.

use chrono::{DateTime, Duration, Utc};
use polybatch_sim::azure::{Sim, TaskState};
use serde_json::json;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).expect("a time")
}

fn state(sim: &Sim, task: &str) -> TaskState {
    sim.jobs()["job-a"].tasks[task].state.state
}

#[test]
fn a_change_at_the_same_time_is_seen_by_the_next_advance() {
    let t = t0();
    let mut sim = Sim::new(t, 1);
    sim.add_job(json!({"id": "job-a", "poolInfo": {"poolId": "pool-1"}}), t)
        .expect("job added");
    let task = |id: &str| json!({"id": id, "commandLine": "run"});
    sim.add_task("job-a", task("t1"), t).expect("task added");
    sim.advance(t);
    // One node: the first task holds it, the second waits.
    sim.add_task("job-a", task("t2"), t).expect("task added");
    sim.advance(t);
    assert_ne!(state(&sim, "t1"), TaskState::Active);
    assert_eq!(state(&sim, "t2"), TaskState::Active);
    // Settled: advancing to the same time again changes nothing.
    let before = format!("{:?}", sim.jobs());
    sim.advance(t);
    assert_eq!(before, format!("{:?}", sim.jobs()));
    // Ending the first task at the same time frees the node for the second.
    sim.terminate_task("job-a", "t1", t).expect("terminated");
    sim.advance(t);
    assert_eq!(state(&sim, "t1"), TaskState::Completed);
    assert_ne!(state(&sim, "t2"), TaskState::Active);
    // Time moving on is never skipped.
    sim.advance(t + Duration::days(365));
    assert_eq!(state(&sim, "t2"), TaskState::Completed);
}
