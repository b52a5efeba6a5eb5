//! `polybatch`: operator commands over any backend, the local emulator, and the demo.
//!
//! See `docs/cli.md` for every command, flag, environment variable, output shape and exit code.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod backend;
mod bulk;
mod cli;
mod demo;
mod emulator;
mod exit;
mod format;
mod logging;
mod ops;
mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::exit::CliError;

fn main() -> ExitCode {
    // Usage errors exit 2 and --help/--version exit 0, as clap does.
    let cli = Cli::parse();
    let output = cli.global.output;
    match cli.verbose() {
        Ok(verbose) => logging::init(verbose),
        Err(e) => {
            e.report(output);
            return e.exit_code();
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let e = CliError::failed(format!("cannot start the async runtime: {e}"));
            e.report(output);
            return e.exit_code();
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            e.report(output);
            e.exit_code()
        }
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let output = cli.global.output;
    match cli.command {
        Command::Emulator(args) => emulator::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Job(op) => {
            let backend = backend::build(&op.options)?;
            ops::job(backend, op.command, output).await
        }
        Command::Task(op) => {
            let backend = backend::build(&op.options)?;
            ops::task(backend, op.command, output).await
        }
        Command::Jobs(op) => {
            let backend = backend::build(&op.options)?;
            let cli::JobsCommand::Terminate(args) = op.command;
            bulk::terminate(backend, args, output).await
        }
    }
}
