//! Endpoint checks both provider builders share: https everywhere, plain http to loopback only.

use polybatch::{Error, Result};
use url::Url;

/// Whether `url` points at this machine (`localhost`, 127.0.0.0/8 or `[::1]`).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Parses an endpoint URL and enforces https, except for loopback (emulators) where plain http
/// is allowed. `key` names the setting in the error.
pub fn parse_endpoint(backend: &'static str, key: &'static str, value: &str) -> Result<Url> {
    let with_scheme = if value.contains("://") {
        value.to_string()
    } else {
        format!("https://{value}")
    };
    let url = Url::parse(&with_scheme)
        .map_err(|e| Error::configuration(backend, key, format!("not a URL ({e}): {value:?}")))?;
    if url.host().is_none() {
        return Err(Error::configuration(
            backend,
            key,
            format!("has no host: {value:?}"),
        ));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(Error::configuration(
            backend,
            key,
            format!("plain http is allowed only to loopback; use https: {value:?}"),
        )),
        other => Err(Error::configuration(
            backend,
            key,
            format!("unsupported scheme {other:?}; use https"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_to_loopback() {
        assert!(parse_endpoint("t", "endpoint", "https://a.example.com").is_ok());
        assert_eq!(
            parse_endpoint("t", "endpoint", "batch.tencentcloudapi.com")
                .unwrap()
                .scheme(),
            "https"
        );
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:9",
        ] {
            assert!(parse_endpoint("t", "endpoint", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1",
            "http://example.com",
            "ftp://localhost",
            "https://",
        ] {
            assert!(
                matches!(
                    parse_endpoint("t", "endpoint", bad),
                    Err(Error::Configuration { .. })
                ),
                "{bad}"
            );
        }
    }
}
