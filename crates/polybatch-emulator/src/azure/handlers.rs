//! The REST front end: routing `/jobs/...`, the per-request order (count → authenticate →
//! api-version → fault → operation), and each operation.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use polybatch::clock::Clock;
use polybatch_protocol::azure::ApiVersion;
use serde_json::{Value, json};

use super::AzureService;
use super::conditions::Conditions;
use super::errors::Reject;
use super::odata::{self, Filter, Query};
use super::render;
use super::reply::{self, RequestInfo, accepted, json_ok, with_meta};
use super::requests::Route;
use crate::faults::{FaultKind, Provider};
use polybatch_sim::azure::rules;

/// Request bodies larger than this are refused (the service's own limit is about 1 MB for a task).
const MAX_BODY: usize = 4 * 1024 * 1024;

/// Serves one request under `/jobs`.
pub(crate) async fn dispatch(State(svc): State<Arc<AzureService>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let info = RequestInfo::from_headers(&parts.headers);
    let route = Route::parse(&parts.method, parts.uri.path());
    let ctx = &svc.ctx;
    ctx.stats.record_request(Provider::Azure, route.operation());
    let mut disruption = None;
    let answer = serve(&svc, &parts, body, &route, &info, &mut disruption).await;
    let mut outcome = disruption
        .as_ref()
        .map(|f: &FaultKind| f.name().to_string());
    let response = match answer {
        Ok(r) => r,
        Err(reject) => {
            ctx.stats.record_error(Provider::Azure, &reject.code);
            outcome.get_or_insert_with(|| reject.code.clone());
            if reject.status == StatusCode::NOT_MODIFIED {
                let mut r = StatusCode::NOT_MODIFIED.into_response();
                for (name, value) in &reject.headers {
                    if let Ok(v) = value.parse() {
                        r.headers_mut().insert(*name, v);
                    }
                }
                r
            } else {
                reply::error(&info, &reject, ctx.sim_clock.now())
            }
        }
    };
    let response = reply::finish(&info, response);
    let response = crate::faults::disrupt(disruption.as_ref(), response).await;
    crate::log::served(
        "azure",
        &format!("{} {}", parts.method, parts.uri.path()),
        route.operation(),
        response.status(),
        Some(&info.request_id),
        outcome.as_deref(),
    );
    response
}

async fn serve(
    svc: &AzureService,
    parts: &Parts,
    body: Body,
    route: &Route,
    info: &RequestInfo,
    disruption: &mut Option<FaultKind>,
) -> Result<Response, Reject> {
    let ctx = &svc.ctx;
    super::auth::authenticate(ctx, &svc.tokens, parts, &info.base)?;
    let q = Query::parse(parts.uri.query());
    let version = match q.get("api-version") {
        None => {
            return Err(Reject::query(
                "MissingRequiredQueryParameter",
                "api-version",
                None,
            ));
        }
        Some(v) => ApiVersion::from_received(v)
            .ok_or_else(|| Reject::query("UnsupportedRequestVersion", "api-version", Some(v)))?,
    };
    let mut lost_answer = None;
    match ctx.faults.take(Provider::Azure, route.operation()) {
        Some(FaultKind::Error {
            status,
            code,
            retry_after_secs,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut r = Reject::new(status, &code);
            if let Some(secs) = retry_after_secs {
                r = r.with_header("Retry-After", secs.to_string());
            }
            return Err(r);
        }
        Some(FaultKind::Delay { millis }) => {
            tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
        }
        Some(FaultKind::LoseAnswer { status, code }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            lost_answer = Some(Reject::new(status, &code));
        }
        Some(fault) => {
            let applies = fault.applies();
            *disruption = Some(fault);
            if !applies {
                // Whatever is answered here is replaced by the disruption.
                return Err(Reject::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                ));
            }
        }
        None => {}
    }
    let answer = operate(svc, parts, body, route, info, version, &q).await;
    if let Ok(response) = &answer
        && let Some(target) = mutated(route, response)
    {
        ctx.journal.record(
            Provider::Azure,
            route.operation(),
            target,
            &info.request_id,
            ctx.sim_clock.now(),
        );
    }
    match lost_answer {
        // The effect stays; only the answer is replaced.
        Some(reject) => Err(reject),
        None => answer,
    }
}

/// What a successful answer to a mutation acted on (`job` or `job/task`), for the journal;
/// `None` for a read.
fn mutated(route: &Route, response: &Response) -> Option<String> {
    // An added job's or task's id is in the URL its answer names.
    let created = || {
        response
            .headers()
            .get("DataServiceId")
            .and_then(|v| v.to_str().ok())
            .and_then(|url| url.rsplit('/').next())
            .map(|id| {
                percent_encoding::percent_decode_str(id)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .unwrap_or_default()
    };
    Some(match route {
        Route::JobAdd => created(),
        Route::TaskAdd(job) => format!("{job}/{}", created()),
        Route::JobTerminate(job)
        | Route::JobDelete(job)
        | Route::JobPatch(job)
        | Route::TaskAddCollection(job) => job.clone(),
        Route::TaskReactivate(job, task) | Route::TaskTerminate(job, task) => {
            format!("{job}/{task}")
        }
        _ => return None,
    })
}

/// The operation itself, once the request passed authentication, versioning and faults.
async fn operate(
    svc: &AzureService,
    parts: &Parts,
    body: Body,
    route: &Route,
    info: &RequestInfo,
    version: ApiVersion,
    q: &Query,
) -> Result<Response, Reject> {
    let ctx = &svc.ctx;
    match route {
        Route::NotImplemented => {
            return Err(Reject::new(StatusCode::NOT_IMPLEMENTED, "NotImplemented"));
        }
        Route::BadVerb => {
            return Err(Reject::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "UnsupportedHttpVerb",
            ));
        }
        _ => {}
    }
    let mut allowed = vec!["api-version", "timeout"];
    allowed.extend_from_slice(route.extra_query(version));
    if let Some(name) = q.unknown(&allowed) {
        return Err(Reject::query("UnsupportedQueryParameter", name, None));
    }
    if let Some(t) = q
        .get("timeout")
        .filter(|t| t.trim().parse::<u32>().is_err())
    {
        return Err(Reject::query(
            "InvalidQueryParameterValue",
            "timeout",
            Some(t),
        ));
    }
    let conditions = Conditions::parse(&parts.headers)?;
    // Every POST states its length, 0 included (the SDKs always send one).
    if parts.method == Method::POST && !parts.headers.contains_key(CONTENT_LENGTH) {
        return Err(Reject::new(
            StatusCode::LENGTH_REQUIRED,
            "MissingContentLengthHeader",
        ));
    }
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| Reject::new(StatusCode::PAYLOAD_TOO_LARGE, "RequestBodyTooLarge"))?;
    // A body is JSON, and says so.
    if !body.is_empty() {
        match parts
            .headers
            .get(CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or(""))
        {
            None => {
                return Err(Reject::bad_request("MissingRequiredHeader")
                    .value("HeaderName", "Content-Type"));
            }
            Some(ct)
                if !ct
                    .trim()
                    .to_ascii_lowercase()
                    .starts_with("application/json") =>
            {
                return Err(Reject::header("InvalidHeaderValue", "Content-Type", ct));
            }
            Some(_) => {}
        }
    }
    let now = ctx.sim_clock.now();
    let base = info.base.as_str();
    let mut sim = svc.lock();
    sim.advance(now);
    let sim = &mut *sim;
    match route {
        Route::JobAdd => {
            let body = json_body(&body)?;
            let id = body
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let meta = sim.add_job(body, now)?;
            Ok(accepted(
                StatusCode::CREATED,
                &meta,
                &format!("{base}/jobs/{id}"),
            ))
        }
        Route::JobList => {
            let max = odata::max_results(q)?;
            let filter = parse_filter(q, &["state", "id", "displayName", "priority"])?;
            let page = odata::page(sim.jobs(), skiptoken(q), max, |j| {
                Some(render::job(j, base)).filter(|v| filter.matches(v))
            })?;
            list(base, parts.uri.path(), q, page, "jobs")
        }
        Route::JobGet(job_id) => {
            let job = sim.found_job(job_id)?;
            conditions.check(&job.meta, true)?;
            let value = render::select(render::job(job, base), odata::select(q).as_deref());
            Ok(with_meta(json_ok(&value), &job.meta))
        }
        Route::JobTerminate(job_id) => {
            let force = match q.get("force") {
                None => false,
                Some(v) if v.eq_ignore_ascii_case("true") => true,
                Some(v) if v.eq_ignore_ascii_case("false") => false,
                Some(v) => {
                    return Err(Reject::query(
                        "InvalidQueryParameterValue",
                        "force",
                        Some(v),
                    ));
                }
            };
            let reason = if body.iter().all(u8::is_ascii_whitespace) {
                None
            } else {
                let v = json_body(&body)?;
                match v.get("terminateReason") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(other) => return Err(Reject::invalid_property("terminateReason", other)),
                }
            };
            let job = sim.found_job(job_id)?;
            conditions.check(&job.meta, false)?;
            let id = job.id.clone();
            let meta = sim.terminate_job(job_id, reason, force, now)?;
            Ok(accepted(
                StatusCode::ACCEPTED,
                &meta,
                &format!("{base}/jobs/{id}"),
            ))
        }
        Route::JobDelete(job_id) => {
            let job = sim.found_job(job_id)?;
            conditions.check(&job.meta, false)?;
            let id = job.id.clone();
            sim.delete_job(job_id, now)?;
            let mut r = StatusCode::ACCEPTED.into_response();
            if let Some(job) = sim.job(job_id) {
                r = with_meta(r, &job.meta);
            }
            if let Ok(v) = format!("{base}/jobs/{id}").parse() {
                r.headers_mut().insert("DataServiceId", v);
            }
            Ok(r)
        }
        Route::JobPatch(job_id) => {
            let body = json_body(&body)?;
            let job = sim.found_job(job_id)?;
            conditions.check(&job.meta, false)?;
            let id = job.id.clone();
            let meta = sim.patch_job(job_id, body, now)?;
            Ok(accepted(
                StatusCode::OK,
                &meta,
                &format!("{base}/jobs/{id}"),
            ))
        }
        Route::TaskAddCollection(job_id) => {
            let body = json_body(&body)?;
            let Some(tasks) = body.get("value").and_then(Value::as_array) else {
                return Err(Reject::invalid_property("value", &body["value"]));
            };
            // "The maximum number of tasks is 100" (Task_AddCollection).
            if tasks.is_empty() || tasks.len() > 100 {
                return Err(Reject::bad_request("InvalidPropertyValue")
                    .value("PropertyName", "value")
                    .value("PropertyValue", &tasks.len().to_string()));
            }
            let job = sim.found_job(job_id)?;
            rules::add_task(job.phase())?;
            let job_name = job.id.clone();
            let mut results = Vec::with_capacity(tasks.len());
            for task in tasks {
                let task_id = task
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                results.push(match sim.add_task(job_id, task.clone(), now) {
                    Ok(meta) => json!({
                        "status": "success",
                        "taskId": task_id,
                        "eTag": meta.etag,
                        "lastModified": reply::iso(meta.last_modified),
                        "location": format!("{base}/jobs/{job_name}/tasks/{task_id}"),
                    }),
                    Err(refusal) => {
                        let reject = Reject::from(refusal);
                        let kind = if reject.status.is_server_error() {
                            "servererror"
                        } else {
                            "clienterror"
                        };
                        json!({
                            "status": kind,
                            "taskId": task_id,
                            "error": {
                                "code": reject.code,
                                "message": {"lang": "en-US", "value": reject.text()},
                            },
                        })
                    }
                });
            }
            Ok(json_ok(&json!({
                "odata.metadata": format!("{base}/$metadata#taskaddresult"),
                "value": results,
            })))
        }
        Route::TaskAdd(job_id) => {
            let body = json_body(&body)?;
            let task_id = body
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let meta = sim.add_task(job_id, body, now)?;
            let job = sim.job(job_id).map(|j| j.id.clone()).unwrap_or_default();
            Ok(accepted(
                StatusCode::CREATED,
                &meta,
                &format!("{base}/jobs/{job}/tasks/{task_id}"),
            ))
        }
        Route::TaskFile(job_id, task_id, path) => {
            let bytes = sim.task_file(job_id, task_id, path)?;
            let range = match parts.headers.get("ocp-range") {
                None => None,
                Some(v) => Some(v.to_str().ok().and_then(parse_range).ok_or_else(|| {
                    Reject::header("InvalidHeaderValue", "ocp-range", v.to_str().unwrap_or(""))
                })?),
            };
            let len = bytes.len() as u64;
            let body = match range {
                None => bytes,
                Some((start, end)) => {
                    let end = end.map_or(len, |e| e.saturating_add(1)).min(len);
                    let start = start.min(end);
                    bytes[start as usize..end as usize].to_vec()
                }
            };
            let mut r = (StatusCode::OK, body).into_response();
            let h = r.headers_mut();
            for (name, value) in [
                ("content-type", "application/octet-stream".to_string()),
                ("ocp-batch-file-isdirectory", "False".to_string()),
                (
                    "ocp-batch-file-url",
                    format!("{base}/jobs/{job_id}/tasks/{task_id}/files/{path}"),
                ),
            ] {
                if let Ok(v) = value.parse() {
                    h.insert(name, v);
                }
            }
            Ok(r)
        }
        Route::TaskGet(job_id, task_id) => {
            let (job, task) = sim.found_task(job_id, task_id)?;
            conditions.check(&task.meta, true)?;
            let mut value = render::task(job, task, sim.pool_of(job), base);
            value["odata.metadata"] = json!(format!("{base}/$metadata#tasks/@Element"));
            let value = render::select(value, odata::select(q).as_deref());
            Ok(with_meta(json_ok(&value), &task.meta))
        }
        Route::TaskList(job_id) => {
            let max = odata::max_results(q)?;
            let filter = parse_filter(
                q,
                &[
                    "state",
                    "executionInfo/result",
                    "executionInfo/exitCode",
                    "executionInfo/retryCount",
                    "id",
                ],
            )?;
            let job = sim.found_job(job_id)?;
            let pool = sim.pool_of(job);
            let page = odata::page(&job.tasks, skiptoken(q), max, |t| {
                Some(render::task(job, t, pool, base)).filter(|v| filter.matches(v))
            })?;
            list(base, parts.uri.path(), q, page, "tasks")
        }
        Route::TaskReactivate(job_id, task_id) | Route::TaskTerminate(job_id, task_id) => {
            let (job, task) = sim.found_task(job_id, task_id)?;
            conditions.check(&task.meta, false)?;
            let url = format!("{base}/jobs/{}/tasks/{}", job.id, task.id);
            let meta = if matches!(route, Route::TaskReactivate(..)) {
                sim.reactivate_task(job_id, task_id, now)?
            } else {
                sim.terminate_task(job_id, task_id, now)?
            };
            Ok(accepted(StatusCode::NO_CONTENT, &meta, &url))
        }
        Route::PrepReleaseStatus(job_id) => {
            let max = odata::max_results(q)?;
            let filter = parse_filter(
                q,
                &[
                    "poolId",
                    "nodeId",
                    "jobPreparationTaskExecutionInfo/state",
                    "jobPreparationTaskExecutionInfo/exitCode",
                    "jobPreparationTaskExecutionInfo/result",
                    "jobPreparationTaskExecutionInfo/retryCount",
                    "jobReleaseTaskExecutionInfo/state",
                    "jobReleaseTaskExecutionInfo/exitCode",
                    "jobReleaseTaskExecutionInfo/result",
                ],
            )?;
            let job = sim.found_job(job_id)?;
            // A release task requires a preparation task, so this covers "neither".
            rules::list_prep_release_status(job.prep.is_some())?;
            let items: Vec<(String, Value)> =
                render::prep_release_items(job, sim.pool_of(job), base, sim.now())
                    .into_iter()
                    .filter(|(_, v)| filter.matches(v))
                    .collect();
            let page = odata::page_items(items, skiptoken(q), max)?;
            let r = list(
                base,
                parts.uri.path(),
                q,
                page,
                "jobpreparationandreleasetaskstatuslist",
            )?;
            Ok(with_meta(r, &job.meta))
        }
        Route::NotImplemented | Route::BadVerb => {
            Err(Reject::new(StatusCode::NOT_IMPLEMENTED, "NotImplemented"))
        }
    }
}

fn json_body(body: &[u8]) -> Result<Value, Reject> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(Reject::invalid_body)
}

/// `ocp-range: bytes=START-END` (inclusive; END may be omitted).
fn parse_range(v: &str) -> Option<(u64, Option<u64>)> {
    let (start, end) = v.trim().strip_prefix("bytes=")?.split_once('-')?;
    let start = start.trim().parse().ok()?;
    let end = match end.trim() {
        "" => None,
        e => Some(e.parse::<u64>().ok().filter(|e| *e >= start)?),
    };
    Some((start, end))
}

fn parse_filter(q: &Query, allowed: &[&str]) -> Result<Filter, Reject> {
    match q.get("$filter") {
        Some(f) if !f.trim().is_empty() => Filter::parse(f, allowed),
        _ => Ok(Filter::default()),
    }
}

fn skiptoken(q: &Query) -> Option<&str> {
    q.get("$skiptoken").filter(|t| !t.is_empty())
}

/// A list page's answer: the page (see [`odata::page`]) with `$select` applied, and its next
/// link.
fn list(
    base: &str,
    path: &str,
    q: &Query,
    (page, next): (Vec<Value>, Option<String>),
    metadata: &str,
) -> Result<Response, Reject> {
    let fields = odata::select(q);
    let value: Vec<Value> = page
        .into_iter()
        .map(|v| render::select(v, fields.as_deref()))
        .collect();
    let mut body = json!({
        "odata.metadata": format!("{base}/$metadata#{metadata}"),
        "value": value,
    });
    if let Some(token) = next {
        body["odata.nextLink"] = json!(odata::next_link(base, path, q, &token));
    }
    Ok(json_ok(&body))
}
