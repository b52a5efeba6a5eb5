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

/// Writes bytes to stdout as they are; a closed stdout ends the program as `outln!` does.
pub fn write_stdout(bytes: &[u8]) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        std::process::exit(if e.kind() == std::io::ErrorKind::BrokenPipe {
            141
        } else {
            74
        });
    }
}

/// Prints a JSON document on one line of stdout.
pub fn print_json(value: &Value) {
    outln!("{value}");
}

/// A two-column "field | value" table, skipping unknown values: boxed to fit a terminal, or,
/// when there is no terminal width to fit (piped, redirected), plain aligned lines that a
/// script can cut.
fn kv_table(rows: Vec<(&str, Option<String>)>) -> String {
    let rows: Vec<[String; 2]> = rows
        .into_iter()
        .filter_map(|(k, v)| Some([k.to_string(), v?]))
        .collect();
    boxed_or_plain(None, &rows)
}

/// `rows` (under `header`, when given) as a comfy table when the terminal reports a width,
/// else as [`plain_table`] columns.
pub fn boxed_or_plain<const N: usize>(header: Option<[&str; N]>, rows: &[[String; N]]) -> String {
    let mut table = Table::new();
    if table.width().is_none() {
        return match header {
            Some(h) => plain_table(h, rows),
            None => plain_rows(rows),
        };
    }
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if let Some(h) = header {
        table.set_header(h.to_vec());
    }
    for row in rows {
        table.add_row(row.to_vec());
    }
    table.to_string()
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
        ("name", s.name.clone()),
        ("state", Some(s.state.to_string())),
        ("provider state", Some(s.provider_state.clone())),
        ("previous provider state", s.previous_provider_state.clone()),
        ("pool", s.pool_id.clone()),
        ("created", time(&s.creation_time)),
        (
            "labels",
            (!s.labels.is_empty()).then(|| {
                s.labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }),
        ),
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
        OutputFormat::Table => outln!("{}", kv_table(job_rows(s))),
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
            outln!("{}", kv_table(rows));
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
            outln!("{line}");
            if let Some(s) = final_status {
                outln!("{}", kv_table(job_rows(s)));
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
            outln!("{line}");
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
            "resubmitted": o.resubmitted,
        })),
        OutputFormat::Table => {
            if o.retried.is_empty() && o.not_retried.is_empty() {
                outln!("{job}: no failed tasks to retry");
            }
            for t in &o.retried {
                outln!("{job}/{t}: retried");
            }
            for new in &o.resubmitted {
                outln!("{job}: resubmitted as {new}");
            }
            for f in &o.not_retried {
                outln!(
                    "{job}/{}: not retried: {}",
                    f.task_id,
                    crate::exit::one_line(&f.error.to_string())
                );
            }
        }
    }
}

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

/// Prints one prep/release record as one JSON Lines document, as soon as it arrives.
pub fn prep_release_json(entry: &PrepReleaseStatus) {
    print_json(&json!(entry));
}

/// The prep/release records as a plain table whose columns fit their widest value: node ids
/// (often 30+ characters) are never cut, and the layout needs no terminal width.
pub fn prep_release_table(entries: &[PrepReleaseStatus]) -> String {
    let rows: Vec<[String; 4]> = entries
        .iter()
        .map(|e| {
            [
                e.node_id.clone(),
                e.pool_id.clone().unwrap_or_else(|| "-".into()),
                execution_text(&e.preparation),
                execution_text(&e.release),
            ]
        })
        .collect();
    plain_table(["NODE", "POOL", "PREPARATION", "RELEASE"], &rows)
}

/// Job statuses as a plain table (id, state, provider state, name, created, labels), its
/// columns as wide as their widest value.
pub fn jobs_table(jobs: &[JobStatus]) -> String {
    let rows: Vec<[String; 6]> = jobs
        .iter()
        .map(|s| {
            let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            [
                s.job_id.to_string(),
                s.state.to_string(),
                s.provider_state.clone(),
                s.name.clone().unwrap_or_else(|| "-".into()),
                time(&s.creation_time).unwrap_or_else(|| "-".into()),
                if labels.is_empty() {
                    "-".into()
                } else {
                    labels.join(",")
                },
            ]
        })
        .collect();
    plain_table(
        ["JOB", "STATE", "PROVIDER", "NAME", "CREATED", "LABELS"],
        &rows,
    )
}

/// [`plain_table`] without a header line.
fn plain_rows<const N: usize>(rows: &[[String; N]]) -> String {
    let empty = [""; N];
    let table = plain_table(empty, rows);
    table
        .split_once('\n')
        .map_or(String::new(), |(_, rest)| rest.to_string())
}

/// Left-aligned columns two spaces apart, each as wide as its widest cell (in characters).
fn plain_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == N {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.trim_end().to_string()
    };
    let mut lines = vec![line(header.to_vec())];
    lines.extend(
        rows.iter()
            .map(|r| line(r.iter().map(String::as_str).collect())),
    );
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_rows_are_plain_without_a_terminal() {
        // Tests run without a terminal: no width, so no box characters.
        let text = kv_table(vec![
            ("job", Some("j-1".into())),
            ("etag", None),
            ("provider state", Some("RUNNING".into())),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            ["job             j-1", "provider state  RUNNING"],
            "{text}"
        );
    }

    #[test]
    fn prep_release_columns_fit_the_longest_node_id() {
        let long = "tvmps_0f3c2a9e1b7d4c5a8e6f0b2d4c6a8e0f_d";
        let mut a = PrepReleaseStatus::new(long);
        a.pool_id = Some("render-pool".into());
        let b = PrepReleaseStatus::new("tvm-1");
        let table = prep_release_table(&[a, b]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(
            lines[1].starts_with(&format!("{long}  render-pool")),
            "{table}"
        );
        // Every row's POOL column starts where the header's does.
        let pool_at = lines[0].find("POOL").unwrap();
        assert_eq!(pool_at, long.len() + 2);
        assert_eq!(lines[1].find("render-pool"), Some(pool_at), "{table}");
        assert_eq!(&lines[2][pool_at..pool_at + 1], "-", "{table}");
        assert!(
            lines.iter().all(|l| l == &l.trim_end()),
            "no trailing blanks"
        );
    }
}
