//! `polybatch migrate`: export from one provider, translate the placement, report what
//! cannot be carried, submit on the other, and stop the source only once the target job is
//! confirmed. The plan is `polybatch::migrate::plan`, a pure function.

use polybatch::migrate::{self, PlacementMap};
use polybatch::{ExportJobOptions, JobId, StatusOptions, SubmitJobOptions, TerminateJobOptions};
use serde_json::json;

use crate::backend::build_for;
use crate::cli::MigrateArgs;
use crate::exit::CliError;
use crate::format::OutputFormat;
use crate::output::print_json;

/// Runs `polybatch migrate`.
pub async fn run(args: MigrateArgs, format: OutputFormat) -> Result<(), CliError> {
    if args.from == args.to {
        return Err(CliError::usage("--from and --to name the same provider"));
    }
    let job = JobId::new(args.job.clone())?;
    let map: PlacementMap =
        crate::lifecycle::read_file("--placement-map", "a placement map", &args.placement_map)?;
    let source = build_for(args.from, args.from_endpoint.clone()).await?;
    let target = build_for(args.to, args.to_endpoint.clone()).await?;
    let exported = source.export_job(&job, ExportJobOptions::default()).await?;
    let plan = migrate::plan(
        &exported,
        source.name(),
        &job,
        target.name(),
        &target.capabilities().submit,
        &map,
        args.drop_unportable,
    )?;
    let report =
        |submitted: Option<&polybatch::SubmitJobOutcome>, terminated: Option<&str>| match format {
            OutputFormat::Json => print_json(&json!({
                "source": {"provider": source.name(), "job_id": job},
                "target": {"provider": target.name(), "job_id": submitted.map(|s| s.job.clone()),
                           "created": submitted.map(|s| s.created)},
                "dry_run": args.dry_run,
                "ready": plan.ready,
                "unportable": plan.unportable,
                "dropped": args.drop_unportable && !plan.unportable.is_empty(),
                "source_terminated": terminated,
                "spec": plan.spec,
            })),
            OutputFormat::Table => {
                for field in &plan.unportable {
                    let verb = if args.drop_unportable {
                        "dropped"
                    } else {
                        "cannot carry"
                    };
                    eprintln!("{verb}: {field}");
                }
                match submitted {
                    Some(s) => {
                        let verb = if s.created {
                            "submitted"
                        } else {
                            "found (already migrated)"
                        };
                        outln!(
                            "{} {job} -> {} {}: {verb}",
                            source.name(),
                            target.name(),
                            s.job
                        );
                    }
                    None if args.dry_run => outln!(
                        "{} {job} -> {}: {} (dry run: nothing sent to {})",
                        source.name(),
                        target.name(),
                        if plan.ready { "ready" } else { "blocked" },
                        target.name()
                    ),
                    None => {}
                }
                if let Some(d) = terminated {
                    outln!("{} {job}: terminate {d}", source.name());
                }
            }
        };
    if args.dry_run || !plan.ready {
        report(None, None);
        return if plan.ready {
            Ok(())
        } else {
            Err(CliError::failed(format!(
                "{} field(s) cannot be carried to {}: nothing was submitted; pass \
                 --drop-unportable to leave them out",
                plan.unportable.len(),
                target.name()
            )))
        };
    }
    let submitted = target
        .submit_job(plan.spec.clone(), SubmitJobOptions::default())
        .await?;
    // Confirmed: the target answers for the job before the source is touched.
    target
        .job_status(&submitted.job, StatusOptions::default())
        .await?;
    let terminated = if args.terminate_source {
        let outcome = source
            .terminate_job(&job, TerminateJobOptions::default())
            .await?;
        Some(outcome.disposition.to_string())
    } else {
        None
    };
    report(Some(&submitted), terminated.as_deref());
    Ok(())
}
