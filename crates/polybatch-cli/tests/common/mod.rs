//! Shared by the CLI tests: an emulator served from the test process, seeded through the
//! providers' own APIs, and a `polybatch` command configured only by what the test sets.

#![allow(dead_code)]

use std::time::Duration;

use assert_cmd::Command;
use polybatch::JobId;
use polybatch_azure::{
    AddJobRequest, AddTaskRequest, AzureBatchBackend, AzureBatchBuilder, JobTaskSpec,
};
use polybatch_emulator::config::{
    DEFAULT_AZURE_ACCOUNT, DEFAULT_AZURE_KEY, DEFAULT_TENCENT_REGION, DEFAULT_TENCENT_SECRET_ID,
    DEFAULT_TENCENT_SECRET_KEY,
};
use polybatch_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use polybatch_tencent::{
    ComputeEnvironment, Endpoint, SubmitJobRequest, TaskRequest, TencentBatchBackend,
    TencentBatchBuilder,
};
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_polybatch");

/// An emulator on 127.0.0.1:0 with its own runtime, and an empty HOME for the CLI.
pub struct TestEmulator {
    pub running: Option<RunningEmulator>,
    pub runtime: tokio::runtime::Runtime,
    pub home: TempDir,
    pub url: String,
}

impl TestEmulator {
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let mut config = EmulatorConfig::default();
        // The CLI runs one request per process; nothing here is about rate limits.
        config.tencent.enforce_rate_limits = false;
        let running = runtime
            .block_on(Emulator::new(config).spawn_local())
            .unwrap();
        let url = running.url();
        TestEmulator {
            running: Some(running),
            runtime,
            home: tempfile::tempdir().unwrap(),
            url,
        }
    }

    /// The emulator's request and error counters.
    pub fn stats(&self) -> polybatch_emulator::StatsSnapshot {
        self.running
            .as_ref()
            .unwrap()
            .emulator()
            .context()
            .stats
            .snapshot()
    }

    /// Requests the emulator has received (both providers).
    pub fn requests(&self) -> u64 {
        self.stats().requests.values().sum()
    }

    /// Moves simulated time forward.
    pub fn advance(&self, seconds: u64) {
        self.running
            .as_ref()
            .unwrap()
            .emulator()
            .context()
            .sim_clock
            .advance(Duration::from_secs(seconds));
    }

    pub fn azure(&self) -> AzureBatchBackend {
        AzureBatchBuilder::new()
            .with_endpoint(self.url.clone())
            .with_account(DEFAULT_AZURE_ACCOUNT)
            .with_shared_key(DEFAULT_AZURE_KEY)
            .build()
            .unwrap()
    }

    pub fn tencent(&self) -> TencentBatchBackend {
        TencentBatchBuilder::new()
            .with_endpoint(Endpoint::Custom(self.url.clone()))
            .with_secret_id(DEFAULT_TENCENT_SECRET_ID)
            .with_secret_key(DEFAULT_TENCENT_SECRET_KEY)
            .with_region(DEFAULT_TENCENT_REGION)
            .with_rate_limits_disabled()
            .build()
            .unwrap()
    }

    /// Azure: `job-ok` (task `ok` succeeded), `job-fail` (task `bad` failed with exit 3),
    /// `job-long` (preparation and release tasks; task `long` running). 10 s have passed.
    pub fn seed_azure(&self) {
        let azure = self.azure();
        self.runtime.block_on(async {
            let add = |job: &str, pool: &str| AddJobRequest::new(JobId::new(job).unwrap(), pool);
            azure.add_job(add("job-ok", "pool-a")).await.unwrap();
            azure
                .add_job(add("job-fail", "pool-b").with_max_task_retry_count(0))
                .await
                .unwrap();
            azure
                .add_job(
                    add("job-long", "pool-c")
                        .with_preparation_task(
                            JobTaskSpec::new("prep").with_env("POLYBATCH_RUN_SECONDS", "1"),
                        )
                        .with_release_task(
                            JobTaskSpec::new("release").with_env("POLYBATCH_RUN_SECONDS", "1"),
                        ),
                )
                .await
                .unwrap();
            for (job, task, exit, secs) in [
                ("job-ok", "ok", "0", "1"),
                ("job-fail", "bad", "3", "1"),
                ("job-long", "long", "0", "3600"),
            ] {
                azure
                    .add_task(
                        &JobId::new(job).unwrap(),
                        AddTaskRequest::new(task.parse().unwrap(), "run")
                            .with_env("POLYBATCH_EXIT_CODE", exit)
                            .with_env("POLYBATCH_RUN_SECONDS", secs),
                    )
                    .await
                    .unwrap();
            }
        });
        self.advance(10);
    }

    /// Tencent: a succeeded job, a failed job (task `bad`, exit 3) and a running job (task
    /// `long`), in that order. 10 s have passed.
    pub fn seed_tencent(&self) -> [JobId; 3] {
        let tencent = self.tencent();
        let ids = self.runtime.block_on(async {
            let mut ids = Vec::new();
            for (task, exit, secs) in [("ok", "0", "1"), ("bad", "3", "1"), ("long", "0", "3600")] {
                let request = SubmitJobRequest::new(format!("cli-{task}"), "ap-guangzhou-3")
                    .with_task(
                        TaskRequest::new(
                            task.parse().unwrap(),
                            "run",
                            ComputeEnvironment::managed("SA5.MEDIUM4", "img-eb30mz89"),
                        )
                        .with_env_var("POLYBATCH_EXIT_CODE", exit)
                        .with_env_var("POLYBATCH_RUN_SECONDS", secs),
                    );
                ids.push(tencent.submit_job_request(request).await.unwrap());
            }
            ids
        });
        self.advance(10);
        ids.try_into().unwrap()
    }

    /// `polybatch` with an empty environment (no credentials file either: HOME is empty).
    pub fn bare(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env_clear().env("HOME", self.home.path());
        cmd
    }

    /// `polybatch` with `POLYBATCH_PROVIDER=azure`, configured for the emulator through the environment.
    pub fn azure_cli(&self) -> Command {
        let mut cmd = self.bare();
        cmd.env("POLYBATCH_PROVIDER", "azure")
            .env("AZURE_BATCH_ENDPOINT", &self.url)
            .env("AZURE_BATCH_ACCOUNT", DEFAULT_AZURE_ACCOUNT)
            .env("AZURE_BATCH_ACCESS_KEY", DEFAULT_AZURE_KEY);
        cmd
    }

    /// `polybatch` with `POLYBATCH_PROVIDER=tencent`, configured for the emulator through the environment.
    pub fn tencent_cli(&self) -> Command {
        let mut cmd = self.bare();
        cmd.env("POLYBATCH_PROVIDER", "tencent")
            .env("POLYBATCH_ENDPOINT", &self.url)
            .env("TENCENTCLOUD_SECRET_ID", DEFAULT_TENCENT_SECRET_ID)
            .env("TENCENTCLOUD_SECRET_KEY", DEFAULT_TENCENT_SECRET_KEY)
            .env("TENCENTCLOUD_REGION", DEFAULT_TENCENT_REGION);
        cmd
    }
}

impl TestEmulator {
    /// `polybatch` configured for both providers on the emulator (for `migrate`).
    pub fn both_cli(&self) -> Command {
        let mut cmd = self.bare();
        cmd.env("AZURE_BATCH_ENDPOINT", &self.url)
            .env("AZURE_BATCH_ACCOUNT", DEFAULT_AZURE_ACCOUNT)
            .env("AZURE_BATCH_ACCESS_KEY", DEFAULT_AZURE_KEY)
            .env("POLYBATCH_ENDPOINT", &self.url)
            .env("TENCENTCLOUD_SECRET_ID", DEFAULT_TENCENT_SECRET_ID)
            .env("TENCENTCLOUD_SECRET_KEY", DEFAULT_TENCENT_SECRET_KEY)
            .env("TENCENTCLOUD_REGION", DEFAULT_TENCENT_REGION);
        cmd
    }
}

/// What a finished command printed.
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    Output {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

impl Output {
    /// Asserts the exit code and that stderr is exactly one line; returns that line.
    pub fn one_error_line(&self, code: i32) -> &str {
        assert_eq!(
            self.code,
            Some(code),
            "stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "stderr: {}", self.stderr);
        lines[0]
    }

    pub fn success(&self) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}
