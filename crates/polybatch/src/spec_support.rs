//! Which [`JobSpec`] fields a backend can express, and the one check that refuses the rest
//! before any request, naming the field.
//!
//! The trait's `submit_job` runs [`SubmitCapabilities::check`] for every backend, outermost;
//! `polybatch migrate --dry-run` runs [`SubmitCapabilities::issues`] to list every field a
//! target cannot carry at once.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use crate::error::{Error, ErrorContext, Operation, Result};
use crate::spec::{JobSpec, Placement, RESERVED_LABELS};

/// What a backend's `submit_job` can express. All limits are inclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SubmitCapabilities {
    /// [`Placement::AzurePool`] is accepted.
    pub placement_azure_pool: bool,
    /// [`Placement::TencentEnvironment`] is accepted.
    pub placement_tencent_environment: bool,
    /// [`Placement::TencentManaged`] is accepted.
    pub placement_tencent_managed: bool,
    /// [`Placement::AwsJobQueue`] is accepted.
    pub placement_aws_job_queue: bool,
    /// `TaskSpec::image` is honoured.
    pub container_image: bool,
    /// `TaskSpec::resources.vcpus` is honoured.
    pub vcpus: bool,
    /// `TaskSpec::resources.memory_mib` is honoured.
    pub memory: bool,
    /// `TaskSpec::resources.gpus` is honoured.
    pub gpus: bool,
    /// `TaskSpec::depends_on` is honoured.
    pub dependencies: bool,
    /// The largest `TaskSpec::instance_count`.
    pub max_instance_count: u32,
    /// The largest `TaskSpec::max_retries`.
    pub max_retries: u32,
    /// The longest `TaskSpec::timeout`, in seconds.
    pub max_timeout_secs: u64,
    /// The lowest and highest `JobSpec::priority`.
    pub priority: (i32, i32),
    /// The most labels a job can carry (besides the idempotency label, when the backend uses
    /// one).
    pub max_labels: usize,
    /// The longest `JobSpec::name`, in characters.
    pub max_name_len: usize,
    /// The most tasks in one job.
    pub max_tasks: usize,
    /// The `JobSpec::extensions` key the backend reads, when it is not the backend's name
    /// (the in-memory flavours read their provider's: `tencent`, `aws`).
    pub extension: Option<&'static str>,
}

/// One field of a spec a backend cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SpecIssue {
    /// The field's path in the spec, with `[]` for "in a task" (`tasks[].resources.gpus`).
    pub field: &'static str,
    /// Which task, when the field is a task's.
    pub task: Option<String>,
    /// Why it cannot be carried.
    pub reason: String,
}

impl fmt::Display for SpecIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.task {
            Some(t) => write!(f, "{} (task {t:?}): {}", self.field, self.reason),
            None => write!(f, "{}: {}", self.field, self.reason),
        }
    }
}

impl SubmitCapabilities {
    /// Everything expressible, with no limits (for wrappers and tests).
    pub fn all() -> Self {
        SubmitCapabilities {
            placement_azure_pool: true,
            placement_tencent_environment: true,
            placement_tencent_managed: true,
            placement_aws_job_queue: true,
            container_image: true,
            vcpus: true,
            memory: true,
            gpus: true,
            dependencies: true,
            max_instance_count: u32::MAX,
            max_retries: u32::MAX,
            max_timeout_secs: u64::MAX,
            priority: (i32::MIN, i32::MAX),
            max_labels: usize::MAX,
            max_name_len: usize::MAX,
            max_tasks: usize::MAX,
            extension: None,
        }
    }

    /// What both support.
    pub fn intersect(&self, o: &SubmitCapabilities) -> SubmitCapabilities {
        SubmitCapabilities {
            placement_azure_pool: self.placement_azure_pool && o.placement_azure_pool,
            placement_tencent_environment: self.placement_tencent_environment
                && o.placement_tencent_environment,
            placement_tencent_managed: self.placement_tencent_managed
                && o.placement_tencent_managed,
            placement_aws_job_queue: self.placement_aws_job_queue && o.placement_aws_job_queue,
            container_image: self.container_image && o.container_image,
            vcpus: self.vcpus && o.vcpus,
            memory: self.memory && o.memory,
            gpus: self.gpus && o.gpus,
            dependencies: self.dependencies && o.dependencies,
            max_instance_count: self.max_instance_count.min(o.max_instance_count),
            max_retries: self.max_retries.min(o.max_retries),
            max_timeout_secs: self.max_timeout_secs.min(o.max_timeout_secs),
            priority: (
                self.priority.0.max(o.priority.0),
                self.priority.1.min(o.priority.1),
            ),
            max_labels: self.max_labels.min(o.max_labels),
            max_name_len: self.max_name_len.min(o.max_name_len),
            max_tasks: self.max_tasks.min(o.max_tasks),
            // The same backend's view: both name the same extension.
            extension: self.extension.or(o.extension),
        }
    }

    fn placement_ok(&self, p: &Placement) -> bool {
        match p {
            Placement::AzurePool { .. } => self.placement_azure_pool,
            Placement::TencentEnvironment { .. } => self.placement_tencent_environment,
            Placement::TencentManaged { .. } => self.placement_tencent_managed,
            Placement::AwsJobQueue { .. } => self.placement_aws_job_queue,
        }
    }

    /// Every field of `spec` that `backend` cannot carry, plus the spec's own inconsistencies
    /// (no task, duplicate task names, a dependency on a task that is not there).
    pub fn issues(&self, backend: &str, spec: &JobSpec) -> Vec<SpecIssue> {
        let mut out = Vec::new();
        let mut job = |field: &'static str, reason: String| {
            out.push(SpecIssue {
                field,
                task: None,
                reason,
            })
        };
        if spec.name.is_empty() {
            job("name", "must not be empty".into());
        } else if spec.name.chars().count() > self.max_name_len {
            job(
                "name",
                format!("{backend} takes at most {} characters", self.max_name_len),
            );
        }
        if !self.placement_ok(&spec.placement) {
            job(
                "placement",
                format!("{backend} cannot run a job at a {}", spec.placement.kind()),
            );
        }
        if let Some(field) = spec.placement.blank_field() {
            job("placement", format!("{field} must not be empty"));
        }
        if let Some(p) = spec.priority
            && !(self.priority.0..=self.priority.1).contains(&p)
        {
            job(
                "priority",
                format!(
                    "{backend} takes {}..={} (got {p})",
                    self.priority.0, self.priority.1
                ),
            );
        }
        if let Some(k) = RESERVED_LABELS
            .iter()
            .find(|k| spec.labels.contains_key(**k))
        {
            job(
                "labels",
                format!("{k} is reserved for polybatch (the idempotency key is idempotency_key)"),
            );
        }
        if spec.labels.len() > self.max_labels {
            job(
                "labels",
                format!("{backend} takes at most {} labels", self.max_labels),
            );
        }
        if spec.labels.keys().any(String::is_empty) {
            job("labels", "a label key must not be empty".into());
        }
        let backend = self.extension.unwrap_or(backend);
        for provider in spec.extensions.keys().filter(|p| p.as_str() != backend) {
            job(
                "extensions",
                format!("the {provider:?} extension cannot be carried to {backend}"),
            );
        }
        if let Some(ext) = spec.extensions.get(backend)
            && !ext.is_object()
        {
            job(
                "extensions",
                format!("the {backend:?} extension must be a JSON object"),
            );
        }
        if spec.tasks.is_empty() {
            job("tasks", "a job needs at least one task".into());
        } else if spec.tasks.len() > self.max_tasks {
            job(
                "tasks",
                format!("{backend} takes at most {} tasks in a job", self.max_tasks),
            );
        }
        let mut seen = BTreeSet::new();
        let names: BTreeSet<&str> = spec.tasks.iter().map(|t| t.name.as_str()).collect();
        for t in &spec.tasks {
            let name = t.name.as_str();
            let mut task = |field: &'static str, reason: String| {
                out.push(SpecIssue {
                    field,
                    task: Some(name.to_string()),
                    reason,
                })
            };
            // Azure compares task ids case-insensitively; be as strict everywhere.
            if !seen.insert(name.to_ascii_lowercase()) {
                task("tasks[].name", "two tasks have this name".into());
            }
            match &t.command {
                crate::spec::Command::Argv(a) if a.is_empty() => {
                    task("tasks[].command", "argv must not be empty".into())
                }
                crate::spec::Command::Shell(s) if s.trim().is_empty() => {
                    task("tasks[].command", "the shell line must not be empty".into())
                }
                crate::spec::Command::Shell(s) if s.contains('\0') => task(
                    "tasks[].command",
                    "the shell line must not contain NUL".into(),
                ),
                crate::spec::Command::Argv(a) if a.iter().any(|w| w.contains('\0')) => {
                    task("tasks[].command", "an argument must not contain NUL".into())
                }
                _ => {}
            }
            for (k, v) in &t.env {
                if let Some(rule) = env_var_problem(k, v) {
                    task("tasks[].env", format!("variable {k:?}: {rule}"));
                }
            }
            if t.image.is_some() && !self.container_image {
                task(
                    "tasks[].image",
                    format!("{backend} runs no container images"),
                );
            } else if let Some(image) = &t.image
                && (image.is_empty() || image.chars().any(|c| c.is_whitespace() || c.is_control()))
            {
                task(
                    "tasks[].image",
                    format!("{image:?} is not an image reference (empty, or with spaces)"),
                );
            }
            if let Some(v) = t.resources.vcpus
                && !(v.is_finite() && v > 0.0)
            {
                task(
                    "tasks[].resources.vcpus",
                    format!("must be a positive number (got {v})"),
                );
            } else if t.resources.vcpus.is_some() && !self.vcpus {
                task(
                    "tasks[].resources.vcpus",
                    format!("{backend} takes no per-task vCPU request; size the machines"),
                );
            }
            if t.resources.memory_mib == Some(0) {
                task("tasks[].resources.memory_mib", "must be at least 1".into());
            } else if t.resources.memory_mib.is_some() && !self.memory {
                task(
                    "tasks[].resources.memory_mib",
                    format!("{backend} takes no per-task memory request; size the machines"),
                );
            }
            if t.resources.gpus.is_some() && !self.gpus {
                task(
                    "tasks[].resources.gpus",
                    format!("{backend} takes no per-task GPU request; size the machines"),
                );
            }
            if t.instance_count == 0 {
                task("tasks[].instance_count", "must be at least 1".into());
            } else if t.instance_count > self.max_instance_count {
                task(
                    "tasks[].instance_count",
                    format!(
                        "{backend} runs at most {} instances of a task",
                        self.max_instance_count
                    ),
                );
            }
            if let Some(n) = t.max_retries
                && n > self.max_retries
            {
                task(
                    "tasks[].max_retries",
                    format!("{backend} retries at most {} times", self.max_retries),
                );
            }
            if let Some(d) = t.timeout {
                if d.as_secs() == 0 || d.subsec_nanos() != 0 {
                    task(
                        "tasks[].timeout",
                        "must be a whole number of seconds, at least 1".into(),
                    );
                } else if d.as_secs() > self.max_timeout_secs {
                    task(
                        "tasks[].timeout",
                        format!("{backend} allows at most {} s", self.max_timeout_secs),
                    );
                }
            }
            if !t.depends_on.is_empty() && !self.dependencies {
                task(
                    "tasks[].depends_on",
                    format!("{backend} has no task dependencies"),
                );
            }
            for d in &t.depends_on {
                if d == &t.name {
                    task(
                        "tasks[].depends_on",
                        "a task cannot depend on itself".into(),
                    );
                } else if !names.contains(d.as_str()) {
                    task(
                        "tasks[].depends_on",
                        format!("no task {:?} in this job", d.as_str()),
                    );
                }
            }
        }
        out
    }

    /// Fails with the first of [`SubmitCapabilities::issues`]: `Unsupported` naming the field
    /// when the backend cannot carry it, `InvalidInput` when the spec itself is wrong.
    pub fn check(&self, backend: &'static str, spec: &JobSpec) -> Result<()> {
        let Some(issue) = self.issues(backend, spec).into_iter().next() else {
            return Ok(());
        };
        let ctx = ErrorContext::new(backend, Operation::SubmitJob).with_message(issue.to_string());
        // An issue is the backend's limit when the same spec passes an unlimited check (an
        // extension for another provider is always this backend's limit).
        let spec_is_wrong = issue.field != "extensions"
            && SubmitCapabilities::all()
                .issues(backend, spec)
                .iter()
                .any(|i| i == &issue);
        Err(if spec_is_wrong {
            Error::invalid_input(issue.field, issue.to_string(), ctx)
        } else {
            Error::Unsupported {
                option: Some(issue.field),
                ctx: Box::new(ctx),
            }
        })
    }
}

/// What is wrong with an environment variable, if anything: every provider passes it to a
/// process environment, where an empty name, `=` in a name or NUL anywhere cannot be
/// expressed.
pub fn env_var_problem(name: &str, value: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("the name is empty")
    } else if name.contains('=') {
        Some("the name contains `=`")
    } else if name.contains('\0') {
        Some("the name contains NUL")
    } else if value.contains('\0') {
        Some("the value contains NUL")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::TaskId;
    use crate::spec::{Resources, TaskSpec};

    fn t(name: &str) -> TaskId {
        TaskId::new(name).unwrap()
    }

    fn spec() -> JobSpec {
        JobSpec::new(
            "j",
            Placement::AzurePool {
                pool_id: "p".into(),
            },
            vec![TaskSpec::shell(t("a"), "true")],
        )
    }

    #[test]
    fn a_field_the_backend_lacks_is_unsupported_and_named() {
        let mut caps = SubmitCapabilities::all();
        caps.gpus = false;
        let mut s = spec();
        s.tasks[0].resources = Resources {
            gpus: Some(1),
            ..Resources::default()
        };
        let e = caps.check("azure", &s).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Unsupported {
                    option: Some("tasks[].resources.gpus"),
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("task \"a\""), "{e}");
    }

    #[test]
    fn a_wrong_spec_is_invalid_input_everywhere() {
        let caps = SubmitCapabilities::all();
        let mut s = spec();
        s.tasks.push(TaskSpec::shell(t("A"), "true"));
        let e = caps.check("azure", &s).unwrap_err();
        assert!(matches!(e, Error::InvalidInput { .. }), "{e}");
        let mut s = spec();
        s.tasks[0].depends_on.push(t("missing"));
        assert!(matches!(
            caps.check("azure", &s).unwrap_err(),
            Error::InvalidInput { .. }
        ));
        let mut s = spec();
        s.tasks[0].timeout = Some(Duration::from_millis(1500));
        assert!(caps.check("azure", &s).is_err());
        let mut s = spec();
        s.tasks.clear();
        assert!(caps.check("azure", &s).is_err());
        assert!(caps.check("azure", &spec()).is_ok());
    }

    #[test]
    fn a_wrong_value_is_invalid_even_where_the_field_is_unsupported() {
        let mut caps = SubmitCapabilities::all();
        caps.vcpus = false;
        let mut s = spec();
        s.tasks[0].resources.vcpus = Some(f64::NAN);
        let e = caps.check("azure", &s).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidInput { field, .. } if field == "tasks[].resources.vcpus"),
            "{e}"
        );
        s.tasks[0].resources.vcpus = Some(2.0);
        assert!(matches!(
            caps.check("azure", &s).unwrap_err(),
            Error::Unsupported { .. }
        ));
        let mut s = spec();
        s.placement = Placement::AzurePool {
            pool_id: " ".into(),
        };
        let e = caps.check("azure", &s).unwrap_err();
        assert!(e.to_string().contains("pool_id must not be empty"), "{e}");
        for name in ["", "A=B", "A\0"] {
            let mut s = spec();
            s.tasks[0].env.insert(name.into(), "v".into());
            let e = caps.check("azure", &s).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidInput { field, .. } if field == "tasks[].env"),
                "{name:?}: {e}"
            );
        }
    }

    #[test]
    fn every_issue_is_listed_and_limits_bite() {
        let mut caps = SubmitCapabilities::all();
        caps.priority = (0, 100);
        caps.max_retries = 5;
        caps.placement_azure_pool = false;
        let mut s = spec().with_priority(101);
        s.tasks[0].max_retries = Some(6);
        s.extensions
            .insert("tencent".into(), serde_json::json!({"x": 1}));
        let fields: Vec<_> = caps
            .issues("azure", &s)
            .into_iter()
            .map(|i| i.field)
            .collect();
        assert_eq!(
            fields,
            ["placement", "priority", "extensions", "tasks[].max_retries"]
        );
        s.labels.insert(crate::IDEMPOTENCY_LABEL.into(), "x".into());
        assert!(caps.issues("azure", &s).iter().any(|i| i.field == "labels"));
    }
}
