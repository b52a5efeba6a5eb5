//! The simulated AWS Batch service: resources, jobs and their state machine.
//!
//! As in the Tencent simulation nothing runs in the background: every job (or array child) has
//! a plan, the whole timeline of states it goes through, computed from its container's
//! environment (`POLYBATCH_RUN_SECONDS`, `POLYBATCH_EXIT_CODE`), its retry strategy and timeout,
//! its dependencies' plans and any stop requested; its state is read off the plan at the time
//! the caller gives.
//!
//! Timeline of one attempt: `RUNNABLE` 1 s, `STARTING` 1 s, `RUNNING` for the run time (cut at
//! the attempt timeout), then `SUCCEEDED`, `FAILED`, or `RUNNABLE` again for the next attempt.
//! A job spends its first second `SUBMITTED`, then is `PENDING` until its dependencies finish
//! (at least 1 s). `TerminateJob` fails a job that has not reached `STARTING` at once
//! (cancelled) and stops a `STARTING` or `RUNNING` one 1 s later (terminated); `CancelJob` acts
//! only before `STARTING` (and is a no-op after, as AWS documents). An array job stays
//! `PENDING` while its children run and ends `SUCCEEDED` when every child did, else `FAILED`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use polybatch_protocol::sim_env::{DEFAULT_RUN_SECONDS, EXIT_CODE_VAR, RUN_SECONDS_VAR};
use serde::Serialize;

use super::errors::{ApiError, ApiResult};
use super::requests::{
    self, ComputeEnvironmentOrder, CreateComputeEnvironment, CreateJobQueue,
    DescribeJobDefinitions, JobDependency, JobTimeout, KeyValuePair, ListJobs,
    RegisterJobDefinition, ResourceRequirement, RetryStrategy, SubmitJob, check_name, check_tags,
    required,
};

/// A job status, spelled as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// `SUBMITTED`
    Submitted,
    /// `PENDING`
    Pending,
    /// `RUNNABLE`
    Runnable,
    /// `STARTING`
    Starting,
    /// `RUNNING`
    Running,
    /// `SUCCEEDED`
    Succeeded,
    /// `FAILED`
    Failed,
}

impl Status {
    /// Every status, in timeline order.
    pub const ALL: [Status; 7] = [
        Status::Submitted,
        Status::Pending,
        Status::Runnable,
        Status::Starting,
        Status::Running,
        Status::Succeeded,
        Status::Failed,
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Submitted => "SUBMITTED",
            Status::Pending => "PENDING",
            Status::Runnable => "RUNNABLE",
            Status::Starting => "STARTING",
            Status::Running => "RUNNING",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// `SUCCEEDED` or `FAILED`.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed)
    }
}

/// The reason AWS gives when a job's container exits.
pub const CONTAINER_EXITED: &str = "Essential container in task exited";
/// The reason of an attempt cut at its timeout.
pub const TIMED_OUT: &str = "Job attempt duration exceeded timeout";
/// The reason of a job whose dependency failed.
pub const DEPENDENCY_FAILED: &str = "Dependent Job failed";

/// The longest array job.
pub const MAX_ARRAY_SIZE: i64 = 10_000;
/// Ids per `DescribeJobs`.
pub const MAX_DESCRIBE: usize = 100;
/// Dependencies per job.
pub const MAX_DEPENDS_ON: usize = 20;
/// Stops recorded per job; later ones could not change anything the first did not.
const MAX_STOPS: usize = 16;

fn secs(n: i64) -> Duration {
    Duration::seconds(n)
}

/// `t + d`, saturating at the end of time (the admin API can push the clock far ahead).
fn after(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A compute environment.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComputeEnvironment {
    /// `computeEnvironmentName`.
    pub compute_environment_name: String,
    /// `computeEnvironmentArn`.
    pub compute_environment_arn: String,
    /// `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `state`.
    pub state: String,
    /// `status`: always `VALID` here.
    pub status: String,
    /// `computeResources`, as created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute_resources: Option<serde_json::Value>,
    /// `serviceRole`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_role: Option<String>,
    /// `tags`.
    pub tags: BTreeMap<String, String>,
}

/// A job queue.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobQueue {
    /// `jobQueueName`.
    pub job_queue_name: String,
    /// `jobQueueArn`.
    pub job_queue_arn: String,
    /// `state`.
    pub state: String,
    /// `status`: always `VALID` here.
    pub status: String,
    /// `priority`.
    pub priority: i64,
    /// `computeEnvironmentOrder`, environments as ARNs.
    pub compute_environment_order: Vec<ComputeEnvironmentOrder>,
    /// `tags`.
    pub tags: BTreeMap<String, String>,
}

/// A job definition revision.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobDefinition {
    /// `jobDefinitionName`.
    pub job_definition_name: String,
    /// `jobDefinitionArn`.
    pub job_definition_arn: String,
    /// `revision`.
    pub revision: i64,
    /// `status`: `ACTIVE`.
    pub status: String,
    /// `type`: `container`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `parameters`.
    pub parameters: BTreeMap<String, String>,
    /// `retryStrategy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_strategy: Option<RetryStrategy>,
    /// `containerProperties`.
    pub container_properties: requests::ContainerProperties,
    /// `timeout`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<JobTimeout>,
    /// `tags`.
    pub tags: BTreeMap<String, String>,
    /// `propagateTags`.
    pub propagate_tags: bool,
    /// `platformCapabilities`.
    pub platform_capabilities: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopKind {
    Cancel,
    Terminate,
}

#[derive(Debug, Clone)]
struct Stop {
    /// The array child it targets; `None` for the whole job.
    child: Option<u32>,
    at: DateTime<Utc>,
    kind: StopKind,
    reason: String,
}

/// What a job's container is: the definition's properties with the submit's overrides.
#[derive(Debug, Clone)]
struct Container {
    image: String,
    command: Vec<String>,
    environment: Vec<KeyValuePair>,
    resource_requirements: Vec<ResourceRequirement>,
    vcpus: Option<i64>,
    memory: Option<i64>,
    job_role_arn: Option<String>,
}

/// A submitted job.
#[derive(Debug, Clone)]
pub struct Job {
    /// `jobId`.
    pub id: String,
    /// `jobArn`.
    pub arn: String,
    /// `jobName`.
    pub name: String,
    /// The queue's ARN.
    pub queue_arn: String,
    /// The definition revision's ARN.
    pub definition_arn: String,
    /// Submission order.
    pub seq: u64,
    /// `createdAt`.
    pub created: DateTime<Utc>,
    /// `arrayProperties.size`, for an array job.
    pub array_size: Option<u32>,
    container: Container,
    attempts: u32,
    timeout_secs: Option<i64>,
    depends_on: Vec<JobDependency>,
    parameters: BTreeMap<String, String>,
    propagate_tags: bool,
    priority: Option<i64>,
    run: Duration,
    exit_code: i64,
    stops: Vec<Stop>,
}

/// One attempt, as planned.
#[derive(Debug, Clone, PartialEq)]
struct AttemptPlan {
    starting: DateTime<Utc>,
    running: DateTime<Utc>,
    stopped: DateTime<Utc>,
    exit_code: Option<i64>,
    reason: Option<String>,
}

/// A unit's (plain job's or array child's) whole timeline.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    /// `(from, status)`, ordered; the last is final.
    segments: Vec<(DateTime<Utc>, Status)>,
    attempts: Vec<AttemptPlan>,
    /// The final `statusReason`.
    reason: String,
    /// The stop that took effect: when it was asked for and what it did.
    stopped: Option<(DateTime<Utc>, StopKind)>,
}

impl Plan {
    fn status_at(&self, now: DateTime<Utc>) -> Status {
        status_at(&self.segments, now)
    }

    fn end(&self) -> (DateTime<Utc>, Status) {
        self.segments
            .last()
            .copied()
            .unwrap_or((DateTime::<Utc>::MAX_UTC, Status::Failed))
    }
}

fn status_at(segments: &[(DateTime<Utc>, Status)], now: DateTime<Utc>) -> Status {
    segments
        .iter()
        .take_while(|(from, _)| *from <= now)
        .last()
        .map_or(Status::Submitted, |(_, s)| *s)
}

/// When the work a unit waits for finishes, and whether it allows the unit to run.
type Gate = Option<(DateTime<Utc>, bool)>;

fn join(a: Gate, b: Gate) -> Gate {
    match (a, b) {
        (None, g) | (g, None) => g,
        (Some((ta, oka)), Some((tb, okb))) => Some((ta.max(tb), oka && okb)),
    }
}

impl Job {
    /// The ids of the units: the job itself, or its children `id:0` ... `id:n-1`.
    fn units(&self) -> Vec<Option<u32>> {
        match self.array_size {
            None => vec![None],
            Some(n) => (0..n).map(Some).collect(),
        }
    }

    /// The plan of one unit, given its gate.
    fn plan_unit(&self, child: Option<u32>, gate: Gate) -> Plan {
        let t0 = self.created;
        let mut segments = vec![
            (t0, Status::Submitted),
            (after(t0, secs(1)), Status::Pending),
        ];
        let mut attempts = Vec::new();
        let ready = gate.map_or(after(t0, secs(2)), |(at, _)| at.max(after(t0, secs(2))));
        let mut reason = CONTAINER_EXITED.to_string();
        if gate.is_some_and(|(_, ok)| !ok) {
            segments.push((ready, Status::Failed));
            reason = DEPENDENCY_FAILED.to_string();
        } else {
            let mut start = ready;
            for n in 0..self.attempts.max(1) {
                let starting = after(start, secs(1));
                let running = after(start, secs(2));
                segments.push((start, Status::Runnable));
                segments.push((starting, Status::Starting));
                segments.push((running, Status::Running));
                let limit = self.timeout_secs.map(secs);
                let (stopped, exit_code, why) = match limit {
                    Some(limit) if limit < self.run => {
                        (after(running, limit), None, Some(TIMED_OUT.to_string()))
                    }
                    _ => (after(running, self.run), Some(self.exit_code), None),
                };
                attempts.push(AttemptPlan {
                    starting,
                    running,
                    stopped,
                    exit_code,
                    reason: why.clone(),
                });
                if exit_code == Some(0) {
                    segments.push((stopped, Status::Succeeded));
                    break;
                }
                if n + 1 >= self.attempts.max(1) {
                    segments.push((stopped, Status::Failed));
                    if let Some(why) = why {
                        reason = why;
                    }
                    break;
                }
                start = stopped;
            }
        }
        let mut plan = Plan {
            segments,
            attempts,
            reason,
            stopped: None,
        };
        // The first stop aimed at this unit that could act on it is the one that did.
        let mut stops: Vec<&Stop> = self
            .stops
            .iter()
            .filter(|s| s.child.is_none() || s.child == child)
            .collect();
        stops.sort_by_key(|s| s.at);
        for stop in stops {
            if apply_stop(&mut plan, stop) {
                break;
            }
        }
        plan
    }
}

/// Cuts `plan` at `stop` if the stop can act on the state it finds; says whether it did.
fn apply_stop(plan: &mut Plan, stop: &Stop) -> bool {
    let at = stop.at;
    let status = plan.status_at(at);
    if status.is_final() {
        return false;
    }
    let before_start = status < Status::Starting;
    if !before_start && stop.kind == StopKind::Cancel {
        return false;
    }
    let end = if before_start { at } else { after(at, secs(1)) };
    plan.segments.retain(|(from, _)| *from <= at);
    plan.segments.push((end, Status::Failed));
    plan.attempts.retain(|a| a.starting <= at);
    if let Some(last) = plan.attempts.last_mut()
        && last.stopped > end
    {
        last.stopped = end;
        last.exit_code = None;
        last.reason = Some("Job terminated".into());
    }
    plan.reason = stop.reason.clone();
    plan.stopped = Some((
        at,
        if before_start {
            StopKind::Cancel
        } else {
            StopKind::Terminate
        },
    ));
    true
}

/// The `container` of an attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptContainer {
    /// `exitCode`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    /// `reason`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `logStreamName`.
    pub log_stream_name: String,
    /// `taskArn`.
    pub task_arn: String,
}

/// `attempts[]`: a finished attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptDetail {
    /// `container`.
    pub container: AttemptContainer,
    /// `startedAt`.
    pub started_at: i64,
    /// `stoppedAt`.
    pub stopped_at: i64,
    /// `statusReason`.
    pub status_reason: String,
}

/// `container` of a job detail.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDetail {
    /// `image`.
    pub image: String,
    /// `command`.
    pub command: Vec<String>,
    /// `environment`.
    pub environment: Vec<KeyValuePair>,
    /// `resourceRequirements`.
    pub resource_requirements: Vec<ResourceRequirement>,
    /// `vcpus`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vcpus: Option<i64>,
    /// `memory`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
    /// `jobRoleArn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_role_arn: Option<String>,
    /// `exitCode`, once the last attempt's container exited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    /// `reason`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `logStreamName`, once an attempt started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_stream_name: Option<String>,
    /// `taskArn`, once an attempt started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_arn: Option<String>,
}

/// `arrayProperties` of a job detail or summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArrayPropertiesDetail {
    /// `statusSummary` (the parent: children per status).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_summary: Option<BTreeMap<String, i64>>,
    /// `size` (the parent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// `index` (a child).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<i64>,
}

/// A job as `DescribeJobs` shows it at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobDetail {
    /// `jobArn`.
    pub job_arn: String,
    /// `jobName`.
    pub job_name: String,
    /// `jobId` (`parent:index` for a child).
    pub job_id: String,
    /// `jobQueue` (ARN).
    pub job_queue: String,
    /// `status`.
    pub status: Status,
    /// `schedulingPriority`, when the submit overrode it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduling_priority: Option<i64>,
    /// `statusReason`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// `attempts`: the finished ones.
    pub attempts: Vec<AttemptDetail>,
    /// `createdAt`.
    pub created_at: i64,
    /// `retryStrategy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_strategy: Option<RetryStrategy>,
    /// `startedAt`: when the job (the last attempt) entered `RUNNING`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<i64>,
    /// `stoppedAt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<i64>,
    /// `dependsOn`.
    pub depends_on: Vec<JobDependency>,
    /// `jobDefinition` (ARN).
    pub job_definition: String,
    /// `parameters`.
    pub parameters: BTreeMap<String, String>,
    /// `container`.
    pub container: ContainerDetail,
    /// `arrayProperties`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub array_properties: Option<ArrayPropertiesDetail>,
    /// `timeout`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<JobTimeout>,
    /// `tags`.
    pub tags: BTreeMap<String, String>,
    /// `propagateTags`.
    pub propagate_tags: bool,
    /// `platformCapabilities`.
    pub platform_capabilities: Vec<String>,
    /// `isCancelled`: a cancel took effect (or a terminate before `STARTING`).
    pub is_cancelled: bool,
    /// `isTerminated`: a terminate stopped it while `STARTING` or `RUNNING`.
    pub is_terminated: bool,
}

/// `container` of a job summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerSummary {
    /// `exitCode`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    /// `reason`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A job as `ListJobs` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSummary {
    /// `jobArn`.
    pub job_arn: String,
    /// `jobId`.
    pub job_id: String,
    /// `jobName`.
    pub job_name: String,
    /// `createdAt`.
    pub created_at: i64,
    /// `status`.
    pub status: Status,
    /// `statusReason`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// `startedAt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<i64>,
    /// `stoppedAt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<i64>,
    /// `container`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerSummary>,
    /// `arrayProperties`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub array_properties: Option<ArrayPropertiesDetail>,
    /// `jobDefinition`.
    pub job_definition: String,
}

impl From<&JobDetail> for JobSummary {
    fn from(d: &JobDetail) -> Self {
        JobSummary {
            job_arn: d.job_arn.clone(),
            job_id: d.job_id.clone(),
            job_name: d.job_name.clone(),
            created_at: d.created_at,
            status: d.status,
            status_reason: d.status_reason.clone(),
            started_at: d.started_at,
            stopped_at: d.stopped_at,
            container: (d.container.exit_code.is_some() || d.container.reason.is_some()).then(
                || ContainerSummary {
                    exit_code: d.container.exit_code,
                    reason: d.container.reason.clone(),
                },
            ),
            array_properties: d.array_properties.as_ref().map(|a| ArrayPropertiesDetail {
                status_summary: None,
                size: a.size,
                index: a.index,
            }),
            job_definition: d.job_definition.clone(),
        }
    }
}

/// `SubmitJob`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Submitted {
    /// `jobArn`.
    pub job_arn: String,
    /// `jobName`.
    pub job_name: String,
    /// `jobId`.
    pub job_id: String,
}

/// One page of a listing and the token of the next.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// `nextToken`, when more follow.
    pub next_token: Option<String>,
}

fn page<T: Clone>(all: &[T], offset: usize, size: usize) -> Page<T> {
    let items: Vec<T> = all.iter().skip(offset).take(size).cloned().collect();
    let next = offset.saturating_add(size);
    Page {
        items,
        next_token: (next < all.len()).then(|| requests::token_of(next)),
    }
}

/// An AWS Batch account in one region.
#[derive(Debug, Clone)]
pub struct Store {
    region: String,
    account: String,
    jobs: HashMap<String, Job>,
    /// Job ids, in submission order.
    order: Vec<String>,
    environments: Vec<ComputeEnvironment>,
    queues: Vec<JobQueue>,
    definitions: Vec<JobDefinition>,
    /// Tags of jobs (resources keep theirs on themselves).
    job_tags: HashMap<String, BTreeMap<String, String>>,
    seq: u64,
}

/// The account id of the simulated account unless configured.
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// The compute environment a [`Store::seeded`] account starts with.
pub const SEEDED_COMPUTE_ENVIRONMENT: &str = "polybatch-ce";
/// The job queue a [`Store::seeded`] account starts with.
pub const SEEDED_QUEUE: &str = "polybatch-queue";
/// The job definition a [`Store::seeded`] account starts with (revision 1, image `busybox`,
/// 1 vCPU, 512 MiB).
pub const SEEDED_JOB_DEFINITION: &str = "polybatch-job";

/// How a job asked about is addressed: a job id, or `parent:index` for an array child.
fn split_child(id: &str) -> (&str, Option<&str>) {
    match id.split_once(':') {
        Some((parent, index)) => (parent, Some(index)),
        None => (id, None),
    }
}

impl Store {
    /// An empty account `account` in `region`.
    pub fn new(region: impl Into<String>, account: impl Into<String>) -> Self {
        Store {
            region: region.into(),
            account: account.into(),
            jobs: HashMap::new(),
            order: Vec::new(),
            environments: Vec::new(),
            queues: Vec::new(),
            definitions: Vec::new(),
            job_tags: HashMap::new(),
            seq: 0,
        }
    }

    /// An account with a compute environment, a job queue and a job definition
    /// ([`SEEDED_QUEUE`], [`SEEDED_JOB_DEFINITION`]), so a client can submit at once.
    pub fn seeded(region: impl Into<String>, account: impl Into<String>) -> Self {
        let mut store = Store::new(region, account);
        // These cannot fail on an empty store; a failure would only leave it unseeded.
        let _ = store.create_compute_environment(CreateComputeEnvironment {
            compute_environment_name: Some(SEEDED_COMPUTE_ENVIRONMENT.into()),
            kind: Some("MANAGED".into()),
            ..Default::default()
        });
        let _ = store.create_job_queue(CreateJobQueue {
            job_queue_name: Some(SEEDED_QUEUE.into()),
            priority: Some(1),
            compute_environment_order: Some(vec![ComputeEnvironmentOrder {
                order: Some(1),
                compute_environment: Some(SEEDED_COMPUTE_ENVIRONMENT.into()),
            }]),
            ..Default::default()
        });
        let requirement = |kind: &str, value: &str| ResourceRequirement {
            kind: Some(kind.into()),
            value: Some(value.into()),
        };
        let _ = store.register_job_definition(RegisterJobDefinition {
            job_definition_name: Some(SEEDED_JOB_DEFINITION.into()),
            kind: Some("container".into()),
            container_properties: Some(requests::ContainerProperties {
                image: Some("busybox".into()),
                command: Some(vec!["true".into()]),
                resource_requirements: Some(vec![
                    requirement("VCPU", "1"),
                    requirement("MEMORY", "512"),
                ]),
                ..Default::default()
            }),
            ..Default::default()
        });
        store
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.region
    }

    fn arn(&self, kind: &str, name: &str) -> String {
        format!(
            "arn:aws:batch:{}:{}:{kind}/{name}",
            self.region, self.account
        )
    }

    /// How many jobs were submitted.
    pub fn job_count(&self) -> usize {
        self.order.len()
    }

    // ---- compute environments and queues ----

    /// `CreateComputeEnvironment`: its name and ARN.
    pub fn create_compute_environment(
        &mut self,
        req: CreateComputeEnvironment,
    ) -> ApiResult<(String, String)> {
        let name = required(&req.compute_environment_name, "computeEnvironmentName")?.clone();
        check_name(&name, "computeEnvironmentName")?;
        let kind = required(&req.kind, "type")?.clone();
        if !matches!(kind.as_str(), "MANAGED" | "UNMANAGED") {
            return Err(ApiError::client("type must be one of MANAGED | UNMANAGED"));
        }
        let state = state_of(req.state)?;
        if self
            .environments
            .iter()
            .any(|e| e.compute_environment_name == name)
        {
            return Err(ApiError::client(format!(
                "Compute environment {name} already exists"
            )));
        }
        let tags = req.tags.unwrap_or_default();
        check_tags(&tags)?;
        let arn = self.arn("compute-environment", &name);
        self.environments.push(ComputeEnvironment {
            compute_environment_name: name.clone(),
            compute_environment_arn: arn.clone(),
            kind,
            state,
            status: "VALID".into(),
            compute_resources: req.compute_resources,
            service_role: req.service_role,
            tags,
        });
        Ok((name, arn))
    }

    /// `DescribeComputeEnvironments`: by name or ARN, or all; paged.
    pub fn describe_compute_environments(
        &self,
        names: &[String],
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> ApiResult<Page<ComputeEnvironment>> {
        let all: Vec<ComputeEnvironment> = self
            .environments
            .iter()
            .filter(|e| {
                names.is_empty()
                    || names.iter().any(|n| {
                        *n == e.compute_environment_name || *n == e.compute_environment_arn
                    })
            })
            .cloned()
            .collect();
        let size = requests::page_size(max_results, 100)?;
        Ok(page(&all, requests::offset_of(next_token)?, size))
    }

    /// `CreateJobQueue`: its name and ARN.
    pub fn create_job_queue(&mut self, req: CreateJobQueue) -> ApiResult<(String, String)> {
        let name = required(&req.job_queue_name, "jobQueueName")?.clone();
        check_name(&name, "jobQueueName")?;
        let priority = *required(&req.priority, "priority")?;
        let state = state_of(req.state)?;
        if self.queues.iter().any(|q| q.job_queue_name == name) {
            return Err(ApiError::client(format!("Job queue {name} already exists")));
        }
        let order = req.compute_environment_order.unwrap_or_default();
        if order.is_empty() {
            return Err(ApiError::client(
                "At least 1 compute environment must be provided",
            ));
        }
        let mut resolved = Vec::new();
        for o in order {
            let id = required(
                &o.compute_environment,
                "computeEnvironmentOrder[].computeEnvironment",
            )?;
            let env = self
                .environments
                .iter()
                .find(|e| e.compute_environment_name == *id || e.compute_environment_arn == *id)
                .ok_or_else(|| {
                    ApiError::client(format!("Compute environment {id} does not exist"))
                })?;
            resolved.push(ComputeEnvironmentOrder {
                order: Some(*required(&o.order, "computeEnvironmentOrder[].order")?),
                compute_environment: Some(env.compute_environment_arn.clone()),
            });
        }
        let tags = req.tags.unwrap_or_default();
        check_tags(&tags)?;
        let arn = self.arn("job-queue", &name);
        self.queues.push(JobQueue {
            job_queue_name: name.clone(),
            job_queue_arn: arn.clone(),
            state,
            status: "VALID".into(),
            priority,
            compute_environment_order: resolved,
            tags,
        });
        Ok((name, arn))
    }

    /// `DescribeJobQueues`: by name or ARN, or all; paged.
    pub fn describe_job_queues(
        &self,
        names: &[String],
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> ApiResult<Page<JobQueue>> {
        let all: Vec<JobQueue> = self
            .queues
            .iter()
            .filter(|q| {
                names.is_empty()
                    || names
                        .iter()
                        .any(|n| *n == q.job_queue_name || *n == q.job_queue_arn)
            })
            .cloned()
            .collect();
        let size = requests::page_size(max_results, 100)?;
        Ok(page(&all, requests::offset_of(next_token)?, size))
    }

    fn queue(&self, id: &str) -> ApiResult<&JobQueue> {
        self.queues
            .iter()
            .find(|q| q.job_queue_name == id || q.job_queue_arn == id)
            .ok_or_else(|| ApiError::client(format!("Job queue {id} does not exist")))
    }

    // ---- job definitions ----

    /// `RegisterJobDefinition`: name, ARN and revision.
    pub fn register_job_definition(
        &mut self,
        req: RegisterJobDefinition,
    ) -> ApiResult<(String, String, i64)> {
        let name = required(&req.job_definition_name, "jobDefinitionName")?.clone();
        check_name(&name, "jobDefinitionName")?;
        let kind = required(&req.kind, "type")?.clone();
        if kind != "container" {
            return Err(ApiError::client(
                "type must be container (the simulated service runs no multi-node jobs)",
            ));
        }
        let props = req
            .container_properties
            .ok_or_else(|| ApiError::client("containerProperties must be provided"))?;
        if props.image.as_deref().is_none_or(str::is_empty) {
            return Err(ApiError::client("containerProperties must contain image"));
        }
        let has = |t: &str| {
            props
                .resource_requirements
                .iter()
                .flatten()
                .any(|r| r.kind.as_deref() == Some(t))
        };
        if !has("VCPU") && props.vcpus.is_none() {
            return Err(ApiError::client("containerProperties must contain vcpus"));
        }
        if !has("MEMORY") && props.memory.is_none() {
            return Err(ApiError::client("containerProperties must contain memory"));
        }
        check_resources(props.resource_requirements.as_deref().unwrap_or_default())?;
        check_env(props.environment.as_deref().unwrap_or_default())?;
        let attempts = attempts_of(req.retry_strategy.as_ref())?;
        let timeout = timeout_of(req.timeout.as_ref())?;
        let tags = req.tags.unwrap_or_default();
        check_tags(&tags)?;
        let revision = self
            .definitions
            .iter()
            .filter(|d| d.job_definition_name == name)
            .map(|d| d.revision)
            .max()
            .unwrap_or(0)
            + 1;
        let arn = self.arn("job-definition", &format!("{name}:{revision}"));
        self.definitions.push(JobDefinition {
            job_definition_name: name.clone(),
            job_definition_arn: arn.clone(),
            revision,
            status: "ACTIVE".into(),
            kind,
            parameters: req.parameters.unwrap_or_default(),
            retry_strategy: attempts.map(|a| RetryStrategy {
                attempts: Some(i64::from(a)),
            }),
            container_properties: props,
            timeout: timeout.map(|t| JobTimeout {
                attempt_duration_seconds: Some(t),
            }),
            tags,
            propagate_tags: req.propagate_tags.unwrap_or(false),
            platform_capabilities: req
                .platform_capabilities
                .unwrap_or_else(|| vec!["EC2".into()]),
        });
        Ok((name, arn, revision))
    }

    /// `DescribeJobDefinitions`.
    pub fn describe_job_definitions(
        &self,
        req: &DescribeJobDefinitions,
    ) -> ApiResult<Page<JobDefinition>> {
        let wanted = req.job_definitions.clone().unwrap_or_default();
        let all: Vec<JobDefinition> = self
            .definitions
            .iter()
            .filter(|d| {
                wanted.is_empty()
                    || wanted.iter().any(|w| {
                        *w == d.job_definition_arn
                            || *w == format!("{}:{}", d.job_definition_name, d.revision)
                            || *w == d.job_definition_name
                    })
            })
            .filter(|d| {
                req.job_definition_name
                    .as_ref()
                    .is_none_or(|n| *n == d.job_definition_name)
            })
            .filter(|d| req.status.as_ref().is_none_or(|s| *s == d.status))
            .cloned()
            .collect();
        let size = requests::page_size(req.max_results, 100)?;
        Ok(page(
            &all,
            requests::offset_of(req.next_token.as_deref())?,
            size,
        ))
    }

    /// A definition by `name` (latest active revision), `name:revision` or ARN.
    fn definition(&self, id: &str) -> ApiResult<&JobDefinition> {
        let missing = || ApiError::client(format!("Job definition {id} does not exist"));
        if id.starts_with("arn:") {
            return self
                .definitions
                .iter()
                .find(|d| d.job_definition_arn == id)
                .ok_or_else(missing);
        }
        match id.rsplit_once(':') {
            Some((name, rev)) => {
                let rev: i64 = rev.parse().map_err(|_| missing())?;
                self.definitions
                    .iter()
                    .find(|d| d.job_definition_name == name && d.revision == rev)
                    .ok_or_else(missing)
            }
            None => self
                .definitions
                .iter()
                .filter(|d| d.job_definition_name == id && d.status == "ACTIVE")
                .max_by_key(|d| d.revision)
                .ok_or_else(missing),
        }
    }

    // ---- jobs ----

    /// `SubmitJob` at `now`, under the fresh id `id` (a UUID the caller draws).
    pub fn submit_job(
        &mut self,
        req: SubmitJob,
        id: String,
        now: DateTime<Utc>,
    ) -> ApiResult<Submitted> {
        let name = required(&req.job_name, "jobName")?.clone();
        check_name(&name, "jobName")?;
        let queue = self.queue(required(&req.job_queue, "jobQueue")?)?;
        if queue.state != "ENABLED" {
            return Err(ApiError::client(format!(
                "Job queue {} is not ENABLED",
                queue.job_queue_name
            )));
        }
        let queue_arn = queue.job_queue_arn.clone();
        let def = self
            .definition(required(&req.job_definition, "jobDefinition")?)?
            .clone();
        let array_size = match req.array_properties.as_ref().and_then(|a| a.size) {
            None => None,
            Some(n) if (2..=MAX_ARRAY_SIZE).contains(&n) => u32::try_from(n).ok(),
            Some(n) => {
                return Err(ApiError::client(format!(
                    "arrayProperties.size must be between 2 and {MAX_ARRAY_SIZE}, got {n}"
                )));
            }
        };
        if let Some(p) = req.scheduling_priority_override
            && !(0..=9999).contains(&p)
        {
            return Err(ApiError::client(format!(
                "schedulingPriorityOverride must be between 0 and 9999, got {p}"
            )));
        }
        let depends_on = req.depends_on.unwrap_or_default();
        if depends_on.len() > MAX_DEPENDS_ON {
            return Err(ApiError::client(format!(
                "a job can depend on at most {MAX_DEPENDS_ON} jobs"
            )));
        }
        for dep in &depends_on {
            match (dep.job_id.as_deref(), dep.kind.as_deref()) {
                (_, Some(kind)) if !matches!(kind, "N_TO_N" | "SEQUENTIAL") => {
                    return Err(ApiError::client(format!(
                        "dependsOn[].type must be N_TO_N or SEQUENTIAL, got {kind}"
                    )));
                }
                (_, Some(_)) if array_size.is_none() => {
                    return Err(ApiError::client(
                        "dependsOn[].type applies to array jobs only",
                    ));
                }
                (None, Some("SEQUENTIAL")) => {}
                (None, _) => return Err(ApiError::client("dependsOn[].jobId must be provided")),
                (Some(dep_id), kind) => {
                    let (parent, _) = split_child(dep_id);
                    let Some(target) = self.jobs.get(parent) else {
                        return Err(ApiError::client(format!(
                            "Dependent job {dep_id} does not exist"
                        )));
                    };
                    if kind == Some("N_TO_N") && target.array_size != array_size {
                        return Err(ApiError::client(
                            "an N_TO_N dependency must be an array job of the same size",
                        ));
                    }
                }
            }
        }
        let overrides = req.container_overrides.unwrap_or_default();
        let mut environment = def
            .container_properties
            .environment
            .clone()
            .unwrap_or_default();
        for kv in overrides.environment.unwrap_or_default() {
            environment.retain(|e| e.name != kv.name);
            environment.push(kv);
        }
        check_env(&environment)?;
        let mut resources = def
            .container_properties
            .resource_requirements
            .clone()
            .unwrap_or_default();
        for r in overrides.resource_requirements.unwrap_or_default() {
            resources.retain(|e| e.kind != r.kind);
            resources.push(r);
        }
        check_resources(&resources)?;
        let (run, exit_code) = run_of(&environment)?;
        let attempts = match attempts_of(req.retry_strategy.as_ref())? {
            Some(a) => a,
            None => attempts_of(def.retry_strategy.as_ref())?.unwrap_or(1),
        };
        let timeout_secs = match timeout_of(req.timeout.as_ref())? {
            Some(t) => Some(t),
            None => timeout_of(def.timeout.as_ref())?,
        };
        let mut tags = req.tags.unwrap_or_default();
        let propagate_tags = req.propagate_tags.unwrap_or(def.propagate_tags);
        check_tags(&tags)?;
        if propagate_tags {
            for (k, v) in &def.tags {
                tags.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        let mut parameters = def.parameters.clone();
        parameters.extend(req.parameters.unwrap_or_default());
        if self.jobs.contains_key(&id) {
            return Err(ApiError::server("job id collision; try again"));
        }
        self.seq += 1;
        let arn = self.arn("job", &id);
        let container = Container {
            image: def.container_properties.image.clone().unwrap_or_default(),
            command: overrides
                .command
                .or_else(|| def.container_properties.command.clone())
                .unwrap_or_default(),
            environment,
            resource_requirements: resources,
            vcpus: overrides.vcpus.or(def.container_properties.vcpus),
            memory: overrides.memory.or(def.container_properties.memory),
            job_role_arn: def.container_properties.job_role_arn.clone(),
        };
        let job = Job {
            id: id.clone(),
            arn: arn.clone(),
            name: name.clone(),
            queue_arn,
            definition_arn: def.job_definition_arn.clone(),
            seq: self.seq,
            created: now,
            array_size,
            container,
            attempts,
            timeout_secs,
            depends_on,
            parameters,
            propagate_tags,
            priority: req.scheduling_priority_override,
            run,
            exit_code,
            stops: Vec::new(),
        };
        self.job_tags.insert(id.clone(), tags);
        self.jobs.insert(id.clone(), job);
        self.order.push(id.clone());
        Ok(Submitted {
            job_arn: arn,
            job_name: name,
            job_id: id,
        })
    }

    /// Every unit plan of `id` and of the jobs it depends on, computed once each, in
    /// submission order (dependencies are always submitted first, so no stack grows with a
    /// chain's length).
    fn plans(&self, id: &str) -> HashMap<String, Vec<Plan>> {
        let mut needed: Vec<&Job> = Vec::new();
        let mut stack = vec![id];
        let mut seen = std::collections::HashSet::new();
        while let Some(next) = stack.pop() {
            if !seen.insert(next) {
                continue;
            }
            if let Some(job) = self.jobs.get(next) {
                needed.push(job);
                for dep in &job.depends_on {
                    if let Some(d) = dep.job_id.as_deref() {
                        stack.push(split_child(d).0);
                    }
                }
            }
        }
        needed.sort_by_key(|j| j.seq);
        let mut plans: HashMap<String, Vec<Plan>> = HashMap::new();
        for job in needed {
            let mut own: Vec<Plan> = Vec::new();
            for (i, child) in job.units().into_iter().enumerate() {
                let mut gate: Gate = None;
                for dep in &job.depends_on {
                    let g = match (dep.job_id.as_deref(), dep.kind.as_deref()) {
                        (None, _) | (_, Some("SEQUENTIAL")) => {
                            // The previous child of this array job.
                            match i.checked_sub(1).and_then(|p| own.get(p)) {
                                Some(prev) => {
                                    let (at, s) = prev.end();
                                    Some((at, s == Status::Succeeded))
                                }
                                None => None,
                            }
                        }
                        (Some(d), Some("N_TO_N")) => plans
                            .get(split_child(d).0)
                            .and_then(|ps| ps.get(i))
                            .map(|p| {
                                let (at, s) = p.end();
                                (at, s == Status::Succeeded)
                            }),
                        (Some(d), _) => finish_of(&plans, d),
                    };
                    gate = join(gate, g);
                }
                own.push(job.plan_unit(child, gate));
            }
            plans.insert(job.id.clone(), own);
        }
        plans
    }

    /// `DescribeJobs` at `now`: the jobs found, in the order asked; unknown ids are left out,
    /// as AWS does.
    pub fn describe_jobs(&self, ids: &[String], now: DateTime<Utc>) -> ApiResult<Vec<JobDetail>> {
        if ids.is_empty() || ids.len() > MAX_DESCRIBE {
            return Err(ApiError::client(format!(
                "jobs must list 1 to {MAX_DESCRIBE} job ids, got {}",
                ids.len()
            )));
        }
        let mut out = Vec::new();
        for id in ids {
            if let Some(d) = self.detail(id, now) {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// One job or child as `DescribeJobs` shows it at `now`.
    pub fn detail(&self, id: &str, now: DateTime<Utc>) -> Option<JobDetail> {
        let (parent, child) = split_child(id);
        let job = self.jobs.get(parent)?;
        if job.created > now {
            return None;
        }
        let plans = self.plans(parent);
        let own = plans.get(parent)?;
        match (child, job.array_size) {
            (None, None) => Some(self.unit_detail(job, None, own.first()?, now)),
            (None, Some(size)) => Some(self.parent_detail(job, size, own, now)),
            (Some(index), Some(_)) => {
                let i: u32 = index.parse().ok()?;
                let plan = own.get(usize::try_from(i).ok()?)?;
                Some(self.unit_detail(job, Some(i), plan, now))
            }
            (Some(_), None) => None,
        }
    }

    /// Every child of array job `parent` as `DescribeJobs` shows it at `now`, in index order,
    /// from one computation of the plans (`None` for an unknown or plain job).
    pub fn children(&self, parent: &str, now: DateTime<Utc>) -> Option<Vec<JobDetail>> {
        let job = self.jobs.get(parent).filter(|j| j.created <= now)?;
        job.array_size?;
        let plans = self.plans(parent);
        let own = plans.get(parent)?;
        Some(
            (0u32..)
                .zip(own)
                .map(|(i, plan)| self.unit_detail(job, Some(i), plan, now))
                .collect(),
        )
    }

    /// A job's tags, read without computing its state.
    pub fn tags(&self, id: &str) -> Option<&BTreeMap<String, String>> {
        self.job_tags.get(id)
    }

    fn unit_detail(
        &self,
        job: &Job,
        child: Option<u32>,
        plan: &Plan,
        now: DateTime<Utc>,
    ) -> JobDetail {
        let status = plan.status_at(now);
        let (end, _) = plan.end();
        let log = |n: usize| {
            let def_name = job
                .definition_arn
                .rsplit('/')
                .next()
                .and_then(|d| d.split(':').next())
                .unwrap_or("job");
            let task = task_id(&job.id, child, n);
            (
                format!("{def_name}/default/{task}"),
                format!("arn:aws:ecs:{}:{}:task/{task}", self.region, self.account),
            )
        };
        let attempts: Vec<AttemptDetail> = plan
            .attempts
            .iter()
            .enumerate()
            .filter(|(_, a)| a.stopped <= now)
            .map(|(n, a)| {
                let (log_stream_name, task_arn) = log(n);
                AttemptDetail {
                    container: AttemptContainer {
                        exit_code: a.exit_code,
                        reason: a.reason.clone(),
                        log_stream_name,
                        task_arn,
                    },
                    started_at: millis(a.running),
                    stopped_at: millis(a.stopped),
                    status_reason: CONTAINER_EXITED.into(),
                }
            })
            .collect();
        let current = plan
            .attempts
            .iter()
            .enumerate()
            .rfind(|(_, a)| a.starting <= now);
        let mut container = self.container_detail(job);
        if let Some((n, a)) = current {
            let (stream, task) = log(n);
            container.log_stream_name = Some(stream);
            container.task_arn = Some(task);
            if a.stopped <= now {
                container.exit_code = a.exit_code;
                container.reason = a.reason.clone();
            }
        }
        let stopped = plan.stopped.filter(|(at, _)| *at <= now);
        let (id, arn) = match child {
            Some(i) => (format!("{}:{i}", job.id), format!("{}:{i}", job.arn)),
            None => (job.id.clone(), job.arn.clone()),
        };
        JobDetail {
            job_arn: arn,
            job_name: job.name.clone(),
            job_id: id,
            job_queue: job.queue_arn.clone(),
            status,
            scheduling_priority: job.priority,
            status_reason: (status.is_final() || stopped.is_some()).then(|| plan.reason.clone()),
            attempts,
            created_at: millis(job.created),
            retry_strategy: Some(RetryStrategy {
                attempts: Some(i64::from(job.attempts)),
            }),
            started_at: current
                .filter(|(_, a)| a.running <= now)
                .map(|(_, a)| millis(a.running)),
            stopped_at: status.is_final().then(|| millis(end)),
            depends_on: job.depends_on.clone(),
            job_definition: job.definition_arn.clone(),
            parameters: job.parameters.clone(),
            container,
            array_properties: child.map(|i| ArrayPropertiesDetail {
                status_summary: None,
                size: None,
                index: Some(i64::from(i)),
            }),
            timeout: job.timeout_secs.map(|t| JobTimeout {
                attempt_duration_seconds: Some(t),
            }),
            tags: self.job_tags.get(&job.id).cloned().unwrap_or_default(),
            propagate_tags: job.propagate_tags,
            platform_capabilities: vec!["EC2".into()],
            is_cancelled: stopped.is_some_and(|(_, k)| k == StopKind::Cancel),
            is_terminated: stopped.is_some_and(|(_, k)| k == StopKind::Terminate),
        }
    }

    fn parent_detail(&self, job: &Job, size: u32, own: &[Plan], now: DateTime<Utc>) -> JobDetail {
        let mut summary: BTreeMap<String, i64> = Status::ALL
            .iter()
            .map(|s| (s.as_str().to_string(), 0))
            .collect();
        let mut all_final = true;
        let mut any_failed = false;
        let mut end = job.created;
        let mut started: Option<DateTime<Utc>> = None;
        for plan in own {
            let s = plan.status_at(now);
            *summary.entry(s.as_str().to_string()).or_insert(0) += 1;
            all_final &= s.is_final();
            any_failed |= s == Status::Failed;
            end = end.max(plan.end().0);
            if let Some(r) = plan
                .attempts
                .first()
                .map(|a| a.running)
                .filter(|r| *r <= now)
            {
                started = Some(started.map_or(r, |s| s.min(r)));
            }
        }
        let status = if all_final {
            if any_failed {
                Status::Failed
            } else {
                Status::Succeeded
            }
        } else if now < after(job.created, secs(1)) {
            Status::Submitted
        } else {
            Status::Pending
        };
        let stop = job
            .stops
            .iter()
            .find(|s| s.child.is_none() && s.at <= now)
            .filter(|_| own.iter().any(|p| p.stopped.is_some()));
        let mut container = self.container_detail(job);
        container.log_stream_name = None;
        JobDetail {
            job_arn: job.arn.clone(),
            job_name: job.name.clone(),
            job_id: job.id.clone(),
            job_queue: job.queue_arn.clone(),
            status,
            scheduling_priority: job.priority,
            status_reason: stop.map(|s| s.reason.clone()),
            attempts: Vec::new(),
            created_at: millis(job.created),
            retry_strategy: Some(RetryStrategy {
                attempts: Some(i64::from(job.attempts)),
            }),
            started_at: started.map(millis),
            stopped_at: all_final.then(|| millis(end)),
            depends_on: job.depends_on.clone(),
            job_definition: job.definition_arn.clone(),
            parameters: job.parameters.clone(),
            container,
            array_properties: Some(ArrayPropertiesDetail {
                status_summary: Some(summary),
                size: Some(i64::from(size)),
                index: None,
            }),
            timeout: job.timeout_secs.map(|t| JobTimeout {
                attempt_duration_seconds: Some(t),
            }),
            tags: self.job_tags.get(&job.id).cloned().unwrap_or_default(),
            propagate_tags: job.propagate_tags,
            platform_capabilities: vec!["EC2".into()],
            is_cancelled: stop.is_some_and(|s| s.kind == StopKind::Cancel),
            is_terminated: stop.is_some_and(|s| s.kind == StopKind::Terminate),
        }
    }

    fn container_detail(&self, job: &Job) -> ContainerDetail {
        let c = &job.container;
        ContainerDetail {
            image: c.image.clone(),
            command: c.command.clone(),
            environment: c.environment.clone(),
            resource_requirements: c.resource_requirements.clone(),
            vcpus: c.vcpus,
            memory: c.memory,
            job_role_arn: c.job_role_arn.clone(),
            exit_code: None,
            reason: None,
            log_stream_name: None,
            task_arn: None,
        }
    }

    /// `ListJobs` at `now`.
    pub fn list_jobs(&self, req: &ListJobs, now: DateTime<Utc>) -> ApiResult<Page<JobSummary>> {
        if req.multi_node_job_id.is_some() {
            return Ok(Page {
                items: Vec::new(),
                next_token: None,
            });
        }
        let filters = req.filters.clone().unwrap_or_default();
        if filters.len() > 1 {
            return Err(ApiError::client("Only one filter can be used at a time"));
        }
        let filter = filters.first();
        let status = match (&req.job_status, filter) {
            (_, Some(_)) => None,
            (None, None) => Some(Status::Running),
            (Some(s), None) => Some(
                Status::parse(s)
                    .ok_or_else(|| ApiError::client(format!("jobStatus {s} is not a status")))?,
            ),
        };
        let size = requests::page_size(req.max_results, if filter.is_some() { 100 } else { 1000 })?;
        let offset = requests::offset_of(req.next_token.as_deref())?;
        // Read lazily, newest first, and only as far as the page and one more (which says
        // whether a next page exists): a first page costs its own jobs, not the queue's.
        let details: Box<dyn Iterator<Item = JobDetail> + '_> =
            match (&req.array_job_id, &req.job_queue) {
                (Some(parent), _) => {
                    let job = self
                        .jobs
                        .get(parent.as_str())
                        .ok_or_else(|| ApiError::client(format!("Job {parent} does not exist")))?;
                    if job.array_size.is_none() {
                        return Err(ApiError::client(format!(
                            "Job {parent} is not an array job"
                        )));
                    }
                    Box::new(self.children(parent, now).unwrap_or_default().into_iter())
                }
                (None, Some(queue)) => {
                    let arn = self.queue(queue)?.job_queue_arn.clone();
                    Box::new(
                        self.order
                            .iter()
                            .rev()
                            .filter_map(|id| self.jobs.get(id))
                            .filter(move |j| j.queue_arn == arn && j.created <= now)
                            .filter_map(move |j| self.detail(&j.id, now)),
                    )
                }
                (None, None) => {
                    return Err(ApiError::client(
                        "one of jobQueue, arrayJobId or multiNodeJobId must be provided",
                    ));
                }
            };
        let keep = |d: &JobDetail| -> ApiResult<bool> {
            if let Some(s) = status
                && d.status != s
            {
                return Ok(false);
            }
            let Some(f) = filter else { return Ok(true) };
            let values = f.values.clone().unwrap_or_default();
            let name = f.name.as_deref().unwrap_or("");
            let glob = |v: &str, s: &str| match v.strip_suffix('*') {
                Some(prefix) => s.starts_with(prefix),
                None => v == s,
            };
            Ok(match name {
                "JOB_NAME" => values.iter().any(|v| glob(v, &d.job_name)),
                "JOB_DEFINITION" => values.iter().any(|v| {
                    glob(v, &d.job_definition)
                        || d.job_definition
                            .rsplit('/')
                            .next()
                            .is_some_and(|nr| glob(v, nr) || nr.split(':').next() == Some(v))
                }),
                "BEFORE_CREATED_AT" | "AFTER_CREATED_AT" => {
                    let at: i64 = values.first().and_then(|v| v.parse().ok()).ok_or_else(|| {
                        ApiError::client(format!("{name} takes epoch milliseconds"))
                    })?;
                    if name == "BEFORE_CREATED_AT" {
                        d.created_at < at
                    } else {
                        d.created_at > at
                    }
                }
                other => {
                    return Err(ApiError::client(format!(
                        "filter name must be JOB_NAME, JOB_DEFINITION, BEFORE_CREATED_AT or \
                         AFTER_CREATED_AT, got {other:?}"
                    )));
                }
            })
        };
        let end = offset.saturating_add(size);
        let mut items = Vec::new();
        let mut kept = 0usize;
        let mut more = false;
        for d in details {
            if !keep(&d)? {
                continue;
            }
            if kept >= end {
                more = true;
                break;
            }
            if kept >= offset {
                items.push(JobSummary::from(&d));
            }
            kept += 1;
        }
        Ok(Page {
            items,
            next_token: more.then(|| requests::token_of(end)),
        })
    }

    /// `TerminateJob` at `now`. Acts in every state; a job already finished is left as it is.
    pub fn terminate_job(
        &mut self,
        id: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> ApiResult<()> {
        self.stop(id, reason, now, StopKind::Terminate)
    }

    /// `CancelJob` at `now`: acts before `STARTING`; succeeds without effect after.
    pub fn cancel_job(
        &mut self,
        id: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> ApiResult<()> {
        self.stop(id, reason, now, StopKind::Cancel)
    }

    fn stop(
        &mut self,
        id: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
        kind: StopKind,
    ) -> ApiResult<()> {
        let reason = reason
            .filter(|r| !r.is_empty())
            .ok_or_else(|| ApiError::client("reason must be provided"))?;
        let (parent, child) = split_child(id);
        let missing = || ApiError::client(format!("Job {id} does not exist"));
        let job = self.jobs.get_mut(parent).ok_or_else(missing)?;
        let child = match (child, job.array_size) {
            (None, _) => None,
            (Some(i), Some(size)) => match i.parse::<u32>() {
                Ok(i) if i < size => Some(i),
                _ => return Err(missing()),
            },
            (Some(_), None) => return Err(missing()),
        };
        if job.stops.len() < MAX_STOPS {
            job.stops.push(Stop {
                child,
                at: now,
                kind,
                reason: reason.to_string(),
            });
        }
        Ok(())
    }

    // ---- tags ----

    /// `TagResource`: merges `tags` into the resource's.
    pub fn tag_resource(&mut self, arn: &str, tags: BTreeMap<String, String>) -> ApiResult<()> {
        let target = self.tags_mut(arn)?;
        let mut merged = target.clone();
        merged.extend(tags);
        check_tags(&merged)?;
        *target = merged;
        Ok(())
    }

    /// `ListTagsForResource`.
    pub fn list_tags(&mut self, arn: &str) -> ApiResult<BTreeMap<String, String>> {
        Ok(self.tags_mut(arn)?.clone())
    }

    fn tags_mut(&mut self, arn: &str) -> ApiResult<&mut BTreeMap<String, String>> {
        let missing = || ApiError::client(format!("Resource {arn} not found"));
        let prefix = format!("arn:aws:batch:{}:{}:", self.region, self.account);
        let rest = arn.strip_prefix(&prefix).ok_or_else(missing)?;
        let (kind, name) = rest.split_once('/').ok_or_else(missing)?;
        match kind {
            "job" => self.job_tags.get_mut(name).ok_or_else(missing),
            "job-queue" => self
                .queues
                .iter_mut()
                .find(|q| q.job_queue_arn == arn)
                .map(|q| &mut q.tags)
                .ok_or_else(missing),
            "compute-environment" => self
                .environments
                .iter_mut()
                .find(|e| e.compute_environment_arn == arn)
                .map(|e| &mut e.tags)
                .ok_or_else(missing),
            "job-definition" => self
                .definitions
                .iter_mut()
                .find(|d| d.job_definition_arn == arn)
                .map(|d| &mut d.tags)
                .ok_or_else(missing),
            _ => Err(missing()),
        }
    }

    /// Every job id, in submission order (the in-memory flavour lists through it).
    pub fn job_ids(&self) -> impl Iterator<Item = &str> {
        self.order.iter().map(String::as_str)
    }

    /// A job by id.
    pub fn job(&self, id: &str) -> Option<&Job> {
        self.jobs.get(id)
    }
}

/// When dependency `id` (a job, or `parent:index`) finishes and whether it succeeded.
fn finish_of(plans: &HashMap<String, Vec<Plan>>, id: &str) -> Gate {
    let (parent, child) = split_child(id);
    let own = plans.get(parent)?;
    match child {
        Some(i) => {
            let p = own.get(i.parse::<usize>().ok()?)?;
            let (at, s) = p.end();
            Some((at, s == Status::Succeeded))
        }
        None => own.iter().fold(None, |g, p| {
            let (at, s) = p.end();
            join(g, Some((at, s == Status::Succeeded)))
        }),
    }
}

fn state_of(state: Option<String>) -> ApiResult<String> {
    let s = state.unwrap_or_else(|| "ENABLED".into());
    if matches!(s.as_str(), "ENABLED" | "DISABLED") {
        Ok(s)
    } else {
        Err(ApiError::client(format!(
            "state {s} must be one of ENABLED | DISABLED"
        )))
    }
}

fn attempts_of(r: Option<&RetryStrategy>) -> ApiResult<Option<u32>> {
    match r.and_then(|r| r.attempts) {
        None => Ok(None),
        Some(n) if (1..=10).contains(&n) => Ok(u32::try_from(n).ok()),
        Some(n) => Err(ApiError::client(format!(
            "retryStrategy.attempts must be between 1 and 10, got {n}"
        ))),
    }
}

fn timeout_of(t: Option<&JobTimeout>) -> ApiResult<Option<i64>> {
    match t.and_then(|t| t.attempt_duration_seconds) {
        None => Ok(None),
        Some(n) if n >= 60 => Ok(Some(n)),
        Some(n) => Err(ApiError::client(format!(
            "timeout.attemptDurationSeconds must be at least 60, got {n}"
        ))),
    }
}

fn check_env(env: &[KeyValuePair]) -> ApiResult<()> {
    for kv in env {
        if kv.name.as_deref().is_none_or(str::is_empty) {
            return Err(ApiError::client("environment[].name must be provided"));
        }
        if kv
            .name
            .as_deref()
            .is_some_and(|n| n.starts_with("AWS_BATCH"))
        {
            return Err(ApiError::client(
                "environment variables starting with AWS_BATCH are reserved",
            ));
        }
    }
    Ok(())
}

fn check_resources(resources: &[ResourceRequirement]) -> ApiResult<()> {
    for r in resources {
        let kind = r.kind.as_deref().unwrap_or("");
        let value = r.value.as_deref().unwrap_or("");
        let ok = match kind {
            "VCPU" => value.parse::<f64>().is_ok_and(|v| v > 0.0 && v.is_finite()),
            "MEMORY" => value.parse::<u64>().is_ok_and(|v| v >= 4),
            "GPU" => value.parse::<u64>().is_ok_and(|v| v >= 1),
            _ => {
                return Err(ApiError::client(format!(
                    "resourceRequirements[].type must be VCPU, MEMORY or GPU, got {kind:?}"
                )));
            }
        };
        if !ok {
            return Err(ApiError::client(format!(
                "resourceRequirements {kind} value {value:?} is not valid"
            )));
        }
    }
    Ok(())
}

/// How long each attempt runs and how it exits, from the container's environment.
fn run_of(env: &[KeyValuePair]) -> ApiResult<(Duration, i64)> {
    let mut run = DEFAULT_RUN_SECONDS;
    let mut exit = 0;
    for kv in env {
        let value = kv.value.as_deref().unwrap_or("").trim();
        match kv.name.as_deref() {
            Some(EXIT_CODE_VAR) => {
                exit = value
                    .parse()
                    .map_err(|_| ApiError::client(format!("{EXIT_CODE_VAR} must be an integer")))?;
            }
            Some(RUN_SECONDS_VAR) => {
                run = value
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && (0.0..=1e7).contains(s))
                    .ok_or_else(|| {
                        ApiError::client(format!(
                            "{RUN_SECONDS_VAR} must be a number of seconds between 0 and 1e7"
                        ))
                    })?;
            }
            _ => {}
        }
    }
    // Bounded above, so whole milliseconds cannot overflow.
    #[allow(clippy::cast_possible_truncation)]
    let ms = (run * 1000.0).round() as i64;
    Ok((Duration::milliseconds(ms), exit))
}

/// The ECS task id of one attempt: 32 hex digits, stable for (job, child, attempt).
fn task_id(job: &str, child: Option<u32>, attempt: usize) -> String {
    // FNV-1a, twice with different seeds: stable across runs, no dependency.
    let fnv = |seed: u64| {
        let mut h = seed;
        for b in job
            .bytes()
            .chain(child.unwrap_or(u32::MAX).to_le_bytes())
            .chain(attempt.to_le_bytes())
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    };
    format!(
        "{:016x}{:016x}",
        fnv(0xcbf2_9ce4_8422_2325),
        fnv(0x84222325_cbf29ce4)
    )
}

#[cfg(test)]
mod tests;
