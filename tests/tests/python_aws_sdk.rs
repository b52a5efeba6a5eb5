//! The official AWS SDK for Python (`boto3`) against the emulator:
//! `tests/python/aws_sdk_check.py` exercises every AWS Batch operation the emulator serves.
//!
//! Needs `python3` with boto3 installed (`pip install -r tests/python/requirements.txt`);
//! without it the test fails, saying so.

mod support;

use polybatch_emulator::{Emulator, EmulatorConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_drives_every_aws_operation() {
    let config = EmulatorConfig::default();
    let key_id = config.aws.access_key_id.clone();
    let secret = config.aws.secret_access_key.expose().to_string();
    // Simulated time moves only through the admin API the script calls; SigV4 dates are
    // checked against the real clock, as boto3 signs with it.
    let running = Emulator::spawn_manual(config).await.unwrap();
    support::python::run_sdk_check(
        "AWS",
        "aws_sdk_check.py",
        vec!["--url".into(), running.url()],
        vec![
            ("AWS_ACCESS_KEY_ID", key_id),
            ("AWS_SECRET_ACCESS_KEY", secret),
        ],
        "all AWS SDK checks passed",
    )
    .await;
    running.shutdown().await;
}
