//! Rendering results as human tables or stable JSON (shapes documented in `docs/cli.md`).
//!
//! JSON field names are stable: fields may be added, never renamed or removed.

use chrono::{DateTime, SecondsFormat, Utc};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use polybatch::{
    FailureInfo, JobId, JobStatus, PrepReleaseExecution, PrepReleaseStatus, ReactivateTaskOutcome,
    RetryFailedTasksOutcome, TaskId, TaskStatus, TerminateJobOutcome,
};
use serde_json::{Value, json};

use crate::exit::error_json;
use crate::format::OutputFormat;

/// Prints a JSON document on one line of stdout.
pub fn print_json(value: &Value) {
    println!("{value}");
}

/// A two-column "field | value" table, skipping unknown values.
fn kv_table(rows: Vec<(&str, Option<String>)>) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    for (k, v) in rows {
        if let Some(v) = v {
            table.add_row(vec![k.to_string(), v]);
        }
    }
    table
}

fn time(t: &Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// One line describing a failure.
pub fn failure_text(f: &FailureInfo) -> String {
    let mut parts = Vec::new();
    if let Some(c) = &f.category {
        parts.push(c.clone());
    }
    if let Some(c) = &f.code {
        parts.push(c.clone());
    }
    if let Some(m) = &f.message {
        parts.push(m.clone());
    }
    crate::exit::one_line(&parts.join(": "))
}

fn job_rows(s: &JobStatus) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("job", Some(s.job_id.to_string())),
        ("state", Some(s.state.to_string())),
        ("provider state", Some(s.provider_state.clone())),
        ("previous provider state", s.previous_provider_state.clone()),
        ("pool", s.pool_id.clone()),
        ("etag", s.etag.as_ref().map(|e| e.to_string())),
        ("last modified", time(&s.last_modified)),
        ("start", time(&s.start_time)),
        ("end", time(&s.end_time)),
        ("terminate reason", s.terminate_reason.clone()),
        (
            "tasks",
            s.task_counts.map(|c| {
                format!(
                    "{} pending, {} running, {} succeeded, {} failed",
                    c.pending, c.running, c.succeeded, c.failed
                )
            }),
        ),
        ("failure", s.failure.as_ref().map(failure_text)),
    ]
}

/// Prints a job's status.
pub fn job_status(s: &JobStatus, format: OutputFormat) {
    match format {
        OutputFormat::Json => print_json(&json!(s)),
        OutputFormat::Table => println!("{}", kv_table(job_rows(s))),
    }
}

/// Prints a task's status.
pub fn task_status(s: &TaskStatus, format: OutputFormat) {
    match format {
        OutputFormat::Json => print_json(&json!(s)),
        OutputFormat::Table => {
            let rows = vec![
                ("job", Some(s.job_id.to_string())),
                ("task", Some(s.task_id.to_string())),
                ("state", Some(s.state.to_string())),
                ("provider state", Some(s.provider_state.clone())),
                ("previous provider state", s.previous_provider_state.clone()),
                ("result", s.result.map(|r| r.to_string())),
                ("exit code", s.exit_code.map(|c| c.to_string())),
                ("retries", Some(s.retry_count.to_string())),
                ("requeues", Some(s.requeue_count.to_string())),
                ("instances", Some(s.instance_count.to_string())),
                ("etag", s.etag.as_ref().map(|e| e.to_string())),
                ("last modified", time(&s.last_modified)),
                ("start", time(&s.start_time)),
                ("end", time(&s.end_time)),
                ("failure", s.failure.as_ref().map(failure_text)),
            ];
            println!("{}", kv_table(rows));
        }
    }
}

/// Prints a terminate outcome, and the final status when the command waited.
pub fn terminate(
    job: &JobId,
    outcome: &TerminateJobOutcome,
    final_status: Option<&JobStatus>,
    format: OutputFormat,
) {
    match format {
        OutputFormat::Json => print_json(&json!({
            "job_id": job,
            "disposition": outcome.disposition,
            "etag": outcome.etag,
            "request_id": outcome.request_id,
            "final_status": final_status,
        })),
        OutputFormat::Table => {
            let mut line = format!("{job}: {}", outcome.disposition);
            if let Some(rid) = &outcome.request_id {
                line.push_str(&format!(" (request id {rid})"));
            }
            println!("{line}");
            if let Some(s) = final_status {
                println!("{}", kv_table(job_rows(s)));
            }
        }
    }
}

/// Prints a reactivate outcome.
pub fn reactivate(job: &JobId, task: &TaskId, o: &ReactivateTaskOutcome, format: OutputFormat) {
    match format {
        OutputFormat::Json => print_json(&json!({
            "job_id": job,
            "task_id": task,
            "etag": o.etag,
            "request_id": o.request_id,
        })),
        OutputFormat::Table => {
            let mut line = format!("{job}/{task}: reactivated");
            if let Some(rid) = &o.request_id {
                line.push_str(&format!(" (request id {rid})"));
            }
            println!("{line}");
        }
    }
}

/// Prints a retry-failed outcome.
pub fn retry_failed(job: &JobId, o: &RetryFailedTasksOutcome, format: OutputFormat) {
    match format {
        OutputFormat::Json => print_json(&json!({
            "job_id": job,
            "retried": o.retried,
            "not_retried": o
                .not_retried
                .iter()
                .map(|f| json!({"task_id": f.task_id, "error": error_json(&f.error)}))
                .collect::<Vec<_>>(),
        })),
        OutputFormat::Table => {
            if o.retried.is_empty() && o.not_retried.is_empty() {
                println!("{job}: no failed tasks to retry");
            }
            for t in &o.retried {
                println!("{job}/{t}: retried");
            }
            for f in &o.not_retried {
                println!(
                    "{job}/{}: not retried: {}",
                    f.task_id,
                    crate::exit::one_line(&f.error.to_string())
                );
            }
        }
    }
}

/// The header line of the streamed prep/release table.
pub const PREP_RELEASE_HEADER: &str =
    "NODE                 POOL             PREPARATION                RELEASE";

fn execution_text(e: &Option<PrepReleaseExecution>) -> String {
    match e {
        None => "-".to_string(),
        Some(e) => {
            let mut s = e.state.to_string();
            if let Some(r) = e.result {
                s.push_str(&format!(" {r}"));
            }
            if let Some(c) = e.exit_code {
                s.push_str(&format!(" exit {c}"));
            }
            s
        }
    }
}

/// Prints one prep/release record as soon as it arrives (a row, or one JSON Lines document).
pub fn prep_release_entry(entry: &PrepReleaseStatus, format: OutputFormat) {
    match format {
        OutputFormat::Json => print_json(&json!(entry)),
        OutputFormat::Table => println!(
            "{:<20} {:<16} {:<26} {}",
            entry.node_id,
            entry.pool_id.as_deref().unwrap_or("-"),
            execution_text(&entry.preparation),
            execution_text(&entry.release),
        ),
    }
}
