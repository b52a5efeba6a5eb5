//! What several benches seed the same way (a module, not a bench target: it lives in a
//! directory of its own, which Cargo does not take for a bench).

// Each bench includes this module and uses only part of it.
#![allow(dead_code)]

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

/// A Tencent client of the emulator at `url` with its rate limits off (the emulator's are off
/// too in these benches), so that what is measured is the call, not the wait.
pub fn tencent_unlimited(url: String, region: &str) -> polybatch_tencent::TencentBatchBackend {
    use polybatch_emulator::config::{DEFAULT_TENCENT_SECRET_ID, DEFAULT_TENCENT_SECRET_KEY};
    polybatch_tencent::TencentBatchBuilder::new()
        .with_endpoint(polybatch_tencent::Endpoint::Custom(url))
        .with_secret_id(DEFAULT_TENCENT_SECRET_ID)
        .with_secret_key(DEFAULT_TENCENT_SECRET_KEY)
        .with_region(region)
        .with_rate_limits_disabled()
        .build()
        .expect("tencent client")
}
