//! End-to-end suites across the polybatch crates live in this package's `tests/` targets.
//!
//! The README's examples are compiled (and the in-memory one run) as this crate's doctests, so
//! the front page cannot drift from the API.

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

#[cfg(doctest)]
#[doc = include_str!("../../docs/emulator.md")]
pub struct EmulatorGuideDoctests;
