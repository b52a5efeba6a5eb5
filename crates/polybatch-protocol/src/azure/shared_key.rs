//! Azure Batch Shared Key signing, as pure functions (no clock, no I/O).
//!
//! The client uses these to sign; the emulator uses the same functions to *verify*, rebuilding
//! the string to sign from the request as it was received. The algorithm follows the Batch
//! authentication documentation; where the official SDKs disagree with it (see the reference
//! notes §6.3) the choice is written next to the code:
//!
//! - Headers are signed exactly as sent: an absent header signs as empty, and nothing is
//!   injected (the client always sends an explicit `Content-Length` on POST, so the value
//!   received is the value signed).
//! - When any `ocp-date` header is present, the `Date` slot is signed empty (documented rule).
//! - Query names are lowercased ([`QueryNameCase::Lowercase`], documented) or kept as sent
//!   ([`QueryNameCase::AsSent`], what Python `azure-batch` 15.x does, e.g. `timeOut`).
//! - Query pairs with an empty value are not signed (as the Python SDK's `parse_qs` drops
//!   them); several values of one name are sorted and joined with `,` (documented rule).

use std::borrow::Cow;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The 11 standard header slots of the string to sign, in order.
pub const STANDARD_HEADERS: [&str; 11] = [
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
];

/// How query parameter names are written in the canonical resource.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum QueryNameCase {
    /// Lowercased, as the documentation says; what polybatch sends.
    #[default]
    Lowercase,
    /// As sent: the Python SDK 15.x quirk (it signs `timeOut:30`).
    AsSent,
}

/// Header values as signed: line breaks unfolded to spaces, surrounding whitespace trimmed.
/// Borrowed unless there is a line break to unfold (the common case allocates nothing).
fn clean_value(value: &str) -> Cow<'_, str> {
    if value.contains(['\r', '\n']) {
        Cow::Owned(value.replace(['\r', '\n'], " ").trim().to_string())
    } else {
        Cow::Borrowed(value.trim())
    }
}

/// Appends `values` joined with `,`.
fn push_joined<'a, S: AsRef<str> + 'a>(out: &mut String, values: impl IntoIterator<Item = S>) {
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(v.as_ref());
    }
}

/// The canonicalized headers: every `ocp-*` header (prefix, any case) with a non-empty value,
/// name lowercased, sorted by name, each once as `name:value\n`.
pub fn canonical_headers(headers: &[(&str, &str)]) -> String {
    let mut out = String::new();
    push_canonical_headers(&mut out, headers);
    out
}

fn push_canonical_headers(out: &mut String, headers: &[(&str, &str)]) {
    let mut ocp: Vec<(Cow<'_, str>, Cow<'_, str>)> = headers
        .iter()
        .filter(|(name, _)| {
            let name = name.trim();
            name.len() >= 4 && name.as_bytes()[..4].eq_ignore_ascii_case(b"ocp-")
        })
        .map(|(name, value)| {
            let name = name.trim();
            let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(name.to_ascii_lowercase())
            } else {
                Cow::Borrowed(name)
            };
            (name, clean_value(value))
        })
        .filter(|(_, value)| !value.is_empty())
        .collect();
    // Stable: several values of one name keep the order they were sent in.
    ocp.sort_by(|a, b| a.0.cmp(&b.0));
    let mut i = 0;
    while i < ocp.len() {
        let name = &ocp[i].0;
        let same = ocp[i..].iter().take_while(|(n, _)| n == name).count();
        out.push_str(name);
        out.push(':');
        push_joined(out, ocp[i..i + same].iter().map(|(_, v)| v));
        out.push('\n');
        i += same;
    }
}

/// The canonicalized resource: `/{account}{path}` then, for each query name in ascending order,
/// `\n{name}:{value}` (several values sorted and joined with `,`). No trailing newline.
///
/// `path` is the URL path as sent (still percent-encoded); `query` holds decoded pairs.
pub fn canonical_resource(
    account: &str,
    path: &str,
    query: &[(&str, &str)],
    query_names: QueryNameCase,
) -> String {
    let mut out = String::new();
    push_canonical_resource(&mut out, account, path, query, query_names);
    out
}

fn push_canonical_resource(
    out: &mut String,
    account: &str,
    path: &str,
    query: &[(&str, &str)],
    query_names: QueryNameCase,
) {
    let mut params: Vec<(Cow<'_, str>, &str)> = query
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| {
            let name = match query_names {
                QueryNameCase::Lowercase
                    if !name.is_ascii() || name.bytes().any(|b| b.is_ascii_uppercase()) =>
                {
                    Cow::Owned(name.to_lowercase())
                }
                _ => Cow::Borrowed(*name),
            };
            (name, *value)
        })
        .collect();
    // By name, then by value: several values of one name are signed sorted.
    params.sort_unstable();
    out.push('/');
    out.push_str(account);
    out.push_str(path);
    let mut i = 0;
    while i < params.len() {
        let name = &params[i].0;
        let same = params[i..].iter().take_while(|(n, _)| n == name).count();
        out.push('\n');
        out.push_str(name);
        out.push(':');
        push_joined(out, params[i..i + same].iter().map(|(_, v)| *v));
        i += same;
    }
}

/// The string to sign: the verb, the 11 standard header slots, the canonical headers and the
/// canonical resource.
///
/// `headers`: (name, value) pairs as sent (any case). `path`: the URL path as sent
/// (percent-encoded). `query`: decoded (name, value) pairs (see [`decode_query`]).
pub fn string_to_sign(
    method: &str,
    headers: &[(&str, &str)],
    account: &str,
    path: &str,
    query: &[(&str, &str)],
    query_names: QueryNameCase,
) -> String {
    // One pass over the headers, each name trimmed and matched once (not once per slot:
    // that scan cost more than the HMAC). Several values of a slot join in the order sent.
    let mut slots: [Option<Cow<'_, str>>; 11] = Default::default();
    let mut has_ocp_date = false;
    for (name, value) in headers {
        let name = name.trim();
        let slot = STANDARD_HEADERS
            .iter()
            .position(|s| name.eq_ignore_ascii_case(s));
        if slot.is_none() && !name.eq_ignore_ascii_case("ocp-date") {
            continue;
        }
        let value = clean_value(value);
        if value.is_empty() {
            continue;
        }
        let Some(i) = slot else {
            has_ocp_date = true;
            continue;
        };
        slots[i] = Some(match slots[i].take() {
            None => value,
            Some(before) => Cow::Owned(format!("{before},{value}")),
        });
    }
    let mut out = String::with_capacity(256 + path.len());
    out.extend(method.chars().map(|c| c.to_ascii_uppercase()));
    out.push('\n');
    for (slot, value) in STANDARD_HEADERS.iter().zip(&slots) {
        if let Some(v) = value
            && !(*slot == "date" && has_ocp_date)
        {
            out.push_str(v);
        }
        out.push('\n');
    }
    push_canonical_headers(&mut out, headers);
    push_canonical_resource(&mut out, account, path, query, query_names);
    out
}

/// `base64(HMAC-SHA256(key, utf8(string_to_sign)))`. `key` is the *decoded* account key.
pub fn sign(key: &[u8], string_to_sign: &str) -> String {
    let mut out = String::with_capacity(44);
    push_signature(&mut out, key, string_to_sign);
    out
}

/// Appends the signature to `out`.
fn push_signature(out: &mut String, key: &[u8], string_to_sign: &str) {
    // HMAC accepts keys of any length, so this never fails (and never panics).
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return;
    };
    mac.update(string_to_sign.as_bytes());
    STANDARD.encode_string(mac.finalize().into_bytes(), out);
}

/// The `Authorization` header value: `SharedKey {account}:{signature}`.
pub fn authorization(account: &str, signature: &str) -> String {
    format!("SharedKey {account}:{signature}")
}

/// Signs a request in one call: the `Authorization` header value.
pub fn authorize(
    account: &str,
    key: &[u8],
    method: &str,
    headers: &[(&str, &str)],
    path: &str,
    query: &[(&str, &str)],
    query_names: QueryNameCase,
) -> String {
    let sts = string_to_sign(method, headers, account, path, query, query_names);
    // Encoded straight after the prefix: one allocation for the header value.
    let mut out = String::with_capacity(11 + account.len() + 44);
    out.push_str("SharedKey ");
    out.push_str(account);
    out.push(':');
    push_signature(&mut out, key, &sts);
    out
}

/// Splits `SharedKey {account}:{signature}` into account and signature (for verifiers).
pub fn parse_authorization(value: &str) -> Option<(&str, &str)> {
    let rest = value.trim().strip_prefix("SharedKey ")?;
    let (account, signature) = rest.split_once(':')?;
    (!account.is_empty() && !signature.is_empty()).then_some((account, signature))
}

/// Decodes a raw URL query string (`a=1&%24filter=x%20y`) into (name, value) pairs, the way the
/// service does before signing: percent-decoding, `+` as space.
pub fn decode_query(raw: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.as_bytes())
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect()
}

/// An account key that is not valid base64. Never contains the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidKey {
    reason: String,
}

impl fmt::Display for InvalidKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the account key is not valid base64: {}", self.reason)
    }
}

impl std::error::Error for InvalidKey {}

/// Decodes a base64 account key (surrounding whitespace ignored). The error says where the key
/// is malformed, never what it contains.
pub fn decode_key(base64_key: &str) -> Result<Vec<u8>, InvalidKey> {
    let trimmed = base64_key.trim();
    if trimmed.is_empty() {
        return Err(InvalidKey {
            reason: "it is empty".into(),
        });
    }
    STANDARD.decode(trimmed).map_err(|e| {
        let reason = match e {
            base64::DecodeError::InvalidByte(offset, _) => {
                format!("invalid character at offset {offset}")
            }
            base64::DecodeError::InvalidLength(len) => {
                format!("invalid length {len} (a base64 key's length is a multiple of 4)")
            }
            base64::DecodeError::InvalidLastSymbol(offset, _) => {
                format!("invalid last symbol at offset {offset}")
            }
            base64::DecodeError::InvalidPadding => "invalid padding".to_string(),
        };
        InvalidKey { reason }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// The string to sign written the plain way (maps and a scan per slot), to check the
    /// single-pass one against.
    fn reference_string_to_sign(
        method: &str,
        headers: &[(&str, &str)],
        account: &str,
        path: &str,
        query: &[(&str, &str)],
        names: QueryNameCase,
    ) -> String {
        let clean = |v: &str| v.replace(['\r', '\n'], " ").trim().to_string();
        let value = |name: &str| {
            headers
                .iter()
                .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
                .map(|(_, v)| clean(v))
                .filter(|v| !v.is_empty())
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut out = format!("{}\n", method.to_ascii_uppercase());
        let has_ocp_date = !value("ocp-date").is_empty();
        for slot in STANDARD_HEADERS {
            if !(slot == "date" && has_ocp_date) {
                out.push_str(&value(slot));
            }
            out.push('\n');
        }
        let mut ocp: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (n, v) in headers {
            let n = n.trim().to_ascii_lowercase();
            let v = clean(v);
            if n.starts_with("ocp-") && !v.is_empty() {
                ocp.entry(n).or_default().push(v);
            }
        }
        for (n, vs) in ocp {
            out.push_str(&format!("{n}:{}\n", vs.join(",")));
        }
        let mut params: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for (n, v) in query {
            if v.is_empty() {
                continue;
            }
            let n = match names {
                QueryNameCase::Lowercase => n.to_lowercase(),
                QueryNameCase::AsSent => (*n).to_string(),
            };
            params.entry(n).or_default().push(v);
        }
        out.push_str(&format!("/{account}{path}"));
        for (n, mut vs) in params {
            vs.sort_unstable();
            out.push_str(&format!("\n{n}:{}", vs.join(",")));
        }
        out
    }

    fn header_name() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("ocp-date".to_string()),
            Just("OCP-Date".to_string()),
            Just("Content-Type".to_string()),
            Just("content-length".to_string()),
            Just("If-Match".to_string()),
            Just("Date".to_string()),
            "(ocp|OCP|Ocp)-[a-zA-Z]{1,4}",
            "[a-zA-Z -]{0,6}",
        ]
    }

    proptest! {
        #[test]
        fn string_to_sign_matches_the_plain_reference(
            method in "[a-zA-Z]{1,6}",
            headers in proptest::collection::vec((header_name(), "[ a-z0-9,\r\n]{0,6}"), 0..8),
            query in proptest::collection::vec(("[a-zA-Z$ÀǅΣ]{1,4}", "[a-z0-9 ]{0,3}"), 0..6),
            as_sent in any::<bool>(),
        ) {
            let h: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let q: Vec<(&str, &str)> = query.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let names = if as_sent { QueryNameCase::AsSent } else { QueryNameCase::Lowercase };
            prop_assert_eq!(
                string_to_sign(&method, &h, "acct", "/jobs/j%201", &q, names),
                reference_string_to_sign(&method, &h, "acct", "/jobs/j%201", &q, names)
            );
        }
    }

    #[test]
    fn canonical_headers_lowercase_sort_and_skip_empty() {
        let h = [
            ("OCP-Zeta", "z"),
            ("ocp-date", " Fri, 17 Feb 2017 00:00:00 GMT "),
            ("ocp-empty", ""),
            ("Content-Type", "x"),
            ("ocp-alpha", "a\r\n b"),
        ];
        assert_eq!(
            canonical_headers(&h),
            "ocp-alpha:a   b\nocp-date:Fri, 17 Feb 2017 00:00:00 GMT\nocp-zeta:z\n"
        );
    }

    #[test]
    fn canonical_resource_sorts_lowercases_and_joins() {
        let q = [("b", "2"), ("A", "1"), ("b", "0"), ("empty", "")];
        assert_eq!(
            canonical_resource("acct", "/jobs/j%201", &q, QueryNameCase::Lowercase),
            "/acct/jobs/j%201\na:1\nb:0,2"
        );
        assert_eq!(
            canonical_resource("acct", "/x", &[("timeOut", "30")], QueryNameCase::AsSent),
            "/acct/x\ntimeOut:30"
        );
    }

    #[test]
    fn date_slot_is_empty_when_ocp_date_is_present() {
        let with = string_to_sign(
            "get",
            &[("Date", "d"), ("ocp-date", "o")],
            "a",
            "/",
            &[],
            QueryNameCase::Lowercase,
        );
        assert_eq!(with, "GET\n\n\n\n\n\n\n\n\n\n\n\nocp-date:o\n/a/");
        let without = string_to_sign("GET", &[("Date", "d")], "a", "/", &[], Default::default());
        assert_eq!(without, "GET\n\n\n\n\n\nd\n\n\n\n\n\n/a/");
    }

    #[test]
    fn decode_key_errors_do_not_echo_the_key() {
        assert_eq!(decode_key(" AAAA\n").unwrap(), vec![0, 0, 0]);
        for bad in ["", "not base64!!", "abc"] {
            let e = decode_key(bad).unwrap_err().to_string();
            assert!(e.contains("not valid base64"), "{e}");
            if !bad.is_empty() {
                assert!(!e.contains(bad), "{e}");
            }
        }
    }

    #[test]
    fn parses_authorization() {
        assert_eq!(
            parse_authorization("SharedKey acct:c2ln"),
            Some(("acct", "c2ln"))
        );
        assert_eq!(parse_authorization("Bearer x"), None);
        assert_eq!(parse_authorization("SharedKey :x"), None);
    }

    #[test]
    fn decode_query_decodes_percent_and_plus() {
        assert_eq!(
            decode_query("%24filter=nodeId%20eq%20%27tvm-1%27&a=b+c"),
            vec![
                ("$filter".to_string(), "nodeId eq 'tvm-1'".to_string()),
                ("a".to_string(), "b c".to_string())
            ]
        );
    }
}
