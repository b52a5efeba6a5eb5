//! Signing cost per request: TC3-HMAC-SHA256 and Azure Shared Key (polybatch's signers) and
//! SigV4 (the official `aws-sigv4`, as the AWS SDK signs), the work every attempt repeats (each
//! attempt is signed afresh), each next to the bare HMAC-SHA256 chain of inputs of the same
//! sizes (`*_bare_chain`): what signing costs beyond the cryptography it cannot avoid.
//!
//! `cargo bench -p polybatch-tests --bench signing`

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine;
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use polybatch_azure::signing::{self as azure, QueryNameCase};
use polybatch_tencent::signing as tc3;
use sha2::{Digest, Sha256};

fn tencent(c: &mut Criterion) {
    let body = br#"{"JobId":"job-rybewp57"}"#;
    let headers = [
        ("content-type", "application/json; charset=utf-8"),
        ("host", "batch.tencentcloudapi.com"),
    ];
    c.bench_function("tc3_sign_describe_job", |b| {
        b.iter(|| {
            tc3::sign(
                black_box("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"),
                black_box("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"),
                "batch",
                black_box(1_551_113_065),
                "POST",
                "/",
                "",
                &headers,
                body,
            )
        })
    });
}

fn shared_key(c: &mut Criterion) {
    let key = azure::decode_key(
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZg==",
    )
    .expect("valid base64 key");
    let headers = [
        ("content-length", "55"),
        ("content-type", "application/json; odata=minimalmetadata"),
        ("ocp-date", "Fri, 17 Feb 2017 00:00:00 GMT"),
        ("client-request-id", "00000000-0000-0000-0000-000000000000"),
    ];
    let query = [("api-version", "2024-07-01.20.0"), ("force", "true")];
    c.bench_function("shared_key_sign_terminate_job", |b| {
        b.iter(|| {
            azure::authorize(
                black_box("myaccount"),
                &key,
                "POST",
                &headers,
                black_box("/jobs/job-1/terminate"),
                &query,
                QueryNameCase::Lowercase,
            )
        })
    });
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The cryptography TC3 cannot avoid: the body's and the canonical request's SHA-256, then
/// four HMACs (date, service, `tc3_request`, the string to sign), hex out.
fn tencent_bare(c: &mut Criterion) {
    let body = br#"{"JobId":"job-rybewp57"}"#;
    let canonical = "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:batch.tencentcloudapi.com\n\ncontent-type;host\n0000000000000000000000000000000000000000000000000000000000000000";
    c.bench_function("tc3_bare_chain", |b| {
        b.iter(|| {
            let body_hash = hex::encode(Sha256::digest(black_box(body)));
            let request_hash =
                hex::encode(Sha256::digest(format!("{canonical}{body_hash}").as_bytes()));
            let to_sign = format!(
                "TC3-HMAC-SHA256\n1551113065\n2019-02-25/batch/tc3_request\n{request_hash}"
            );
            let k = hmac(b"TC3Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", b"2019-02-25");
            let k = hmac(&k, b"batch");
            let k = hmac(&k, b"tc3_request");
            hex::encode(hmac(&k, to_sign.as_bytes()))
        })
    });
}

/// The cryptography Shared Key cannot avoid: one HMAC over a string to sign of the same size,
/// base64 out.
fn shared_key_bare(c: &mut Criterion) {
    let key = vec![7u8; 64];
    let to_sign = "POST\n\n\n55\n\napplication/json; odata=minimalmetadata\n\n\n\n\n\n\nclient-request-id:00000000-0000-0000-0000-000000000000\nocp-date:Fri, 17 Feb 2017 00:00:00 GMT\n/myaccount/jobs/job-1/terminate\napi-version:2024-07-01.20.0\nforce:true";
    c.bench_function("shared_key_bare_chain", |b| {
        b.iter(|| {
            base64::engine::general_purpose::STANDARD
                .encode(hmac(black_box(&key), black_box(to_sign).as_bytes()))
        })
    });
}

/// SigV4 of a `DescribeJobs` as the AWS SDK signs it (`aws-sigv4`, default settings), and its
/// bare chain: the payload's and canonical request's SHA-256, then five HMACs.
fn sigv4(c: &mut Criterion) {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    use aws_smithy_runtime_api::client::identity::Identity;
    let identity: Identity = aws_credential_types::Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        None,
        None,
        "bench",
    )
    .into();
    let body = br#"{"jobs":["6f1c9b0e-1d2a-4c55-9d7e-2b1f0c8a9e31"]}"#;
    let headers = [
        ("content-type", "application/json"),
        ("host", "batch.us-east-1.amazonaws.com"),
    ];
    c.bench_function("sigv4_sign_describe_jobs", |b| {
        b.iter(|| {
            let params = v4::SigningParams::builder()
                .identity(&identity)
                .region("us-east-1")
                .name("batch")
                .time(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
                .settings(SigningSettings::default())
                .build()
                .expect("signing params")
                .into();
            let request = SignableRequest::new(
                "POST",
                "https://batch.us-east-1.amazonaws.com/v1/describejobs",
                headers.iter().copied(),
                SignableBody::Bytes(black_box(body)),
            )
            .expect("signable request");
            sign(request, &params).expect("signed").into_parts()
        })
    });
    let canonical = "POST\n/v1/describejobs\n\ncontent-type:application/json\nhost:batch.us-east-1.amazonaws.com\nx-amz-date:20231114T221320Z\n\ncontent-type;host;x-amz-date\n";
    c.bench_function("sigv4_bare_chain", |b| {
        b.iter(|| {
            let body_hash = hex::encode(Sha256::digest(black_box(body)));
            let request_hash = hex::encode(Sha256::digest(
                format!("{canonical}{body_hash}").as_bytes(),
            ));
            let to_sign = format!(
                "AWS4-HMAC-SHA256\n20231114T221320Z\n20231114/us-east-1/batch/aws4_request\n{request_hash}"
            );
            let k = hmac(b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", b"20231114");
            let k = hmac(&k, b"us-east-1");
            let k = hmac(&k, b"batch");
            let k = hmac(&k, b"aws4_request");
            hex::encode(hmac(&k, to_sign.as_bytes()))
        })
    });
}

criterion_group!(
    benches,
    tencent,
    tencent_bare,
    shared_key,
    shared_key_bare,
    sigv4
);
criterion_main!(benches);
