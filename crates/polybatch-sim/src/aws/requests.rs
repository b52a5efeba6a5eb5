//! The request shapes of the AWS Batch operations the simulation serves, as the REST-JSON
//! protocol spells them (camelCase members; every member optional on the wire, so a missing
//! required one is answered by the service's own check), and the parameter rules shared by
//! every front end.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::errors::{ApiError, ApiResult};

/// `{ "name", "value" }`, as in a container's `environment`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KeyValuePair {
    /// `name`.
    pub name: Option<String>,
    /// `value`.
    pub value: Option<String>,
}

/// `{ "type", "value" }`: `VCPU`, `MEMORY` (MiB) or `GPU`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResourceRequirement {
    /// `type`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `value`.
    pub value: Option<String>,
}

/// `dependsOn[]`: a job this one waits for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JobDependency {
    /// `jobId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// `type`: `N_TO_N` or `SEQUENTIAL` (array jobs only).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// `retryStrategy`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RetryStrategy {
    /// `attempts`: 1 to 10.
    pub attempts: Option<i64>,
}

/// `timeout`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JobTimeout {
    /// `attemptDurationSeconds`: at least 60.
    pub attempt_duration_seconds: Option<i64>,
}

/// `arrayProperties` of a submit.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ArrayProperties {
    /// `size`: 2 to 10,000.
    pub size: Option<i64>,
}

/// `containerOverrides` of a submit.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerOverrides {
    /// `command`.
    pub command: Option<Vec<String>>,
    /// `environment`.
    pub environment: Option<Vec<KeyValuePair>>,
    /// `resourceRequirements`.
    pub resource_requirements: Option<Vec<ResourceRequirement>>,
    /// `vcpus` (deprecated form).
    pub vcpus: Option<i64>,
    /// `memory` (deprecated form).
    pub memory: Option<i64>,
    /// `instanceType`.
    pub instance_type: Option<String>,
}

/// `containerProperties` of a job definition.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerProperties {
    /// `image`.
    pub image: Option<String>,
    /// `command`.
    pub command: Option<Vec<String>>,
    /// `environment`.
    pub environment: Option<Vec<KeyValuePair>>,
    /// `resourceRequirements`.
    pub resource_requirements: Option<Vec<ResourceRequirement>>,
    /// `vcpus` (deprecated form).
    pub vcpus: Option<i64>,
    /// `memory` (deprecated form).
    pub memory: Option<i64>,
    /// `jobRoleArn`.
    pub job_role_arn: Option<String>,
}

/// `SubmitJob`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubmitJob {
    /// `jobName`.
    pub job_name: Option<String>,
    /// `jobQueue`: a name or ARN.
    pub job_queue: Option<String>,
    /// `jobDefinition`: `name`, `name:revision` or an ARN.
    pub job_definition: Option<String>,
    /// `arrayProperties`.
    pub array_properties: Option<ArrayProperties>,
    /// `dependsOn`.
    pub depends_on: Option<Vec<JobDependency>>,
    /// `parameters`.
    pub parameters: Option<BTreeMap<String, String>>,
    /// `containerOverrides`.
    pub container_overrides: Option<ContainerOverrides>,
    /// `retryStrategy`.
    pub retry_strategy: Option<RetryStrategy>,
    /// `timeout`.
    pub timeout: Option<JobTimeout>,
    /// `tags`.
    pub tags: Option<BTreeMap<String, String>>,
    /// `propagateTags`.
    pub propagate_tags: Option<bool>,
    /// `schedulingPriorityOverride`.
    pub scheduling_priority_override: Option<i64>,
    /// `shareIdentifier`.
    pub share_identifier: Option<String>,
}

/// `RegisterJobDefinition`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RegisterJobDefinition {
    /// `jobDefinitionName`.
    pub job_definition_name: Option<String>,
    /// `type`: `container` (the simulation runs containers only).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `containerProperties`.
    pub container_properties: Option<ContainerProperties>,
    /// `parameters`.
    pub parameters: Option<BTreeMap<String, String>>,
    /// `retryStrategy`.
    pub retry_strategy: Option<RetryStrategy>,
    /// `timeout`.
    pub timeout: Option<JobTimeout>,
    /// `tags`.
    pub tags: Option<BTreeMap<String, String>>,
    /// `propagateTags`.
    pub propagate_tags: Option<bool>,
    /// `platformCapabilities`.
    pub platform_capabilities: Option<Vec<String>>,
}

/// `CreateComputeEnvironment`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CreateComputeEnvironment {
    /// `computeEnvironmentName`.
    pub compute_environment_name: Option<String>,
    /// `type`: `MANAGED` or `UNMANAGED`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `state`: `ENABLED` (default) or `DISABLED`.
    pub state: Option<String>,
    /// `computeResources`, kept as sent.
    pub compute_resources: Option<serde_json::Value>,
    /// `serviceRole`.
    pub service_role: Option<String>,
    /// `tags`.
    pub tags: Option<BTreeMap<String, String>>,
}

/// `computeEnvironmentOrder[]` of a job queue.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ComputeEnvironmentOrder {
    /// `order`.
    pub order: Option<i64>,
    /// `computeEnvironment`: a name or ARN (answered as the ARN).
    pub compute_environment: Option<String>,
}

/// `CreateJobQueue`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CreateJobQueue {
    /// `jobQueueName`.
    pub job_queue_name: Option<String>,
    /// `state`: `ENABLED` (default) or `DISABLED`.
    pub state: Option<String>,
    /// `priority`.
    pub priority: Option<i64>,
    /// `computeEnvironmentOrder`.
    pub compute_environment_order: Option<Vec<ComputeEnvironmentOrder>>,
    /// `tags`.
    pub tags: Option<BTreeMap<String, String>>,
}

/// `ListJobs` `filters[]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KeyValuesPair {
    /// `name`: `JOB_NAME`, `JOB_DEFINITION`, `BEFORE_CREATED_AT` or `AFTER_CREATED_AT`.
    pub name: Option<String>,
    /// `values`.
    pub values: Option<Vec<String>>,
}

/// `ListJobs`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListJobs {
    /// `jobQueue`.
    pub job_queue: Option<String>,
    /// `arrayJobId`: list this array job's children.
    pub array_job_id: Option<String>,
    /// `multiNodeJobId` (the simulation has no multi-node jobs).
    pub multi_node_job_id: Option<String>,
    /// `jobStatus`: `RUNNING` when neither it nor `filters` is given.
    pub job_status: Option<String>,
    /// `maxResults`.
    pub max_results: Option<i64>,
    /// `nextToken`.
    pub next_token: Option<String>,
    /// `filters`: when given, `jobStatus` is ignored and every status listed.
    pub filters: Option<Vec<KeyValuesPair>>,
}

/// `DescribeJobs`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DescribeJobs {
    /// `jobs`: 1 to 100 job ids.
    pub jobs: Option<Vec<String>>,
}

/// `TerminateJob` and `CancelJob`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StopJob {
    /// `jobId`.
    pub job_id: Option<String>,
    /// `reason` (required).
    pub reason: Option<String>,
}

/// `DescribeJobDefinitions`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DescribeJobDefinitions {
    /// `jobDefinitions`: names with revision (`name:1`) or ARNs.
    pub job_definitions: Option<Vec<String>>,
    /// `jobDefinitionName`.
    pub job_definition_name: Option<String>,
    /// `status`: `ACTIVE` or `INACTIVE`.
    pub status: Option<String>,
    /// `maxResults`.
    pub max_results: Option<i64>,
    /// `nextToken`.
    pub next_token: Option<String>,
}

/// `DescribeJobQueues` and `DescribeComputeEnvironments`: names or ARNs, paged.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DescribeNamed {
    /// `jobQueues`.
    pub job_queues: Option<Vec<String>>,
    /// `computeEnvironments`.
    pub compute_environments: Option<Vec<String>>,
    /// `maxResults`.
    pub max_results: Option<i64>,
    /// `nextToken`.
    pub next_token: Option<String>,
}

/// `TagResource` (the ARN is in the path).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TagResource {
    /// `tags`.
    pub tags: Option<BTreeMap<String, String>>,
}

/// A required member, or the service's refusal naming it.
pub fn required<'a, T>(value: &'a Option<T>, member: &str) -> ApiResult<&'a T> {
    value
        .as_ref()
        .ok_or_else(|| ApiError::client(format!("{member} must be provided")))
}

/// Names of jobs, definitions, queues and environments: 1 to 128 letters, digits, hyphens and
/// underscores, the first a letter or digit.
pub fn check_name(name: &str, what: &str) -> ApiResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::client(format!(
            "{what} should match valid pattern: up to 128 letters, numbers, hyphens and \
             underscores, starting with a letter or number"
        )))
    }
}

/// The most tags a resource carries.
pub const MAX_TAGS: usize = 50;

/// Tags: at most 50, keys 1 to 128 characters not starting with `aws:`, values up to 256.
pub fn check_tags(tags: &BTreeMap<String, String>) -> ApiResult<()> {
    if tags.len() > MAX_TAGS {
        return Err(ApiError::client(format!(
            "a resource can have at most {MAX_TAGS} tags"
        )));
    }
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 {
            return Err(ApiError::client("tag keys must be 1 to 128 characters"));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(ApiError::client(
                "tag keys starting with aws: are reserved for AWS use",
            ));
        }
        if v.chars().count() > 256 {
            return Err(ApiError::client(
                "tag values must be at most 256 characters",
            ));
        }
    }
    Ok(())
}

/// A `maxResults` within `1..=max`, `max` when absent.
pub fn page_size(max_results: Option<i64>, max: usize) -> ApiResult<usize> {
    match max_results {
        None => Ok(max),
        Some(n) if n >= 1 && usize::try_from(n).is_ok_and(|n| n <= max) => {
            Ok(usize::try_from(n).unwrap_or(max))
        }
        Some(n) => Err(ApiError::client(format!(
            "maxResults must be between 1 and {max}, got {n}"
        ))),
    }
}

/// The opaque `nextToken` of a listing that continues at `offset`.
pub fn token_of(offset: usize) -> String {
    format!("pb1.{offset:x}")
}

/// The offset a `nextToken` continues at.
pub fn offset_of(token: Option<&str>) -> ApiResult<usize> {
    match token {
        None => Ok(0),
        Some(t) => t
            .strip_prefix("pb1.")
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .ok_or_else(|| ApiError::client("Invalid nextToken")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_documented_pattern() {
        assert!(check_name("job-1_a", "jobName").is_ok());
        assert!(check_name("-job", "jobName").is_err());
        assert!(check_name("", "jobName").is_err());
        assert!(check_name("a b", "jobName").is_err());
        assert!(check_name(&"a".repeat(128), "jobName").is_ok());
        assert!(check_name(&"a".repeat(129), "jobName").is_err());
    }

    #[test]
    fn tokens_round_trip_and_reject_forgeries() {
        assert_eq!(offset_of(Some(&token_of(1234))).unwrap(), 1234);
        assert_eq!(offset_of(None).unwrap(), 0);
        assert!(offset_of(Some("1234")).is_err());
        assert!(offset_of(Some("pb1.zz")).is_err());
        assert_eq!(page_size(None, 100).unwrap(), 100);
        assert!(page_size(Some(0), 100).is_err());
        assert!(page_size(Some(101), 100).is_err());
    }

    #[test]
    fn tags_are_checked() {
        let mut t = BTreeMap::new();
        t.insert("aws:x".to_string(), "v".to_string());
        assert!(check_tags(&t).is_err());
        let many: BTreeMap<_, _> = (0..51).map(|i| (format!("k{i}"), String::new())).collect();
        assert!(check_tags(&many).is_err());
    }

    #[test]
    fn submit_parses_the_wire_shape() {
        let s: SubmitJob = serde_json::from_str(
            r#"{"jobName":"a","jobQueue":"q","jobDefinition":"d:1","arrayProperties":{"size":3},
               "containerOverrides":{"command":["echo","hi"],"environment":[{"name":"A","value":"1"}]},
               "dependsOn":[{"jobId":"x","type":"N_TO_N"}],"tags":{"k":"v"},"unknown":1}"#,
        )
        .unwrap();
        assert_eq!(s.array_properties.unwrap().size, Some(3));
        assert_eq!(s.depends_on.unwrap()[0].kind.as_deref(), Some("N_TO_N"));
    }
}
