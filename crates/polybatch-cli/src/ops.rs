//! The single-job and single-task operator commands. Everything goes through
//! `Arc<dyn BatchBackend>`, so the commands are the same for every provider.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use polybatch::{
    BatchBackend, BatchBackendExt, JobId, ListPrepReleaseOptions, Preconditions,
    ReactivateTaskOptions, RetryFailedTasksOptions, StatusOptions, TaskId, TerminateJobOptions,
    WaitOptions,
};

use crate::cli::{JobCommand, TaskCommand, TerminateArgs, WaitArgs};
use crate::exit::CliError;
use crate::format::OutputFormat;
use crate::output;

/// Runs a `polybatch job ...` command.
pub async fn job(
    backend: Arc<dyn BatchBackend>,
    command: JobCommand,
    format: OutputFormat,
) -> Result<(), CliError> {
    match command {
        JobCommand::Submit {
            spec,
            idempotency_key,
        } => crate::lifecycle::submit(backend, &spec, idempotency_key, format).await,
        JobCommand::Delete { job } => crate::lifecycle::delete(backend, job, format).await,
        JobCommand::Export { job, toml } => crate::lifecycle::export(backend, job, toml).await,
        JobCommand::Status { job } => {
            let job = JobId::new(job)?;
            let status = backend.job_status(&job, StatusOptions::default()).await?;
            output::job_status(&status, format);
            Ok(())
        }
        JobCommand::Terminate(args) => terminate(backend, args, format).await,
        JobCommand::Wait { job, wait } => {
            let job = JobId::new(job)?;
            let status = backend.wait_for_job(&job, wait_options(&wait)?).await?;
            output::job_status(&status, format);
            Ok(())
        }
        JobCommand::PrepRelease {
            job,
            filter,
            select,
            max_results,
        } => {
            let job = JobId::new(job)?;
            let mut options = ListPrepReleaseOptions::default();
            if let Some(f) = filter {
                options = options.with_filter(f);
            }
            if !select.is_empty() {
                options = options.with_select(select);
            }
            if let Some(n) = max_results {
                options = options.with_page_size(n);
            }
            prep_release(backend.as_ref(), &job, options, format).await
        }
        JobCommand::RetryFailed { job, concurrency } => {
            let job = JobId::new(job)?;
            let options =
                RetryFailedTasksOptions::default().with_concurrency(usize::from(concurrency));
            let outcome = backend.retry_failed_tasks(&job, options).await?;
            output::retry_failed(&job, &outcome, format);
            if outcome.is_complete() {
                Ok(())
            } else {
                Err(CliError::failed(format!(
                    "{job}: {} failed task(s) could not be retried",
                    outcome.not_retried.len()
                )))
            }
        }
    }
}

/// JSON streams each entry as its page arrives; a table is printed when the listing ends so its
/// columns fit (and, if the listing fails part-way, what arrived is printed before the error).
async fn prep_release(
    backend: &dyn BatchBackend,
    job: &JobId,
    options: ListPrepReleaseOptions,
    format: OutputFormat,
) -> Result<(), CliError> {
    let mut stream = backend.list_prep_release_status(job, options);
    let mut entries = Vec::new();
    let mut failure = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(entry) if format == OutputFormat::Json => output::prep_release_json(&entry),
            Ok(entry) => entries.push(entry),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    if format == OutputFormat::Table {
        if !entries.is_empty() {
            outln!("{}", output::prep_release_table(&entries));
        } else if failure.is_none() {
            outln!("{job}: no preparation or release task has run on any node");
        }
    }
    failure.map_or(Ok(()), |e| Err(e.into()))
}

/// `--range START..END`.
fn parse_range(text: &str) -> Result<std::ops::Range<u64>, CliError> {
    let bad = || {
        CliError::usage(format!(
            "--range {text:?}: write it as START..END (bytes, END exclusive)"
        ))
    };
    let (a, b) = text.split_once("..").ok_or_else(bad)?;
    let (a, b): (u64, u64) = (
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    );
    if a > b {
        return Err(bad());
    }
    Ok(a..b)
}

fn seconds(name: &str, value: f64) -> Result<Duration, CliError> {
    if (0.0..=1e9).contains(&value) {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(CliError::usage(format!(
            "{name}: must be a number of seconds between 0 and 1e9"
        )))
    }
}

fn wait_options(w: &WaitArgs) -> Result<WaitOptions, CliError> {
    Ok(WaitOptions::new(
        seconds("--poll-interval", w.poll_interval)?,
        seconds("--wait-timeout", w.wait_timeout)?,
    ))
}

async fn terminate(
    backend: Arc<dyn BatchBackend>,
    args: TerminateArgs,
    format: OutputFormat,
) -> Result<(), CliError> {
    let job = JobId::new(args.job)?;
    let wait = WaitOptions::new(
        seconds("--poll-interval", args.poll_interval)?,
        seconds("--wait-timeout", args.wait_timeout)?,
    );
    let mut options = TerminateJobOptions::default().with_force(args.force);
    if let Some(r) = args.reason {
        options = options.with_reason(r);
    }
    if let Some(etag) = args.if_match {
        options = options.with_preconditions(Preconditions::default().with_if_match(etag));
    }
    let outcome = backend.terminate_job(&job, options).await?;
    let final_status = if args.wait {
        match backend.wait_for_job(&job, wait).await {
            Ok(status) => Some(status),
            Err(e) => {
                // The terminate itself happened: say so (and its request id) before the
                // error of the wait.
                output::terminate(&job, &outcome, None, format);
                return Err(e.into());
            }
        }
    } else {
        None
    };
    output::terminate(&job, &outcome, final_status.as_ref(), format);
    Ok(())
}

/// Runs a `polybatch task ...` command.
pub async fn task(
    backend: Arc<dyn BatchBackend>,
    command: TaskCommand,
    format: OutputFormat,
) -> Result<(), CliError> {
    match command {
        TaskCommand::Status { job, task } => {
            let job = JobId::new(job)?;
            let task = TaskId::new(task)?;
            let status = backend
                .task_status(&job, &task, StatusOptions::default())
                .await?;
            output::task_status(&status, format);
            Ok(())
        }
        TaskCommand::Wait { job, task, wait } => {
            let job = JobId::new(job)?;
            let task = TaskId::new(task)?;
            let status = backend
                .wait_for_task(&job, &task, wait_options(&wait)?)
                .await?;
            output::task_status(&status, format);
            Ok(())
        }
        TaskCommand::Terminate {
            job,
            task,
            instance,
            if_match,
        } => {
            let job = JobId::new(job)?;
            let task = TaskId::new(task)?;
            let mut options = polybatch::TerminateTaskOptions::default();
            if let Some(n) = instance {
                options = options.with_instance(n);
            }
            if let Some(etag) = if_match {
                options = options.with_preconditions(Preconditions::default().with_if_match(etag));
            }
            let outcome = backend.terminate_task(&job, &task, options).await?;
            match format {
                OutputFormat::Json => output::print_json(&serde_json::json!({
                    "job_id": job,
                    "task_id": task,
                    "disposition": outcome.disposition,
                    "etag": outcome.etag,
                    "request_id": outcome.request_id,
                })),
                OutputFormat::Table => {
                    let mut line = format!("{job}/{task}: {}", outcome.disposition);
                    if let Some(rid) = &outcome.request_id {
                        line.push_str(&format!(" (request id {rid})"));
                    }
                    outln!("{line}");
                }
            }
            Ok(())
        }
        TaskCommand::Logs {
            job,
            task,
            stderr,
            range,
            instance,
        } => {
            let job = JobId::new(job)?;
            let task = TaskId::new(task)?;
            let mut options = polybatch::TaskOutputOptions::default().with_instance(instance);
            if stderr {
                options = options.stderr();
            }
            if let Some(r) = range {
                options = options.with_range(parse_range(&r)?);
            }
            let out = backend.task_output(&job, &task, options).await?;
            match format {
                OutputFormat::Json => output::print_json(&serde_json::json!({
                    "job_id": job,
                    "task_id": task,
                    "stream": if stderr { "stderr" } else { "stdout" },
                    "text": String::from_utf8_lossy(&out.bytes),
                    "complete": out.complete,
                    "location": out.location,
                    "request_id": out.request_id,
                })),
                OutputFormat::Table => {
                    output::write_stdout(&out.bytes);
                    if !out.complete {
                        let rest = out.location.as_deref().unwrap_or("not kept by the service");
                        eprintln!("(the service keeps only part of this output; the rest: {rest})");
                    }
                }
            }
            Ok(())
        }
        TaskCommand::Reactivate {
            job,
            task,
            if_match,
        } => {
            let job = JobId::new(job)?;
            let task = TaskId::new(task)?;
            let mut options = ReactivateTaskOptions::default();
            if let Some(etag) = if_match {
                options = options.with_preconditions(Preconditions::default().with_if_match(etag));
            }
            let outcome = backend.reactivate_task(&job, &task, options).await?;
            output::reactivate(&job, &task, &outcome, format);
            Ok(())
        }
    }
}
