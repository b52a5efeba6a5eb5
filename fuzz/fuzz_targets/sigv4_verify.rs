//! AWS SigV4 verification as the emulator does it (`polybatch-emulator/src/aws/auth.rs` calls
//! `polybatch_protocol::aws::verify::verify`, which recomputes the signature with the official
//! `aws-sigv4`), over a fuzzed request given as raw HTTP/1.1 text, at the server time of its
//! own `X-Amz-Date` (so that a correctly signed seed verifies). Then the request is signed
//! with `aws-sigv4` as the SDK signs and verified again; `parse_authorization` reads every
//! header value.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use libfuzzer_sys::fuzz_target;
use polybatch_emulator::config::{
    DEFAULT_AWS_ACCESS_KEY_ID, DEFAULT_AWS_REGION, DEFAULT_AWS_SECRET_ACCESS_KEY,
};
use polybatch_fuzz::RawRequest;
use polybatch_protocol::aws::verify::{
    Credentials, Received, amz_date, parse_authorization, verify,
};

const FALLBACK_NOW: i64 = 1_700_000_000;

fn check(req: &RawRequest, now: i64) {
    let headers = req.header_refs();
    let received = Received {
        method: &req.method,
        path_and_query: &req.target,
        headers: &headers,
        body: &req.body,
    };
    let credentials = Credentials {
        access_key_id: DEFAULT_AWS_ACCESS_KEY_ID,
        secret_access_key: DEFAULT_AWS_SECRET_ACCESS_KEY,
        session_token: None,
    };
    match verify(
        &received,
        &credentials,
        polybatch_protocol::aws::SERVICE,
        &[DEFAULT_AWS_REGION],
        now,
    ) {
        Ok(v) => {
            let _ = format!("{v:?}");
        }
        Err(f) => {
            let _ = (f.code(), f.status(), f.message());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut req = RawRequest::parse(data);
    let now = req
        .header("x-amz-date")
        .and_then(|d| chrono::NaiveDateTime::parse_from_str(d, "%Y%m%dT%H%M%SZ").ok())
        .map(|t| t.and_utc().timestamp())
        .filter(|t| (0..=4_102_444_800).contains(t))
        .unwrap_or(FALLBACK_NOW);
    check(&req, now);
    for (_, v) in &req.headers {
        if let Err(f) = parse_authorization(v) {
            let _ = f.message();
        }
    }
    let _ = amz_date(UNIX_EPOCH + Duration::from_secs(now as u64));

    // Sign what was received (as the SDK does), then verify it.
    let host = req.header("host").unwrap_or("localhost").to_string();
    req.headers.retain(|(n, _)| {
        ![
            "authorization",
            "x-amz-date",
            "x-amz-security-token",
            "x-amz-content-sha256",
        ]
        .iter()
        .any(|h| n.eq_ignore_ascii_case(h))
    });
    let identity: Identity = AwsCredentials::new(
        DEFAULT_AWS_ACCESS_KEY_ID,
        DEFAULT_AWS_SECRET_ACCESS_KEY,
        None,
        None,
        "fuzz",
    )
    .into();
    let Ok(params) = v4::SigningParams::builder()
        .identity(&identity)
        .region(DEFAULT_AWS_REGION)
        .name(polybatch_protocol::aws::SERVICE)
        .time(UNIX_EPOCH + Duration::from_secs(now as u64))
        .settings(SigningSettings::default())
        .build()
    else {
        return;
    };
    let params = params.into();
    let Ok(signable) = SignableRequest::new(
        &req.method,
        format!("http://{host}{}", req.target),
        req.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        SignableBody::Bytes(&req.body),
    ) else {
        return;
    };
    let Ok(output) = sign(signable, &params) else {
        return;
    };
    let (instructions, _) = output.into_parts();
    for (n, v) in instructions.headers() {
        req.set_header(n, v.to_string());
    }
    check(&req, now);
});
