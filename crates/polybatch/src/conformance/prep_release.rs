//! Listing per-node preparation/release status, page by page.

use std::collections::HashSet;

use futures::TryStreamExt;

use super::Fixture;
use super::support::Check;
use crate::backend::BatchBackend;
use crate::error::{Error, Operation};
use crate::options::ListPrepReleaseOptions;

/// With the capability: a job with `n = fixture.max_prep_release_nodes()` records lists exactly
/// `n` records with unique node ids in pages of 2 (one request per page, when the fixture
/// counts requests); a `nodeId eq` filter (if supported) returns exactly that node; a page
/// size of 0 is `InvalidInput` before any I/O. Without it, the stream yields `Unsupported`
/// before any I/O.
pub async fn prep_release_paging(backend: &dyn BatchBackend, fixture: &dyn Fixture) {
    let c = Check::new("prep_release_paging", backend, fixture);
    let op = Operation::ListPrepReleaseStatus;
    let list = |job, options| {
        backend
            .list_prep_release_status(job, options)
            .try_collect::<Vec<_>>()
    };
    if !c.caps().list_prep_release_status {
        let job = fixture.unknown_job_id();
        c.expect_unsupported(
            "list_prep_release_status without the capability",
            op,
            None,
            list(&job, ListPrepReleaseOptions::default()),
        )
        .await;
        return;
    }

    let n = fixture.max_prep_release_nodes();
    let job = c.setup(
        "job_with_prep_release",
        fixture.job_with_prep_release(n).await,
    );
    let before = c.requests().await;
    let records = c.ok(
        "list_prep_release_status(page_size 2)",
        list(&job, ListPrepReleaseOptions::default().with_page_size(2)).await,
    );
    let after = c.requests().await;
    c.ensure(records.len() == n, || {
        format!(
            "listed {} records for a job prepared on {n} nodes",
            records.len()
        )
    });
    let nodes: HashSet<&str> = records.iter().map(|r| r.node_id.as_str()).collect();
    c.ensure(nodes.len() == n, || {
        format!(
            "{} records but {} distinct node ids",
            records.len(),
            nodes.len()
        )
    });
    if let (Some(before), Some(after)) = (before, after) {
        let pages = n.div_ceil(2).max(1) as u64;
        c.ensure(after.saturating_sub(before) >= pages, || {
            format!(
                "{n} records in pages of 2 took {} requests, expected at least {pages}",
                after.saturating_sub(before)
            )
        });
    }

    if c.caps().list_prep_release_filter
        && let Some(first) = records.first()
    {
        let node = first.node_id.clone();
        let filter = format!("nodeId eq '{}'", node.replace('\'', "''"));
        let filtered = c.ok(
            &format!("list_prep_release_status(filter {filter})"),
            list(
                &job,
                ListPrepReleaseOptions::default().with_filter(filter.clone()),
            )
            .await,
        );
        c.ensure(
            filtered.len() == 1 && filtered.iter().all(|r| r.node_id == node),
            || {
                format!(
                    "filter {filter} returned {:?}",
                    filtered.iter().map(|r| &r.node_id).collect::<Vec<_>>()
                )
            },
        );
    }

    let e = c
        .without_io(
            "list_prep_release_status(page_size 0)",
            list(&job, ListPrepReleaseOptions::default().with_page_size(0)),
        )
        .await;
    c.ensure(matches!(e, Error::InvalidInput { .. }), || {
        format!("page_size 0: expected InvalidInput, got {} ({e})", e.kind())
    });
}
