//! The job lifecycle over REST: `submit_job`, `export_job`, `task_output` and `delete_job`,
//! the request sequences a neutral job needs on Azure Batch (the bodies and their reading
//! back come from `polybatch::translate::azure`, shared with the in-memory flavour).
//!
//! Submit is `Job_Add` under the id the idempotency key names, `Task_AddCollection` in
//! batches of 100, then `Job_Patch` to `onAllTasksComplete: terminatejob`. Every step may be
//! repeated: a `JobExists` whose metadata holds the key is the earlier submit (resumed: the
//! tasks it lacks are added), `TaskExists` is a task already added, and the patch sets a
//! value. So a caller that lost an answer, or crashed half-way, submits again with the key.

use futures::TryStreamExt;
use polybatch::translate::azure;
use polybatch::{
    DeleteDisposition, DeleteJobOptions, DeleteJobOutcome, Error, ErrorContext, IdempotencyKey,
    JobId, JobSpec, Operation, Result, SubmitJobOptions, SubmitJobOutcome,
};
use reqwest::Method;
use serde_json::json;

use crate::BACKEND;
use crate::backend::AzureBatchBackend;
use crate::client::Call;
use crate::model::{CloudJob, TaskAddCollectionResult};

/// Rounds of `Task_AddCollection` for tasks the service answered `servererror` for.
const ADD_ROUNDS: usize = 3;

fn ctx(op: Operation) -> ErrorContext {
    ErrorContext::new(BACKEND, op)
}

impl AzureBatchBackend {
    pub(crate) async fn submit(
        &self,
        spec: &JobSpec,
        key: &IdempotencyKey,
        options: SubmitJobOptions,
    ) -> Result<SubmitJobOutcome> {
        let op = Operation::SubmitJob;
        let id = azure::job_id(&spec.name, key)?;
        // Replayable: a JobExists is resolved below, and the nonce tells whether this call's
        // own (lost) attempt created the job or an earlier call did.
        let nonce = azure::submit_nonce();
        let add = Call::new(op, Method::POST, &["jobs"])
            .job(id.as_str())
            .idempotent()
            .server_timeout(options.server_timeout)
            .json(&azure::job_add_body(spec, &id, key, &nonce)?)?;
        let (created, request_id) = match self.client().send(&add).await {
            Ok(r) => (true, r.request_id),
            Err(e) if e.code() == Some("JobExists") => {
                let get = Call::new(op, Method::GET, &["jobs", id.as_str()]).job(id.as_str());
                let (r, job): (_, CloudJob) = self.client().send_json(&get).await?;
                let state = job.state.as_ref().map_or("", |s| s.as_str());
                if let Some((code, message)) =
                    azure::existing_job_conflict(&id, key, state, job.metadata.as_ref())
                {
                    let mut c = ctx(op).with_code(code).with_message(message);
                    if let Some(rid) = e.request_id() {
                        c = c.with_request_id(rid);
                    }
                    return Err(Error::invalid_state(Some(state.to_string()), c));
                }
                (
                    azure::created_by(job.metadata.as_ref(), &nonce),
                    r.request_id,
                )
            }
            Err(e) => return Err(e),
        };
        self.add_tasks(&id, spec, &options).await?;
        let patch = Call::new(op, Method::PATCH, &["jobs", id.as_str()])
            .job(id.as_str())
            .idempotent()
            .server_timeout(options.server_timeout)
            .json(&azure::complete_when_tasks_done())?;
        match self.client().send(&patch).await {
            Ok(_) => {}
            // A repeat may find the job completed already: it had everything.
            Err(e) if !created && e.code() == Some("JobCompleted") => {}
            Err(e) => return Err(e),
        }
        let mut outcome = SubmitJobOutcome::new(id, created, key.clone());
        outcome.request_id = request_id;
        Ok(outcome)
    }

    /// Adds every task of `spec` the job lacks, 100 a request; `TaskExists` is a task added
    /// before, `servererror` is tried again (up to [`ADD_ROUNDS`] rounds).
    async fn add_tasks(
        &self,
        id: &JobId,
        spec: &JobSpec,
        options: &SubmitJobOptions,
    ) -> Result<()> {
        let op = Operation::SubmitJob;
        let mut pending: Vec<serde_json::Value> = spec
            .tasks
            .iter()
            .map(azure::task_body)
            .collect::<Result<_>>()?;
        for _ in 0..ADD_ROUNDS {
            let mut again = Vec::new();
            for chunk in pending.chunks(azure::TASKS_PER_REQUEST) {
                let call = Call::new(
                    op,
                    Method::POST,
                    &["jobs", id.as_str(), "addtaskcollection"],
                )
                .job(id.as_str())
                .idempotent()
                .server_timeout(options.server_timeout)
                .json(&json!({"value": chunk}))?;
                let (r, results): (_, TaskAddCollectionResult) =
                    self.client().send_json(&call).await?;
                for body in chunk {
                    let task_id = body["id"].as_str().unwrap_or_default();
                    let result = results.value.iter().find(|t| {
                        t.task_id
                            .as_deref()
                            .is_some_and(|t| t.eq_ignore_ascii_case(task_id))
                    });
                    let status = result.and_then(|t| t.status.as_deref()).unwrap_or("");
                    let code = result
                        .and_then(|t| t.error.as_ref())
                        .and_then(|e| e.code.as_deref());
                    match (status, code) {
                        ("success", _) | ("clienterror", Some("TaskExists")) => {}
                        // No answer for a task is a server's fault too: ask again.
                        ("servererror", _) | ("", _) => again.push(body.clone()),
                        (_, code) => {
                            let message = result
                                .and_then(|t| t.error.as_ref())
                                .and_then(|e| e.message.as_ref())
                                .and_then(|m| m.get("value").or(Some(m)))
                                .and_then(|m| m.as_str())
                                .unwrap_or("refused")
                                .to_string();
                            let mut c =
                                ctx(op).with_message(format!("task {task_id:?}: {message}"));
                            if let Some(code) = code {
                                c = c.with_code(code);
                            }
                            if let Some(rid) = &r.request_id {
                                c = c.with_request_id(rid.clone());
                            }
                            return Err(Error::invalid_input(
                                "tasks[]",
                                format!("task {task_id:?} was refused"),
                                c,
                            ));
                        }
                    }
                }
            }
            if again.is_empty() {
                return Ok(());
            }
            pending = again;
        }
        Err(Error::service(
            None,
            true,
            ctx(op).with_message(format!(
                "{} task(s) of job {id} were not added after {ADD_ROUNDS} rounds of server \
                 errors; submit again with the same key to finish",
                pending.len()
            )),
        ))
    }

    /// Job_Get and Task_List, as JSON, read back as a spec.
    pub(crate) async fn export(&self, job: &JobId) -> Result<polybatch::ExportedJob> {
        let op = Operation::ExportJob;
        let get = Call::new(op, Method::GET, &["jobs", job.as_str()]).job(job.as_str());
        let (r, body): (_, serde_json::Value) = self.client().send_json(&get).await?;
        let list = Call::new(op, Method::GET, &["jobs", job.as_str(), "tasks"]).job(job.as_str());
        let tasks: Vec<serde_json::Value> = self
            .list(list, |t: serde_json::Value| Ok(t))
            .try_collect()
            .await?;
        azure::export(&body, &tasks).map_err(|e| {
            let mut e = e.stamped(BACKEND, op);
            if let (Error::Service { ctx, .. }, Some(rid)) = (&mut e, r.request_id.as_ref()) {
                ctx.request_id = Some(rid.clone());
            }
            e
        })
    }

    /// File_GetFromTask of `stdout.txt` or `stderr.txt`, the range as `ocp-range`.
    pub(crate) async fn output(
        &self,
        job: &JobId,
        task: &polybatch::TaskId,
        options: polybatch::TaskOutputOptions,
    ) -> Result<polybatch::TaskOutput> {
        let file = match options.stream {
            polybatch::OutputStream::Stderr => "stderr.txt",
            _ => "stdout.txt",
        };
        let mut call = Call::new(
            Operation::TaskOutput,
            Method::GET,
            &["jobs", job.as_str(), "tasks", task.as_str(), "files", file],
        )
        .job(job.as_str())
        .task(task.as_str());
        if let Some(r) = &options.range {
            if r.start >= r.end {
                return Ok(polybatch::TaskOutput::new(Vec::new()));
            }
            // ocp-range is inclusive.
            call = call.header("ocp-range", format!("bytes={}-{}", r.start, r.end - 1));
        }
        let r = self.client().send(&call).await?;
        let mut out = polybatch::TaskOutput::new(r.body);
        out.request_id = r.request_id;
        Ok(out)
    }

    /// Task_Terminate (`POST /jobs/{job}/tasks/{task}/terminate`, 204), idempotent: a task
    /// already completed is `already_completed`, whichever attempt hears it (a retry cannot
    /// tell a lost answer from a refusal that applied nothing, and the task is completed
    /// either way), as `JobCompleted` is for terminate_job.
    pub(crate) async fn terminate_one_task(
        &self,
        job: &JobId,
        task: &polybatch::TaskId,
        options: polybatch::TerminateTaskOptions,
    ) -> Result<polybatch::TerminateTaskOutcome> {
        let call = Call::new(
            Operation::TerminateTask,
            Method::POST,
            &["jobs", job.as_str(), "tasks", task.as_str(), "terminate"],
        )
        .job(job.as_str())
        .task(task.as_str())
        .idempotent()
        .preconditions(options.preconditions)
        .server_timeout(options.server_timeout);
        let outcome = |d, etag: Option<String>, rid: Option<&str>| {
            let mut o = polybatch::TerminateTaskOutcome::new(d);
            o.etag = etag.map(polybatch::ETag::new);
            o.request_id = rid.map(String::from);
            o
        };
        match self.client().send(&call).await {
            Ok(r) => Ok(outcome(
                polybatch::TerminateDisposition::Accepted,
                r.etag,
                r.request_id.as_deref(),
            )),
            Err(e) if e.code() == Some("TaskCompleted") => Ok(outcome(
                polybatch::TerminateDisposition::AlreadyCompleted,
                None,
                e.request_id(),
            )),
            Err(e) => Err(e),
        }
    }

    pub(crate) async fn delete(
        &self,
        job: &JobId,
        options: DeleteJobOptions,
    ) -> Result<DeleteJobOutcome> {
        let call = Call::new(
            Operation::DeleteJob,
            Method::DELETE,
            &["jobs", job.as_str()],
        )
        .job(job.as_str())
        .idempotent()
        .preconditions(options.preconditions)
        .server_timeout(options.server_timeout);
        let outcome = |d, rid: Option<&str>| {
            let mut o = DeleteJobOutcome::new(d);
            o.request_id = rid.map(String::from);
            o
        };
        match self.client().send(&call).await {
            Ok(r) => Ok(outcome(
                DeleteDisposition::Accepted,
                r.request_id.as_deref(),
            )),
            // Delete is idempotent: a job being deleted or gone is an answer, not an error
            // (also what a retry after a lost 202 finds).
            Err(e) if e.code() == Some("JobBeingDeleted") => {
                Ok(outcome(DeleteDisposition::AlreadyDeleting, e.request_id()))
            }
            Err(e @ Error::NotFound { .. }) => {
                Ok(outcome(DeleteDisposition::AlreadyGone, e.request_id()))
            }
            Err(e) => Err(e),
        }
    }
}
