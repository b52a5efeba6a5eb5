//! The Azure Batch data-plane api-versions both sides speak, and what differs between them.

use std::fmt;
use std::str::FromStr;

/// An Azure Batch data-plane `api-version`.
///
/// The differences that matter to this client: `force` on job terminate exists from
/// 2024-07-01.20.0, and the server-timeout query parameter is spelled `timeout` by the swagger
/// specs (up to 2024-07-01.20.0) and `timeOut` by the TypeSpec spec (2025-06-01).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ApiVersion {
    /// `2022-01-01.15.0` (swagger).
    V2022_01_01_15_0,
    /// `2023-11-01.18.0` (swagger).
    V2023_11_01_18_0,
    /// `2024-07-01.20.0` (swagger): the default, the first with `force` on job terminate.
    #[default]
    V2024_07_01_20_0,
    /// `2025-06-01` (TypeSpec): the newest.
    V2025_06_01,
}

impl ApiVersion {
    /// Every supported version, oldest first.
    pub const ALL: [ApiVersion; 4] = [
        ApiVersion::V2022_01_01_15_0,
        ApiVersion::V2023_11_01_18_0,
        ApiVersion::V2024_07_01_20_0,
        ApiVersion::V2025_06_01,
    ];

    /// The wire string sent as the `api-version` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V2022_01_01_15_0 => "2022-01-01.15.0",
            ApiVersion::V2023_11_01_18_0 => "2023-11-01.18.0",
            ApiVersion::V2024_07_01_20_0 => "2024-07-01.20.0",
            ApiVersion::V2025_06_01 => "2025-06-01",
        }
    }

    /// Whether job terminate accepts `force` (2024-07-01.20.0 and later).
    pub fn supports_force(self) -> bool {
        self >= ApiVersion::V2024_07_01_20_0
    }

    /// The server-timeout query parameter's name, as this version's spec spells it.
    ///
    /// The client signs query names lowercased (as the Shared Key documentation says), so the
    /// spelling changes what is sent, not what is signed.
    pub fn timeout_query_name(self) -> &'static str {
        match self {
            ApiVersion::V2025_06_01 => "timeOut",
            _ => "timeout",
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ApiVersion {
    /// The version whose behaviour a request naming `s` gets, as the service reads it: every
    /// stable data-plane version of the operations polybatch uses is served, each with the
    /// behaviour of its generation. The versions between the four a client speaks behave as
    /// the one before them that it does speak (none of them changed what these operations
    /// take: `force` arrived with 20.0, `timeOut` with 2025-06-01), and `2025-06-01.21.0` is the
    /// name the 2025 spec was first emitted under. A client sends only [`ApiVersion::as_str`].
    pub fn from_received(s: &str) -> Option<ApiVersion> {
        match s {
            "2022-10-01.16.0" | "2023-05-01.17.0" => Some(ApiVersion::V2022_01_01_15_0),
            "2024-02-01.19.0" => Some(ApiVersion::V2023_11_01_18_0),
            "2025-06-01.21.0" => Some(ApiVersion::V2025_06_01),
            _ => ApiVersion::ALL.into_iter().find(|v| v.as_str() == s),
        }
    }
}

/// A string that is not a supported api-version; its message lists the supported ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownApiVersion(pub String);

impl fmt::Display for UnknownApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<&str> = ApiVersion::ALL.iter().map(|v| v.as_str()).collect();
        write!(
            f,
            "unsupported api-version {:?}; use one of {}",
            self.0,
            known.join(", ")
        )
    }
}

impl std::error::Error for UnknownApiVersion {}

impl FromStr for ApiVersion {
    type Err = UnknownApiVersion;

    /// Parses a wire string exactly (surrounding whitespace ignored), as a client configures it.
    fn from_str(s: &str) -> Result<Self, UnknownApiVersion> {
        let s = s.trim();
        ApiVersion::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownApiVersion(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_gates() {
        for v in ApiVersion::ALL {
            assert_eq!(v.as_str().parse::<ApiVersion>().unwrap(), v);
            assert_eq!(v.to_string(), v.as_str());
        }
        assert_eq!(ApiVersion::default(), ApiVersion::V2024_07_01_20_0);
        assert!(!ApiVersion::V2022_01_01_15_0.supports_force());
        assert!(!ApiVersion::V2023_11_01_18_0.supports_force());
        assert!(ApiVersion::V2024_07_01_20_0.supports_force());
        assert!(ApiVersion::V2025_06_01.supports_force());
        assert_eq!(ApiVersion::V2024_07_01_20_0.timeout_query_name(), "timeout");
        assert_eq!(ApiVersion::V2025_06_01.timeout_query_name(), "timeOut");
    }

    #[test]
    fn unknown_version_names_the_supported_ones() {
        let e = "2025-06-01.21.0".parse::<ApiVersion>().unwrap_err();
        assert_eq!(e.0, "2025-06-01.21.0");
        assert!(e.to_string().contains("2024-07-01.20.0"));
    }

    #[test]
    fn the_service_reads_every_stable_version_with_its_generation() {
        assert_eq!(
            ApiVersion::from_received("2025-06-01.21.0"),
            Some(ApiVersion::V2025_06_01)
        );
        // What Microsoft's Node SDK @azure/batch 10.x sends.
        for (sent, force) in [
            ("2022-01-01.15.0", false),
            ("2022-10-01.16.0", false),
            ("2023-05-01.17.0", false),
            ("2023-11-01.18.0", false),
            ("2024-02-01.19.0", false),
            ("2024-07-01.20.0", true),
            ("2025-06-01", true),
        ] {
            let v = ApiVersion::from_received(sent).unwrap_or_else(|| panic!("{sent}"));
            assert_eq!(v.supports_force(), force, "{sent}");
        }
        // A client configures only the four it speaks.
        assert!("2022-10-01.16.0".parse::<ApiVersion>().is_err());
        for v in ApiVersion::ALL {
            assert_eq!(ApiVersion::from_received(v.as_str()), Some(v));
        }
        assert_eq!(ApiVersion::from_received(" 2024-07-01.20.0"), None);
        assert_eq!(ApiVersion::from_received("2021-06-01.14.0"), None);
    }
}
