//! `polybatch demo` (being written).

use crate::cli::DemoArgs;
use crate::exit::CliError;

/// Runs the demo.
pub async fn run(_args: DemoArgs) -> Result<(), CliError> {
    Err(CliError::failed("demo: not written yet"))
}
