//! Temporary Tencent keys end to end: the client's CVM-role and TKE-OIDC sources against the
//! emulator's instance metadata service and STS, on one manual clock shared by the client and
//! the emulator, so expiry and the 300 s refresh margin are exact.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use polybatch::clock::ManualClock;
use polybatch::{BatchBackend, Error, JobId, StatusOptions};
use polybatch_emulator::config::DEFAULT_CVM_ROLE;
use polybatch_emulator::tencent::{
    ASSUME_ROLE_WITH_WEB_IDENTITY, METADATA_ROLE_KEYS, METADATA_ROLE_NAME,
};
use polybatch_emulator::{Context, Emulator, EmulatorConfig, Provider, RunningEmulator, SimClock};
use polybatch_tencent::{Endpoint, TemporaryCredential, TencentBatchBackend, TencentBatchBuilder};

const REGION: &str = "ap-guangzhou";
const ROLE_ARN: &str = "qcs::cam::uin/100000000001:roleName/polybatch-runner";
/// A JWT-shaped service account token (header.payload.signature, base64url).
const WEB_TOKEN: &str =
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJl";

struct Env {
    running: RunningEmulator,
    clock: Arc<ManualClock>,
}

impl Env {
    async fn start(cvm_role_seconds: u64) -> Env {
        let mut config = EmulatorConfig::default();
        config.tencent.cvm_role_seconds = cvm_role_seconds;
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let ctx = Context::new(config, SimClock::manual(), clock.clone());
        let running = Emulator::with_context(ctx)
            .spawn_local()
            .await
            .expect("emulator on loopback");
        Env { running, clock }
    }

    fn backend(&self, source: TemporaryCredential) -> TencentBatchBackend {
        TencentBatchBuilder::new()
            .with_temporary_credential(source)
            .with_region(REGION)
            .with_endpoint(Endpoint::Custom(self.running.url()))
            .with_clock(self.clock.clone())
            .with_rate_limits_disabled()
            .build()
            .expect("backend")
    }

    fn count(&self, action: &str) -> u64 {
        self.running
            .emulator()
            .context()
            .stats
            .snapshot()
            .requests(Provider::Tencent, action)
    }

    fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }
}

/// A signed read the emulator answers `ResourceNotFound.Job` only after it accepted the keys.
async fn signed_read(backend: &TencentBatchBackend) -> Result<(), Error> {
    let job = JobId::new("job-00000000").expect("id");
    match backend.job_status(&job, StatusOptions::default()).await {
        Err(Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
        Ok(s) => panic!("unexpected job {s:?}"),
    }
}

#[tokio::test]
async fn cvm_role_keys_are_fetched_once_and_refreshed_300_s_before_expiry() {
    let env = Env::start(1000).await;
    let backend = env.backend(TemporaryCredential::CvmRole {
        role: None,
        metadata_endpoint: env.running.url(),
    });
    signed_read(&backend).await.expect("first read");
    assert_eq!(env.count(METADATA_ROLE_NAME), 1);
    assert_eq!(env.count(METADATA_ROLE_KEYS), 1);
    signed_read(&backend).await.expect("cached keys");
    // 301 s of life left: still cached.
    env.advance(699);
    signed_read(&backend).await.expect("cached keys");
    assert_eq!(env.count(METADATA_ROLE_KEYS), 1);
    // 299 s left: replaced before the request is signed.
    env.advance(2);
    signed_read(&backend).await.expect("refreshed keys");
    assert_eq!(env.count(METADATA_ROLE_KEYS), 2);
    // Past the first keys' expiry the new ones still sign.
    env.advance(400);
    signed_read(&backend).await.expect("new keys");
    assert_eq!(env.count(METADATA_ROLE_KEYS), 2);
    // Debug shows neither the temporary key nor its token.
    let shown = format!("{backend:?}");
    assert!(shown.contains("TemporaryCredential"), "{shown}");
    assert!(!shown.contains("tmptoken-"), "{shown}");
}

#[tokio::test]
async fn a_named_cvm_role_skips_the_lookup_and_an_unknown_one_is_unauthenticated() {
    let env = Env::start(7200).await;
    let named = env.backend(TemporaryCredential::CvmRole {
        role: Some(DEFAULT_CVM_ROLE.into()),
        metadata_endpoint: env.running.url(),
    });
    signed_read(&named).await.expect("named role");
    assert_eq!(env.count(METADATA_ROLE_NAME), 0);
    let unknown = env.backend(TemporaryCredential::CvmRole {
        role: Some("not-this-machines-role".into()),
        metadata_endpoint: env.running.url(),
    });
    match signed_read(&unknown).await {
        Err(e @ Error::Unauthenticated { .. }) => {
            assert!(e.to_string().contains("HTTP 404"), "{e}")
        }
        other => panic!("expected Unauthenticated, got {other:?}"),
    }
    // No Batch request was sent with keys that do not exist.
    assert_eq!(env.count("DescribeJob"), 1);
}

#[tokio::test]
async fn oidc_role_assumes_with_the_token_file_and_refreshes() {
    let env = Env::start(7200).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{WEB_TOKEN}\n")).expect("write token");
    let source = |file: &std::path::Path| TemporaryCredential::OidcRole {
        region: REGION.into(),
        provider_id: "polybatch-tke".into(),
        token_file: file.to_path_buf(),
        role_arn: ROLE_ARN.into(),
        session_name: "polybatch-test".into(),
        duration: Duration::from_secs(900),
        sts_endpoint: env.running.url(),
    };
    let backend = env.backend(source(&token_file));
    signed_read(&backend).await.expect("first read");
    assert_eq!(env.count(ASSUME_ROLE_WITH_WEB_IDENTITY), 1);
    env.advance(599);
    signed_read(&backend).await.expect("cached");
    assert_eq!(env.count(ASSUME_ROLE_WITH_WEB_IDENTITY), 1);
    env.advance(2);
    signed_read(&backend).await.expect("refreshed");
    assert_eq!(env.count(ASSUME_ROLE_WITH_WEB_IDENTITY), 2);

    // A token STS refuses: Unauthenticated with STS's code, the token nowhere in the error.
    std::fs::write(&token_file, "not-a-jwt-SECRET").expect("write token");
    let refused = env.backend(source(&token_file));
    match signed_read(&refused).await {
        Err(e @ Error::Unauthenticated { .. }) => {
            let text = e.to_string();
            assert!(text.contains("WebIdentityTokenError"), "{text}");
            assert!(!text.contains("not-a-jwt-SECRET"), "{text}");
        }
        other => panic!("expected Unauthenticated, got {other:?}"),
    }
    // A missing token file names the setting.
    let missing = env.backend(source(&dir.path().join("absent")));
    match signed_read(&missing).await {
        Err(Error::Configuration { key, .. }) => assert_eq!(key, "TKE_WEB_IDENTITY_TOKEN_FILE"),
        other => panic!("expected Configuration, got {other:?}"),
    }
}

#[tokio::test]
async fn expired_issued_keys_are_refused_by_the_emulator() {
    let env = Env::start(400).await;
    // Keys fetched by hand and used as fixed keys: nothing refreshes them.
    let url = format!(
        "{}/latest/meta-data/cam/security-credentials/{DEFAULT_CVM_ROLE}",
        env.running.url()
    );
    let keys: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    let fixed = TencentBatchBuilder::new()
        .with_secret_id(keys["TmpSecretId"].as_str().unwrap())
        .with_secret_key(keys["TmpSecretKey"].as_str().unwrap())
        .with_region(REGION)
        .with_endpoint(Endpoint::Custom(env.running.url()))
        .with_clock(env.clock.clone())
        .with_rate_limits_disabled();
    // Without its token the key is refused, with it accepted, after expiry refused again.
    assert!(matches!(
        signed_read(&fixed.clone().build().unwrap()).await,
        Err(Error::Unauthenticated { .. })
    ));
    let with_token = fixed
        .with_token(keys["Token"].as_str().unwrap())
        .build()
        .unwrap();
    signed_read(&with_token)
        .await
        .expect("valid temporary keys");
    env.advance(400);
    match signed_read(&with_token).await {
        Err(e @ Error::Unauthenticated { .. }) => {
            assert!(e.to_string().contains("TokenFailure"), "{e}")
        }
        other => panic!("expected Unauthenticated, got {other:?}"),
    }
}
