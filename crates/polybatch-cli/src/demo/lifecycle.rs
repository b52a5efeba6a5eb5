//! The demo's portable lifecycle: the same neutral spec submitted to both providers through
//! the trait, found again by its key and by its label, read in bulk, its output read, one
//! job moved from Azure to Tencent, and everything cleaned up by label. Each step is a check.

use futures::TryStreamExt;
use polybatch::migrate::{self, PlacementMap};
use polybatch::{
    BatchBackendExt, DeleteJobOptions, ExportJobOptions, IdempotencyKey, JobId, JobSpec,
    JobStatusesOptions, ListJobsOptions, Placement, StatusOptions, SubmitJobOptions, TaskId,
    TaskOutputOptions, TaskSpec, TerminateJobOptions, WaitOptions,
};

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
            .section("The portable lifecycle: one neutral spec on both providers");
        let mut jobs = Vec::new();
        for p in [P::Azure, P::Tencent] {
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
        if let Some((_, azure_job)) = jobs.iter().find(|(p, _)| *p == P::Azure) {
            self.migrate_to_tencent(azure_job).await;
        }
        for p in [P::Azure, P::Tencent] {
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

    async fn read_output(&mut self, p: P, job: &JobId) {
        let Ok(task) = TaskId::new("greet") else {
            return;
        };
        let out = self
            .backend(p)
            .task_output(job, &task, TaskOutputOptions::default())
            .await;
        let (ok, detail) = match &out {
            Ok(o) => (
                o.bytes == GREETING.as_bytes(),
                format!("{:?}", String::from_utf8_lossy(&o.bytes)),
            ),
            Err(e) => (false, error_text(e)),
        };
        self.report
            .check(format!("{} task_output(stdout)", p.name()), ok, detail);
    }

    async fn migrate_to_tencent(&mut self, job: &JobId) {
        let (azure, tencent) = (self.azure.clone(), self.tencent.clone());
        let step = "migrate azure -> tencent";
        let exported = match azure.export_job(job, ExportJobOptions::default()).await {
            Ok(e) => e,
            Err(e) => return self.report.check(step, false, error_text(&e)),
        };
        let map = PlacementMap::new(placement(P::Azure), placement(P::Tencent));
        let plan = match migrate::plan(
            &exported,
            azure.name(),
            job,
            tencent.name(),
            &tencent.capabilities().submit,
            &map,
            false,
        ) {
            Ok(p) if p.ready => p,
            Ok(p) => return self.report.check(step, false, p.unportable.join("; ")),
            Err(e) => return self.report.check(step, false, error_text(&e)),
        };
        let moved = match tencent
            .submit_job(plan.spec, SubmitJobOptions::default())
            .await
        {
            Ok(o) => o,
            Err(e) => return self.report.check(step, false, error_text(&e)),
        };
        // The source is stopped only once the target answers for the new job.
        let confirmed = tencent
            .job_status(&moved.job, StatusOptions::default())
            .await;
        let stopped = match &confirmed {
            Ok(_) => azure
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
                    "{job} now runs as tencent {} (same labels); source terminate {d}",
                    moved.job
                ),
            ),
            Err(e) => self.report.check(step, false, error_text(&e)),
        }
    }

    async fn clean_up(&mut self, p: P) {
        let backend = self.backend(p).clone();
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
        for s in &found {
            // The simulation's clock is moved by hand; a terminate finishes once it moves.
            if !s.state.is_terminal() {
                let _ = backend
                    .terminate_job(&s.job_id, TerminateJobOptions::default())
                    .await;
                self.world.advance(30);
                if let Err(e) = backend.wait_for_job(&s.job_id, wait).await {
                    failures.push(format!("{}: {}", s.job_id, error_text(&e)));
                    continue;
                }
            }
            if let Err(e) = backend
                .delete_job(&s.job_id, DeleteJobOptions::default())
                .await
            {
                failures.push(format!("{}: {}", s.job_id, error_text(&e)));
            }
        }
        self.world.advance(30);
        let left: usize = backend
            .list_jobs(ListJobsOptions::default().with_label(LABEL.0, LABEL.1))
            .try_collect::<Vec<_>>()
            .await
            .map_or(usize::MAX, |v| v.len());
        self.report.check(
            step,
            failures.is_empty() && left == 0,
            if failures.is_empty() {
                format!("{} job(s) terminated and deleted; none left", found.len())
            } else {
                failures.join("; ")
            },
        );
    }
}
