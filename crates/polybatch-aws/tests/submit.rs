//! `SubmitJob` has no idempotency token: a submit whose answer is lost must not create a
//! second job. A loopback server stands in for AWS Batch: it applies `SubmitJob` and then
//! answers a 500 (the answer lost), and serves `ListJobs` and `DescribeJobs` over what it
//! applied, so the test counts jobs created rather than answers.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use polybatch::{
    BatchBackend, IdempotencyKey, JobSpec, Placement, SubmitJobOptions, TaskId, TaskSpec,
};
use polybatch_aws::AwsBatchBuilder;
use serde_json::{Value, json};

#[derive(Default)]
struct Batch {
    jobs: Vec<Value>,
    submits: u32,
    lose_answers: u32,
}

type Shared = Arc<Mutex<Batch>>;

async fn serve(State(state): State<Shared>, uri: Uri, body: String) -> (StatusCode, String) {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let mut b = state.lock().unwrap();
    match uri.path() {
        "/v1/submitjob" => {
            b.submits += 1;
            let id = format!("job-{}", b.jobs.len() + 1);
            b.jobs.push(json!({
                "jobId": id, "jobName": body["jobName"], "jobQueue": body["jobQueue"],
                "jobDefinition": body["jobDefinition"], "status": "SUBMITTED",
                "createdAt": 1_700_000_000_000i64, "dependsOn": [], "tags": body["tags"],
            }));
            if b.lose_answers > 0 {
                b.lose_answers -= 1;
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"__type": "ServerException", "message": "lost"}).to_string(),
                );
            }
            (
                StatusCode::OK,
                json!({"jobId": id, "jobName": body["jobName"], "jobArn": "arn"}).to_string(),
            )
        }
        "/v1/listjobs" => {
            let name = body["filters"][0]["values"][0].as_str().unwrap_or("");
            let list: Vec<Value> = b
                .jobs
                .iter()
                .filter(|j| j["jobName"] == name)
                .map(|j| json!({"jobId": j["jobId"], "jobName": j["jobName"], "status": j["status"]}))
                .collect();
            (StatusCode::OK, json!({"jobSummaryList": list}).to_string())
        }
        "/v1/describejobs" => {
            let ids: Vec<&str> = body["jobs"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let jobs: Vec<Value> = b
                .jobs
                .iter()
                .filter(|j| ids.contains(&j["jobId"].as_str().unwrap_or("")))
                .cloned()
                .collect();
            (StatusCode::OK, json!({"jobs": jobs}).to_string())
        }
        other => (StatusCode::NOT_FOUND, format!("no route {other}")),
    }
}

fn spec() -> JobSpec {
    JobSpec::new(
        "render",
        Placement::AwsJobQueue {
            job_queue: "q".into(),
            job_definition: "d".into(),
        },
        vec![TaskSpec::shell(TaskId::new("t").unwrap(), "true")],
    )
}

#[tokio::test]
async fn a_lost_submit_answer_creates_one_job_and_reports_it_created() {
    let state: Shared = Arc::new(Mutex::new(Batch {
        lose_answers: 1,
        ..Batch::default()
    }));
    let app = axum::Router::new()
        .fallback(serve)
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let backend = AwsBatchBuilder::new()
        .with_region("us-east-1")
        .with_endpoint_url(&url)
        .with_credentials("AKIDTEST", "secret", None)
        .build()
        .await
        .unwrap();
    let mut s = spec();
    s.idempotency_key = Some(IdempotencyKey::new("lost-answer-key").unwrap());

    let outcome = backend
        .submit_job(s.clone(), SubmitJobOptions::default())
        .await
        .unwrap();
    {
        let b = state.lock().unwrap();
        // The SDK did not replay the SubmitJob; polybatch looked the job up instead.
        assert_eq!(b.submits, 1, "one SubmitJob applied");
        assert_eq!(b.jobs.len(), 1);
        assert_eq!(b.jobs[0]["jobId"], outcome.job.as_str());
    }
    assert!(
        outcome.created,
        "this call's nonce is on the job: it made it"
    );

    // The same key from another call: found, not created.
    let again = backend
        .submit_job(s, SubmitJobOptions::default())
        .await
        .unwrap();
    assert_eq!(again.job, outcome.job);
    assert!(!again.created);
    assert_eq!(state.lock().unwrap().jobs.len(), 1);
}
