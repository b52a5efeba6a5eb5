//! Where Tencent credentials come from and how they are checked: the environment (read by the
//! builder), the SDK credentials file, and the rules a SecretId or SecretKey must follow. Values
//! never reach an error message.

use std::path::{Path, PathBuf};

use polybatch::secret::Secret;
use polybatch::{Error, Result};

use crate::error::BACKEND;

/// Environment variable: the path of the credentials file (as the Go SDK reads it).
pub const ENV_CREDENTIALS_FILE: &str = "TENCENTCLOUD_CREDENTIALS_FILE";

/// `[default]` `secret_id` / `secret_key` of an SDK credentials file (INI).
fn read_credentials_file(path: &Path) -> std::io::Result<(Option<String>, Option<String>)> {
    let text = std::fs::read_to_string(path)?;
    let (mut id, mut key) = (None, None);
    let mut in_default = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_default = section.trim() == "default";
            continue;
        }
        if !in_default {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            match k.trim() {
                "secret_id" => id = Some(v.trim().to_string()),
                "secret_key" => key = Some(v.trim().to_string()),
                _ => {}
            }
        }
    }
    Ok((id, key))
}

/// The credential of the SDK credentials file: `explicit` (`TENCENTCLOUD_CREDENTIALS_FILE`), else
/// `<home>/.tencentcloud/credentials` (as the Go SDK looks it up). A missing default file is no
/// credential; an explicitly named file that cannot be read is an error, and so is a default
/// file that exists but cannot be read. A file naming only one half is no credential.
pub(crate) fn file_credential(
    explicit: Option<String>,
    home: Option<PathBuf>,
) -> Result<Option<(String, Secret)>> {
    let (path, named) = match explicit {
        Some(p) => (PathBuf::from(p), true),
        None => match home {
            Some(h) => (h.join(".tencentcloud").join("credentials"), false),
            None => return Ok(None),
        },
    };
    match read_credentials_file(&path) {
        Ok((Some(id), Some(key))) => Ok(Some((id, Secret::new(key)))),
        Ok(_) => Ok(None),
        Err(e) if !named && e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::configuration(
            BACKEND,
            ENV_CREDENTIALS_FILE,
            format!("cannot read {} ({e})", path.display()),
        )),
    }
}

pub(crate) fn missing(key: &'static str) -> Error {
    Error::configuration(BACKEND, key, "is not set")
}

/// Checks a credential without ever putting its value in the error.
pub(crate) fn check_credential<'a>(key: &'static str, value: Option<&'a str>) -> Result<&'a str> {
    let value = value.ok_or_else(|| missing(key))?;
    let rule = if value.is_empty() {
        Some("is empty")
    } else if value.trim() != value {
        Some("must not have leading or trailing whitespace")
    } else if !value.chars().all(|c| c.is_ascii_graphic()) {
        Some("must contain only printable ASCII characters")
    } else {
        None
    };
    match rule {
        Some(rule) => Err(Error::configuration(BACKEND, key, rule)),
        None => Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_gives_a_whole_credential_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        let named = || Some(path.display().to_string());
        // An explicitly named file that is missing is an error naming the setting.
        let e = file_credential(named(), None).unwrap_err();
        assert!(e.to_string().contains(ENV_CREDENTIALS_FILE), "{e}");
        // A missing default file, or no home, is no credential.
        assert!(
            file_credential(None, Some(dir.path().into()))
                .unwrap()
                .is_none()
        );
        assert!(file_credential(None, None).unwrap().is_none());
        // Half a credential is none; the other section does not count.
        std::fs::write(
            &path,
            "[default]\nsecret_id = AKIDx\n[other]\nsecret_key = k\n",
        )
        .unwrap();
        assert!(file_credential(named(), None).unwrap().is_none());
        std::fs::write(
            &path,
            "# c\n[default]\nsecret_id = AKIDx\nsecret_key = k2\n",
        )
        .unwrap();
        let (id, key) = file_credential(named(), None).unwrap().unwrap();
        assert_eq!((id.as_str(), key.expose()), ("AKIDx", "k2"));
    }

    #[test]
    fn credentials_are_checked_without_showing_them() {
        assert!(check_credential("K", Some("AKIDok")).is_ok());
        for bad in ["", " SECRET1", "SECRET2 ", "SECRET3\tx", "SECRET4\u{fc}"] {
            let e = check_credential("K", Some(bad)).unwrap_err();
            assert!(matches!(e, Error::Configuration { .. }), "{e:?}");
            assert!(!e.to_string().contains("SECRET"), "{e}");
        }
        assert!(
            check_credential("K", None)
                .unwrap_err()
                .to_string()
                .contains("is not set")
        );
    }
}
