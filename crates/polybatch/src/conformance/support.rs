//! What the checks share: failing with the check's name, expecting errors, polling.

use std::fmt::{Debug, Display};
use std::future::Future;
use std::time::Duration;

use super::Fixture;
use crate::backend::BatchBackend;
use crate::capability::Capabilities;
use crate::error::{Error, Operation, ResourceKind, Result};
use crate::id::{JobId, TaskId};
use crate::options::StatusOptions;
use crate::status::{JobStatus, TaskStatus};

/// How far each poll moves simulated time, and how many polls a transition may take.
pub(crate) const POLL_STEP: Duration = Duration::from_secs(5);
pub(crate) const MAX_POLLS: usize = 60;

/// One running check: its name, the backend and the fixture.
pub(crate) struct Check<'a> {
    name: &'static str,
    pub(crate) backend: &'a dyn BatchBackend,
    pub(crate) fixture: &'a dyn Fixture,
}

impl<'a> Check<'a> {
    pub(crate) fn new(
        name: &'static str,
        backend: &'a dyn BatchBackend,
        fixture: &'a dyn Fixture,
    ) -> Self {
        Check {
            name,
            backend,
            fixture,
        }
    }

    pub(crate) fn caps(&self) -> Capabilities {
        self.backend.capabilities()
    }

    /// Fails the check.
    pub(crate) fn fail(&self, message: impl Display) -> ! {
        panic!(
            "conformance check `{}` failed on backend {} ({}): {message}",
            self.name,
            self.backend,
            self.backend.name()
        )
    }

    /// Fails the check unless `condition` holds.
    pub(crate) fn ensure(&self, condition: bool, message: impl FnOnce() -> String) {
        if !condition {
            self.fail(message());
        }
    }

    /// The value of a fixture call that must succeed.
    pub(crate) fn setup<T>(&self, what: &str, result: Result<T>) -> T {
        result.unwrap_or_else(|e| self.fail(format_args!("fixture {what} failed: {e}")))
    }

    /// The value of a backend call that must succeed.
    pub(crate) fn ok<T>(&self, what: &str, result: Result<T>) -> T {
        result.unwrap_or_else(|e| self.fail(format_args!("{what}: unexpected error: {e}")))
    }

    /// The error of a backend call that must fail.
    pub(crate) fn err<T: Debug>(&self, what: &str, result: Result<T>) -> Error {
        match result {
            Ok(v) => self.fail(format_args!("{what}: expected an error, got Ok({v:?})")),
            Err(e) => e,
        }
    }

    /// Asserts `e` is a `NotFound` from `operation` of this backend (about `resource`, when
    /// given).
    pub(crate) fn expect_not_found(
        &self,
        what: &str,
        e: &Error,
        operation: Operation,
        resource: Option<ResourceKind>,
    ) {
        match e {
            Error::NotFound { resource: r, .. } => {
                if let Some(expected) = resource {
                    self.ensure(*r == expected, || {
                        format!("{what}: NotFound about a {r}, expected a {expected}: {e}")
                    });
                }
            }
            other => self.fail(format_args!(
                "{what}: expected NotFound, got {} ({other})",
                other.kind()
            )),
        }
        self.expect_context(what, e, operation);
    }

    /// Asserts the error names this backend and `operation`.
    pub(crate) fn expect_context(&self, what: &str, e: &Error, operation: Operation) {
        self.ensure(e.backend() == self.backend.name(), || {
            format!(
                "{what}: error names backend {:?}, expected {:?}: {e}",
                e.backend(),
                self.backend.name()
            )
        });
        self.ensure(e.operation() == operation, || {
            format!(
                "{what}: error names operation {}, expected {operation}: {e}",
                e.operation()
            )
        });
    }

    /// Asserts `e` is an `InvalidState`.
    pub(crate) fn expect_invalid_state(&self, what: &str, e: &Error) {
        self.ensure(matches!(e, Error::InvalidState { .. }), || {
            format!("{what}: expected InvalidState, got {} ({e})", e.kind())
        });
    }

    /// Requests the service has seen, when the fixture can tell.
    pub(crate) async fn requests(&self) -> Option<u64> {
        self.fixture.requests_seen().await
    }

    /// Runs `call`, which must fail before any request is sent; returns its error.
    pub(crate) async fn without_io<T: Debug>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T>>,
    ) -> Error {
        let before = self.requests().await;
        let e = self.err(what, call.await);
        let after = self.requests().await;
        self.ensure(before == after, || {
            format!("{what}: failed with {e} but the service saw requests ({before:?} → {after:?})")
        });
        e
    }

    /// Runs `call`, which must fail with `Unsupported` (for `option`, or the whole operation
    /// when `None`) before any request is sent.
    pub(crate) async fn expect_unsupported<T: Debug>(
        &self,
        what: &str,
        operation: Operation,
        option: Option<&'static str>,
        call: impl Future<Output = Result<T>>,
    ) {
        let e = self.without_io(what, call).await;
        match &e {
            Error::Unsupported { option: o, .. } => self.ensure(*o == option, || {
                format!("{what}: Unsupported names option {o:?}, expected {option:?}: {e}")
            }),
            other => self.fail(format_args!(
                "{what}: expected Unsupported, got {} ({other})",
                other.kind()
            )),
        }
        self.expect_context(what, &e, operation);
    }

    /// The option an `Unsupported` error names when `option` of `operation` is refused: none
    /// when the whole operation is unsupported.
    pub(crate) fn refused_option(
        &self,
        operation: Operation,
        option: &'static str,
    ) -> Option<&'static str> {
        self.caps().supports(operation).then_some(option)
    }

    pub(crate) async fn job_status(&self, job: &JobId) -> JobStatus {
        let status = self.ok(
            &format!("job_status({job})"),
            self.backend.job_status(job, StatusOptions::default()).await,
        );
        self.ensure(&status.job_id == job, || {
            format!("job_status({job}) returned the status of {}", status.job_id)
        });
        self.ensure(!status.provider_state.is_empty(), || {
            format!("job_status({job}): empty provider_state")
        });
        status
    }

    pub(crate) async fn task_status(&self, job: &JobId, task: &TaskId) -> TaskStatus {
        let status = self.ok(
            &format!("task_status({job}, {task})"),
            self.backend
                .task_status(job, task, StatusOptions::default())
                .await,
        );
        self.ensure(&status.job_id == job && &status.task_id == task, || {
            format!(
                "task_status({job}, {task}) returned the status of {}/{}",
                status.job_id, status.task_id
            )
        });
        self.ensure(!status.provider_state.is_empty(), || {
            format!("task_status({job}, {task}): empty provider_state")
        });
        status
    }

    /// Advances time until the job is terminal (bounded).
    pub(crate) async fn wait_job_terminal(&self, job: &JobId) -> JobStatus {
        let mut status = self.job_status(job).await;
        for _ in 0..MAX_POLLS {
            if status.state.is_terminal() {
                return status;
            }
            self.fixture.advance(POLL_STEP).await;
            status = self.job_status(job).await;
        }
        if status.state.is_terminal() {
            return status;
        }
        self.fail(format_args!(
            "job {job} not terminal after {MAX_POLLS} polls {} s apart (state {}, provider {:?})",
            POLL_STEP.as_secs(),
            status.state,
            status.provider_state
        ))
    }

    /// Advances time until the task is terminal (bounded).
    pub(crate) async fn wait_task_terminal(&self, job: &JobId, task: &TaskId) -> TaskStatus {
        let mut status = self.task_status(job, task).await;
        for _ in 0..MAX_POLLS {
            if status.state.is_terminal() {
                return status;
            }
            self.fixture.advance(POLL_STEP).await;
            status = self.task_status(job, task).await;
        }
        if status.state.is_terminal() {
            return status;
        }
        self.fail(format_args!(
            "task {job}/{task} not terminal after {MAX_POLLS} polls (state {}, provider {:?})",
            status.state, status.provider_state
        ))
    }
}
