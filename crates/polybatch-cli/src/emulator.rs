//! `polybatch emulator`: serve both providers' protocols on one port until Ctrl-C (or SIGTERM).

use std::net::SocketAddr;

use base64::Engine;
use polybatch_emulator::config::{
    DEFAULT_ENTRA_CLIENT_ID, DEFAULT_ENTRA_CLIENT_SECRET, DEFAULT_ENTRA_TENANT,
    DEFAULT_TENCENT_REGION,
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
    if let Some(n) = args.nodes_per_pool {
        if n == 0 {
            return Err(CliError::usage("--nodes-per-pool: must be at least 1"));
        }
        config.azure.nodes_per_pool = n;
    }
    if args.no_rate_limits {
        config.tencent.enforce_rate_limits = false;
    }
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
    let region = config
        .tencent
        .regions
        .first()
        .map(String::as_str)
        .unwrap_or(DEFAULT_TENCENT_REGION);
    let rate_limits = if config.tencent.enforce_rate_limits {
        "enforced"
    } else {
        "off"
    };
    format!(
        "polybatch emulator listening on {url}\n\
         \n\
         Azure Batch (Shared Key):\n\
         \x20 AZURE_BATCH_ENDPOINT={url}\n\
         \x20 AZURE_BATCH_ACCOUNT={account}\n\
         \x20 AZURE_BATCH_ACCESS_KEY={azure_key}\n\
         Azure Batch (Microsoft Entra ID client credentials; token endpoint on the same port):\n\
         \x20 AZURE_AUTHORITY_HOST={url}\n\
         \x20 AZURE_TENANT_ID={tenant}\n\
         \x20 AZURE_CLIENT_ID={client}\n\
         \x20 AZURE_CLIENT_SECRET={client_secret}\n\
         \x20 compute nodes per pool: {nodes}\n\
         Tencent Cloud Batch (TC3-HMAC-SHA256):\n\
         \x20 POLYBATCH_ENDPOINT={url}   (the polybatch CLI's --endpoint)\n\
         \x20 TENCENTCLOUD_SECRET_ID={secret_id}\n\
         \x20 TENCENTCLOUD_SECRET_KEY={tencent_key}\n\
         \x20 TENCENTCLOUD_REGION={region}\n\
         \x20 rate limits: {rate_limits}\n\
         Admin API: {url}/_polybatch/health (state, clock, clock/advance, faults, stats)\n\
         These are public development credentials: never use them for a real account.\n\
         Press Ctrl-C to stop.",
        account = config.azure.account,
        tenant = DEFAULT_ENTRA_TENANT,
        client = DEFAULT_ENTRA_CLIENT_ID,
        client_secret = DEFAULT_ENTRA_CLIENT_SECRET,
        nodes = config.azure.nodes_per_pool,
        secret_id = config.tencent.secret_id,
    )
}

/// Runs `polybatch emulator` until Ctrl-C or SIGTERM.
pub async fn run(args: EmulatorArgs) -> Result<(), CliError> {
    let config = config_from_args(&args)?;
    let listener = TcpListener::bind(&args.listen)
        .await
        .map_err(|e| CliError::usage(format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::failed(format!("cannot read the listening address: {e}")))?;
    println!("{}", banner(addr, &config, &args));
    Emulator::new(config)
        .serve(listener, async {
            shutdown_signal().await;
            eprintln!("polybatch emulator: stopping");
        })
        .await
        .map_err(|e| CliError::failed(format!("emulator: {e}")))?;
    eprintln!("polybatch emulator: stopped");
    Ok(())
}

/// Resolves on Ctrl-C (SIGINT) or, on Unix, SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
