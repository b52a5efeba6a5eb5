//! Microsoft Entra ID sign-ins through the official `azure_identity` credentials, end to end
//! against the emulator: managed identity (IMDS), workload identity (a federated token file),
//! a client certificate (PKCS #12), the Azure CLI, and any `TokenCredential`.
//!
//! The credentials talk to `https://login.microsoftonline.com` and `http://169.254.169.254`;
//! a test transport ([`ToEmulator`]) sends those requests to the emulator instead, through
//! [`AzureBatchBuilder::with_identity_http_client`].

use std::ffi::OsStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use polybatch::clock::SystemClock;
use polybatch::{BatchBackend, Error, JobId, StatusOptions};
use polybatch_azure::azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use polybatch_azure::azure_core::http::headers::Headers;
use polybatch_azure::azure_core::http::{AsyncRawResponse, HttpClient, Request, StatusCode};
use polybatch_azure::{
    AzureBatchBackend, AzureBatchBuilder, EntraIdentity, azure_core, azure_identity,
};
use polybatch_emulator::{Context, Emulator, EmulatorConfig, Provider, RunningEmulator, SimClock};

struct Env {
    running: RunningEmulator,
}

impl Env {
    async fn start() -> Env {
        let ctx = Context::new(
            EmulatorConfig::default(),
            SimClock::manual(),
            Arc::new(SystemClock),
        );
        let running = Emulator::with_context(ctx)
            .spawn_local()
            .await
            .expect("emulator on loopback");
        Env { running }
    }

    fn config(&self) -> &polybatch_emulator::AzureConfig {
        &self.running.emulator().context().config.azure
    }

    fn builder(&self) -> AzureBatchBuilder {
        AzureBatchBuilder::new()
            .with_endpoint(self.running.url())
            .with_identity_http_client(Arc::new(ToEmulator {
                base: self.running.url(),
                http: reqwest::Client::new(),
            }))
    }

    fn backend(&self, identity: EntraIdentity) -> AzureBatchBackend {
        self.builder()
            .with_entra_identity(identity)
            .build()
            .expect("backend")
    }

    fn count(&self, operation: &str) -> u64 {
        self.running
            .emulator()
            .context()
            .stats
            .snapshot()
            .requests(Provider::Azure, operation)
    }
}

/// Sends every request to the emulator, whatever host it names: the stand-in for Entra ID
/// and the instance metadata service.
#[derive(Debug)]
struct ToEmulator {
    base: String,
    http: reqwest::Client,
}

#[async_trait]
impl HttpClient for ToEmulator {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let url = request.url();
        let mut target = format!("{}{}", self.base, url.path());
        if let Some(q) = url.query() {
            target = format!("{target}?{q}");
        }
        let method = reqwest::Method::from_bytes(request.method().as_str().as_bytes()).unwrap();
        let mut builder = self.http.request(method, target);
        for (name, value) in request.headers().iter() {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let azure_core::http::Body::Bytes(b) = request.body() {
            builder = builder.body(b.to_vec());
        }
        let response = builder
            .send()
            .await
            .map_err(|e| azure_core::Error::new(azure_core::error::ErrorKind::Io, e))?;
        let status = StatusCode::from(response.status().as_u16());
        let mut headers = Headers::new();
        for (k, v) in response.headers() {
            headers.insert(k.as_str().to_string(), v.to_str().unwrap_or("").to_string());
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| azure_core::Error::new(azure_core::error::ErrorKind::Io, e))?;
        Ok(AsyncRawResponse::from_bytes(status, headers, body))
    }
}

/// A signed read the emulator answers `JobNotFound` only after it accepted the token.
async fn signed_read(backend: &AzureBatchBackend) -> Result<(), Error> {
    let job = JobId::new("no-such-job").expect("id");
    match backend.job_status(&job, StatusOptions::default()).await {
        Err(Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
        Ok(s) => panic!("unexpected job {s:?}"),
    }
}

fn jwt(header: serde_json::Value, claims: serde_json::Value) -> String {
    let enc = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.c2lnbmF0dXJl", enc(&header), enc(&claims))
}

fn in_an_hour() -> i64 {
    chrono::Utc::now().timestamp() + 3600
}

#[tokio::test]
async fn managed_identity_from_imds_signs_batch_requests() {
    let env = Env::start().await;
    let backend = env.backend(EntraIdentity::ManagedIdentity { client_id: None });
    signed_read(&backend).await.expect("IMDS token accepted");
    signed_read(&backend).await.expect("cached token");
    assert_eq!(env.count("ManagedIdentity_Imds"), 1);

    // A user-assigned identity the "VM" does not have is refused, and no Batch request made
    // with it... the IMDS retries of azure_identity are not waited out: the emulator answers
    // 400, which it does not retry.
    let before = env.count("Job_Get");
    let other = env.backend(EntraIdentity::ManagedIdentity {
        client_id: Some("11111111-2222-3333-4444-555555555555".into()),
    });
    match signed_read(&other).await {
        Err(e @ Error::Unauthenticated { .. }) => {
            assert!(e.to_string().contains("ManagedIdentityCredential"), "{e}")
        }
        other => panic!("expected Unauthenticated, got {other:?}"),
    }
    assert_eq!(env.count("Job_Get"), before);
}

#[tokio::test]
async fn workload_identity_exchanges_the_federated_token_file() {
    let env = Env::start().await;
    let c = env.config().clone();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("azure-identity-token");
    let federated = jwt(
        serde_json::json!({"alg": "RS256", "kid": "k"}),
        serde_json::json!({
            "aud": ["api://AzureADTokenExchange"], "exp": in_an_hour(),
            "iss": "https://oidc.example/cluster", "sub": "system:serviceaccount:batch:runner",
        }),
    );
    std::fs::write(&file, &federated).unwrap();
    let identity = |file: &std::path::Path| EntraIdentity::WorkloadIdentity {
        tenant_id: c.tenant_id.clone(),
        client_id: c.client_id.clone(),
        token_file: file.to_path_buf(),
    };
    signed_read(&env.backend(identity(&file)))
        .await
        .expect("workload identity token accepted");
    assert_eq!(env.count("OAuth2_Token"), 1);

    // An expired federated token is refused by Entra ID: Unauthenticated, naming the reason.
    let expired = jwt(
        serde_json::json!({"alg": "RS256"}),
        serde_json::json!({"aud": "api://AzureADTokenExchange", "exp": 1}),
    );
    let stale = dir.path().join("stale");
    std::fs::write(&stale, expired).unwrap();
    match signed_read(&env.backend(identity(&stale))).await {
        Err(e @ Error::Unauthenticated { .. }) => {
            assert!(e.to_string().contains("WorkloadIdentityCredential"), "{e}")
        }
        other => panic!("expected Unauthenticated, got {other:?}"),
    }
}

/// A self-signed certificate and its RSA key as PKCS #12, protected by `password`.
fn pkcs12(password: &str) -> Vec<u8> {
    use openssl::asn1::Asn1Time;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::x509::{X509, X509NameBuilder};
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "polybatch-test").unwrap();
    let name = name.build();
    let mut cert = X509::builder().unwrap();
    cert.set_version(2).unwrap();
    cert.set_subject_name(&name).unwrap();
    cert.set_issuer_name(&name).unwrap();
    cert.set_pubkey(&key).unwrap();
    cert.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    cert.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    cert.sign(&key, MessageDigest::sha256()).unwrap();
    let cert = cert.build();
    openssl::pkcs12::Pkcs12::builder()
        .name("polybatch")
        .pkey(&key)
        .cert(&cert)
        .build2(password)
        .unwrap()
        .to_der()
        .unwrap()
}

#[tokio::test]
async fn client_certificate_signs_in_with_a_pkcs12_file() {
    let env = Env::start().await;
    let c = env.config().clone();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sp.pfx");
    std::fs::write(&path, pkcs12("pfx-PASSWORD")).unwrap();
    let identity = |password: &str| EntraIdentity::ClientCertificate {
        tenant_id: c.tenant_id.clone(),
        client_id: c.client_id.clone(),
        certificate_path: path.clone(),
        password: Some(polybatch::secret::Secret::new(password)),
    };
    signed_read(&env.backend(identity("pfx-PASSWORD")))
        .await
        .expect("certificate assertion accepted");
    // A wrong password fails when the backend is built, naming the setting, never the value.
    match env
        .builder()
        .with_entra_identity(identity("wrong-PASSWORD"))
        .build()
    {
        Err(e @ Error::Configuration { .. }) => {
            let text = e.to_string();
            assert!(text.contains("AZURE_CLIENT_CERTIFICATE_PATH"), "{text}");
            assert!(!text.contains("PASSWORD"), "{text}");
        }
        other => panic!("expected Configuration, got {other:?}"),
    }
}

/// `az` as the Azure CLI credential runs it, answering with a token the emulator issued.
#[derive(Debug)]
struct FakeAz {
    token: String,
    runs: AtomicU32,
}

#[async_trait]
impl azure_identity::Executor for FakeAz {
    async fn run(
        &self,
        _program: &OsStr,
        _args: &[&OsStr],
    ) -> std::io::Result<std::process::Output> {
        use std::os::unix::process::ExitStatusExt;
        self.runs.fetch_add(1, Ordering::SeqCst);
        let expires_on = in_an_hour();
        let stdout = serde_json::json!({
            "accessToken": self.token, "expiresOn": "2099-01-01 00:00:00.000000",
            "expires_on": expires_on, "subscription": "s", "tenant": "t", "tokenType": "Bearer",
        });
        Ok(std::process::Output {
            status: std::process::ExitStatus::from_raw(0),
            stdout: stdout.to_string().into_bytes(),
            stderr: Vec::new(),
        })
    }
}

#[tokio::test]
async fn azure_cli_and_any_token_credential_are_accepted() {
    let env = Env::start().await;
    let c = env.config().clone();
    // A token from the emulator's Entra ID endpoint, as `az login` would have one.
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", c.client_id.as_str()),
        ("client_secret", c.client_secret.expose()),
        ("scope", "https://batch.core.windows.net//.default"),
    ];
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            env.running.url(),
            c.tenant_id
        ))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = answer["access_token"].as_str().unwrap().to_string();
    let az = Arc::new(FakeAz {
        token: token.clone(),
        runs: AtomicU32::new(0),
    });
    let cli =
        azure_identity::AzureCliCredential::new(Some(azure_identity::AzureCliCredentialOptions {
            executor: Some(az.clone()),
            ..Default::default()
        }))
        .unwrap();
    let backend = env.builder().with_token_credential(cli).build().unwrap();
    signed_read(&backend).await.expect("CLI token accepted");
    signed_read(&backend).await.expect("cached");
    assert_eq!(az.runs.load(Ordering::SeqCst), 1);

    // Any TokenCredential: asked for the Batch scope of the endpoint's cloud.
    #[derive(Debug)]
    struct Fixed(String, std::sync::Mutex<Vec<String>>);
    #[async_trait]
    impl TokenCredential for Fixed {
        async fn get_token(
            &self,
            scopes: &[&str],
            _: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            self.1
                .lock()
                .unwrap()
                .extend(scopes.iter().map(|s| s.to_string()));
            Ok(AccessToken::new(
                self.0.clone(),
                time::OffsetDateTime::now_utc() + time::Duration::hours(1),
            ))
        }
    }
    let fixed = Arc::new(Fixed(token, Default::default()));
    let backend = env
        .builder()
        .with_token_credential(fixed.clone())
        .build()
        .unwrap();
    signed_read(&backend)
        .await
        .expect("own credential accepted");
    assert_eq!(
        *fixed.1.lock().unwrap(),
        ["https://batch.core.windows.net//.default"]
    );
    // The backend's Debug never shows the token.
    assert!(!format!("{backend:?}").contains(&fixed.0));
}

/// Answers every token request itself, recording where it went and what it asked for.
#[derive(Debug, Default)]
struct Recorder {
    seen: std::sync::Mutex<Vec<(String, String)>>,
}

#[async_trait]
impl HttpClient for Recorder {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let body = match request.body() {
            azure_core::http::Body::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        };
        let scope = url::form_urlencoded::parse(body.as_bytes())
            .find(|(k, _)| k == "scope")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        self.seen
            .lock()
            .unwrap()
            .push((request.url().origin().ascii_serialization(), scope));
        let answer = serde_json::json!({
            "token_type": "Bearer", "expires_in": 3600, "access_token": "recorded-token",
        });
        Ok(AsyncRawResponse::from_bytes(
            StatusCode::Ok,
            Headers::new(),
            bytes::Bytes::from(answer.to_string()),
        ))
    }
}

/// Sovereign clouds: a workload identity signs in at the endpoint cloud's authority and asks
/// for that cloud's Batch resource. The Batch request itself goes to a closed loopback port
/// through a proxy, so nothing leaves the machine.
#[tokio::test]
async fn sovereign_cloud_endpoints_sign_in_at_their_own_cloud() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    let federated = jwt(
        serde_json::json!({"alg": "RS256"}),
        serde_json::json!({"aud": "api://AzureADTokenExchange", "exp": in_an_hour()}),
    );
    std::fs::write(&file, federated).unwrap();
    for (endpoint, authority, scope) in [
        (
            "https://acct.chinanorth.batch.chinacloudapi.cn",
            "https://login.chinacloudapi.cn",
            "https://batch.chinacloudapi.cn//.default",
        ),
        (
            "https://acct.usgovvirginia.batch.usgovcloudapi.net",
            "https://login.microsoftonline.us",
            "https://batch.core.usgovcloudapi.net//.default",
        ),
        (
            "https://acct.westus.batch.azure.com",
            "https://login.microsoftonline.com",
            "https://batch.core.windows.net//.default",
        ),
    ] {
        let recorder = Arc::new(Recorder::default());
        let backend = AzureBatchBuilder::new()
            .with_endpoint(endpoint)
            .with_entra_identity(EntraIdentity::WorkloadIdentity {
                tenant_id: "00000000-0000-0000-0000-000000000001".into(),
                client_id: "c".into(),
                token_file: file.clone(),
            })
            .with_identity_http_client(recorder.clone())
            .with_client_options(
                polybatch_azure::ClientOptions::default()
                    .with_proxy(polybatch_azure::Proxy::url("http://127.0.0.1:1")),
            )
            .with_retry_policy(polybatch::retry::RetryPolicy::default().with_max_attempts(1))
            .build()
            .unwrap();
        let e = signed_read(&backend).await.unwrap_err();
        assert!(matches!(e, Error::Transport { .. }), "{endpoint}: {e:?}");
        assert_eq!(
            *recorder.seen.lock().unwrap(),
            [(authority.to_string(), scope.to_string())],
            "{endpoint}"
        );
    }
}

/// App Service's managed identity endpoint, as the SDKs call it (`IDENTITY_ENDPOINT` with
/// `X-IDENTITY-HEADER`): the token it issues signs Batch requests; the header is required and
/// only the Batch resource is served.
#[tokio::test]
async fn the_app_service_identity_endpoint_answers_as_app_service_does() {
    let env = Env::start().await;
    let header = polybatch_emulator::config::DEFAULT_IDENTITY_HEADER;
    let http = reqwest::Client::new();
    let get = |resource: &str, secret: Option<&str>| {
        let mut r = http
            .get(format!("{}/msi/token", env.running.url()))
            .query(&[("api-version", "2019-08-01"), ("resource", resource)]);
        if let Some(s) = secret {
            r = r.header("X-IDENTITY-HEADER", s);
        }
        r.send()
    };
    let ok = get("https://batch.core.windows.net/", Some(header))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body: serde_json::Value = ok.json().await.unwrap();
    let expires_on: i64 = body["expires_on"].as_str().unwrap().parse().unwrap();
    assert!(expires_on > chrono::Utc::now().timestamp());
    assert_eq!(body["token_type"], "Bearer");
    let token = body["access_token"].as_str().unwrap().to_string();

    #[derive(Debug)]
    struct Given(String);
    #[async_trait]
    impl TokenCredential for Given {
        async fn get_token(
            &self,
            _: &[&str],
            _: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            Ok(AccessToken::new(
                self.0.clone(),
                time::OffsetDateTime::now_utc() + time::Duration::hours(1),
            ))
        }
    }
    let backend = env
        .builder()
        .with_token_credential(Arc::new(Given(token)))
        .build()
        .unwrap();
    signed_read(&backend)
        .await
        .expect("App Service token accepted");

    assert_eq!(
        get("https://batch.core.windows.net/", None)
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        get("https://batch.core.windows.net/", Some("wrong"))
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        get("https://storage.azure.com/", Some(header))
            .await
            .unwrap()
            .status(),
        400
    );
}
