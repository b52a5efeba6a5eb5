//! Azure authentication over real loopback HTTP: Shared Key verification (both query-name
//! spellings, wrong key/account, date window), the token endpoint and bearer tokens.

#[path = "azure_support.rs"]
mod support;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::*;

const WRONG_KEY: &str =
    "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZg==";

#[tokio::test]
async fn shared_key_failures_and_date_window() {
    let h = start(config(1)).await;
    let url = format!("/jobs/x?api-version={API}");
    let mut r = Req::new(Method::GET, &url);
    r.key = Some(WRONG_KEY.into());
    let a = h.send(r).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "AuthenticationFailed".into())
    );
    let detail = a.detail("AuthenticationErrorDetail");
    assert!(
        detail.starts_with("The MAC signature found in the HTTP request '"),
        "{detail}"
    );
    assert!(
        detail.contains(
            "Server used following string to sign: 'GET\n\n\n\n\n\n\n\n\n\n\n\nocp-date:"
        ),
        "{detail}"
    );
    assert!(
        detail.contains(&format!("\n/{}/jobs/x\napi-version:{API}'.", h.account)),
        "{detail}"
    );
    assert!(!a.text.contains(&h.key), "the key never appears");

    let mut r = Req::new(Method::GET, &url);
    r.account = Some("someoneelse".into());
    assert_eq!(h.send(r).await.code(), "AuthenticationFailed");

    let mut r = Req::new(Method::GET, &url);
    r.authorization = Some("SharedKey nocolon".into());
    assert_eq!(h.send(r).await.status, StatusCode::FORBIDDEN);

    let mut r = Req::new(Method::GET, &url);
    r.no_date = true;
    let a = h.send(r).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(
        a.detail("AuthenticationErrorDetail")
            .contains("date header not specified")
    );

    let auth_now = polybatch::clock::Clock::now(&*h.auth);
    let mut r = Req::new(Method::GET, &url);
    r.date = Some(auth_now - chrono::Duration::minutes(16));
    let a = h.send(r).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(
        a.detail("AuthenticationErrorDetail")
            .contains("outside the allowed window")
    );
    let mut r = Req::new(Method::GET, &url);
    r.date = Some(auth_now + chrono::Duration::minutes(16));
    assert_eq!(h.send(r).await.status, StatusCode::FORBIDDEN);
    // Inside the window: authenticated (the job does not exist).
    let mut r = Req::new(Method::GET, &url);
    r.date = Some(auth_now - chrono::Duration::minutes(14));
    assert_eq!(h.send(r).await.code(), "JobNotFound");
    // The service's clock moving on makes the same date stale.
    h.auth.advance(Duration::from_secs(20 * 60));
    let mut r = Req::new(Method::GET, &url);
    r.date = Some(auth_now);
    assert_eq!(h.send(r).await.code(), "AuthenticationFailed");

    // Missing Authorization: 401 with a challenge.
    let a = h
        .http
        .get(format!("{}{url}", h.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), StatusCode::UNAUTHORIZED);
    assert!(
        a.headers()
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("Bearer ")
    );

    // Authentication comes before api-version checks.
    let mut r = Req::new(Method::GET, "/jobs/x");
    r.key = Some(WRONG_KEY.into());
    assert_eq!(h.send(r).await.code(), "AuthenticationFailed");
    let stats = h.running.emulator().context().stats.snapshot();
    assert!(
        stats.errors_with_code(polybatch_emulator::Provider::Azure, "AuthenticationFailed") >= 5
    );
}

#[tokio::test]
async fn both_query_name_spellings_verify() {
    let h = start(config(1)).await;
    h.add_job(json!({"id": "q", "poolInfo": {"poolId": "p"}}))
        .await;
    for names in [QueryNameCase::Lowercase, QueryNameCase::AsSent] {
        let mut r = Req::new(Method::GET, "/jobs/q?api-version=2025-06-01&timeOut=30");
        r.names = names;
        assert_eq!(h.send(r).await.status, StatusCode::OK, "{names:?}");
    }
    // A POST with a body: content-type and content-length are signed as sent.
    let mut r = Req::new(
        Method::POST,
        "/jobs/q/tasks?api-version=2025-06-01&timeOut=30",
    )
    .json(&json!({"id": "t", "commandLine": "x"}));
    r.names = QueryNameCase::AsSent;
    assert_eq!(h.send(r).await.status, StatusCode::CREATED);
    // A percent-encoded path is signed as sent.
    h.add_job(json!({"id": "with_underscore", "poolInfo": {"poolId": "p"}}))
        .await;
    assert_eq!(
        h.get(&format!("/jobs/with%5Funderscore?api-version={API}"))
            .await
            .status,
        StatusCode::OK
    );
}

async fn token(h: &Harness, tenant: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let r = h
        .http
        .post(format!("{}/{tenant}/oauth2/v2.0/token", h.url()))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn token_endpoint_and_bearer_tokens() {
    let mut cfg = config(1);
    cfg.azure.token_lifetime_secs = 600;
    let (tenant, client, secret) = (
        cfg.azure.tenant_id.clone(),
        cfg.azure.client_id.clone(),
        cfg.azure.client_secret.expose().to_string(),
    );
    let h = start(cfg).await;
    let good = |scope: &'static str| {
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", client.as_str()),
            ("client_secret", secret.as_str()),
            ("scope", scope),
        ]
    };
    let (s, body) = token(
        &h,
        &tenant,
        &good("https://batch.core.windows.net//.default"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["ext_expires_in"], 600);
    let access = body["access_token"].as_str().unwrap().to_string();
    let (s, _) = token(
        &h,
        &tenant,
        &good("https://batch.core.windows.net/.default"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    let mut wrong = good("https://batch.core.windows.net//.default");
    wrong[2].1 = "nope";
    let (s, body) = token(&h, &tenant, &wrong).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS7000215: Invalid client secret provided.")
    );
    assert!(!body.to_string().contains(&secret));
    let mut wrong = good("https://batch.core.windows.net//.default");
    wrong[1].1 = "someone";
    let (s, body) = token(&h, &tenant, &wrong).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unauthorized_client"))
    );
    let (s, body) = token(
        &h,
        &tenant,
        &good("https://batch.core.windows.net/user_impersonation"),
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );
    let (s, body) = token(&h, &tenant, &good("https://management.azure.com/.default")).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_resource"))
    );
    let mut wrong = good("https://batch.core.windows.net//.default");
    wrong[0].1 = "password";
    let (_, body) = token(&h, &tenant, &wrong).await;
    assert_eq!(body["error"], "unsupported_grant_type");
    let (s, body) = token(
        &h,
        "other-tenant",
        &good("https://batch.core.windows.net//.default"),
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );

    h.add_job(json!({"id": "b", "poolInfo": {"poolId": "p"}}))
        .await;
    let bearer = |t: &str| {
        let mut r = Req::new(Method::GET, &format!("/jobs/b?api-version={API}"));
        r.authorization = Some(format!("Bearer {t}"));
        r.no_date = true;
        r
    };
    assert_eq!(h.send(bearer(&access)).await.status, StatusCode::OK);
    let a = h.send(bearer("made-up")).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::UNAUTHORIZED, "AuthenticationFailed".into())
    );
    assert!(
        a.header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );
    h.auth.advance(Duration::from_secs(601));
    let a = h.send(bearer(&access)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.detail("AuthenticationErrorDetail").contains("expired"));
    let stats = h.running.emulator().context().stats.snapshot();
    assert_eq!(stats.requests.get("azure:OAuth2_Token"), Some(&8));
    assert_eq!(
        stats.errors_with_code(polybatch_emulator::Provider::Azure, "invalid_client"),
        1
    );
}

/// Every way a signed request can be changed after signing, or sent incomplete, refused with
/// the service's status and code; what Shared Key does not cover (an unsigned header) passes.
#[tokio::test]
async fn tampered_and_incomplete_requests_are_refused_with_the_services_codes() {
    let h = start(config(1)).await;
    h.add_job(json!({"id": "t", "poolInfo": {"poolId": "p"}}))
        .await;
    let get = format!("/jobs/t?api-version={API}&timeout=30");
    let terminate = format!("/jobs/t/terminate?api-version={API}");
    let body = json!({"terminateReason": "r"});
    let auth_now = polybatch::clock::Clock::now(&*h.auth);
    type Tamper = fn(&mut Req);
    let cases: Vec<(&str, Req, Tamper, StatusCode, &str)> = vec![
        (
            "wrong key",
            Req::new(Method::GET, &get),
            |r| r.key = Some(WRONG_KEY.into()),
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
        ),
        (
            "date outside the window",
            Req::new(Method::GET, &get),
            |_| {},
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
        ),
        (
            "no date",
            Req::new(Method::GET, &get),
            |r| r.no_date = true,
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
        ),
        (
            "query altered",
            Req::new(Method::GET, &get),
            |r| r.sent_path_and_query = Some(format!("/jobs/t?api-version={API}&timeout=31")),
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
        ),
        (
            "path altered",
            Req::new(Method::GET, &get),
            |r| r.sent_path_and_query = Some(format!("/jobs/T?api-version={API}&timeout=30")),
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
        ),
        (
            "body altered (its length signed)",
            Req::new(Method::POST, &terminate).json(&body),
            |r| r.sent_body = Some(r#"{"terminateReason": "something else"}"#.into()),
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
        ),
        (
            "ocp- header added",
            Req::new(Method::GET, &get),
            |r| {
                r.headers_after_signing
                    .push(("ocp-extra".into(), "x".into()))
            },
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
        ),
        (
            "content type changed",
            Req::new(Method::POST, &terminate).json(&body),
            |r| {
                r.headers_after_signing
                    .push(("content-type".into(), "application/json".into()))
            },
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
        ),
        (
            "content type not JSON",
            Req::new(Method::POST, &terminate).json(&body),
            |r| r.content_type = Some("text/plain".into()),
            StatusCode::BAD_REQUEST,
            "InvalidHeaderValue",
        ),
        (
            "no length",
            Req::new(Method::POST, &terminate),
            |r| r.no_length = true,
            StatusCode::LENGTH_REQUIRED,
            "MissingContentLengthHeader",
        ),
        (
            "unsigned header added (not covered)",
            Req::new(Method::GET, &get),
            |r| {
                r.headers_after_signing
                    .push(("x-custom".into(), "x".into()))
            },
            StatusCode::OK,
            "",
        ),
    ];
    for (name, mut req, tamper, status, code) in cases {
        if name == "date outside the window" {
            req.date = Some(auth_now - chrono::Duration::minutes(16));
        }
        tamper(&mut req);
        let a = h.send(req).await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (status, code),
            "{name}: {}",
            a.text
        );
    }
    // None of them changed the job.
    assert_eq!(h.job("t").await["state"], "active");
}
