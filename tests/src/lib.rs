//! End-to-end suites live in this package's `tests/` targets.
