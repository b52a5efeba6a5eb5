//! Resilience: no signer or verifier of this crate panics, whatever it is given.
//!
//! Arbitrary methods, paths, queries, headers (names and values with control characters, line
//! breaks, non-ASCII, empty, huge), bodies and keys go through every Shared Key, TC3 and SigV4
//! function; verification of an arbitrary (or almost right) `Authorization` header must return
//! an error, never panic. Server clocks (`now`) stay within realistic bounds: they are the
//! server's own configuration, not request input.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use polybatch_protocol::aws::verify as aws;
use polybatch_protocol::azure::shared_key::{self, QueryNameCase};
use polybatch_protocol::azure::verify as azure;
use polybatch_protocol::tencent::tc3;
use polybatch_protocol::tencent::verify as tencent;
use proptest::prelude::*;

// ----- strategies -----

/// Text of every kind a request can carry: any Unicode, visible ASCII, control characters and
/// line breaks, bytes decoded lossily, empty, and now and then huge.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => any::<String>(),
        8 => "[ -~]{0,64}",
        4 => "[\\x00-\\x1f\\x7f\\r\\n\\t ]{0,16}",
        4 => prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        2 => Just(String::new()),
        1 => (0usize..65_536, any::<char>()).prop_map(|(n, c)| c.to_string().repeat(n)),
    ]
}

/// Header names the signers and verifiers look at (any case), or arbitrary text.
const NAMES: &[&str] = &[
    "authorization",
    "Authorization",
    "ocp-date",
    "OCP-Date",
    "ocp-range",
    "date",
    "content-type",
    "Content-Type",
    "content-length",
    "content-md5",
    "content-encoding",
    "content-language",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "range",
    "host",
    "Host",
    "x-tc-timestamp",
    "x-tc-action",
    "x-tc-token",
    "x-tc-content-sha256",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "ocp-",
    "ocp",
    " ocp-x ",
];

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(NAMES).prop_map(str::to_string),
        1 => text(),
    ]
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((header_name(), text()), 0..12)
}

fn query_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((text(), text()), 0..8)
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        12 => prop::collection::vec(any::<u8>(), 0..256),
        1 => (0usize..262_144, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
    ]
}

/// A realistic server clock: 1970 to 2100.
fn server_now() -> impl Strategy<Value = i64> {
    0i64..4_102_444_800
}

fn refs(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

fn at(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64)
}

/// Authorization values that look nearly right to each verifier, or are arbitrary.
fn azure_authorization() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        (text(), text()).prop_map(|(a, s)| format!("SharedKey {a}:{s}")),
        "[A-Za-z0-9+/=]{0,60}".prop_map(|s| format!("SharedKey devbatch:{s}")),
        text().prop_map(|t| format!("Bearer {t}")),
    ]
}

fn tc3_authorization() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        (text(), text(), text(), text()).prop_map(|(id, d, sh, sig)| format!(
            "TC3-HMAC-SHA256 Credential={id}/{d}/batch/tc3_request, SignedHeaders={sh}, Signature={sig}"
        )),
        (text(), "[0-9a-f]{0,64}").prop_map(|(sh, sig)| format!(
            "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/batch/tc3_request, SignedHeaders={sh}, Signature={sig}"
        )),
        "[0-9a-f]{64}".prop_map(|sig| format!(
            "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/batch/tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature={sig}"
        )),
        (text(), text()).prop_map(|(a, b)| format!("{a} {b}")),
    ]
}

fn sigv4_authorization() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        (text(), text(), text()).prop_map(|(cred, sh, sig)| format!(
            "AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders={sh}, Signature={sig}"
        )),
        (text(), text(), text(), "[0-9a-f]{64}").prop_map(|(date, region, sh, sig)| format!(
            "AWS4-HMAC-SHA256 Credential=AKIAPOLYBATCHEMULATR/{date}/{region}/batch/aws4_request, SignedHeaders={sh}, Signature={sig}"
        )),
        (prop::collection::vec(header_name(), 0..6), "[0-9a-f]{64}").prop_map(|(names, sig)| format!(
            "AWS4-HMAC-SHA256 Credential=AKIAPOLYBATCHEMULATR/20240101/us-east-1/batch/aws4_request, SignedHeaders={}, Signature={sig}",
            names.join(";")
        )),
    ]
}

/// Methods: the usual ones, or arbitrary text.
fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(&["GET", "POST", "PUT", "DELETE", "HEAD", "get", ""][..])
            .prop_map(str::to_string),
        text(),
    ]
}

/// Paths (and path-and-query strings) of any shape.
fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        "/[a-z0-9/%?&=._~-]{0,40}",
        text(),
        text().prop_map(|t| format!("/{t}")),
    ]
}

/// An RFC 1123 or `X-Amz-Date` date near `now`, or arbitrary text.
fn date_near(now: i64, skew: i64, amz: bool) -> String {
    let t = at(now.saturating_add(skew));
    if amz {
        aws::amz_date(t)
    } else {
        httpdate::fmt_http_date(t)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    // ----- Azure Shared Key -----

    #[test]
    fn shared_key_signing_never_panics(
        account in text(),
        key in bytes(),
        method in method(),
        headers in headers(),
        path in path(),
        query in query_pairs(),
        raw_query in text(),
        base64_key in text(),
        auth in azure_authorization(),
    ) {
        let h = refs(&headers);
        let q = refs(&query);
        let _ = shared_key::canonical_headers(&h);
        for case in [QueryNameCase::Lowercase, QueryNameCase::AsSent] {
            let _ = shared_key::canonical_resource(&account, &path, &q, case);
            let sts = shared_key::string_to_sign(&method, &h, &account, &path, &q, case);
            let sig = shared_key::sign(&key, &sts);
            let _ = shared_key::authorization(&account, &sig);
            let _ = shared_key::authorize(&account, &key, &method, &h, &path, &q, case);
        }
        let _ = shared_key::decode_query(&raw_query);
        if let Err(e) = shared_key::decode_key(&base64_key) {
            let _ = e.to_string();
        }
        let _ = shared_key::parse_authorization(&auth);
    }

    #[test]
    fn shared_key_verification_of_a_random_authorization_is_an_error(
        method in method(),
        mut headers in headers(),
        path in path(),
        query in text(),
        auth in azure_authorization(),
        account in prop_oneof![Just("devbatch".to_string()), text()],
        key in prop_oneof![
            Just("cG9seWJhdGNoLWVtdWxhdG9yLWF6dXJlLWRldmVsb3BtZW50LWtleSEh".to_string()),
            text(),
        ],
        now in server_now(),
        skew in -2_000i64..2_000,
        with_date in any::<bool>(),
    ) {
        if with_date {
            headers.push(("ocp-date".into(), date_near(now, skew, false)));
        }
        let h = refs(&headers);
        let request = azure::Received { method: &method, path: &path, query: &query, headers: &h };
        let _ = request.header("ocp-date");
        let result = azure::verify_shared_key(&request, &auth, &account, &key, at(now));
        // A random signature matching is a 2^-256 event: treat it as a failure of the test.
        let failure = result.expect_err("a random Authorization verified");
        let _ = failure.detail();
        let _ = format!("{failure:?}");
        if let Err(f) = azure::check_date(&request, at(now)) {
            let _ = f.detail();
        }
    }

    #[test]
    fn shared_key_sign_then_verify_never_panics(
        method in method(),
        mut headers in headers(),
        path in path(),
        raw_query in text(),
        now in server_now(),
        skew in -2_000i64..2_000,
    ) {
        const KEY: &str = "cG9seWJhdGNoLWVtdWxhdG9yLWF6dXJlLWRldmVsb3BtZW50LWtleSEh";
        headers.retain(|(n, _)| !n.trim().eq_ignore_ascii_case("ocp-date"));
        headers.push(("ocp-date".into(), date_near(now, skew, false)));
        let q = shared_key::decode_query(&raw_query);
        let key = shared_key::decode_key(KEY).expect("the emulator key is base64");
        let auth = shared_key::authorize(
            "devbatch", &key, &method, &refs(&headers), &path, &refs(&q), QueryNameCase::Lowercase,
        );
        let h = refs(&headers);
        let request = azure::Received { method: &method, path: &path, query: &raw_query, headers: &h };
        match azure::verify_shared_key(&request, &auth, "devbatch", KEY, at(now)) {
            Ok(()) => {}
            Err(f) => { let _ = f.detail(); }
        }
    }

    // ----- Tencent TC3 -----

    #[test]
    fn tc3_signing_never_panics(
        secret_id in text(),
        secret_key in text(),
        service in text(),
        timestamp in any::<i64>(),
        method in method(),
        uri in path(),
        query in text(),
        headers in headers(),
        payload in bytes(),
        date in text(),
        auth in tc3_authorization(),
    ) {
        let h = refs(&headers);
        let canonical = tc3::canonical_request(&method, &uri, &query, &h, &payload);
        let _ = tc3::signed_header_names(&h);
        let _ = tc3::hashed_payload(&payload);
        let scope = tc3::credential_scope(&date, &service);
        let _ = tc3::date_of(timestamp);
        let sts = tc3::string_to_sign(timestamp, &scope, &canonical);
        let keys = tc3::derive_keys(&secret_key, &date, &service);
        let _ = format!("{keys:?}");
        let signing = tc3::signing_key(&secret_key, &date, &service);
        let sig = tc3::signature(&signing, &sts);
        let _ = tc3::authorization(&secret_id, &scope, &tc3::signed_header_names(&h), &sig);
        let _ = tc3::sign(
            &secret_id, &secret_key, &service, timestamp, &method, &uri, &query, &h, &payload,
        );
        if let Some(parsed) = tc3::parse_authorization(&auth) {
            let _ = parsed.credential_scope();
        }
    }

    #[test]
    fn tc3_verification_of_a_random_authorization_is_an_error(
        mut headers in headers(),
        auth in tc3_authorization(),
        query in text(),
        body in bytes(),
        now in server_now(),
        skew in -600i64..600,
        with_timestamp in any::<bool>(),
        token in prop::option::of(text()),
        port in any::<u16>(),
    ) {
        headers.push(("authorization".into(), auth));
        if with_timestamp {
            headers.push(("x-tc-timestamp".into(), now.saturating_add(skew).to_string()));
        }
        let h = refs(&headers);
        let request = tencent::Received { query: &query, headers: &h, body: &body };
        let _ = request.header("host");
        let credentials = tencent::Credentials {
            secret_id: "AKID",
            secret_key: "key",
            session_token: token.as_deref(),
        };
        let _ = format!("{credentials:?}");
        for rule in [tencent::HostRule::Exact, tencent::HostRule::PortOptional { default_port: port }] {
            let failure = tencent::verify_with(&request, &credentials, now, rule)
                .expect_err("a random Authorization verified");
            let _ = failure.code();
            let _ = failure.message();
        }
        let _ = tencent::verify(&request, &credentials, now);
    }

    #[test]
    fn tc3_sign_then_verify_never_panics(
        headers in headers(),
        host in text(),
        content_type in text(),
        action in text(),
        body in bytes(),
        now in server_now(),
        skew in -600i64..600,
    ) {
        let ts = now.saturating_add(skew);
        let mut signed = vec![
            ("content-type", content_type.as_str()),
            ("host", host.as_str()),
            ("x-tc-action", action.as_str()),
        ];
        signed.sort();
        let Some(s) = tc3::sign("AKID", "key", "batch", ts, "POST", "/", "", &signed, &body) else {
            return Ok(());
        };
        let mut all = headers.clone();
        for (n, v) in &signed {
            all.push(((*n).to_string(), (*v).to_string()));
        }
        all.push(("authorization".into(), s.authorization));
        all.push(("x-tc-timestamp".into(), ts.to_string()));
        let h = refs(&all);
        let request = tencent::Received { query: "", headers: &h, body: &body };
        let credentials = tencent::Credentials { secret_id: "AKID", secret_key: "key", session_token: None };
        if let Err(f) = tencent::verify_with(
            &request, &credentials, now, tencent::HostRule::PortOptional { default_port: 80 },
        ) {
            let _ = f.message();
        }
    }

    // ----- AWS SigV4 -----

    #[test]
    fn sigv4_parsing_never_panics(auth in sigv4_authorization()) {
        match aws::parse_authorization(&auth) {
            Ok(a) => { let _ = format!("{a:?}"); }
            Err(f) => { let _ = (f.code(), f.status(), f.message()); }
        }
    }

    #[test]
    fn sigv4_verification_of_a_random_authorization_is_an_error(
        method in method(),
        path_and_query in path(),
        mut headers in headers(),
        auth in sigv4_authorization(),
        body in bytes(),
        now in server_now(),
        skew in -1_200i64..1_200,
        with_date in any::<bool>(),
        amz_date in text(),
        token in prop::option::of(text()),
        host in prop::option::of(text()),
    ) {
        headers.push(("authorization".into(), auth));
        if with_date {
            headers.push(("x-amz-date".into(), date_near(now, skew, true)));
        } else {
            headers.push(("x-amz-date".into(), amz_date));
        }
        if let Some(h) = host {
            headers.push(("host".into(), h));
        }
        let h = refs(&headers);
        let request = aws::Received {
            method: &method,
            path_and_query: &path_and_query,
            headers: &h,
            body: &body,
        };
        let credentials = aws::Credentials {
            access_key_id: "AKIAPOLYBATCHEMULATR",
            secret_access_key: "secret",
            session_token: token.as_deref(),
        };
        let _ = format!("{credentials:?}");
        let failure = aws::verify(&request, &credentials, "batch", &["us-east-1"], now)
            .expect_err("a random Authorization verified");
        let _ = (failure.code(), failure.status(), failure.message());
    }

    /// A well-formed header for today's scope, the right key and an arbitrary request: this
    /// reaches the official signer with whatever the request holds.
    #[test]
    fn sigv4_well_formed_but_wrong_signature_is_an_error(
        method in method(),
        path_and_query in path(),
        extra in headers(),
        signed_names in prop::collection::vec(header_name(), 0..6),
        sig in "[0-9a-f]{64}",
        body in bytes(),
        now in server_now(),
        skew in -600i64..600,
    ) {
        let date = date_near(now, skew, true);
        let day = date.get(..8).unwrap_or("").to_string();
        let mut headers = extra;
        headers.push(("x-amz-date".into(), date));
        headers.push(("authorization".into(), format!(
            "AWS4-HMAC-SHA256 Credential=AKIAPOLYBATCHEMULATR/{day}/us-east-1/batch/aws4_request, SignedHeaders={}, Signature={sig}",
            signed_names.join(";"),
        )));
        let h = refs(&headers);
        let request = aws::Received {
            method: &method,
            path_and_query: &path_and_query,
            headers: &h,
            body: &body,
        };
        let credentials = aws::Credentials {
            access_key_id: "AKIAPOLYBATCHEMULATR",
            secret_access_key: "secret",
            session_token: None,
        };
        let failure = aws::verify(&request, &credentials, "batch", &["us-east-1"], now)
            .expect_err("a random signature verified");
        let _ = failure.message();
    }

    #[test]
    fn amz_date_never_panics(now in server_now()) {
        let _ = aws::amz_date(at(now));
    }

    // ----- shared helpers -----

    #[test]
    fn header_lookup_never_panics(headers in headers(), name in header_name()) {
        let h = refs(&headers);
        let _ = polybatch_protocol::headers::find(&h, &name);
        let _ = polybatch_protocol::constant_time::eq(name.as_bytes(), b"authorization");
    }
}
