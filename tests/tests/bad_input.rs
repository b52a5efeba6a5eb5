//! Bad input to every public constructor and operation of the three provider clients, and to
//! the `polybatch` core types that validate: one table per provider, each row a call, the
//! `polybatch::Error` variant it must fail with, and substrings its `Display` must contain
//! (the field or key at fault, and what is wrong with it).
//!
//! Every row runs against a running emulator and must send nothing: the emulator's request
//! counters are compared before and after each row. Rows are all run, and every failing row is
//! reported at once.
//!
//! Ids are typed: an operation takes a `JobId` / `TaskId`, so a bad id is refused where it is
//! made. The id rows therefore make the id from the raw string inside the call, as a caller
//! holding a string does (`backend.job_status(&JobId::new(raw)?, ..)`), for every operation
//! that takes an id. Ids that are valid `JobId`s but that a provider could never have issued
//! are its server's to judge, not these tables': Tencent publishes no job-id pattern and
//! answers `InvalidParameter.JobIdMalformed` (`tencent_e2e.rs` checks it arrives as
//! `InvalidInput` naming the job id, sent once); an AWS task that is not an array index of
//! its job is `NotFound`, known only once the job is read.

mod support;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::str::FromStr;
use std::time::Duration;

use futures::future::LocalBoxFuture;
use futures::{FutureExt, TryStreamExt};
use polybatch::{
    BatchBackend, Command, DeleteJobOptions, Error, ExportJobOptions, IdempotencyKey, JobId,
    JobSpec, JobStatusesOptions, ListJobsOptions, ListPrepReleaseOptions, ListTasksOptions,
    Placement, ReactivateTaskOptions, Result, RetryFailedTasksOptions, StatusOptions,
    SubmitJobOptions, TaskId, TaskOutputOptions, TaskSpec, TerminateJobOptions,
    TerminateTaskOptions,
};
use polybatch_aws::AwsBatchBuilder;
use polybatch_azure::{
    AddJobRequest, AddTaskRequest, ApiVersion, AzureBatchBuilder, ENV_ACCESS_KEY, ENV_ACCOUNT,
    ENV_API_VERSION, ENV_AUTHORITY_HOST, ENV_ENDPOINT, ENV_TENANT_ID,
};
use polybatch_emulator::StatsSnapshot;
use polybatch_tencent::{
    ComputeEnvironment, DescribeJobsOptions, ENV_REGION as TENCENT_REGION, ENV_SECRET_ID,
    ENV_SECRET_KEY, Endpoint, SubmitJobRequest, TaskRequest, TencentBatchBuilder,
};
use support::aws::AwsEnv;
use support::azure::{Auth, AzureEnv};
use support::tencent::{TencentEnv, ZONE};

/// The `polybatch::Error` variant a row must fail with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    InvalidInput,
    Configuration,
    Unsupported,
}

fn kind_of(e: &Error) -> Option<Kind> {
    match e {
        Error::InvalidInput { .. } => Some(Kind::InvalidInput),
        Error::Configuration { .. } => Some(Kind::Configuration),
        Error::Unsupported { .. } => Some(Kind::Unsupported),
        _ => None,
    }
}

use Kind::{Configuration, InvalidInput, Unsupported};

/// One row: what it tries, the call, the variant and the substrings of its message.
struct Row<'a> {
    what: String,
    kind: Kind,
    needles: Vec<String>,
    call: LocalBoxFuture<'a, Result<()>>,
}

fn row<'a, T: 'a>(
    what: impl Into<String>,
    kind: Kind,
    needles: &[&str],
    call: impl Future<Output = Result<T>> + 'a,
) -> Row<'a> {
    Row {
        what: what.into(),
        kind,
        needles: needles.iter().map(|n| (*n).to_string()).collect(),
        call: call.map(|r| r.map(drop)).boxed_local(),
    }
}

/// The requests counters (per provider and operation) and the error counters.
type Counters = (
    std::collections::BTreeMap<String, u64>,
    std::collections::BTreeMap<String, u64>,
);

fn counters(s: StatsSnapshot) -> Counters {
    (s.requests, s.errors)
}

/// Runs every row and fails listing each row that was accepted, panicked, failed otherwise
/// or sent a request. Returns how many rows ran.
async fn check(table: &str, rows: Vec<Row<'_>>, stats: &dyn Fn() -> StatsSnapshot) -> usize {
    let total = rows.len();
    let mut failures = Vec::new();
    for r in rows {
        let before = counters(stats());
        let out = AssertUnwindSafe(r.call).catch_unwind().await;
        let after = counters(stats());
        match out {
            Err(_) => failures.push(format!("{}: panicked", r.what)),
            Ok(Ok(())) => failures.push(format!("{}: accepted", r.what)),
            Ok(Err(e)) => {
                let shown = e.to_string();
                if kind_of(&e) != Some(r.kind) {
                    failures.push(format!(
                        "{}: expected {:?}, got {} ({shown})",
                        r.what,
                        r.kind,
                        e.kind()
                    ));
                }
                for n in &r.needles {
                    if !shown.contains(n.as_str()) {
                        failures.push(format!("{}: {shown:?} does not name {n:?}", r.what));
                    }
                }
            }
        }
        if before != after {
            failures.push(format!(
                "{}: sent requests (before {:?}, after {:?})",
                r.what, before.0, after.0
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{table}: {} of {total} rows failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    assert!(total > 0, "{table}: an empty table");
    eprintln!("{table}: {total} rows refused, nothing sent");
    total
}

/// Nothing can be sent by a row that builds no client.
fn no_stats() -> StatsSnapshot {
    StatsSnapshot::default()
}

// ---------------------------------------------------------------------------------------
// Ids, keys, specs: the core rules.

/// Bad ids, each with the words of the rule it breaks.
fn bad_ids() -> Vec<(&'static str, String, &'static str)> {
    vec![
        ("empty", String::new(), "must not be empty"),
        ("65 characters", "x".repeat(65), "at most 64"),
        ("200 characters", "a".repeat(200), "at most 64"),
        ("an inner space", "a b".into(), "(found ' ')"),
        ("a leading space", " ab".into(), "whitespace"),
        ("a trailing tab", "ab\t".into(), "whitespace"),
        ("a slash", "a/b".into(), "(found '/')"),
        ("a backslash", "a\\b".into(), "(found '\\\\')"),
        ("`..`", "..".into(), "(found '.')"),
        ("`../x`", "../x".into(), "(found '.')"),
        ("non-ASCII", "jöb".into(), "(found 'ö')"),
        ("a fullwidth letter", "ｊob".into(), "(found 'ｊ')"),
        (
            "a BEL control character",
            "a\u{7}b".into(),
            "(found '\\u{7}')",
        ),
        ("an inner newline", "a\nb".into(), "(found '\\n')"),
        ("NUL", "a\0b".into(), "(found '\\0')"),
        ("a percent-escape", "a%2Fb".into(), "(found '%')"),
        ("URL delimiters", "a?b#c".into(), "(found '?')"),
        ("a quote", "a'b".into(), "(found '\\'')"),
        ("an ampersand", "a&b".into(), "(found '&')"),
    ]
}

#[tokio::test]
async fn core_types_refuse_bad_ids_keys_and_specs() {
    let mut rows = Vec::new();
    for (what, raw, rule) in bad_ids() {
        let r = raw.clone();
        rows.push(row(
            format!("JobId::new with {what}"),
            InvalidInput,
            &["invalid job id", rule],
            async move { JobId::new(r) },
        ));
        let r = raw.clone();
        rows.push(row(
            format!("TaskId::new with {what}"),
            InvalidInput,
            &["invalid task id", rule],
            async move { TaskId::new(r) },
        ));
        let r = raw.clone();
        rows.push(row(
            format!("JobId::from_str with {what}"),
            InvalidInput,
            &["invalid job id", rule],
            async move { JobId::from_str(&r) },
        ));
        let r = raw.clone();
        rows.push(row(
            format!("TaskId::try_from(&str) with {what}"),
            InvalidInput,
            &["invalid task id", rule],
            async move { TaskId::try_from(r.as_str()) },
        ));
    }
    for (what, raw, rule) in [
        ("empty", String::new(), "must not be empty"),
        ("65 characters", "k".repeat(65), "at most 64"),
        ("a space", "a key".into(), "(found ' ')"),
        ("non-ASCII", "kéy".into(), "(found 'é')"),
        ("a newline", "key\n".into(), "(found '\\n')"),
    ] {
        rows.push(row(
            format!("IdempotencyKey::new with {what}"),
            InvalidInput,
            &["invalid idempotency_key", rule],
            async move { IdempotencyKey::new(raw) },
        ));
    }
    let n = check("core", rows, &no_stats).await;
    // The serde path checks the same rules (a JobId in a spec file, a JobSpec read back).
    for (what, raw, rule) in bad_ids() {
        let e = serde_json::from_value::<JobId>(serde_json::json!(raw))
            .expect_err(&format!("a JobId with {what} deserialized"));
        assert!(e.to_string().contains(rule), "{what}: {e}");
        let e = serde_json::from_value::<TaskId>(serde_json::json!(raw))
            .expect_err(&format!("a TaskId with {what} deserialized"));
        assert!(e.to_string().contains(rule), "{what}: {e}");
    }
    assert!(n >= 80, "{n} core rows");
}

/// The operations that take ids, each called on ids made from raw strings.
#[derive(Debug, Clone, Copy)]
enum Op {
    JobStatus,
    TerminateJob,
    DeleteJob,
    ExportJob,
    ListTasks,
    RetryFailedTasks,
    JobStatuses,
    ListPrepRelease,
    TaskStatus,
    ReactivateTask,
    TerminateTask,
    TaskOutput,
}

const JOB_OPS: [Op; 8] = [
    Op::JobStatus,
    Op::TerminateJob,
    Op::DeleteJob,
    Op::ExportJob,
    Op::ListTasks,
    Op::RetryFailedTasks,
    Op::JobStatuses,
    Op::ListPrepRelease,
];
const TASK_OPS: [Op; 4] = [
    Op::TaskStatus,
    Op::ReactivateTask,
    Op::TerminateTask,
    Op::TaskOutput,
];

/// Calls `op` the way a caller holding strings does: the ids are made first.
async fn call_op(b: &dyn BatchBackend, op: Op, job: &str, task: &str) -> Result<()> {
    let job = JobId::new(job)?;
    let task = || TaskId::new(task);
    match op {
        Op::JobStatus => b.job_status(&job, StatusOptions::default()).await.map(drop),
        Op::TerminateJob => b
            .terminate_job(&job, TerminateJobOptions::default())
            .await
            .map(drop),
        Op::DeleteJob => b
            .delete_job(&job, DeleteJobOptions::default())
            .await
            .map(drop),
        Op::ExportJob => b
            .export_job(&job, ExportJobOptions::default())
            .await
            .map(drop),
        Op::ListTasks => b
            .list_tasks(&job, ListTasksOptions::default())
            .try_next()
            .await
            .map(drop),
        Op::RetryFailedTasks => b
            .retry_failed_tasks(&job, RetryFailedTasksOptions::default())
            .await
            .map(drop),
        Op::JobStatuses => {
            let all = b
                .job_statuses(std::slice::from_ref(&job), JobStatusesOptions::default())
                .await?;
            all.into_iter().try_for_each(|(_, r)| r.map(drop))
        }
        Op::ListPrepRelease => b
            .list_prep_release_status(&job, ListPrepReleaseOptions::default())
            .try_next()
            .await
            .map(drop),
        Op::TaskStatus => b
            .task_status(&job, &task()?, StatusOptions::default())
            .await
            .map(drop),
        Op::ReactivateTask => b
            .reactivate_task(&job, &task()?, ReactivateTaskOptions::default())
            .await
            .map(drop),
        Op::TerminateTask => b
            .terminate_task(&job, &task()?, TerminateTaskOptions::default())
            .await
            .map(drop),
        Op::TaskOutput => b
            .task_output(&job, &task()?, TaskOutputOptions::default())
            .await
            .map(drop),
    }
}

/// Every id-taking operation with every bad job id (and, for task operations, every bad task
/// id under a good job id `good_job`).
fn id_rows<'a>(b: &'a dyn BatchBackend, good_job: &'static str) -> Vec<Row<'a>> {
    let mut rows = Vec::new();
    for (what, raw, rule) in bad_ids() {
        for op in JOB_OPS.into_iter().chain(TASK_OPS) {
            let r = raw.clone();
            rows.push(row(
                format!("{} {op:?} with a job id of {what}", b.name()),
                InvalidInput,
                &["invalid job id", rule],
                async move { call_op(b, op, &r, "0").await },
            ));
        }
        for op in TASK_OPS {
            let r = raw.clone();
            rows.push(row(
                format!("{} {op:?} with a task id of {what}", b.name()),
                InvalidInput,
                &["invalid task id", rule],
                async move { call_op(b, op, good_job, &r).await },
            ));
        }
    }
    rows
}

/// Listing page sizes and other option values the trait refuses for every backend.
fn option_rows<'a>(b: &'a dyn BatchBackend, job: &'static str) -> Vec<Row<'a>> {
    let job = move || JobId::new(job).unwrap_or_else(|e| panic!("{e}"));
    let mut rows = Vec::new();
    for size in [0, 1001, u32::MAX] {
        rows.push(row(
            format!("{} list_jobs page_size {size}", b.name()),
            InvalidInput,
            &["invalid page_size", "between 1 and 1000"],
            async move {
                b.list_jobs(ListJobsOptions::default().with_page_size(size))
                    .try_next()
                    .await
            },
        ));
        rows.push(row(
            format!("{} list_tasks page_size {size}", b.name()),
            InvalidInput,
            &["invalid page_size", "between 1 and 1000"],
            async move {
                let mut o = ListTasksOptions::default();
                o.page_size = Some(size);
                b.list_tasks(&job(), o).try_next().await
            },
        ));
    }
    rows.push(row(
        format!("{} job_statuses concurrency 0", b.name()),
        InvalidInput,
        &["invalid concurrency", "at least 1"],
        async move {
            b.job_statuses(&[job()], JobStatusesOptions::default().with_concurrency(0))
                .await
        },
    ));
    rows.push(row(
        format!("{} task_output range 10..2", b.name()),
        InvalidInput,
        &["invalid range", "starts after it ends"],
        async move {
            let task = TaskId::new("0")?;
            b.task_output(
                &job(),
                &task,
                TaskOutputOptions::default().with_range(std::ops::Range { start: 10, end: 2 }),
            )
            .await
        },
    ));
    rows
}

/// A task every backend can run.
fn good_task() -> TaskSpec {
    TaskSpec::shell(
        TaskId::new("work").unwrap_or_else(|e| panic!("{e}")),
        "true",
    )
}

type Edit = fn(&mut JobSpec);

/// Spec edits that make every backend's spec wrong, with the field they break.
fn wrong_specs() -> Vec<(&'static str, Edit, &'static str)> {
    vec![
        ("an empty name", |s| s.name.clear(), "invalid name"),
        ("no tasks", |s| s.tasks.clear(), "invalid tasks"),
        (
            "an empty shell line",
            |s| s.tasks[0].command = Command::Shell(String::new()),
            "invalid tasks[].command",
        ),
        (
            "a blank shell line",
            |s| s.tasks[0].command = Command::Shell(" \t\n".into()),
            "invalid tasks[].command",
        ),
        (
            "an empty argv",
            |s| s.tasks[0].command = Command::Argv(Vec::new()),
            "invalid tasks[].command",
        ),
        (
            "0 instances",
            |s| s.tasks[0].instance_count = 0,
            "invalid tasks[].instance_count",
        ),
        (
            "a timeout of 0 s",
            |s| s.tasks[0].timeout = Some(Duration::ZERO),
            "invalid tasks[].timeout",
        ),
        (
            "a timeout of 1.5 s",
            |s| s.tasks[0].timeout = Some(Duration::from_millis(1500)),
            "invalid tasks[].timeout",
        ),
        (
            "a reserved label",
            |s| {
                s.labels
                    .insert(polybatch::IDEMPOTENCY_LABEL.into(), "x".into());
            },
            "invalid labels",
        ),
        (
            "a NUL in the shell line",
            |s| s.tasks[0].command = Command::Shell("echo a\0b".into()),
            "invalid tasks[].command",
        ),
        (
            "a NUL in an argument",
            |s| s.tasks[0].command = Command::Argv(vec!["echo".into(), "a\0b".into()]),
            "invalid tasks[].command",
        ),
        (
            "an empty environment variable name",
            |s| {
                s.tasks[0].env.insert(String::new(), "x".into());
            },
            "invalid tasks[].env",
        ),
        (
            "an environment variable name with `=`",
            |s| {
                s.tasks[0].env.insert("A=B".into(), "x".into());
            },
            "invalid tasks[].env",
        ),
        (
            "a NUL in an environment value",
            |s| {
                s.tasks[0].env.insert("A".into(), "a\0b".into());
            },
            "invalid tasks[].env",
        ),
        (
            "0 vCPUs",
            |s| vcpus(0.0)(s),
            "invalid tasks[].resources.vcpus",
        ),
        (
            "-1 vCPUs",
            |s| vcpus(-1.0)(s),
            "invalid tasks[].resources.vcpus",
        ),
        (
            "NaN vCPUs",
            |s| vcpus(f64::NAN)(s),
            "invalid tasks[].resources.vcpus",
        ),
        (
            "infinite vCPUs",
            |s| vcpus(f64::INFINITY)(s),
            "invalid tasks[].resources.vcpus",
        ),
        (
            "0 MiB",
            |s| s.tasks[0].resources.memory_mib = Some(0),
            "invalid tasks[].resources.memory_mib",
        ),
        (
            "an empty label key",
            |s| {
                s.labels.insert(String::new(), "x".into());
            },
            "invalid labels",
        ),
    ]
}

/// Spec edits a backend cannot carry, with the field named.
fn unsupported_specs() -> Vec<(&'static str, Edit, &'static str)> {
    vec![
        (
            "a name of 2000 characters",
            |s| s.name = "n".repeat(2000),
            "option `name`",
        ),
        (
            "priority i32::MAX",
            |s| s.priority = Some(i32::MAX),
            "option `priority`",
        ),
        (
            "priority i32::MIN",
            |s| s.priority = Some(i32::MIN),
            "option `priority`",
        ),
        (
            "max_retries u32::MAX",
            |s| s.tasks[0].max_retries = Some(u32::MAX),
            "option `tasks[].max_retries`",
        ),
        (
            "another provider's extension",
            |s| {
                s.extensions.insert("nowhere".into(), serde_json::json!({}));
            },
            "option `extensions`",
        ),
    ]
}

/// Task-graph edits that are wrong wherever tasks may depend on each other.
fn wrong_graphs() -> Vec<(&'static str, Edit, &'static str)> {
    vec![
        (
            "a task depending on itself",
            |s| {
                let me = s.tasks[0].name.clone();
                s.tasks[0].depends_on.push(me);
            },
            "invalid tasks[].depends_on",
        ),
        (
            "a dependency on a task not in the job",
            |s| {
                let other = TaskId::new("elsewhere").unwrap_or_else(|e| panic!("{e}"));
                s.tasks[0].depends_on.push(other);
            },
            "invalid tasks[].depends_on",
        ),
        (
            "two tasks named alike but for case",
            |s| {
                let mut t = good_task();
                t.name = TaskId::new("WORK").unwrap_or_else(|e| panic!("{e}"));
                s.tasks.push(t);
            },
            "invalid tasks[].name",
        ),
    ]
}

/// Submit rows: every edit of `edits` on `base`, expecting `kind`.
fn submit_rows<'a>(
    b: &'a dyn BatchBackend,
    base: fn() -> JobSpec,
    edits: Vec<(&'static str, Edit, &'static str)>,
    kind: Kind,
) -> Vec<Row<'a>> {
    edits
        .into_iter()
        .map(|(what, edit, field)| {
            let mut spec = base();
            edit(&mut spec);
            row(
                format!("{} submit_job with {what}", b.name()),
                kind,
                &[field],
                async move { b.submit_job(spec, SubmitJobOptions::default()).await },
            )
        })
        .collect()
}

/// An edit asking for `v` vCPUs.
fn vcpus(v: f64) -> impl Fn(&mut JobSpec) {
    move |s| s.tasks[0].resources.vcpus = Some(v)
}

// ---------------------------------------------------------------------------------------
// Azure

const AZURE_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZg==";

fn azure_spec() -> JobSpec {
    JobSpec::new(
        "bad-input",
        Placement::AzurePool {
            pool_id: "pool".into(),
        },
        vec![good_task()],
    )
}

async fn azure_build(b: AzureBatchBuilder) -> Result<()> {
    b.build().map(drop)
}

#[tokio::test]
async fn azure_refuses_bad_input_before_sending() {
    let env = AzureEnv::start().await;
    let backend = env.backend(Auth::SharedKey, ApiVersion::V2024_07_01_20_0);
    let url = env.url();
    let keyed = |endpoint: &str| {
        AzureBatchBuilder::new()
            .with_endpoint(endpoint)
            .with_account("myaccount")
            .with_shared_key(AZURE_KEY)
    };
    let be = &backend;
    let mut rows = Vec::new();

    // Endpoints.
    for (what, endpoint, rule) in [
        (
            "plain http to a public host",
            "http://myaccount.westus.batch.azure.com".to_string(),
            "plain http is allowed only to loopback",
        ),
        (
            "plain http to a private address",
            "http://10.0.0.1:8080".to_string(),
            "plain http is allowed only to loopback",
        ),
        (
            "plain http to a host named like loopback",
            "http://127.0.0.1.example.com".to_string(),
            "plain http is allowed only to loopback",
        ),
        ("not a URL", "not a url".to_string(), "not a URL"),
        (
            "with a user name and password",
            "https://user:hunter2@batch.example.com".to_string(),
            "must not carry a user name or password",
        ),
        (
            "to loopback with a user name and password",
            "http://user:hunter2@127.0.0.1:8990".to_string(),
            "must not carry a user name or password",
        ),
        ("no host", "https://".to_string(), "not a URL"),
        (
            "an ftp URL",
            "ftp://localhost".to_string(),
            "unsupported scheme",
        ),
        ("empty", String::new(), "missing"),
        ("blank", "   ".to_string(), "missing"),
        (
            "a query",
            "https://myaccount.westus.batch.azure.com/?x=1".to_string(),
            "query or fragment",
        ),
        (
            "a fragment",
            "https://myaccount.westus.batch.azure.com/#x".to_string(),
            "query or fragment",
        ),
    ] {
        rows.push(row(
            format!("azure endpoint {what}: {endpoint:?}"),
            Configuration,
            &[ENV_ENDPOINT, rule],
            azure_build(keyed(&endpoint)),
        ));
    }
    // Keys, accounts, identities.
    for (what, key, rule) in [
        ("not base64", "not base64!!", "base64"),
        ("base64 with a space inside", "MDEy MzQ1", "base64"),
        ("empty", "", "no credentials"),
        ("blank", "  ", "no credentials"),
    ] {
        rows.push(row(
            format!("azure shared key {what}"),
            Configuration,
            &[ENV_ACCESS_KEY, rule],
            azure_build(
                AzureBatchBuilder::new()
                    .with_endpoint(url.clone())
                    .with_account("myaccount")
                    .with_shared_key(key),
            ),
        ));
    }
    for (what, account) in [
        ("with a space", "my account"),
        ("with a slash", "my/account"),
        ("upper case", "MyAccount"),
        ("too short", "ab"),
        ("25 characters", "abcdefghijklmnopqrstuvwxy"),
        ("non-ASCII", "kontö"),
    ] {
        rows.push(row(
            format!("azure account {what}"),
            Configuration,
            &[ENV_ACCOUNT, "3 to 24 lowercase letters and digits"],
            azure_build(
                AzureBatchBuilder::new()
                    .with_endpoint(url.clone())
                    .with_account(account)
                    .with_shared_key(AZURE_KEY),
            ),
        ));
    }
    rows.push(row(
        "azure account missing for Shared Key at a non-Azure host",
        Configuration,
        &[ENV_ACCOUNT, "missing"],
        azure_build(
            AzureBatchBuilder::new()
                .with_endpoint(url.clone())
                .with_shared_key(AZURE_KEY),
        ),
    ));
    rows.push(row(
        "azure endpoint host with a bad account label",
        Configuration,
        &[ENV_ENDPOINT, "3 to 24 lowercase letters and digits"],
        azure_build(
            AzureBatchBuilder::new()
                .with_endpoint("https://My_Account.westus.batch.azure.com")
                .with_shared_key(AZURE_KEY),
        ),
    ));
    rows.push(row(
        "azure Shared Key and client credentials both",
        Configuration,
        &[ENV_ACCESS_KEY, "both"],
        azure_build(
            keyed(&url)
                .with_client_credentials("tenant", "client", "secret")
                .with_shared_key(AZURE_KEY),
        ),
    ));
    rows.push(row(
        "azure no credentials at all",
        Configuration,
        &[ENV_ACCESS_KEY, "no credentials"],
        azure_build(AzureBatchBuilder::new().with_endpoint(url.clone())),
    ));
    rows.push(row(
        "azure no endpoint and no credentials",
        Configuration,
        &[ENV_ENDPOINT, "missing"],
        azure_build(AzureBatchBuilder::new()),
    ));
    for (what, tenant) in [
        ("a URL", "https://login.example.com/tenant"),
        ("a path", "tenant/../other"),
        ("a query", "tenant?x=1"),
    ] {
        rows.push(row(
            format!("azure tenant id {what}"),
            Configuration,
            &[ENV_TENANT_ID, "not a URL or path"],
            azure_build(
                AzureBatchBuilder::new()
                    .with_endpoint(url.clone())
                    .with_client_credentials(tenant, "client", "secret"),
            ),
        ));
    }
    rows.push(row(
        "azure client credentials with an empty tenant",
        Configuration,
        &[ENV_TENANT_ID, "missing"],
        azure_build(
            AzureBatchBuilder::new()
                .with_endpoint(url.clone())
                .with_client_credentials("", "client", "secret"),
        ),
    ));
    rows.push(row(
        "azure authority host over plain http to a public host",
        Configuration,
        &[ENV_AUTHORITY_HOST, "plain http is allowed only to loopback"],
        azure_build(
            AzureBatchBuilder::new()
                .with_endpoint(url.clone())
                .with_client_credentials("tenant", "client", "secret")
                .with_authority_host("http://login.example.com"),
        ),
    ));
    rows.push(row(
        "azure per-attempt timeout of 0",
        Configuration,
        &["timeout", "must be positive"],
        azure_build(keyed(&url).with_timeout(Duration::ZERO)),
    ));
    for version in ["2099-01-01", "", "latest"] {
        rows.push(row(
            format!("azure api-version {version:?}"),
            Configuration,
            &[ENV_API_VERSION],
            async move { polybatch_azure::parse_api_version(version) },
        ));
    }

    // Operations.
    rows.extend(id_rows(&backend, "job-1"));
    rows.extend(option_rows(&backend, "job-1"));
    for size in [0, 1001] {
        rows.push(row(
            format!("azure list_prep_release_status page_size {size}"),
            InvalidInput,
            &["invalid page_size", "between 1 and 1000"],
            async move {
                be.list_prep_release_status(
                    &JobId::new("job-1")?,
                    ListPrepReleaseOptions::default().with_page_size(size),
                )
                .try_next()
                .await
            },
        ));
    }
    rows.extend(submit_rows(
        &backend,
        azure_spec,
        wrong_specs(),
        InvalidInput,
    ));
    rows.extend(submit_rows(
        &backend,
        azure_spec,
        wrong_graphs(),
        InvalidInput,
    ));
    rows.extend(submit_rows(
        &backend,
        azure_spec,
        unsupported_specs(),
        Unsupported,
    ));
    rows.extend(submit_rows(
        &backend,
        azure_spec,
        vec![
            (
                "u64::MAX MiB",
                |s| s.tasks[0].resources.memory_mib = Some(u64::MAX),
                "option `tasks[].resources.memory_mib`",
            ),
            (
                "a placement on AWS",
                |s| {
                    s.placement = Placement::AwsJobQueue {
                        job_queue: "q".into(),
                        job_definition: "d".into(),
                    }
                },
                "option `placement`",
            ),
            (
                "2 instances",
                |s| s.tasks[0].instance_count = 2,
                "option `tasks[].instance_count`",
            ),
            (
                "100000 instances",
                |s| s.tasks[0].instance_count = 100_000,
                "option `tasks[].instance_count`",
            ),
            (
                "1 GPU",
                |s| s.tasks[0].resources.gpus = Some(1),
                "option `tasks[].resources.gpus`",
            ),
            (
                "a name of 2000 characters",
                |s| s.name = "n".repeat(2000),
                "option `name`",
            ),
            (
                "priority 1001",
                |s| s.priority = Some(1001),
                "option `priority`",
            ),
        ],
        Unsupported,
    ));
    rows.extend(submit_rows(
        &backend,
        azure_spec,
        vec![(
            "an empty pool id",
            |s| {
                s.placement = Placement::AzurePool {
                    pool_id: String::new(),
                }
            },
            "invalid placement",
        )],
        InvalidInput,
    ));
    rows.push(row(
        "azure add_job with an empty pool id",
        InvalidInput,
        &["pool id", "is empty"],
        async move {
            be.add_job(AddJobRequest::new(JobId::new("job-1")?, ""))
                .await
        },
    ));
    for (what, line) in [
        ("an empty command", ""),
        ("a blank command", "  "),
        ("a NUL in the command", "a\0b"),
    ] {
        rows.push(row(
            format!("azure add_task with {what}"),
            InvalidInput,
            &["command line"],
            async move {
                be.add_task(
                    &JobId::new("job-1")?,
                    AddTaskRequest::new(TaskId::new("t")?, line),
                )
                .await
            },
        ));
    }
    rows.push(row(
        "azure add_task with an empty environment variable name",
        InvalidInput,
        &["environment"],
        async move {
            be.add_task(
                &JobId::new("job-1")?,
                AddTaskRequest::new(TaskId::new("t")?, "true").with_env("", "x"),
            )
            .await
        },
    ));
    let n = check("azure", rows, &|| env.stats()).await;
    assert!(n > 300, "{n} azure rows");
}

/// A `$filter` whose literal holds every character that must be encoded in a query: sent,
/// and parsed by the emulator as one filter (were `&` or `#` sent raw, the filter would end
/// there, inside the string literal, and the emulator would refuse it).
#[tokio::test]
async fn azure_encodes_odata_filter_values() {
    let env = AzureEnv::start().await;
    let backend = env.backend(Auth::SharedKey, ApiVersion::V2024_07_01_20_0);
    let job = JobId::new("filtered").unwrap();
    backend
        .add_job(AddJobRequest::new(job.clone(), "pool-f"))
        .await
        .unwrap();
    for id in ["task-1", "task-2"] {
        backend
            .add_task(&job, AddTaskRequest::new(TaskId::new(id).unwrap(), "true"))
            .await
            .unwrap();
    }
    for literal in [
        "a'b",
        "a&b",
        "a#b",
        "a%20b",
        "a b",
        "a+b",
        "x&$filter=id eq 'task-2'",
    ] {
        let escaped = literal.replace('\'', "''");
        let filter = format!("id ne '{escaped}' and id eq 'task-1'");
        let before = env.requests();
        let got: Vec<_> = backend
            .list_tasks_filtered(&job, Some(filter.clone()))
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("{filter:?} was not parsed as sent: {e}"));
        assert_eq!(
            env.requests(),
            before + 1,
            "{filter:?}: one list request is sent"
        );
        let ids: Vec<_> = got.iter().map(|t| t.task_id.as_str().to_string()).collect();
        assert_eq!(ids, ["task-1"], "{filter:?}");
        // The literal itself matched against a task id: nothing has such an id.
        let filter = format!("id eq '{escaped}'");
        let got: Vec<_> = backend
            .list_tasks_filtered(&job, Some(filter.clone()))
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("{filter:?} was not parsed as sent: {e}"));
        assert!(got.is_empty(), "{filter:?} matched {got:?}");
    }
    // The same through the trait's prep/release listing filter.
    let prep = JobId::new("prepared").unwrap();
    backend
        .add_job(
            AddJobRequest::new(prep.clone(), "pool-p")
                .with_preparation_task(polybatch_azure::JobTaskSpec::new("true")),
        )
        .await
        .unwrap();
    let before = env.requests();
    let got: Vec<_> = backend
        .list_prep_release_status(
            &prep,
            ListPrepReleaseOptions::default().with_filter("nodeId ne 'a&b#c%d e''f'"),
        )
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("the prep/release filter was not parsed as sent: {e}"));
    assert!(got.is_empty(), "{got:?}");
    assert_eq!(env.requests(), before + 1);
}

// ---------------------------------------------------------------------------------------
// Tencent

fn tencent_spec() -> JobSpec {
    JobSpec::new(
        "bad-input",
        Placement::TencentManaged {
            zone: ZONE.into(),
            instance_type: "S5.MEDIUM2".into(),
            image_id: "img-polybatch".into(),
        },
        vec![good_task()],
    )
}

fn tencent_task() -> TaskRequest {
    TaskRequest::new(
        TaskId::new("work").unwrap_or_else(|e| panic!("{e}")),
        "true",
        ComputeEnvironment::managed("SA5.MEDIUM4", "img-bd78fy2t"),
    )
}

async fn tencent_build(b: TencentBatchBuilder) -> Result<()> {
    b.build().map(drop)
}

#[tokio::test]
async fn tencent_refuses_bad_input_before_sending() {
    let env = TencentEnv::fast().await;
    let backend = env.fast_builder().build().unwrap();
    let url = env.url();
    let be = &backend;
    let mut rows = Vec::new();

    // Endpoints.
    for (what, endpoint, rule) in [
        (
            "plain http to a public host",
            "http://batch.tencentcloudapi.com".to_string(),
            "plain http is allowed only to loopback",
        ),
        (
            "plain http to a private address",
            "http://10.1.2.3:80".to_string(),
            "plain http is allowed only to loopback",
        ),
        ("not a URL", "not a url".to_string(), "not a URL"),
        (
            "with a user name and password",
            "https://user:hunter2@batch.example.com".to_string(),
            "must not carry a user name or password",
        ),
        (
            "to loopback with a user name and password",
            "http://user:hunter2@127.0.0.1:8990".to_string(),
            "must not carry a user name or password",
        ),
        ("empty", String::new(), "not a URL"),
        ("no host", "https://".to_string(), "not a URL"),
        (
            "an ftp URL",
            "ftp://localhost".to_string(),
            "unsupported scheme",
        ),
    ] {
        rows.push(row(
            format!("tencent endpoint {what}: {endpoint:?}"),
            Configuration,
            &["endpoint", rule],
            tencent_build(env.builder().with_endpoint(Endpoint::Custom(endpoint))),
        ));
    }
    rows.push(row(
        "tencent regional endpoint of a region with a dot",
        Configuration,
        &[TENCENT_REGION],
        tencent_build(
            env.builder()
                .with_region("evil.example.com#")
                .with_endpoint(Endpoint::Regional),
        ),
    ));

    // Keys.
    for (what, id, key, name, rule) in [
        ("an empty SecretId", "", "key", ENV_SECRET_ID, "is empty"),
        (
            "an empty SecretKey",
            "AKIDx",
            "",
            ENV_SECRET_KEY,
            "is empty",
        ),
        (
            "a SecretId with a trailing newline",
            "AKIDx\n",
            "key",
            ENV_SECRET_ID,
            "whitespace",
        ),
        (
            "a SecretKey with a space inside",
            "AKIDx",
            "se cret",
            ENV_SECRET_KEY,
            "printable ASCII",
        ),
        (
            "a non-ASCII SecretKey",
            "AKIDx",
            "sécret",
            ENV_SECRET_KEY,
            "printable ASCII",
        ),
    ] {
        rows.push(row(
            format!("tencent {what}"),
            Configuration,
            &[name, rule],
            tencent_build(env.builder().with_secret_id(id).with_secret_key(key)),
        ));
    }
    rows.push(row(
        "tencent no SecretKey",
        Configuration,
        &[ENV_SECRET_KEY],
        tencent_build(
            TencentBatchBuilder::new()
                .with_secret_id("AKIDx")
                .with_region("ap-guangzhou")
                .with_endpoint(Endpoint::Custom(url.clone())),
        ),
    ));
    rows.push(row(
        "tencent a token with a space",
        Configuration,
        &["TENCENTCLOUD_TOKEN", "printable ASCII"],
        tencent_build(env.builder().with_token("tok en")),
    ));

    // Regions, language.
    for (what, region) in [
        ("empty", ""),
        ("with a space", "ap guangzhou"),
        ("with a slash", "ap/guangzhou"),
        ("upper case", "AP-GUANGZHOU"),
        ("with a newline", "ap-guangzhou\n"),
        ("with a dot", "ap.guangzhou"),
    ] {
        rows.push(row(
            format!("tencent region {what}: {region:?}"),
            Configuration,
            &[TENCENT_REGION, "must be a region name"],
            tencent_build(env.builder().with_region(region)),
        ));
    }
    rows.push(row(
        "tencent per-attempt timeout of 0",
        Configuration,
        &["timeout", "must be positive"],
        tencent_build(env.builder().with_timeout(Duration::ZERO)),
    ));
    rows.push(row(
        "tencent language fr-FR",
        Configuration,
        &["language", "zh-CN or en-US"],
        tencent_build(env.builder().with_language("fr-FR")),
    ));

    // Operations.
    rows.extend(id_rows(&backend, "job-abcdefgh"));
    rows.extend(option_rows(&backend, "job-abcdefgh"));
    rows.extend(submit_rows(
        &backend,
        tencent_spec,
        wrong_specs(),
        InvalidInput,
    ));
    rows.extend(submit_rows(
        &backend,
        tencent_spec,
        wrong_graphs(),
        InvalidInput,
    ));
    rows.extend(submit_rows(
        &backend,
        tencent_spec,
        unsupported_specs(),
        Unsupported,
    ));
    rows.extend(submit_rows(
        &backend,
        tencent_spec,
        vec![
            (
                "u64::MAX MiB",
                |s| s.tasks[0].resources.memory_mib = Some(u64::MAX),
                "option `tasks[].resources.memory_mib`",
            ),
            (
                "priority 101",
                |s| s.priority = Some(101),
                "option `priority`",
            ),
            (
                "1 GPU",
                |s| s.tasks[0].resources.gpus = Some(1),
                "option `tasks[].resources.gpus`",
            ),
            (
                "6 retries",
                |s| s.tasks[0].max_retries = Some(6),
                "option `tasks[].max_retries`",
            ),
            (
                "a name of 61 characters",
                |s| s.name = "n".repeat(61),
                "option `name`",
            ),
            (
                "a timeout of u64::MAX s",
                |s| s.tasks[0].timeout = Some(Duration::from_secs(u64::MAX)),
                "option `tasks[].timeout`",
            ),
        ],
        Unsupported,
    ));
    rows.extend(submit_rows(
        &backend,
        tencent_spec,
        vec![
            (
                "an image (spaces and all)",
                |s| s.tasks[0].image = Some("my image:latest".into()),
                "invalid tasks[].image",
            ),
            (
                "an empty image",
                |s| s.tasks[0].image = Some(String::new()),
                "invalid tasks[].image",
            ),
            (
                "an empty instance type",
                |s| {
                    s.placement = Placement::TencentManaged {
                        zone: ZONE.into(),
                        instance_type: String::new(),
                        image_id: "img-polybatch".into(),
                    }
                },
                "invalid placement",
            ),
            (
                "an empty image id",
                |s| {
                    s.placement = Placement::TencentManaged {
                        zone: ZONE.into(),
                        instance_type: "S5.MEDIUM2".into(),
                        image_id: String::new(),
                    }
                },
                "invalid placement",
            ),
            (
                "an empty environment id",
                |s| {
                    s.placement = Placement::TencentEnvironment {
                        zone: ZONE.into(),
                        env_id: String::new(),
                    }
                },
                "invalid placement",
            ),
            (
                "an empty zone",
                |s| {
                    s.placement = Placement::TencentEnvironment {
                        zone: String::new(),
                        env_id: "env-abcdefgh".into(),
                    }
                },
                "invalid placement",
            ),
        ],
        InvalidInput,
    ));
    // The Tencent-only requests, checked before they are sent.
    type Req = fn(SubmitJobRequest) -> SubmitJobRequest;
    let submit: Vec<(&str, Req, &str)> = vec![
        (
            "an empty job name",
            |_| SubmitJobRequest::new("", ZONE).with_task(tencent_task()),
            "job name",
        ),
        (
            "a job name of 61 characters",
            |_| SubmitJobRequest::new("n".repeat(61), ZONE).with_task(tencent_task()),
            "job name",
        ),
        (
            "an empty zone",
            |_| SubmitJobRequest::new("j", "").with_task(tencent_task()),
            "zone",
        ),
        (
            "a blank zone",
            |_| SubmitJobRequest::new("j", "  ").with_task(tencent_task()),
            "zone",
        ),
        (
            "a description of 201 characters",
            |r| r.with_description("d".repeat(201)),
            "description",
        ),
        ("priority 101", |r| r.with_priority(101), "priority"),
        ("priority -1", |r| r.with_priority(-1), "priority"),
        ("no tasks", |_| SubmitJobRequest::new("j", ZONE), "tasks"),
        (
            "an empty client token",
            |r| r.with_client_token(""),
            "client token",
        ),
        (
            "a client token of 65 characters",
            |r| r.with_client_token("t".repeat(65)),
            "client token",
        ),
        (
            "a non-ASCII client token",
            |r| r.with_client_token("tökén"),
            "client token",
        ),
        (
            "an empty command",
            |_| {
                let mut t = tencent_task();
                t.command = String::new();
                SubmitJobRequest::new("j", ZONE).with_task(t)
            },
            "command",
        ),
        (
            "6 retries",
            |_| SubmitJobRequest::new("j", ZONE).with_task(tencent_task().with_max_retry_count(6)),
            "max retry count",
        ),
        (
            "0 instances",
            |_| SubmitJobRequest::new("j", ZONE).with_task(tencent_task().with_instance_count(0)),
            "instance count",
        ),
    ];
    for (what, edit, field) in submit {
        let request = edit(SubmitJobRequest::new("j", ZONE).with_task(tencent_task()));
        rows.push(row(
            format!("tencent submit_job_request with {what}"),
            InvalidInput,
            &[field],
            async move { be.submit_job_request(request).await },
        ));
    }
    for size in [0, 101, u32::MAX] {
        rows.push(row(
            format!("tencent describe_jobs page_size {size}"),
            InvalidInput,
            &["invalid page_size", "between 1 and 100"],
            async move {
                be.describe_jobs(DescribeJobsOptions::default().with_page_size(size))
                    .try_next()
                    .await
            },
        ));
    }
    let n = check("tencent", rows, &|| env.stats()).await;
    assert!(n > 300, "{n} tencent rows");
}

/// Label values go to `DescribeJobs` as a `tag:KEY` filter in the JSON body: quotes, `&`, `#`,
/// `%` and spaces need no escaping there. A job labelled with each value is found by a raw
/// `describe_jobs` filter on it (what the service answers, not filtered again here), and a job
/// labelled otherwise is not.
#[tokio::test]
async fn tencent_sends_filter_values_as_given() {
    let env = TencentEnv::fast().await;
    let backend = env.fast_builder().build().unwrap();
    for (n, value) in ["a'b\"c", "a&b#c", "100%", "a b", "a\\b"]
        .into_iter()
        .enumerate()
    {
        let mut spec = tencent_spec().with_label("team", value);
        spec.name = format!("labelled-{n}");
        let job = backend
            .submit_job(spec, SubmitJobOptions::default())
            .await
            .unwrap_or_else(|e| panic!("submit labelled {value:?}: {e}"))
            .job;
        let other = backend
            .submit_job(
                tencent_spec().with_label("team", format!("{value}-not")),
                SubmitJobOptions::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("submit labelled otherwise: {e}"))
            .job;
        let before = env.requests_of("DescribeJobs");
        let mut options = DescribeJobsOptions::default();
        options.filters.push(polybatch_tencent::model::Filter::new(
            "tag:team",
            vec![value.to_string()],
        ));
        let got: Vec<_> = backend
            .describe_jobs(options)
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("tag filter {value:?}: {e}"));
        let ids: Vec<_> = got.iter().map(|j| j.job_id.clone()).collect();
        assert_eq!(ids, [job], "{value:?} (not {other})");
        assert_eq!(env.requests_of("DescribeJobs"), before + 1, "{value:?}");
        // And through the trait, which sends the same filter.
        let listed: Vec<_> = backend
            .list_jobs(ListJobsOptions::default().with_label("team", value))
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("list_jobs label {value:?}: {e}"));
        assert_eq!(listed.len(), 1, "{value:?}: {listed:?}");
    }
}

// ---------------------------------------------------------------------------------------
// AWS

fn aws_spec() -> JobSpec {
    JobSpec::new("bad-input", support::aws::placement(), vec![good_task()])
}

#[tokio::test]
async fn aws_refuses_bad_input_before_sending() {
    let env = AwsEnv::default_config().await;
    let backend = env.backend().await;
    let build = |b: AwsBatchBuilder| async move { b.build().await.map(drop) };
    let mut rows = Vec::new();

    // Endpoints.
    for (what, endpoint, rule) in [
        (
            "plain http to a public host",
            "http://batch.us-east-1.amazonaws.com".to_string(),
            "plain http is allowed only to loopback",
        ),
        (
            "plain http to a private address",
            "http://10.0.0.1".to_string(),
            "plain http is allowed only to loopback",
        ),
        ("not a URL", "not a url".to_string(), "not a URL"),
        (
            "with a user name and password",
            "https://user:hunter2@batch.example.com".to_string(),
            "must not carry a user name or password",
        ),
        (
            "to loopback with a user name and password",
            "http://user:hunter2@127.0.0.1:8990".to_string(),
            "must not carry a user name or password",
        ),
        ("empty", String::new(), "not a URL"),
        ("no host", "https://".to_string(), "not a URL"),
        (
            "an ftp URL",
            "ftp://localhost".to_string(),
            "unsupported scheme",
        ),
    ] {
        rows.push(row(
            format!("aws endpoint {what}: {endpoint:?}"),
            Configuration,
            &["AWS_ENDPOINT_URL", rule],
            build(env.builder().with_endpoint_url(endpoint)),
        ));
    }
    // Regions, keys, retries.
    for (what, region) in [
        ("empty", ""),
        ("with spaces", "us east 1"),
        ("with a slash", "us-east-1/x"),
        ("upper case", "US-EAST-1"),
        ("with a dot", "us-east-1.evil.com"),
    ] {
        rows.push(row(
            format!("aws region {what}: {region:?}"),
            Configuration,
            &["AWS_REGION", "must be a region name"],
            build(env.builder().with_region(region)),
        ));
    }
    for (what, id, key, token, name, rule) in [
        (
            "an empty access key id",
            "",
            "secret",
            None,
            "AWS_ACCESS_KEY_ID",
            "is empty",
        ),
        (
            "an empty secret key",
            "AKID",
            "",
            None,
            "AWS_SECRET_ACCESS_KEY",
            "is empty",
        ),
        (
            "a secret key with a trailing newline",
            "AKID",
            "secret\n",
            None,
            "AWS_SECRET_ACCESS_KEY",
            "whitespace",
        ),
        (
            "an access key id with a space inside",
            "AK ID",
            "secret",
            None,
            "AWS_ACCESS_KEY_ID",
            "printable ASCII",
        ),
        (
            "an empty session token",
            "AKID",
            "secret",
            Some(String::new()),
            "AWS_SESSION_TOKEN",
            "is empty",
        ),
    ] {
        rows.push(row(
            format!("aws credentials with {what}"),
            Configuration,
            &[name, rule],
            build(env.builder().with_credentials(id, key, token)),
        ));
    }
    for (what, attempt, total) in [
        (
            "a per-attempt timeout of 0",
            Duration::ZERO,
            Duration::from_secs(5),
        ),
        (
            "an operation timeout of 0",
            Duration::from_secs(5),
            Duration::ZERO,
        ),
    ] {
        rows.push(row(
            format!("aws {what}"),
            Configuration,
            &["timeouts", "must be more than zero"],
            build(env.builder().with_timeouts(attempt, total)),
        ));
    }
    rows.push(row(
        "aws a first backoff longer than the longest",
        Configuration,
        &["backoff", "longer than the longest"],
        build(
            env.builder()
                .with_backoff(Duration::from_secs(30), Duration::from_secs(1)),
        ),
    ));
    rows.push(row(
        "aws max_attempts 0",
        Configuration,
        &["max_attempts", "at least 1"],
        build(env.builder().with_max_attempts(0)),
    ));
    // Operations.
    rows.extend(id_rows(&backend, "job-1"));
    rows.extend(option_rows(&backend, "job-1"));
    rows.extend(submit_rows(&backend, aws_spec, wrong_specs(), InvalidInput));
    rows.extend(submit_rows(
        &backend,
        aws_spec,
        unsupported_specs(),
        Unsupported,
    ));
    rows.extend(submit_rows(
        &backend,
        aws_spec,
        vec![
            (
                "a timeout of 30 s",
                |s| s.tasks[0].timeout = Some(Duration::from_secs(30)),
                "invalid tasks[].timeout",
            ),
            (
                "an empty job queue",
                |s| {
                    s.placement = Placement::AwsJobQueue {
                        job_queue: String::new(),
                        job_definition: "d".into(),
                    }
                },
                "invalid placement",
            ),
            (
                "an empty job definition",
                |s| {
                    s.placement = Placement::AwsJobQueue {
                        job_queue: "q".into(),
                        job_definition: String::new(),
                    }
                },
                "invalid placement",
            ),
            (
                "an unknown aws extension",
                |s| {
                    s.extensions
                        .insert("aws".into(), serde_json::json!({"nope": 1}));
                },
                "extensions.aws",
            ),
        ],
        InvalidInput,
    ));
    rows.extend(submit_rows(
        &backend,
        aws_spec,
        vec![
            (
                "two tasks",
                |s| {
                    let mut t = good_task();
                    t.name = TaskId::new("second").unwrap_or_else(|e| panic!("{e}"));
                    s.tasks.push(t);
                },
                "option `tasks`",
            ),
            (
                "an aws extension that is not an object",
                |s| {
                    s.extensions.insert("aws".into(), serde_json::json!([1]));
                },
                "option `extensions`",
            ),
            (
                "an image (spaces and all)",
                |s| s.tasks[0].image = Some("my image:latest".into()),
                "option `tasks[].image`",
            ),
            (
                "a task dependency",
                |s| {
                    let mut t = good_task();
                    t.name = TaskId::new("second").unwrap_or_else(|e| panic!("{e}"));
                    t.depends_on.push(s.tasks[0].name.clone());
                    s.tasks[0] = t;
                },
                "option `tasks[].depends_on`",
            ),
            (
                "100000 instances",
                |s| s.tasks[0].instance_count = 100_000,
                "option `tasks[].instance_count`",
            ),
            (
                "a placement on Azure",
                |s| {
                    s.placement = Placement::AzurePool {
                        pool_id: "p".into(),
                    }
                },
                "option `placement`",
            ),
        ],
        Unsupported,
    ));
    let n = check("aws", rows, &|| env.stats()).await;
    assert!(n > 300, "{n} aws rows");
}
