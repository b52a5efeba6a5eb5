//! The behaviour suite every backend runs (feature `conformance`; not semver-stable).
//!
//! Each check is a public async function taking the backend under test and a [`Fixture`] that
//! seeds it through whatever means the backend has (the in-memory seeding API, a provider's
//! own create calls against the emulator, ...). Checks read [`BatchBackend::capabilities`]:
//! for an unsupported operation they assert that it fails with `Unsupported` before any
//! request is sent, instead of skipping. They use only the public trait and the fixture.
//!
//! Every check panics on failure with a message naming itself. [`run_all`] runs them all, in
//! the order listed here.

mod errors;
mod fixture;
mod lifecycle;
mod memory_fixture;
mod preconditions;
mod prep_release;
mod refusals;
mod retry;
mod status;
mod support;
mod terminate;
mod unsupported;

pub use errors::errors_carry_context;
pub use fixture::Fixture;
pub use lifecycle::{
    delete_is_idempotent, export_round_trips, list_jobs_filters, submit_is_idempotent,
    submit_refuses_before_io, task_output_reads_streams,
};
pub use memory_fixture::MemoryFixture;
pub use preconditions::preconditions;
pub use prep_release::prep_release_paging;
pub use refusals::refusal_table;
pub use retry::{reactivate_rules, retry_failed_tasks_reports_per_task};
pub use status::status_after_transitions;
pub use terminate::{terminate_is_idempotent, terminate_task_is_idempotent};
pub use unsupported::unsupported_fail_before_io;

use crate::backend::BatchBackend;

/// Runs every check in order; panics with the name of the first that fails.
pub async fn run_all(backend: &dyn BatchBackend, fixture: &dyn Fixture) {
    terminate_is_idempotent(backend, fixture).await;
    status_after_transitions(backend, fixture).await;
    reactivate_rules(backend, fixture).await;
    retry_failed_tasks_reports_per_task(backend, fixture).await;
    prep_release_paging(backend, fixture).await;
    preconditions(backend, fixture).await;
    unsupported_fail_before_io(backend, fixture).await;
    errors_carry_context(backend, fixture).await;
    submit_is_idempotent(backend, fixture).await;
    submit_refuses_before_io(backend, fixture).await;
    delete_is_idempotent(backend, fixture).await;
    list_jobs_filters(backend, fixture).await;
    export_round_trips(backend, fixture).await;
    task_output_reads_streams(backend, fixture).await;
    terminate_task_is_idempotent(backend, fixture).await;
}
