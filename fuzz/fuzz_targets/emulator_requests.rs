//! The emulator's request handling, in process: the fuzz input is a raw HTTP/1.1 request sent
//! to `Emulator::router()` with `tower::ServiceExt::oneshot` (the OData `$filter`/`$select`
//! parsing of `azure/odata.rs`, the route and query checks of `azure/requests.rs`, conditional
//! headers, request bodies of every front end, the Tencent `X-TC-Action` dispatch, the AWS
//! `/v1/...` routes, the token endpoints), and the reply is read in full.
//!
//! A request without an `Authorization` header is signed first, as a client would sign it
//! (Azure Shared Key for `/jobs...`, TC3 for `POST /` with `X-TC-Action`, SigV4 for
//! `/v1/...`, after adding the `Content-Length` a client sends), at the emulator's fixed
//! auth-clock time, so that mutations reach the handlers
//! behind authentication; one with an `Authorization` header is sent as is. Each input gets a
//! fresh emulator (no state carries over) holding one Azure job `job-1` with tasks `task-1` and
//! `task-2`; its admin API is locked by a token no input knows.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use polybatch::clock::ManualClock;
use polybatch::secret::Secret;
use polybatch_emulator::config::{
    DEFAULT_AWS_ACCESS_KEY_ID, DEFAULT_AWS_REGION, DEFAULT_AWS_SECRET_ACCESS_KEY,
    DEFAULT_AZURE_ACCOUNT, DEFAULT_AZURE_KEY, DEFAULT_TENCENT_SECRET_ID,
    DEFAULT_TENCENT_SECRET_KEY,
};
use polybatch_emulator::{Context, Emulator, EmulatorConfig, SimClock};
use polybatch_fuzz::RawRequest;
use polybatch_protocol::azure::shared_key::{self, QueryNameCase};
use polybatch_protocol::tencent::tc3;
use tower::ServiceExt;

/// The emulator's auth clock: 2024-01-01T00:00:00Z.
const NOW: i64 = 1_704_067_200;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

fn sign_azure(req: &mut RawRequest) {
    req.set_header(
        "ocp-date",
        httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(NOW as u64)),
    );
    let key = shared_key::decode_key(DEFAULT_AZURE_KEY).expect("the default key is base64");
    let query = shared_key::decode_query(req.query());
    let query: Vec<(&str, &str)> = query
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let auth = shared_key::authorize(
        DEFAULT_AZURE_ACCOUNT,
        &key,
        &req.method,
        &req.header_refs(),
        req.path(),
        &query,
        QueryNameCase::Lowercase,
    );
    req.set_header("authorization", auth);
}

fn sign_tencent(req: &mut RawRequest) {
    if req.header("host").is_none() {
        req.set_header("host", "127.0.0.1".into());
    }
    if req.header("content-type").is_none() {
        req.set_header("content-type", "application/json; charset=utf-8".into());
    }
    let content_type = req.header("content-type").unwrap_or("").trim().to_string();
    let host = req.header("host").unwrap_or("").trim().to_string();
    let signed = [
        ("content-type", content_type.as_str()),
        ("host", host.as_str()),
    ];
    if let Some(s) = tc3::sign(
        DEFAULT_TENCENT_SECRET_ID,
        DEFAULT_TENCENT_SECRET_KEY,
        tc3::SERVICE,
        NOW,
        "POST",
        "/",
        req.query(),
        &signed,
        &req.body,
    ) {
        req.set_header("authorization", s.authorization);
        req.set_header("x-tc-timestamp", NOW.to_string());
    }
}

fn sign_aws(req: &mut RawRequest) {
    if req.header("host").is_none() {
        req.set_header("host", "127.0.0.1".into());
    }
    req.headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("x-amz-date"));
    let host = req.header("host").unwrap_or("").to_string();
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
        .time(UNIX_EPOCH + Duration::from_secs(NOW as u64))
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
    let added: Vec<(String, String)> = instructions
        .headers()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    for (n, v) in added {
        req.set_header(&n, v);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut req = RawRequest::parse(data);
    if req.header("authorization").is_none() {
        // As a client sends it: a body's length, then the signature.
        if req.header("content-length").is_none() && (!req.body.is_empty() || req.method == "POST")
        {
            req.set_header("content-length", req.body.len().to_string());
        }
        let path = req.path();
        if path.starts_with("/jobs") {
            sign_azure(&mut req);
        } else if path.starts_with("/v1/") {
            sign_aws(&mut req);
        } else if path == "/" && req.header("x-tc-action").is_some() {
            sign_tencent(&mut req);
        }
    }
    let Ok(method) = http::Method::from_bytes(req.method.as_bytes()) else {
        return;
    };
    let Ok(uri) = req.target.parse::<http::Uri>() else {
        return;
    };
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (n, v) in &req.headers {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(n.as_bytes()),
            http::HeaderValue::from_bytes(v.as_bytes()),
        ) {
            builder = builder.header(n, v);
        }
    }
    let Ok(request) = builder.body(axum::body::Body::from(req.body.clone())) else {
        return;
    };

    let mut config = EmulatorConfig::default();
    config.admin_token = Some(Secret::new("fuzz-admin-token-3f9c1e7a5b2d4c6e8a0b"));
    let auth_clock = ManualClock::new(Utc.timestamp_opt(NOW, 0).single().expect("a time"));
    let emulator = Emulator::with_context(Context::new(
        config,
        SimClock::manual(),
        Arc::new(auth_clock),
    ));
    // An Azure job with tasks and preparation-task records, so that task listings, their
    // OData options and the preparation/release listing have something to work on.
    emulator.azure().with_sim(|sim, now| {
        let job = serde_json::json!({
            "id": "job-1",
            "poolInfo": {"poolId": "pool-1"},
            "jobPreparationTask": {"commandLine": "echo prep"},
        });
        let _ = sim.add_job(job, now);
        for (id, command) in [("task-1", "exit 3"), ("task-2", "true")] {
            let task = serde_json::json!({"id": id, "commandLine": command});
            let _ = sim.add_task("job-1", task, now);
        }
    });
    let _ = emulator.azure().seed_preparation("job-1", 2);
    runtime().block_on(async move {
        let Ok(response) = emulator.router().oneshot(request).await;
        let _ = response.status();
        let _ = axum::body::to_bytes(response.into_body(), 1 << 24).await;
    });
});
