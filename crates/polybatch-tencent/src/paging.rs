//! Tencent's listing protocol: `Offset`/`Limit` pages with a `TotalCount`, walked the same way
//! by every listing (jobs, task instances).

/// Where the page after one at `offset` holding `got` items starts, or `None` when it was the
/// last: an empty page, or one that reaches `total`, ends the walk whatever else the server
/// says, so a server that miscounts can never keep a client looping.
pub(crate) fn next_offset(offset: u64, got: u64, total: Option<u64>) -> Option<u64> {
    let next = offset.saturating_add(got);
    (got > 0 && next < total.unwrap_or(0)).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::next_offset;

    #[test]
    fn walks_until_the_total_or_an_empty_page() {
        assert_eq!(next_offset(0, 20, Some(45)), Some(20));
        assert_eq!(next_offset(40, 5, Some(45)), None);
        assert_eq!(next_offset(0, 20, Some(20)), None);
        // An empty page ends it even if the total says there is more.
        assert_eq!(next_offset(20, 0, Some(45)), None);
        // No total: one page.
        assert_eq!(next_offset(0, 20, None), None);
        assert_eq!(next_offset(u64::MAX, 1, Some(u64::MAX)), None);
    }
}
