//! `impl BatchBackend for AzureBatchBackend`: the REST calls behind each operation (the trait
//! checks capabilities first).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use polybatch::{
    BatchBackend, Capabilities, Error, JobId, JobStatus, ListPrepReleaseOptions, Operation,
    Preconditions, PrepReleaseStream, ReactivateTaskOptions, ReactivateTaskOutcome, Result,
    RetryFailedTasksOptions, RetryFailedTasksOutcome, RetryFailure, StatusOptions, TaskId,
    TaskStatus, TerminateDisposition, TerminateJobOptions, TerminateJobOutcome,
};
use polybatch::{
    DeleteJobOptions, DeleteJobOutcome, IdempotencyKey, JobSpec, JobStatuses, JobStatusesOptions,
    JobStream, ListJobsOptions, ListTasksOptions, SubmitJobOptions, SubmitJobOutcome, TaskStream,
};
use reqwest::Method;
use url::Url;

use crate::ApiVersion;
use crate::BACKEND;
use crate::client::{Call, Client};
use crate::convert::{self, Meta};
use crate::model::{CloudJob, CloudTask, JobTerminateParameter, PrepReleaseInfo};
use crate::paging::{self, ListQuery};

/// The `$filter` that selects a job's failed tasks: `executionInfo.result` is set only once a
/// task completed (and cleared when it is reactivated), so it alone picks the failed ones.
pub const FAILED_TASKS_FILTER: &str = "executionInfo/result eq 'failure'";

/// The `$select` of the failed-task listing: the ids to reactivate, and the ETags each
/// reactivation is made conditional on, which tell exactly whether a reactivation whose
/// answer was lost took effect.
pub const FAILED_TASKS_SELECT: &str = "id,eTag";

/// The Azure Batch backend. Cheap to clone: clones share the HTTP client, credentials and
/// token cache.
#[derive(Clone)]
pub struct AzureBatchBackend {
    inner: Arc<Client>,
}

impl fmt::Debug for AzureBatchBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.inner;
        f.debug_struct("AzureBatchBackend")
            .field("endpoint", &c.endpoint.as_str())
            .field("account", &c.account)
            .field("api_version", &c.api_version)
            .field("auth", &c.credential.kind())
            .field("credential", &c.credential)
            .field("retry", &c.retry)
            .finish()
    }
}

impl fmt::Display for AzureBatchBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AzureBatch({} @ {})",
            self.inner.account, self.inner.endpoint
        )
    }
}

impl AzureBatchBackend {
    pub(crate) fn from_client(client: Client) -> Self {
        AzureBatchBackend {
            inner: Arc::new(client),
        }
    }

    pub(crate) fn client(&self) -> &Client {
        &self.inner
    }

    /// The account endpoint.
    pub fn endpoint(&self) -> &Url {
        &self.inner.endpoint
    }

    /// The rate `operation` is held to now: `None` until the account has throttled it (Azure
    /// documents no rates), then the adapted rate
    /// ([`AzureBatchBuilder::with_adaptive_rate_limits`](crate::AzureBatchBuilder::with_adaptive_rate_limits)).
    pub fn rate_limit(&self, operation: polybatch::Operation) -> Option<polybatch::rate::Quota> {
        let c = &self.inner;
        let key =
            polybatch::rate::RateKey::new(operation.as_str(), &c.account, c.credential.kind());
        c.limiter.quota(&key)
    }

    /// The account name (the endpoint's host when it could not be derived under Entra ID).
    pub fn account(&self) -> &str {
        &self.inner.account
    }

    /// The api-version sent on every request.
    pub fn api_version(&self) -> ApiVersion {
        self.inner.api_version
    }

    /// A lazy, paged GET listing: the first page from `first`, then every `odata.nextLink`
    /// (same origin only), each converted by `convert`.
    pub(crate) fn list<W, T, F>(&self, first: Call, convert: F) -> BoxStream<'static, Result<T>>
    where
        W: serde::de::DeserializeOwned + Send + 'static,
        T: Send + 'static,
        F: Fn(W) -> Result<T> + Send + Sync + 'static,
    {
        let backend = self.clone();
        let first = Arc::new(first);
        let convert = Arc::new(convert);
        let operation = first.operation;
        // The continuation is the next link as the server wrote it; it is resolved (same
        // origin only) when followed, so a refusal comes after the current page's items. A
        // link this listing has followed before ends it (`paginate_unrepeated`).
        let pages = polybatch::paging::paginate_unrepeated(
            move |link: Option<String>| {
                let backend = backend.clone();
                let first = first.clone();
                let convert = convert.clone();
                async move {
                    let mut call = (*first).clone();
                    if let Some(link) = link {
                        let url =
                            paging::resolve_next_link(&backend.inner.endpoint, &link, operation)?;
                        call.target = crate::client::Target::Link(url);
                    }
                    // Items are read inside the retry loop: a page with one that cannot be
                    // read is a garbled page, fetched again.
                    let (_, (next_link, items)) = backend
                        .client()
                        .send_json_with(&call, |page: crate::model::ListPage<W>| {
                            let items = page
                                .value
                                .into_iter()
                                .map(|w| convert(w))
                                .collect::<Result<Vec<T>>>()?;
                            Ok((page.next_link, items))
                        })
                        .await?;
                    let next = next_link.filter(|l| !l.is_empty());
                    Ok(polybatch::paging::Page::new(items, next))
                }
            },
            move || {
                Error::service(
                    Some(200),
                    false,
                    polybatch::ErrorContext::new(BACKEND, operation)
                        .with_message("odata.nextLink repeats a page this listing has read"),
                )
            },
        );
        pages.boxed()
    }

    /// The ids of `job`'s failed tasks, lazily: `$filter` [`FAILED_TASKS_FILTER`] and
    /// `$select` [`FAILED_TASKS_SELECT`], so the service sends ids, not whole tasks.
    fn failed_task_ids(
        &self,
        job: &JobId,
    ) -> BoxStream<'static, Result<(TaskId, Option<polybatch::ETag>)>> {
        let operation = Operation::RetryFailedTasks;
        let mut call =
            Call::new(operation, Method::GET, &["jobs", job.as_str(), "tasks"]).job(job.as_str());
        let query = ListQuery {
            filter: Some(FAILED_TASKS_FILTER.to_string()),
            select: vec![FAILED_TASKS_SELECT.to_string()],
            max_results: None,
        };
        for (n, v) in query.pairs() {
            call = call.query(&n, v);
        }
        self.list(call, move |task: CloudTask| {
            let etag = task.e_tag.map(polybatch::ETag::new);
            Ok((task_id_of(operation, task.id)?, etag))
        })
    }

    /// Every task of `job` matching `filter`, lazily (used by
    /// [`AzureBatchBackend::list_tasks`]).
    pub(crate) fn list_tasks_as(
        &self,
        operation: Operation,
        job: &JobId,
        filter: Option<String>,
        max_results: Option<u32>,
    ) -> BoxStream<'static, Result<TaskStatus>> {
        let mut call =
            Call::new(operation, Method::GET, &["jobs", job.as_str(), "tasks"]).job(job.as_str());
        for (n, v) in (ListQuery {
            filter,
            max_results,
            ..ListQuery::default()
        })
        .pairs()
        {
            call = call.query(&n, v);
        }
        let job = job.clone();
        self.list(call, move |task: CloudTask| {
            let task_id = task_id_of(operation, task.id.clone())?;
            Ok(convert::task_status(
                job.clone(),
                task_id,
                task,
                Meta::default(),
            ))
        })
    }

    /// The task's state, previous state and ETag (a Task_Get of those only). Both states
    /// are asked for, so an answer without them is garbled and fetched again.
    async fn task_state(&self, job: &JobId, task: &TaskId) -> Result<TaskStates> {
        let call = Call::new(
            Operation::ReactivateTask,
            Method::GET,
            &["jobs", job.as_str(), "tasks", task.as_str()],
        )
        .job(job.as_str())
        .task(task.as_str())
        .query("$select", "id,state,previousState");
        let (r, (state, previous)) = self
            .client()
            .send_json_with(&call, |wire: CloudTask| {
                let state = wire.state.map(|s| s.as_str().to_string()).ok_or_else(|| {
                    Error::service(
                        None,
                        true,
                        polybatch::ErrorContext::new(BACKEND, Operation::ReactivateTask)
                            .with_message(format!(
                                "task {job}/{task} was answered without its state"
                            )),
                    )
                })?;
                Ok((state, wire.previous_state.map(|s| s.as_str().to_string())))
            })
            .await?;
        Ok(TaskStates {
            state,
            previous,
            etag: r.etag,
        })
    }
}

/// What a reactivation's read-back learns of a task.
struct TaskStates {
    state: String,
    previous: Option<String>,
    etag: Option<String>,
}

/// A Job_Get or Task_Get with the status options: the server timeout, `$select`
/// (comma-joined, as the SDKs send it) and `If-None-Match` (a 304 is "not modified").
fn status_read(call: Call, options: StatusOptions) -> Call {
    let mut call = call.server_timeout(options.server_timeout);
    let query = ListQuery {
        select: options.select,
        ..ListQuery::default()
    };
    for (n, v) in query.pairs() {
        call = call.query(&n, v);
    }
    match options.if_none_match {
        Some(etag) => call.preconditions(Preconditions::default().with_if_none_match(etag)),
        None => call,
    }
}

/// The id of a listed task; one that is not a valid [`TaskId`] is a service error.
fn task_id_of(operation: Operation, id: Option<String>) -> Result<TaskId> {
    let id = id.unwrap_or_default();
    TaskId::new(id.clone()).map_err(|_| {
        // Retryable: a garbled listing, which the next try may well get right.
        Error::service(
            None,
            true,
            polybatch::ErrorContext::new(BACKEND, operation).with_message(format!(
                "the service listed a task with an invalid id {id:?}"
            )),
        )
    })
}

#[async_trait]
impl BatchBackend for AzureBatchBackend {
    fn name(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::all();
        caps.terminate_job_force = self.inner.api_version.supports_force();
        caps.submit = polybatch::translate::azure::submit_capabilities();
        // Batch has no bulk read of jobs by id: statuses are single reads, concurrently.
        caps.job_statuses_per_request = 1;
        caps.list_jobs_server_filters = polybatch::translate::azure::LIST_JOBS_SERVER_FILTERS;
        // Batch tasks have no instances to pick from.
        caps.terminate_task_instance = false;
        caps
    }

    async fn terminate_job_impl(
        &self,
        job: &JobId,
        options: TerminateJobOptions,
    ) -> Result<TerminateJobOutcome> {
        let mut call = Call::new(
            Operation::TerminateJob,
            Method::POST,
            &["jobs", job.as_str(), "terminate"],
        )
        .job(job.as_str())
        .idempotent()
        .preconditions(options.preconditions)
        .server_timeout(options.server_timeout);
        if options.force {
            call = call.query("force", "true");
        }
        if let Some(reason) = options.reason {
            call = call.json(&JobTerminateParameter {
                terminate_reason: reason,
            })?;
        }
        let force = options.force;
        let disposition = |d, etag: Option<String>, request_id: Option<String>| {
            let mut o = TerminateJobOutcome::new(d);
            o.etag = etag.map(polybatch::ETag::new);
            o.request_id = request_id;
            o
        };
        match self.client().send(&call).await {
            Ok(r) => {
                let mut o = disposition(TerminateDisposition::Accepted, r.etag, r.request_id);
                o.forced = force.then_some(true);
                Ok(o)
            }
            // Terminate is idempotent: a job already finishing or finished is not an error.
            Err(e) if e.code() == Some("JobCompleted") => Ok(disposition(
                TerminateDisposition::AlreadyCompleted,
                None,
                e.request_id().map(String::from),
            )),
            // An earlier terminate is under way and this one changed nothing: asked with
            // force, it did not force the job (it ends at the earlier terminate's pace).
            Err(e) if e.code() == Some("JobBeingTerminated") => {
                let mut o = disposition(
                    TerminateDisposition::AlreadyTerminating,
                    None,
                    e.request_id().map(String::from),
                );
                o.forced = force.then_some(false);
                Ok(o)
            }
            Err(e) => Err(e),
        }
    }

    async fn reactivate_task_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: ReactivateTaskOptions,
    ) -> Result<ReactivateTaskOutcome> {
        // Never applied twice (docs/errors.md): after a failure that may have reached the
        // service, the task is read back. A task that left `completed` (its previous state),
        // or whose ETag moved from the caller's If-Match, was reactivated; otherwise it is
        // sent again, conditional on the ETag just read, so a first attempt still in flight
        // that lands meanwhile makes the replay fail its precondition instead of applying
        // twice.
        let given = options.preconditions.if_match.clone();
        let preconditions = std::sync::Mutex::new(options.preconditions);
        let call = |preconditions: Preconditions| {
            Call::new(
                Operation::ReactivateTask,
                Method::POST,
                &["jobs", job.as_str(), "tasks", task.as_str(), "reactivate"],
            )
            .job(job.as_str())
            .task(task.as_str())
            .preconditions(preconditions)
            .server_timeout(options.server_timeout)
        };
        let current = || {
            preconditions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
        };
        let applied = polybatch::reconcile::apply_once(
            || async {
                let r = self.client().send(&call(current())).await?;
                Ok((r.etag, r.request_id))
            },
            || async {
                let TaskStates {
                    state,
                    previous,
                    etag,
                } = self.task_state(job, task).await?;
                let moved = given
                    .as_ref()
                    .is_some_and(|g| Some(g.as_str()) != etag.as_deref());
                // Only a reactivation takes a task out of `completed`.
                let reactivated = state != "completed" && previous.as_deref() == Some("completed");
                if reactivated || moved {
                    return Ok(Some((etag, None)));
                }
                if let Some(etag) = etag {
                    preconditions
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .if_match = Some(polybatch::ETag::new(etag));
                }
                Ok(None)
            },
        )
        .await?;
        let (etag, request_id) = applied.value;
        let mut outcome = ReactivateTaskOutcome::default();
        outcome.etag = etag.map(polybatch::ETag::new);
        outcome.request_id = request_id;
        Ok(outcome)
    }

    async fn job_status_impl(&self, job: &JobId, options: StatusOptions) -> Result<JobStatus> {
        let call =
            Call::new(Operation::JobStatus, Method::GET, &["jobs", job.as_str()]).job(job.as_str());
        let (r, wire): (_, CloudJob) = self.client().send_json(&status_read(call, options)).await?;
        Ok(convert::job_status(
            job.clone(),
            wire,
            Meta {
                etag: r.etag,
                last_modified: r.last_modified,
            },
        ))
    }

    async fn task_status_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: StatusOptions,
    ) -> Result<TaskStatus> {
        let call = Call::new(
            Operation::TaskStatus,
            Method::GET,
            &["jobs", job.as_str(), "tasks", task.as_str()],
        )
        .job(job.as_str())
        .task(task.as_str());
        let (r, wire): (_, CloudTask) =
            self.client().send_json(&status_read(call, options)).await?;
        Ok(convert::task_status(
            job.clone(),
            task.clone(),
            wire,
            Meta {
                etag: r.etag,
                last_modified: r.last_modified,
            },
        ))
    }

    fn list_prep_release_status_impl(
        &self,
        job: &JobId,
        options: ListPrepReleaseOptions,
    ) -> PrepReleaseStream {
        let mut call = Call::new(
            Operation::ListPrepReleaseStatus,
            Method::GET,
            &["jobs", job.as_str(), "jobpreparationandreleasetaskstatus"],
        )
        .job(job.as_str())
        .server_timeout(options.server_timeout);
        let query = ListQuery {
            filter: options.filter,
            select: options.select,
            max_results: options.page_size,
        };
        for (n, v) in query.pairs() {
            call = call.query(&n, v);
        }
        self.list(call, |info: PrepReleaseInfo| {
            Ok(convert::prep_release_status(info))
        })
    }

    async fn retry_failed_tasks_impl(
        &self,
        job: &JobId,
        options: RetryFailedTasksOptions,
    ) -> Result<RetryFailedTasksOutcome> {
        // List everything first: reactivated tasks leave the filter, which would shift the
        // pages of a listing still in progress.
        let failed: Vec<(TaskId, Option<polybatch::ETag>)> =
            self.failed_task_ids(job).try_collect().await?;
        let mut results: Vec<(usize, TaskId, Result<ReactivateTaskOutcome>)> =
            stream::iter(failed.into_iter().enumerate())
                .map(|(i, (task, etag))| async move {
                    let mut options = ReactivateTaskOptions::default();
                    options.preconditions.if_match = etag;
                    let r = self.reactivate_task(job, &task, options).await;
                    (i, task, r)
                })
                .buffer_unordered(options.concurrency.max(1))
                .collect()
                .await;
        // Report in listing order, whatever order the reactivations finished in.
        results.sort_by_key(|(i, _, _)| *i);
        let mut outcome = RetryFailedTasksOutcome::new();
        for (_, task, r) in results {
            match r {
                Ok(_) => outcome.retried.push(task),
                Err(e) => outcome.not_retried.push(RetryFailure::new(task, e)),
            }
        }
        Ok(outcome)
    }

    async fn submit_job_impl(
        &self,
        spec: &JobSpec,
        key: &IdempotencyKey,
        options: SubmitJobOptions,
    ) -> Result<SubmitJobOutcome> {
        self.submit(spec, key, options).await
    }

    async fn job_statuses_impl(
        &self,
        jobs: &[JobId],
        options: JobStatusesOptions,
    ) -> Result<JobStatuses> {
        Ok(polybatch::job_statuses_one_by_one(self, jobs, options.concurrency).await)
    }

    async fn delete_job_impl(
        &self,
        job: &JobId,
        options: DeleteJobOptions,
    ) -> Result<DeleteJobOutcome> {
        self.delete(job, options).await
    }

    fn list_jobs_impl(&self, options: ListJobsOptions) -> JobStream {
        let op = Operation::ListJobs;
        let mut call = Call::new(op, Method::GET, &["jobs"]);
        // The state filter goes to the service; a state Batch has no name for matches nothing.
        let names: Vec<&str> = options
            .states
            .iter()
            .filter_map(|s| polybatch::translate::azure::job_state_name(*s))
            .collect();
        if !options.states.is_empty() && names.is_empty() {
            return futures::stream::empty().boxed();
        }
        let filter = (!names.is_empty()).then(|| {
            names
                .iter()
                .map(|n| format!("state eq '{n}'"))
                .collect::<Vec<_>>()
                .join(" or ")
        });
        let query = ListQuery {
            filter,
            max_results: options.page_size,
            ..ListQuery::default()
        };
        for (n, v) in query.pairs() {
            call = call.query(&n, v);
        }
        self.list(call, move |job: CloudJob| {
            let id = job.id.clone().unwrap_or_default();
            let id = JobId::new(id.clone()).map_err(|_| {
                // Retryable: a garbled listing, which the next try may well get right.
                Error::service(
                    None,
                    true,
                    polybatch::ErrorContext::new(BACKEND, op).with_message(format!(
                        "the service listed a job with an invalid id {id:?}"
                    )),
                )
            })?;
            Ok(convert::job_status(id, job, Meta::default()))
        })
    }

    fn list_tasks_impl(&self, job: &JobId, options: ListTasksOptions) -> TaskStream {
        self.list_tasks_as(Operation::ListTasks, job, None, options.page_size)
    }

    async fn export_job_impl(
        &self,
        job: &JobId,
        _options: polybatch::ExportJobOptions,
    ) -> Result<polybatch::ExportedJob> {
        self.export(job).await
    }

    async fn task_output_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: polybatch::TaskOutputOptions,
    ) -> Result<polybatch::TaskOutput> {
        self.output(job, task, options).await
    }

    async fn terminate_task_impl(
        &self,
        job: &JobId,
        task: &TaskId,
        options: polybatch::TerminateTaskOptions,
    ) -> Result<polybatch::TerminateTaskOutcome> {
        self.terminate_one_task(job, task, options).await
    }
}
