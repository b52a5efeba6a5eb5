//! Signing cost per request: TC3-HMAC-SHA256 and Azure Shared Key, the work every attempt
//! repeats (each attempt is signed afresh).
//!
//! `cargo bench -p polybatch-tests --bench signing`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use polybatch_azure::signing::{self as azure, QueryNameCase};
use polybatch_tencent::signing as tc3;

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

criterion_group!(benches, tencent, shared_key);
criterion_main!(benches);
