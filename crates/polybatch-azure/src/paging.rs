//! Azure Batch's listing protocol: OData query options (`$filter`, `$select`, `maxresults`)
//! encoded as the SDKs send them, and `odata.nextLink` followed on the endpoint's origin only.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use polybatch::{Error, ErrorContext, Operation, Result};
use url::Url;

use crate::BACKEND;

/// Everything but RFC 3986 unreserved characters is encoded (so `$filter` goes out as
/// `%24filter` and a space as `%20`, as the official SDKs send them, never `+`).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Encodes decoded (name, value) pairs as a query string.
pub fn encode_query(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(n, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(n, QUERY),
                utf8_percent_encode(v, QUERY)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The OData options of a list request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// `$filter`.
    pub filter: Option<String>,
    /// `$select`, comma-joined on the wire.
    pub select: Vec<String>,
    /// `maxresults` (1 to 1000).
    pub max_results: Option<u32>,
}

impl ListQuery {
    /// The decoded query pairs (only the options that are set).
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(f) = &self.filter {
            out.push(("$filter".to_string(), f.clone()));
        }
        if !self.select.is_empty() {
            out.push(("$select".to_string(), self.select.join(",")));
        }
        if let Some(n) = self.max_results {
            out.push(("maxresults".to_string(), n.to_string()));
        }
        out
    }
}

/// Appends `name=value` to the URL's query unless a parameter of that name (any case) is
/// already there; the existing query is kept byte for byte.
pub fn ensure_query(url: &mut Url, name: &str, value: &str) {
    let present = url.query_pairs().any(|(n, _)| n.eq_ignore_ascii_case(name));
    if present {
        return;
    }
    let pair = encode_query(&[(name.to_string(), value.to_string())]);
    let query = match url.query() {
        Some(q) if !q.is_empty() => format!("{q}&{pair}"),
        _ => pair,
    };
    url.set_query(Some(&query));
}

/// Sets parameter `name` (any case) of the URL's query to `value`: the first occurrence is
/// replaced (spelled `name`), later ones are dropped, and it is appended when absent. Every
/// other parameter is kept byte for byte.
pub fn set_query(url: &mut Url, name: &str, value: &str) {
    let pair = encode_query(&[(name.to_string(), value.to_string())]);
    let mut kept: Vec<String> = Vec::new();
    let mut replaced = false;
    for part in url
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let raw_name = part.split_once('=').map_or(part, |(n, _)| n);
        let decoded: String = url::form_urlencoded::parse(raw_name.as_bytes())
            .next()
            .map(|(n, _)| n.into_owned())
            .unwrap_or_default();
        if decoded.eq_ignore_ascii_case(name) {
            if !replaced {
                kept.push(pair.clone());
                replaced = true;
            }
        } else {
            kept.push(part.to_string());
        }
    }
    if !replaced {
        kept.push(pair);
    }
    url.set_query(Some(&kept.join("&")));
}

/// Resolves an `odata.nextLink` against the endpoint and refuses links to any other origin
/// (scheme, host and port): credentials are never sent anywhere but the configured endpoint.
pub fn resolve_next_link(endpoint: &Url, link: &str, operation: Operation) -> Result<Url> {
    let refuse = |why: String| {
        Error::service(
            None,
            false,
            ErrorContext::new(BACKEND, operation)
                .with_message(format!("refusing to follow odata.nextLink: {why}")),
        )
    };
    let url = endpoint
        .join(link)
        .map_err(|e| refuse(format!("not a URL ({e})")))?;
    let same_origin = url.scheme() == endpoint.scheme()
        && url.host_str().map(str::to_ascii_lowercase)
            == endpoint.host_str().map(str::to_ascii_lowercase)
        && url.port_or_known_default() == endpoint.port_or_known_default();
    if !same_origin {
        return Err(refuse(format!(
            "{} is not on the endpoint's origin {}",
            url.origin().ascii_serialization(),
            endpoint.origin().ascii_serialization()
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_the_sdks() {
        let q = ListQuery {
            filter: Some("nodeId eq 'tvm-1'".into()),
            select: vec!["nodeId".into(), "poolId".into()],
            max_results: Some(10),
        };
        assert_eq!(
            encode_query(&q.pairs()),
            "%24filter=nodeId%20eq%20%27tvm-1%27&%24select=nodeId%2CpoolId&maxresults=10"
        );
        assert_eq!(ListQuery::default().pairs(), vec![]);
        assert_eq!(
            encode_query(&[("a".into(), "x+y/z~".into())]),
            "a=x%2By%2Fz~"
        );
    }

    #[test]
    fn ensure_query_keeps_the_link_verbatim() {
        let mut u =
            Url::parse("https://a.b.batch.azure.com/jobs/j/x?$skipToken=tvm-1%2B2").unwrap();
        ensure_query(&mut u, "api-version", "2024-07-01.20.0");
        assert_eq!(
            u.query(),
            Some("$skipToken=tvm-1%2B2&api-version=2024-07-01.20.0")
        );
        let before = u.clone();
        ensure_query(&mut u, "API-VERSION", "other");
        assert_eq!(u, before);
        let mut bare = Url::parse("https://a.b.batch.azure.com/x").unwrap();
        ensure_query(&mut bare, "api-version", "v");
        assert_eq!(bare.query(), Some("api-version=v"));
    }

    #[test]
    fn set_query_replaces_one_parameter_and_keeps_the_rest() {
        let mut u = Url::parse(
            "https://a.b.batch.azure.com/x?$skipToken=tvm-1%2B2&API-Version=2025-06-01.21.0&maxresults=2",
        )
        .unwrap();
        set_query(&mut u, "api-version", "2024-07-01.20.0");
        assert_eq!(
            u.query(),
            Some("$skipToken=tvm-1%2B2&api-version=2024-07-01.20.0&maxresults=2")
        );
        let mut twice =
            Url::parse("https://a.b.batch.azure.com/x?api-version=1&a=b&api-version=2").unwrap();
        set_query(&mut twice, "api-version", "3");
        assert_eq!(twice.query(), Some("api-version=3&a=b"));
        let mut bare = Url::parse("https://a.b.batch.azure.com/x").unwrap();
        set_query(&mut bare, "api-version", "v");
        assert_eq!(bare.query(), Some("api-version=v"));
    }

    #[test]
    fn next_links_stay_on_the_endpoint() {
        let ep = Url::parse("https://acct.westus.batch.azure.com").unwrap();
        let op = Operation::ListPrepReleaseStatus;
        let ok = resolve_next_link(
            &ep,
            "https://ACCT.westus.batch.azure.com:443/jobs/j/jobpreparationandreleasetaskstatus?$skiptoken=x",
            op,
        )
        .unwrap();
        assert_eq!(ok.path(), "/jobs/j/jobpreparationandreleasetaskstatus");
        assert!(resolve_next_link(&ep, "/jobs/j/x?$skiptoken=y", op).is_ok());
        for bad in [
            "https://evil.example.com/jobs/j/x",
            "http://acct.westus.batch.azure.com/jobs/j/x",
            "https://acct.westus.batch.azure.com:8443/jobs/j/x",
            "//evil.example.com/x",
        ] {
            let e = resolve_next_link(&ep, bad, op).unwrap_err();
            assert_eq!(e.kind(), "service", "{bad}");
            assert!(e.message().contains("refusing"), "{bad}");
        }
        let local = Url::parse("http://127.0.0.1:8080").unwrap();
        assert!(resolve_next_link(&local, "http://127.0.0.1:8080/x", op).is_ok());
        assert!(resolve_next_link(&local, "http://127.0.0.1:8081/x", op).is_err());
    }
}
