//! Tencent TC3-HMAC-SHA256 verification as the emulator does it
//! (`polybatch-emulator/src/tencent/auth.rs`: `verify_with` and `HostRule::PortOptional`),
//! and as the service does (`verify`, `HostRule::Exact`), over a fuzzed request given as raw
//! HTTP/1.1 text, at the server time of its own `X-TC-Timestamp` (so that a correctly signed
//! seed verifies). Then the request is signed by `tc3::sign` over its `content-type` and
//! `host` and verified again, and `tc3::parse_authorization` reads every header value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use polybatch_emulator::config::{DEFAULT_TENCENT_SECRET_ID, DEFAULT_TENCENT_SECRET_KEY};
use polybatch_fuzz::RawRequest;
use polybatch_protocol::tencent::tc3;
use polybatch_protocol::tencent::verify::{Credentials, HostRule, Received, verify, verify_with};

/// The reference's vector timestamp (2019-02-25).
const FALLBACK_NOW: i64 = 1_551_113_065;

fuzz_target!(|data: &[u8]| {
    let mut req = RawRequest::parse(data);
    let now = req
        .header("x-tc-timestamp")
        .and_then(|t| t.trim().parse::<i64>().ok())
        .filter(|t| (0..=4_102_444_800).contains(t))
        .unwrap_or(FALLBACK_NOW);
    let token = req.header("x-tc-token").map(str::to_string);
    for credentials in [
        Credentials {
            secret_id: DEFAULT_TENCENT_SECRET_ID,
            secret_key: DEFAULT_TENCENT_SECRET_KEY,
            session_token: None,
        },
        Credentials {
            secret_id: DEFAULT_TENCENT_SECRET_ID,
            secret_key: DEFAULT_TENCENT_SECRET_KEY,
            session_token: token.as_deref(),
        },
    ] {
        let headers = req.header_refs();
        let received = Received {
            query: req.query(),
            headers: &headers,
            body: &req.body,
        };
        for rule in [HostRule::Exact, HostRule::PortOptional { default_port: 80 }] {
            if let Err(f) = verify_with(&received, &credentials, now, rule) {
                let _ = (f.code(), f.message());
            }
        }
        let _ = verify(&received, &credentials, now);
    }
    for (_, v) in &req.headers {
        if let Some(p) = tc3::parse_authorization(v) {
            let _ = p.credential_scope();
        }
    }

    // Sign what was received, then verify it.
    let content_type = req.header("content-type").unwrap_or("").trim().to_string();
    let host = req.header("host").unwrap_or("").trim().to_string();
    let action = req
        .header("x-tc-action")
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let mut signed = vec![
        ("content-type", content_type.as_str()),
        ("host", host.as_str()),
    ];
    if !action.is_empty() {
        signed.push(("x-tc-action", action.as_str()));
    }
    let Some(s) = tc3::sign(
        DEFAULT_TENCENT_SECRET_ID,
        DEFAULT_TENCENT_SECRET_KEY,
        tc3::SERVICE,
        now,
        "POST",
        "/",
        req.query(),
        &signed,
        &req.body,
    ) else {
        return;
    };
    let _ = tc3::derive_keys(DEFAULT_TENCENT_SECRET_KEY, &req.method, &req.target);
    req.set_header("authorization", s.authorization);
    req.set_header("x-tc-timestamp", now.to_string());
    let headers = req.header_refs();
    let received = Received {
        query: req.query(),
        headers: &headers,
        body: &req.body,
    };
    let credentials = Credentials {
        secret_id: DEFAULT_TENCENT_SECRET_ID,
        secret_key: DEFAULT_TENCENT_SECRET_KEY,
        session_token: None,
    };
    if let Err(f) = verify_with(
        &received,
        &credentials,
        now,
        HostRule::PortOptional { default_port: 80 },
    ) {
        let _ = f.message();
    }
});
