//! [`ClientOptions`]: how the HTTP client of a backend connects (timeouts, proxy, user agent,
//! extra TLS roots), and the one function that turns them into a `reqwest::Client`.
//!
//! A call is bounded by two settings together: [`ClientOptions::with_timeout`] bounds each
//! attempt (connecting, sending and reading the whole response), and the retry policy's total
//! budget ([`polybatch::retry::RetryPolicy::total_budget`]) bounds all attempts and the waits
//! between them. The budget is the call's deadline: the retry loop starts no new attempt once
//! it would be passed, and cuts short an attempt still running when it passes, so a call never
//! lasts longer than its budget (with [`ClientOptions::with_total_timeout`], at most that).

use std::fmt;
use std::time::Duration;

use polybatch::retry::RetryPolicy;
use polybatch::{Error, Result};
use reqwest::header::HeaderValue;
use url::Url;

use crate::endpoint::is_loopback;

/// The default per-attempt timeout: longer than the 30 s a Batch service may spend on a
/// request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest default connect timeout: unless set, the connect timeout is the per-attempt
/// timeout, but at most this.
pub const MAX_DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The default `User-Agent`: `polybatch/<version>`.
pub const DEFAULT_USER_AGENT: &str = concat!("polybatch/", env!("CARGO_PKG_VERSION"));

/// Which proxy requests go through. A loopback endpoint (an emulator on this machine) never
/// goes through a proxy, whatever this says.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Proxy {
    /// No proxy, even if the environment names one.
    None,
    /// The system's settings: the `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`
    /// environment variables (the default).
    #[default]
    System,
    /// Every request through this proxy: an `http://` or `https://` URL, optionally with
    /// `user:password@` (the password never appears in `Debug` or errors).
    Url(String),
}

impl Proxy {
    /// [`Proxy::Url`].
    pub fn url(url: impl Into<String>) -> Self {
        Proxy::Url(url.into())
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Proxy::None => f.write_str("None"),
            Proxy::System => f.write_str("System"),
            Proxy::Url(u) => f.debug_tuple("Url").field(&shown_proxy(u)).finish(),
        }
    }
}

/// A proxy URL as it may be shown: without its password (and nothing at all if it does not
/// parse, since then the password cannot be told apart).
fn shown_proxy(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                // Cannot fail on a URL that already has a password.
                let _ = url.set_password(Some("redacted"));
            }
            url.to_string()
        }
        Err(_) => "<not a URL>".to_string(),
    }
}

/// How a backend's HTTP client connects. Object-store style: start from
/// [`ClientOptions::default`] and chain `with_*` setters.
///
/// ```
/// use std::time::Duration;
/// use polybatch_http::{ClientOptions, Proxy};
///
/// let options = ClientOptions::default()
///     .with_timeout(Duration::from_secs(30))
///     .with_proxy(Proxy::url("http://proxy.internal:3128"))
///     .with_user_agent("my-scheduler/2.1");
/// assert_eq!(options.connect_timeout(), Duration::from_secs(10));
/// ```
///
/// Settings are checked by [`ClientOptions::build_client`], which fails with
/// [`Error::Configuration`] naming the bad one.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientOptions {
    timeout: Duration,
    connect_timeout: Option<Duration>,
    total_timeout: Option<Duration>,
    proxy: Proxy,
    user_agent: String,
    root_certificates: Vec<Vec<u8>>,
}

impl Default for ClientOptions {
    /// 60 s per attempt, connect timeout min(per-attempt, 10 s), the system proxy,
    /// `polybatch/<version>`, the built-in web PKI roots only.
    fn default() -> Self {
        ClientOptions {
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: None,
            total_timeout: None,
            proxy: Proxy::System,
            user_agent: DEFAULT_USER_AGENT.to_string(),
            root_certificates: Vec::new(),
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout())
            .field("total_timeout", &self.total_timeout)
            .field("proxy", &self.proxy)
            .field("user_agent", &self.user_agent)
            .field("root_certificates", &self.root_certificates.len())
            .finish()
    }
}

impl ClientOptions {
    /// The same as [`ClientOptions::default`].
    pub fn new() -> Self {
        ClientOptions::default()
    }

    /// The per-attempt timeout: connecting, sending and reading the whole response of one
    /// attempt (default 60 s). The retry policy's total budget bounds all attempts together.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The connect timeout (default: the per-attempt timeout, but at most 10 s). A connection
    /// that is not established in time certainly did not carry the request, so even a
    /// non-idempotent call may be retried.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The proxy (default [`Proxy::System`]). A loopback endpoint never uses one.
    pub fn with_proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = proxy;
        self
    }

    /// The `User-Agent` header (default `polybatch/<version>`).
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Trusts the certificates of a PEM bundle (one or more `CERTIFICATE` blocks) as roots, in
    /// addition to the built-in web PKI roots: for a TLS-inspecting proxy or a private
    /// endpoint. May be called more than once.
    pub fn with_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// The per-attempt timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The connect timeout in effect: the one set, else min(per-attempt timeout, 10 s).
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
            .unwrap_or(self.timeout.min(MAX_DEFAULT_CONNECT_TIMEOUT))
    }

    /// The proxy setting.
    pub fn proxy(&self) -> &Proxy {
        &self.proxy
    }

    /// The `User-Agent` sent.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// The extra root certificates, as the PEM bundles given.
    pub fn root_certificates(&self) -> &[Vec<u8>] {
        &self.root_certificates
    }

    /// The most a whole call may take, every attempt and backoff included: the builders cap the
    /// retry policy's total budget with it (an attempt running when it passes is cut short,
    /// so a call lasts at most this). `None` (the default) leaves the
    /// policy's own budget.
    pub fn with_total_timeout(mut self, total: Duration) -> Self {
        self.total_timeout = Some(total);
        self
    }

    /// The total timeout, if one was set.
    pub fn total_timeout(&self) -> Option<Duration> {
        self.total_timeout
    }

    /// Builds the HTTP client for requests to `endpoint` (which decides only whether the proxy
    /// is bypassed: it is for loopback). Errors are [`Error::Configuration`] of `backend`
    /// naming the setting: `timeout` or `connect_timeout` (zero), `proxy` (not an http(s) URL),
    /// `user_agent` (not a valid header value), `root_certificates` (not a PEM certificate).
    pub fn build_client(&self, backend: &'static str, endpoint: &Url) -> Result<reqwest::Client> {
        let bad = |key: &'static str, rule: String| Error::configuration(backend, key, rule);
        if self.timeout.is_zero() {
            return Err(bad("timeout", "must be positive".into()));
        }
        if self.connect_timeout().is_zero() {
            return Err(bad("connect_timeout", "must be positive".into()));
        }
        if self.total_timeout.is_some_and(|t| t.is_zero()) {
            return Err(bad("total_timeout", "must be positive".into()));
        }
        let user_agent = HeaderValue::from_str(&self.user_agent).map_err(|_| {
            bad(
                "user_agent",
                "contains characters not allowed in an HTTP header".into(),
            )
        })?;
        let mut roots = Vec::new();
        for (i, pem) in self.root_certificates.iter().enumerate() {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|_| bad("root_certificates", format!("#{i} is not valid PEM")))?;
            if certs.is_empty() {
                return Err(bad(
                    "root_certificates",
                    format!("#{i} holds no PEM CERTIFICATE block"),
                ));
            }
            roots.extend(certs.into_iter().map(|c| (i, c)));
        }

        let mut b = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout())
            .user_agent(user_agent);
        if is_loopback(endpoint) {
            // An emulator on this machine: no proxy may intercept it.
            b = b.no_proxy();
        } else {
            match &self.proxy {
                Proxy::None => b = b.no_proxy(),
                Proxy::System => {}
                Proxy::Url(raw) => b = b.proxy(parse_proxy(raw).map_err(|r| bad("proxy", r))?),
            }
        }
        for (_, cert) in &roots {
            b = b.add_root_certificate(cert.clone());
        }
        b.build().map_err(|e| {
            // The certificates are the one input whose DER is only checked here: name the
            // first one that fails on its own, if any does.
            for (i, cert) in &roots {
                if reqwest::Client::builder()
                    .add_root_certificate(cert.clone())
                    .build()
                    .is_err()
                {
                    return bad(
                        "root_certificates",
                        format!("#{i} holds a certificate that cannot be parsed"),
                    );
                }
            }
            bad("http_client", format!("cannot be built ({e})"))
        })
    }
}

/// An explicit proxy: an http(s) URL with a host. The error never echoes the URL (it may hold
/// a password).
fn parse_proxy(raw: &str) -> std::result::Result<reqwest::Proxy, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "has scheme {:?}; use http:// or https://",
            url.scheme()
        ));
    }
    if url.host().is_none() {
        return Err("has no host".to_string());
    }
    reqwest::Proxy::all(url).map_err(|_| "is not a usable proxy URL".to_string())
}

/// `retry` with its total budget capped by `options`' total timeout, if one is set: what a
/// builder hands its client.
pub fn capped_retry(mut retry: RetryPolicy, options: &ClientOptions) -> RetryPolicy {
    if let Some(total) = options.total_timeout() {
        retry.total_budget = retry.total_budget.min(total);
    }
    retry
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed test root (no private key kept anywhere).
    const ROOT_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBkzCCATmgAwIBAgIUIOU3A75/WCWq2tgHr9NH96HanEQwCgYIKoZIzj0EAwIw
HjEcMBoGA1UEAwwTcG9seWJhdGNoLXRlc3Qtcm9vdDAgFw0yNjEyMDExNzMxNDNa
GA8yMTI2MTEwNzE3MzE0M1owHjEcMBoGA1UEAwwTcG9seWJhdGNoLXRlc3Qtcm9v
dDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABK7HxyigZ8mpABttCzf4z09Fy5DE
BDLz9o+fKpy7JqlA15Ultc9i3kR273z7fJMVKeIuqU91vMczIppeAR+3QxqjUzBR
MB0GA1UdDgQWBBR7UM4xZcf3oiBd/E/Ns8oBPRhRujAfBgNVHSMEGDAWgBR7UM4x
Zcf3oiBd/E/Ns8oBPRhRujAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gA
MEUCIEN50MdRsRUcidWkGs30JiSFiCVh+jE7cRPX3z+RPBywAiEAnn26vqn3VQ6q
M1V6pI8yqV5lss/WSAmEFJ/k9Jds+IQ=
-----END CERTIFICATE-----
";

    fn remote() -> Url {
        Url::parse("https://batch.example.com").unwrap()
    }

    fn config_key(r: Result<reqwest::Client>) -> String {
        match r {
            Err(Error::Configuration { key, ctx, .. }) => {
                assert_eq!(ctx.backend, "t");
                key.into_owned()
            }
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let o = ClientOptions::default();
        assert_eq!(o, ClientOptions::new());
        assert_eq!(o.timeout(), Duration::from_secs(60));
        assert_eq!(o.connect_timeout(), Duration::from_secs(10));
        assert_eq!(o.proxy(), &Proxy::System);
        assert_eq!(o.user_agent(), DEFAULT_USER_AGENT);
        assert_eq!(
            DEFAULT_USER_AGENT,
            format!("polybatch/{}", env!("CARGO_PKG_VERSION"))
        );
        assert!(o.root_certificates().is_empty());
        o.build_client("t", &remote()).unwrap();
    }

    #[test]
    fn connect_timeout_follows_the_attempt_timeout_unless_set() {
        let short = ClientOptions::default().with_timeout(Duration::from_secs(3));
        assert_eq!(short.connect_timeout(), Duration::from_secs(3));
        let long = ClientOptions::default().with_timeout(Duration::from_secs(600));
        assert_eq!(long.connect_timeout(), Duration::from_secs(10));
        let explicit = long.with_connect_timeout(Duration::from_secs(30));
        assert_eq!(explicit.connect_timeout(), Duration::from_secs(30));
        assert_eq!(explicit.timeout(), Duration::from_secs(600));
    }

    #[test]
    fn every_setting_builds() {
        for proxy in [
            Proxy::None,
            Proxy::System,
            Proxy::url("http://proxy.internal:3128"),
            Proxy::url("https://user:pw@proxy.internal"),
        ] {
            ClientOptions::default()
                .with_proxy(proxy.clone())
                .with_user_agent("my-app/1.0")
                .with_root_certificate(ROOT_PEM)
                .with_root_certificate(format!("{ROOT_PEM}{ROOT_PEM}"))
                .build_client("t", &remote())
                .unwrap_or_else(|e| panic!("{proxy:?}: {e}"));
        }
    }

    #[test]
    fn the_total_timeout_caps_the_retry_budget() {
        let policy = RetryPolicy::default().with_total_budget(Duration::from_secs(120));
        let capped = capped_retry(
            policy.clone(),
            &ClientOptions::default().with_total_timeout(Duration::from_secs(20)),
        );
        assert_eq!(capped.total_budget, Duration::from_secs(20));
        // Never raised, and untouched without one.
        let kept = capped_retry(
            policy.clone(),
            &ClientOptions::default().with_total_timeout(Duration::from_secs(900)),
        );
        assert_eq!(kept.total_budget, Duration::from_secs(120));
        assert_eq!(
            capped_retry(policy, &ClientOptions::default()).total_budget,
            Duration::from_secs(120)
        );
    }

    #[test]
    fn zero_timeouts_name_the_setting() {
        let zero = ClientOptions::default().with_timeout(Duration::ZERO);
        assert_eq!(config_key(zero.build_client("t", &remote())), "timeout");
        let zero = ClientOptions::default().with_connect_timeout(Duration::ZERO);
        assert_eq!(
            config_key(zero.build_client("t", &remote())),
            "connect_timeout"
        );
        let zero = ClientOptions::default().with_total_timeout(Duration::ZERO);
        assert_eq!(
            config_key(zero.build_client("t", &remote())),
            "total_timeout"
        );
        let total = ClientOptions::default().with_total_timeout(Duration::from_secs(90));
        assert_eq!(total.total_timeout(), Some(Duration::from_secs(90)));
        assert_eq!(ClientOptions::default().total_timeout(), None);
    }

    #[test]
    fn bad_proxies_name_the_setting_and_never_echo_the_url() {
        for bad in [
            "not a url",
            "proxy.internal:3128",
            "socks5://proxy.internal:1080",
            "http://user:hunter2@",
            "ftp://user:hunter2@proxy.internal",
        ] {
            let r = ClientOptions::default()
                .with_proxy(Proxy::url(bad))
                .build_client("t", &remote());
            let shown = format!("{r:?}");
            assert_eq!(config_key(r), "proxy", "{bad}");
            assert!(!shown.contains("hunter2"), "{shown}");
        }
        // A loopback endpoint never uses the proxy, so it is not even looked at.
        ClientOptions::default()
            .with_proxy(Proxy::url("not a url"))
            .build_client("t", &Url::parse("http://127.0.0.1:8080").unwrap())
            .unwrap();
    }

    #[test]
    fn bad_user_agent_names_the_setting() {
        let o = ClientOptions::default().with_user_agent("line\nbreak");
        assert_eq!(config_key(o.build_client("t", &remote())), "user_agent");
    }

    #[test]
    fn bad_certificates_name_the_setting() {
        for bad in [
            // Not PEM at all.
            b"just some bytes".to_vec(),
            // PEM framing around something that is not base64.
            b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n".to_vec(),
            // Valid PEM and base64 ("hello world"), but not a certificate.
            b"-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n".to_vec(),
        ] {
            let o = ClientOptions::default()
                .with_root_certificate(ROOT_PEM)
                .with_root_certificate(bad.clone());
            let r = o.build_client("t", &remote());
            let shown = format!("{r:?}");
            assert_eq!(
                config_key(r),
                "root_certificates",
                "{}",
                String::from_utf8_lossy(&bad)
            );
            assert!(shown.contains("#1"), "{shown}");
        }
    }

    #[test]
    fn debug_hides_proxy_passwords_and_certificate_bytes() {
        let o = ClientOptions::default()
            .with_proxy(Proxy::url("http://alice:hunter2@proxy.internal:3128"))
            .with_root_certificate(ROOT_PEM);
        let shown = format!("{o:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("alice"), "{shown}");
        assert!(shown.contains("proxy.internal:3128"), "{shown}");
        assert!(!shown.contains("MIIB"), "{shown}");
        let shown = format!("{:?}", Proxy::url("::: hunter2"));
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
