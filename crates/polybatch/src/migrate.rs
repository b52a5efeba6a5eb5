//! Moving a job to another provider, as a pure plan: the exported spec, its placement
//! translated through a map, and every field the target cannot carry, found before anything
//! is sent (what `polybatch migrate` runs, and what a migration tool can run itself).

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorContext, Operation, Result};
use crate::id::JobId;
use crate::spec::{ExportedJob, IdempotencyKey, JobSpec, MAX_IDEMPOTENCY_KEY_LEN, Placement};
use crate::spec_support::SubmitCapabilities;

/// Where jobs of one placement go on the target: pairs of source and target placements.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PlacementMap {
    /// The pairs; the first whose `from` equals the job's placement applies.
    pub placements: Vec<PlacementPair>,
}

/// One entry of a [`PlacementMap`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PlacementPair {
    /// The source placement.
    pub from: Placement,
    /// Where its jobs run on the target.
    pub to: Placement,
}

impl PlacementMap {
    /// A map of one pair.
    pub fn new(from: Placement, to: Placement) -> Self {
        PlacementMap {
            placements: vec![PlacementPair { from, to }],
        }
    }

    /// Where a job at `from` runs on the target.
    pub fn target(&self, from: &Placement) -> Option<&Placement> {
        self.placements
            .iter()
            .find(|p| &p.from == from)
            .map(|p| &p.to)
    }
}

/// What a migration will submit, and what it cannot carry.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MigrationPlan {
    /// The spec to submit on the target (placement translated; with `drop`, the fields the
    /// target cannot carry removed).
    pub spec: JobSpec,
    /// The fields that cannot be carried, by path and why. With `drop` they were removed
    /// from `spec`; without, the migration must stop.
    pub unportable: Vec<String>,
    /// Whether the plan may be submitted: nothing unportable, or all of it dropped.
    pub ready: bool,
}

/// The idempotency key the target job is submitted with: the source's own key (so running
/// the same migration again finds the job it made), or one derived from the source job.
pub fn migration_key(source: &str, job: &JobId, exported: &JobSpec) -> IdempotencyKey {
    if let Some(k) = &exported.idempotency_key {
        return k.clone();
    }
    let raw = format!("migrate-{source}-{job}");
    if raw.len() <= MAX_IDEMPOTENCY_KEY_LEN
        && let Ok(k) = IdempotencyKey::new(raw.clone())
    {
        return k;
    }
    // Too long: a stable digest keeps it unique per source job.
    IdempotencyKey::derived("migrate", &raw)
}

/// Plans moving `exported` (from `source`) to `target`, whose submit rules are `caps`.
///
/// Fails only when the placement has no mapping. Everything the target cannot carry is
/// listed; with `drop`, the fields that can be left out are (extensions, dropped task
/// fields, resource requests, images, dependencies, a priority out of range), and the plan
/// is ready when nothing else remains.
pub fn plan(
    exported: &ExportedJob,
    source: &str,
    job: &JobId,
    target: &'static str,
    caps: &SubmitCapabilities,
    map: &PlacementMap,
    drop: bool,
) -> Result<MigrationPlan> {
    let mut spec = exported.spec.clone();
    spec.placement = map.target(&spec.placement).cloned().ok_or_else(|| {
        Error::invalid_input(
            "placement_map",
            format!(
                "no entry maps the job's placement {}",
                serde_json::to_string(&spec.placement).unwrap_or_default()
            ),
            ErrorContext::new(target, Operation::Other("migrate")),
        )
    })?;
    spec.idempotency_key = Some(migration_key(source, job, &spec));
    let mut unportable: Vec<String> = exported
        .unportable()
        .into_iter()
        .map(|f| format!("{f}: {source} only"))
        .collect();
    spec.extensions.clear();
    let mut blocking = Vec::new();
    for issue in caps.issues(target, &spec) {
        let text = issue.to_string();
        let droppable = drop && drop_field(&mut spec, caps, &issue);
        if !droppable {
            blocking.push(text.clone());
        }
        unportable.push(text);
    }
    let ready = blocking.is_empty() && (drop || unportable.is_empty());
    Ok(MigrationPlan {
        spec,
        unportable,
        ready,
    })
}

/// Leaves out the field of `issue`, when it can be left out without changing what runs;
/// `false` when it cannot (an instance count, a name too long, ...).
fn drop_field(spec: &mut JobSpec, caps: &SubmitCapabilities, issue: &crate::SpecIssue) -> bool {
    let task = issue
        .task
        .as_ref()
        .and_then(|name| spec.tasks.iter_mut().find(|t| t.name.as_str() == name));
    match (issue.field, task) {
        ("tasks[].resources.vcpus", Some(t)) => t.resources.vcpus = None,
        ("tasks[].resources.memory_mib", Some(t)) => t.resources.memory_mib = None,
        ("tasks[].resources.gpus", Some(t)) => t.resources.gpus = None,
        ("tasks[].image", Some(t)) => t.image = None,
        ("tasks[].depends_on", Some(t)) if !caps.dependencies => t.depends_on.clear(),
        ("priority", _) => spec.priority = None,
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TaskId;
    use crate::spec::{Resources, TaskSpec};
    use crate::translate;

    fn exported() -> ExportedJob {
        let mut t = TaskSpec::shell(TaskId::new("a").unwrap(), "true");
        t.resources = Resources {
            gpus: Some(1),
            ..Resources::default()
        };
        let mut spec = JobSpec::new(
            "render",
            Placement::TencentManaged {
                zone: "ap-guangzhou-3".into(),
                instance_type: "GN7".into(),
                image_id: "img-1".into(),
            },
            vec![t],
        )
        .with_priority(50);
        spec.extensions
            .insert("tencent".into(), serde_json::json!({"Notifications": []}));
        ExportedJob {
            spec,
            dropped: vec!["tasks[a].RedirectInfo".into()],
        }
    }

    fn map() -> PlacementMap {
        PlacementMap::new(
            exported().spec.placement,
            Placement::AzurePool {
                pool_id: "gpu-pool".into(),
            },
        )
    }

    fn job() -> JobId {
        JobId::new("job-abcd1234").unwrap()
    }

    #[test]
    fn what_cannot_travel_stops_the_plan_unless_dropped() {
        let caps = translate::azure::submit_capabilities();
        let p = plan(
            &exported(),
            "tencent",
            &job(),
            "azure",
            &caps,
            &map(),
            false,
        )
        .unwrap();
        assert!(!p.ready);
        assert_eq!(p.unportable.len(), 3, "{:#?}", p.unportable);
        assert!(p.unportable[0].starts_with("extensions.tencent.Notifications"));
        assert!(p.unportable[2].contains("tasks[].resources.gpus"));
        assert_eq!(
            p.spec.placement,
            Placement::AzurePool {
                pool_id: "gpu-pool".into()
            }
        );
        assert!(p.spec.extensions.is_empty());
        assert_eq!(
            p.spec.idempotency_key.as_ref().map(|k| k.as_str()),
            Some("migrate-tencent-job-abcd1234")
        );

        let p = plan(&exported(), "tencent", &job(), "azure", &caps, &map(), true).unwrap();
        assert!(p.ready);
        assert_eq!(p.spec.tasks[0].resources, Resources::default());
        assert_eq!(p.spec.priority, Some(50), "in Azure's range: kept");
        assert!(caps.issues("azure", &p.spec).is_empty());
    }

    #[test]
    fn an_unmapped_placement_is_an_error_and_a_neutral_job_is_ready() {
        let caps = translate::azure::submit_capabilities();
        let e = plan(
            &exported(),
            "tencent",
            &job(),
            "azure",
            &caps,
            &PlacementMap::default(),
            true,
        )
        .unwrap_err();
        assert!(e.to_string().contains("no entry maps"), "{e}");
        let mut clean = exported();
        clean.spec.extensions.clear();
        clean.dropped.clear();
        clean.spec.tasks[0].resources = Resources::default();
        let p = plan(&clean, "tencent", &job(), "azure", &caps, &map(), false).unwrap();
        assert!(p.ready && p.unportable.is_empty());
    }

    #[test]
    fn a_long_source_id_gets_a_stable_short_key() {
        let long = JobId::new("x".repeat(64)).unwrap();
        let spec = exported().spec;
        let a = migration_key("azure", &long, &spec);
        assert_eq!(a, migration_key("azure", &long, &spec));
        assert!(a.as_str().len() <= MAX_IDEMPOTENCY_KEY_LEN);
    }
}
