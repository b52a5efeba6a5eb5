//! The neutral job model: what [`crate::BatchBackend::submit_job`] takes and
//! [`crate::BatchBackend::export_job`]-style readers give back.
//!
//! A [`JobSpec`] says what to run and where, in terms every provider can read. What a provider
//! cannot express is refused before any request by [`crate::SubmitCapabilities::check`],
//! naming the field; nothing is dropped silently. What has no neutral form travels in the
//! explicit per-provider [`JobSpec::extensions`] slot.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorContext, Operation};
use crate::id::TaskId;

/// The longest idempotency key: Tencent's `ClientToken` limit, the tightest of the providers.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 64;

/// The label key under which backends without a native token record a job's idempotency key
/// (Azure job metadata, Tencent tags). Callers cannot set it themselves.
pub const IDEMPOTENCY_LABEL: &str = "polybatch-idempotency-key";

/// The label key under which a backend records which submit call created a job (a random
/// nonce per call), so that a call that finds its own job after a lost answer still reports
/// it created (Azure job metadata). Callers cannot set it themselves.
pub const SUBMIT_LABEL: &str = "polybatch-submit";

/// The label keys polybatch keeps for itself; status labels never show them.
pub const RESERVED_LABELS: [&str; 2] = [IDEMPOTENCY_LABEL, SUBMIT_LABEL];

/// A key that makes a submit safe to repeat: two submits with the same key create one job.
///
/// 1 to 64 printable ASCII characters (no spaces), so that it fits every provider's token.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Validates a caller's key.
    pub fn new(value: impl Into<String>) -> Result<Self, Error> {
        let value = value.into();
        let rule = if value.is_empty() {
            Some("must not be empty".to_string())
        } else if value.len() > MAX_IDEMPOTENCY_KEY_LEN {
            Some(format!(
                "must be at most {MAX_IDEMPOTENCY_KEY_LEN} characters (got {})",
                value.len()
            ))
        } else {
            value
                .chars()
                .find(|c| !c.is_ascii_graphic())
                .map(|c| format!("may contain only printable ASCII without spaces (found {c:?})"))
        };
        match rule {
            Some(rule) => Err(Error::invalid_input(
                "idempotency_key",
                rule,
                ErrorContext::new("polybatch", Operation::SubmitJob),
            )),
            None => Ok(IdempotencyKey(value)),
        }
    }

    /// A fresh random key (a UUID v4 in hex, 32 characters).
    pub fn generate() -> Self {
        IdempotencyKey(format!("{:032x}", rand::random::<u128>()))
    }

    /// `PREFIX-` and 16 hex digits of the digest of `of`: a stable key derived from something
    /// else (valid for any `prefix` of at most 47 printable ASCII characters).
    pub(crate) fn derived(prefix: &'static str, of: &str) -> Self {
        IdempotencyKey(format!("{prefix}-{:016x}", stable_digest(of)))
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        IdempotencyKey::new(s)
    }
}

impl From<IdempotencyKey> for String {
    fn from(k: IdempotencyKey) -> String {
        k.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({:?})", self.0)
    }
}

/// FNV-1a, 64 bits: the same digest of `s` in every process and release, for ids derived from
/// keys (an Azure job id, a migration's key).
pub(crate) fn stable_digest(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Where a job runs. Each provider accepts its own kinds; the others are refused as
/// `Unsupported` naming `placement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Placement {
    /// An existing Azure Batch pool.
    AzurePool {
        /// The pool id.
        pool_id: String,
    },
    /// An existing Tencent compute environment (`EnvId`).
    TencentEnvironment {
        /// The availability zone (`Placement.Zone`).
        zone: String,
        /// The compute environment id.
        env_id: String,
    },
    /// A Tencent managed environment created for the job (`ComputeEnv` with
    /// `EnvType: MANAGED`).
    TencentManaged {
        /// The availability zone (`Placement.Zone`).
        zone: String,
        /// The CVM instance type, for example `S5.MEDIUM2`.
        instance_type: String,
        /// The CVM image id, for example `img-xxxxxxxx`.
        image_id: String,
    },
    /// An AWS Batch job queue and the job definition the job's containers start from
    /// (name, `name:revision` or ARN); the spec's command, image-independent settings and
    /// resources become container overrides.
    AwsJobQueue {
        /// The job queue (name or ARN).
        job_queue: String,
        /// The job definition (name, `name:revision` or ARN).
        job_definition: String,
    },
}

impl Placement {
    /// The first field that is empty or only whitespace, if any: every field names something
    /// that must exist at the provider.
    pub fn blank_field(&self) -> Option<&'static str> {
        let fields: &[(&'static str, &str)] = match self {
            Placement::AzurePool { pool_id } => &[("pool_id", pool_id)],
            Placement::TencentEnvironment { zone, env_id } => &[("zone", zone), ("env_id", env_id)],
            Placement::TencentManaged {
                zone,
                instance_type,
                image_id,
            } => &[
                ("zone", zone),
                ("instance_type", instance_type),
                ("image_id", image_id),
            ],
            Placement::AwsJobQueue {
                job_queue,
                job_definition,
            } => &[("job_queue", job_queue), ("job_definition", job_definition)],
        };
        fields
            .iter()
            .find(|(_, v)| v.trim().is_empty())
            .map(|(name, _)| *name)
    }

    /// The kind's name, as written in spec files and mapping tables.
    pub fn kind(&self) -> &'static str {
        match self {
            Placement::AzurePool { .. } => "azure_pool",
            Placement::TencentEnvironment { .. } => "tencent_environment",
            Placement::TencentManaged { .. } => "tencent_managed",
            Placement::AwsJobQueue { .. } => "aws_job_queue",
        }
    }
}

/// What a task runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Command {
    /// A program and its arguments, run without a shell.
    Argv(Vec<String>),
    /// A line for `/bin/sh -c`.
    Shell(String),
}

/// What a task asks of the machine it runs on. `None` asks nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Resources {
    /// Virtual CPUs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vcpus: Option<f64>,
    /// Memory in MiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<u64>,
    /// GPUs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpus: Option<u32>,
}

impl Resources {
    /// Whether nothing is asked.
    pub fn is_empty(&self) -> bool {
        self.vcpus.is_none() && self.memory_mib.is_none() && self.gpus.is_none()
    }
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

fn one() -> u32 {
    1
}

/// One task of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TaskSpec {
    /// The task's name, unique in the job (Azure task id, Tencent `TaskName`).
    pub name: TaskId,
    /// What it runs.
    pub command: Command,
    /// A container image to run the command in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// What it asks of the machine.
    #[serde(default, skip_serializing_if = "Resources::is_empty")]
    pub resources: Resources,
    /// How many identical instances run (Tencent `TaskInstanceNum`).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub instance_count: u32,
    /// How many times a failed run is retried; `None` is the provider's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    /// The longest a run may take, wall clock, in whole seconds; `None` is the provider's
    /// default.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "duration_secs"
    )]
    pub timeout: Option<Duration>,
    /// Tasks of the same job that must succeed before this one starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<TaskId>,
}

impl TaskSpec {
    /// A task running `command`, with every other field at its default.
    pub fn new(name: TaskId, command: Command) -> Self {
        TaskSpec {
            name,
            command,
            image: None,
            env: BTreeMap::new(),
            resources: Resources::default(),
            instance_count: 1,
            max_retries: None,
            timeout: None,
            depends_on: Vec::new(),
        }
    }

    /// A task running a shell line.
    pub fn shell(name: TaskId, line: impl Into<String>) -> Self {
        TaskSpec::new(name, Command::Shell(line.into()))
    }

    /// Sets an environment variable.
    pub fn with_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(name.into(), value.into());
        self
    }

    /// Sets the container image.
    pub fn with_image(mut self, image: impl Into<String>) -> Self {
        self.image = Some(image.into());
        self
    }

    /// Sets the retry limit.
    pub fn with_max_retries(mut self, n: u32) -> Self {
        self.max_retries = Some(n);
        self
    }

    /// Sets the wall-clock timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the instance count.
    pub fn with_instance_count(mut self, n: u32) -> Self {
        self.instance_count = n;
        self
    }

    /// Adds a prerequisite task.
    pub fn with_dependency(mut self, task: TaskId) -> Self {
        self.depends_on.push(task);
        self
    }

    /// Sets the resource request.
    pub fn with_resources(mut self, resources: Resources) -> Self {
        self.resources = resources;
        self
    }
}

/// A job to submit: what to run, where, and how to find it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct JobSpec {
    /// A display name; several jobs may share one.
    pub name: String,
    /// Makes the submit safe to repeat; generated at submit when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<IdempotencyKey>,
    /// Labels to find the job by (Azure metadata, Tencent tags).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Scheduling priority; the range each provider accepts is in its capabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// Where it runs.
    pub placement: Placement,
    /// Its tasks, at least one.
    pub tasks: Vec<TaskSpec>,
    /// Provider parameters with no neutral form, by backend name (`"azure"`, `"tencent"`):
    /// each a JSON object merged into that provider's job request. A submit to another
    /// provider refuses them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, serde_json::Value>,
}

impl JobSpec {
    /// A job with one or more tasks at `placement`.
    pub fn new(name: impl Into<String>, placement: Placement, tasks: Vec<TaskSpec>) -> Self {
        JobSpec {
            name: name.into(),
            idempotency_key: None,
            labels: BTreeMap::new(),
            priority: None,
            placement,
            tasks,
            extensions: BTreeMap::new(),
        }
    }

    /// Sets a label.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Sets the idempotency key.
    pub fn with_idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.idempotency_key = Some(key);
        self
    }

    /// Sets the priority.
    pub fn with_priority(mut self, priority: i32) -> Self {
        self.priority = Some(priority);
        self
    }

    /// The task named `name`.
    pub fn task(&self, name: &TaskId) -> Option<&TaskSpec> {
        self.tasks.iter().find(|t| &t.name == name)
    }
}

/// What [`crate::BatchBackend::export_job`] returns: a spec the job could be submitted
/// with again (on the same provider, or, through `polybatch migrate`, another), and what
/// could not be put in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExportedJob {
    /// The job as a spec. Job-level provider fields with no neutral form are in its
    /// `extensions` under the provider's name (a resubmit to that provider carries them).
    pub spec: JobSpec,
    /// Provider fields of the job or its tasks that the spec does not carry at all
    /// (task-level provider fields: the extension slot is per job), by path, for example
    /// `tasks[render].resourceFiles`.
    pub dropped: Vec<String>,
}

impl ExportedJob {
    /// An export of `spec`, with the provider fields it could not carry (`dropped`).
    pub fn new(spec: JobSpec, dropped: Vec<String>) -> Self {
        ExportedJob { spec, dropped }
    }

    /// Every field that would not travel to another provider: the extension fields and the
    /// dropped ones.
    pub fn unportable(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .spec
            .extensions
            .iter()
            .flat_map(|(provider, ext)| {
                ext.as_object()
                    .into_iter()
                    .flat_map(|o| o.keys())
                    .map(move |k| format!("extensions.{provider}.{k}"))
            })
            .collect();
        out.extend(self.dropped.iter().cloned());
        out
    }
}

/// `Option<Duration>` as whole seconds, as spec files write it.
mod duration_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_u64(d.as_secs()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> JobSpec {
        JobSpec::new(
            "nightly",
            Placement::AzurePool {
                pool_id: "p".into(),
            },
            vec![
                TaskSpec::shell(TaskId::new("a").unwrap(), "echo a")
                    .with_timeout(Duration::from_secs(60)),
                TaskSpec::new(
                    TaskId::new("b").unwrap(),
                    Command::Argv(vec!["echo".into(), "b".into()]),
                )
                .with_dependency(TaskId::new("a").unwrap()),
            ],
        )
        .with_label("team", "render")
    }

    #[test]
    fn json_round_trips_and_omits_defaults() {
        let s = spec();
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["placement"]["kind"], "azure_pool");
        assert_eq!(json["tasks"][0]["timeout"], 60);
        assert!(json["tasks"][0].get("instance_count").is_none());
        assert_eq!(json["tasks"][1]["command"]["argv"][0], "echo");
        let back: JobSpec = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn unknown_fields_and_bad_names_are_refused() {
        let mut json = serde_json::to_value(spec()).unwrap();
        json["colour"] = "blue".into();
        assert!(serde_json::from_value::<JobSpec>(json).is_err());
        let mut json = serde_json::to_value(spec()).unwrap();
        json["tasks"][0]["name"] = "has space".into();
        assert!(serde_json::from_value::<JobSpec>(json).is_err());
    }

    #[test]
    fn idempotency_keys_fit_every_provider() {
        assert!(IdempotencyKey::new("").is_err());
        assert!(IdempotencyKey::new("a b").is_err());
        assert!(IdempotencyKey::new("x".repeat(65)).is_err());
        assert!(IdempotencyKey::new("x".repeat(64)).is_ok());
        let (a, b) = (IdempotencyKey::generate(), IdempotencyKey::generate());
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(IdempotencyKey::new(a.as_str()).is_ok());
    }
}
