//! The Tencent front end over real loopback HTTP: requests signed with TC3-HMAC-SHA256 by
//! `polybatch_protocol::tencent::tc3`, a manual simulation clock the tests advance, and a manual auth
//! clock (so timestamps and rate limits are exact).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use polybatch::clock::{Clock, ManualClock};
use polybatch::secret::Secret;
use polybatch_emulator::config::{DEFAULT_TENCENT_SECRET_ID, DEFAULT_TENCENT_SECRET_KEY};
use polybatch_emulator::{
    Context, Emulator, EmulatorConfig, FaultKind, FaultRule, Provider, RunningEmulator, SimClock,
    TencentConfig,
};
use polybatch_protocol::tencent::tc3 as signing;
use serde_json::{Value, json};

struct Harness {
    running: RunningEmulator,
    http: reqwest::Client,
    auth: ManualClock,
}

/// One request to send; fields left alone give a valid SDK-style request.
#[derive(Clone)]
struct Req {
    action: String,
    body: String,
    region: Option<String>,
    version: Option<String>,
    secret_id: String,
    secret_key: String,
    token: Option<String>,
    /// Seconds added to the auth clock's time for `X-TC-Timestamp`.
    skew: i64,
    /// Overrides the credential date.
    date: Option<String>,
    /// Overrides the whole Authorization header (`Some("")` sends none).
    authorization: Option<String>,
    /// Sent after signing, in place of `body`.
    tampered_body: Option<String>,
    /// Sent after signing: a query on the URL (signed: none), another `Content-Type`, one more
    /// header; or no `X-TC-Timestamp` at all.
    tampered_query: Option<String>,
    tampered_content_type: Option<String>,
    extra_header: Option<(String, String)>,
    no_timestamp: bool,
    /// The `host` signed, and the `Host` header sent, when not the emulator's `127.0.0.1:PORT`.
    signed_host: Option<String>,
    sent_host: Option<String>,
}

impl Req {
    fn new(action: &str, body: Value) -> Self {
        Req {
            action: action.into(),
            body: body.to_string(),
            region: Some("ap-guangzhou".into()),
            version: Some("2017-03-12".into()),
            secret_id: DEFAULT_TENCENT_SECRET_ID.into(),
            secret_key: DEFAULT_TENCENT_SECRET_KEY.into(),
            token: None,
            skew: 0,
            date: None,
            authorization: None,
            tampered_body: None,
            tampered_query: None,
            tampered_content_type: None,
            extra_header: None,
            no_timestamp: false,
            signed_host: None,
            sent_host: None,
        }
    }
}

struct Answer {
    status: u16,
    content_type: String,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    fn response(&self) -> Value {
        self.json()["Response"].clone()
    }

    fn code(&self) -> String {
        self.response()["Error"]["Code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn message(&self) -> String {
        self.response()["Error"]["Message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl Harness {
    async fn new() -> Self {
        Harness::with_config(TencentConfig::default()).await
    }

    async fn with_config(tencent: TencentConfig) -> Self {
        let config = EmulatorConfig {
            tencent,
            ..EmulatorConfig::default()
        };
        let auth = ManualClock::new(Utc::now());
        let ctx = Context::new(config, SimClock::manual(), Arc::new(auth.clone()));
        let running = Emulator::with_context(ctx).spawn_local().await.unwrap();
        Harness {
            running,
            http: reqwest::Client::new(),
            auth,
        }
    }

    fn ctx(&self) -> &Arc<Context> {
        self.running.emulator().context()
    }

    /// Moves the simulation clock.
    fn advance(&self, secs: f64) {
        self.ctx().sim_clock.advance(Duration::from_secs_f64(secs));
    }

    /// Sends `req` at the current auth-clock time, without moving it.
    async fn send_now(&self, req: &Req) -> Answer {
        let listening = self.running.addr().to_string();
        let host = req.signed_host.clone().unwrap_or_else(|| listening.clone());
        let ts = self.auth.now().timestamp() + req.skew;
        let date = req
            .date
            .clone()
            .unwrap_or_else(|| signing::date_of(ts).unwrap());
        let content_type = "application/json";
        let headers = [("content-type", content_type), ("host", host.as_str())];
        let canonical = signing::canonical_request("POST", "/", "", &headers, req.body.as_bytes());
        let scope = signing::credential_scope(&date, signing::SERVICE);
        let to_sign = signing::string_to_sign(ts, &scope, &canonical);
        let sig = signing::signature(
            &signing::signing_key(&req.secret_key, &date, signing::SERVICE),
            &to_sign,
        );
        let authorization = req.authorization.clone().unwrap_or_else(|| {
            signing::authorization(&req.secret_id, &scope, signing::SIGNED_HEADERS, &sig)
        });
        let query = req
            .tampered_query
            .as_ref()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        let sent_type = req.tampered_content_type.as_deref().unwrap_or(content_type);
        let mut rb = self
            .http
            .post(format!("{}/{query}", self.running.url()))
            .header("Content-Type", sent_type)
            .header("X-TC-Action", &req.action);
        if !req.no_timestamp {
            rb = rb.header("X-TC-Timestamp", ts.to_string());
        }
        if let Some(sent) = &req.sent_host {
            rb = rb.header("Host", sent.as_str());
        }
        if let Some((n, v)) = &req.extra_header {
            rb = rb.header(n.as_str(), v.as_str());
        }
        if !authorization.is_empty() {
            rb = rb.header("Authorization", authorization);
        }
        if let Some(r) = &req.region {
            rb = rb.header("X-TC-Region", r);
        }
        if let Some(v) = &req.version {
            rb = rb.header("X-TC-Version", v);
        }
        if let Some(t) = &req.token {
            rb = rb.header("X-TC-Token", t);
        }
        let body = req
            .tampered_body
            .clone()
            .unwrap_or_else(|| req.body.clone());
        let resp = rb.body(body).send().await.unwrap();
        Answer {
            status: resp.status().as_u16(),
            content_type: resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string(),
            text: resp.text().await.unwrap(),
        }
    }

    /// Sends `req` one auth-clock second after the previous request (always within limits).
    async fn send(&self, req: &Req) -> Answer {
        self.auth.advance(Duration::from_secs(1));
        self.send_now(req).await
    }

    /// Calls `action` and returns its `Response`, which must not be an error.
    async fn ok(&self, action: &str, body: Value) -> Value {
        let a = self.send(&Req::new(action, body)).await;
        assert_eq!(a.status, 200);
        let r = a.response();
        assert!(r.get("Error").is_none(), "{action} failed: {}", a.text);
        r
    }

    /// Calls `action` and returns its error code, which there must be.
    async fn err(&self, action: &str, body: Value) -> String {
        let a = self.send(&Req::new(action, body)).await;
        assert_eq!(a.status, 200);
        let code = a.code();
        assert!(
            !code.is_empty(),
            "{action} unexpectedly succeeded: {}",
            a.text
        );
        code
    }

    async fn submit(&self, job: Value) -> String {
        let r = self.ok("SubmitJob", job).await;
        r["JobId"].as_str().unwrap().to_string()
    }

    async fn job(&self, id: &str) -> Value {
        self.ok("DescribeJob", json!({ "JobId": id })).await
    }

    async fn state(&self, id: &str) -> String {
        self.job(id).await["JobState"].as_str().unwrap().to_string()
    }

    async fn task(&self, id: &str, task: &str) -> Value {
        self.ok("DescribeTask", json!({ "JobId": id, "TaskName": task }))
            .await
    }
}

fn task(name: &str, exit: i64, run_secs: u64) -> Value {
    json!({
        "TaskName": name,
        "TaskInstanceNum": 1,
        "Application": {"DeliveryForm": "LOCAL", "Command": "echo hi"},
        "ComputeEnv": {"EnvType": "MANAGED", "EnvData": {"InstanceType": "SA5.MEDIUM4", "ImageId": "img-bd78fy2t"}},
        "EnvVars": [
            {"Name": "POLYBATCH_EXIT_CODE", "Value": exit.to_string()},
            {"Name": "POLYBATCH_RUN_SECONDS", "Value": run_secs.to_string()}
        ]
    })
}

fn job_with(name: &str, tasks: Vec<Value>) -> Value {
    json!({
        "Placement": {"Zone": "ap-guangzhou-2"},
        "Job": {"JobName": name, "Priority": 1, "Tasks": tasks}
    })
}

fn simple_job(exit: i64, run_secs: u64) -> Value {
    job_with("job", vec![task("A", exit, run_secs)])
}

fn is_iso_time(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        DateTime::parse_from_rfc3339(s).is_ok() && s.len() == 20 && s.ends_with('Z')
    })
}

// ---------------------------------------------------------------- actions and timeline

#[tokio::test]
async fn submit_and_describe_follow_the_timeline() {
    let h = Harness::new().await;
    let id = h.submit(simple_job(0, 5)).await;
    assert!(id.starts_with("job-") && id.len() == 12, "{id}");
    let expected = [
        (0.0, "SUBMITTED"),
        (1.0, "PENDING"),
        (1.0, "RUNNABLE"),
        (1.0, "STARTING"),
        (1.5, "STARTING"),
        (0.5, "RUNNING"),
        (4.9, "RUNNING"),
        (0.1, "SUCCEED"),
    ];
    for (step, state) in expected {
        h.advance(step);
        assert_eq!(h.state(&id).await, state);
    }
    let j = h.job(&id).await;
    assert_eq!(j["JobId"], id);
    assert_eq!(j["JobName"], "job");
    assert_eq!(j["Zone"], "ap-guangzhou-2");
    assert_eq!(j["Priority"], 1);
    assert!(is_iso_time(&j["CreateTime"]), "{}", j["CreateTime"]);
    assert!(is_iso_time(&j["EndTime"]));
    assert_eq!(j["NextAction"], "");
    assert_eq!(j["StateReason"], "");
    assert_eq!(j["Tags"], json!([]));
    assert_eq!(j["DependenceSet"], json!([]));
    assert_eq!(j["TaskMetrics"]["SucceedCount"], 1);
    assert_eq!(j["TaskInstanceMetrics"]["SucceedCount"], 1);
    let t = &j["TaskSet"][0];
    assert_eq!(t["TaskName"], "A");
    assert_eq!(t["TaskState"], "SUCCEED");
    for f in ["CreateTime", "EndTime"] {
        assert!(is_iso_time(&t[f]), "{f}: {}", t[f]);
    }
    // TaskView has exactly its documented fields.
    let mut fields: Vec<&str> = t.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["CreateTime", "EndTime", "TaskName", "TaskState"]);
    let task = h.task(&id, "A").await;
    assert_eq!(task["TaskState"], "SUCCEED");
    assert_eq!(task["TaskInstanceTotalCount"], 1);
    let inst = &task["TaskInstanceSet"][0];
    assert_eq!(inst["TaskInstanceIndex"], 0);
    assert_eq!(inst["TaskInstanceState"], "SUCCEED");
    assert_eq!(inst["ExitCode"], 0);
    for f in ["CreateTime", "LaunchTime", "RunningTime", "EndTime"] {
        assert!(is_iso_time(&inst[f]), "{f}: {}", inst[f]);
    }
}

#[tokio::test]
async fn envelope_is_http_200_json_with_fresh_request_ids() {
    let h = Harness::new().await;
    let a = h.send(&Req::new("DescribeJobs", json!({}))).await;
    let b = h
        .send(&Req::new("DescribeJob", json!({"JobId": "job-00000000"})))
        .await;
    for x in [&a, &b] {
        assert_eq!(x.status, 200);
        assert_eq!(x.content_type, "application/json");
    }
    let (ra, rb) = (a.response(), b.response());
    assert_eq!(rb["Error"]["Code"], "ResourceNotFound.Job");
    assert!(
        rb["Error"]["Message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    let ida = ra["RequestId"].as_str().unwrap();
    let idb = rb["RequestId"].as_str().unwrap();
    assert_ne!(ida, idb);
    assert_eq!(ida.len(), 36);
}

#[tokio::test]
async fn failure_carries_exit_code_and_retries_first() {
    let h = Harness::new().await;
    let mut t = task("A", 3, 2);
    t["MaxRetryCount"] = json!(1);
    let id = h.submit(job_with("f", vec![t])).await;
    h.advance(7.0); // first run ends at 7 s: retry starts
    assert_eq!(h.state(&id).await, "STARTING");
    h.advance(2.0);
    assert_eq!(h.state(&id).await, "RUNNING");
    h.advance(2.0);
    let j = h.job(&id).await;
    assert_eq!(j["JobState"], "FAILED");
    assert!(j["StateReason"].as_str().unwrap().contains("code 3"));
    let inst = &h.task(&id, "A").await["TaskInstanceSet"][0];
    assert_eq!(inst["TaskInstanceState"], "FAILED");
    assert_eq!(inst["ExitCode"], 3);
    assert!(inst["StateReason"].as_str().unwrap().contains("3"));
}

#[tokio::test]
async fn describe_task_pages_and_filters_instances() {
    let h = Harness::new().await;
    let mut t = task("A", 0, 1);
    t["TaskInstanceNum"] = json!(5);
    let id = h.submit(job_with("p", vec![t])).await;
    h.advance(2.0);
    // Instance 3 fails at once (it is PENDING); the others run on.
    h.ok(
        "TerminateTaskInstance",
        json!({"JobId": id, "TaskName": "A", "TaskInstanceIndex": 3}),
    )
    .await;
    let page = h
        .ok(
            "DescribeTask",
            json!({"JobId": id, "TaskName": "A", "Offset": 1, "Limit": 2}),
        )
        .await;
    assert_eq!(page["TaskInstanceTotalCount"], 5);
    let idx: Vec<i64> = page["TaskInstanceSet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["TaskInstanceIndex"].as_i64().unwrap())
        .collect();
    assert_eq!(idx, vec![1, 2]);
    let failed = h
        .ok(
            "DescribeTask",
            json!({"JobId": id, "TaskName": "A",
                   "Filters": [{"Name": "task-instance-state", "Values": ["FAILED"]}]}),
        )
        .await;
    assert_eq!(failed["TaskInstanceTotalCount"], 1);
    assert_eq!(failed["TaskInstanceSet"][0]["TaskInstanceIndex"], 3);
    assert_eq!(
        failed["TaskInstanceSet"][0]["StateReason"],
        "Terminated by user"
    );
    assert_eq!(failed["TaskInstanceMetrics"]["FailedCount"], 1);
    assert_eq!(failed["TaskInstanceMetrics"]["RunnableCount"], 4);
    assert_eq!(
        h.err("DescribeTask", json!({"JobId": id, "TaskName": "Z"}))
            .await,
        "ResourceNotFound.Task"
    );
    assert_eq!(
        h.err(
            "DescribeTask",
            json!({"JobId": id, "TaskName": "A", "Limit": 1001})
        )
        .await,
        "InvalidParameterValue.LimitExceeded"
    );
}

#[tokio::test]
async fn describe_jobs_filters_and_pages() {
    let h = Harness::new().await;
    let mut ids = Vec::new();
    for i in 0..22 {
        let exit = if i == 0 { 1 } else { 0 };
        ids.push(
            h.submit(job_with(&format!("n{}", i % 2), vec![task("A", exit, 1)]))
                .await,
        );
    }
    let all = h.ok("DescribeJobs", json!({})).await;
    assert_eq!(all["TotalCount"], 22);
    assert_eq!(
        all["JobSet"].as_array().unwrap().len(),
        20,
        "default limit 20"
    );
    // Newest first.
    assert_eq!(all["JobSet"][0]["JobId"], ids[21]);
    let item = &all["JobSet"][0];
    for f in [
        "JobId",
        "JobName",
        "JobState",
        "Priority",
        "Placement",
        "CreateTime",
        "TaskMetrics",
        "Tags",
    ] {
        assert!(item.get(f).is_some(), "missing {f}");
    }
    assert_eq!(item["Placement"]["Zone"], "ap-guangzhou-2");
    let page = h
        .ok("DescribeJobs", json!({"Offset": 20, "Limit": 5}))
        .await;
    assert_eq!(page["TotalCount"], 22);
    assert_eq!(page["JobSet"].as_array().unwrap().len(), 2);
    let by_id = h
        .ok(
            "DescribeJobs",
            json!({"Filters": [{"Name": "job-id", "Values": [ids[3], ids[4]]}]}),
        )
        .await;
    assert_eq!(by_id["TotalCount"], 2);
    let by_name = h
        .ok(
            "DescribeJobs",
            json!({"Filters": [{"Name": "job-name", "Values": ["n1"]}]}),
        )
        .await;
    assert_eq!(by_name["TotalCount"], 11);
    h.advance(10.0);
    let failed = h
        .ok(
            "DescribeJobs",
            json!({"Filters": [{"Name": "job-state", "Values": ["FAILED"]}]}),
        )
        .await;
    assert_eq!(failed["TotalCount"], 1);
    assert_eq!(failed["JobSet"][0]["JobId"], ids[0]);
    let anded = h
        .ok(
            "DescribeJobs",
            json!({"Filters": [{"Name": "job-state", "Values": ["SUCCEED"]},
                               {"Name": "job-name", "Values": ["n0"]}]}),
        )
        .await;
    assert_eq!(anded["TotalCount"], 10);
    let listed = h.ok("DescribeJobs", json!({"JobIds": [ids[5]]})).await;
    assert_eq!(listed["TotalCount"], 1);
    assert_eq!(
        h.err("DescribeJobs", json!({"Limit": 101})).await,
        "InvalidParameterValue.LimitExceeded"
    );
    assert_eq!(
        h.err(
            "DescribeJobs",
            json!({"JobIds": [ids[0]], "Filters": [{"Name": "job-name", "Values": ["x"]}]})
        )
        .await,
        "InvalidParameter.InvalidParameterCombination"
    );
    assert_eq!(
        h.err(
            "DescribeJobs",
            json!({"Filters": [{"Name": "colour", "Values": ["x"]}]})
        )
        .await,
        "InvalidFilter"
    );
}

#[tokio::test]
async fn terminate_job_rules() {
    let h = Harness::new().await;
    let id = h.submit(simple_job(0, 100)).await;
    let a = h
        .send(&Req::new("TerminateJob", json!({"JobId": id})))
        .await;
    assert_eq!(a.code(), "UnsupportedOperation");
    assert!(
        a.response()["Error"]["Message"]
            .as_str()
            .unwrap()
            .contains("SUBMITTED")
    );
    h.advance(6.0);
    assert_eq!(h.state(&id).await, "RUNNING");
    h.ok("TerminateJob", json!({"JobId": id})).await;
    let j = h.job(&id).await;
    assert_eq!(j["JobState"], "RUNNING");
    assert_eq!(j["NextAction"], "TERMINATING");
    h.advance(2.0);
    let j = h.job(&id).await;
    assert_eq!(j["JobState"], "FAILED");
    assert_eq!(j["NextAction"], "");
    let inst = &h.task(&id, "A").await["TaskInstanceSet"][0];
    assert_eq!(inst["TaskInstanceState"], "FAILED");
    assert_eq!(inst["StateReason"], "Terminated by user");

    // SUCCEED: accepted, no effect.
    let done = h.submit(simple_job(0, 1)).await;
    h.advance(10.0);
    h.ok("TerminateJob", json!({"JobId": done})).await;
    h.advance(5.0);
    let j = h.job(&done).await;
    assert_eq!(j["JobState"], "SUCCEED");
    assert_eq!(j["NextAction"], "");
}

#[tokio::test]
async fn terminate_task_instance_rules() {
    let h = Harness::new().await;
    let mut t = task("A", 0, 100);
    t["TaskInstanceNum"] = json!(2);
    let id = h.submit(job_with("t", vec![t])).await;
    h.advance(1.0); // PENDING
    h.ok(
        "TerminateTaskInstance",
        json!({"JobId": id, "TaskName": "A", "TaskInstanceIndex": 0}),
    )
    .await;
    let s = h.task(&id, "A").await;
    assert_eq!(s["TaskInstanceSet"][0]["TaskInstanceState"], "FAILED");
    h.advance(5.0); // instance 1 RUNNING
    h.ok(
        "TerminateTaskInstance",
        json!({"JobId": id, "TaskName": "A", "TaskInstanceIndex": 1}),
    )
    .await;
    h.advance(1.0);
    let s = h.task(&id, "A").await;
    assert_eq!(s["TaskInstanceSet"][1]["TaskInstanceState"], "RUNNING");
    h.advance(1.0);
    let s = h.task(&id, "A").await;
    assert_eq!(s["TaskInstanceSet"][1]["TaskInstanceState"], "FAILED");
    assert_eq!(h.state(&id).await, "FAILED");
    // FAILED: no action, still success.
    h.ok(
        "TerminateTaskInstance",
        json!({"JobId": id, "TaskName": "A", "TaskInstanceIndex": 1}),
    )
    .await;
    assert_eq!(
        h.err(
            "TerminateTaskInstance",
            json!({"JobId": id, "TaskName": "A", "TaskInstanceIndex": 2})
        )
        .await,
        "ResourceNotFound.TaskInstance"
    );
    assert_eq!(
        h.err(
            "TerminateTaskInstance",
            json!({"JobId": id, "TaskName": "B", "TaskInstanceIndex": 0})
        )
        .await,
        "ResourceNotFound.Task"
    );
}

#[tokio::test]
async fn retry_jobs_only_failed_jobs() {
    let h = Harness::new().await;
    let failed = h.submit(simple_job(2, 1)).await;
    let ok = h.submit(simple_job(0, 1)).await;
    h.advance(10.0);
    assert_eq!(h.state(&failed).await, "FAILED");
    assert_eq!(h.state(&ok).await, "SUCCEED");
    assert_eq!(
        h.err("RetryJobs", json!({"JobIds": [failed, ok]})).await,
        "UnsupportedOperation"
    );
    // Nothing was retried.
    assert_eq!(h.state(&failed).await, "FAILED");
    let too_many: Vec<String> = (0..101).map(|i| format!("job-{i:08}")).collect();
    assert_eq!(
        h.err("RetryJobs", json!({ "JobIds": too_many })).await,
        "InvalidParameterValue.LimitExceeded"
    );
    assert_eq!(
        h.err("RetryJobs", json!({"JobIds": ["job-zzzzzzzz"]}))
            .await,
        "ResourceNotFound.Job"
    );
    h.ok("RetryJobs", json!({ "JobIds": [failed] })).await;
    let s = h.task(&failed, "A").await;
    let inst = &s["TaskInstanceSet"][0];
    assert_eq!(inst["TaskInstanceState"], "PENDING");
    assert_eq!(inst["ExitCode"], Value::Null);
    assert_eq!(inst["LaunchTime"], Value::Null);
    h.advance(4.0);
    assert_eq!(h.state(&failed).await, "RUNNING");
    h.advance(1.0);
    assert_eq!(h.state(&failed).await, "FAILED");
}

#[tokio::test]
async fn delete_job_rules() {
    let h = Harness::new().await;
    let id = h.submit(simple_job(0, 1)).await;
    assert_eq!(
        h.err("DeleteJob", json!({"JobId": id})).await,
        "ResourceInUse.Job"
    );
    h.advance(10.0);
    h.ok("DeleteJob", json!({"JobId": id})).await;
    assert_eq!(
        h.err("DescribeJob", json!({"JobId": id})).await,
        "ResourceNotFound.Job"
    );
    assert_eq!(
        h.err("DeleteJob", json!({"JobId": id})).await,
        "ResourceNotFound.Job"
    );
    // FAILED_INTERRUPTED keeps its instance: not deletable until terminated.
    let mut t = task("A", 1, 1);
    t["FailedAction"] = json!("INTERRUPT");
    let id = h.submit(job_with("i", vec![t])).await;
    h.advance(10.0);
    assert_eq!(h.state(&id).await, "FAILED_INTERRUPTED");
    assert_eq!(
        h.err("DeleteJob", json!({"JobId": id})).await,
        "ResourceInUse.Job"
    );
    h.ok("TerminateJob", json!({"JobId": id})).await;
    h.advance(2.0);
    assert_eq!(h.state(&id).await, "FAILED");
    h.ok("DeleteJob", json!({"JobId": id})).await;
}

#[tokio::test]
async fn dependences_wait_and_failed_prerequisites_block() {
    let h = Harness::new().await;
    let mut body = job_with("d", vec![task("A", 0, 2), task("B", 0, 2)]);
    body["Job"]["Dependences"] = json!([{"StartTask": "A", "EndTask": "B"}]);
    let id = h.submit(body).await;
    h.advance(6.0);
    let j = h.job(&id).await;
    assert_eq!(
        j["DependenceSet"],
        json!([{"StartTask": "A", "EndTask": "B"}])
    );
    assert_eq!(j["TaskSet"][0]["TaskState"], "RUNNING");
    assert_eq!(j["TaskSet"][1]["TaskState"], "PENDING");
    h.advance(7.0); // A ends at 7 s, B runs 11..13 s.
    assert_eq!(h.state(&id).await, "SUCCEED");

    let mut body = job_with("d", vec![task("A", 1, 2), task("B", 0, 2)]);
    body["Job"]["Dependences"] = json!([{"StartTask": "A", "EndTask": "B"}]);
    let id = h.submit(body).await;
    h.advance(20.0);
    assert_eq!(h.state(&id).await, "FAILED");
    let b = &h.task(&id, "B").await["TaskInstanceSet"][0];
    assert_eq!(b["TaskInstanceState"], "FAILED");
    assert_eq!(b["LaunchTime"], Value::Null);
}

#[tokio::test]
async fn submit_job_validation_and_idempotency() {
    let h = Harness::new().await;
    let mut body = simple_job(0, 1);
    body["ClientToken"] = json!("token-1");
    let a = h.submit(body.clone()).await;
    let b = h.submit(body).await;
    assert_eq!(a, b);
    let c = h.submit(simple_job(0, 1)).await;
    assert_ne!(a, c);

    let mut both = simple_job(0, 1);
    both["Job"]["Tasks"][0]["EnvId"] = json!("env-abcd1234");
    assert_eq!(
        h.err("SubmitJob", both).await,
        "AllowedOneAttributeInEnvIdAndComputeEnv"
    );
    let mut long = simple_job(0, 1);
    long["Job"]["JobName"] = json!("x".repeat(61));
    assert_eq!(
        h.err("SubmitJob", long).await,
        "InvalidParameter.JobNameTooLong"
    );
    let mut no_tasks = simple_job(0, 1);
    no_tasks["Job"]["Tasks"] = json!([]);
    assert_eq!(h.err("SubmitJob", no_tasks).await, "MissingParameter");
    assert_eq!(
        h.err("SubmitJob", json!({"Job": {"Tasks": []}})).await,
        "MissingParameter"
    );
}

#[tokio::test]
async fn job_id_checks_and_regional_jobs() {
    let h = Harness::new().await;
    for action in ["DescribeJob", "TerminateJob", "DeleteJob"] {
        assert_eq!(
            h.err(action, json!({"JobId": "job-NOPE"})).await,
            "InvalidParameter.JobIdMalformed"
        );
        assert_eq!(
            h.err(action, json!({"JobId": "job-0000abcd"})).await,
            "ResourceNotFound.Job"
        );
    }
    assert_eq!(h.err("DescribeJob", json!({})).await, "MissingParameter");
    let id = h.submit(simple_job(0, 1)).await;
    let mut other = Req::new("DescribeJob", json!({"JobId": id}));
    other.region = Some("ap-shanghai".into());
    assert_eq!(h.send(&other).await.code(), "ResourceNotFound.Job");
}

// ---------------------------------------------------------------- front end checks

#[tokio::test]
async fn auth_failures_have_their_codes() {
    let h = Harness::new().await;
    let base = Req::new("DescribeJobs", json!({}));
    let code = |r: Req| {
        let h = &h;
        async move { h.send(&r).await.code() }
    };
    assert_eq!(code(base.clone()).await, "");
    let mut r = base.clone();
    r.authorization = Some(String::new());
    assert_eq!(code(r).await, "AuthFailure.InvalidAuthorization");
    let mut r = base.clone();
    r.authorization = Some("TC3-HMAC-SHA256 garbage".into());
    assert_eq!(code(r).await, "AuthFailure.InvalidAuthorization");
    let mut r = base.clone();
    r.secret_id = "AKIDsomeoneelse".into();
    assert_eq!(code(r).await, "AuthFailure.SecretIdNotFound");
    let mut r = base.clone();
    r.skew = -301;
    assert_eq!(code(r).await, "AuthFailure.SignatureExpire");
    let mut r = base.clone();
    r.skew = 301;
    assert_eq!(code(r).await, "AuthFailure.SignatureExpire");
    let mut r = base.clone();
    r.skew = 300;
    assert_eq!(code(r).await, "");
    let mut r = base.clone();
    r.date = Some("2001-01-01".into());
    assert_eq!(code(r).await, "AuthFailure.SignatureFailure");
    let mut r = base.clone();
    r.secret_key = "wrong".into();
    assert_eq!(code(r).await, "AuthFailure.SignatureFailure");
    let mut r = base.clone();
    r.tampered_body = Some(r#"{"Limit": 1}"#.into());
    assert_eq!(code(r).await, "AuthFailure.SignatureFailure");
    let mut r = base.clone();
    r.token = Some("not-a-token".into());
    assert_eq!(code(r).await, "AuthFailure.TokenFailure");
    let stats = h.ctx().stats.snapshot();
    assert_eq!(
        stats.errors_with_code(Provider::Tencent, "AuthFailure.SignatureFailure"),
        3
    );
    assert_eq!(stats.requests.get("tencent:DescribeJobs"), Some(&11));
}

/// Every way a signed request can be changed after signing, or sent incomplete, refused with
/// Tencent's code; what TC3 does not cover (a header it did not sign) passes.
#[tokio::test]
async fn tampered_and_incomplete_requests_get_tencents_codes() {
    let h = Harness::new().await;
    let base = Req::new("DescribeJobs", json!({"Limit": 5}));
    type Tamper = fn(&mut Req);
    let cases: [(&str, Tamper, &str); 11] = [
        ("untouched", |_| {}, ""),
        (
            "wrong key",
            |r| r.secret_key = "wrong".into(),
            "AuthFailure.SignatureFailure",
        ),
        (
            "expired timestamp",
            |r| r.skew = -301,
            "AuthFailure.SignatureExpire",
        ),
        (
            "credential date of another day",
            |r| r.date = Some("2001-01-01".into()),
            "AuthFailure.SignatureFailure",
        ),
        (
            "body altered",
            |r| r.tampered_body = Some(r#"{"Limit": 6}"#.into()),
            "AuthFailure.SignatureFailure",
        ),
        (
            "query added",
            |r| r.tampered_query = Some("Limit=6".into()),
            "AuthFailure.SignatureFailure",
        ),
        (
            "content type changed",
            |r| r.tampered_content_type = Some("application/json; charset=utf-8".into()),
            "AuthFailure.SignatureFailure",
        ),
        (
            "no timestamp",
            |r| r.no_timestamp = true,
            "MissingParameter",
        ),
        (
            "no authorization",
            |r| r.authorization = Some(String::new()),
            "AuthFailure.InvalidAuthorization",
        ),
        (
            "token for permanent keys",
            |r| r.token = Some("tok".into()),
            "AuthFailure.TokenFailure",
        ),
        (
            "unsigned header added (not covered)",
            |r| r.extra_header = Some(("X-Custom".into(), "x".into())),
            "",
        ),
    ];
    for (name, tamper, code) in cases {
        let mut r = base.clone();
        tamper(&mut r);
        let a = h.send(&r).await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (200, code),
            "{name}: {}",
            a.text
        );
    }
}

/// The official Node SDK signs `host` without the port its `Host` header carries (the service
/// only listens on the default port, where the two agree). The emulator, on its ephemeral port,
/// accepts that one difference and no other.
#[tokio::test]
async fn signed_host_may_lack_only_the_listening_port() {
    let h = Harness::new().await;
    let port = h.running.addr().port();
    let code = |signed: &str, sent: Option<String>| {
        let mut r = Req::new("DescribeJobs", json!({"Limit": 1}));
        r.signed_host = Some(signed.to_string());
        r.sent_host = sent;
        let h = &h;
        async move {
            let a = h.send(&r).await;
            assert_eq!(a.status, 200, "{}", a.text);
            a.code()
        }
    };
    // As the Node SDK signs for http://127.0.0.1:PORT and http://batch.localhost:PORT.
    assert_eq!(code("127.0.0.1", None).await, "");
    assert_eq!(
        code("batch.localhost", Some(format!("batch.localhost:{port}"))).await,
        ""
    );
    // Every other host is refused, with or without a port.
    let refused = "AuthFailure.SignatureFailure";
    for (signed, sent) in [
        ("batch.tencentcloudapi.com".to_string(), None),
        ("127.0.0.2".to_string(), None),
        (format!("127.0.0.2:{port}"), None),
        (format!("127.0.0.1:{}", port.wrapping_add(1)), None),
        ("localhost".to_string(), None),
        (
            "batch.localhost".to_string(),
            Some(format!("other.localhost:{port}")),
        ),
        // Port 80 is HTTP's default: a client sending it explicitly signed it too.
        (
            "batch.localhost".to_string(),
            Some("batch.localhost:80".to_string()),
        ),
        (
            format!("batch.localhost:{port}"),
            Some("batch.localhost".to_string()),
        ),
    ] {
        assert_eq!(
            code(&signed, sent.clone()).await,
            refused,
            "{signed} / {sent:?}"
        );
    }
    // Without the port the signature must still be right: a wrong key is refused.
    let mut r = Req::new("DescribeJobs", json!({}));
    r.signed_host = Some("127.0.0.1".into());
    r.secret_key = "wrong".into();
    assert_eq!(h.send(&r).await.code(), refused);
}

#[tokio::test]
async fn session_token_must_match() {
    let h = Harness::with_config(TencentConfig {
        session_token: Some(Secret::new("the-session-token")),
        ..TencentConfig::default()
    })
    .await;
    let mut r = Req::new("DescribeJobs", json!({}));
    r.token = Some("the-session-token".into());
    assert_eq!(h.send(&r).await.code(), "");
    r.token = Some("another-token".into());
    assert_eq!(h.send(&r).await.code(), "AuthFailure.TokenFailure");
    // Temporary keys are valid only with their token.
    r.token = None;
    assert_eq!(h.send(&r).await.code(), "AuthFailure.TokenFailure");
    // The token never shows in the configuration's Debug output.
    let printed = format!("{:?}", h.ctx().config);
    assert!(!printed.contains("the-session-token"), "{printed}");
    assert!(!printed.contains(DEFAULT_TENCENT_SECRET_KEY), "{printed}");
}

#[tokio::test]
async fn version_region_action_and_json_checks() {
    let h = Harness::new().await;
    let base = Req::new("DescribeJobs", json!({}));
    let mut r = base.clone();
    r.version = Some("2020-01-01".into());
    assert_eq!(h.send(&r).await.code(), "NoSuchVersion");
    let mut r = base.clone();
    r.region = Some("mars-north-1".into());
    assert_eq!(h.send(&r).await.code(), "UnsupportedRegion");
    let mut r = base.clone();
    r.region = None;
    assert_eq!(h.send(&r).await.code(), "MissingParameter");
    let r = Req::new("CreateComputeEnv", json!({}));
    assert_eq!(h.send(&r).await.code(), "InvalidAction");
    let mut r = base.clone();
    r.body = "{not json".into();
    assert_eq!(h.send(&r).await.code(), "InvalidParameter");
    let mut r = base.clone();
    r.body = "[1]".into();
    assert_eq!(h.send(&r).await.code(), "InvalidParameter");
    let mut r = base.clone();
    r.body = String::new();
    assert_eq!(h.send(&r).await.code(), "");
    // TC3 POST bodies are limited to 10 MB; a bigger one is refused in an envelope.
    let mut r = base.clone();
    r.body = format!("{{\"Pad\":\"{}\"}}", "x".repeat(10 * 1024 * 1024));
    assert_eq!(h.send(&r).await.code(), "RequestSizeLimitExceeded");
    // DescribeJobs documents UnknownParameter for a parameter it does not define.
    let r = Req::new("DescribeJobs", json!({"Limit": 5, "Colour": "blue"}));
    let a = h.send(&r).await;
    assert_eq!(a.code(), "UnknownParameter");
    assert!(a.message().contains("Colour"), "{}", a.message());
}

#[tokio::test]
async fn rate_limits_are_strict_per_action_credential_and_region() {
    let h = Harness::new().await;
    let describe = Req::new("DescribeJobs", json!({}));
    let codes = |n: usize, r: Req| {
        let h = &h;
        async move {
            let mut v = Vec::new();
            for _ in 0..n {
                v.push(h.send_now(&r).await.code());
            }
            v
        }
    };
    h.auth.advance(Duration::from_secs(10));
    assert_eq!(
        codes(3, describe.clone()).await,
        ["", "", "RequestLimitExceeded"]
    );
    // Another action and another region have their own limits.
    assert_eq!(
        codes(
            4,
            Req::new(
                "DescribeTask",
                json!({"JobId": "job-00000000", "TaskName": "A"})
            )
        )
        .await,
        [
            "ResourceNotFound.Job",
            "ResourceNotFound.Job",
            "ResourceNotFound.Job",
            "RequestLimitExceeded"
        ]
    );
    let mut shanghai = describe.clone();
    shanghai.region = Some("ap-shanghai".into());
    assert_eq!(codes(1, shanghai).await, [""]);
    // Half a second later exactly one more is admitted (2/s).
    h.auth.advance(Duration::from_millis(499));
    assert_eq!(codes(1, describe.clone()).await, ["RequestLimitExceeded"]);
    h.auth.advance(Duration::from_millis(1));
    assert_eq!(
        codes(2, describe.clone()).await,
        ["", "RequestLimitExceeded"]
    );
    assert_eq!(
        h.ctx()
            .stats
            .snapshot()
            .errors_with_code(Provider::Tencent, "RequestLimitExceeded"),
        4
    );

    // Overridden and disabled limits.
    let h2 = Harness::with_config(TencentConfig {
        rate_limits: HashMap::from([("DescribeJobs".to_string(), 5)]),
        ..TencentConfig::default()
    })
    .await;
    let mut got = Vec::new();
    for _ in 0..6 {
        got.push(h2.send_now(&describe).await.code());
    }
    assert_eq!(got, ["", "", "", "", "", "RequestLimitExceeded"]);
    let h3 = Harness::with_config(TencentConfig {
        enforce_rate_limits: false,
        ..TencentConfig::default()
    })
    .await;
    for _ in 0..10 {
        assert_eq!(h3.send_now(&describe).await.code(), "");
    }
}

#[tokio::test]
async fn faults_answer_before_the_action() {
    let h = Harness::new().await;
    let faults = &h.ctx().faults;
    faults.add(FaultRule {
        probability: None,
        provider: Provider::Tencent,
        operation: "DescribeJobs".into(),
        times: 1,
        every: 1,
        fault: FaultKind::Error {
            status: 200,
            code: "InternalError".into(),
            retry_after_secs: None,
        },
    });
    faults.add(FaultRule {
        probability: None,
        provider: Provider::Tencent,
        operation: "*".into(),
        times: 1,
        every: 1,
        fault: FaultKind::Error {
            status: 503,
            code: "ServiceUnavailable".into(),
            retry_after_secs: None,
        },
    });
    faults.add(FaultRule {
        probability: None,
        provider: Provider::Tencent,
        operation: "DescribeJobs".into(),
        times: 1,
        every: 1,
        fault: FaultKind::Delay { millis: 20 },
    });
    let r = Req::new("DescribeJobs", json!({}));
    let a = h.send(&r).await;
    assert_eq!((a.status, a.code()), (200, "InternalError".to_string()));
    let b = h.send(&r).await;
    assert_eq!(b.status, 503);
    assert!(b.json().is_null());
    let c = h.send(&r).await;
    assert_eq!(c.code(), "");
    assert!(faults.rules().is_empty(), "the delay fault was used");
    // Faults come after authentication: a bad signature is still reported as such.
    faults.add(FaultRule {
        probability: None,
        provider: Provider::Tencent,
        operation: "*".into(),
        times: 1,
        every: 1,
        fault: FaultKind::Error {
            status: 200,
            code: "InternalError".into(),
            retry_after_secs: None,
        },
    });
    let mut bad = r.clone();
    bad.secret_key = "wrong".into();
    assert_eq!(h.send(&bad).await.code(), "AuthFailure.SignatureFailure");
    assert_eq!(h.send(&r).await.code(), "InternalError");
    let stats = h.ctx().stats.snapshot();
    assert_eq!(
        stats.errors_with_code(Provider::Tencent, "InternalError"),
        2
    );
    assert_eq!(
        stats.errors_with_code(Provider::Tencent, "ServiceUnavailable"),
        1
    );
}

#[tokio::test]
async fn snapshot_lists_jobs_with_current_states() {
    let h = Harness::new().await;
    let id = h.submit(simple_job(0, 1)).await;
    h.advance(3.0);
    let snap = h.running.emulator().tencent().snapshot();
    let job = &snap["jobs"][0];
    assert_eq!(job["JobId"], id);
    assert_eq!(job["JobState"], "STARTING");
    assert_eq!(job["Tasks"][0]["Instances"][0]["State"], "STARTING");
}
