//! `polybatch emulator`: serve the three providers' protocols (Azure Batch, Tencent Cloud Batch,
//! AWS Batch) on one port until Ctrl-C (or SIGTERM).

use std::net::SocketAddr;

use base64::Engine;
use polybatch::secret::Secret;
use polybatch_aws::{
    ENV_ENDPOINT_URL, ENV_ENDPOINT_URL_BATCH, ENV_JOB_QUEUES, ENV_PROFILE, ENV_REGION,
};
use polybatch_emulator::aws::{SEEDED_JOB_DEFINITION, SEEDED_QUEUE};
use polybatch_emulator::config::{
    DEFAULT_AWS_REGION, DEFAULT_ENTRA_CLIENT_ID, DEFAULT_ENTRA_CLIENT_SECRET, DEFAULT_ENTRA_TENANT,
    DEFAULT_TENCENT_REGION, MAX_NODES_PER_POOL,
};
use polybatch_emulator::{Emulator, EmulatorConfig};
use tokio::net::TcpListener;

use crate::cli::EmulatorArgs;
use crate::exit::CliError;

/// What replaces a secret the user configured, in the start-up banner.
const AS_CONFIGURED: &str = "<as configured>";

/// Builds the emulator configuration from the flags; the defaults are the published
/// development credentials.
pub fn config_from_args(args: &EmulatorArgs) -> Result<EmulatorConfig, CliError> {
    let mut config = EmulatorConfig::default();
    if let Some(account) = &args.azure_account {
        if account.is_empty() {
            return Err(CliError::usage("--azure-account: must not be empty"));
        }
        config.azure.account = account.clone();
    }
    if let Some(key) = &args.azure_key {
        // The emulator verifies Shared Key signatures with the decoded key, so a key that is
        // not base64 could never authenticate anything: say so now.
        if base64::engine::general_purpose::STANDARD
            .decode(key.expose())
            .map_or(true, |k| k.is_empty())
        {
            return Err(CliError::usage(
                "--azure-key / POLYBATCH_EMULATOR_AZURE_KEY: must be non-empty base64",
            ));
        }
        config.azure.key = key.clone();
    }
    if let Some(id) = &args.tencent_secret_id {
        if id.is_empty() {
            return Err(CliError::usage("--tencent-secret-id: must not be empty"));
        }
        config.tencent.secret_id = id.clone();
    }
    if let Some(key) = &args.tencent_secret_key {
        if key.is_empty() {
            return Err(CliError::usage(
                "--tencent-secret-key / POLYBATCH_EMULATOR_TENCENT_SECRET_KEY: must not be empty",
            ));
        }
        config.tencent.secret_key = key.clone();
    }
    if let Some(id) = &args.aws_access_key_id {
        if id.is_empty() {
            return Err(CliError::usage("--aws-access-key-id: must not be empty"));
        }
        config.aws.access_key_id = id.clone();
    }
    if let Some(key) = &args.aws_secret_access_key {
        if key.is_empty() {
            return Err(CliError::usage(
                "--aws-secret-access-key / POLYBATCH_EMULATOR_AWS_SECRET_ACCESS_KEY: must not be \
                 empty",
            ));
        }
        config.aws.secret_access_key = key.clone();
    }
    if let Some(n) = args.nodes_per_pool {
        if !(1..=MAX_NODES_PER_POOL).contains(&n) {
            return Err(CliError::usage(format!(
                "--nodes-per-pool: must be from 1 to {MAX_NODES_PER_POOL}"
            )));
        }
        config.azure.nodes_per_pool = n;
    }
    if args.no_rate_limits {
        config.tencent.enforce_rate_limits = false;
    }
    config.admin_token = match &args.admin_token {
        Some(token) if token.expose().is_empty() => {
            return Err(CliError::usage(
                "--admin-token / POLYBATCH_EMULATOR_ADMIN_TOKEN: must not be empty",
            ));
        }
        Some(token) => Some(token.clone()),
        // Reachable from other hosts: the admin API must not be open to them.
        None if args.allow_remote => Some(Secret::new(uuid::Uuid::new_v4().simple().to_string())),
        None => None,
    };
    Ok(config)
}

/// The start-up banner: where to point clients and which credentials to use. Secrets the user
/// configured print as `<as configured>`; the defaults are public development values.
pub fn banner(addr: SocketAddr, config: &EmulatorConfig, args: &EmulatorArgs) -> String {
    let url = format!("http://{addr}");
    let azure_key = if args.azure_key.is_some() {
        AS_CONFIGURED
    } else {
        config.azure.key.expose()
    };
    let tencent_key = if args.tencent_secret_key.is_some() {
        AS_CONFIGURED
    } else {
        config.tencent.secret_key.expose()
    };
    let aws_key = if args.aws_secret_access_key.is_some() {
        AS_CONFIGURED
    } else {
        config.aws.secret_access_key.expose()
    };
    let region = config
        .tencent
        .regions
        .first()
        .map(String::as_str)
        .unwrap_or(DEFAULT_TENCENT_REGION);
    let aws_region = config
        .aws
        .regions
        .first()
        .map(String::as_str)
        .unwrap_or(DEFAULT_AWS_REGION);
    let rate_limits = if config.tencent.enforce_rate_limits {
        "enforced"
    } else {
        "off"
    };
    // One line per provider and credential kind, each ready to paste or `eval` on its own: it
    // unsets what would clash (the other Azure credential, a generic endpoint) and exports the
    // rest, values single-quoted.
    let export = |unset: &[&str], vars: &[(&str, &str)]| {
        // A secret configured by the operator is not printed: the line leaves it for them to set.
        let set: Vec<String> = vars
            .iter()
            .filter(|(_, v)| *v != AS_CONFIGURED)
            .map(|(k, v)| format!("{k}={}", shell_quote(v)))
            .collect();
        let mut line = format!("unset {}; export {}", unset.join(" "), set.join(" "));
        for (k, _) in vars.iter().filter(|(_, v)| *v == AS_CONFIGURED) {
            line.push_str(&format!("  # and {k}=<as configured>"));
        }
        line
    };
    let account = config.azure.account.as_str();
    let shared_key = export(
        &[
            "POLYBATCH_ENDPOINT",
            "AZURE_TENANT_ID",
            "AZURE_CLIENT_ID",
            "AZURE_CLIENT_SECRET",
        ],
        &[
            ("POLYBATCH_PROVIDER", "azure"),
            ("AZURE_BATCH_ENDPOINT", &url),
            ("AZURE_BATCH_ACCOUNT", account),
            ("AZURE_BATCH_ACCESS_KEY", azure_key),
        ],
    );
    let entra = export(
        &["POLYBATCH_ENDPOINT", "AZURE_BATCH_ACCESS_KEY"],
        &[
            ("POLYBATCH_PROVIDER", "azure"),
            ("AZURE_BATCH_ENDPOINT", &url),
            ("AZURE_BATCH_ACCOUNT", account),
            ("AZURE_AUTHORITY_HOST", &url),
            ("AZURE_TENANT_ID", DEFAULT_ENTRA_TENANT),
            ("AZURE_CLIENT_ID", DEFAULT_ENTRA_CLIENT_ID),
            ("AZURE_CLIENT_SECRET", DEFAULT_ENTRA_CLIENT_SECRET),
        ],
    );
    let tencent = export(
        &["TENCENTCLOUD_TOKEN", "TENCENTCLOUD_SECURITY_TOKEN"],
        &[
            ("POLYBATCH_PROVIDER", "tencent"),
            ("POLYBATCH_ENDPOINT", &url),
            ("TENCENTCLOUD_SECRET_ID", &config.tencent.secret_id),
            ("TENCENTCLOUD_SECRET_KEY", tencent_key),
            ("TENCENTCLOUD_REGION", region),
        ],
    );
    // The SDK's own variables, plus polybatch's job queues for `jobs list`. A session token
    // would be refused (the emulator's credentials are long-term), a profile or a Batch-only
    // endpoint would override these, and the generic endpoint would override AWS_ENDPOINT_URL.
    let aws = export(
        &[
            "POLYBATCH_ENDPOINT",
            "AWS_SESSION_TOKEN",
            ENV_PROFILE,
            ENV_ENDPOINT_URL_BATCH,
        ],
        &[
            ("POLYBATCH_PROVIDER", "aws"),
            ("AWS_ACCESS_KEY_ID", &config.aws.access_key_id),
            ("AWS_SECRET_ACCESS_KEY", aws_key),
            (ENV_REGION, aws_region),
            (ENV_ENDPOINT_URL, &url),
            (ENV_JOB_QUEUES, SEEDED_QUEUE),
        ],
    );
    format!(
        "polybatch emulator listening on {url}\n\
         \n\
         # Azure Batch, Shared Key:\n\
         {shared_key}\n\
         # Azure Batch, Microsoft Entra ID client credentials (token endpoint on the same port):\n\
         {entra}\n\
         # Tencent Cloud Batch, TC3-HMAC-SHA256:\n\
         {tencent}\n\
         # AWS Batch, SigV4 (the AWS SDK's variables; job queue {SEEDED_QUEUE} and job definition \
         {SEEDED_JOB_DEFINITION} are ready in every region):\n\
         {aws}\n\
         \n\
         Paste or eval one line, then run e.g. `polybatch job status JOB`.\n\
         Azure compute nodes per pool: {nodes}; Tencent rate limits: {rate_limits}.\n\
         Admin API: {url}/_polybatch/health (state, clock, clock/advance, faults, stats){admin}\n\
         These are public development credentials: never use them for a real account.\n\
         Press Ctrl-C to stop.",
        nodes = config.azure.nodes_per_pool,
        admin = admin_note(config, args),
    )
}

/// How to authenticate to the admin API, for the banner: a token the user chose is not printed.
fn admin_note(config: &EmulatorConfig, args: &EmulatorArgs) -> String {
    match (&config.admin_token, &args.admin_token) {
        (None, _) => String::new(),
        (Some(_), Some(_)) => "\n  with `Authorization: Bearer <as configured>`".into(),
        (Some(token), None) => format!(
            "\n  with `Authorization: Bearer {}` (a token made for this run)",
            token.expose()
        ),
    }
}

/// `--listen` as a bindable address: `:PORT` is loopback, as in `127.0.0.1:PORT`.
fn listen_address(listen: &str) -> String {
    match listen.strip_prefix(':') {
        Some(port) => format!("127.0.0.1:{port}"),
        None => listen.to_string(),
    }
}

/// `value` single-quoted for a POSIX shell.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// Runs `polybatch emulator` until Ctrl-C or SIGTERM.
pub async fn run(args: EmulatorArgs) -> Result<(), CliError> {
    let config = config_from_args(&args)?;
    let listen = listen_address(&args.listen);
    let listener = TcpListener::bind(&listen)
        .await
        .map_err(|e| CliError::usage(format!("--listen {}: cannot listen: {e}", args.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::failed(format!("cannot read the listening address: {e}")))?;
    if !addr.ip().is_loopback() && !args.allow_remote {
        return Err(CliError::usage(format!(
            "--listen {}: {addr} is reachable from other hosts; add --allow-remote (the admin \
             API then requires a token) or listen on 127.0.0.1",
            args.listen
        )));
    }
    let shutdown = shutdown_signal();
    outln!("{}", banner(addr, &config, &args));
    Emulator::new(config)
        .serve(listener, async {
            shutdown.await;
            eprintln!("polybatch emulator: stopping");
        })
        .await
        .map_err(|e| CliError::failed(format!("emulator: {e}")))?;
    eprintln!("polybatch emulator: stopped");
    Ok(())
}

/// Installs the SIGINT and SIGTERM handlers now and returns a future that ends on either.
///
/// Installing before the banner is printed matters: a signal sent as soon as the banner appears
/// must stop the emulator cleanly, not kill it with the default disposition.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let int = signal(SignalKind::interrupt()).ok();
        let term = signal(SignalKind::terminate()).ok();
        async move {
            match (int, term) {
                (Some(mut int), Some(mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
