//! The job lifecycle over API 3.0: `submit_job`, `job_statuses`, `list_jobs`, `list_tasks`,
//! `export_job`, `task_output` and `delete_job` (the `SubmitJob` body and its reading back
//! come from `polybatch::translate::tencent`, shared with the in-memory flavour).
//!
//! Submit first looks for a job tagged with the idempotency key (`DescribeJobs` filtered by
//! `tag:polybatch-idempotency-key`): a caller that crashed, or whose answer was lost, finds
//! its job instead of making a second. Otherwise `SubmitJob` carries the key as its
//! `ClientToken` too, so the service itself folds a replayed request into the first.

use std::collections::HashMap;

use futures::StreamExt;
use polybatch::paging::{Page, paginate};
use polybatch::translate::tencent as spelling;
use polybatch::{
    DeleteDisposition, DeleteJobOutcome, Error, ErrorContext, IdempotencyKey, JobId, JobSpec,
    JobStatuses, JobStream, ListJobsOptions, Operation, ResourceKind, Result, SubmitJobOutcome,
    TaskStatus, TaskStream,
};
use polybatch_protocol::tencent::action;

use crate::backend::TencentBatchBackend;
use crate::client::{Call, Reply};
use crate::convert::{job_status_from_view, task_summary};
use crate::error::{BACKEND, Subject};
use crate::model::{
    DescribeJobsRequest, DescribeJobsResponse, EmptyResponse, Filter, JOB_IDS_PER_REQUEST,
    JobIdRequest, SubmitJobResponse,
};
use crate::paging::next_offset;

fn ctx(op: Operation, request_id: Option<&str>) -> ErrorContext {
    let c = ErrorContext::new(BACKEND, op);
    match request_id {
        Some(id) => c.with_request_id(id),
        None => c,
    }
}

fn job_id_of(op: Operation, id: Option<&str>, request_id: Option<&str>) -> Result<JobId> {
    let id = id.unwrap_or_default();
    JobId::new(id).map_err(|_| {
        // Retryable: a garbled answer, which the next try may well get right.
        Error::service(
            Some(200),
            true,
            ctx(op, request_id)
                .with_message(format!("the service answered an invalid JobId {id:?}")),
        )
    })
}

impl TencentBatchBackend {
    pub(crate) async fn submit(
        &self,
        spec: &JobSpec,
        key: &IdempotencyKey,
    ) -> Result<SubmitJobOutcome> {
        let op = Operation::SubmitJob;
        let find = DescribeJobsRequest {
            filters: Some(vec![
                serde_json::from_value(spelling::key_filter(key)).map_err(|e| {
                    Error::invalid_input("idempotency_key", e.to_string(), ctx(op, None))
                })?,
            ]),
            limit: Some(1),
            ..DescribeJobsRequest::default()
        };
        let call = Call::new(action::DESCRIBE_JOBS, op);
        let found = self
            .client
            .call_with(&call, &find, |found: Reply<DescribeJobsResponse>| {
                let rid = found.request_id.as_deref();
                match found.value.job_set.as_ref().and_then(|s| s.first()) {
                    Some(view) => Ok(Some((
                        job_id_of(op, view.job_id.as_deref(), rid)?,
                        found.request_id.clone(),
                    ))),
                    None => Ok(None),
                }
            })
            .await?;
        if let Some((id, request_id)) = found {
            let mut outcome = SubmitJobOutcome::new(id, false, key.clone());
            outcome.request_id = request_id;
            return Ok(outcome);
        }
        let body = spelling::submit_job_body(spec, key)?;
        // Replayable: the ClientToken makes a replay answer with the first request's job.
        let call = Call::new(action::SUBMIT_JOB, op);
        let (id, request_id) = self
            .client
            .call_with(&call, &body, |reply: Reply<SubmitJobResponse>| {
                let rid = reply.request_id.as_deref();
                Ok((
                    job_id_of(op, reply.value.job_id.as_deref(), rid)?,
                    reply.request_id,
                ))
            })
            .await?;
        let mut outcome = SubmitJobOutcome::new(id, true, key.clone());
        outcome.request_id = request_id;
        Ok(outcome)
    }

    pub(crate) async fn statuses(&self, jobs: &[JobId]) -> Result<JobStatuses> {
        let op = Operation::JobStatuses;
        let mut found: HashMap<JobId, Result<polybatch::JobStatus>> = HashMap::new();
        let (shaped, misshapen): (Vec<&JobId>, Vec<&JobId>) =
            // Any other id names no Tencent job, and sending it would fail the whole
            // DescribeJobs request (InvalidParameter.JobIdMalformed).
            jobs.iter().partition(|j| polybatch_protocol::tencent::is_job_id(j.as_str()));
        for j in misshapen {
            let c = ctx(op, None).with_message("not a Tencent job id (job-xxxxxxxx); not asked");
            found.insert(
                j.clone(),
                Err(Error::not_found(ResourceKind::Job, j.as_str(), c)),
            );
        }
        for chunk in shaped.chunks(JOB_IDS_PER_REQUEST) {
            let body = DescribeJobsRequest {
                job_ids: Some(chunk.iter().map(|j| j.as_str().to_string()).collect()),
                offset: Some(0),
                limit: Some(JOB_IDS_PER_REQUEST as u64),
                ..DescribeJobsRequest::default()
            };
            let call = Call::new(action::DESCRIBE_JOBS, op);
            let reply: Reply<DescribeJobsResponse> = self.client.call(&call, &body).await?;
            let rid = reply.request_id.as_deref();
            for view in reply.value.job_set.iter().flatten() {
                let Some(job) = chunk
                    .iter()
                    .find(|j| view.job_id.as_deref() == Some(j.as_str()))
                else {
                    continue; // a job not asked about: ignored
                };
                found.insert((*job).clone(), Ok(job_status_from_view(job, view)));
            }
            for job in chunk {
                found.entry((*job).clone()).or_insert_with(|| {
                    let c = ctx(op, rid)
                        .with_code("ResourceNotFound.Job")
                        .with_message("DescribeJobs did not return this job");
                    Err(Error::not_found(ResourceKind::Job, job.as_str(), c))
                });
            }
        }
        Ok(jobs
            .iter()
            .map(|j| {
                let r = found.remove(j).unwrap_or_else(|| {
                    Err(Error::not_found(
                        ResourceKind::Job,
                        j.as_str(),
                        ctx(op, None),
                    ))
                });
                (j.clone(), r)
            })
            .collect())
    }

    /// `DescribeJobSubmitInfo` and the zone from `DescribeJob`, read back as a spec.
    pub(crate) async fn export(&self, job: &JobId) -> Result<polybatch::ExportedJob> {
        let op = Operation::ExportJob;
        let call =
            Call::new(action::DESCRIBE_JOB_SUBMIT_INFO, op).subject(Subject::job(job.as_str()));
        let body = JobIdRequest {
            job_id: job.as_str().to_string(),
        };
        let info: Reply<serde_json::Value> = self.client.call(&call, &body).await?;
        let described = self.describe_job(job, op).await?;
        let zone = described.value.zone.clone().unwrap_or_default();
        spelling::export(&info.value, &zone).map_err(|e| e.stamped(BACKEND, op))
    }

    /// `DescribeTaskLogs` of one instance: at most 2048 bytes of the stream (then
    /// `complete: false`, and the redirect path says where the rest is, when there is one).
    pub(crate) async fn output(
        &self,
        job: &JobId,
        task: &polybatch::TaskId,
        options: polybatch::TaskOutputOptions,
    ) -> Result<polybatch::TaskOutput> {
        use base64::Engine;
        let op = Operation::TaskOutput;
        let call = Call::new(action::DESCRIBE_TASK_LOGS, op)
            .subject(Subject::task(job.as_str(), task.as_str()));
        let body = serde_json::json!({
            "JobId": job.as_str(),
            "TaskName": task.as_str(),
            "TaskInstanceIndexes": [options.instance],
            "Limit": 1,
        });
        let reply: Reply<serde_json::Value> = self.client.call(&call, &body).await?;
        let rid = reply.request_id.clone();
        let log = reply
            .value
            .get("TaskInstanceLogSet")
            .and_then(serde_json::Value::as_array)
            .and_then(|set| {
                set.iter().find(|l| {
                    l.get("TaskInstanceIndex")
                        .and_then(serde_json::Value::as_u64)
                        == Some(u64::from(options.instance))
                })
            });
        let Some(log) = log else {
            let c = ctx(op, rid.as_deref())
                .with_code("ResourceNotFound.TaskInstance")
                .with_message("DescribeTaskLogs did not return this instance");
            return Err(Error::not_found(
                ResourceKind::TaskInstance,
                options.instance.to_string(),
                c,
            ));
        };
        let (field, path, name) = match options.stream {
            polybatch::OutputStream::Stderr => {
                ("StderrLog", "StderrRedirectPath", "StderrRedirectFileName")
            }
            _ => ("StdoutLog", "StdoutRedirectPath", "StdoutRedirectFileName"),
        };
        let text = log
            .get(field)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("");
        // The official example carries a data URI prefix: strip it.
        let encoded = text.rsplit_once(";base64,").map_or(text, |(_, b)| b);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|e| {
                Error::service(
                    Some(200),
                    false,
                    ctx(op, rid.as_deref()).with_message(format!("{field} is not base64: {e}")),
                )
            })?;
        let complete = bytes.len() < polybatch_protocol::tencent::MAX_LOG_BYTES;
        let mut out = polybatch::TaskOutput::new(bytes);
        out.complete = complete;
        out.request_id = rid;
        let part = |k: &str| {
            log.get(k)
                .and_then(serde_json::Value::as_str)
                .filter(|s| !s.is_empty())
        };
        out.location = part(path).map(|p| match part(name) {
            Some(n) => format!("{}/{n}", p.trim_end_matches('/')),
            None => p.to_string(),
        });
        Ok(out)
    }

    /// `TerminateTaskInstance` on every unfinished instance of the task (or the one asked),
    /// found with `DescribeTask` filtered on the unfinished states: instances already
    /// `SUCCEED` or `FAILED` cost no request, and a task with none left is `already_completed`.
    pub(crate) async fn terminate_instances(
        &self,
        job: &JobId,
        task: &polybatch::TaskId,
        instance: Option<u32>,
    ) -> Result<polybatch::TerminateTaskOutcome> {
        use crate::model::{
            DescribeTaskRequest, DescribeTaskResponse, TerminateTaskInstanceRequest,
        };
        let op = Operation::TerminateTask;
        const PAGE: u64 = 1000;
        let unfinished_states = [
            "SUBMITTED",
            "PENDING",
            "RUNNABLE",
            "STARTING",
            "RUNNING",
            "FAILED_INTERRUPTED",
        ];
        let describe = Call::new(action::DESCRIBE_TASK, op)
            .subject(Subject::task(job.as_str(), task.as_str()));
        let mut unfinished = Vec::new();
        let mut total = None;
        let mut offset = 0;
        loop {
            let body = DescribeTaskRequest {
                job_id: job.as_str().to_string(),
                task_name: task.as_str().to_string(),
                offset: Some(offset),
                limit: Some(PAGE),
                filters: Some(vec![Filter::new(
                    "task-instance-state",
                    unfinished_states.iter().map(|s| s.to_string()).collect(),
                )]),
            };
            let reply: Reply<DescribeTaskResponse> = self.client.call(&describe, &body).await?;
            let page = reply.value.task_instance_set.unwrap_or_default();
            total = total.or(reply.value.task_instance_metrics.as_ref().map(|m| {
                [
                    m.submitted_count,
                    m.pending_count,
                    m.runnable_count,
                    m.starting_count,
                    m.running_count,
                    m.succeed_count,
                    m.failed_interrupted_count,
                    m.failed_count,
                ]
                .iter()
                .map(|c| c.unwrap_or(0))
                .sum::<u64>()
            }));
            let got = page.len() as u64;
            unfinished.extend(page.iter().filter_map(|i| i.task_instance_index));
            // PAGE is DescribeTask's documented maximum, so a shorter page is the last one,
            // whatever total the answer claims (a server claiming more than it sends would
            // otherwise be read one instance at a time, without end).
            if got < PAGE {
                break;
            }
            match next_offset(offset, got, reply.value.task_instance_total_count) {
                Some(next) => offset = next,
                None => break,
            }
        }
        let targets: Vec<u64> = match instance {
            Some(n) => {
                let n = u64::from(n);
                if total.is_some_and(|t| n >= t) {
                    let c = ctx(op, None)
                        .with_code("ResourceNotFound.TaskInstance")
                        .with_message(format!("task {task} has no instance {n}"));
                    return Err(Error::not_found(
                        ResourceKind::TaskInstance,
                        n.to_string(),
                        c,
                    ));
                }
                unfinished.into_iter().filter(|i| *i == n).collect()
            }
            None => unfinished,
        };
        if targets.is_empty() {
            return Ok(polybatch::TerminateTaskOutcome::new(
                polybatch::TerminateDisposition::AlreadyCompleted,
            ));
        }
        let mut request_id = None;
        for index in targets {
            let mut subject = Subject::task(job.as_str(), task.as_str());
            subject.instance = Some(index);
            let call = Call::new(action::TERMINATE_TASK_INSTANCE, op).subject(subject);
            let body = TerminateTaskInstanceRequest {
                job_id: job.as_str().to_string(),
                task_name: task.as_str().to_string(),
                task_instance_index: index,
            };
            let reply: Reply<EmptyResponse> = self.client.call(&call, &body).await?;
            request_id = reply.request_id;
        }
        let mut o = polybatch::TerminateTaskOutcome::new(polybatch::TerminateDisposition::Accepted);
        o.request_id = request_id;
        Ok(o)
    }

    pub(crate) async fn delete(&self, job: &JobId) -> Result<DeleteJobOutcome> {
        let op = Operation::DeleteJob;
        let call = Call::new(action::DELETE_JOB, op).subject(Subject::job(job.as_str()));
        let body = JobIdRequest {
            job_id: job.as_str().to_string(),
        };
        let result: Result<Reply<EmptyResponse>> = self.client.call(&call, &body).await;
        match result {
            Ok(r) => {
                let mut o = DeleteJobOutcome::new(DeleteDisposition::Accepted);
                o.request_id = r.request_id;
                Ok(o)
            }
            // Idempotent: a job already gone (or deleted by a replayed request) is an answer.
            Err(e @ Error::NotFound { .. }) => {
                let mut o = DeleteJobOutcome::new(DeleteDisposition::AlreadyGone);
                o.request_id = e.request_id().map(String::from);
                Ok(o)
            }
            Err(Error::InvalidState { state, ctx }) => {
                let mut c = *ctx;
                c.message = format!(
                    "{} (DeleteJob needs the job and all its instances SUCCEED or FAILED: \
                     terminate it and wait until it has finished)",
                    c.message
                );
                Err(Error::InvalidState {
                    state,
                    ctx: Box::new(c),
                })
            }
            Err(e) => Err(e),
        }
    }
}

impl TencentBatchBackend {
    pub(crate) fn jobs(&self, options: ListJobsOptions) -> JobStream {
        let op = Operation::ListJobs;
        let Some(filters) = spelling::list_filters(&options) else {
            return futures::stream::empty().boxed();
        };
        let filters: Vec<Filter> = filters
            .into_iter()
            .filter_map(|f| serde_json::from_value(f).ok())
            .collect();
        let limit = u64::from(options.page_size.unwrap_or(100).min(100));
        let this = self.clone();
        paginate(move |offset: Option<u64>| {
            let this = this.clone();
            let filters = filters.clone();
            async move {
                let offset = offset.unwrap_or(0);
                let body = DescribeJobsRequest {
                    filters: (!filters.is_empty()).then_some(filters),
                    offset: Some(offset),
                    limit: Some(limit),
                    ..DescribeJobsRequest::default()
                };
                let call = Call::new(action::DESCRIBE_JOBS, op);
                let reply: Reply<DescribeJobsResponse> = this.client.call(&call, &body).await?;
                let rid = reply.request_id.as_deref();
                let views = reply.value.job_set.clone().unwrap_or_default();
                let got = views.len() as u64;
                let items = views
                    .iter()
                    .map(|v| {
                        Ok(job_status_from_view(
                            &job_id_of(op, v.job_id.as_deref(), rid)?,
                            v,
                        ))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Page::new(
                    items,
                    next_offset(offset, got, reply.value.total_count),
                ))
            }
        })
    }

    pub(crate) fn tasks(&self, job: &JobId) -> TaskStream {
        let this = self.clone();
        let job = job.clone();
        futures::stream::once(async move {
            let r = this.describe_job(&job, Operation::ListTasks).await?;
            let rid = r.request_id.clone();
            let items: Vec<Result<TaskStatus>> = r
                .value
                .task_set
                .iter()
                .flatten()
                .map(|t| task_summary(&job, t, rid.as_deref()))
                .collect();
            Ok::<_, Error>(futures::stream::iter(items))
        })
        .map(|r| match r {
            Ok(s) => s.boxed(),
            Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
        })
        .flatten()
        .boxed()
    }
}
