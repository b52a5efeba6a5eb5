//! `polybatch jobs terminate`: many jobs with bounded concurrency, where one bad id or one
//! failed job never stops the rest.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use polybatch::wrap::ConcurrencyLimited;
use polybatch::{BatchBackend, JobId, TerminateDisposition, TerminateJobOptions};
use serde_json::json;

use crate::cli::BulkTerminateArgs;
use crate::exit::{CliError, error_json, one_line};
use crate::format::OutputFormat;
use crate::output::print_json;

/// One line of the ids file: a valid id, or the text and why it is not one.
#[derive(Debug)]
pub enum IdLine {
    /// A valid job id.
    Valid(JobId),
    /// Not a valid job id.
    Invalid {
        /// The text as written (trimmed).
        text: String,
        /// Why it is not an id.
        error: polybatch::Error,
    },
}

/// Parses an ids file: one id per line; blank lines and `#` comments (whole-line or trailing)
/// are skipped. Job ids never contain `#`, so a trailing comment cannot hide part of one.
pub fn parse_ids(text: &str) -> Vec<IdLine> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .map(id_line)
        .collect()
}

fn id_line(text: &str) -> IdLine {
    match JobId::new(text) {
        Ok(id) => IdLine::Valid(id),
        Err(error) => IdLine::Invalid {
            text: text.to_string(),
            error,
        },
    }
}

/// Drops every repeat of an id already listed, keeping the first, so no job is terminated
/// twice (the second call would only fail on the job the first stopped); returns how many were
/// dropped. `case_insensitive`: the provider treats ids differing only in case as one job
/// (Azure Batch does).
pub fn dedupe(lines: Vec<IdLine>, case_insensitive: bool) -> (Vec<IdLine>, usize) {
    let mut seen = std::collections::HashSet::new();
    let before = lines.len();
    let kept: Vec<IdLine> = lines
        .into_iter()
        .filter(|line| {
            let text = line_text(line);
            let key = if case_insensitive {
                text.to_lowercase()
            } else {
                text.to_string()
            };
            seen.insert(key)
        })
        .collect();
    let dropped = before - kept.len();
    (kept, dropped)
}

/// The ids of a bulk command (`jobs COMMAND`): its arguments, then the lines of its ids file;
/// none at all is a usage error.
pub fn collect_ids(
    ids: &[String],
    ids_file: Option<&Path>,
    command: &str,
) -> Result<Vec<IdLine>, CliError> {
    if ids.is_empty() && ids_file.is_none() {
        return Err(CliError::usage(format!(
            "no job ids: give them as arguments (`jobs {command} JOB...`) or with \
             --ids-file FILE (`-` for stdin)"
        )));
    }
    let mut lines: Vec<IdLine> = ids.iter().map(|id| id_line(id.trim())).collect();
    if let Some(path) = ids_file {
        lines.extend(parse_ids(&read_ids_file(path)?));
    }
    Ok(lines)
}

fn read_ids_file(path: &Path) -> Result<String, CliError> {
    if path.as_os_str() == "-" {
        // Someone typing at a terminal would otherwise see a command that seems to hang.
        if std::io::stdin().is_terminal() {
            eprintln!("reading job ids from stdin, one per line; end with Ctrl-D");
        }
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::usage(format!("--ids-file -: cannot read stdin: {e}")))?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).map_err(|e| {
            CliError::usage(format!("--ids-file {}: cannot read: {e}", path.display()))
        })
    }
}

/// What happened to one id.
enum Outcome {
    Terminated(TerminateDisposition),
    Failed(polybatch::Error),
}

/// Runs `polybatch jobs terminate`.
pub async fn terminate(
    backend: Arc<dyn BatchBackend>,
    args: BulkTerminateArgs,
    format: OutputFormat,
) -> Result<(), CliError> {
    let lines = collect_ids(&args.ids, args.ids_file.as_deref(), "terminate")?;
    let (lines, duplicates) = dedupe(lines, backend.name() == polybatch_azure::BACKEND);
    if duplicates > 0 && format == OutputFormat::Table {
        eprintln!("{duplicates} repeated job id(s) skipped: each job is terminated once");
    }
    let mut options = TerminateJobOptions::default().with_force(args.force);
    if let Some(r) = &args.reason {
        options = options.with_reason(r.clone());
    }
    // Check the options once against the capabilities: an option the provider does not support
    // would fail every id the same way, which is a usage error, not a per-job failure.
    backend
        .capabilities()
        .check_terminate(backend.name(), &options)?;

    let concurrency = usize::from(args.concurrency);
    let limited = ConcurrencyLimited::new(backend, concurrency);
    let mut progress = Progress::new(lines.len() as u64);

    let mut results: Vec<Option<Outcome>> = (0..lines.len()).map(|_| None).collect();
    let work = lines.iter().enumerate().map(|(i, line)| {
        let limited = &limited;
        let options = options.clone();
        async move {
            let outcome = match line {
                IdLine::Valid(id) => match limited.terminate_job(id, options).await {
                    Ok(o) => Outcome::Terminated(o.disposition),
                    Err(e) => Outcome::Failed(e),
                },
                IdLine::Invalid { error, .. } => Outcome::Failed(clone_error(error)),
            };
            (i, outcome)
        }
    });
    let mut stream = futures::stream::iter(work).buffer_unordered(concurrency);
    while let Some((i, outcome)) = stream.next().await {
        let id = line_text(&lines[i]);
        progress.record(id, &outcome);
        results[i] = Some(outcome);
    }
    progress.finish();

    let failed = summarize(&lines, &results, duplicates, format);
    if failed > 0 {
        Err(CliError::failed(format!(
            "{failed} of {} job(s) could not be terminated",
            lines.len()
        )))
    } else {
        Ok(())
    }
}

fn line_text(line: &IdLine) -> &str {
    match line {
        IdLine::Valid(id) => id.as_str(),
        IdLine::Invalid { text, .. } => text,
    }
}

/// `polybatch::Error` is not `Clone` (it may hold a source); an id error never does, so
/// rebuilding it from its parts loses nothing.
fn clone_error(e: &polybatch::Error) -> polybatch::Error {
    match e {
        polybatch::Error::InvalidInput { field, rule, ctx } => {
            polybatch::Error::invalid_input(field.clone(), rule.clone(), (**ctx).clone())
        }
        other => {
            polybatch::Error::invalid_input("job id", other.to_string(), other.context().clone())
        }
    }
}

fn describe(outcome: &Outcome) -> (&'static str, String) {
    match outcome {
        Outcome::Terminated(d) => ("ok", d.to_string()),
        Outcome::Failed(e) => ("failed", one_line(&e.to_string())),
    }
}

/// Prints the per-id summary in input order; returns how many failed.
fn summarize(
    lines: &[IdLine],
    results: &[Option<Outcome>],
    duplicates: usize,
    format: OutputFormat,
) -> usize {
    let mut failed = 0;
    let mut rows = Vec::new();
    for (line, outcome) in lines.iter().zip(results) {
        let id = line_text(line);
        match outcome {
            Some(Outcome::Terminated(d)) => rows.push(json!({
                "job_id": id, "ok": true, "disposition": d,
            })),
            Some(Outcome::Failed(e)) => {
                failed += 1;
                rows.push(json!({"job_id": id, "ok": false, "error": error_json(e)}));
            }
            None => {
                failed += 1;
                rows.push(json!({"job_id": id, "ok": false, "error": {"kind": "not_run"}}));
            }
        }
    }
    match format {
        OutputFormat::Json => print_json(&json!({
            "results": rows,
            "total": lines.len(),
            "failed": failed,
            "duplicates_skipped": duplicates,
        })),
        OutputFormat::Table => {
            if lines.is_empty() {
                outln!("no job ids given");
                return 0;
            }
            let rows: Vec<[String; 3]> = lines
                .iter()
                .zip(results)
                .map(|(line, outcome)| {
                    let (result, detail) = match outcome {
                        Some(o) => describe(o),
                        None => ("failed", "not run".to_string()),
                    };
                    [line_text(line).to_string(), result.into(), detail]
                })
                .collect();
            outln!(
                "{}",
                crate::output::boxed_or_plain(Some(["job", "result", "detail"]), &rows)
            );
            outln!(
                "{} job(s): {} ok, {failed} failed",
                lines.len(),
                lines.len() - failed
            );
        }
    }
    failed
}

/// A progress bar on a terminal; plain lines on stderr otherwise (logs, CI).
/// A progress bar on stderr when it is a terminal (`None` otherwise: logs stay plain).
pub fn progress_bar(total: u64, doing: &str) -> Option<ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(total);
        if let Ok(style) =
            ProgressStyle::with_template(&format!("{{bar:40}} {{pos}}/{{len}} {doing} {{msg}}"))
        {
            bar.set_style(style);
        }
        bar
    })
}

struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    done: u64,
}

impl Progress {
    fn new(total: u64) -> Self {
        let bar = progress_bar(total, "terminating");
        Progress {
            bar,
            total,
            done: 0,
        }
    }

    fn record(&mut self, id: &str, outcome: &Outcome) {
        self.done += 1;
        let done = self.done;
        let (result, detail) = describe(outcome);
        match &self.bar {
            Some(bar) => {
                bar.set_message(id.to_string());
                bar.inc(1);
            }
            None => eprintln!("[{done}/{}] {id}: {result}: {detail}", self.total),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_file_skips_blanks_and_comments() {
        let lines = parse_ids("# header\njob-1\n\n  job-2  # trailing\n   \nbad id\n#job-3\n");
        let texts: Vec<_> = lines.iter().map(line_text).collect();
        assert_eq!(texts, ["job-1", "job-2", "bad id"]);
        assert!(matches!(lines[0], IdLine::Valid(_)));
        assert!(matches!(lines[2], IdLine::Invalid { .. }));
    }

    #[test]
    fn repeats_are_dropped_keeping_the_first_and_case_only_where_the_provider_ignores_it() {
        let texts = |lines: &[IdLine]| {
            lines
                .iter()
                .map(line_text)
                .map(String::from)
                .collect::<Vec<_>>()
        };
        let (kept, dropped) = dedupe(
            parse_ids("job-1\nJob-1\njob-2\njob-1\nbad id\nbad id\n"),
            false,
        );
        assert_eq!(texts(&kept), ["job-1", "Job-1", "job-2", "bad id"]);
        assert_eq!(dropped, 2);
        let (kept, dropped) = dedupe(parse_ids("job-1\nJob-1\njob-2\njob-1\n"), true);
        assert_eq!(texts(&kept), ["job-1", "job-2"]);
        assert_eq!(dropped, 2);
    }

    #[test]
    fn invalid_id_error_survives_the_copy() {
        let lines = parse_ids("a/b");
        let IdLine::Invalid { error, .. } = &lines[0] else {
            panic!("expected invalid");
        };
        let copy = clone_error(error);
        assert_eq!(copy.to_string(), error.to_string());
    }
}
