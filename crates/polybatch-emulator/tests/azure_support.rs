//! Shared harness for the Azure front-end suites: an emulator on a loopback port with a manual
//! simulation clock and a manual auth clock, and a client that signs requests with Shared Key
//! exactly as sent. Included by the `azure_*` suites with `#[path]`; has no tests of its own.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use polybatch::clock::{Clock, ManualClock};
use polybatch_emulator::{Context, Emulator, EmulatorConfig, RunningEmulator, SimClock};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use polybatch_protocol::azure::shared_key as signing;
pub use polybatch_protocol::azure::shared_key::QueryNameCase;

pub const API: &str = "2024-07-01.20.0";

pub struct Harness {
    pub running: RunningEmulator,
    pub sim: SimClock,
    pub auth: Arc<ManualClock>,
    pub http: reqwest::Client,
    pub account: String,
    pub key: String,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
    /// The BatchError code.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or("").to_string()
    }
    /// The value of a BatchError `values` entry.
    pub fn detail(&self, key: &str) -> String {
        self.json()["values"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["key"] == key)
            .and_then(|v| v["value"].as_str())
            .unwrap_or("")
            .to_string()
    }
}

/// One request to build, sign and send.
pub struct Req {
    pub method: Method,
    pub path_and_query: String,
    pub body: Option<String>,
    pub headers: Vec<(String, String)>,
    pub date: Option<DateTime<Utc>>,
    pub no_date: bool,
    pub key: Option<String>,
    pub account: Option<String>,
    pub names: QueryNameCase,
    pub authorization: Option<String>,
    /// Send the body chunked, with no `Content-Length`.
    pub no_length: bool,
    /// The body's `Content-Type`, when it has one (`None`: send none).
    pub content_type: Option<String>,
    /// Tampering after signing: another path and query, another body (its length sent), more
    /// headers, or another value of a header.
    pub sent_path_and_query: Option<String>,
    pub sent_body: Option<String>,
    pub headers_after_signing: Vec<(String, String)>,
}

impl Req {
    pub fn new(method: Method, path_and_query: &str) -> Req {
        Req {
            method,
            path_and_query: path_and_query.to_string(),
            body: None,
            headers: Vec::new(),
            date: None,
            no_date: false,
            key: None,
            account: None,
            names: QueryNameCase::Lowercase,
            authorization: None,
            no_length: false,
            content_type: Some("application/json; odata=minimalmetadata".into()),
            sent_path_and_query: None,
            sent_body: None,
            headers_after_signing: Vec::new(),
        }
    }
    pub fn json(mut self, body: &Value) -> Req {
        self.body = Some(body.to_string());
        self
    }
    pub fn header(mut self, name: &str, value: &str) -> Req {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

pub fn config(nodes: usize) -> EmulatorConfig {
    let mut c = EmulatorConfig::default();
    c.azure.nodes_per_pool = nodes;
    c
}

pub async fn start(config: EmulatorConfig) -> Harness {
    let sim = SimClock::manual();
    let auth = Arc::new(ManualClock::new(Utc::now()));
    let account = config.azure.account.clone();
    let key = config.azure.key.expose().to_string();
    let ctx = Context::new(config, sim.clone(), auth.clone());
    let running = Emulator::with_context(ctx).spawn_local().await.unwrap();
    Harness {
        running,
        sim,
        auth,
        http: reqwest::Client::new(),
        account,
        key,
    }
}

pub fn rfc1123(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

impl Harness {
    pub fn url(&self) -> String {
        self.running.url()
    }

    pub fn advance(&self, secs: f64) {
        self.sim.advance(Duration::from_secs_f64(secs));
    }

    pub async fn send(&self, req: Req) -> Answer {
        let url = format!("{}{}", self.url(), req.path_and_query);
        let parsed = reqwest::Url::parse(&url).unwrap();
        let mut headers: Vec<(String, String)> = Vec::new();
        if !req.no_date {
            let date = req.date.unwrap_or_else(|| self.auth.now());
            headers.push(("ocp-date".into(), rfc1123(date)));
        }
        let body = req.body.clone().unwrap_or_default();
        if let (Some(_), Some(ct)) = (&req.body, &req.content_type) {
            headers.push(("content-type".into(), ct.clone()));
        }
        if req.method != Method::GET && !req.no_length {
            headers.push(("content-length".into(), body.len().to_string()));
        }
        headers.extend(req.headers.iter().cloned());
        let authorization = req.authorization.clone().unwrap_or_else(|| {
            let h: Vec<(&str, &str)> = headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let q = parsed
                .query()
                .map(signing::decode_query)
                .unwrap_or_default();
            let q: Vec<(&str, &str)> = q.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let key = signing::decode_key(req.key.as_deref().unwrap_or(&self.key)).unwrap();
            let account = req.account.clone().unwrap_or_else(|| self.account.clone());
            signing::authorize(
                &account,
                &key,
                req.method.as_str(),
                &h,
                parsed.path(),
                &q,
                req.names,
            )
        });
        let sent = match &req.sent_path_and_query {
            Some(p) => reqwest::Url::parse(&format!("{}{p}", self.url())).unwrap(),
            None => parsed,
        };
        let body = req.sent_body.clone().unwrap_or(body);
        for (n, v) in &req.headers_after_signing {
            headers.retain(|(h, _)| !h.eq_ignore_ascii_case(n));
            headers.push((n.clone(), v.clone()));
        }
        if req.sent_body.is_some() {
            headers.retain(|(h, _)| !h.eq_ignore_ascii_case("content-length"));
            headers.push(("content-length".into(), body.len().to_string()));
        }
        let mut rb = self.http.request(req.method.clone(), sent);
        for (n, v) in &headers {
            rb = rb.header(n.as_str(), v.as_str());
        }
        if !authorization.is_empty() {
            rb = rb.header("authorization", authorization);
        }
        if req.no_length {
            let chunks = futures::stream::once(async move { Ok::<_, std::io::Error>(body) });
            rb = rb.body(reqwest::Body::wrap_stream(chunks));
        } else if req.method != Method::GET {
            rb = rb.body(body);
        }
        let resp = rb.send().await.unwrap();
        Answer {
            status: resp.status(),
            headers: resp.headers().clone(),
            text: resp.text().await.unwrap_or_default(),
        }
    }

    pub async fn get(&self, path_and_query: &str) -> Answer {
        self.send(Req::new(Method::GET, path_and_query)).await
    }

    pub async fn post(&self, path_and_query: &str, body: Option<Value>) -> Answer {
        let mut r = Req::new(Method::POST, path_and_query);
        if let Some(b) = body {
            r = r.json(&b);
        }
        self.send(r).await
    }

    pub async fn add_job(&self, body: Value) -> Answer {
        self.post(&format!("/jobs?api-version={API}"), Some(body))
            .await
    }

    pub async fn add_task(&self, job: &str, body: Value) -> Answer {
        self.post(&format!("/jobs/{job}/tasks?api-version={API}"), Some(body))
            .await
    }

    pub async fn job(&self, job: &str) -> Value {
        let a = self.get(&format!("/jobs/{job}?api-version={API}")).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        a.json()
    }

    pub async fn task(&self, job: &str, task: &str) -> Value {
        let a = self
            .get(&format!("/jobs/{job}/tasks/{task}?api-version={API}"))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        a.json()
    }
}

/// `environmentSettings` steering the simulated run.
pub fn env(run_seconds: f64, exit_code: i32) -> Value {
    serde_json::json!([
        {"name": "POLYBATCH_RUN_SECONDS", "value": run_seconds.to_string()},
        {"name": "POLYBATCH_EXIT_CODE", "value": exit_code.to_string()},
    ])
}
