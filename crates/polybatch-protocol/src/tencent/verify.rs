//! TC3-HMAC-SHA256 verification as the service does it: the canonical request is rebuilt from
//! the request as received (the headers `SignedHeaders` names, the exact body bytes) and signed
//! again with the SecretKey. Pure: the caller passes the request, the credentials and the time.
//!
//! Every refusal is a [`Failure`] carrying the code and message Tencent answers with, so every
//! verifier (the emulator, test mocks) answers alike.

use super::MAX_TIMESTAMP_SKEW_SECS;
use super::tc3::{
    ALGORITHM, SERVICE, canonical_request, credential_scope, date_of, parse_authorization,
    signature, signing_key, string_to_sign,
};
use crate::constant_time;

/// The payload hash input when `X-TC-Content-SHA256: UNSIGNED-PAYLOAD` is sent.
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// A POST as the server received it.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// The raw query string (`""` for the SDKs' POSTs).
    pub query: &'a str,
    /// Every header as received, (name, value), any case.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body bytes exactly as received.
    pub body: &'a [u8],
}

impl Received<'_> {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::headers::find(self.headers, name)
    }
}

/// The credentials a server accepts.
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
    /// The SecretId.
    pub secret_id: &'a str,
    /// The SecretKey.
    pub secret_key: &'a str,
    /// The session token that goes with temporary keys, if any.
    pub session_token: Option<&'a str>,
}

impl std::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"<redacted>")
            .field("session_token", &self.session_token.map(|_| "<redacted>"))
            .finish()
    }
}

/// Who signed a request that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The SecretId (the credential part of a rate-limit key).
    pub secret_id: String,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// No `Authorization` header.
    MissingAuthorization,
    /// An `Authorization` header that does not parse.
    MalformedAuthorization,
    /// An algorithm other than TC3-HMAC-SHA256.
    UnsupportedAlgorithm,
    /// A SecretId the server does not know.
    SecretIdNotFound,
    /// No `X-TC-Timestamp`.
    MissingTimestamp,
    /// An `X-TC-Timestamp` that is not an integer.
    InvalidTimestamp,
    /// A timestamp further than five minutes from the server's clock.
    Expired,
    /// The credential date is not the UTC date of the timestamp.
    DateMismatch,
    /// The credential scope names another service.
    WrongService,
    /// `SignedHeaders` leaves out `content-type` or `host`.
    RequiredHeaderNotSigned,
    /// A `SignedHeaders` name is not lowercase.
    SignedHeaderNotLowercase,
    /// A header `SignedHeaders` names was not sent.
    SignedHeaderMissing,
    /// The signature is not the one the server computed.
    SignatureMismatch,
    /// An `X-TC-Token` that is not the session token of these keys, or none for temporary keys.
    InvalidToken,
}

impl Failure {
    /// The error code Tencent answers with.
    pub fn code(self) -> &'static str {
        match self {
            Failure::MissingAuthorization
            | Failure::MalformedAuthorization
            | Failure::UnsupportedAlgorithm => "AuthFailure.InvalidAuthorization",
            Failure::SecretIdNotFound => "AuthFailure.SecretIdNotFound",
            Failure::MissingTimestamp => "MissingParameter",
            Failure::InvalidTimestamp => "InvalidParameter",
            Failure::Expired => "AuthFailure.SignatureExpire",
            Failure::DateMismatch
            | Failure::WrongService
            | Failure::RequiredHeaderNotSigned
            | Failure::SignedHeaderNotLowercase
            | Failure::SignedHeaderMissing
            | Failure::SignatureMismatch => "AuthFailure.SignatureFailure",
            Failure::InvalidToken => "AuthFailure.TokenFailure",
        }
    }

    /// The message Tencent answers with (for signature failures, with the reason appended).
    pub fn message(self) -> String {
        let signature = |detail: &str| {
            format!(
                "The provided credentials could not be validated. Please check your signature is correct. ({detail})"
            )
        };
        let invalid = |detail: &str| format!("Authorization header is invalid: {detail}.");
        match self {
            Failure::MissingAuthorization => invalid("missing"),
            Failure::MalformedAuthorization => invalid("malformed"),
            Failure::UnsupportedAlgorithm => invalid("unsupported algorithm"),
            Failure::SecretIdNotFound => "The SecretId is not found, please ensure that your SecretId is correct. \
                 Note: whitespaces should not exist before or after the key."
                .to_string(),
            Failure::MissingTimestamp => {
                "The request is missing a required parameter `X-TC-Timestamp`.".to_string()
            }
            Failure::InvalidTimestamp => "X-TC-Timestamp must be an integer UNIX time.".to_string(),
            Failure::Expired => "Signature expired. Timestamp and server time cannot differ by more than five minutes.".to_string(),
            Failure::DateMismatch => {
                signature("the credential date is not the UTC date of X-TC-Timestamp")
            }
            Failure::WrongService => signature("the credential service is not batch"),
            Failure::RequiredHeaderNotSigned => {
                signature("SignedHeaders must include content-type and host")
            }
            Failure::SignedHeaderNotLowercase => signature("SignedHeaders names must be lowercase"),
            Failure::SignedHeaderMissing => signature("a signed header is missing"),
            Failure::SignatureMismatch => signature("signature mismatch"),
            Failure::InvalidToken => "Invalid token.".to_string(),
        }
    }
}

/// Which signed `host` values a verifier accepts for the `Host` header it received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostRule {
    /// Only the `Host` header exactly as received: the service, which listens on the default
    /// port only, where a client's `Host` header and signed `host` never differ.
    #[default]
    Exact,
    /// Also the received `Host` header's name without its port, when the header carries an
    /// explicit port other than `default_port` (the port a server listening on another port is
    /// reached at). Clients that sign `URL.hostname` but send `URL.host` (the official Node SDK)
    /// differ there; any other signed host is still refused.
    PortOptional {
        /// The scheme's default port (80 for plain HTTP), which clients leave out of `Host`.
        default_port: u16,
    },
}

impl HostRule {
    /// The other signed `host` this rule accepts for a received `Host` header, if any.
    fn alternative(self, received: &str) -> Option<&str> {
        let HostRule::PortOptional { default_port } = self else {
            return None;
        };
        let (name, port) = received.rsplit_once(':')?;
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let port: u16 = port.parse().ok()?;
        // A name with a colon is an IPv6 literal, which `Host` carries in brackets.
        let well_formed = if name.starts_with('[') {
            name.len() > 2 && name.ends_with(']')
        } else {
            !name.is_empty() && !name.contains(':')
        };
        (well_formed && port != default_port).then_some(name)
    }
}

/// Verifies a POST to `/` against `credentials` at server time `now` (UNIX seconds), as the
/// service does ([`HostRule::Exact`]).
pub fn verify(
    request: &Received<'_>,
    credentials: &Credentials<'_>,
    now: i64,
) -> Result<Verified, Failure> {
    verify_with(request, credentials, now, HostRule::Exact)
}

/// [`verify`], accepting the signed `host` values `host_rule` allows.
pub fn verify_with(
    request: &Received<'_>,
    credentials: &Credentials<'_>,
    now: i64,
    host_rule: HostRule,
) -> Result<Verified, Failure> {
    let raw = request
        .header("authorization")
        .ok_or(Failure::MissingAuthorization)?;
    let auth = parse_authorization(raw).ok_or(Failure::MalformedAuthorization)?;
    if auth.algorithm != ALGORITHM {
        return Err(Failure::UnsupportedAlgorithm);
    }
    if auth.secret_id != credentials.secret_id {
        return Err(Failure::SecretIdNotFound);
    }
    let timestamp: i64 = request
        .header("x-tc-timestamp")
        .ok_or(Failure::MissingTimestamp)?
        .trim()
        .parse()
        .map_err(|_| Failure::InvalidTimestamp)?;
    if timestamp.abs_diff(now) > MAX_TIMESTAMP_SKEW_SECS {
        return Err(Failure::Expired);
    }
    if date_of(timestamp).as_deref() != Some(auth.date.as_str()) {
        return Err(Failure::DateMismatch);
    }
    if auth.service != SERVICE {
        return Err(Failure::WrongService);
    }
    for required in ["content-type", "host"] {
        if !auth.signed_headers.iter().any(|h| h == required) {
            return Err(Failure::RequiredHeaderNotSigned);
        }
    }
    let mut signed: Vec<(&str, String)> = Vec::with_capacity(auth.signed_headers.len());
    for name in &auth.signed_headers {
        if name.as_str() != name.to_ascii_lowercase() {
            return Err(Failure::SignedHeaderNotLowercase);
        }
        let value = request
            .header(name)
            .ok_or(Failure::SignedHeaderMissing)?
            .trim();
        // The documented variant that signs `x-tc-action` signs its value lower-cased.
        let value = if name == "x-tc-action" {
            value.to_ascii_lowercase()
        } else {
            value.to_string()
        };
        signed.push((name.as_str(), value));
    }
    let payload = if request.header("x-tc-content-sha256") == Some(UNSIGNED_PAYLOAD) {
        UNSIGNED_PAYLOAD.as_bytes()
    } else {
        request.body
    };
    let key = signing_key(credentials.secret_key, &auth.date, SERVICE);
    let scope = credential_scope(&auth.date, SERVICE);
    let sent = auth.signature.to_ascii_lowercase();
    let matches = |host: Option<&str>| {
        let pairs: Vec<(&str, &str)> = signed
            .iter()
            .map(|(n, v)| match host {
                Some(h) if *n == "host" => (*n, h),
                _ => (*n, v.as_str()),
            })
            .collect();
        let canonical = canonical_request("POST", "/", request.query, &pairs, payload);
        let expected = signature(&key, &string_to_sign(timestamp, &scope, &canonical));
        constant_time::eq(expected.as_bytes(), sent.as_bytes())
    };
    let received_host = signed
        .iter()
        .find(|(n, _)| *n == "host")
        .map(|(_, v)| v.as_str());
    let alternative = received_host.and_then(|h| host_rule.alternative(h));
    if !matches(None) && !alternative.is_some_and(|h| matches(Some(h))) {
        return Err(Failure::SignatureMismatch);
    }
    // Temporary keys are valid only with their token; permanent keys take none.
    let token = request.header("x-tc-token").filter(|t| !t.is_empty());
    match (token, credentials.session_token) {
        (None, None) => {}
        (Some(sent), Some(expected)) if constant_time::eq(expected.as_bytes(), sent.as_bytes()) => {
        }
        _ => return Err(Failure::InvalidToken),
    }
    Ok(Verified {
        secret_id: auth.secret_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
    const KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
    const TS: i64 = 1551113065;

    fn creds(token: Option<&str>) -> Credentials<'_> {
        Credentials {
            secret_id: ID,
            secret_key: KEY,
            session_token: token,
        }
    }

    fn check(
        headers: &[(&str, &str)],
        body: &[u8],
        c: &Credentials<'_>,
        now: i64,
    ) -> Result<Verified, Failure> {
        verify(
            &Received {
                query: "",
                headers,
                body,
            },
            c,
            now,
        )
    }

    /// Vector 3 of the reference (official Python SDK), accepted at its own timestamp, then
    /// each rule broken once.
    #[test]
    fn accepts_the_sdk_vector_and_checks_each_rule() {
        let auth = "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/batch/tc3_request, SignedHeaders=content-type;host, Signature=3ee20023dae49da55b2ce0f512e7d4d67bab8bdaf0980ea3d448e74babd3f976";
        let ts = TS.to_string();
        let mut h = vec![
            ("authorization", auth),
            ("content-type", "application/json"),
            ("host", "batch.tencentcloudapi.com"),
            ("x-tc-timestamp", ts.as_str()),
        ];
        let body = br#"{"JobId": "job-abcd1234"}"#;
        let code = |r: Result<Verified, Failure>| r.err().map(Failure::code);
        assert_eq!(
            check(&h, body, &creds(None), TS),
            Ok(Verified {
                secret_id: ID.into()
            })
        );
        assert_eq!(code(check(&h, body, &creds(None), TS + 300)), None);
        assert_eq!(code(check(&h, body, &creds(None), TS - 300)), None);
        assert_eq!(
            check(&h, body, &creds(None), TS + 301),
            Err(Failure::Expired)
        );
        assert_eq!(
            check(&h, b"{}", &creds(None), TS),
            Err(Failure::SignatureMismatch)
        );
        let other_id = Credentials {
            secret_id: "AKIDother",
            ..creds(None)
        };
        assert_eq!(
            check(&h, body, &other_id, TS),
            Err(Failure::SecretIdNotFound)
        );
        let other_key = Credentials {
            secret_key: "wrong",
            ..creds(None)
        };
        assert_eq!(
            check(&h, body, &other_key, TS),
            Err(Failure::SignatureMismatch)
        );
        h.push(("x-tc-token", "tok"));
        assert_eq!(
            check(&h, body, &creds(None), TS),
            Err(Failure::InvalidToken)
        );
        assert_eq!(
            check(&h, body, &creds(Some("other")), TS),
            Err(Failure::InvalidToken)
        );
        assert_eq!(code(check(&h, body, &creds(Some("tok")), TS)), None);
        // Temporary keys without their token are refused too.
        let without: Vec<_> = h
            .iter()
            .filter(|(n, _)| *n != "x-tc-token")
            .copied()
            .collect();
        assert_eq!(
            check(&without, body, &creds(Some("tok")), TS),
            Err(Failure::InvalidToken)
        );
        h[2] = ("host", "batch.ap-shanghai.tencentcloudapi.com");
        assert_eq!(
            check(&h, body, &creds(Some("tok")), TS),
            Err(Failure::SignatureMismatch)
        );
    }

    #[test]
    fn malformed_headers_get_the_documented_codes() {
        let ts = TS.to_string();
        let good = "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/batch/tc3_request, SignedHeaders=content-type;host, Signature=00";
        let with = |from: &str, to: &str| good.replacen(from, to, 1);
        let cases: Vec<(Vec<(&str, String)>, Failure)> = vec![
            (vec![], Failure::MissingAuthorization),
            (
                vec![("authorization", "garbage".into())],
                Failure::MalformedAuthorization,
            ),
            (
                vec![("authorization", with("TC3-HMAC-SHA256", "HMAC-SHA1"))],
                Failure::UnsupportedAlgorithm,
            ),
            (
                vec![("authorization", good.into())],
                Failure::MissingTimestamp,
            ),
            (
                vec![
                    ("authorization", good.into()),
                    ("x-tc-timestamp", "soon".into()),
                ],
                Failure::InvalidTimestamp,
            ),
            (
                vec![
                    ("authorization", with("2019-02-25", "2019-02-24")),
                    ("x-tc-timestamp", ts.clone()),
                ],
                Failure::DateMismatch,
            ),
            (
                vec![
                    ("authorization", with("/batch/", "/cvm/")),
                    ("x-tc-timestamp", ts.clone()),
                ],
                Failure::WrongService,
            ),
            (
                vec![
                    ("authorization", with("content-type;host", "host")),
                    ("x-tc-timestamp", ts.clone()),
                ],
                Failure::RequiredHeaderNotSigned,
            ),
            (
                vec![
                    (
                        "authorization",
                        with("content-type;host", "X-TC-Action;content-type;host"),
                    ),
                    ("x-tc-timestamp", ts.clone()),
                ],
                Failure::SignedHeaderNotLowercase,
            ),
            (
                vec![
                    ("authorization", good.into()),
                    ("x-tc-timestamp", ts.clone()),
                ],
                Failure::SignedHeaderMissing,
            ),
        ];
        for (headers, want) in cases {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let got = check(&headers, b"{}", &creds(None), TS).unwrap_err();
            assert_eq!(got, want, "{headers:?}");
            assert!(!got.message().is_empty());
        }
        assert_eq!(Failure::MissingTimestamp.code(), "MissingParameter");
        assert_eq!(Failure::Expired.code(), "AuthFailure.SignatureExpire");
        assert_eq!(
            Failure::SignedHeaderMissing.code(),
            "AuthFailure.SignatureFailure"
        );
    }

    /// The documented `x-tc-action` variant (reference Appendix B, batch TerminateJob).
    #[test]
    fn accepts_the_x_tc_action_variant() {
        let ts = TS.to_string();
        let h = [
            (
                "authorization",
                "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/batch/tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature=aa4bd73944f5a6868b0800cab411fffffdea5f09f92448d452bb2bd5ffce7b83",
            ),
            ("content-type", "application/json; charset=utf-8"),
            ("host", "batch.tencentcloudapi.com"),
            ("x-tc-action", "TerminateJob"),
            ("x-tc-timestamp", ts.as_str()),
        ];
        let r = check(&h, br#"{"JobId":"job-abcd1234"}"#, &creds(None), TS);
        assert!(r.is_ok(), "{r:?}");
    }

    /// Headers for a request that signs `host` as `signed_host` but sends `Host: sent_host`.
    fn signed_for(signed_host: &str, body: &[u8]) -> String {
        use super::super::tc3::{authorization, credential_scope, date_of};
        let date = date_of(TS).unwrap();
        let headers = [("content-type", "application/json"), ("host", signed_host)];
        let canonical = canonical_request("POST", "/", "", &headers, body);
        let scope = credential_scope(&date, SERVICE);
        let sig = signature(
            &signing_key(KEY, &date, SERVICE),
            &string_to_sign(TS, &scope, &canonical),
        );
        authorization(ID, &scope, "content-type;host", &sig)
    }

    /// The official Node SDK signs `URL.hostname` and sends `URL.host`: on a non-default port
    /// the signed `host` lacks the port the `Host` header has. [`HostRule::PortOptional`]
    /// accepts exactly that difference; [`verify`] (the service) and every other host differ.
    #[test]
    fn port_optional_accepts_only_the_host_without_its_port() {
        let ts = TS.to_string();
        let body = br#"{"Limit":1}"#;
        let http = HostRule::PortOptional { default_port: 80 };
        let run = |signed: &str, sent: &str, rule: HostRule| {
            let auth = signed_for(signed, body);
            let h = [
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
                ("host", sent),
                ("x-tc-timestamp", ts.as_str()),
            ];
            verify_with(
                &Received {
                    query: "",
                    headers: &h,
                    body,
                },
                &creds(None),
                TS,
                rule,
            )
            .err()
        };
        let mismatch = Some(Failure::SignatureMismatch);
        // What the SDKs that sign the port send, under either rule.
        for rule in [HostRule::Exact, http] {
            assert_eq!(run("127.0.0.1:8080", "127.0.0.1:8080", rule), None);
            assert_eq!(run("batch.localhost", "batch.localhost", rule), None);
        }
        // The Node SDK on a non-default port: only with PortOptional.
        assert_eq!(run("127.0.0.1", "127.0.0.1:8080", http), None);
        assert_eq!(run("batch.localhost", "batch.localhost:8080", http), None);
        assert_eq!(run("[::1]", "[::1]:8080", http), None);
        assert_eq!(
            run("127.0.0.1", "127.0.0.1:8080", HostRule::Exact),
            mismatch
        );
        assert_eq!(HostRule::default(), HostRule::Exact);
        // Every other difference is still refused.
        for (signed, sent) in [
            ("batch.tencentcloudapi.com", "127.0.0.1:8080"),
            ("127.0.0.2", "127.0.0.1:8080"),
            ("127.0.0.1:9090", "127.0.0.1:8080"),
            ("127.0.0.1:8080", "127.0.0.1"),
            ("127.0.0.1", "127.0.0.1:80"),
            ("127.0.0.1", "127.0.0.1:+8080"),
            ("127.0.0.1", "127.0.0.1:"),
            ("127.0.0.1:8080", "127.0.0.1:8080:8080"),
            ("", ":8080"),
            ("BATCH.localhost", "batch.localhost:8080"),
            ("[::1", "[::1:8080"),
            ("::1", "::1:8080"),
        ] {
            assert_eq!(run(signed, sent, http), mismatch, "{signed} sent as {sent}");
        }
        // The alternative is tried only when the signature also verifies with it: a wrong key
        // is refused whatever the host.
        let wrong = Credentials {
            secret_key: "wrong",
            ..creds(None)
        };
        let auth = signed_for("127.0.0.1", body);
        let h = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("host", "127.0.0.1:8080"),
            ("x-tc-timestamp", ts.as_str()),
        ];
        let received = Received {
            query: "",
            headers: &h,
            body,
        };
        assert_eq!(
            verify_with(&received, &wrong, TS, http),
            Err(Failure::SignatureMismatch)
        );
    }

    #[test]
    fn credentials_debug_shows_no_secret() {
        let text = format!("{:?}", creds(Some("session-tok")));
        assert!(text.contains(ID));
        assert!(
            !text.contains(KEY) && !text.contains("session-tok"),
            "{text}"
        );
    }
}
