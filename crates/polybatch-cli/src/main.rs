//! `polybatch`: operator commands over any backend, the local emulator, and the demo.
//!
//! See `docs/cli.md` for every command, flag, environment variable, output shape and exit code.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

/// `println!` that ends the program quietly when stdout is closed (`| head`, a pager that
/// quit): nobody is reading, which is no reason for a panic and its backtrace. Exits 141, as a
/// shell reports a command killed by SIGPIPE; another write error exits 74 (EX_IOERR).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        if let Err(e) = writeln!(stdout, $($arg)*) {
            std::process::exit(if e.kind() == std::io::ErrorKind::BrokenPipe { 141 } else { 74 });
        }
    }};
}

mod backend;
mod bulk;
mod cli;
mod demo;
mod emulator;
mod exit;
mod format;
mod lifecycle;
mod logging;
mod migrate;
mod ops;
mod output;
mod profile;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::exit::CliError;

fn main() -> ExitCode {
    // Usage errors exit 2 and --help/--version exit 0, as clap does; with `--output json` a
    // usage error is JSON too, like every other error.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let output = cli.global.output;
    match cli.verbose() {
        Ok(verbose) => logging::init(verbose.then_some(match cli.command {
            Command::Emulator(_) => logging::EMULATOR_FILTER,
            _ => logging::VERBOSE_FILTER,
        })),
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

/// Reports a command line clap refused: as clap prints it, or as one JSON error when JSON output
/// was asked for (`--output json`, `--output=json`, or `POLYBATCH_OUTPUT=json`).
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let informational = matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    if informational || !json_requested(std::env::args().skip(1)) {
        e.exit();
    }
    // clap's first paragraph is the error (the rest: usage and help pointers).
    let text = e.render().to_string();
    let first = text
        .trim()
        .split("\n\n")
        .next()
        .unwrap_or("invalid command line");
    let err = CliError::usage(first.trim_start_matches("error: "));
    err.report(format::OutputFormat::Json);
    err.exit_code()
}

/// Whether the command line or the environment asks for JSON output.
fn json_requested(args: impl Iterator<Item = String>) -> bool {
    let mut args = args.peekable();
    let mut json = std::env::var("POLYBATCH_OUTPUT").is_ok_and(|v| v == "json");
    while let Some(a) = args.next() {
        if a == "--output" {
            json = args.peek().is_some_and(|v| v == "json");
        } else if let Some(v) = a.strip_prefix("--output=") {
            json = v == "json";
        }
    }
    json
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let output = cli.global.output;
    match cli.command {
        Command::Emulator(args) => emulator::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "polybatch", &mut script);
            output::write_stdout(&script);
            Ok(())
        }
        Command::Migrate(args) => migrate::run(args, output).await,
        Command::Job(op) => {
            let backend = backend::build(&op.options).await?;
            ops::job(backend, op.command, output).await
        }
        Command::Task(op) => {
            let backend = backend::build(&op.options).await?;
            ops::task(backend, op.command, output).await
        }
        Command::Jobs(op) => {
            let backend = backend::build(&op.options).await?;
            match op.command {
                cli::JobsCommand::Terminate(args) => bulk::terminate(backend, args, output).await,
                cli::JobsCommand::List(args) => lifecycle::list(backend, args, output).await,
                cli::JobsCommand::Cleanup(args) => lifecycle::cleanup(backend, args, output).await,
                cli::JobsCommand::Status { ids, ids_file } => {
                    lifecycle::statuses(backend, ids, ids_file, output).await
                }
            }
        }
    }
}
