//! Each operation over the simulated account of one region: the request body parsed into the
//! simulation's request shape, the operation run, its answer as REST-JSON.

use chrono::{DateTime, Utc};
use polybatch_sim::aws::errors::{ApiError, ApiResult};
use polybatch_sim::aws::requests::{self, DescribeJobs, DescribeNamed, ListJobs, StopJob};
use polybatch_sim::aws::{Page, Store};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// What a request asks for: the operation, and the resource ARN of the tag operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The operation name (`SubmitJob`, ...).
    pub operation: &'static str,
    /// The ARN in the path (`TagResource`, `ListTagsForResource`), percent-decoded.
    pub arn: Option<String>,
}

/// The operation a method and (still encoded) path name, if any.
pub fn route(method: &str, path: &str) -> Option<Route> {
    if let Some(encoded) = path.strip_prefix("/v1/tags/") {
        let arn = percent_encoding::percent_decode_str(encoded)
            .decode_utf8()
            .ok()?
            .into_owned();
        let operation = match method {
            "GET" => "ListTagsForResource",
            "POST" => "TagResource",
            _ => return None,
        };
        return Some(Route {
            operation,
            arn: Some(arn),
        });
    }
    polybatch_protocol::aws::OPERATIONS
        .iter()
        .find(|(_, m, p)| *m == method && *p == path)
        .map(|(op, _, _)| Route {
            operation: op,
            arn: None,
        })
}

/// Parses a request body: empty means `{}`; anything that is not the operation's shape is a
/// `SerializationException`-like `ClientException` naming what is wrong.
fn parse<T: DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::client(format!("the request body is not valid JSON: {e}")))?
    };
    if !value.is_object() {
        return Err(ApiError::client("the request body must be a JSON object"));
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::client(format!("the request body does not fit the operation: {e}")))
}

fn to_json<T: Serialize>(value: &T) -> ApiResult<Value> {
    serde_json::to_value(value).map_err(|e| ApiError::server(format!("rendering failed: {e}")))
}

fn paged<T: Serialize>(field: &str, page: &Page<T>) -> ApiResult<Value> {
    let mut out = Map::new();
    out.insert(field.into(), to_json(&page.items)?);
    if let Some(t) = &page.next_token {
        out.insert("nextToken".into(), Value::String(t.clone()));
    }
    Ok(Value::Object(out))
}

/// Runs `route` on `store` at simulated time `now`.
pub fn run(store: &mut Store, route: &Route, body: &[u8], now: DateTime<Utc>) -> ApiResult<Value> {
    match route.operation {
        "CreateComputeEnvironment" => {
            let (name, arn) = store.create_compute_environment(parse(body)?)?;
            Ok(json!({"computeEnvironmentName": name, "computeEnvironmentArn": arn}))
        }
        "DescribeComputeEnvironments" => {
            let r: DescribeNamed = parse(body)?;
            let page = store.describe_compute_environments(
                r.compute_environments.as_deref().unwrap_or_default(),
                r.max_results,
                r.next_token.as_deref(),
            )?;
            paged("computeEnvironments", &page)
        }
        "CreateJobQueue" => {
            let (name, arn) = store.create_job_queue(parse(body)?)?;
            Ok(json!({"jobQueueName": name, "jobQueueArn": arn}))
        }
        "DescribeJobQueues" => {
            let r: DescribeNamed = parse(body)?;
            let page = store.describe_job_queues(
                r.job_queues.as_deref().unwrap_or_default(),
                r.max_results,
                r.next_token.as_deref(),
            )?;
            paged("jobQueues", &page)
        }
        "RegisterJobDefinition" => {
            let (name, arn, revision) = store.register_job_definition(parse(body)?)?;
            Ok(json!({"jobDefinitionName": name, "jobDefinitionArn": arn, "revision": revision}))
        }
        "DescribeJobDefinitions" => {
            let page = store.describe_job_definitions(&parse(body)?)?;
            paged("jobDefinitions", &page)
        }
        "SubmitJob" => {
            let quota = polybatch_protocol::aws::MAX_SUBMIT_JOB_BYTES;
            if body.len() > quota {
                return Err(ApiError::client(format!(
                    "The job payload is {} bytes; SubmitJob accepts at most {quota} bytes (30 KiB).",
                    body.len()
                )));
            }
            let id = uuid::Uuid::new_v4().to_string();
            to_json(&store.submit_job(parse(body)?, id, now)?)
        }
        "DescribeJobs" => {
            let r: DescribeJobs = parse(body)?;
            let jobs = store.describe_jobs(requests::required(&r.jobs, "jobs")?, now)?;
            Ok(json!({"jobs": to_json(&jobs)?}))
        }
        "ListJobs" => {
            let r: ListJobs = parse(body)?;
            paged("jobSummaryList", &store.list_jobs(&r, now)?)
        }
        "TerminateJob" | "CancelJob" => {
            let r: StopJob = parse(body)?;
            let id = requests::required(&r.job_id, "jobId")?;
            if route.operation == "TerminateJob" {
                store.terminate_job(id, r.reason.as_deref(), now)?;
            } else {
                store.cancel_job(id, r.reason.as_deref(), now)?;
            }
            Ok(json!({}))
        }
        "TagResource" => {
            let r: requests::TagResource = parse(body)?;
            let arn = route.arn.as_deref().unwrap_or_default();
            store.tag_resource(arn, r.tags.unwrap_or_default())?;
            Ok(json!({}))
        }
        "ListTagsForResource" => {
            let arn = route.arn.as_deref().unwrap_or_default();
            Ok(json!({"tags": store.list_tags(arn)?}))
        }
        other => Err(ApiError::client(format!(
            "the operation {other} is not served"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_the_model() {
        assert_eq!(
            route("POST", "/v1/submitjob").unwrap().operation,
            "SubmitJob"
        );
        assert_eq!(route("GET", "/v1/submitjob"), None);
        assert_eq!(route("POST", "/v1/nosuch"), None);
        let r = route(
            "GET",
            "/v1/tags/arn%3Aaws%3Abatch%3Aus-east-1%3A1%3Ajob%2Fx",
        )
        .unwrap();
        assert_eq!(r.operation, "ListTagsForResource");
        assert_eq!(r.arn.as_deref(), Some("arn:aws:batch:us-east-1:1:job/x"));
        assert_eq!(route("DELETE", "/v1/tags/x"), None);
    }

    #[test]
    fn bodies_that_do_not_fit_are_client_errors() {
        assert!(parse::<ListJobs>(b"not json").is_err());
        assert!(parse::<ListJobs>(br#"{"maxResults":"ten"}"#).is_err());
        assert!(parse::<ListJobs>(b"").is_ok());
        assert!(parse::<ListJobs>(b"[]").is_err());
    }
}
