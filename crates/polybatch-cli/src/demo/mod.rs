//! `polybatch demo`: an in-process emulator, the same work created on three providers (Azure
//! Batch, Tencent Cloud Batch, AWS Batch) through their own APIs, then everything driven
//! through `BatchBackend` with the real clients (real HTTP, real signing). Every step is
//! checked against the documented behaviour; the demo exits 0 only if all of them behaved.
//!
//! Simulated time is moved forward instead of waited for, so the demo takes seconds.

mod lifecycle;
mod report;
mod setup;

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use polybatch::{
    BatchBackend, DeleteJobOptions, Error, JobState, JobStatus, ListPrepReleaseOptions,
    PrepReleaseState, ReactivateTaskOptions, RetryFailedTasksOptions, StatusOptions, TaskResult,
    TaskState, TaskStatus, TerminateDisposition, TerminateJobOptions,
};

use crate::cli::DemoArgs;
use crate::exit::{CliError, one_line};
use report::{Report, Row};
use setup::{FAILING_EXIT_CODE, Ids, Work, World};

/// The reason the demo records when it terminates the long Azure job.
const TERMINATE_REASON: &str = "DemoNoLongerNeeded";

/// Which provider a step talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum P {
    Azure,
    Tencent,
    Aws,
}

impl P {
    /// Every provider, in the order the demo shows them.
    const ALL: [P; 3] = [P::Azure, P::Tencent, P::Aws];

    fn name(self) -> &'static str {
        match self {
            P::Azure => "azure",
            P::Tencent => "tencent",
            P::Aws => "aws",
        }
    }
}

/// `neutral (provider)`, the demo's way of showing a state.
fn job_text(s: &JobStatus) -> String {
    format!("{} ({})", s.state, s.provider_state)
}

fn task_text(s: &TaskStatus) -> String {
    let mut t = format!("{} ({})", s.state, s.provider_state);
    if let Some(c) = s.exit_code {
        t.push_str(&format!(", exit {c}"));
    }
    t
}

fn error_text(e: &Error) -> String {
    one_line(&e.to_string())
}

struct Demo {
    world: World,
    azure: Arc<dyn BatchBackend>,
    tencent: Arc<dyn BatchBackend>,
    aws: Arc<dyn BatchBackend>,
    report: Report,
    ids: HashMap<(P, Work), Ids>,
}

/// Runs the demo.
pub async fn run(_args: DemoArgs) -> Result<(), CliError> {
    let report = Report::new();
    report.section("Starting the emulator in-process");
    let world = World::start().await?;
    report.say(format!(
        "Azure Batch, Tencent Cloud Batch and AWS Batch on {} (real HTTP, Shared Key, \
         TC3-HMAC-SHA256 and SigV4 signing)",
        world.running.url()
    ));
    report.say(format!(
        "Tencent client rate: {} requests/s per action (emulator limit {}/s; Tencent documents 2-3/s)",
        setup::DEMO_CLIENT_RATE,
        setup::DEMO_SERVER_RATE
    ));
    let (azure, tencent, aws) = world.backends();
    let mut demo = Demo {
        world,
        azure,
        tencent,
        aws,
        report,
        ids: HashMap::new(),
    };
    demo.create_work().await?;
    demo.first_look().await;
    demo.world.advance(10);
    demo.after_ten_seconds().await;
    demo.terminate_tencent().await;
    demo.terminate_aws().await;
    demo.reactivate_azure().await;
    demo.retry_tencent().await;
    demo.retry_aws().await;
    demo.prep_release_and_terminate_azure().await;
    demo.unsupported_before_io().await;
    demo.world.advance(10);
    demo.final_table().await;
    demo.portable_lifecycle().await;

    demo.report.finish();
    let Demo { world, report, .. } = demo;
    world.running.shutdown().await;
    let failures = report.failures();
    if failures.is_empty() {
        outln!("Every step behaved as documented.");
        Ok(())
    } else {
        Err(CliError::failed(format!(
            "demo: {} step(s) did not behave as documented: {}",
            failures.len(),
            failures.join("; ")
        )))
    }
}

impl Demo {
    fn backend(&self, p: P) -> &Arc<dyn BatchBackend> {
        match p {
            P::Azure => &self.azure,
            P::Tencent => &self.tencent,
            P::Aws => &self.aws,
        }
    }

    fn ids(&self, p: P, w: Work) -> Option<Ids> {
        self.ids.get(&(p, w)).cloned()
    }

    /// Creates the same work on every provider through its own API. The long Tencent job
    /// is terminated at once: a fresh job is SUBMITTED for its first simulated second, and
    /// TerminateJob is documented as refused then.
    async fn create_work(&mut self) -> Result<(), CliError> {
        self.report
            .section("Creating work through each provider's own API");
        let long = setup::create_tencent(&self.world.tencent, Work::RunsLong).await?;
        let refused = self
            .tencent
            .terminate_job(&long.job, TerminateJobOptions::default())
            .await;
        self.report.say(format!(
            "tencent SubmitJob {} ({}: 3 instances, 1 hour each)",
            long.job,
            Work::RunsLong.label()
        ));
        // Refused for now, retryably: the job leaves SUBMITTED by itself.
        match refused {
            Err(e) if e.is_retryable() => self.report.check(
                format!(
                    "tencent terminate_job {} while SUBMITTED is refused",
                    long.job
                ),
                e.code().is_some(),
                error_text(&e),
            ),
            other => self.report.check(
                format!(
                    "tencent terminate_job {} while SUBMITTED is refused",
                    long.job
                ),
                false,
                format!("expected a retryable refusal, got {other:?}"),
            ),
        }
        self.ids.insert((P::Tencent, Work::RunsLong), long);
        for w in [Work::Succeeds, Work::Fails] {
            let ids = setup::create_tencent(&self.world.tencent, w).await?;
            self.report
                .say(format!("tencent SubmitJob {} ({})", ids.job, w.label()));
            self.ids.insert((P::Tencent, w), ids);
        }
        for w in Work::ALL {
            let ids = setup::create_azure(&self.world.azure, w).await?;
            self.report.say(format!(
                "azure Job_Add {} + Task_Add ({}){}",
                ids.job,
                w.label(),
                if w == Work::RunsLong {
                    ": 3 tasks, job preparation and release tasks"
                } else {
                    ""
                }
            ));
            self.ids.insert((P::Azure, w), ids);
        }
        for w in Work::ALL {
            let ids = setup::create_aws(&self.world.aws, w).await?;
            self.report.say(format!(
                "aws SubmitJob {} ({}){}",
                ids.job,
                w.label(),
                if w == Work::RunsLong {
                    ": an array job of 3 children"
                } else {
                    ""
                }
            ));
            self.ids.insert((P::Aws, w), ids);
        }
        Ok(())
    }

    async fn job(&mut self, p: P, w: Work) -> Option<JobStatus> {
        let ids = self.ids(p, w)?;
        match self
            .backend(p)
            .job_status(&ids.job, StatusOptions::default())
            .await
        {
            Ok(s) => Some(s),
            Err(e) => {
                self.report.check(
                    format!("{} job_status {}", p.name(), ids.job),
                    false,
                    error_text(&e),
                );
                None
            }
        }
    }

    async fn task(&mut self, p: P, w: Work) -> Option<TaskStatus> {
        let ids = self.ids(p, w)?;
        match self
            .backend(p)
            .task_status(&ids.job, &ids.task, StatusOptions::default())
            .await
        {
            Ok(s) => Some(s),
            Err(e) => {
                self.report.check(
                    format!("{} task_status {}/{}", p.name(), ids.job, ids.task),
                    false,
                    error_text(&e),
                );
                None
            }
        }
    }

    /// Prints every job and task, and checks them against `expect` when given.
    async fn survey(&mut self, expect: Option<&dyn Fn(P, Work) -> (JobState, TaskState)>) {
        for p in P::ALL {
            for w in Work::ALL {
                let (Some(job), Some(task)) = (self.job(p, w).await, self.task(p, w).await) else {
                    continue;
                };
                let line = format!(
                    "{:<7} {:<36} job {}; task {} {}",
                    p.name(),
                    job.job_id.as_str(),
                    job_text(&job),
                    task.task_id,
                    task_text(&task)
                );
                match expect {
                    None => self.report.say(line),
                    Some(f) => {
                        let (js, ts) = f(p, w);
                        let ok = job.state == js && task.state == ts;
                        let detail = if ok {
                            String::new()
                        } else {
                            format!("expected job {js}, task {ts}")
                        };
                        self.report.check(line, ok, detail);
                    }
                }
            }
        }
    }

    async fn first_look(&mut self) {
        self.report
            .section("Status of every job and task, through BatchBackend");
        self.survey(None).await;
    }

    async fn after_ten_seconds(&mut self) {
        self.report
            .section("After 10 simulated seconds: the short work has finished");
        let expect = |p: P, w: Work| match (p, w) {
            (P::Azure, Work::Succeeds) => (JobState::Active, TaskState::Succeeded),
            (P::Azure, Work::Fails) => (JobState::Active, TaskState::Failed),
            (P::Azure, Work::RunsLong) => (JobState::Active, TaskState::Running),
            (P::Tencent, Work::Succeeds) => (JobState::Succeeded, TaskState::Succeeded),
            (P::Tencent, Work::Fails) => (JobState::Failed, TaskState::Failed),
            (P::Tencent, Work::RunsLong) => (JobState::Running, TaskState::Running),
            (P::Aws, Work::Succeeds) => (JobState::Succeeded, TaskState::Succeeded),
            (P::Aws, Work::Fails) => (JobState::Failed, TaskState::Failed),
            (P::Aws, Work::RunsLong) => (JobState::Running, TaskState::Running),
        };
        self.survey(Some(&expect)).await;
        if let Some(t) = self.task(P::Azure, Work::Fails).await {
            self.report.check(
                "azure failed task reports its exit code and failure",
                t.exit_code == Some(FAILING_EXIT_CODE)
                    && t.result == Some(TaskResult::Failure)
                    && t.failure.is_some(),
                format!(
                    "exit {}, result {}, failure {}",
                    t.exit_code.map_or("-".into(), |c| c.to_string()),
                    t.result.map_or("-".into(), |r| r.to_string()),
                    t.failure
                        .as_ref()
                        .map_or("-".into(), crate::output::failure_text)
                ),
            );
        }
    }

    async fn terminate(
        &mut self,
        p: P,
        w: Work,
        options: TerminateJobOptions,
        expect: TerminateDisposition,
        why: &str,
    ) {
        let Some(ids) = self.ids(p, w) else { return };
        let step = format!("{} terminate_job {}: {why}", p.name(), ids.job);
        match self.backend(p).terminate_job(&ids.job, options).await {
            Ok(o) if o.disposition == expect => {
                self.report.check(step, true, o.disposition.to_string())
            }
            Ok(o) => self.report.check(
                step,
                false,
                format!("{} (expected {expect})", o.disposition),
            ),
            Err(e) => self.report.check(step, false, error_text(&e)),
        }
    }

    async fn terminate_tencent(&mut self) {
        self.report.section("Terminating Tencent jobs");
        self.terminate(
            P::Tencent,
            Work::Succeeds,
            TerminateJobOptions::default(),
            TerminateDisposition::AlreadyCompleted,
            "a SUCCEED job is a no-op, reported as already completed",
        )
        .await;
        self.terminate(
            P::Tencent,
            Work::RunsLong,
            TerminateJobOptions::default(),
            TerminateDisposition::Accepted,
            "a RUNNING job is accepted",
        )
        .await;
        self.terminate(
            P::Tencent,
            Work::RunsLong,
            TerminateJobOptions::default(),
            TerminateDisposition::AlreadyTerminating,
            "again, while it is terminating",
        )
        .await;
        self.world.advance(3);
        if let (Some(job), Some(task)) = (
            self.job(P::Tencent, Work::RunsLong).await,
            self.task(P::Tencent, Work::RunsLong).await,
        ) {
            self.report.check(
                format!(
                    "tencent {} after termination: job {}, task {}",
                    job.job_id,
                    job_text(&job),
                    task_text(&task)
                ),
                job.state == JobState::Failed && task.state == TaskState::Failed,
                "",
            );
        }
    }

    /// AWS's TerminateJob acts in every state: a job that has not started is cancelled (it
    /// never runs), a started one is stopped a second later.
    async fn terminate_aws(&mut self) {
        self.report.section("Terminating AWS jobs");
        self.terminate(
            P::Aws,
            Work::Succeeds,
            TerminateJobOptions::default(),
            TerminateDisposition::AlreadyCompleted,
            "a SUCCEEDED job is a no-op, reported as already completed",
        )
        .await;
        // AWS keeps an array job's own status PENDING while its children run: its children
        // tell the backend it had started, so it is being stopped, not cancelled.
        self.terminate(
            P::Aws,
            Work::RunsLong,
            TerminateJobOptions::default(),
            TerminateDisposition::Accepted,
            "an array job whose children run is accepted (its own status is PENDING)",
        )
        .await;
        self.terminate(
            P::Aws,
            Work::RunsLong,
            TerminateJobOptions::default(),
            TerminateDisposition::AlreadyTerminating,
            "again, while it is stopping",
        )
        .await;
        self.world.advance(3);
        if let (Some(job), Some(task)) = (
            self.job(P::Aws, Work::RunsLong).await,
            self.task(P::Aws, Work::RunsLong).await,
        ) {
            // The child had started: it was stopped, not cancelled before it ran.
            self.report.check(
                format!(
                    "aws {} after termination: job {}, task {} (it had run: stopped)",
                    job.job_id,
                    job_text(&job),
                    task_text(&task)
                ),
                job.state == JobState::Failed
                    && task.state == TaskState::Failed
                    && task.start_time.is_some(),
                "",
            );
        }
        // A job terminated before it starts is cancelled: it never runs.
        let fresh = match setup::submit_aws(
            &self.world.aws,
            "demo-never-runs",
            setup::LONG_RUN_SECONDS,
            0,
            None,
        )
        .await
        {
            Ok(job) => job,
            Err(e) => {
                return self
                    .report
                    .check("aws SubmitJob demo-never-runs", false, e.message());
            }
        };
        self.report
            .say(format!("aws SubmitJob {fresh} (demo-never-runs, 1 hour)"));
        let step = format!("aws terminate_job {fresh}: a job not yet started is cancelled");
        match self
            .aws
            .terminate_job(&fresh, TerminateJobOptions::default())
            .await
        {
            Ok(o) => self.report.check(
                step,
                o.disposition == TerminateDisposition::Cancelled,
                o.disposition.to_string(),
            ),
            Err(e) => return self.report.check(step, false, error_text(&e)),
        }
        match self.aws.job_status(&fresh, StatusOptions::default()).await {
            Ok(job) => self.report.check(
                format!("aws {fresh} is {} at once and never ran", job_text(&job)),
                job.state == JobState::Failed && job.start_time.is_none(),
                job.terminate_reason
                    .map(|r| format!("reason {r}"))
                    .unwrap_or_default(),
            ),
            Err(e) => self
                .report
                .check(format!("aws job_status {fresh}"), false, error_text(&e)),
        }
    }

    /// Follows one task for a few simulated seconds, printing each change of state.
    async fn watch_task(&mut self, p: P, w: Work, steps: &[u64]) -> Vec<TaskStatus> {
        let mut seen = Vec::new();
        let mut elapsed = 0;
        for (i, &advance) in std::iter::once(&0).chain(steps).enumerate() {
            if i > 0 {
                self.world.advance(advance);
                elapsed += advance;
            }
            if let Some(t) = self.task(p, w).await {
                self.report.say(format!(
                    "t+{elapsed:>2}s  {}/{}: {} (retries {})",
                    t.job_id,
                    t.task_id,
                    task_text(&t),
                    t.retry_count
                ));
                seen.push(t);
            }
        }
        seen
    }

    async fn reactivate_azure(&mut self) {
        self.report.section("Reactivating a failed Azure task");
        if let Some(ids) = self.ids(P::Azure, Work::Succeeds) {
            let step = format!(
                "azure reactivate_task {}/{}: a task that succeeded is refused",
                ids.job, ids.task
            );
            match self
                .azure
                .reactivate_task(&ids.job, &ids.task, ReactivateTaskOptions::default())
                .await
            {
                Err(e @ Error::InvalidState { .. }) => {
                    let ok = e.code() == Some("TaskSucceeded");
                    self.report.check(step, ok, error_text(&e));
                }
                other => {
                    self.report
                        .check(step, false, format!("expected InvalidState, got {other:?}"))
                }
            }
        }
        let Some(ids) = self.ids(P::Azure, Work::Fails) else {
            return;
        };
        let step = format!("azure reactivate_task {}/{}", ids.job, ids.task);
        match self
            .azure
            .reactivate_task(&ids.job, &ids.task, ReactivateTaskOptions::default())
            .await
        {
            Ok(_) => self.report.check(step, true, "accepted"),
            Err(e) => {
                self.report.check(step, false, error_text(&e));
                return;
            }
        }
        self.report.say("task status over time (simulated):");
        let seen = self.watch_task(P::Azure, Work::Fails, &[1, 1, 2]).await;
        let states: Vec<TaskState> = seen.iter().map(|t| t.state).collect();
        let first_not_failed = states.first().is_some_and(|s| !s.is_terminal());
        let ran = states.contains(&TaskState::Running);
        let failed_again = seen.last().is_some_and(|t| {
            t.state == TaskState::Failed && t.exit_code == Some(FAILING_EXIT_CODE)
        });
        self.report.check(
            "azure reactivated task ran again and failed again with its exit code",
            first_not_failed && ran && failed_again,
            states
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" -> "),
        );
        // The portable form: re-run whatever failed in the job.
        let step = format!(
            "azure retry_failed_tasks {}: reactivates each failed task",
            ids.job
        );
        match self
            .azure
            .retry_failed_tasks(&ids.job, RetryFailedTasksOptions::default())
            .await
        {
            Ok(o) => self.report.check(
                step,
                o.retried == vec![ids.task.clone()] && o.is_complete(),
                format!("retried {:?}", names(&o.retried)),
            ),
            Err(e) => self.report.check(step, false, error_text(&e)),
        }
    }

    async fn retry_tencent(&mut self) {
        self.report.section("Retrying a failed Tencent job");
        let Some(ids) = self.ids(P::Tencent, Work::Fails) else {
            return;
        };
        let step = format!("tencent retry_failed_tasks {} (RetryJobs)", ids.job);
        match self
            .tencent
            .retry_failed_tasks(&ids.job, RetryFailedTasksOptions::default())
            .await
        {
            Ok(o) => self.report.check(
                step,
                o.retried == vec![ids.task.clone()] && o.is_complete(),
                format!("retried {:?}", names(&o.retried)),
            ),
            Err(e) => {
                self.report.check(step, false, error_text(&e));
                return;
            }
        }
        self.report.say("task status over time (simulated):");
        let seen = self.watch_task(P::Tencent, Work::Fails, &[2, 3, 3]).await;
        let states: Vec<TaskState> = seen.iter().map(|t| t.state).collect();
        let first_not_failed = states.first().is_some_and(|s| !s.is_terminal());
        let ran = states.contains(&TaskState::Running);
        let failed_again = states.last() == Some(&TaskState::Failed);
        self.report.check(
            "tencent retried job ran again and failed again",
            first_not_failed && ran && failed_again,
            states
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" -> "),
        );
        if let Some(job) = self.job(P::Tencent, Work::Fails).await {
            self.report.check(
                format!("tencent {} is {}", job.job_id, job_text(&job)),
                job.state == JobState::Failed,
                "",
            );
        }
    }

    /// AWS reruns nothing in place: `retry_failed_tasks` submits the failed job again and names
    /// the new job, which the demo follows from then on.
    async fn retry_aws(&mut self) {
        self.report.section("Retrying a failed AWS job");
        let Some(ids) = self.ids(P::Aws, Work::Fails) else {
            return;
        };
        let step = format!("aws retry_failed_tasks {}: submits the job again", ids.job);
        let outcome = match self
            .aws
            .retry_failed_tasks(&ids.job, RetryFailedTasksOptions::default())
            .await
        {
            Ok(o) => o,
            Err(e) => return self.report.check(step, false, error_text(&e)),
        };
        let new_job = match outcome.resubmitted.as_slice() {
            [job] if job != &ids.job => Some(job.clone()),
            _ => None,
        };
        self.report.check(
            step,
            new_job.is_some()
                && outcome.retried == vec![ids.task.clone()]
                && outcome.is_complete()
                && !self.aws.capabilities().retry_failed_tasks_in_place,
            format!(
                "retried {:?}, resubmitted as {:?}",
                names(&outcome.retried),
                outcome
                    .resubmitted
                    .iter()
                    .map(|j| j.as_str())
                    .collect::<Vec<_>>()
            ),
        );
        let Some(new_job) = new_job else { return };
        self.ids.insert(
            (P::Aws, Work::Fails),
            Ids {
                job: new_job,
                task: ids.task.clone(),
            },
        );
        self.report.say("the new job's task over time (simulated):");
        let seen = self.watch_task(P::Aws, Work::Fails, &[2, 3, 3]).await;
        let states: Vec<TaskState> = seen.iter().map(|t| t.state).collect();
        let first_not_failed = states.first().is_some_and(|s| !s.is_terminal());
        let ran = states.contains(&TaskState::Running);
        let failed_again = seen.last().is_some_and(|t| {
            t.state == TaskState::Failed && t.exit_code == Some(FAILING_EXIT_CODE)
        });
        self.report.check(
            "aws resubmitted job ran and failed again with its exit code",
            first_not_failed && ran && failed_again,
            states
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" -> "),
        );
        if let Some(job) = self.job(P::Aws, Work::Fails).await {
            self.report.check(
                format!("aws {} is {}", job.job_id, job_text(&job)),
                job.state == JobState::Failed,
                "",
            );
        }
    }

    /// Streams the long Azure job's preparation/release records one page (of one) at a time;
    /// returns (nodes, preparations completed, releases completed).
    async fn stream_prep_release(&mut self, ids: &Ids) -> Option<(usize, usize, usize)> {
        let mut stream = self.azure.list_prep_release_status(
            &ids.job,
            ListPrepReleaseOptions::default().with_page_size(1),
        );
        let (mut nodes, mut prep, mut release) = (0, 0, 0);
        while let Some(item) = stream.next().await {
            match item {
                Ok(e) => {
                    nodes += 1;
                    let done = |x: &Option<polybatch::PrepReleaseExecution>| {
                        x.as_ref().is_some_and(|x| {
                            x.state == PrepReleaseState::Completed
                                && x.result == Some(TaskResult::Success)
                        })
                    };
                    prep += usize::from(done(&e.preparation));
                    release += usize::from(done(&e.release));
                    let show = |x: &Option<polybatch::PrepReleaseExecution>| match x {
                        None => "-".to_string(),
                        Some(x) => format!(
                            "{}{}",
                            x.state,
                            x.exit_code
                                .map(|c| format!(" exit {c}"))
                                .unwrap_or_default()
                        ),
                    };
                    self.report.say(format!(
                        "page {nodes}: node {} preparation {}, release {}",
                        e.node_id,
                        show(&e.preparation),
                        show(&e.release)
                    ));
                }
                Err(e) => {
                    self.report.check(
                        format!("azure list_prep_release_status {}", ids.job),
                        false,
                        error_text(&e),
                    );
                    return None;
                }
            }
        }
        Some((nodes, prep, release))
    }

    async fn prep_release_and_terminate_azure(&mut self) {
        self.report
            .section("Azure job preparation and release tasks, and terminating Azure jobs");
        let Some(ids) = self.ids(P::Azure, Work::RunsLong) else {
            return;
        };
        if let Some((nodes, prep, release)) = self.stream_prep_release(&ids).await {
            self.report.check(
                "azure preparation ran on each of the 3 nodes, no release yet",
                nodes == 3 && prep == 3 && release == 0,
                format!("{nodes} nodes, {prep} preparations, {release} releases"),
            );
        }
        self.terminate(
            P::Azure,
            Work::RunsLong,
            TerminateJobOptions::default().with_reason(TERMINATE_REASON),
            TerminateDisposition::Accepted,
            "an active job is accepted",
        )
        .await;
        if let Some(job) = self.job(P::Azure, Work::RunsLong).await {
            self.report.check(
                format!(
                    "azure {} terminating while release tasks run: {}",
                    job.job_id,
                    job_text(&job)
                ),
                job.state == JobState::Terminating,
                "",
            );
        }
        self.terminate(
            P::Azure,
            Work::RunsLong,
            TerminateJobOptions::default(),
            TerminateDisposition::AlreadyTerminating,
            "again, while it is terminating",
        )
        .await;
        self.world.advance(3);
        if let (Some(job), Some(task)) = (
            self.job(P::Azure, Work::RunsLong).await,
            self.task(P::Azure, Work::RunsLong).await,
        ) {
            self.report.check(
                format!(
                    "azure {} after termination: job {} (reason {}), task {}",
                    job.job_id,
                    job_text(&job),
                    job.terminate_reason.as_deref().unwrap_or("-"),
                    task_text(&task)
                ),
                job.state == JobState::Completed
                    && job.terminate_reason.as_deref() == Some(TERMINATE_REASON)
                    && task.state == TaskState::Failed,
                "",
            );
        }
        if let Some((nodes, prep, release)) = self.stream_prep_release(&ids).await {
            self.report.check(
                "azure release ran on each node where preparation ran",
                nodes == 3 && prep == 3 && release == 3,
                format!("{nodes} nodes, {prep} preparations, {release} releases"),
            );
        }
        self.terminate(
            P::Azure,
            Work::RunsLong,
            TerminateJobOptions::default(),
            TerminateDisposition::AlreadyCompleted,
            "a completed job is reported as already completed",
        )
        .await;
        self.terminate(
            P::Azure,
            Work::Succeeds,
            TerminateJobOptions::default(),
            TerminateDisposition::Accepted,
            "the job whose task succeeded",
        )
        .await;
        // No release task to wait for: terminating only for the service's brief minimum.
        if let Some(job) = self.job(P::Azure, Work::Succeeds).await {
            self.report.check(
                format!(
                    "azure {} without release tasks is terminating, briefly: {}",
                    job.job_id,
                    job_text(&job)
                ),
                job.state == JobState::Terminating,
                "",
            );
        }
        self.world.advance(1);
        if let Some(job) = self.job(P::Azure, Work::Succeeds).await {
            self.report.check(
                format!(
                    "azure {} completed a second later: {}",
                    job.job_id,
                    job_text(&job)
                ),
                job.state == JobState::Completed,
                "",
            );
        }
    }

    /// Tencent has no per-task reactivate and no preparation/release tasks; AWS has no
    /// reactivate and no delete: the client says so before sending anything.
    async fn unsupported_before_io(&mut self) {
        self.report
            .section("What a provider cannot do fails before any request");
        self.unsupported_on_tencent().await;
        self.unsupported_on_aws().await;
    }

    async fn unsupported_on_aws(&mut self) {
        let Some(ids) = self.ids(P::Aws, Work::Fails) else {
            return;
        };
        let before = self.world.requests_received();
        let reactivate = self
            .aws
            .reactivate_task(&ids.job, &ids.task, ReactivateTaskOptions::default())
            .await;
        let delete = self
            .aws
            .delete_job(&ids.job, DeleteJobOptions::default())
            .await;
        let sent = self.world.requests_received() - before;
        let caps = self.aws.capabilities();
        self.report.check(
            "aws reactivate_task is Unsupported (capabilities say so)",
            matches!(reactivate, Err(Error::Unsupported { .. })) && !caps.reactivate_task,
            reactivate.err().map(|e| error_text(&e)).unwrap_or_default(),
        );
        self.report.check(
            "aws delete_job is Unsupported (capabilities say so)",
            matches!(delete, Err(Error::Unsupported { .. })) && !caps.delete_job,
            delete.err().map(|e| error_text(&e)).unwrap_or_default(),
        );
        self.report.check(
            "no request was sent for either",
            sent == 0,
            format!("{sent} requests"),
        );
    }

    async fn unsupported_on_tencent(&mut self) {
        let Some(ids) = self.ids(P::Tencent, Work::Fails) else {
            return;
        };
        let before = self.world.requests_received();
        let reactivate = self
            .tencent
            .reactivate_task(&ids.job, &ids.task, ReactivateTaskOptions::default())
            .await;
        let listing = self
            .tencent
            .list_prep_release_status(&ids.job, ListPrepReleaseOptions::default())
            .next()
            .await;
        let sent = self.world.requests_received() - before;
        let caps = self.tencent.capabilities();
        self.report.check(
            "tencent reactivate_task is Unsupported (capabilities say so)",
            matches!(reactivate, Err(Error::Unsupported { .. })) && !caps.reactivate_task,
            reactivate.err().map(|e| error_text(&e)).unwrap_or_default(),
        );
        self.report.check(
            "tencent list_prep_release_status is Unsupported",
            matches!(listing, Some(Err(Error::Unsupported { .. })))
                && !caps.list_prep_release_status,
            "",
        );
        self.report.check(
            "no request was sent for either",
            sent == 0,
            format!("{sent} requests"),
        );
    }

    async fn final_table(&mut self) {
        for w in Work::ALL {
            let mut job_row = Row {
                scenario: format!("{}: job", w.label()),
                ..Row::default()
            };
            let mut task_row = Row {
                scenario: format!("{}: task", w.label()),
                ..Row::default()
            };
            for p in P::ALL {
                let job = self
                    .job(p, w)
                    .await
                    .map(|s| format!("{} {}", s.job_id, job_text(&s)))
                    .unwrap_or_else(|| "error".into());
                let task = self
                    .task(p, w)
                    .await
                    .map(|s| format!("{} {}", s.task_id, task_text(&s)))
                    .unwrap_or_else(|| "error".into());
                match p {
                    P::Azure => {
                        job_row.azure = job;
                        task_row.azure = task;
                    }
                    P::Tencent => {
                        job_row.tencent = job;
                        task_row.tencent = task;
                    }
                    P::Aws => {
                        job_row.aws = job;
                        task_row.aws = task;
                    }
                }
            }
            self.report.row(job_row);
            self.report.row(task_row);
        }
    }
}

fn names(ids: &[polybatch::TaskId]) -> Vec<&str> {
    ids.iter().map(|t| t.as_str()).collect()
}
