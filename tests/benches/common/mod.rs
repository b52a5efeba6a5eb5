//! What several benches seed the same way (a module, not a bench target: it lives in a
//! directory of its own, which Cargo does not take for a bench).

use polybatch::{IdempotencyKey, JobSpec, Placement, TaskId, TaskSpec};

/// A Tencent job of one task running `run_seconds` in the simulation, as the Tencent client
/// would submit it in `region`, parsed as the emulator parses a `SubmitJob`: ready for
/// `Store::submit`.
pub fn tencent_sim_job(
    name: &str,
    run_seconds: &str,
    region: &str,
) -> polybatch_sim::tencent::JobSpec {
    let placement = Placement::TencentManaged {
        zone: format!("{region}-3"),
        instance_type: "SA5.MEDIUM4".into(),
        image_id: "img-eb30mz89".into(),
    };
    let task = TaskSpec::shell(TaskId::new("work").expect("task id"), "true")
        .with_env(polybatch_sim::azure::RUN_SECONDS_VAR, run_seconds);
    let spec = JobSpec::new(name, placement, vec![task]);
    let key = IdempotencyKey::new("bench").expect("key");
    let body = polybatch::translate::tencent::submit_job_body(&spec, &key).expect("body");
    polybatch_sim::tencent::requests::submit(&body, region)
        .expect("a valid SubmitJob")
        .0
}
