//! Named profiles (`--profile NAME`, `POLYBATCH_PROFILE`) from polybatch's config file, and the
//! tccli credential files a profile may point at.
//!
//! The config file is `$POLYBATCH_CONFIG`, else `~/.config/polybatch/config.toml`:
//!
//! ```toml
//! [profiles.prod-azure]
//! provider = "azure"
//! endpoint = "https://myaccount.westeurope.batch.azure.com"
//! account = "myaccount"
//!
//! [profiles.gz]
//! provider = "tencent"
//! region = "ap-guangzhou"
//! tccli_profile = "default"     # ~/.tccli/default.credential and default.configure
//! ```
//!
//! It holds no secrets (an unknown key, `secret_key` included, is refused): those stay in the
//! environment and the providers' own credential files. A flag beats the profile; the profile
//! beats the environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::{OperatorArgs, ProviderName};
use crate::exit::CliError;

/// The config file's variable.
pub const ENV_CONFIG: &str = "POLYBATCH_CONFIG";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// One named profile: the settings a flag could give, and where Tencent keys come from.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// `--provider`.
    pub provider: Option<ProviderName>,
    /// `--endpoint`.
    pub endpoint: Option<String>,
    /// `--account` (Azure).
    pub account: Option<String>,
    /// `--api-version` (Azure).
    pub api_version: Option<String>,
    /// `--region` (Tencent).
    pub region: Option<String>,
    /// `--secret-id` (Tencent).
    pub secret_id: Option<String>,
    /// A tccli profile whose `~/.tccli/NAME.credential` gives the Tencent keys (and whose
    /// `NAME.configure` the region).
    pub tccli_profile: Option<String>,
}

/// Where the config file is.
pub fn config_path() -> Option<PathBuf> {
    match std::env::var_os(ENV_CONFIG).filter(|v| !v.is_empty()) {
        Some(p) => Some(PathBuf::from(p)),
        None => dirs::config_dir().map(|d| d.join("polybatch").join("config.toml")),
    }
}

/// The profile `name` from the config file; a missing file or profile names what to create.
pub fn load(name: &str) -> Result<Profile, CliError> {
    let path = config_path().ok_or_else(|| {
        CliError::usage(format!(
            "--profile {name}: no config directory; set {ENV_CONFIG}"
        ))
    })?;
    let shown = path.display();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| CliError::usage(format!("--profile {name}: cannot read {shown}: {e}")))?;
    let config: Config = toml::from_str(&text).map_err(|e| {
        CliError::usage(format!(
            "--profile {name}: {shown}: {}",
            crate::exit::toml_message(&text, &e)
        ))
    })?;
    config.profiles.get(name).cloned().ok_or_else(|| {
        let known: Vec<&str> = config.profiles.keys().map(String::as_str).collect();
        CliError::usage(format!(
            "--profile {name}: no [profiles.{name}] in {shown} (it has: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ))
    })
}

/// Fills what the flags left unset from the profile.
pub fn apply(profile: &Profile, options: &mut OperatorArgs) {
    let c = &mut options.connection;
    options.provider = options.provider.or(profile.provider);
    c.endpoint = c.endpoint.take().or_else(|| profile.endpoint.clone());
    c.account = c.account.take().or_else(|| profile.account.clone());
    c.api_version = c.api_version.take().or_else(|| profile.api_version.clone());
    c.region = c.region.take().or_else(|| profile.region.clone());
    c.secret_id = c.secret_id.take().or_else(|| profile.secret_id.clone());
}

/// What a tccli profile gives: `secretId`, `secretKey`, `token` from `NAME.credential`, and
/// `_sys_param.region` from `NAME.configure` (tccli's own layout under `~/.tccli`).
#[derive(Debug, Default)]
pub struct Tccli {
    pub secret_id: Option<String>,
    pub secret_key: Option<String>,
    pub token: Option<String>,
    /// `"type": "cvm-role"`: the profile signs with the instance's role.
    pub cvm_role: bool,
    pub region: Option<String>,
}

fn read_json(path: &Path) -> Result<Option<serde_json::Value>, CliError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| CliError::usage(format!("{}: not tccli's JSON: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::usage(format!(
            "{}: cannot read: {e}",
            path.display()
        ))),
    }
}

/// Reads tccli profile `name` from `~/.tccli`.
pub fn tccli(name: &str) -> Result<Tccli, CliError> {
    let dir = dirs::home_dir()
        .ok_or_else(|| CliError::usage("tccli_profile: no home directory"))?
        .join(".tccli");
    let credential = read_json(&dir.join(format!("{name}.credential")))?;
    let configure = read_json(&dir.join(format!("{name}.configure")))?;
    if credential.is_none() && configure.is_none() {
        return Err(CliError::usage(format!(
            "tccli_profile {name}: neither {0}/{name}.credential nor {0}/{name}.configure exists \
             (create them with `tccli configure --profile {name}`)",
            dir.display()
        )));
    }
    let text = |v: &Option<serde_json::Value>, key: &str| {
        v.as_ref()
            .and_then(|v| v.get(key))
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    Ok(Tccli {
        secret_id: text(&credential, "secretId"),
        secret_key: text(&credential, "secretKey"),
        token: text(&credential, "token"),
        cvm_role: text(&credential, "type").as_deref() == Some("cvm-role"),
        region: configure
            .as_ref()
            .and_then(|c| c.get("_sys_param"))
            .and_then(|p| p.get("region"))
            .and_then(serde_json::Value::as_str)
            .map(String::from),
    })
}
