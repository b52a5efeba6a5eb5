//! The job-lifecycle commands: `job submit`, `job delete`, `jobs list`, `jobs status`. Each
//! is one call of the neutral trait, so they work alike on every provider.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use polybatch::{
    BatchBackend, DeleteJobOptions, IdempotencyKey, JobId, JobSpec, JobState, JobStatusesOptions,
    ListJobsOptions, SubmitJobOptions,
};
use serde_json::json;

use crate::bulk::{IdLine, collect_ids, dedupe};
use crate::cli::ListJobsArgs;
use crate::exit::{CliError, error_json, one_line};
use crate::format::OutputFormat;
use crate::output;

/// Reads the file `flag` names as a `what`: TOML when its name ends in `.toml`, JSON otherwise
/// (`-`: JSON from stdin). Every failure is a usage error naming the flag.
pub fn read_file<T: serde::de::DeserializeOwned>(
    flag: &str,
    what: &str,
    path: &Path,
) -> Result<T, CliError> {
    let shown = path.display();
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| CliError::usage(format!("{flag} -: cannot read stdin: {e}")))?
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| CliError::usage(format!("{flag} {shown}: cannot read: {e}")))?
    };
    let toml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let parsed = if toml {
        toml::from_str::<T>(&text).map_err(|e| crate::exit::toml_message(&text, &e))
    } else {
        serde_json::from_str::<T>(&text).map_err(|e| e.to_string())
    };
    parsed.map_err(|e| CliError::usage(format!("{flag} {shown}: not {what}: {e}")))
}

/// `polybatch job submit`.
pub async fn submit(
    backend: Arc<dyn BatchBackend>,
    spec: &Path,
    key: Option<String>,
    format: OutputFormat,
) -> Result<(), CliError> {
    let mut spec: JobSpec = read_file("--spec", "a job spec", spec)?;
    if let Some(key) = key {
        spec.idempotency_key = Some(IdempotencyKey::new(key)?);
    }
    let outcome = backend
        .submit_job(spec, SubmitJobOptions::default())
        .await?;
    match format {
        OutputFormat::Json => output::print_json(&json!(outcome)),
        OutputFormat::Table => {
            let verb = if outcome.created {
                "submitted"
            } else {
                "already submitted with this key"
            };
            let mut line = format!(
                "{}: {verb} (idempotency key {})",
                outcome.job, outcome.idempotency_key
            );
            if let Some(rid) = &outcome.request_id {
                line.push_str(&format!(" (request id {rid})"));
            }
            outln!("{line}");
        }
    }
    Ok(())
}

/// `polybatch job export`: the spec on stdout (a file `job submit --spec` reads back), what
/// was dropped on stderr.
pub async fn export(
    backend: Arc<dyn BatchBackend>,
    job: String,
    toml: bool,
) -> Result<(), CliError> {
    let job = JobId::new(job)?;
    let exported = backend
        .export_job(&job, polybatch::ExportJobOptions::default())
        .await?;
    let text = if toml {
        toml::to_string_pretty(&exported.spec)
            .map_err(|e| CliError::failed(format!("cannot write the spec as TOML: {e}")))?
    } else {
        serde_json::to_string_pretty(&exported.spec)
            .map_err(|e| CliError::failed(format!("cannot write the spec as JSON: {e}")))?
    };
    outln!("{}", text.trim_end());
    for field in &exported.dropped {
        eprintln!("not carried: {field}");
    }
    Ok(())
}

/// `polybatch job delete`.
pub async fn delete(
    backend: Arc<dyn BatchBackend>,
    job: String,
    format: OutputFormat,
) -> Result<(), CliError> {
    let job = JobId::new(job)?;
    let outcome = backend
        .delete_job(&job, DeleteJobOptions::default())
        .await?;
    match format {
        OutputFormat::Json => output::print_json(&json!({
            "job_id": job,
            "disposition": outcome.disposition,
            "request_id": outcome.request_id,
        })),
        OutputFormat::Table => {
            let mut line = format!("{job}: {}", outcome.disposition);
            if let Some(rid) = &outcome.request_id {
                line.push_str(&format!(" (request id {rid})"));
            }
            outln!("{line}");
        }
    }
    Ok(())
}

fn time_arg(flag: &str, value: Option<String>) -> Result<Option<DateTime<Utc>>, CliError> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(&v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| CliError::usage(format!("{flag} {v:?}: not an RFC 3339 time: {e}")))
        })
        .transpose()
}

/// The listing's options from the command line; every bad value is a usage error naming its
/// flag.
pub fn list_options(args: ListJobsArgs) -> Result<ListJobsOptions, CliError> {
    let mut o = ListJobsOptions::default();
    for s in args.states {
        let state: JobState =
            serde_json::from_value(json!(s.to_ascii_lowercase())).map_err(|_| {
                CliError::usage(format!(
                    "--state {s:?}: not a job state (submitted, pending, active, running, \
                 terminating, completed, succeeded, failed, interrupted, deleting, ...)"
                ))
            })?;
        o = o.with_state(state);
    }
    for l in args.labels {
        let Some((k, v)) = l.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(CliError::usage(format!(
                "--label {l:?}: write it as KEY=VALUE"
            )));
        };
        o = o.with_label(k, v);
    }
    if let Some(p) = args.name_prefix {
        o = o.with_name_prefix(p);
    }
    o.created_after = time_arg("--created-after", args.created_after)?;
    o.created_before = time_arg("--created-before", args.created_before)?;
    o.page_size = args.page_size;
    Ok(o)
}

/// `polybatch jobs list`: JSON Lines as each page arrives; a table at the end.
pub async fn list(
    backend: Arc<dyn BatchBackend>,
    args: ListJobsArgs,
    format: OutputFormat,
) -> Result<(), CliError> {
    let options = list_options(args)?;
    let mut stream = backend.list_jobs(options);
    let mut rows = Vec::new();
    while let Some(item) = stream.next().await {
        let status = match item {
            Ok(s) => s,
            Err(e) => {
                if format == OutputFormat::Table && !rows.is_empty() {
                    outln!("{}", output::jobs_table(&rows));
                }
                return Err(e.into());
            }
        };
        match format {
            OutputFormat::Json => output::print_json(&json!(status)),
            OutputFormat::Table => rows.push(status),
        }
    }
    if format == OutputFormat::Table {
        if rows.is_empty() {
            outln!("no job matches");
        } else {
            outln!("{}", output::jobs_table(&rows));
        }
    }
    Ok(())
}

/// `polybatch jobs status`: one bulk read; every id is answered.
pub async fn statuses(
    backend: Arc<dyn BatchBackend>,
    ids: Vec<String>,
    ids_file: Option<std::path::PathBuf>,
    format: OutputFormat,
) -> Result<(), CliError> {
    let lines = collect_ids(&ids, ids_file.as_deref(), "status")?;
    let (lines, _) = dedupe(lines, backend.name() == polybatch_azure::BACKEND);
    let mut invalid = Vec::new();
    let mut jobs = Vec::new();
    for line in lines {
        match line {
            IdLine::Valid(id) => jobs.push(id),
            IdLine::Invalid { text, error } => invalid.push((text, error)),
        }
    }
    let answers = read_statuses(backend.as_ref(), &jobs).await?;
    let mut found = Vec::new();
    let mut failed = invalid.len();
    for (text, error) in &invalid {
        match format {
            OutputFormat::Json => {
                output::print_json(&json!({"job_id": text, "error": error_json(error)}))
            }
            OutputFormat::Table => eprintln!("{text}: {}", one_line(&error.to_string())),
        }
    }
    for (job, answer) in answers {
        match (answer, format) {
            (Ok(s), OutputFormat::Json) => output::print_json(&json!(s)),
            (Ok(s), OutputFormat::Table) => found.push(s),
            (Err(e), OutputFormat::Json) => {
                failed += 1;
                output::print_json(&json!({"job_id": job, "error": error_json(&e)}));
            }
            (Err(e), OutputFormat::Table) => {
                failed += 1;
                eprintln!("{job}: {}", one_line(&e.to_string()));
            }
        }
    }
    if format == OutputFormat::Table && !found.is_empty() {
        outln!("{}", output::jobs_table(&found));
    }
    if failed > 0 {
        return Err(CliError::failed(format!(
            "{failed} job(s) could not be read"
        )));
    }
    Ok(())
}

/// The statuses of `jobs` in as few requests as the backend allows. On a terminal they are read
/// in rounds of as many requests as `job_statuses` sends at once, so a progress bar can follow;
/// elsewhere in one call (the same requests).
async fn read_statuses(
    backend: &dyn BatchBackend,
    jobs: &[polybatch::JobId],
) -> Result<polybatch::JobStatuses, CliError> {
    let options = JobStatusesOptions::default();
    let Some(bar) = crate::bulk::progress_bar(jobs.len() as u64, "read") else {
        return Ok(backend.job_statuses(jobs, options).await?);
    };
    let per_request = backend.capabilities().job_statuses_per_request.max(1);
    let round = per_request.saturating_mul(options.concurrency.max(1));
    let mut answers = Vec::with_capacity(jobs.len());
    for chunk in jobs.chunks(round) {
        let part = backend.job_statuses(chunk, options.clone()).await;
        match part {
            Ok(part) => answers.extend(part),
            Err(e) => {
                bar.abandon();
                return Err(e.into());
            }
        }
        bar.inc(chunk.len() as u64);
    }
    // Left drawn (at its full count) above the table that follows.
    bar.finish();
    Ok(answers)
}

/// What `jobs cleanup` did to one job.
enum Cleaned {
    Deleted(polybatch::DeleteDisposition),
    Failed(&'static str, polybatch::Error),
}

/// Terminates (when not finished), then deletes; a provider that deletes only finished jobs
/// (Tencent) is waited for, within `wait`.
async fn clean_one(
    backend: &dyn BatchBackend,
    job: &JobId,
    finished: bool,
    wait: polybatch::WaitOptions,
) -> Cleaned {
    use polybatch::BatchBackendExt;
    if !finished
        && let Err(e) = backend
            .terminate_job_and_wait(job, polybatch::TerminateJobOptions::default(), wait)
            .await
    {
        return Cleaned::Failed("terminate", e);
    }
    match backend.delete_job(job, DeleteJobOptions::default()).await {
        Ok(o) => Cleaned::Deleted(o.disposition),
        Err(e) => Cleaned::Failed("delete", e),
    }
}

/// `polybatch jobs cleanup`.
pub async fn cleanup(
    backend: Arc<dyn BatchBackend>,
    args: crate::cli::CleanupArgs,
    format: OutputFormat,
) -> Result<(), CliError> {
    let mut options = list_options(ListJobsArgs {
        states: args.states.clone(),
        labels: args.labels.clone(),
        name_prefix: None,
        created_after: None,
        created_before: None,
        page_size: None,
    })?;
    if let Some(age) = args.older_than {
        let age = chrono::Duration::from_std(age)
            .map_err(|_| CliError::usage("--older-than: too long"))?;
        options.created_before = Utc::now().checked_sub_signed(age);
    }
    let wait = polybatch::WaitOptions::new(
        std::time::Duration::from_secs(2),
        std::time::Duration::from_secs_f64(args.wait_timeout.clamp(0.0, 1e7)),
    );
    let matched: Vec<polybatch::JobStatus> = {
        let mut stream = backend.list_jobs(options);
        let mut all = Vec::new();
        while let Some(item) = stream.next().await {
            all.push(item?);
        }
        all
    };
    if args.dry_run {
        for s in &matched {
            match format {
                OutputFormat::Json => output::print_json(
                    &json!({"job_id": s.job_id, "state": s.state, "would": "terminate and delete"}),
                ),
                OutputFormat::Table => {
                    outln!("{}: {} (would terminate and delete)", s.job_id, s.state)
                }
            }
        }
        if format == OutputFormat::Table {
            outln!("{} job(s) match; nothing changed (dry run)", matched.len());
        }
        return Ok(());
    }
    let progress = crate::bulk::progress_bar(matched.len() as u64, "cleaning");
    let results: Vec<(JobId, Cleaned)> = futures::stream::iter(matched)
        .map(|s| {
            let backend = backend.clone();
            let progress = progress.clone();
            async move {
                let r = clean_one(backend.as_ref(), &s.job_id, s.state.is_terminal(), wait).await;
                if let Some(bar) = &progress {
                    bar.set_message(s.job_id.to_string());
                    bar.inc(1);
                }
                (s.job_id, r)
            }
        })
        .buffer_unordered(usize::from(args.concurrency))
        .collect()
        .await;
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let mut failed = 0;
    for (job, r) in &results {
        match (r, format) {
            (Cleaned::Deleted(d), OutputFormat::Json) => {
                output::print_json(&json!({"job_id": job, "deleted": d}))
            }
            (Cleaned::Deleted(d), OutputFormat::Table) => outln!("{job}: deleted ({d})"),
            (Cleaned::Failed(step, e), OutputFormat::Json) => {
                failed += 1;
                output::print_json(&json!({"job_id": job, "failed": step, "error": error_json(e)}));
            }
            (Cleaned::Failed(step, e), OutputFormat::Table) => {
                failed += 1;
                eprintln!("{job}: {step} failed: {}", one_line(&e.to_string()));
            }
        }
    }
    let deleted = results.len() - failed;
    if format == OutputFormat::Table {
        outln!("{deleted} job(s) deleted, {failed} failed");
    }
    if failed > 0 {
        return Err(CliError::failed(format!(
            "{failed} of {} job(s) were not cleaned up",
            results.len()
        )));
    }
    Ok(())
}
