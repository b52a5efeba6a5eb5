//! The job lifecycle over AWS Batch: an idempotent `submit_job`, `job_statuses` in
//! `DescribeJobs` calls of 100, `list_jobs` per queue and status, `list_tasks` (an array
//! job's children), and `export_job`.
//!
//! `SubmitJob` has no idempotency token, so the key travels as a tag and the job's name is
//! looked up before every attempt: `ListJobs` filtered by `JOB_NAME` (which returns jobs in
//! every status), then `DescribeJobs` of the candidates for their tags. The SDK's own retries
//! are off for `SubmitJob` itself: a retry after a lost answer is exactly what would create a
//! second job; polybatch retries instead, looking up again first.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_batch::types::{
    ArrayProperties, ContainerOverrides, JobStatus as AwsJobStatus, JobTimeout, KeyValuePair,
    KeyValuesPair, ResourceRequirement, ResourceType, RetryStrategy,
};
use futures::StreamExt;
use polybatch::RetryFailedTasksOutcome;
use polybatch::paging::{Page, paginate};
use polybatch::{
    Command, Error, ErrorContext, ExportedJob, IDEMPOTENCY_LABEL, IdempotencyKey, JobId, JobSpec,
    JobStatuses, JobStream, ListJobsOptions, ListTasksOptions, Operation, Placement, ResourceKind,
    Resources, Result, SUBMIT_LABEL, SubmitJobOutcome, TaskId, TaskSpec, TaskStream,
};

use crate::backend::{AwsBatchBackend, JOB_IDS_PER_REQUEST};
use crate::convert::{self, TASK_TAG};
use crate::error::{BACKEND, Subject, map_sdk_error};

/// Submit attempts (each preceded by a lookup) before the last error is returned.
const SUBMIT_ATTEMPTS: u32 = 4;
/// The shortest attempt timeout AWS Batch accepts.
pub const MIN_TIMEOUT: Duration = Duration::from_secs(60);
/// The statuses `ListJobs` takes, one per call.
const STATUSES: [&str; 7] = [
    "SUBMITTED",
    "PENDING",
    "RUNNABLE",
    "STARTING",
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
];

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

/// A job name AWS accepts (letters, digits, `-`, `_`; the first a letter or digit; at most
/// 128): other characters become `-`.
pub fn job_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        out.insert(0, 'j');
    }
    out.truncate(128);
    out
}

fn command_of(task: &TaskSpec) -> Vec<String> {
    match &task.command {
        Command::Argv(argv) => argv.clone(),
        Command::Shell(line) => vec!["/bin/sh".into(), "-c".into(), line.clone()],
        // `Command` may grow: an unknown form is refused before anything is sent.
        #[allow(unreachable_patterns)]
        _ => Vec::new(),
    }
}

fn resources_of(r: &Resources) -> Vec<ResourceRequirement> {
    let mut out = Vec::new();
    let mut push = |t: ResourceType, v: String| {
        out.push(ResourceRequirement::builder().r#type(t).value(v).build());
    };
    if let Some(v) = r.vcpus {
        push(ResourceType::Vcpu, format!("{v}"));
    }
    if let Some(m) = r.memory_mib {
        push(ResourceType::Memory, m.to_string());
    }
    if let Some(g) = r.gpus {
        push(ResourceType::Gpu, g.to_string());
    }
    out
}

/// `ListJobs`' continuation: absent or empty means the last page.
fn next_token(token: Option<&str>) -> Option<String> {
    token.filter(|t| !t.is_empty()).map(str::to_string)
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
        loop {
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
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| map_sdk_error(e, op, &Subject::default()))?;
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
        let Placement::AwsJobQueue {
            job_queue,
            job_definition,
        } = &spec.placement
        else {
            return Err(Error::unsupported_option(BACKEND, op, "placement"));
        };
        let [task] = spec.tasks.as_slice() else {
            return Err(Error::invalid_input(
                "tasks",
                "an AWS Batch job runs one task (several instances make an array job)",
                ctx(op),
            ));
        };
        let command = command_of(task);
        if command.is_empty() {
            return Err(Error::invalid_input("tasks[].command", "is empty", ctx(op)));
        }
        if let Some(t) = task.timeout
            && t < MIN_TIMEOUT
        {
            return Err(Error::invalid_input(
                "tasks[].timeout",
                "AWS Batch accepts attempt timeouts of 60 s or more",
                ctx(op),
            ));
        }
        let (depends_on, parameters) = extensions(spec, op)?;
        let name = job_name(&spec.name);
        let nonce = nonce();
        let mut overrides = ContainerOverrides::builder().set_command(Some(command));
        for (k, v) in &task.env {
            overrides = overrides.environment(KeyValuePair::builder().name(k).value(v).build());
        }
        for r in resources_of(&task.resources) {
            overrides = overrides.resource_requirements(r);
        }
        let overrides = overrides.build();
        let mut last = None;
        for attempt in 0..SUBMIT_ATTEMPTS {
            if let Some((job, mine)) = self.find(job_queue, &name, key, &nonce).await? {
                return Ok(SubmitJobOutcome::new(job, mine, key.clone()));
            }
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            let mut request = self
                .client
                .submit_job()
                .job_name(&name)
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
            if task.instance_count > 1 {
                request = request.array_properties(
                    ArrayProperties::builder()
                        .size(i32::try_from(task.instance_count).unwrap_or(i32::MAX))
                        .build(),
                );
            }
            if let Some(r) = task.max_retries {
                request = request.retry_strategy(
                    RetryStrategy::builder()
                        .attempts(i32::try_from(r.saturating_add(1)).unwrap_or(10))
                        .build(),
                );
            }
            if let Some(t) = task.timeout {
                request = request.timeout(
                    JobTimeout::builder()
                        .attempt_duration_seconds(i32::try_from(t.as_secs()).unwrap_or(i32::MAX))
                        .build(),
                );
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
            match sent {
                Ok(reply) => {
                    let job = job_id_of(op, reply.job_id().unwrap_or_default())?;
                    return Ok(SubmitJobOutcome::new(job, true, key.clone()));
                }
                Err(e) => {
                    let e = map_sdk_error(e, op, &Subject::default());
                    // Whether or not it was applied, the next lookup tells.
                    if !e.is_retryable() {
                        return Err(e);
                    }
                    tracing::debug!(error = %e, attempt, "aws: SubmitJob failed; looking the job up before trying again");
                    last = Some(e);
                }
            }
        }
        if let Some((job, mine)) = self.find(job_queue, &name, key, &nonce).await? {
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
        futures::stream::iter(streams)
            .map(move |(queue, status)| {
                let this = this.clone();
                paginate(move |next: Option<String>| {
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
                            .await
                            .map_err(|e| map_sdk_error(e, op, &Subject::default()))?;
                        let mut items = Vec::new();
                        for s in reply.job_summary_list() {
                            if let Some(job) = s.job_id().and_then(|id| JobId::new(id).ok()) {
                                items.push(convert::summary_status(&job, s));
                            }
                        }
                        if with_tags {
                            // ListJobs returns no tags: read them for the label filter.
                            let ids: Vec<JobId> = items.iter().map(|s| s.job_id.clone()).collect();
                            items = this
                                .statuses(&ids)
                                .await?
                                .into_iter()
                                .filter_map(|(_, r)| r.ok())
                                .collect();
                        }
                        Ok(Page::new(items, next_token(reply.next_token())))
                    }
                })
            })
            .flatten()
            .boxed()
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
        futures::stream::once(first)
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
                            paginate(move |next: Option<String>| {
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
                                        .await
                                        .map_err(|e| {
                                            map_sdk_error(e, op, &Subject::job(job.as_str()))
                                        })?;
                                    let items = reply
                                        .job_summary_list()
                                        .iter()
                                        .filter(|s| s.status().map(|x| x.as_str()) == Some(status))
                                        .map(|s| convert::child_status(&job, s))
                                        .collect();
                                    Ok(Page::new(items, next_token(reply.next_token())))
                                }
                            })
                        })
                        .flatten()
                        .boxed()
                }
            })
            .flatten()
            .boxed()
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
        let command = match raw.as_slice() {
            [sh, c, line] if sh == "/bin/sh" && c == "-c" => Command::Shell(line.clone()),
            _ => Command::Argv(raw),
        };
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
            if inherited_resources.contains(&(kind, v.to_string())) {
                continue;
            }
            match r.r#type() {
                Some(ResourceType::Vcpu) => task.resources.vcpus = v.parse().ok(),
                Some(ResourceType::Memory) => task.resources.memory_mib = v.parse().ok(),
                Some(ResourceType::Gpu) => task.resources.gpus = v.parse().ok(),
                _ => {}
            }
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
            job_queue: name_of_arn(d.job_queue().unwrap_or_default()).to_string(),
            job_definition: name_of_arn(d.job_definition().unwrap_or_default()).to_string(),
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
        let mut aws = serde_json::Map::new();
        let deps: Vec<serde_json::Value> = d
            .depends_on()
            .iter()
            .filter_map(|dep| dep.job_id().map(|id| serde_json::json!(id)))
            .collect();
        if !deps.is_empty() {
            aws.insert("dependsOn".into(), serde_json::Value::Array(deps));
        }
        if let Some(p) = d.parameters().filter(|p| !p.is_empty()) {
            aws.insert("parameters".into(), serde_json::json!(p));
        }
        if !aws.is_empty() {
            spec.extensions
                .insert(BACKEND.into(), serde_json::Value::Object(aws));
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
            .await
            .map_err(|e| map_sdk_error(e, op, &Subject::default()))?;
        Ok(reply
            .job_definitions()
            .first()
            .and_then(|d| d.container_properties())
            .cloned())
    }
}

/// The resource name of an ARN (`arn:aws:batch:r:a:job-queue/NAME` → `NAME`, a definition's
/// `NAME:REVISION`); anything else as it is.
fn name_of_arn(arn: &str) -> &str {
    match arn
        .strip_prefix("arn:")
        .and_then(|rest| rest.split_once('/'))
    {
        Some((_, name)) if !name.is_empty() => name,
        _ => arn,
    }
}

type Extensions = (
    Option<Vec<aws_sdk_batch::types::JobDependency>>,
    Option<HashMap<String, String>>,
);

/// The `aws` extension: `dependsOn` (job ids, or `{"jobId", "type"}` objects; `type` is
/// `N_TO_N` or `SEQUENTIAL` for array jobs, and `{"type": "SEQUENTIAL"}` alone runs each child
/// after the previous) and `parameters` (string substitutions of the job
/// definition). Anything else is refused before a request is sent.
fn extensions(spec: &JobSpec, op: Operation) -> Result<Extensions> {
    let Some(ext) = spec.extensions.get(BACKEND) else {
        return Ok((None, None));
    };
    let bad = |why: String| Error::invalid_input("extensions.aws", why, ctx(op));
    let obj = ext
        .as_object()
        .ok_or_else(|| bad("must be an object".into()))?;
    let mut deps = None;
    let mut params = None;
    for (k, v) in obj {
        match k.as_str() {
            "dependsOn" => {
                let list = v
                    .as_array()
                    .ok_or_else(|| bad("dependsOn must be an array".into()))?;
                let mut out = Vec::new();
                for item in list {
                    let (id, kind) = match item {
                        serde_json::Value::String(id) => (Some(id.clone()), None),
                        serde_json::Value::Object(o) => {
                            let id = match o.get("jobId") {
                                None => None,
                                Some(v) => {
                                    Some(v.as_str().map(str::to_string).ok_or_else(|| {
                                        bad("dependsOn[].jobId must be a string".into())
                                    })?)
                                }
                            };
                            let kind = o.get("type").and_then(|v| v.as_str()).map(str::to_string);
                            // Only SEQUENTIAL (each child after the previous) names no job.
                            if id.is_none() && kind.as_deref() != Some("SEQUENTIAL") {
                                return Err(bad(
                                    "dependsOn[] needs a jobId unless its type is SEQUENTIAL"
                                        .into(),
                                ));
                            }
                            (id, kind)
                        }
                        _ => return Err(bad("dependsOn[] must be job ids".into())),
                    };
                    let mut dep = aws_sdk_batch::types::JobDependency::builder().set_job_id(id);
                    if let Some(t) = kind {
                        dep =
                            dep.r#type(aws_sdk_batch::types::ArrayJobDependency::from(t.as_str()));
                    }
                    out.push(dep.build());
                }
                deps = Some(out);
            }
            "parameters" => {
                let o = v
                    .as_object()
                    .ok_or_else(|| bad("parameters must be an object".into()))?;
                let mut out = HashMap::new();
                for (pk, pv) in o {
                    let s = pv
                        .as_str()
                        .ok_or_else(|| bad(format!("parameters.{pk} must be a string")))?;
                    out.insert(pk.clone(), s.to_string());
                }
                params = Some(out);
            }
            other => {
                return Err(bad(format!(
                    "unknown field {other:?} (dependsOn, parameters)"
                )));
            }
        }
    }
    Ok((deps, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_give_their_resource_names() {
        assert_eq!(name_of_arn("arn:aws:batch:us-east-1:1:job-queue/q"), "q");
        assert_eq!(
            name_of_arn("arn:aws:batch:us-east-1:1:job-definition/d:3"),
            "d:3"
        );
        assert_eq!(name_of_arn("plain"), "plain");
        assert_eq!(name_of_arn("arn:nothing"), "arn:nothing");
    }

    #[test]
    fn job_names_are_what_aws_accepts() {
        assert_eq!(job_name("nightly render"), "nightly-render");
        assert_eq!(job_name("_x"), "j_x");
        assert_eq!(job_name("ok-1_2"), "ok-1_2");
        assert_eq!(job_name(&"a".repeat(300)).len(), 128);
        assert_eq!(job_name("été"), "j-t-");
    }

    #[test]
    fn unknown_extensions_are_refused() {
        let task = TaskSpec::shell(TaskId::new("t").unwrap(), "true");
        let mut spec = JobSpec::new(
            "j",
            Placement::AwsJobQueue {
                job_queue: "q".into(),
                job_definition: "d".into(),
            },
            vec![task],
        );
        spec.extensions
            .insert("aws".into(), serde_json::json!({"dependsOn": ["a", {"jobId": "b", "type": "N_TO_N"}], "parameters": {"p": "v"}}));
        let (deps, params) = extensions(&spec, Operation::SubmitJob).unwrap();
        assert_eq!(deps.unwrap().len(), 2);
        assert_eq!(params.unwrap()["p"], "v");
        spec.extensions
            .insert("aws".into(), serde_json::json!({"shareIdentifier": "x"}));
        assert!(matches!(
            extensions(&spec, Operation::SubmitJob),
            Err(Error::InvalidInput { .. })
        ));
    }
}
