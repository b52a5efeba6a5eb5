//! The Azure Batch front end over real loopback HTTP: every route, the simulated timeline, state
//! rules and their error codes, conditional headers, paging, query validation and faults.

#[path = "azure_support.rs"]
mod support;

use polybatch_emulator::{FaultKind, FaultRule, Provider};
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::*;

fn job_with_prep(id: &str, pool: &str) -> serde_json::Value {
    json!({
        "id": id,
        "poolInfo": {"poolId": pool},
        "jobPreparationTask": {"commandLine": "/bin/sh -c 'echo prep'"},
        "jobReleaseTask": {"commandLine": "/bin/sh -c 'echo release'"},
    })
}

#[tokio::test]
async fn job_and_task_timeline_with_prep_and_release() {
    let h = start(config(2)).await;
    let a = h.add_job(job_with_prep("j1", "p1")).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert!(a.text.is_empty());
    assert!(a.header("etag").unwrap().starts_with("0x8D"));
    assert!(a.header("last-modified").unwrap().ends_with("GMT"));
    assert!(a.header("dataserviceid").unwrap().ends_with("/jobs/j1"));
    assert_eq!(a.header("dataserviceversion").as_deref(), Some("3.0"));
    assert_eq!(uuid_len(&a.header("request-id").unwrap()), 36);

    let g = h.get(&format!("/jobs/J1?api-version={API}")).await;
    assert_eq!(g.status, StatusCode::OK);
    assert_eq!(
        g.header("content-type").as_deref(),
        Some("application/json;odata=minimalmetadata")
    );
    let job = g.json();
    assert_eq!(job["id"], "j1");
    assert_eq!(job["state"], "active");
    assert_eq!(job["poolInfo"]["poolId"], "p1");
    assert_eq!(job["jobPreparationTask"]["id"], "jobpreparation");
    assert_eq!(job["jobReleaseTask"]["id"], "jobrelease");
    assert_eq!(job["executionInfo"]["poolId"], "p1");
    assert_eq!(job["eTag"].as_str(), g.header("etag").as_deref());

    // Two nodes: t1 and t2 start at once, t3 waits for a free node.
    for (id, secs, code) in [("t1", 5.0, 0), ("t2", 2.0, 3), ("t3", 1.0, 0)] {
        let a = h
            .add_task(
                "j1",
                json!({"id": id, "commandLine": "run", "environmentSettings": env(secs, code)}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        assert!(
            a.header("dataserviceid")
                .unwrap()
                .ends_with(&format!("/jobs/j1/tasks/{id}"))
        );
    }
    let t1 = h.task("j1", "t1").await;
    assert_eq!(t1["state"], "preparing");
    assert_eq!(t1["nodeInfo"]["poolId"], "p1");
    assert!(
        t1["nodeInfo"]["nodeId"]
            .as_str()
            .unwrap()
            .starts_with("tvm-")
    );
    assert_eq!(h.task("j1", "t3").await["state"], "active");

    // Preparation takes 1 s, then the tasks run.
    h.advance(1.0);
    assert_eq!(h.task("j1", "t1").await["state"], "running");
    let status = h
        .get(&format!(
            "/jobs/j1/jobpreparationandreleasetaskstatus?api-version={API}"
        ))
        .await;
    assert_eq!(status.status, StatusCode::OK, "{}", status.text);
    let items = status.json()["value"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0]["jobPreparationTaskExecutionInfo"]["state"],
        "completed"
    );
    assert_eq!(items[0]["jobPreparationTaskExecutionInfo"]["exitCode"], 0);
    assert_eq!(
        items[0]["jobPreparationTaskExecutionInfo"]["result"],
        "success"
    );
    assert!(items[0].get("jobReleaseTaskExecutionInfo").is_none());

    // t2 fails after 2 s (no retries), t3 takes its node: 1 s preparing, 1 s running.
    h.advance(2.0);
    let t2 = h.task("j1", "t2").await;
    assert_eq!(t2["state"], "completed", "{t2:#}");
    assert_eq!(t2["executionInfo"]["exitCode"], 3);
    assert_eq!(t2["executionInfo"]["result"], "failure");
    assert_eq!(
        t2["executionInfo"]["failureInfo"]["code"],
        "FailureExitCode"
    );
    assert_eq!(t2["executionInfo"]["failureInfo"]["category"], "usererror");
    assert_eq!(h.task("j1", "t3").await["state"], "preparing");
    h.advance(2.0);
    let t3 = h.task("j1", "t3").await;
    assert_eq!(t3["state"], "completed");
    assert_eq!(t3["executionInfo"]["result"], "success");
    assert_eq!(
        h.task("j1", "t1").await["state"],
        "running",
        "runs 5 s from t=1"
    );
    h.advance(1.0);
    let t1 = h.task("j1", "t1").await;
    assert_eq!(t1["state"], "completed");
    assert_eq!(t1["executionInfo"]["exitCode"], 0);

    // Reactivation rules.
    let react = |t: &str| format!("/jobs/j1/tasks/{t}/reactivate?api-version={API}");
    let a = h.post(&react("t1"), None).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::CONFLICT, "TaskSucceeded".into())
    );
    assert!(
        a.json()["message"]["value"]
            .as_str()
            .unwrap()
            .contains("\nRequestId:")
    );
    let a = h.post(&react("t2"), None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    assert!(a.header("etag").is_some() && a.header("dataserviceid").is_some());
    let t2 = h.task("j1", "t2").await;
    assert_eq!(
        t2["state"], "preparing",
        "rescheduled at once on a free node"
    );
    assert_eq!(t2["executionInfo"]["retryCount"], 0);
    assert!(t2["executionInfo"].get("exitCode").is_none());
    let a = h.post(&react("t2"), None).await;
    assert_eq!(a.code(), "TaskNotCompleted");

    // Task_Terminate: running task ends; a completed one cannot.
    let term = |t: &str| format!("/jobs/j1/tasks/{t}/terminate?api-version={API}");
    let a = h.post(&term("t2"), None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    let t2 = h.task("j1", "t2").await;
    assert_eq!(t2["state"], "completed");
    assert_eq!(t2["executionInfo"]["failureInfo"]["code"], "TaskEnded");
    assert_eq!(t2["executionInfo"]["result"], "failure");
    let a = h.post(&term("t2"), None).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::CONFLICT, "TaskCompleted".into())
    );

    // An active task stays active through Job_Terminate; a running one ends.
    h.add_task(
        "j1",
        json!({"id": "t4", "commandLine": "x", "environmentSettings": env(100.0, 0)}),
    )
    .await;
    h.add_task(
        "j1",
        json!({"id": "t5", "commandLine": "x", "environmentSettings": env(100.0, 0)}),
    )
    .await;
    h.add_task("j1", json!({"id": "t6", "commandLine": "x"}))
        .await;
    let a = h
        .post(
            &format!("/jobs/j1/terminate?api-version={API}"),
            Some(json!({"terminateReason": "enough"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text);
    assert!(a.header("dataserviceid").unwrap().ends_with("/jobs/j1"));
    let job = h.job("j1").await;
    assert_eq!(job["state"], "terminating");
    assert_eq!(job["previousState"], "active");
    assert!(job["executionInfo"].get("terminateReason").is_none());
    assert_eq!(
        h.task("j1", "t4").await["executionInfo"]["failureInfo"]["code"],
        "TaskEnded"
    );
    assert_eq!(h.task("j1", "t6").await["state"], "active");
    let a = h
        .post(&format!("/jobs/j1/terminate?api-version={API}"), None)
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::CONFLICT, "JobBeingTerminated".into())
    );
    let a = h
        .add_task("j1", json!({"id": "late", "commandLine": "x"}))
        .await;
    assert_eq!(a.code(), "JobBeingTerminated");
    let a = h.post(&react("t4"), None).await;
    assert_eq!(a.code(), "JobBeingTerminated");

    // Release tasks take 1 s, then the job completes.
    h.advance(1.0);
    let job = h.job("j1").await;
    assert_eq!(job["state"], "completed");
    assert_eq!(job["previousState"], "terminating");
    assert_eq!(job["executionInfo"]["terminateReason"], "enough");
    assert!(job["executionInfo"]["endTime"].is_string());
    let items = h
        .get(&format!(
            "/jobs/j1/jobpreparationandreleasetaskstatus?api-version={API}"
        ))
        .await
        .json()["value"]
        .as_array()
        .unwrap()
        .clone();
    for item in &items {
        assert_eq!(item["jobReleaseTaskExecutionInfo"]["state"], "completed");
        assert_eq!(item["jobReleaseTaskExecutionInfo"]["exitCode"], 0);
        assert!(
            item["jobReleaseTaskExecutionInfo"]
                .get("retryCount")
                .is_none()
        );
    }
    let a = h
        .post(&format!("/jobs/j1/terminate?api-version={API}"), None)
        .await;
    assert_eq!(a.code(), "JobCompleted");
    let a = h.post(&react("t4"), None).await;
    assert_eq!(a.code(), "JobCompleted");
    let a = h
        .add_task("j1", json!({"id": "late", "commandLine": "x"}))
        .await;
    assert_eq!(a.code(), "JobCompleted");
}

fn uuid_len(s: &str) -> usize {
    s.len()
}

#[tokio::test]
async fn retries_all_tasks_complete_and_default_reason() {
    let h = start(config(1)).await;
    h.add_job(json!({
        "id": "auto", "poolInfo": {"poolId": "p"},
        "onAllTasksComplete": "terminatejob",
        "constraints": {"maxTaskRetryCount": 2},
    }))
    .await;
    h.add_task(
        "auto",
        json!({"id": "a", "commandLine": "x", "environmentSettings": env(1.0, 4)}),
    )
    .await;
    h.advance(1.0 + 1.0);
    let a = h.task("auto", "a").await;
    assert_eq!(a["state"], "running");
    assert_eq!(a["executionInfo"]["retryCount"], 1);
    assert!(a["executionInfo"]["lastRetryTime"].is_string());
    assert_eq!(a["constraints"]["maxTaskRetryCount"], 2);
    h.advance(2.0);
    let a = h.task("auto", "a").await;
    assert_eq!(a["state"], "completed");
    assert_eq!(a["executionInfo"]["retryCount"], 2);
    let job = h.job("auto").await;
    assert_eq!(
        job["state"], "terminating",
        "no release task: terminating for the minimum termination time"
    );
    h.advance(1.0);
    let job = h.job("auto").await;
    assert_eq!(job["state"], "completed", "then completed");
    assert_eq!(job["executionInfo"]["terminateReason"], "AllTasksComplete");

    h.add_job(json!({"id": "plain", "poolInfo": {"poolId": "p"}}))
        .await;
    let a = h
        .post(&format!("/jobs/plain/terminate?api-version={API}"), None)
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    // Terminating for the minimum termination time; the reason shows once completed.
    assert_eq!(h.job("plain").await["state"], "terminating");
    h.advance(1.0);
    assert_eq!(
        h.job("plain").await["executionInfo"]["terminateReason"],
        "UserTerminate"
    );
}

#[tokio::test]
async fn failing_preparation_requeues_and_blocks_the_node() {
    let h = start(config(2)).await;
    h.add_job(json!({
        "id": "j", "poolInfo": {"poolId": "p"},
        "jobPreparationTask": {"commandLine": "prep", "environmentSettings": env(2.0, 1)},
    }))
    .await;
    h.add_task("j", json!({"id": "t", "commandLine": "x"}))
        .await;
    assert_eq!(h.task("j", "t").await["state"], "preparing");
    h.advance(2.0);
    // Failed on node 1: requeued onto node 2, where it fails again; then it stays active.
    let t = h.task("j", "t").await;
    assert_eq!(t["state"], "preparing");
    assert_eq!(t["executionInfo"]["requeueCount"], 1);
    h.advance(2.0);
    let t = h.task("j", "t").await;
    assert_eq!(t["state"], "active");
    assert_eq!(t["executionInfo"]["requeueCount"], 2);
    let items = h
        .get(&format!(
            "/jobs/j/jobpreparationandreleasetaskstatus?api-version={API}"
        ))
        .await
        .json()["value"]
        .clone();
    assert_eq!(items.as_array().unwrap().len(), 2);
    assert_eq!(
        items[0]["jobPreparationTaskExecutionInfo"]["result"],
        "failure"
    );
    assert_eq!(
        items[0]["jobPreparationTaskExecutionInfo"]["failureInfo"]["code"],
        "FailureExitCode"
    );
}

#[tokio::test]
async fn add_and_lookup_errors() {
    let h = start(config(1)).await;
    assert_eq!(
        h.add_job(json!({"id": "x", "poolInfo": {"poolId": "p"}}))
            .await
            .status,
        StatusCode::CREATED
    );
    let a = h
        .add_job(json!({"id": "X", "poolInfo": {"poolId": "p"}}))
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::CONFLICT, "JobExists".into())
    );
    let a = h.add_job(json!({"poolInfo": {"poolId": "p"}})).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::BAD_REQUEST, "MissingRequiredProperty".into())
    );
    assert_eq!(a.detail("PropertyName"), "id");
    let a = h.add_job(json!({"id": "y"})).await;
    assert_eq!(a.code(), "MissingRequiredProperty");
    let a = h
        .add_job(json!({"id": "bad id", "poolInfo": {"poolId": "p"}}))
        .await;
    assert_eq!(a.code(), "InvalidPropertyValue");
    let a = h
        .add_job(
            json!({"id": "r", "poolInfo": {"poolId": "p"}, "jobReleaseTask": {"commandLine": "x"}}),
        )
        .await;
    assert_eq!(a.code(), "InvalidPropertyValue");
    let a = h.post(&format!("/jobs?api-version={API}"), None).await;
    assert_eq!(a.code(), "InvalidRequestBody");

    assert_eq!(
        h.add_task("x", json!({"id": "t", "commandLine": "c"}))
            .await
            .status,
        StatusCode::CREATED
    );
    let a = h
        .add_task("x", json!({"id": "T", "commandLine": "c"}))
        .await;
    assert_eq!(a.code(), "TaskExists");
    let a = h.add_task("x", json!({"id": "u"})).await;
    assert_eq!(a.code(), "MissingRequiredProperty");
    let a = h
        .add_task(
            "x",
            json!({"id": "d", "commandLine": "c", "dependsOn": {"taskIds": ["t"]}}),
        )
        .await;
    assert_eq!(a.code(), "TaskDependenciesNotSpecifiedOnJob");
    let a = h
        .add_task("nope", json!({"id": "t", "commandLine": "c"}))
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::NOT_FOUND, "JobNotFound".into())
    );

    let a = h.get(&format!("/jobs/nope?api-version={API}")).await;
    assert_eq!(a.code(), "JobNotFound");
    let a = h
        .get(&format!("/jobs/x/tasks/nope?api-version={API}"))
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::NOT_FOUND, "TaskNotFound".into())
    );
    let a = h
        .post(
            &format!("/jobs/x/tasks/nope/terminate?api-version={API}"),
            None,
        )
        .await;
    assert_eq!(a.code(), "TaskNotFound");
    let a = h
        .post(&format!("/jobs/nope/terminate?api-version={API}"), None)
        .await;
    assert_eq!(a.code(), "JobNotFound");
    let a = h
        .get(&format!(
            "/jobs/x/jobpreparationandreleasetaskstatus?api-version={API}"
        ))
        .await;
    assert_eq!(
        (a.status, a.code()),
        (
            StatusCode::CONFLICT,
            "JobPreparationTaskNotSpecified".into()
        )
    );
    // A Batch path the emulator does not serve (Job_GetTaskCounts).
    let a = h
        .get(&format!("/jobs/x/taskcounts?api-version={API}"))
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::NOT_IMPLEMENTED, "NotImplemented".into())
    );
    // Job_List answers a page, with the service's `$filter` on state.
    let a = h
        .get(&format!(
            "/jobs?api-version={API}&$filter=state%20eq%20'active'"
        ))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let listed = a.json()["value"].as_array().cloned().unwrap_or_default();
    assert!(
        !listed.is_empty() && listed.iter().all(|j| j["state"] == "active"),
        "{listed:?}"
    );
    let a = h
        .get(&format!(
            "/jobs?api-version={API}&$filter=state%20eq%20'completed'"
        ))
        .await;
    assert_eq!(a.json()["value"].as_array().map(Vec::len), Some(0));
    let a = h.get(&format!("/jobs/x/terminate?api-version={API}")).await;
    assert_eq!(a.code(), "UnsupportedHttpVerb");

    // Dependencies: d waits for t's success.
    h.add_job(json!({"id": "deps", "poolInfo": {"poolId": "q"}, "usesTaskDependencies": true}))
        .await;
    h.add_task(
        "deps",
        json!({"id": "t", "commandLine": "c", "environmentSettings": env(1.0, 0)}),
    )
    .await;
    h.add_task(
        "deps",
        json!({"id": "d", "commandLine": "c", "dependsOn": {"taskIds": ["t"]}}),
    )
    .await;
    assert_eq!(h.task("deps", "d").await["state"], "active");
    h.advance(2.0);
    assert_eq!(h.task("deps", "d").await["state"], "preparing");
}

#[tokio::test]
async fn conditional_headers() {
    let h = start(config(1)).await;
    h.add_job(json!({"id": "c", "poolInfo": {"poolId": "p"}}))
        .await;
    h.add_task("c", json!({"id": "t", "commandLine": "x"}))
        .await;
    let get = h.get(&format!("/jobs/c?api-version={API}")).await;
    let etag = get.header("etag").unwrap();
    let lm = get.header("last-modified").unwrap();
    let job_url = format!("/jobs/c?api-version={API}");

    let a = h
        .send(Req::new(Method::GET, &job_url).header("If-None-Match", &etag))
        .await;
    assert_eq!(a.status, StatusCode::NOT_MODIFIED);
    assert!(a.text.is_empty());
    assert_eq!(a.header("etag").as_deref(), Some(etag.as_str()));
    let a = h
        .send(Req::new(Method::GET, &job_url).header("If-Match", &etag))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let a = h
        .send(Req::new(Method::GET, &job_url).header("If-Match", "\"0x8D000\""))
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::PRECONDITION_FAILED, "ConditionNotMet".into())
    );
    let a = h
        .send(Req::new(Method::GET, &job_url).header("If-Modified-Since", &lm))
        .await;
    assert_eq!(a.status, StatusCode::NOT_MODIFIED);
    let a = h
        .send(
            Req::new(Method::GET, &job_url)
                .header("If-Unmodified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"),
        )
        .await;
    assert_eq!(a.status, StatusCode::PRECONDITION_FAILED);
    let a = h
        .send(
            Req::new(Method::GET, &job_url)
                .header("If-Match", &etag)
                .header("If-None-Match", "x"),
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (
            StatusCode::BAD_REQUEST,
            "MultipleConditionHeadersNotSupported".into()
        )
    );
    // Documented pair: If-Match wins over If-Unmodified-Since.
    let a = h
        .send(
            Req::new(Method::GET, &job_url)
                .header("If-Match", &etag)
                .header("If-Unmodified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);

    // Writes: every unmet condition is 412, a met one proceeds.
    let task = h.get(&format!("/jobs/c/tasks/t?api-version={API}")).await;
    let tag = task.header("etag").unwrap();
    let term = format!("/jobs/c/tasks/t/terminate?api-version={API}");
    let a = h
        .send(Req::new(Method::POST, &term).header("If-None-Match", &tag))
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::PRECONDITION_FAILED, "ConditionNotMet".into())
    );
    let a = h
        .send(
            Req::new(Method::POST, &term)
                .header("If-Modified-Since", &task.header("last-modified").unwrap()),
        )
        .await;
    assert_eq!(a.status, StatusCode::PRECONDITION_FAILED);

    // State transitions change the ETag.
    h.advance(1.0);
    let again = h.get(&format!("/jobs/c/tasks/t?api-version={API}")).await;
    assert_eq!(again.json()["state"], "running");
    assert_ne!(again.header("etag").unwrap(), tag);
    let a = h
        .send(Req::new(Method::POST, &term).header("If-Match", &tag))
        .await;
    assert_eq!(a.status, StatusCode::PRECONDITION_FAILED);
    let a = h
        .send(Req::new(Method::POST, &term).header("If-Match", &again.header("etag").unwrap()))
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    let term_job = format!("/jobs/c/terminate?api-version={API}");
    let a = h
        .send(Req::new(Method::POST, &term_job).header("If-Match", "0x8D0"))
        .await;
    assert_eq!(a.status, StatusCode::PRECONDITION_FAILED);
    let a = h
        .send(Req::new(Method::POST, &term_job).header("If-Match", &etag))
        .await;
    assert_eq!(
        a.status,
        StatusCode::ACCEPTED,
        "task changes leave the job's ETag alone"
    );
    let a = h
        .send(Req::new(Method::POST, &term_job).header("If-Match", &etag))
        .await;
    assert_eq!(
        a.status,
        StatusCode::PRECONDITION_FAILED,
        "terminating changed the job"
    );
}

#[tokio::test]
async fn paging_filter_and_select() {
    let h = start(config(30)).await;
    h.add_job(json!({
        "id": "big", "poolInfo": {"poolId": "wide"},
        "jobPreparationTask": {"commandLine": "prep"},
    }))
    .await;
    for i in 0..30 {
        let code = if i % 3 == 0 { 1 } else { 0 };
        let a = h
            .add_task(
                "big",
                json!({"id": format!("task{i:02}"), "commandLine": "x", "environmentSettings": env(1.0, code)}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED);
    }
    h.advance(3.0);

    // Preparation status: 30 nodes, 2 per page -> 15 pages through absolute nextLinks.
    let mut url =
        format!("/jobs/big/jobpreparationandreleasetaskstatus?api-version={API}&maxresults=2");
    let (mut pages, mut nodes) = (0, Vec::new());
    loop {
        let a = h.get(&url).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        assert!(a.header("etag").is_some());
        let body = a.json();
        pages += 1;
        let value = body["value"].as_array().unwrap();
        assert!(value.len() <= 2);
        nodes.extend(
            value
                .iter()
                .map(|v| v["nodeId"].as_str().unwrap().to_string()),
        );
        let Some(next) = body["odata.nextLink"].as_str() else {
            break;
        };
        assert!(next.starts_with(&h.url()), "{next}");
        assert!(
            next.contains("$skiptoken=")
                && next.contains("api-version=")
                && next.contains("maxresults=2")
        );
        url = next.strip_prefix(&h.url()).unwrap().to_string();
    }
    assert_eq!(pages, 15);
    nodes.dedup();
    assert_eq!(nodes.len(), 30);

    let first = nodes[0].clone();
    let a = h
        .get(&format!(
            "/jobs/big/jobpreparationandreleasetaskstatus?api-version={API}&$filter=nodeId%20eq%20'{first}'&$select=nodeId,poolId"
        ))
        .await;
    let value = a.json()["value"].clone();
    assert_eq!(value.as_array().unwrap().len(), 1);
    assert_eq!(value[0], json!({"nodeId": first, "poolId": "wide"}));
    let a = h
        .get(&format!(
            "/jobs/big/jobpreparationandreleasetaskstatus?api-version={API}&%24filter=nodeId%20ne%20%27{first}%27"
        ))
        .await;
    assert_eq!(a.json()["value"].as_array().unwrap().len(), 29);
    for bad in ["0", "1001"] {
        let a = h
            .get(&format!(
                "/jobs/big/jobpreparationandreleasetaskstatus?api-version={API}&maxresults={bad}"
            ))
            .await;
        assert_eq!(
            (a.status, a.code()),
            (
                StatusCode::BAD_REQUEST,
                "OutOfRangeQueryParameterValue".into()
            )
        );
        assert_eq!(a.detail("QueryParameterName"), "maxresults");
    }
    let a = h
        .get(&format!("/jobs/big/jobpreparationandreleasetaskstatus?api-version={API}&$filter=bogus%20eq%20'x'"))
        .await;
    assert_eq!(a.code(), "InvalidQueryParameterValue");

    // Task_List: filtered failures (10 of them), 1 per page -> 10 pages; all tasks, 2 per page -> 15.
    let filter = "state%20eq%20'completed'%20and%20executionInfo/result%20eq%20'failure'";
    let mut url = format!("/jobs/big/tasks?api-version={API}&maxresults=1&$filter={filter}");
    let mut ids = Vec::new();
    loop {
        let body = h.get(&url).await.json();
        ids.extend(
            body["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_string()),
        );
        let Some(next) = body["odata.nextLink"].as_str() else {
            break;
        };
        url = next.strip_prefix(&h.url()).unwrap().to_string();
    }
    assert_eq!(ids.len(), 10);
    assert!(
        ids.iter()
            .all(|id| id[4..].parse::<u32>().unwrap() % 3 == 0)
    );
    let mut url = format!("/jobs/big/tasks?api-version={API}&maxresults=2&$select=id,state");
    let mut pages = 0;
    let mut count = 0;
    loop {
        let body = h.get(&url).await.json();
        pages += 1;
        for t in body["value"].as_array().unwrap() {
            assert_eq!(t.as_object().unwrap().len(), 2);
            count += 1;
        }
        let Some(next) = body["odata.nextLink"].as_str() else {
            break;
        };
        url = next.strip_prefix(&h.url()).unwrap().to_string();
    }
    assert_eq!((pages, count), (15, 30));
    let a = h
        .get(&format!(
            "/jobs/big/tasks?api-version={API}&$filter=state%20ne%20'completed'"
        ))
        .await;
    assert_eq!(a.json()["value"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_post_states_its_length_and_a_body_its_json_type() {
    let h = start(config(1)).await;
    h.add_job(json!({"id": "l", "poolInfo": {"poolId": "p"}}))
        .await;
    let terminate = format!("/jobs/l/terminate?api-version={API}");
    let mut r = Req::new(Method::POST, &terminate);
    r.no_length = true;
    let a = h.send(r).await;
    assert_eq!(
        (a.status, a.code()),
        (
            StatusCode::LENGTH_REQUIRED,
            "MissingContentLengthHeader".into()
        )
    );
    let body = json!({"terminateReason": "r"});
    let mut r = Req::new(Method::POST, &terminate).json(&body);
    r.content_type = None;
    let a = h.send(r).await;
    assert_eq!(
        (a.status, a.code(), a.detail("HeaderName")),
        (
            StatusCode::BAD_REQUEST,
            "MissingRequiredHeader".into(),
            "Content-Type".into()
        )
    );
    let mut r = Req::new(Method::POST, &terminate).json(&body);
    r.content_type = Some("text/plain".into());
    let a = h.send(r).await;
    assert_eq!(
        (a.status, a.code(), a.detail("HeaderValue")),
        (
            StatusCode::BAD_REQUEST,
            "InvalidHeaderValue".into(),
            "text/plain".into()
        )
    );
    // Refused requests changed nothing; a proper one is accepted.
    assert_eq!(h.job("l").await["state"], "active");
    let a = h.post(&terminate, Some(body)).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text);
}

#[tokio::test]
async fn versions_and_query_parameters() {
    let h = start(config(1)).await;
    h.add_job(json!({"id": "v", "poolInfo": {"poolId": "p"}}))
        .await;
    let a = h.get("/jobs/v").await;
    assert_eq!(
        (a.status, a.code()),
        (
            StatusCode::BAD_REQUEST,
            "MissingRequiredQueryParameter".into()
        )
    );
    assert_eq!(a.detail("QueryParameterName"), "api-version");
    let a = h.get("/jobs/v?api-version=2019-08-01.10.0").await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::BAD_REQUEST, "UnsupportedRequestVersion".into())
    );
    // Every stable data-plane version is served (16.0 is what Microsoft's Node SDK sends).
    for v in [
        "2022-01-01.15.0",
        "2022-10-01.16.0",
        "2023-05-01.17.0",
        "2023-11-01.18.0",
        "2024-02-01.19.0",
        "2024-07-01.20.0",
        "2025-06-01",
        "2025-06-01.21.0",
    ] {
        assert_eq!(
            h.get(&format!("/jobs/v?api-version={v}&timeout=30"))
                .await
                .status,
            StatusCode::OK,
            "{v}"
        );
    }
    assert_eq!(
        h.get("/jobs/v?api-version=2025-06-01&timeOut=30")
            .await
            .status,
        StatusCode::OK
    );
    let a = h.get("/jobs/v?api-version=2025-06-01&timeout=soon").await;
    assert_eq!(a.code(), "InvalidQueryParameterValue");
    let a = h.get("/jobs/v?api-version=2025-06-01&colour=blue").await;
    assert_eq!(
        (a.code(), a.detail("QueryParameterName")),
        ("UnsupportedQueryParameter".into(), "colour".into())
    );
    // `force` exists from 2024-07-01.20.0 on.
    for v in ["2022-10-01.16.0", "2023-11-01.18.0", "2024-02-01.19.0"] {
        let a = h
            .post(
                &format!("/jobs/v/terminate?api-version={v}&force=true"),
                None,
            )
            .await;
        assert_eq!(
            (a.code(), a.detail("QueryParameterName")),
            ("UnsupportedQueryParameter".into(), "force".into()),
            "{v}"
        );
    }
    let a = h
        .post(
            "/jobs/v/terminate?api-version=2024-07-01.20.0&force=true",
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text);
    // return-client-request-id
    let a = h
        .send(
            Req::new(Method::GET, &format!("/jobs/v?api-version={API}"))
                .header("client-request-id", "00000000-0000-0000-0000-000000000001")
                .header("return-client-request-id", "true"),
        )
        .await;
    assert_eq!(
        a.header("client-request-id").as_deref(),
        Some("00000000-0000-0000-0000-000000000001")
    );
    let a = h
        .send(
            Req::new(Method::GET, &format!("/jobs/v?api-version={API}"))
                .header("client-request-id", "abc"),
        )
        .await;
    assert!(a.header("client-request-id").is_none());
}

#[tokio::test]
async fn faults_and_stats() {
    let h = start(config(1)).await;
    let ctx = h.running.emulator().context().clone();
    h.add_job(json!({"id": "f", "poolInfo": {"poolId": "p"}}))
        .await;
    ctx.faults.add(FaultRule {
        probability: None,
        provider: Provider::Azure,
        operation: "Job_Get".into(),
        times: 1,
        every: 1,
        fault: FaultKind::Error {
            status: 503,
            code: "ServerBusy".into(),
            retry_after_secs: Some(7),
        },
    });
    let a = h.get(&format!("/jobs/f?api-version={API}")).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "ServerBusy".into())
    );
    assert_eq!(a.header("retry-after").as_deref(), Some("7"));
    assert_eq!(
        h.get(&format!("/jobs/f?api-version={API}")).await.status,
        StatusCode::OK
    );
    ctx.faults.add(FaultRule {
        probability: None,
        provider: Provider::Azure,
        operation: "*".into(),
        times: 1,
        every: 1,
        fault: FaultKind::Delay { millis: 50 },
    });
    assert_eq!(
        h.get(&format!("/jobs/f?api-version={API}")).await.status,
        StatusCode::OK
    );
    assert!(ctx.faults.rules().is_empty(), "the delay fault was used");
    let stats = ctx.stats.snapshot();
    assert_eq!(stats.requests.get("azure:Job_Get"), Some(&3));
    assert_eq!(stats.requests.get("azure:Job_Add"), Some(&1));
    assert_eq!(stats.errors_with_code(Provider::Azure, "ServerBusy"), 1);

    // The admin snapshot shows jobs and pools.
    let snap = h.running.emulator().azure().snapshot();
    assert_eq!(snap["jobs"][0]["id"], "f");
    assert_eq!(snap["pools"][0]["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(h.running.emulator().azure().seed_preparation("f", 1), None);
}

#[tokio::test]
async fn seeding_preparation_records() {
    let h = start(config(25)).await;
    h.add_job(
        json!({"id": "s", "poolInfo": {"poolId": "p"}, "jobPreparationTask": {"commandLine": "x"}}),
    )
    .await;
    assert_eq!(
        h.running.emulator().azure().seed_preparation("s", 25),
        Some(25)
    );
    let a = h
        .get(&format!(
            "/jobs/s/jobpreparationandreleasetaskstatus?api-version={API}&maxresults=1000"
        ))
        .await;
    let value = a.json()["value"].clone();
    assert_eq!(value.as_array().unwrap().len(), 25);
    assert!(a.json().get("odata.nextLink").is_none());
    assert_eq!(
        value[24]["jobPreparationTaskExecutionInfo"]["state"],
        "completed"
    );
}
