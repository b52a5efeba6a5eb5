//! Emulator configuration: credentials it accepts and how the simulated service behaves.
//!
//! The defaults are well-known development values, published in `docs/emulator.md` the way
//! other cloud emulators publish theirs. They guard nothing: never reuse them for a real
//! account.

use std::collections::HashMap;
use std::fmt;

use polybatch::secret::Secret;

/// The default Azure Batch account name.
pub const DEFAULT_AZURE_ACCOUNT: &str = "devbatch";
/// The default Azure Batch account key (base64 of `polybatch-emulator-azure-development-key!!`).
pub const DEFAULT_AZURE_KEY: &str = "cG9seWJhdGNoLWVtdWxhdG9yLWF6dXJlLWRldmVsb3BtZW50LWtleSEh";
/// The default Entra ID tenant.
pub const DEFAULT_ENTRA_TENANT: &str = "00000000-0000-0000-0000-00000000e1a0";
/// The default Entra ID client (application) id.
pub const DEFAULT_ENTRA_CLIENT_ID: &str = "00000000-0000-0000-0000-0000000c11e7";
/// The default Entra ID client secret.
pub const DEFAULT_ENTRA_CLIENT_SECRET: &str = "polybatch-emulator-client-secret";
/// The default App Service `IDENTITY_HEADER` secret of the managed identity endpoint.
pub const DEFAULT_IDENTITY_HEADER: &str = "polybatch-emulator-identity-header";
/// The default Tencent Cloud SecretId.
pub const DEFAULT_TENCENT_SECRET_ID: &str = "AKIDpolybatchEMULATORdevelopment00000";
/// The default Tencent Cloud SecretKey.
pub const DEFAULT_TENCENT_SECRET_KEY: &str = "polybatchEmulatorDevelopmentKey00";
/// The role the emulator's instance metadata service hands out.
pub const DEFAULT_CVM_ROLE: &str = "polybatch-emulator-cvm-role";
/// The default Tencent region.
pub const DEFAULT_TENCENT_REGION: &str = "ap-guangzhou";
/// The most nodes a pool may have: the simulation allocates every node when the pool first
/// appears, so a larger figure would only exhaust memory.
pub const MAX_NODES_PER_POOL: usize = 10_000;

/// Azure-side settings.
#[derive(Clone)]
pub struct AzureConfig {
    /// The Batch account name Shared Key requests must sign for.
    pub account: String,
    /// The account key (base64), used to verify Shared Key signatures.
    pub key: Secret,
    /// Entra ID client-credentials accepted by the emulator's token endpoint.
    pub tenant_id: String,
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: Secret,
    /// Nodes provided for every pool a job names (at most [`MAX_NODES_PER_POOL`]).
    pub nodes_per_pool: usize,
    /// How long an issued bearer token lives.
    pub token_lifetime_secs: u64,
    /// How long, in simulated milliseconds, a terminating or deleting job takes at least,
    /// besides its release tasks. The service is never instantaneous: a job without release
    /// tasks still passes through `terminating`, briefly but observably, so a client's
    /// polling is exercised. Default 1000.
    pub termination_millis: u64,
    /// The secret App Service puts in `IDENTITY_HEADER`, which its managed identity endpoint
    /// (`GET /msi/token`) requires as `X-IDENTITY-HEADER`.
    pub identity_header: Secret,
}

impl fmt::Debug for AzureConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureConfig")
            .field("account", &self.account)
            .field("key", &self.key)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("nodes_per_pool", &self.nodes_per_pool)
            .field("token_lifetime_secs", &self.token_lifetime_secs)
            .field("termination_millis", &self.termination_millis)
            .field("identity_header", &self.identity_header)
            .finish()
    }
}

impl Default for AzureConfig {
    fn default() -> Self {
        AzureConfig {
            account: DEFAULT_AZURE_ACCOUNT.into(),
            key: Secret::new(DEFAULT_AZURE_KEY),
            tenant_id: DEFAULT_ENTRA_TENANT.into(),
            client_id: DEFAULT_ENTRA_CLIENT_ID.into(),
            client_secret: Secret::new(DEFAULT_ENTRA_CLIENT_SECRET),
            nodes_per_pool: 3,
            token_lifetime_secs: 3600,
            termination_millis: 1000,
            identity_header: Secret::new(DEFAULT_IDENTITY_HEADER),
        }
    }
}

/// Tencent-side settings.
#[derive(Clone)]
pub struct TencentConfig {
    /// The SecretId requests must sign with.
    pub secret_id: String,
    /// The SecretKey used to verify signatures.
    pub secret_key: Secret,
    /// The session token of a temporary credential: when set, an `X-TC-Token` header must
    /// equal it; when unset, any `X-TC-Token` is refused (`AuthFailure.TokenFailure`).
    pub session_token: Option<Secret>,
    /// Regions the emulator serves (`X-TC-Region` must be one of them).
    pub regions: Vec<String>,
    /// Enforce per-action, per-credential rate limits (`RequestLimitExceeded`).
    pub enforce_rate_limits: bool,
    /// Which site's documented limits are enforced (default international, the conservative
    /// one).
    pub site: polybatch_protocol::tencent::Site,
    /// Requests per second per action, overriding the site's documented limits.
    pub rate_limits: HashMap<String, u32>,
    /// The role the instance metadata service says this "CVM" has
    /// (`/latest/meta-data/cam/security-credentials/`).
    pub cvm_role: String,
    /// How long the temporary keys the metadata service issues live.
    pub cvm_role_seconds: u64,
}

impl fmt::Debug for TencentConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TencentConfig")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &self.secret_key)
            .field("session_token", &self.session_token)
            .field("regions", &self.regions)
            .field("enforce_rate_limits", &self.enforce_rate_limits)
            .field("site", &self.site)
            .field("rate_limits", &self.rate_limits)
            .field("cvm_role", &self.cvm_role)
            .field("cvm_role_seconds", &self.cvm_role_seconds)
            .finish()
    }
}

impl Default for TencentConfig {
    fn default() -> Self {
        TencentConfig {
            secret_id: DEFAULT_TENCENT_SECRET_ID.into(),
            secret_key: Secret::new(DEFAULT_TENCENT_SECRET_KEY),
            session_token: None,
            regions: vec![
                DEFAULT_TENCENT_REGION.into(),
                "ap-shanghai".into(),
                "ap-beijing".into(),
                "ap-singapore".into(),
            ],
            enforce_rate_limits: true,
            site: polybatch_protocol::tencent::Site::International,
            rate_limits: HashMap::new(),
            cvm_role: DEFAULT_CVM_ROLE.into(),
            cvm_role_seconds: 7200,
        }
    }
}

/// The default AWS access key id (the shape of a real one: `AKIA` and 16 more).
pub const DEFAULT_AWS_ACCESS_KEY_ID: &str = "AKIAPOLYBATCHEMULATR";
/// The default AWS secret access key.
pub const DEFAULT_AWS_SECRET_ACCESS_KEY: &str = "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";
/// The default AWS region.
pub const DEFAULT_AWS_REGION: &str = "us-east-1";

/// AWS-side settings.
#[derive(Clone)]
pub struct AwsConfig {
    /// The access key id requests must sign with.
    pub access_key_id: String,
    /// The secret access key used to verify SigV4 signatures.
    pub secret_access_key: Secret,
    /// The session token of temporary credentials: when set, `X-Amz-Security-Token` must
    /// equal it; when unset, any token is refused.
    pub session_token: Option<Secret>,
    /// Regions served (the credential scope's region must be one of them); each has its own
    /// jobs, queues and definitions.
    pub regions: Vec<String>,
    /// The account id in every ARN.
    pub account_id: String,
    /// Requests per second per operation and access key (`*` for every operation), answered
    /// `TooManyRequestsException` beyond. AWS publishes no per-operation table, so none is
    /// enforced unless configured.
    pub rate_limits: HashMap<String, u32>,
}

impl fmt::Debug for AwsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsConfig")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .field("session_token", &self.session_token)
            .field("regions", &self.regions)
            .field("account_id", &self.account_id)
            .field("rate_limits", &self.rate_limits)
            .finish()
    }
}

impl Default for AwsConfig {
    fn default() -> Self {
        AwsConfig {
            access_key_id: DEFAULT_AWS_ACCESS_KEY_ID.into(),
            secret_access_key: Secret::new(DEFAULT_AWS_SECRET_ACCESS_KEY),
            session_token: None,
            regions: vec![
                DEFAULT_AWS_REGION.into(),
                "us-west-2".into(),
                "eu-west-1".into(),
            ],
            account_id: polybatch_sim::aws::DEFAULT_ACCOUNT.into(),
            rate_limits: HashMap::new(),
        }
    }
}

/// The whole emulator configuration.
#[derive(Debug, Clone, Default)]
pub struct EmulatorConfig {
    /// Azure side.
    pub azure: AzureConfig,
    /// Tencent side.
    pub tencent: TencentConfig,
    /// AWS side.
    pub aws: AwsConfig,
    /// When set, every admin API route but `health` requires `Authorization: Bearer <token>`:
    /// the admin API rewrites the service's state, so an emulator reachable from other hosts
    /// must not leave it open.
    pub admin_token: Option<Secret>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_secret_of_any_provider_shows_in_debug() {
        let mut config = EmulatorConfig::default();
        config.aws.session_token = Some(Secret::new("aws-session-token-canary"));
        config.tencent.session_token = Some(Secret::new("tencent-token-canary"));
        config.admin_token = Some(Secret::new("admin-token-canary"));
        let shown = format!("{config:?}");
        for secret in [
            DEFAULT_AWS_SECRET_ACCESS_KEY,
            "aws-session-token-canary",
            DEFAULT_TENCENT_SECRET_KEY,
            "tencent-token-canary",
            DEFAULT_AZURE_KEY,
            DEFAULT_ENTRA_CLIENT_SECRET,
            DEFAULT_IDENTITY_HEADER,
            "admin-token-canary",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        // The identifiers are not secrets and stay readable.
        assert!(shown.contains(DEFAULT_AWS_ACCESS_KEY_ID));
    }
}
