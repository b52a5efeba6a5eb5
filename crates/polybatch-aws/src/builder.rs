//! [`AwsBatchBuilder`]: an AWS Batch backend from the standard AWS configuration (the SDK's
//! own chain: environment, shared config and credentials files with profiles, SSO, web
//! identity, ECS and EC2 instance metadata), with the overrides a caller or a test needs.

use std::fmt;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_batch::config::Credentials;
use polybatch::secret::Secret;
use polybatch::{Error, Result};

use crate::answers::AnswerChecks;
use crate::attempts::AttemptLog;
use crate::backend::{AwsBatchBackend, SubmitRetry};
use crate::error::BACKEND;

/// Environment variable: the endpoint URL for every AWS service (read by the SDK).
pub const ENV_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
/// Environment variable: the endpoint URL for AWS Batch only (read by the SDK).
pub const ENV_ENDPOINT_URL_BATCH: &str = "AWS_ENDPOINT_URL_BATCH";
/// Environment variable: the region (read by the SDK).
pub const ENV_REGION: &str = "AWS_REGION";
/// Environment variable: the shared-config profile (read by the SDK).
pub const ENV_PROFILE: &str = "AWS_PROFILE";
/// Environment variable (polybatch's): job queues `list_jobs` lists, comma-separated.
pub const ENV_JOB_QUEUES: &str = "POLYBATCH_AWS_JOB_QUEUES";

/// Builds an [`AwsBatchBackend`]. Everything is optional: unset, the SDK's default chain
/// decides (as the AWS CLI does).
///
/// ```no_run
/// # async fn run() -> polybatch::Result<()> {
/// let backend = polybatch_aws::AwsBatchBuilder::from_env()
///     .with_region("eu-west-1")
///     .with_job_queue("research")
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct AwsBatchBuilder {
    sdk_config: Option<SdkConfig>,
    region: Option<String>,
    endpoint_url: Option<String>,
    profile: Option<String>,
    static_credentials: Option<(String, Secret, Option<Secret>)>,
    job_queues: Vec<String>,
    max_attempts: Option<u32>,
    adaptive: Option<bool>,
    timeouts: Option<(Duration, Duration)>,
    backoff: Option<(Duration, Duration)>,
}

impl fmt::Debug for AwsBatchBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsBatchBuilder")
            .field("sdk_config", &self.sdk_config.as_ref().map(|_| ".."))
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .field("profile", &self.profile)
            .field(
                "static_credentials",
                &self
                    .static_credentials
                    .as_ref()
                    .map(|(id, key, token)| (mask(id), key.clone(), token.clone())),
            )
            .field("job_queues", &self.job_queues)
            .field("max_attempts", &self.max_attempts)
            .field("adaptive_retry", &self.adaptive)
            .field("timeouts", &self.timeouts)
            .field("backoff", &self.backoff)
            .finish()
    }
}

/// An access key id shows only its first characters.
fn mask(id: &str) -> String {
    let prefix: String = id.chars().take(4).collect();
    format!("{prefix}…")
}

impl AwsBatchBuilder {
    /// An empty builder: the SDK's default chain decides everything at [`build`](Self::build).
    pub fn new() -> Self {
        AwsBatchBuilder::default()
    }

    /// The SDK reads the environment itself (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`,
    /// `AWS_ENDPOINT_URL_BATCH`, the credential variables and files); this adds polybatch's
    /// own `POLYBATCH_AWS_JOB_QUEUES`.
    pub fn from_env() -> Self {
        let mut b = AwsBatchBuilder::new();
        if let Ok(queues) = std::env::var(ENV_JOB_QUEUES) {
            b.job_queues = queues
                .split(',')
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .map(String::from)
                .collect();
        }
        b
    }

    /// Uses a configuration the caller already loaded (`aws_config::load_defaults`); the
    /// other settings here still override it.
    pub fn with_sdk_config(mut self, config: SdkConfig) -> Self {
        self.sdk_config = Some(config);
        self
    }

    /// The region, e.g. `us-east-1`.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Sends every request to this endpoint (moto, the emulator, a VPC endpoint): https, or
    /// plain http to loopback only.
    pub fn with_endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// The shared-config profile to load (as `AWS_PROFILE`).
    pub fn with_profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    /// Fixed credentials instead of the default chain (tests, emulators).
    pub fn with_credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Self {
        self.static_credentials = Some((
            access_key_id.into(),
            Secret::new(secret_access_key.into()),
            session_token.map(Secret::new),
        ));
        self
    }

    /// A job queue `list_jobs` lists (AWS lists per queue); may be given several times.
    pub fn with_job_queue(mut self, queue: impl Into<String>) -> Self {
        self.job_queues.push(queue.into());
        self
    }

    /// Attempts per request, the first included (the SDK's standard retry mode; default 3).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// The SDK's adaptive retry mode on or off (default: as the environment or profile says,
    /// `AWS_RETRY_MODE`; standard when neither does). Adaptive adds a client-side rate limiter
    /// that, once the service throttles, sends more slowly and recovers as answers succeed
    /// (CUBIC, per client) — the same algorithm the Tencent and Azure clients use per action
    /// ([`polybatch::rate::AdaptiveRate`]); AWS Batch documents no per-action rates to start
    /// from.
    pub fn with_adaptive_retry(mut self, on: bool) -> Self {
        self.adaptive = Some(on);
        self
    }

    /// Per-attempt and whole-operation timeouts (the SDK's `operation_attempt_timeout` and
    /// `operation_timeout`): a server that accepts and never answers fails within them.
    pub fn with_timeouts(mut self, attempt: Duration, total: Duration) -> Self {
        self.timeouts = Some((attempt, total));
        self
    }

    /// The retries' backoff: the first wait and the longest (the SDK's `initial_backoff` and
    /// `max_backoff`; default 1 s and 20 s). `submit_job`'s own retries of `SubmitJob` use
    /// them too.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff = Some((initial, max));
        self
    }

    /// Loads the configuration (files, credentials chain) and builds the backend. Async, unlike
    /// the other providers' builders, because the SDK's loader reads files and may ask
    /// metadata services.
    pub async fn build(self) -> Result<AwsBatchBackend> {
        if let Some(url) = &self.endpoint_url {
            polybatch_http::parse_endpoint(BACKEND, ENV_ENDPOINT_URL, url)?;
        }
        if let Some(r) = &self.region
            && (r.is_empty()
                || !r
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        {
            return Err(Error::configuration(
                BACKEND,
                ENV_REGION,
                format!("must be a region name like us-east-1 (got {r:?})"),
            ));
        }
        if let Some((id, key, token)) = &self.static_credentials {
            let named = [
                ("AWS_ACCESS_KEY_ID", Some(id.as_str())),
                ("AWS_SECRET_ACCESS_KEY", Some(key.expose())),
                ("AWS_SESSION_TOKEN", token.as_ref().map(Secret::expose)),
            ];
            for (name, value) in named {
                if let Some(rule) = value.and_then(polybatch::secret::credential_problem) {
                    return Err(Error::configuration(BACKEND, name, rule));
                }
            }
        }
        if self.max_attempts == Some(0) {
            return Err(Error::configuration(
                BACKEND,
                "max_attempts",
                "must be at least 1",
            ));
        }
        if let Some((attempt, total)) = self.timeouts
            && (attempt.is_zero() || total.is_zero())
        {
            return Err(Error::configuration(
                BACKEND,
                "timeouts",
                format!("must be more than zero (got {attempt:?} per attempt, {total:?} in all)"),
            ));
        }
        if let Some((initial, max)) = self.backoff
            && initial > max
        {
            return Err(Error::configuration(
                BACKEND,
                "backoff",
                format!("the first wait ({initial:?}) is longer than the longest ({max:?})"),
            ));
        }
        let base = match self.sdk_config {
            Some(c) => c,
            None => {
                let mut loader = aws_config::defaults(BehaviorVersion::latest());
                if let Some(p) = &self.profile {
                    loader = loader.profile_name(p);
                }
                if let Some(r) = &self.region {
                    loader = loader.region(Region::new(r.clone()));
                }
                if let Some((id, key, token)) = &self.static_credentials {
                    loader = loader.credentials_provider(Credentials::new(
                        id,
                        key.expose(),
                        token.as_ref().map(|t| t.expose().to_string()),
                        None,
                        "polybatch",
                    ));
                }
                loader.load().await
            }
        };
        let mut config = aws_sdk_batch::config::Builder::from(&base);
        if let Some(r) = self.region {
            config = config.region(Region::new(r));
        }
        if let Some(url) = self.endpoint_url {
            config = config.endpoint_url(url);
        }
        if self.max_attempts.is_some() || self.adaptive.is_some() || self.backoff.is_some() {
            use aws_config::retry::{RetryConfig, RetryMode};
            let from_env = base.retry_config();
            let adaptive = self
                .adaptive
                .unwrap_or_else(|| from_env.is_some_and(|r| r.mode() == RetryMode::Adaptive));
            let attempts = self
                .max_attempts
                .or_else(|| from_env.map(|r| r.max_attempts()))
                .unwrap_or(3);
            let mut retry = if adaptive {
                RetryConfig::adaptive()
            } else {
                RetryConfig::standard()
            }
            .with_max_attempts(attempts);
            if let Some((initial, max)) = self.backoff {
                retry = retry.with_initial_backoff(initial).with_max_backoff(max);
            }
            config = config.retry_config(retry);
        }
        config = config.interceptor(AnswerChecks).interceptor(AttemptLog);
        if let Some((attempt, total)) = self.timeouts {
            config = config.timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(attempt)
                    .operation_timeout(total)
                    .build(),
            );
        }
        let config = config.build();
        let region = config.region().map(|r| r.to_string()).ok_or_else(|| {
            Error::configuration(
                BACKEND,
                ENV_REGION,
                "is not set, nor is a region in the shared config; set AWS_REGION or with_region",
            )
        })?;
        let submit_retry = config
            .retry_config()
            .map_or(SubmitRetry::DEFAULT, |r| SubmitRetry {
                attempts: r.max_attempts().max(1),
                initial: r.initial_backoff(),
                max: r.max_backoff(),
            });
        Ok(AwsBatchBackend::from_parts(
            aws_sdk_batch::Client::from_conf(config),
            region,
            self.job_queues,
            submit_retry,
        ))
    }
}
