//! The task environment variables the simulated services read to decide how a task ends.
//!
//! A test (or the demo) creates work through a provider's real API and sets these on the task;
//! the simulation in the emulator and in the in-memory backend reads them. They are part of the
//! contract between whoever creates the work and whoever simulates it, so they live here.

/// Whole or fractional seconds a simulated task runs before it exits.
pub const RUN_SECONDS_VAR: &str = "POLYBATCH_RUN_SECONDS";

/// The exit code a simulated task exits with (0 succeeds; anything else fails).
pub const EXIT_CODE_VAR: &str = "POLYBATCH_EXIT_CODE";

/// How long a simulated task runs when it does not say.
pub const DEFAULT_RUN_SECONDS: f64 = 5.0;

/// What a simulated task writes to its standard output (none when unset).
pub const STDOUT_VAR: &str = "POLYBATCH_STDOUT";

/// What a simulated task writes to its standard error (none when unset).
pub const STDERR_VAR: &str = "POLYBATCH_STDERR";
