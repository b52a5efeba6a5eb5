//! moto's server — an AWS Batch emulation nobody here wrote — on a free loopback port, for
//! the AWS backend's suites: started with `python3 -m moto.server`, set to run jobs without
//! Docker (they succeed at once), seeded with a compute environment, a job queue and a job
//! definition, and stopped when dropped.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_batch::types::{
    CeState, CeType, ComputeEnvironmentOrder, ContainerProperties, JobDefinitionType, JqState,
    ResourceRequirement, ResourceType,
};
use polybatch_aws::{AwsBatchBackend, AwsBatchBuilder, aws_sdk_batch};

/// The region every suite uses.
pub const REGION: &str = "us-east-1";
/// The queue the seed creates.
pub const QUEUE: &str = "polybatch-queue";
/// The job definition the seed registers.
pub const DEFINITION: &str = "polybatch-definition";

/// A running moto server.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

impl Moto {
    /// Starts moto and seeds it. Panics, saying what to install, when moto is missing: these
    /// tests always run (`.ci/run` installs `moto[server]` from tests/python/requirements.txt).
    pub async fn start() -> Moto {
        Moto::start_with(false).await
    }

    /// Starts moto with every job failing at once (`MOTO_SIMPLE_BATCH_FAIL_AFTER=0`).
    pub async fn start_failing() -> Moto {
        Moto::start_with(true).await
    }

    async fn start_with(failing: bool) -> Moto {
        let port = free_port();
        let mut command = Command::new("python3");
        if failing {
            command.env("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0");
        }
        let child = command
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run python3 -m moto.server ({e}); pip install -r tests/python/requirements.txt"));
        let moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let up = http
                .post(format!("{}/moto-api/config", moto.url))
                .json(&serde_json::json!({"batch": {"use_docker": false}}))
                .send()
                .await;
            if matches!(&up, Ok(r) if r.status().is_success()) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "moto did not start on {} within 30 s (is `moto[server]` installed? pip install -r tests/python/requirements.txt)",
                moto.url
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        moto.seed().await;
        moto
    }

    /// The backend against this server, listing [`QUEUE`].
    pub async fn backend(&self) -> AwsBatchBackend {
        AwsBatchBuilder::new()
            .with_region(REGION)
            .with_endpoint_url(&self.url)
            .with_credentials("testing", "testing", None)
            .with_job_queue(QUEUE)
            .build()
            .await
            .expect("AWS backend for moto")
    }

    /// The service role a compute environment needs, made through moto's IAM (the Query
    /// API, unsigned: moto routes by the credential scope and does not check signatures).
    async fn service_role(&self) -> String {
        let name = "AWSBatchServiceRole";
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"batch.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let answer = reqwest::Client::new()
            .post(format!("{}/", self.url))
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
            )
            .form(&[
                ("Action", "CreateRole"),
                ("Version", "2010-05-08"),
                ("RoleName", name),
                ("AssumeRolePolicyDocument", policy),
            ])
            .send()
            .await
            .expect("IAM CreateRole on moto");
        let text = answer.text().await.unwrap_or_default();
        text.split("<Arn>")
            .nth(1)
            .and_then(|t| t.split("</Arn>").next())
            .unwrap_or_else(|| panic!("IAM CreateRole answered without an Arn: {text}"))
            .to_string()
    }

    async fn seed(&self) {
        let role = self.service_role().await;
        let backend = self.backend().await;
        let c = backend.sdk_client();
        let ce = c
            .create_compute_environment()
            .compute_environment_name("polybatch-ce")
            .r#type(CeType::Unmanaged)
            .state(CeState::Enabled)
            .service_role(role)
            .send()
            .await
            .expect("CreateComputeEnvironment");
        c.create_job_queue()
            .job_queue_name(QUEUE)
            .state(JqState::Enabled)
            .priority(1)
            .compute_environment_order(
                ComputeEnvironmentOrder::builder()
                    .order(1)
                    .compute_environment(ce.compute_environment_arn().unwrap_or_default())
                    .build(),
            )
            .send()
            .await
            .expect("CreateJobQueue");
        let requirement =
            |t: ResourceType, v: &str| ResourceRequirement::builder().r#type(t).value(v).build();
        c.register_job_definition()
            .job_definition_name(DEFINITION)
            .r#type(JobDefinitionType::Container)
            .container_properties(
                ContainerProperties::builder()
                    .image("public.ecr.aws/docker/library/busybox:latest")
                    .command("true")
                    .resource_requirements(requirement(ResourceType::Vcpu, "1"))
                    .resource_requirements(requirement(ResourceType::Memory, "512"))
                    .build(),
            )
            .send()
            .await
            .expect("RegisterJobDefinition");
    }
}

/// The conformance fixture over moto, for the checks moto can serve: moto without Docker runs
/// every job to SUCCEEDED at once, so no situation with a running or failed job exists there
/// (those fail with a message saying so, and the suites that need them run on the emulator).
pub struct MotoFixture {
    /// The server.
    pub moto: Moto,
    /// The backend under test.
    pub backend: AwsBatchBackend,
}

impl MotoFixture {
    /// A fixture over a fresh moto server.
    pub async fn start() -> Self {
        let moto = Moto::start().await;
        let backend = moto.backend().await;
        MotoFixture { moto, backend }
    }
}

fn not_on_moto(what: &str) -> polybatch::Error {
    polybatch::Error::invalid_state(
        None,
        polybatch::ErrorContext::new("aws", polybatch::Operation::Other("fixture")).with_message(
            format!("moto without Docker has no {what}: every job succeeds at once"),
        ),
    )
}

#[async_trait::async_trait]
impl polybatch::conformance::Fixture for MotoFixture {
    async fn running_job(&self) -> polybatch::Result<(polybatch::JobId, polybatch::TaskId)> {
        Err(not_on_moto("running job"))
    }

    async fn completed_job(&self) -> polybatch::Result<polybatch::JobId> {
        Err(not_on_moto("job seeded as completed"))
    }

    async fn job_with_failed_task(
        &self,
    ) -> polybatch::Result<(polybatch::JobId, polybatch::TaskId)> {
        Err(not_on_moto("failed task"))
    }

    async fn job_with_succeeded_task(
        &self,
    ) -> polybatch::Result<(polybatch::JobId, polybatch::TaskId)> {
        Err(not_on_moto("active job with a succeeded task"))
    }

    async fn job_with_prep_release(&self, _nodes: usize) -> polybatch::Result<polybatch::JobId> {
        Err(not_on_moto("preparation task"))
    }

    async fn advance(&self, by: std::time::Duration) {
        tokio::time::sleep(by.min(std::time::Duration::from_millis(50))).await;
    }

    async fn requests_seen(&self) -> Option<u64> {
        None
    }

    fn placement(&self) -> Option<polybatch::Placement> {
        Some(polybatch::Placement::AwsJobQueue {
            job_queue: QUEUE.into(),
            // Pinned to the revision, as an export gives it back.
            job_definition: format!("{DEFINITION}:1"),
        })
    }
}
