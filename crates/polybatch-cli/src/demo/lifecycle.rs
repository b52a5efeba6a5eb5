//! The demo's portable lifecycle: the same neutral spec submitted to all three providers
//! through the trait, found again by its key and by its label, read in bulk, its output read
//! (or, where the provider keeps output elsewhere, where it is), one job moved from Azure to
//! Tencent and one from Tencent to AWS, and everything cleaned up by label (deleted, or on AWS,
//! which cannot delete jobs, terminated). Each step is a check.

use futures::TryStreamExt;
use polybatch::migrate::{self, PlacementMap};
use polybatch::{
    BatchBackendExt, DeleteJobOptions, ExportJobOptions, IdempotencyKey, JobId, JobSpec,
    JobStatusesOptions, ListJobsOptions, ListTasksOptions, Placement, StatusOptions,
    SubmitJobOptions, TaskId, TaskOutputOptions, TaskSpec, TerminateJobOptions, WaitOptions,
};
use polybatch_emulator::aws::{SEEDED_JOB_DEFINITION, SEEDED_QUEUE};

use super::{Demo, P, error_text};

/// The label every job of this section carries, so cleanup finds exactly them.
const LABEL: (&str, &str) = ("demo-section", "portable-lifecycle");

/// What the demo's neutral task writes to stdout.
const GREETING: &str = "hello from a portable job\n";

fn placement(p: P) -> Placement {
    match p {
        P::Azure => Placement::AzurePool {
            pool_id: "pool-portable".into(),
        },
        P::Tencent => Placement::TencentManaged {
            zone: "ap-guangzhou-3".into(),
            instance_type: "SA5.MEDIUM4".into(),
            image_id: "img-eb30mz89".into(),
        },
        P::Aws => Placement::AwsJobQueue {
            job_queue: SEEDED_QUEUE.into(),
            job_definition: SEEDED_JOB_DEFINITION.into(),
        },
    }
}

fn spec(p: P) -> Option<JobSpec> {
    let task = TaskSpec::shell(TaskId::new("greet").ok()?, "echo hello")
        .with_env(super::setup::RUN_SECONDS, "2")
        .with_env("POLYBATCH_STDOUT", GREETING);
    let key = IdempotencyKey::new(format!("demo-portable-{}", p.name())).ok()?;
    Some(
        JobSpec::new("demo-portable", placement(p), vec![task])
            .with_label(LABEL.0, LABEL.1)
            .with_idempotency_key(key),
    )
}

impl Demo {
    /// Runs the section; the jobs it makes are gone at its end.
    pub(super) async fn portable_lifecycle(&mut self) {
        self.report
            .section("The portable lifecycle: one neutral spec on every provider");
        let mut jobs = Vec::new();
        for p in P::ALL {
            if let Some(job) = self.submit_twice(p).await {
                jobs.push((p, job));
            }
        }
        for (p, job) in jobs.clone() {
            self.find_by_label_and_in_bulk(p, &job).await;
        }
        self.world.advance(10);
        for (p, job) in jobs.clone() {
            self.read_output(p, &job).await;
        }
        for (from, to) in [(P::Azure, P::Tencent), (P::Tencent, P::Aws)] {
            if let Some((_, job)) = jobs.iter().find(|(p, _)| *p == from) {
                self.migrate(from, to, job).await;
            }
        }
        for p in P::ALL {
            self.clean_up(p).await;
        }
    }

    async fn submit_twice(&mut self, p: P) -> Option<JobId> {
        let backend = self.backend(p).clone();
        let spec = spec(p)?;
        let step = format!("{} submit_job(neutral spec)", p.name());
        let first = match backend
            .submit_job(spec.clone(), SubmitJobOptions::default())
            .await
        {
            Ok(o) => o,
            Err(e) => {
                self.report.check(step, false, error_text(&e));
                return None;
            }
        };
        self.report
            .check(step, first.created, format!("{} created", first.job));
        let again = backend.submit_job(spec, SubmitJobOptions::default()).await;
        let (ok, detail) = match &again {
            Ok(o) => (
                !o.created && o.job == first.job,
                format!("found {} again, created: {}", o.job, o.created),
            ),
            Err(e) => (false, error_text(e)),
        };
        self.report.check(
            format!("{} submit_job(same key again)", p.name()),
            ok,
            detail,
        );
        Some(first.job)
    }

    async fn find_by_label_and_in_bulk(&mut self, p: P, job: &JobId) {
        let backend = self.backend(p).clone();
        let listed: Result<Vec<_>, _> = backend
            .list_jobs(ListJobsOptions::default().with_label(LABEL.0, LABEL.1))
            .try_collect()
            .await;
        let (ok, detail) = match &listed {
            Ok(found) => (
                found.iter().any(|s| &s.job_id == job),
                format!("{} job(s) carry {}={}", found.len(), LABEL.0, LABEL.1),
            ),
            Err(e) => (false, error_text(e)),
        };
        self.report
            .check(format!("{} list_jobs(by label)", p.name()), ok, detail);
        let unknown = JobId::new("job-00000000").ok();
        let asked: Vec<JobId> = std::iter::once(job.clone()).chain(unknown).collect();
        let answers = backend
            .job_statuses(&asked, JobStatusesOptions::default())
            .await;
        let (ok, detail) = match &answers {
            Ok(a) => (
                a.len() == 2
                    && a[0].1.is_ok()
                    && matches!(a[1].1, Err(polybatch::Error::NotFound { .. })),
                format!(
                    "{} answered; the unknown id is not found, not dropped",
                    a.len()
                ),
            ),
            Err(e) => (false, error_text(e)),
        };
        self.report.check(
            format!("{} job_statuses([job, unknown])", p.name()),
            ok,
            detail,
        );
    }

    /// Reads the output of the job's first task (as `list_tasks` names it: each provider
    /// names the one task its own way). A provider that keeps output elsewhere
    /// (`task_output_bytes` false) answers where it is.
    async fn read_output(&mut self, p: P, job: &JobId) {
        let backend = self.backend(p).clone();
        let step = format!("{} task_output(stdout)", p.name());
        let tasks: Result<Vec<_>, _> = backend
            .list_tasks(job, ListTasksOptions::default())
            .try_collect()
            .await;
        let task = match tasks.map(|t| t.into_iter().next()) {
            Ok(Some(t)) => t.task_id,
            Ok(None) => return self.report.check(step, false, "list_tasks found no task"),
            Err(e) => return self.report.check(step, false, error_text(&e)),
        };
        let out = backend
            .task_output(job, &task, TaskOutputOptions::default())
            .await;
        let bytes = backend.capabilities().task_output_bytes;
        let (step, ok, detail) = match &out {
            Ok(o) if bytes => (
                step,
                o.bytes == GREETING.as_bytes(),
                format!("{:?}", String::from_utf8_lossy(&o.bytes)),
            ),
            Ok(o) => (
                format!(
                    "{} task_output {job}/{task}: no bytes, where the output is",
                    p.name()
                ),
                o.bytes.is_empty() && !o.complete && o.location.is_some(),
                o.location.clone().unwrap_or_else(|| "no location".into()),
            ),
            Err(e) => (step, false, error_text(e)),
        };
        self.report.check(step, ok, detail);
    }

    /// Moves `job` from `from` to `to`: export, plan to the target's submit rules with the
    /// placement mapped, submit, and stop the source once the target answers for the new job.
    async fn migrate(&mut self, from: P, to: P, job: &JobId) {
        let (source, target) = (self.backend(from).clone(), self.backend(to).clone());
        let step = format!("migrate {} -> {}", from.name(), to.name());
        let exported = match source.export_job(job, ExportJobOptions::default()).await {
            Ok(e) => e,
            Err(e) => return self.report.check(step, false, error_text(&e)),
        };
        let map = PlacementMap::new(placement(from), placement(to));
        let plan = match migrate::plan(
            &exported,
            source.name(),
            job,
            target.name(),
            &target.capabilities().submit,
            &map,
            false,
        ) {
            Ok(p) if p.ready => p,
            Ok(p) => return self.report.check(step, false, p.unportable.join("; ")),
            Err(e) => return self.report.check(step, false, error_text(&e)),
        };
        let moved = match target
            .submit_job(plan.spec, SubmitJobOptions::default())
            .await
        {
            Ok(o) => o,
            Err(e) => return self.report.check(step, false, error_text(&e)),
        };
        // The source is stopped only once the target answers for the new job.
        let confirmed = target
            .job_status(&moved.job, StatusOptions::default())
            .await;
        let stopped = match &confirmed {
            Ok(_) => source
                .terminate_job(job, TerminateJobOptions::default())
                .await
                .map(|o| o.disposition.to_string()),
            Err(e) => Err(polybatch::Error::invalid_state(
                None,
                polybatch::ErrorContext::new("demo", polybatch::Operation::Other("migrate"))
                    .with_message(error_text(e)),
            )),
        };
        match stopped {
            Ok(d) => self.report.check(
                step,
                true,
                format!(
                    "{job} now runs as {} {} (same labels); source terminate {d}",
                    to.name(),
                    moved.job
                ),
            ),
            Err(e) => self.report.check(step, false, error_text(&e)),
        }
    }

    /// Removes every job this section made, found by its label: each one still running is
    /// terminated, then deleted. Where jobs cannot be deleted (`delete_job` false: AWS, whose
    /// finished jobs age out by themselves), each is terminated and must be terminal.
    async fn clean_up(&mut self, p: P) {
        let backend = self.backend(p).clone();
        let deletes = backend.capabilities().delete_job;
        let step = format!("{} cleanup by label", p.name());
        let found: Vec<_> = match backend
            .list_jobs(ListJobsOptions::default().with_label(LABEL.0, LABEL.1))
            .try_collect()
            .await
        {
            Ok(f) => f,
            Err(e) => return self.report.check(step, false, error_text(&e)),
        };
        let wait = WaitOptions::new(
            std::time::Duration::from_millis(50),
            std::time::Duration::from_secs(30),
        );
        let mut failures = Vec::new();
        // What each terminate answered (where jobs cannot be deleted, every job is terminated).
        let mut dispositions = Vec::new();
        for s in &found {
            if !s.state.is_terminal() || !deletes {
                match backend
                    .terminate_job(&s.job_id, TerminateJobOptions::default())
                    .await
                {
                    Ok(o) => dispositions.push(o.disposition.to_string()),
                    Err(e) => {
                        failures.push(format!("{}: {}", s.job_id, error_text(&e)));
                        continue;
                    }
                }
            }
            // The simulation's clock is moved by hand; a terminate finishes once it moves.
            if !s.state.is_terminal() {
                self.world.advance(30);
                if let Err(e) = backend.wait_for_job(&s.job_id, wait).await {
                    failures.push(format!("{}: {}", s.job_id, error_text(&e)));
                    continue;
                }
            }
            if deletes
                && let Err(e) = backend
                    .delete_job(&s.job_id, DeleteJobOptions::default())
                    .await
            {
                failures.push(format!("{}: {}", s.job_id, error_text(&e)));
            }
        }
        self.world.advance(30);
        let left = backend
            .list_jobs(ListJobsOptions::default().with_label(LABEL.0, LABEL.1))
            .try_collect::<Vec<_>>()
            .await;
        let left = match left {
            Ok(l) => l,
            Err(e) => return self.report.check(step, false, error_text(&e)),
        };
        if !failures.is_empty() {
            return self.report.check(step, false, failures.join("; "));
        }
        if deletes {
            self.report.check(
                step,
                left.is_empty(),
                format!(
                    "{} job(s) found, {} terminated, all deleted; {} left",
                    found.len(),
                    dispositions.len(),
                    left.len()
                ),
            );
        } else {
            let running: Vec<String> = left
                .iter()
                .filter(|s| !s.state.is_terminal())
                .map(|s| format!("{} {}", s.job_id, s.state))
                .collect();
            self.report.check(
                format!("{step} (jobs cannot be deleted: each is terminated instead)"),
                running.is_empty() && left.len() == found.len(),
                if running.is_empty() {
                    format!(
                        "{} job(s) found, terminate said {}; every one is terminal and stays \
                         listed until the service ages it out",
                        found.len(),
                        dispositions.join(", ")
                    )
                } else {
                    format!("still running: {}", running.join(", "))
                },
            );
        }
    }
}
