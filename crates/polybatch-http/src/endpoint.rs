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
    // An endpoint may be pasted with credentials in it: never echo what precedes an `@`.
    let shown = match value.rsplit_once('@') {
        Some((_, host)) => format!("<credentials>@{host}"),
        None => value.to_string(),
    };
    let url = Url::parse(&with_scheme)
        .map_err(|e| Error::configuration(backend, key, format!("not a URL ({e}): {shown:?}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::configuration(
            backend,
            key,
            format!(
                "must not carry a user name or password (credentials belong in their own \
                 settings): {shown:?}"
            ),
        ));
    }
    if url.host().is_none() {
        return Err(Error::configuration(
            backend,
            key,
            format!("has no host: {shown:?}"),
        ));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(Error::configuration(
            backend,
            key,
            format!("plain http is allowed only to loopback; use https: {shown:?}"),
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

    #[test]
    fn credentials_in_the_url_are_refused_and_never_shown() {
        for raw in [
            "https://user:hunter2@acct.westus.batch.azure.com",
            "http://user:hunter2@127.0.0.1:8990",
            "user:hunter2@batch.tencentcloudapi.com",
            "https://hunter2@acct.westus.batch.azure.com",
        ] {
            let e = parse_endpoint("t", "endpoint", raw).unwrap_err();
            let shown = format!("{e} {e:?}");
            assert!(matches!(e, Error::Configuration { .. }), "{raw}: {shown}");
            assert!(shown.contains("user name or password"), "{raw}: {shown}");
            assert!(!shown.contains("hunter2"), "{raw}: {shown}");
        }
        // Not even a URL that fails to parse echoes them.
        let e = parse_endpoint("t", "endpoint", "https://u:hunter2@[bad").unwrap_err();
        assert!(!format!("{e} {e:?}").contains("hunter2"), "{e}");
    }
}
