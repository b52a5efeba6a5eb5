//! Secrets that never print.
//!
//! Keys, client secrets and tokens are held in [`Secret`], whose `Debug` and `Display` print a
//! placeholder. Read the value with [`Secret::expose`] only where it is used (signing).

use std::fmt;

/// What a [`Secret`] prints instead of its value.
pub const REDACTED: &str = "<redacted>";

/// A secret string.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Best effort: overwrite the bytes before the allocation is freed.
        let bytes = std::mem::take(&mut self.0).into_bytes();
        let mut bytes = bytes;
        for b in bytes.iter_mut() {
            *b = 0;
        }
        std::hint::black_box(&bytes);
    }
}

/// What is wrong with a key id, secret key or token given as text, if anything; the rule, never
/// the value, so that it can go in an error. Every provider's keys are printable ASCII without
/// spaces, and a pasted key often carries a stray newline.
pub fn credential_problem(value: &str) -> Option<&'static str> {
    if value.is_empty() {
        Some("is empty")
    } else if value.trim() != value {
        Some("must not have leading or trailing whitespace")
    } else if !value.chars().all(|c| c.is_ascii_graphic()) {
        Some("must contain only printable ASCII characters")
    } else {
        None
    }
}

/// Replaces every occurrence of each secret in `text` with [`REDACTED`]: a last line of defence
/// for server messages that might echo a credential back.
pub fn redact(text: &str, secrets: &[&Secret]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if !s.is_empty() {
            out = out.replace(s.expose(), REDACTED);
        }
    }
    out
}

/// Header names whose values are secrets and must not be logged.
pub fn is_sensitive_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "authorization" | "x-tc-token" | "proxy-authorization" | "cookie" | "set-cookie"
    ) || n.contains("secret")
        || n.contains("password")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(format!("{s}"), REDACTED);
        assert_eq!(
            format!("{:?}", Some(s.clone())),
            format!("Some({REDACTED})")
        );
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn redacts_echoes() {
        let s = Secret::new("k3y");
        assert_eq!(
            redact("bad key k3y!", &[&s]),
            format!("bad key {REDACTED}!")
        );
        assert_eq!(redact("nothing", &[&Secret::new("")]), "nothing");
    }

    #[test]
    fn sensitive_headers() {
        assert!(is_sensitive_header("Authorization"));
        assert!(is_sensitive_header("X-TC-Token"));
        assert!(!is_sensitive_header("X-TC-Action"));
    }
}
