//! The job lifecycle over AWS Batch: an idempotent `submit_job`, `job_statuses` in
//! `DescribeJobs` calls of 100, `list_jobs` per queue and status, `list_tasks` (an array
//! job's children), and `export_job`.
//!
//! `SubmitJob` has no idempotency token, so the key travels as a tag and the job's name is
//! looked up before every attempt: `ListJobs` filtered by `JOB_NAME` (which returns jobs in
//! every status), then `DescribeJobs` of the candidates for their tags. The SDK's own retries
//! are off for `SubmitJob` itself: a retry after a lost answer is exactly what would create a
//! second job; polybatch retries instead, looking up again first.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use aws_sdk_batch::types::{
    ArrayJobDependency, ArrayProperties, ContainerOverrides, JobDependency,
    JobStatus as AwsJobStatus, JobTimeout, KeyValuePair, KeyValuesPair, ResourceRequirement,
    ResourceType, RetryStrategy,
};
use futures::StreamExt;
use polybatch::RetryFailedTasksOutcome;
use polybatch::paging::{Page, ending_at_error, paginate_unrepeated};
use polybatch::{
    Error, ErrorContext, ExportedJob, IDEMPOTENCY_LABEL, IdempotencyKey, JobId, JobSpec,
    JobStatuses, JobStream, ListJobsOptions, ListTasksOptions, Operation, Placement, ResourceKind,
    Resources, Result, SUBMIT_LABEL, SubmitJobOutcome, TaskId, TaskSpec, TaskStream,
};

use crate::attempts::Logged;
use crate::backend::{AwsBatchBackend, JOB_IDS_PER_REQUEST};
use crate::convert::{self, TASK_TAG};
use crate::error::{BACKEND, Subject, map_sdk_error};

use polybatch::translate::aws::{self as translate, STATUSES};
pub use polybatch::translate::aws::{MIN_TIMEOUT, job_name};

fn ctx(op: Operation) -> ErrorContext {
    ErrorContext::new(BACKEND, op)
}

/// A job id the service sent, checked: one polybatch cannot hold is a service error.
fn job_id_of(op: Operation, id: &str) -> Result<JobId> {
    JobId::new(id).map_err(|_| {
        Error::service(
            Some(200),
            false,
            ctx(op).with_message(format!("the service answered an invalid job id {id:?}")),
        )
    })
}

/// The SDK's resource requirements of the spec's resources.
fn resources_of(r: &Resources) -> Vec<ResourceRequirement> {
    translate::resources_of(r)
        .into_iter()
        .map(|(t, v)| {
            ResourceRequirement::builder()
                .r#type(ResourceType::from(t))
                .value(v)
                .build()
        })
        .collect()
}

/// `ListJobs`' continuation: absent or empty means the last page.
fn next_token(token: Option<&str>) -> Option<String> {
    token.filter(|t| !t.is_empty()).map(str::to_string)
}

/// Why a listing ends at a `nextToken` it has already followed: following it again (the same
/// token handed back, or one of a cycle) would read the same pages forever.
fn repeated_token(op: Operation) -> Error {
    Error::service(
        Some(200),
        false,
        ctx(op)
            .with_message("ListJobs answered with a nextToken this listing has already followed"),
    )
}

/// A fresh nonce for one submit call, recorded as [`SUBMIT_LABEL`].
fn nonce() -> String {
    polybatch::translate::azure::submit_nonce()
}

impl AwsBatchBackend {
    /// A job carrying `key` among jobs named `name` in `queue`: its id and whether it carries
    /// `nonce` (this call made it).
    async fn find(
        &self,
        queue: &str,
        name: &str,
        key: &IdempotencyKey,
        nonce: &str,
    ) -> Result<Option<(JobId, bool)>> {
        let op = Operation::SubmitJob;
        let mut next: Option<String> = None;
        let mut followed = HashSet::new();
        loop {
            let sent = next.take();
            if let Some(t) = &sent
                && !followed.insert(t.clone())
            {
                return Err(repeated_token(op));
            }
            let reply = self
                .client
                .list_jobs()
                .job_queue(queue)
                .filters(
                    KeyValuesPair::builder()
                        .name("JOB_NAME")
                        .values(name)
                        .build(),
                )
                .set_next_token(sent)
                .send()
                .logged(op, &Subject::default())
                .await?;
            let ids: Vec<String> = reply
                .job_summary_list()
                .iter()
                .filter(|s| s.job_name() == Some(name))
                .filter_map(|s| s.job_id().map(str::to_string))
                .collect();
            for chunk in ids.chunks(JOB_IDS_PER_REQUEST) {
                for d in self.describe(chunk, op).await? {
                    let tags = d.tags();
                    let tag = |k: &str| tags.and_then(|t| t.get(k)).map(String::as_str);
                    if tag(IDEMPOTENCY_LABEL) == Some(key.as_str())
                        && let Some(id) = d.job_id()
                    {
                        let job = job_id_of(op, id)?;
                        return Ok(Some((job, tag(SUBMIT_LABEL) == Some(nonce))));
                    }
                }
            }
            match next_token(reply.next_token()) {
                Some(t) => next = Some(t),
                None => return Ok(None),
            }
        }
    }

    pub(crate) async fn submit(
        &self,
        spec: &JobSpec,
        key: &IdempotencyKey,
    ) -> Result<SubmitJobOutcome> {
        let op = Operation::SubmitJob;
        let parts = translate::submit_parts(spec)?;
        let task = parts.task;
        let (job_queue, job_definition, name) =
            (parts.job_queue, parts.job_definition, &parts.name);
        let depends_on = parts.depends_on.as_ref().map(|deps| {
            deps.iter()
                .map(|d| {
                    let mut dep = JobDependency::builder().set_job_id(d.job_id.clone());
                    if let Some(kind) = &d.kind {
                        dep = dep.r#type(ArrayJobDependency::from(kind.as_str()));
                    }
                    dep.build()
                })
                .collect::<Vec<_>>()
        });
        let parameters: Option<HashMap<String, String>> = parts
            .parameters
            .as_ref()
            .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
        let nonce = nonce();
        let mut overrides = ContainerOverrides::builder().set_command(Some(parts.command.clone()));
        for (k, v) in &task.env {
            overrides = overrides.environment(KeyValuePair::builder().name(k).value(v).build());
        }
        for r in resources_of(&task.resources) {
            overrides = overrides.resource_requirements(r);
        }
        let overrides = overrides.build();
        let mut last = None;
        let retry = self.submit_retry;
        for attempt in 0..retry.attempts {
            if let Some((job, mine)) = self.find(job_queue, name, key, &nonce).await? {
                return Ok(SubmitJobOutcome::new(job, mine, key.clone()));
            }
            if attempt > 0 {
                tokio::time::sleep(retry.backoff(attempt)).await;
            }
            let mut request = self
                .client
                .submit_job()
                .job_name(name)
                .job_queue(job_queue)
                .job_definition(job_definition)
                .container_overrides(overrides.clone())
                .tags(IDEMPOTENCY_LABEL, key.as_str())
                .tags(SUBMIT_LABEL, &nonce)
                .tags(TASK_TAG, task.name.as_str())
                .set_depends_on(depends_on.clone())
                .set_parameters(parameters.clone());
            for (k, v) in &spec.labels {
                request = request.tags(k, v);
            }
            if let Some(size) = parts.array_size {
                request = request.array_properties(ArrayProperties::builder().size(size).build());
            }
            if let Some(attempts) = parts.attempts {
                request =
                    request.retry_strategy(RetryStrategy::builder().attempts(attempts).build());
            }
            if let Some(secs) = parts.timeout_secs {
                request =
                    request.timeout(JobTimeout::builder().attempt_duration_seconds(secs).build());
            }
            if let Some(p) = spec.priority {
                request = request.scheduling_priority_override(p);
            }
            let sent = request
                .customize()
                .config_override(
                    aws_sdk_batch::config::Builder::default()
                        .retry_config(aws_sdk_batch::config::retry::RetryConfig::disabled()),
                )
                .send()
                .await;
            // An answer without the job's id is a response error (answers.rs): retryable,
            // and the next lookup tells whether the job was made.
            match sent.map_err(|e| map_sdk_error(e, op, &Subject::default())) {
                Ok(reply) => {
                    let job = job_id_of(op, reply.job_id().unwrap_or_default())?;
                    return Ok(SubmitJobOutcome::new(job, true, key.clone()));
                }
                Err(e) => {
                    // Whether or not it was applied, the next lookup tells.
                    if !e.is_retryable() {
                        return Err(e);
                    }
                    tracing::debug!(error = %e, attempt, "aws: SubmitJob failed; looking the job up before trying again");
                    last = Some(e);
                }
            }
        }
        if let Some((job, mine)) = self.find(job_queue, name, key, &nonce).await? {
            return Ok(SubmitJobOutcome::new(job, mine, key.clone()));
        }
        Err(last.unwrap_or_else(|| Error::service(None, true, ctx(op))))
    }

    pub(crate) async fn statuses(&self, jobs: &[JobId]) -> Result<JobStatuses> {
        let op = Operation::JobStatuses;
        let mut found: HashMap<&str, polybatch::JobStatus> = HashMap::new();
        let ids: Vec<String> = jobs.iter().map(|j| j.as_str().to_string()).collect();
        for chunk in ids.chunks(JOB_IDS_PER_REQUEST) {
            for d in self.describe(chunk, op).await? {
                if let Some(job) = jobs.iter().find(|j| d.job_id() == Some(j.as_str())) {
                    found.insert(job.as_str(), convert::job_status(job, &d));
                }
            }
        }
        Ok(jobs
            .iter()
            .map(|j| {
                let r = found.remove(j.as_str()).ok_or_else(|| {
                    Error::not_found(
                        ResourceKind::Job,
                        j.as_str(),
                        ctx(op).with_message("DescribeJobs did not return this job"),
                    )
                });
                (j.clone(), r)
            })
            .collect())
    }

    pub(crate) fn jobs(&self, options: ListJobsOptions) -> JobStream {
        let op = Operation::ListJobs;
        if self.job_queues.is_empty() {
            return polybatch::error_stream(Error::configuration(
                BACKEND,
                crate::builder::ENV_JOB_QUEUES,
                "is not set: AWS Batch lists jobs per queue; name them with with_job_queue",
            ));
        }
        let statuses: Vec<&'static str> = if options.states.is_empty() {
            STATUSES.to_vec()
        } else {
            STATUSES
                .iter()
                .copied()
                .filter(|s| options.states.contains(&convert::job_state(s)))
                .collect()
        };
        // One (queue, status) listing after another.
        let mut streams: Vec<(String, &'static str)> = Vec::new();
        for q in &self.job_queues {
            for s in &statuses {
                streams.push((q.clone(), s));
            }
        }
        let with_tags = !options.labels.is_empty();
        let page_size = options.page_size.map(|n| n.min(100) as i32);
        let this = self.clone();
        let listings = futures::stream::iter(streams)
            .map(move |(queue, status)| {
                let this = this.clone();
                let fetch = move |next: Option<String>| {
                    let this = this.clone();
                    let queue = queue.clone();
                    async move {
                        let reply = this
                            .client
                            .list_jobs()
                            .job_queue(&queue)
                            .job_status(AwsJobStatus::from(status))
                            .set_max_results(page_size)
                            .set_next_token(next)
                            .send()
                            .logged(op, &Subject::default())
                            .await?;
                        let mut items = Vec::new();
                        for s in reply.job_summary_list() {
                            if let Some(job) = s.job_id().and_then(|id| JobId::new(id).ok()) {
                                items.push(convert::summary_status(&job, s));
                            }
                        }
                        if with_tags {
                            // ListJobs returns no tags: read them for the label filter.
                            let ids: Vec<JobId> = items.iter().map(|s| s.job_id.clone()).collect();
                            // A job gone since the listing is left out; any other
                            // failure is the page's.
                            let mut tagged = Vec::new();
                            for (_, r) in this.statuses(&ids).await? {
                                match r {
                                    Ok(s) => tagged.push(s),
                                    Err(Error::NotFound { .. }) => {}
                                    Err(e) => return Err(e),
                                }
                            }
                            items = tagged;
                        }
                        Ok(Page::new(items, next_token(reply.next_token())))
                    }
                };
                paginate_unrepeated(fetch, move || repeated_token(op))
            })
            .flatten()
            .boxed();
        ending_at_error(listings)
    }

    pub(crate) fn tasks(&self, job: &JobId, options: ListTasksOptions) -> TaskStream {
        let op = Operation::ListTasks;
        let this = self.clone();
        let job = job.clone();
        let page_size = options.page_size.map(|n| n.min(100) as i32);
        let first = async move {
            let parent = this.describe_one(job.as_str(), op).await?;
            Ok::<_, Error>((this, job, parent))
        };
        let listings = futures::stream::once(first)
            .map(move |r| match r {
                Err(e) => polybatch::error_stream(e),
                Ok((this, job, parent)) => {
                    if parent.array_properties().and_then(|a| a.size()).is_none() {
                        let task = convert::task_id_of(None);
                        let status = convert::task_status(&job, &task, &parent);
                        return futures::stream::once(async move { Ok(status) }).boxed();
                    }
                    // Each status in turn: ListJobs takes one per call for children too.
                    futures::stream::iter(STATUSES)
                        .map(move |status| {
                            let (this, job) = (this.clone(), job.clone());
                            let fetch = move |next: Option<String>| {
                                let (this, job) = (this.clone(), job.clone());
                                async move {
                                    let reply = this
                                        .client
                                        .list_jobs()
                                        .array_job_id(job.as_str())
                                        .job_status(AwsJobStatus::from(status))
                                        .set_max_results(page_size)
                                        .set_next_token(next)
                                        .send()
                                        .logged(op, &Subject::job(job.as_str()))
                                        .await?;
                                    let items = reply
                                        .job_summary_list()
                                        .iter()
                                        .filter(|s| s.status().map(|x| x.as_str()) == Some(status))
                                        .map(|s| convert::child_status(&job, s))
                                        .collect();
                                    Ok(Page::new(items, next_token(reply.next_token())))
                                }
                            };
                            paginate_unrepeated(fetch, move || repeated_token(op))
                        })
                        .flatten()
                        .boxed()
                }
            })
            .flatten()
            .boxed();
        ending_at_error(listings)
    }

    /// `retry_failed_tasks` as AWS Batch allows it: a FAILED plain job is submitted again
    /// (a copy from its own description), once: the copy carries the key `retry-{job id}`, so a
    /// repeated call finds it instead of making another. A job that has not failed has nothing
    /// to retry (a finished one) or cannot be retried yet (`InvalidState`); an array job is
    /// refused, since a copy would rerun its succeeded children too.
    pub(crate) async fn retry_failed(&self, job: &JobId) -> Result<RetryFailedTasksOutcome> {
        let op = Operation::RetryFailedTasks;
        let d = self.describe_one(job.as_str(), op).await?;
        let state = d.status().map(|s| s.as_str()).unwrap_or("").to_string();
        match state.as_str() {
            "SUCCEEDED" => return Ok(RetryFailedTasksOutcome::new()),
            "FAILED" => {}
            _ => {
                return Err(Error::invalid_state(
                    Some(state),
                    ctx(op).with_message("only a FAILED job can be retried; wait for it to finish"),
                ));
            }
        }
        if d.array_properties().and_then(|a| a.size()).is_some() {
            return Err(Error::invalid_state(
                Some(state),
                ctx(op).with_message(
                    "an array job cannot be retried in part: submit it again with submit_job",
                ),
            ));
        }
        let mut spec = self.export(job).await?.spec;
        let key = IdempotencyKey::new(format!("retry-{job}"))
            .map_err(|e| Error::invalid_input("job", e.to_string(), ctx(op)))?;
        spec.idempotency_key = Some(key.clone());

        let submitted = self
            .submit(&spec, &key)
            .await
            .map_err(|e| e.with_operation(op))?;
        let mut outcome = RetryFailedTasksOutcome::new();
        // A plain job's one task, as `task_status` names it.
        outcome.retried.push(convert::task_id_of(None));
        outcome.resubmitted.push(submitted.job);
        Ok(outcome)
    }

    pub(crate) async fn export(&self, job: &JobId) -> Result<ExportedJob> {
        let op = Operation::ExportJob;
        let d = self.describe_one(job.as_str(), op).await?;
        let tags: BTreeMap<String, String> = d
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let container = d.container();
        // What the job got from its definition rather than from its submit: left out, so the
        // spec is what was submitted (resubmitting it gets the definition's values again).
        let definition = self.definition_container(d.job_definition(), op).await?;
        let inherited_env: HashMap<String, String> = definition
            .as_ref()
            .map(|c| {
                c.environment()
                    .iter()
                    .filter_map(|kv| Some((kv.name()?.to_string(), kv.value()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let inherited_resources: Vec<(String, String)> = definition
            .as_ref()
            .map(|c| {
                c.resource_requirements()
                    .iter()
                    .map(|r| {
                        (
                            r.r#type()
                                .map(|t| t.as_str().to_string())
                                .unwrap_or_default(),
                            r.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let raw = container.map(|c| c.command().to_vec()).unwrap_or_default();
        let command = translate::command_from(&raw);
        let task_name = tags
            .get(TASK_TAG)
            .and_then(|n| TaskId::new(n.as_str()).ok())
            .unwrap_or_else(|| convert::task_id_of(None));
        let mut task = TaskSpec::new(task_name, command);
        for kv in container.map(|c| c.environment()).unwrap_or_default() {
            if let (Some(k), Some(v)) = (kv.name(), kv.value())
                && !k.starts_with("AWS_BATCH_")
                && inherited_env.get(k).map(String::as_str) != Some(v)
            {
                task.env.insert(k.to_string(), v.to_string());
            }
        }
        for r in container
            .map(|c| c.resource_requirements())
            .unwrap_or_default()
        {
            let v = r.value().unwrap_or_default();
            let kind = r
                .r#type()
                .map(|t| t.as_str().to_string())
                .unwrap_or_default();
            if inherited_resources.contains(&(kind.clone(), v.to_string())) {
                continue;
            }
            translate::set_resource(&mut task.resources, &kind, v);
        }
        if let Some(size) = d.array_properties().and_then(|a| a.size()) {
            task.instance_count = u32::try_from(size).unwrap_or(1);
        }
        if let Some(attempts) = d.retry_strategy().and_then(|r| r.attempts()) {
            task.max_retries = Some(u32::try_from(attempts.saturating_sub(1)).unwrap_or(0));
        }
        if let Some(secs) = d.timeout().and_then(|t| t.attempt_duration_seconds()) {
            task.timeout = Some(Duration::from_secs(u64::try_from(secs).unwrap_or(0)));
        }
        // By name, the definition pinned to its revision: what the job ran, and what the
        // submit resolves to again.
        let placement = Placement::AwsJobQueue {
            job_queue: translate::name_of_arn(d.job_queue().unwrap_or_default()).to_string(),
            job_definition: translate::name_of_arn(d.job_definition().unwrap_or_default())
                .to_string(),
        };
        let mut spec = JobSpec::new(d.job_name().unwrap_or_default(), placement, vec![task]);
        spec.idempotency_key = tags
            .get(IDEMPOTENCY_LABEL)
            .and_then(|k| IdempotencyKey::new(k.as_str()).ok());
        spec.labels = tags
            .into_iter()
            .filter(|(k, _)| !convert::is_hidden_tag(k))
            .collect();
        spec.priority = d.scheduling_priority();
        let deps: Vec<translate::Dependency> = d
            .depends_on()
            .iter()
            .map(|dep| translate::Dependency {
                job_id: dep.job_id().map(str::to_string),
                kind: dep.r#type().map(|t| t.as_str().to_string()),
            })
            .collect();
        let parameters: BTreeMap<String, String> = d
            .parameters()
            .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        if let Some(ext) = translate::export_extension(&deps, &parameters) {
            spec.extensions.insert(BACKEND.into(), ext);
        }
        Ok(ExportedJob::new(spec, Vec::new()))
    }
}

impl AwsBatchBackend {
    /// The container properties of a job definition (by ARN), `None` when it is gone.
    async fn definition_container(
        &self,
        arn: Option<&str>,
        op: Operation,
    ) -> Result<Option<aws_sdk_batch::types::ContainerProperties>> {
        let Some(arn) = arn else { return Ok(None) };
        let reply = self
            .client
            .describe_job_definitions()
            .job_definitions(arn)
            .send()
            .logged(op, &Subject::default())
            .await?;
        Ok(reply
            .job_definitions()
            .first()
            .and_then(|d| d.container_properties())
            .cloned())
    }
}
