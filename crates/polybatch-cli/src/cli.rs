//! The command line: every command, flag and environment variable (documented in `docs/cli.md`).

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use polybatch::secret::Secret;

use crate::exit::CliError;
use crate::format::OutputFormat;

/// Drive cloud batch services (Azure Batch, Tencent Cloud Batch) through one interface, run the
/// local emulator, or run the demo.
///
/// Exit codes: 0 success, 1 an operation failed, 2 usage or configuration error.
#[derive(Debug, Parser)]
#[command(name = "polybatch", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags of the `polybatch` command itself, before the command name.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Output format: a human table, or stable JSON for scripts (see docs/cli.md). `emulator`
    /// and `demo` print text either way: for them it shapes only the error line.
    // Global: accepted before or after any command; listed after each command's own flags.
    #[arg(long, global = true, env = "POLYBATCH_OUTPUT", value_enum, default_value_t = OutputFormat::Table, display_order = 100)]
    pub output: OutputFormat,

    /// Log each request (ids, status, timings; never secrets) on stderr: those sent, or for
    /// `emulator` those served.
    // Not global: the commands that log also take it after their name (their `Verbosity`);
    // `completions` does not list it, and `Cli::verbose` refuses it here.
    #[arg(long, short = 'v', display_order = 100)]
    pub verbose: bool,
}

/// `-v` of the commands whose requests are logged: the operator commands (anywhere after
/// `job`, `task` or `jobs`), the demo (its real clients) and the emulator (what it served).
#[derive(Debug, Args, Clone)]
pub struct Verbosity {
    /// Log each request (ids, status, timings; never secrets) on stderr.
    #[arg(long, short = 'v', global = true, display_order = 100)]
    pub verbose: bool,
}

/// The flags of the operator commands (`job`, `task`, `jobs`): which provider to talk to and
/// how to reach it. Declared on each command group with `global = true`, so they may come
/// before or after the subcommand (`job --provider azure status J`, `job status J --provider
/// azure`) and no other command offers them.
#[derive(Debug, Args, Clone)]
pub struct OperatorArgs {
    /// The provider to talk to.
    #[arg(long, global = true, env = "POLYBATCH_PROVIDER", value_enum)]
    pub provider: Option<ProviderName>,

    /// A named profile of the config file ($POLYBATCH_CONFIG, else
    /// ~/.config/polybatch/config.toml): its settings fill what the flags leave unset.
    #[arg(long, global = true, env = "POLYBATCH_PROFILE")]
    pub profile: Option<String>,

    #[command(flatten)]
    pub verbosity: Verbosity,

    #[command(flatten, next_help_heading = "Provider connection")]
    pub connection: ConnectionArgs,
}

/// An operator command group: its flags and which of its commands to run.
#[derive(Debug, Args)]
pub struct Operator<C: Subcommand> {
    #[command(flatten)]
    pub options: OperatorArgs,

    #[command(subcommand)]
    pub command: C,
}

/// Overrides of the provider configuration read from the environment and credential files.
///
/// Secrets are read from the environment (or credential files) only: flags would show them in
/// the process list and shell history.
#[derive(Debug, Args, Default, Clone)]
pub struct ConnectionArgs {
    /// The service endpoint. Azure: `https://ACCOUNT.REGION.batch.azure.com` (overrides
    /// AZURE_BATCH_ENDPOINT). Tencent: `default` (batch.tencentcloudapi.com), `regional`,
    /// `international`, or a URL. Plain http is accepted for loopback only (the emulator).
    /// Without the flag: the provider's own variable, else POLYBATCH_ENDPOINT.
    // POLYBATCH_ENDPOINT is read in `backend.rs`, not by clap: a provider's own variable must
    // win over it (it may have been set for the other provider), and a bad value must be blamed
    // on the variable, not the flag.
    #[arg(long, global = true)]
    pub endpoint: Option<String>,

    /// Azure: the Batch account name (overrides AZURE_BATCH_ACCOUNT).
    #[arg(long, global = true)]
    pub account: Option<String>,

    /// Azure: the REST api-version: 2022-01-01.15.0, 2023-11-01.18.0, 2024-07-01.20.0 (the
    /// default) or 2025-06-01 (overrides AZURE_BATCH_API_VERSION).
    #[arg(long, global = true)]
    pub api_version: Option<String>,

    /// Tencent: the region (overrides TENCENTCLOUD_REGION).
    #[arg(long, global = true)]
    pub region: Option<String>,

    /// Tencent: the SecretId (overrides TENCENTCLOUD_SECRET_ID; the SecretKey comes only from
    /// the environment or the credentials file).
    #[arg(long, global = true)]
    pub secret_id: Option<String>,

    /// Tencent: sign with the temporary keys of this CVM instance's role, from the instance
    /// metadata service, refreshed before they expire (tccli's `--use-cvm-role`).
    #[arg(long, global = true, conflicts_with = "secret_id")]
    pub use_cvm_role: bool,

    /// Attempts per request, the first included: retryable failures (throttling, timeouts,
    /// transport errors) are retried with backoff up to this many times in all. 1 turns
    /// retries off. Default: the library's policy (4 attempts within 2 minutes).
    #[arg(long, global = true, env = "POLYBATCH_MAX_ATTEMPTS", value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: Option<u32>,

    /// Seconds one attempt may take (connect, send and read the whole answer), 0.1 to 3600.
    /// A server that accepts and never answers fails the attempt then.
    #[arg(long, global = true, env = "POLYBATCH_TIMEOUT", value_name = "SECONDS", default_value = ATTEMPT_TIMEOUT, value_parser = seconds)]
    pub timeout: Duration,

    /// Seconds a whole request may take, retries and their backoff included, 0.1 to 3600: no
    /// attempt starts once it is spent.
    #[arg(long, global = true, env = "POLYBATCH_TOTAL_TIMEOUT", value_name = "SECONDS", default_value = TOTAL_TIMEOUT, value_parser = seconds)]
    pub total_timeout: Duration,
}

/// `--timeout`'s default, in seconds.
pub const ATTEMPT_TIMEOUT: &str = "20";
/// `--total-timeout`'s default, in seconds.
pub const TOTAL_TIMEOUT: &str = "60";

impl ConnectionArgs {
    /// No override at all: the provider's variables and files, and the default timeouts.
    pub fn defaults() -> Self {
        let secs = |s: &str| seconds(s).unwrap_or(Duration::from_secs(60));
        ConnectionArgs {
            timeout: secs(ATTEMPT_TIMEOUT),
            total_timeout: secs(TOTAL_TIMEOUT),
            ..ConnectionArgs::default()
        }
    }
}

/// A number of seconds from 0.1 to 3600.
fn seconds(value: &str) -> Result<Duration, String> {
    let n: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a number of seconds"))?;
    if !(0.1..=3600.0).contains(&n) {
        return Err(format!("{value} is not between 0.1 and 3600 seconds"));
    }
    Ok(Duration::from_secs_f64(n))
}

/// A poll interval: at least half a second, so a wait cannot flood the service.
fn poll_interval(value: &str) -> Result<f64, String> {
    let n: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a number of seconds"))?;
    if !(0.5..=3600.0).contains(&n) {
        return Err(format!("{value} is not between 0.5 and 3600 seconds"));
    }
    Ok(n)
}

/// A provider name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderName {
    /// Azure Batch.
    Azure,
    /// Tencent Cloud Batch.
    Tencent,
    /// AWS Batch (the AWS SDK's configuration: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, the
    /// credential variables and files; POLYBATCH_AWS_JOB_QUEUES for `jobs list`).
    Aws,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the local emulator (Azure Batch, Tencent Cloud Batch and AWS Batch on one port)
    /// until Ctrl-C.
    Emulator(EmulatorArgs),
    /// Start an in-process emulator, create the same work on Azure, Tencent and AWS, and drive
    /// it through the neutral interface with the real clients; exits 0 only if every step
    /// behaved as documented.
    Demo(DemoArgs),
    /// Operate on one job.
    Job(Operator<JobCommand>),
    /// Operate on one task.
    Task(Operator<TaskCommand>),
    /// Operate on many jobs at once.
    Jobs(Operator<JobsCommand>),
    /// Move a job to another provider: export it, translate its placement, submit it there,
    /// and (with --terminate-source) stop the source once the target job is confirmed.
    Migrate(MigrateArgs),
    /// Print a shell completion script, e.g. `source <(polybatch completions bash)`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `polybatch emulator`.
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// The address to listen on (port 0 picks a free one; `:PORT` means 127.0.0.1:PORT). An
    /// address other hosts can reach also needs `--allow-remote`.
    #[arg(
        long,
        env = "POLYBATCH_EMULATOR_LISTEN",
        default_value = "127.0.0.1:8990"
    )]
    pub listen: String,

    /// The Azure Batch account name the emulator accepts.
    #[arg(long, env = "POLYBATCH_EMULATOR_AZURE_ACCOUNT")]
    pub azure_account: Option<String>,

    /// The Azure Batch account key (base64) the emulator accepts. The environment variable is
    /// safer than the flag, which other local users can see in the process list.
    #[arg(long, env = "POLYBATCH_EMULATOR_AZURE_KEY", hide_env_values = true, value_parser = secret)]
    pub azure_key: Option<Secret>,

    /// The Tencent Cloud SecretId the emulator accepts.
    #[arg(long, env = "POLYBATCH_EMULATOR_TENCENT_SECRET_ID")]
    pub tencent_secret_id: Option<String>,

    /// The Tencent Cloud SecretKey the emulator accepts. The environment variable is safer than
    /// the flag, which other local users can see in the process list.
    #[arg(
        long,
        env = "POLYBATCH_EMULATOR_TENCENT_SECRET_KEY",
        hide_env_values = true,
        value_parser = secret
    )]
    pub tencent_secret_key: Option<Secret>,

    /// The AWS access key id the emulator accepts.
    #[arg(long, env = "POLYBATCH_EMULATOR_AWS_ACCESS_KEY_ID")]
    pub aws_access_key_id: Option<String>,

    /// The AWS secret access key the emulator verifies SigV4 signatures with. The environment
    /// variable is safer than the flag, which other local users can see in the process list.
    #[arg(
        long,
        env = "POLYBATCH_EMULATOR_AWS_SECRET_ACCESS_KEY",
        hide_env_values = true,
        value_parser = secret
    )]
    pub aws_secret_access_key: Option<Secret>,

    /// Compute nodes the emulator provides for every Azure pool a job names.
    #[arg(long, env = "POLYBATCH_EMULATOR_NODES_PER_POOL")]
    pub nodes_per_pool: Option<usize>,

    #[command(flatten)]
    pub verbosity: Verbosity,

    /// Do not enforce Tencent's per-action rate limits (`RequestLimitExceeded`).
    #[arg(
        long,
        env = "POLYBATCH_EMULATOR_NO_RATE_LIMITS",
        action = ArgAction::SetTrue,
        value_parser = BoolishValueParser::new()
    )]
    pub no_rate_limits: bool,

    /// Allow `--listen` on an address other hosts can reach. The admin API (which can rewrite
    /// the service's state) then requires `Authorization: Bearer <admin token>`.
    #[arg(
        long,
        env = "POLYBATCH_EMULATOR_ALLOW_REMOTE",
        action = ArgAction::SetTrue,
        value_parser = BoolishValueParser::new()
    )]
    pub allow_remote: bool,

    /// The admin API token (default with `--allow-remote`: a random one, printed at start).
    #[arg(long, env = "POLYBATCH_EMULATOR_ADMIN_TOKEN", hide_env_values = true, value_parser = secret)]
    pub admin_token: Option<Secret>,
}

/// Holds a key as a [`Secret`] from the moment it is parsed, so no `Debug` can print it.
fn secret(value: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(value))
}

/// `polybatch demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub verbosity: Verbosity,
}

/// `polybatch job ...`.
#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Submit a job from a spec file (JSON, or TOML when the name ends in `.toml`; `-` reads
    /// JSON from stdin). Safe to repeat: the same idempotency key finds the job it made.
    Submit {
        /// The spec file (see docs/lifecycle.md for its fields).
        #[arg(long)]
        spec: PathBuf,
        /// The idempotency key (printed when generated; pass it again to resubmit safely).
        #[arg(long, value_parser = clap::builder::NonEmptyStringValueParser::new())]
        idempotency_key: Option<String>,
    },
    /// Print the job as a spec file `job submit --spec` takes (JSON; TOML with `--toml`),
    /// and on stderr the provider fields it could not carry.
    Export {
        /// The job id.
        job: String,
        /// Write TOML instead of JSON.
        #[arg(long)]
        toml: bool,
    },
    /// Delete a job and everything about it (idempotent: a job already gone is not an error;
    /// Tencent deletes only finished jobs).
    Delete {
        /// The job id.
        job: String,
    },
    /// Show a job's normalized and provider state.
    Status {
        /// The job id.
        job: String,
    },
    /// Terminate a job (idempotent: an already terminating or finished job is not an error).
    Terminate(TerminateArgs),
    /// Wait, without changing anything, until the job is in a terminal state; then show it.
    Wait {
        /// The job id.
        job: String,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Stream the job's preparation and release task status per node, page by page (Azure).
    PrepRelease {
        /// The job id.
        job: String,
        /// An OData `$filter` (for example `nodeId eq 'tvm-1'`).
        #[arg(long)]
        filter: Option<String>,
        /// Properties to return (OData `$select`), comma separated.
        #[arg(long, value_delimiter = ',')]
        select: Vec<String>,
        /// Entries per page (1 to 1000).
        #[arg(long)]
        max_results: Option<u32>,
    },
    /// Re-run the job's failed tasks (Azure: reactivate each; Tencent: RetryJobs).
    RetryFailed {
        /// The job id.
        job: String,
        /// Reactivations in flight at once, where the provider retries task by task (1 to 256).
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
        concurrency: u16,
    },
}

/// How `job wait` and `task wait` poll.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Give up after this many seconds (exit 1, `timed out`).
    #[arg(long, default_value_t = 600.0)]
    pub wait_timeout: f64,
    /// Seconds between status polls (at least 0.5).
    #[arg(long, default_value_t = 2.0, value_parser = poll_interval)]
    pub poll_interval: f64,
}

/// `polybatch job terminate`.
#[derive(Debug, Args)]
pub struct TerminateArgs {
    /// The job id.
    pub job: String,
    /// The reason recorded on the job (Azure only; not empty).
    #[arg(long, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub reason: Option<String>,
    /// Terminate even if nodes have not processed it (Azure api-version 2024-07-01.20.0+).
    #[arg(long)]
    pub force: bool,
    /// Only if the job's ETag still equals this one (Azure; not empty).
    #[arg(long, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub if_match: Option<String>,
    /// Wait until the job is in a terminal state.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this many seconds (exit 1).
    #[arg(long, default_value_t = 600.0, requires = "wait")]
    pub wait_timeout: f64,
    /// With --wait: seconds between status polls (at least 0.5).
    #[arg(long, default_value_t = 2.0, requires = "wait", value_parser = poll_interval)]
    pub poll_interval: f64,
}

/// `polybatch task ...`.
#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Show a task's normalized and provider state.
    Status {
        /// The job id.
        job: String,
        /// The task id (Tencent: the task name).
        task: String,
    },
    /// Make a failed task eligible to run again (Azure).
    Reactivate {
        /// The job id.
        job: String,
        /// The task id.
        task: String,
        /// Only if the task's ETag still equals this one (not empty).
        #[arg(long, value_parser = clap::builder::NonEmptyStringValueParser::new())]
        if_match: Option<String>,
    },
    /// Wait, without changing anything, until the task has finished; then show it.
    Wait {
        /// The job id.
        job: String,
        /// The task id (Tencent: the task name).
        task: String,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Stop one task (Tencent: every unfinished instance, or `--instance N`), leaving the rest
    /// of the job running (idempotent: a finished task is `already_completed`).
    Terminate {
        /// The job id.
        job: String,
        /// The task id (Tencent: the task name).
        task: String,
        /// Only this instance of the task (Tencent).
        #[arg(long)]
        instance: Option<u32>,
        /// Only if the task's ETag still equals this one (Azure; not empty).
        #[arg(long, value_parser = clap::builder::NonEmptyStringValueParser::new())]
        if_match: Option<String>,
    },
    /// Print what the task wrote to stdout (or stderr), as it is, or a byte range of it
    /// (Tencent keeps at most 2048 bytes of each instance's; the rest is where it redirects).
    Logs {
        /// The job id.
        job: String,
        /// The task id (Tencent: the task name).
        task: String,
        /// Standard error instead of standard output.
        #[arg(long)]
        stderr: bool,
        /// Only bytes START..END (END exclusive), e.g. `0..1024`.
        #[arg(long, value_name = "START..END")]
        range: Option<String>,
        /// Which instance of the task (Tencent).
        #[arg(long, default_value_t = 0)]
        instance: u32,
    },
}

/// `polybatch jobs ...`.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Terminate many jobs with bounded concurrency; one failure never stops the rest.
    Terminate(BulkTerminateArgs),
    /// List jobs, filtered by state, label, name prefix and creation time (table, or JSON
    /// Lines as they arrive).
    List(ListJobsArgs),
    /// Terminate, then delete, every job matching the labels (and age and states), with a
    /// progress bar on a terminal and a summary of what was done and what failed.
    Cleanup(CleanupArgs),
    /// The statuses of many jobs, with as few requests as the provider allows (Tencent: 100
    /// ids a request). Exit 1 when any is missing.
    Status {
        /// Job ids (with or instead of `--ids-file`).
        #[arg(value_name = "JOB")]
        ids: Vec<String>,
        /// A file with one job id per line (`-` for stdin); blank lines and `#` comments are
        /// skipped.
        #[arg(long)]
        ids_file: Option<PathBuf>,
    },
}

/// `polybatch migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The source job id.
    pub job: String,
    /// The provider the job is on (configured from its own variables and files).
    #[arg(long, value_enum)]
    pub from: ProviderName,
    /// The provider to move it to.
    #[arg(long, value_enum)]
    pub to: ProviderName,
    /// Where jobs go: a JSON or TOML file of `placements = [{from = PLACEMENT, to =
    /// PLACEMENT}]` (see docs/lifecycle.md).
    #[arg(long)]
    pub placement_map: PathBuf,
    /// Show the plan (the spec, what cannot be carried) and send nothing to the target.
    #[arg(long)]
    pub dry_run: bool,
    /// Leave out what the target cannot carry instead of stopping (each is listed).
    #[arg(long)]
    pub drop_unportable: bool,
    /// Terminate the source job once the target job is confirmed.
    #[arg(long)]
    pub terminate_source: bool,
    /// The source's endpoint (overrides its variables; else POLYBATCH_ENDPOINT).
    #[arg(long)]
    pub from_endpoint: Option<String>,
    /// The target's endpoint (overrides its variables; else POLYBATCH_ENDPOINT).
    #[arg(long)]
    pub to_endpoint: Option<String>,
    #[command(flatten)]
    pub verbosity: Verbosity,
}

/// `polybatch jobs cleanup`.
#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Only jobs with this label, as KEY=VALUE; repeatable (all must match). At least one is
    /// required: cleanup never sweeps a whole account.
    #[arg(long = "label", value_name = "KEY=VALUE", required = true)]
    pub labels: Vec<String>,
    /// Only jobs created longer ago than this (`30m`, `6h`, `2days`).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub older_than: Option<std::time::Duration>,
    /// Only jobs in this neutral state; repeatable.
    #[arg(long = "state", value_name = "STATE")]
    pub states: Vec<String>,
    /// List what would be terminated and deleted, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Jobs worked on at once (provider rate limits still apply).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// How long to wait for a terminated job to finish before deleting it (seconds).
    #[arg(long, default_value_t = 600.0)]
    pub wait_timeout: f64,
}

/// `polybatch jobs list`.
#[derive(Debug, Args)]
pub struct ListJobsArgs {
    /// Only jobs in this neutral state (`active`, `running`, `completed`, ...); repeatable.
    #[arg(long = "state", value_name = "STATE")]
    pub states: Vec<String>,
    /// Only jobs with this label, as KEY=VALUE; repeatable (all must match).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Only jobs whose name starts with this.
    #[arg(long)]
    pub name_prefix: Option<String>,
    /// Only jobs created at or after this time (RFC 3339, e.g. 2026-12-01T00:00:00Z).
    #[arg(long)]
    pub created_after: Option<String>,
    /// Only jobs created before this time (RFC 3339).
    #[arg(long)]
    pub created_before: Option<String>,
    /// Jobs per page request (1 to 1000).
    #[arg(long)]
    pub page_size: Option<u32>,
}

/// `polybatch jobs terminate`.
#[derive(Debug, Args)]
pub struct BulkTerminateArgs {
    /// Job ids to terminate (with or instead of `--ids-file`).
    // Not `required_unless_present`: clap's message would not mention `--ids-file`.
    #[arg(value_name = "JOB")]
    pub ids: Vec<String>,
    /// A file with one job id per line (`-` for stdin); blank lines and `#` comments are skipped.
    /// An id given more than once is terminated once.
    #[arg(long)]
    pub ids_file: Option<PathBuf>,
    /// Terminations in flight at once (provider rate limits still apply).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// The reason recorded on each job (Azure only; not empty).
    #[arg(long, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub reason: Option<String>,
    /// Terminate even if nodes have not processed it (Azure api-version 2024-07-01.20.0+).
    #[arg(long)]
    pub force: bool,
}

impl Cli {
    /// Whether request logs are on: `-v` before the command, or after it where the command
    /// offers it. `Err` for `polybatch -v completions`: it sends and serves nothing, so the
    /// flag does not apply.
    pub fn verbose(&self) -> Result<bool, CliError> {
        let own = match &self.command {
            Command::Completions { .. } if self.global.verbose => {
                return Err(CliError::usage(
                    "--verbose does not apply to `polybatch completions`: it sends no request",
                ));
            }
            Command::Completions { .. } => false,
            Command::Emulator(args) => args.verbosity.verbose,
            Command::Demo(args) => args.verbosity.verbose,
            Command::Job(op) => op.options.verbosity.verbose,
            Command::Task(op) => op.options.verbosity.verbose,
            Command::Jobs(op) => op.options.verbosity.verbose,
            Command::Migrate(args) => args.verbosity.verbose,
        };
        Ok(self.global.verbose || own)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_configured_keys() {
        let cli = Cli::try_parse_from([
            "polybatch",
            "emulator",
            "--azure-key",
            "c2VjcmV0LWF6dXJlLWtleQ==",
            "--tencent-secret-key",
            "secret-tencent-key",
            "--aws-secret-access-key",
            "secret-aws-key",
        ])
        .unwrap();
        let text = format!("{cli:?}");
        assert!(!text.contains("c2VjcmV0LWF6dXJlLWtleQ=="), "{text}");
        assert!(!text.contains("secret-tencent-key"), "{text}");
        assert!(!text.contains("secret-aws-key"), "{text}");
        let Command::Emulator(args) = cli.command else {
            panic!("expected the emulator command");
        };
        assert_eq!(
            args.azure_key.as_ref().map(Secret::expose),
            Some("c2VjcmV0LWF6dXJlLWtleQ==")
        );
    }

    /// The operator flags of `polybatch job ...` as parsed, for comparing invocations.
    fn job_options(args: &[&str]) -> (Option<ProviderName>, ConnectionArgs) {
        let cli = Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        let Command::Job(op) = cli.command else {
            panic!("expected the job command");
        };
        (op.options.provider, op.options.connection)
    }

    #[test]
    fn operator_flags_parse_before_and_after_the_subcommand() {
        let a = job_options(&[
            "polybatch",
            "job",
            "--provider",
            "azure",
            "--endpoint",
            "http://127.0.0.1:1",
            "status",
            "j",
        ]);
        let b = job_options(&[
            "polybatch",
            "job",
            "status",
            "j",
            "--provider",
            "azure",
            "--endpoint",
            "http://127.0.0.1:1",
        ]);
        assert_eq!(a.0, Some(ProviderName::Azure));
        assert_eq!(a.0, b.0);
        assert_eq!(a.1.endpoint.as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(a.1.endpoint, b.1.endpoint);
    }

    #[test]
    fn every_connection_flag_reaches_the_operator_command() {
        let cli = Cli::try_parse_from([
            "polybatch",
            "task",
            "--account",
            "acct",
            "--api-version",
            "2024-07-01.20.0",
            "status",
            "j",
            "t",
            "--region",
            "ap-guangzhou",
            "--secret-id",
            "AKIDx",
            "--max-attempts",
            "3",
            "--endpoint",
            "http://127.0.0.1:1",
            "--provider",
            "tencent",
        ])
        .unwrap();
        let Command::Task(op) = cli.command else {
            panic!("expected the task command");
        };
        let c = op.options.connection;
        assert_eq!(op.options.provider, Some(ProviderName::Tencent));
        assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(c.account.as_deref(), Some("acct"));
        assert_eq!(c.api_version.as_deref(), Some("2024-07-01.20.0"));
        assert_eq!(c.region.as_deref(), Some("ap-guangzhou"));
        assert_eq!(c.secret_id.as_deref(), Some("AKIDx"));
        assert_eq!(c.max_attempts, Some(3));

        let cli = Cli::try_parse_from([
            "polybatch",
            "jobs",
            "--region",
            "r",
            "terminate",
            "--ids-file",
            "-",
            "--max-attempts",
            "1",
        ])
        .unwrap();
        let Command::Jobs(op) = cli.command else {
            panic!("expected the jobs command");
        };
        assert_eq!(op.options.connection.region.as_deref(), Some("r"));
        assert_eq!(op.options.connection.max_attempts, Some(1));
    }

    /// The long flags that only the operator commands have.
    const OPERATOR_FLAGS: [&str; 7] = [
        "provider",
        "endpoint",
        "account",
        "api-version",
        "region",
        "secret-id",
        "max-attempts",
    ];

    /// Every command path (`["job", "status"]`, ...) with the long flags clap gives it, global
    /// ones included.
    fn longs_by_command() -> Vec<(Vec<String>, Vec<String>)> {
        fn walk(
            cmd: &clap::Command,
            path: &mut Vec<String>,
            out: &mut Vec<(Vec<String>, Vec<String>)>,
        ) {
            let longs = cmd
                .get_arguments()
                .filter_map(|a| a.get_long().map(str::to_string))
                .collect();
            out.push((path.clone(), longs));
            for sub in cmd.get_subcommands() {
                path.push(sub.get_name().to_string());
                walk(sub, path, out);
                path.pop();
            }
        }
        let mut cmd = <Cli as clap::CommandFactory>::command();
        // Propagates the global flags down, as parsing does.
        cmd.build();
        let mut out = Vec::new();
        walk(&cmd, &mut Vec::new(), &mut out);
        out
    }

    #[test]
    fn operator_flags_belong_to_the_operator_commands_only() {
        let commands = longs_by_command();
        assert!(commands.len() > 10, "{commands:?}");
        // clap's `help` subcommands take no flags.
        let commands = commands
            .iter()
            .filter(|(path, _)| !path.iter().any(|c| c == "help"));
        for (path, longs) in commands {
            let first = path.first().map(String::as_str);
            let operator = matches!(first, Some("job" | "task" | "jobs"));
            for flag in OPERATOR_FLAGS {
                assert_eq!(
                    longs.iter().any(|l| l == flag),
                    operator,
                    "--{flag} on `polybatch {}`",
                    path.join(" ")
                );
            }
            assert!(
                longs.iter().any(|l| l == "output"),
                "--output on `polybatch {}`",
                path.join(" ")
            );
            assert_eq!(
                longs.iter().any(|l| l == "verbose"),
                first != Some("completions"),
                "--verbose on `polybatch {}`",
                path.join(" ")
            );
        }
    }

    #[test]
    fn operator_flags_are_refused_elsewhere() {
        for args in [
            &["polybatch", "emulator", "--endpoint", "http://127.0.0.1:1"][..],
            &["polybatch", "demo", "--provider", "azure"][..],
            &["polybatch", "--region", "r", "job", "status", "j"][..],
        ] {
            let e = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(
                e.kind(),
                clap::error::ErrorKind::UnknownArgument,
                "{args:?}"
            );
        }
    }

    #[test]
    fn verbose_before_or_after_the_command_except_completions() {
        let verbose = |args: &[&str]| {
            Cli::try_parse_from(args)
                .unwrap_or_else(|e| panic!("{args:?}: {e}"))
                .verbose()
                .map_err(|e| format!("{e:?}"))
        };
        for args in [
            &["polybatch", "-v", "job", "status", "j"][..],
            &["polybatch", "job", "-v", "status", "j"],
            &["polybatch", "job", "status", "j", "--verbose"],
            &["polybatch", "task", "status", "j", "t", "-v"],
            &["polybatch", "jobs", "terminate", "--ids-file", "-", "-v"],
            &["polybatch", "-v", "demo"],
            &["polybatch", "demo", "-v"],
            &["polybatch", "-v", "emulator"],
            &["polybatch", "emulator", "--verbose"],
        ] {
            assert_eq!(verbose(args), Ok(true), "{args:?}");
        }
        assert_eq!(verbose(&["polybatch", "job", "status", "j"]), Ok(false));
        assert_eq!(verbose(&["polybatch", "emulator"]), Ok(false));
        let e = verbose(&["polybatch", "-v", "completions", "bash"]).unwrap_err();
        assert!(e.contains("does not apply"), "{e}");
        let e = Cli::try_parse_from(["polybatch", "completions", "bash", "-v"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::UnknownArgument);
    }

    #[test]
    fn clap_definition_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }
}
