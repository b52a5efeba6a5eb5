//! Validated job and task ids.
//!
//! Ids are checked when they are built, so a bad id is an [`Error::InvalidInput`] that names the
//! rule, and nothing is ever sent. The rules are the intersection of what the providers accept:
//! Azure Batch allows up to 64 letters, digits, hyphens and underscores; Tencent job ids
//! (`job-xxxxxxxx`) and task names fit inside that.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorContext, Operation};

/// The longest id any provider accepts.
pub const MAX_ID_LEN: usize = 64;

fn validate(field: &'static str, value: &str) -> Result<(), Error> {
    let ctx = || ErrorContext::new("polybatch", Operation::Other("parse_id"));
    let rule = if value.is_empty() {
        Some("must not be empty".to_string())
    } else if value.trim() != value {
        Some("must not have leading or trailing whitespace".to_string())
    } else if value.chars().count() > MAX_ID_LEN {
        Some(format!(
            "must be at most {MAX_ID_LEN} characters (got {})",
            value.chars().count()
        ))
    } else {
        value
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
            .map(|c| {
                format!(
                    "may contain only ASCII letters, digits, '-' and '_' (found {:?})",
                    c
                )
            })
    };
    match rule {
        Some(rule) => Err(Error::invalid_input(field, rule, ctx())),
        None => Ok(()),
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps an id.
            pub fn new(value: impl Into<String>) -> Result<Self, Error> {
                let value = value.into();
                validate($field, &value)?;
                Ok($name(value))
            }

            /// The id as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                $name::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self, Error> {
                $name::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Error;
            fn try_from(s: &str) -> Result<Self, Error> {
                $name::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// A job id: 1 to 64 ASCII letters, digits, `-` or `_`.
    JobId,
    "job id"
);
id_type!(
    /// A task id (Tencent: the task name): 1 to 64 ASCII letters, digits, `-` or `_`.
    TaskId,
    "task id"
);

impl TaskId {
    /// The task id of an array index: digits, always a valid id.
    pub(crate) fn index(i: u64) -> TaskId {
        TaskId(i.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_of(input: &str) -> String {
        match JobId::new(input) {
            Err(Error::InvalidInput { field, rule, .. }) => {
                assert_eq!(field, "job id");
                rule
            }
            other => panic!("expected invalid input for {input:?}, got {other:?}"),
        }
    }

    #[test]
    fn accepts_provider_ids() {
        for ok in ["job-rybewp57", "myjob_1", "A", &"x".repeat(64)] {
            assert_eq!(JobId::new(ok).unwrap().as_str(), ok);
        }
        assert_eq!(TaskId::new("task-1").unwrap().to_string(), "task-1");
    }

    #[test]
    fn rejects_with_the_rule() {
        assert!(rule_of("").contains("empty"));
        assert!(rule_of(" job").contains("whitespace"));
        assert!(rule_of("job\n").contains("whitespace"));
        assert!(rule_of(&"x".repeat(65)).contains("at most 64"));
        assert!(rule_of("a/b").contains("'/'"));
        assert!(rule_of("jöb").contains("'ö'"));
    }

    #[test]
    fn serde_validates() {
        let ok: JobId = serde_json::from_str("\"job-1\"").unwrap();
        assert_eq!(ok.as_str(), "job-1");
        assert!(serde_json::from_str::<JobId>("\"bad id\"").is_err());
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"job-1\"");
    }
}
