//! What a backend supports, and the checks that turn "not supported" into a typed error before
//! any I/O.
//!
//! The trait's provided methods call the `check_*` functions before each operation, for every
//! backend, so the rules are written once and the same unsupported request fails the same way
//! everywhere.

use serde::Serialize;

use crate::error::{Error, Operation, Result};
use crate::options::{
    ListPrepReleaseOptions, Preconditions, ReactivateTaskOptions, StatusOptions,
    TerminateJobOptions,
};
use crate::spec_support::SubmitCapabilities;

/// The operations and options a backend supports.
///
/// `#[non_exhaustive]`: start from [`Capabilities::none`] or [`Capabilities::all`] and set
/// fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// `terminate_job` is supported.
    pub terminate_job: bool,
    /// `TerminateJobOptions::reason` is recorded.
    pub terminate_job_reason: bool,
    /// `TerminateJobOptions::force` is honoured.
    pub terminate_job_force: bool,
    /// `reactivate_task` is supported.
    pub reactivate_task: bool,
    /// `job_status` is supported.
    pub job_status: bool,
    /// `task_status` is supported.
    pub task_status: bool,
    /// `list_prep_release_status` is supported.
    pub list_prep_release_status: bool,
    /// `ListPrepReleaseOptions::filter` is honoured.
    pub list_prep_release_filter: bool,
    /// `ListPrepReleaseOptions::select` is honoured.
    pub list_prep_release_select: bool,
    /// `retry_failed_tasks` is supported.
    pub retry_failed_tasks: bool,
    /// `retry_failed_tasks` runs the failed tasks again in their job. When `false` (AWS
    /// Batch, which cannot rerun a job), it submits a copy of the failed job instead, named in
    /// [`crate::RetryFailedTasksOutcome::resubmitted`].
    pub retry_failed_tasks_in_place: bool,
    /// Preconditions (`If-Match` and friends) are honoured on terminate and reactivate, and
    /// `StatusOptions::if_none_match` on status reads.
    pub conditional_requests: bool,
    /// `server_timeout` options are honoured.
    pub server_timeout: bool,
    /// `StatusOptions::select` is honoured.
    pub status_select: bool,
    /// `submit_job` is supported.
    pub submit_job: bool,
    /// Which spec fields `submit_job` can express.
    pub submit: SubmitCapabilities,
    /// `job_statuses` is supported.
    pub job_statuses: bool,
    /// How many ids one `job_statuses` request can ask about (Tencent `DescribeJobs`: 100);
    /// 1 means the backend reads one job a request, concurrently.
    pub job_statuses_per_request: usize,
    /// `delete_job` is supported.
    pub delete_job: bool,
    /// `list_jobs` is supported.
    pub list_jobs: bool,
    /// Which `list_jobs` filters the service applies (the rest are applied to what it sends).
    pub list_jobs_server_filters: ListJobsFilters,
    /// `list_tasks` is supported.
    pub list_tasks: bool,
    /// `export_job` is supported.
    pub export_job: bool,
    /// `terminate_task` is supported.
    pub terminate_task: bool,
    /// `TerminateTaskOptions::instance` is honoured (Tencent task instances).
    pub terminate_task_instance: bool,
    /// `task_output` is supported.
    pub task_output: bool,
    /// `TaskOutputOptions::range` is sent to the service (else applied to what it sends).
    pub task_output_server_range: bool,
    /// `task_output` returns the bytes a task wrote; when false it returns only where they
    /// are (`TaskOutput::location`: AWS Batch's CloudWatch Logs stream).
    pub task_output_bytes: bool,
}

/// Which [`crate::ListJobsOptions`] filters a service applies itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ListJobsFilters {
    /// `states`.
    pub states: bool,
    /// `labels`.
    pub labels: bool,
    /// `name_prefix`.
    pub name_prefix: bool,
    /// `created_after` / `created_before`.
    pub created: bool,
}

impl ListJobsFilters {
    /// Every filter on the server.
    pub fn all() -> Self {
        ListJobsFilters {
            states: true,
            labels: true,
            name_prefix: true,
            created: true,
        }
    }

    fn intersect(&self, o: &ListJobsFilters) -> ListJobsFilters {
        ListJobsFilters {
            states: self.states && o.states,
            labels: self.labels && o.labels,
            name_prefix: self.name_prefix && o.name_prefix,
            created: self.created && o.created,
        }
    }
}

impl Capabilities {
    /// Nothing supported.
    pub fn none() -> Self {
        Capabilities::default()
    }

    /// Everything supported.
    pub fn all() -> Self {
        Capabilities {
            terminate_job: true,
            terminate_job_reason: true,
            terminate_job_force: true,
            reactivate_task: true,
            job_status: true,
            task_status: true,
            list_prep_release_status: true,
            list_prep_release_filter: true,
            list_prep_release_select: true,
            retry_failed_tasks: true,
            retry_failed_tasks_in_place: true,
            conditional_requests: true,
            server_timeout: true,
            status_select: true,
            submit_job: true,
            submit: SubmitCapabilities::all(),
            job_statuses: true,
            job_statuses_per_request: usize::MAX,
            delete_job: true,
            list_jobs: true,
            list_jobs_server_filters: ListJobsFilters::all(),
            list_tasks: true,
            export_job: true,
            terminate_task: true,
            terminate_task_instance: true,
            task_output: true,
            task_output_server_range: true,
            task_output_bytes: true,
        }
    }

    /// What both `self` and `other` support.
    pub fn intersect(&self, other: &Capabilities) -> Capabilities {
        Capabilities {
            terminate_job: self.terminate_job && other.terminate_job,
            terminate_job_reason: self.terminate_job_reason && other.terminate_job_reason,
            terminate_job_force: self.terminate_job_force && other.terminate_job_force,
            reactivate_task: self.reactivate_task && other.reactivate_task,
            job_status: self.job_status && other.job_status,
            task_status: self.task_status && other.task_status,
            list_prep_release_status: self.list_prep_release_status
                && other.list_prep_release_status,
            list_prep_release_filter: self.list_prep_release_filter
                && other.list_prep_release_filter,
            list_prep_release_select: self.list_prep_release_select
                && other.list_prep_release_select,
            retry_failed_tasks: self.retry_failed_tasks && other.retry_failed_tasks,
            retry_failed_tasks_in_place: self.retry_failed_tasks_in_place
                && other.retry_failed_tasks_in_place,
            conditional_requests: self.conditional_requests && other.conditional_requests,
            server_timeout: self.server_timeout && other.server_timeout,
            status_select: self.status_select && other.status_select,
            submit_job: self.submit_job && other.submit_job,
            submit: self.submit.intersect(&other.submit),
            job_statuses: self.job_statuses && other.job_statuses,
            job_statuses_per_request: self
                .job_statuses_per_request
                .min(other.job_statuses_per_request),
            delete_job: self.delete_job && other.delete_job,
            list_jobs: self.list_jobs && other.list_jobs,
            list_jobs_server_filters: self
                .list_jobs_server_filters
                .intersect(&other.list_jobs_server_filters),
            list_tasks: self.list_tasks && other.list_tasks,
            export_job: self.export_job && other.export_job,
            terminate_task: self.terminate_task && other.terminate_task,
            terminate_task_instance: self.terminate_task_instance && other.terminate_task_instance,
            task_output: self.task_output && other.task_output,
            task_output_server_range: self.task_output_server_range
                && other.task_output_server_range,
            task_output_bytes: self.task_output_bytes && other.task_output_bytes,
        }
    }

    /// Whether the trait operation is supported at all.
    pub fn supports(&self, operation: Operation) -> bool {
        match operation {
            Operation::TerminateJob => self.terminate_job,
            Operation::ReactivateTask => self.reactivate_task,
            Operation::JobStatus => self.job_status,
            Operation::TaskStatus => self.task_status,
            Operation::ListPrepReleaseStatus => self.list_prep_release_status,
            Operation::RetryFailedTasks => self.retry_failed_tasks,
            Operation::SubmitJob => self.submit_job,
            Operation::JobStatuses => self.job_statuses,
            Operation::DeleteJob => self.delete_job,
            Operation::ListJobs => self.list_jobs,
            Operation::ListTasks => self.list_tasks,
            Operation::ExportJob => self.export_job,
            Operation::TaskOutput => self.task_output,
            Operation::TerminateTask => self.terminate_task,
            _ => false,
        }
    }

    /// Fails with `Unsupported` unless `operation` is supported.
    pub fn check_operation(&self, backend: &'static str, operation: Operation) -> Result<()> {
        if self.supports(operation) {
            Ok(())
        } else {
            Err(Error::unsupported(backend, operation))
        }
    }

    fn check_preconditions(
        &self,
        backend: &'static str,
        operation: Operation,
        p: &Preconditions,
    ) -> Result<()> {
        if p.is_empty() || self.conditional_requests {
            return Ok(());
        }
        let option = if p.if_match.is_some() {
            "if_match"
        } else if p.if_none_match.is_some() {
            "if_none_match"
        } else if p.if_modified_since.is_some() {
            "if_modified_since"
        } else {
            "if_unmodified_since"
        };
        Err(Error::unsupported_option(backend, operation, option))
    }

    /// Checks a terminate request against the capabilities.
    pub fn check_terminate(&self, backend: &'static str, o: &TerminateJobOptions) -> Result<()> {
        let op = Operation::TerminateJob;
        self.check_operation(backend, op)?;
        if o.reason.is_some() && !self.terminate_job_reason {
            return Err(Error::unsupported_option(backend, op, "reason"));
        }
        if o.force && !self.terminate_job_force {
            return Err(Error::unsupported_option(backend, op, "force"));
        }
        if o.server_timeout.is_some() && !self.server_timeout {
            return Err(Error::unsupported_option(backend, op, "server_timeout"));
        }
        self.check_preconditions(backend, op, &o.preconditions)
    }

    /// Checks a job or task status request against the capabilities.
    pub fn check_status(
        &self,
        backend: &'static str,
        operation: Operation,
        o: &StatusOptions,
    ) -> Result<()> {
        self.check_operation(backend, operation)?;
        if o.server_timeout.is_some() && !self.server_timeout {
            return Err(Error::unsupported_option(
                backend,
                operation,
                "server_timeout",
            ));
        }
        if !o.select.is_empty() && !self.status_select {
            return Err(Error::unsupported_option(backend, operation, "select"));
        }
        if o.if_none_match.is_some() && !self.conditional_requests {
            return Err(Error::unsupported_option(
                backend,
                operation,
                "if_none_match",
            ));
        }
        Ok(())
    }

    /// Checks a reactivate request against the capabilities.
    pub fn check_reactivate(&self, backend: &'static str, o: &ReactivateTaskOptions) -> Result<()> {
        let op = Operation::ReactivateTask;
        self.check_operation(backend, op)?;
        if o.server_timeout.is_some() && !self.server_timeout {
            return Err(Error::unsupported_option(backend, op, "server_timeout"));
        }
        self.check_preconditions(backend, op, &o.preconditions)
    }

    /// Checks a submit against the capabilities: the operation, then every spec field.
    pub fn check_submit(
        &self,
        backend: &'static str,
        spec: &crate::spec::JobSpec,
        o: &crate::options::SubmitJobOptions,
    ) -> Result<()> {
        let op = Operation::SubmitJob;
        self.check_operation(backend, op)?;
        if o.server_timeout.is_some() && !self.server_timeout {
            return Err(Error::unsupported_option(backend, op, "server_timeout"));
        }
        self.submit.check(backend, spec)
    }

    /// Checks a task terminate against the capabilities.
    pub fn check_terminate_task(
        &self,
        backend: &'static str,
        o: &crate::options::TerminateTaskOptions,
    ) -> Result<()> {
        let op = Operation::TerminateTask;
        self.check_operation(backend, op)?;
        if o.instance.is_some() && !self.terminate_task_instance {
            return Err(Error::unsupported_option(backend, op, "instance"));
        }
        if o.server_timeout.is_some() && !self.server_timeout {
            return Err(Error::unsupported_option(backend, op, "server_timeout"));
        }
        self.check_preconditions(backend, op, &o.preconditions)
    }

    /// Checks a delete against the capabilities.
    pub fn check_delete(
        &self,
        backend: &'static str,
        o: &crate::options::DeleteJobOptions,
    ) -> Result<()> {
        let op = Operation::DeleteJob;
        self.check_operation(backend, op)?;
        if o.server_timeout.is_some() && !self.server_timeout {
            return Err(Error::unsupported_option(backend, op, "server_timeout"));
        }
        self.check_preconditions(backend, op, &o.preconditions)
    }

    /// Checks a job or task listing's page size.
    pub fn check_page_size(
        &self,
        backend: &'static str,
        op: Operation,
        page_size: Option<u32>,
    ) -> Result<()> {
        self.check_operation(backend, op)?;
        match page_size {
            Some(n) if !(1..=1000).contains(&n) => Err(Error::invalid_input(
                "page_size",
                format!("must be between 1 and 1000 (got {n})"),
                crate::error::ErrorContext::new(backend, op),
            )),
            _ => Ok(()),
        }
    }

    /// Checks a bulk status read against the capabilities.
    pub fn check_job_statuses(
        &self,
        backend: &'static str,
        o: &crate::options::JobStatusesOptions,
    ) -> Result<()> {
        let op = Operation::JobStatuses;
        self.check_operation(backend, op)?;
        if o.concurrency == 0 {
            return Err(Error::invalid_input(
                "concurrency",
                "must be at least 1",
                crate::error::ErrorContext::new(backend, op),
            ));
        }
        Ok(())
    }

    /// Checks a prep/release listing against the capabilities.
    pub fn check_list_prep_release(
        &self,
        backend: &'static str,
        o: &ListPrepReleaseOptions,
    ) -> Result<()> {
        let op = Operation::ListPrepReleaseStatus;
        self.check_operation(backend, op)?;
        if o.filter.is_some() && !self.list_prep_release_filter {
            return Err(Error::unsupported_option(backend, op, "filter"));
        }
        if !o.select.is_empty() && !self.list_prep_release_select {
            return Err(Error::unsupported_option(backend, op, "select"));
        }
        if let Some(size) = o.page_size
            && !(1..=1000).contains(&size)
        {
            return Err(Error::invalid_input(
                "page_size",
                format!("must be between 1 and 1000 (got {size})"),
                crate::error::ErrorContext::new(backend, op),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Preconditions;

    #[test]
    fn unsupported_options_are_named() {
        let mut caps = Capabilities::all();
        caps.terminate_job_force = false;
        caps.conditional_requests = false;
        let e = caps
            .check_terminate("t", &TerminateJobOptions::default().with_force(true))
            .unwrap_err();
        assert!(matches!(
            e,
            Error::Unsupported {
                option: Some("force"),
                ..
            }
        ));
        let e = caps
            .check_terminate(
                "t",
                &TerminateJobOptions::default()
                    .with_preconditions(Preconditions::default().with_if_match("x")),
            )
            .unwrap_err();
        assert!(matches!(
            e,
            Error::Unsupported {
                option: Some("if_match"),
                ..
            }
        ));
        assert!(
            caps.check_terminate("t", &TerminateJobOptions::default())
                .is_ok()
        );
    }

    #[test]
    fn unsupported_operation() {
        let caps = Capabilities::none();
        let e = caps
            .check_reactivate("t", &ReactivateTaskOptions::default())
            .unwrap_err();
        assert!(matches!(e, Error::Unsupported { option: None, .. }));
        assert_eq!(e.operation(), Operation::ReactivateTask);
    }

    #[test]
    fn intersection_keeps_what_both_support() {
        let mut a = Capabilities::all();
        a.terminate_job_force = false;
        let mut b = Capabilities::none();
        b.terminate_job = true;
        b.terminate_job_force = true;
        let both = a.intersect(&b);
        assert!(both.terminate_job && !both.terminate_job_force && !both.job_status);
        assert_eq!(a.intersect(&Capabilities::all()), a);
        assert_eq!(a.intersect(&Capabilities::none()), Capabilities::none());
    }

    #[test]
    fn status_select_and_if_none_match_need_their_capabilities() {
        let select = StatusOptions::default().with_select(["state"]);
        let none_match = StatusOptions::default().with_if_none_match("0x1");
        let all = Capabilities::all();
        for o in [&select, &none_match] {
            assert!(all.check_status("t", Operation::JobStatus, o).is_ok());
        }
        let mut caps = Capabilities::none();
        caps.job_status = true;
        caps.task_status = true;
        let option = |o: &StatusOptions, op| match caps.check_status("t", op, o) {
            Err(Error::Unsupported { option, .. }) => option,
            other => panic!("{other:?}"),
        };
        assert_eq!(option(&select, Operation::JobStatus), Some("select"));
        assert_eq!(option(&select, Operation::TaskStatus), Some("select"));
        assert_eq!(
            option(&none_match, Operation::JobStatus),
            Some("if_none_match")
        );
        assert_eq!(
            option(&none_match, Operation::TaskStatus),
            Some("if_none_match")
        );
        assert!(
            caps.check_status("t", Operation::JobStatus, &StatusOptions::default())
                .is_ok()
        );
        let mut narrowed = Capabilities::all();
        narrowed.status_select = false;
        assert!(!Capabilities::all().intersect(&narrowed).status_select);
    }

    #[test]
    fn page_size_range() {
        let caps = Capabilities::all();
        for bad in [0, 1001] {
            let o = ListPrepReleaseOptions::default().with_page_size(bad);
            assert!(matches!(
                caps.check_list_prep_release("t", &o),
                Err(Error::InvalidInput { .. })
            ));
        }
        let o = ListPrepReleaseOptions::default().with_page_size(1000);
        assert!(caps.check_list_prep_release("t", &o).is_ok());
    }
}
