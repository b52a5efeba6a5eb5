//! Shared Key signing against the vectors computed with the official Python SDK
//! (`vectors/azure_shared_key_vectors.txt` in this crate, made by `vectors/azure_shared_key_vectors.py`),
//! checked at every stage. The file is compiled in, so a missing one fails the build.

use polybatch_protocol::azure::shared_key::{
    QueryNameCase, authorization, canonical_headers, canonical_resource, decode_key, decode_query,
    sign, string_to_sign,
};
use url::Url;

/// The date every vector was signed with (the script's `date`).
const OCP_DATE: &str = "Fri, 17 Feb 2017 00:00:00 GMT";
/// The script's terminate body: `json.dumps({"terminateReason": "User supplied termination reason"})`.
const TERMINATE_BODY: &str = r#"{"terminateReason": "User supplied termination reason"}"#;

/// The vectors, compiled in.
const VECTORS: &str = include_str!("../vectors/azure_shared_key_vectors.txt");

/// Decodes a Python `repr()` of a str: quoted with ' or ", backslash escapes.
fn python_repr(s: &str) -> (String, &str) {
    let mut chars = s.char_indices();
    let (_, quote) = chars.next().expect("a quoted string");
    assert!(quote == '\'' || quote == '"', "not a repr: {s}");
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let (_, e) = chars.next().expect("escape");
                out.push(match e {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    other => other,
                });
            }
            c if c == quote => return (out, &s[i + 1..]),
            c => out.push(c),
        }
    }
    panic!("unterminated repr: {s}");
}

struct Vector {
    label: String,
    method: String,
    url: Url,
    names: QueryNameCase,
    expected_sts: String,
    expected_auth: String,
}

fn load() -> (String, Vec<Vector>) {
    let lines: Vec<&str> = VECTORS.lines().collect();
    let mut key = None;
    let mut out = Vec::new();
    let quirk_url = "https://myaccount.westus.batch.azure.com/jobs/job-1/tasks/task-1/terminate?api-version=2025-06-01&timeOut=30";
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some(k) = line.strip_prefix("KEY(base64) = ") {
            key = Some(k.trim().to_string());
        } else if let Some(rest) = line.strip_prefix("=== ") {
            if let Some((method, url)) = rest
                .split_once(' ')
                .filter(|(_, url)| url.starts_with("https://"))
            {
                let (sts, _) = python_repr(lines[i + 1]);
                out.push(Vector {
                    label: rest.to_string(),
                    method: method.to_string(),
                    url: Url::parse(url).unwrap(),
                    names: QueryNameCase::Lowercase,
                    expected_sts: sts,
                    expected_auth: lines[i + 2].trim().to_string(),
                });
                i += 3;
                continue;
            }
        } else {
            for (prefix, names) in [
                ("python15.1: ", QueryNameCase::AsSent),
                ("lowercased-per-docs: ", QueryNameCase::Lowercase),
            ] {
                if let Some(rest) = line.strip_prefix(prefix) {
                    let (sts, tail) = python_repr(rest);
                    out.push(Vector {
                        label: prefix.trim().to_string(),
                        method: "POST".into(),
                        url: Url::parse(quirk_url).unwrap(),
                        names,
                        expected_sts: sts,
                        expected_auth: tail.trim().to_string(),
                    });
                }
            }
        }
        i += 1;
    }
    (key.expect("the file names its key"), out)
}

/// The headers the script sent for a request (the same ones polybatch sends: an explicit
/// `Content-Length` on every POST, 0 without a body).
fn headers_for(v: &Vector) -> Vec<(&'static str, String)> {
    let mut h = vec![("ocp-date", OCP_DATE.to_string())];
    if v.method == "POST" {
        if v.url.path().ends_with("/jobs/job-1/terminate") {
            h.push((
                "content-type",
                "application/json; odata=minimalmetadata".into(),
            ));
            h.push(("Content-Length", TERMINATE_BODY.len().to_string()));
        } else {
            h.push(("Content-Length", "0".into()));
        }
    }
    h
}

#[test]
fn every_vector_at_every_stage() {
    let (key_b64, vectors) = load();
    assert_eq!(
        vectors.len(),
        5,
        "3 requests + both sides of the timeOut quirk"
    );
    let key = decode_key(&key_b64).unwrap();
    assert_eq!(key, b"0123456789abcdef".repeat(4));
    for v in &vectors {
        let headers = headers_for(v);
        let header_refs: Vec<(&str, &str)> =
            headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let query = decode_query(v.url.query().unwrap_or(""));
        let query_refs: Vec<(&str, &str)> = query
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();

        // Stage 1: canonical headers (the ocp-* lines of the expected string).
        let expected_headers: String = v
            .expected_sts
            .split('\n')
            .skip(12)
            .filter(|l| l.starts_with("ocp-"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            canonical_headers(&header_refs),
            expected_headers,
            "{}",
            v.label
        );

        // Stage 2: canonical resource (from the line starting with '/').
        let start = v.expected_sts.find("\n/").expect("a resource") + 1;
        assert_eq!(
            canonical_resource("myaccount", v.url.path(), &query_refs, v.names),
            &v.expected_sts[start..],
            "{}",
            v.label
        );

        // Stage 3: the whole string to sign.
        let sts = string_to_sign(
            &v.method,
            &header_refs,
            "myaccount",
            v.url.path(),
            &query_refs,
            v.names,
        );
        assert_eq!(sts, v.expected_sts, "{}", v.label);

        // Stage 4: the signature and the header.
        let auth = authorization("myaccount", &sign(&key, &sts));
        assert_eq!(auth, v.expected_auth, "{}", v.label);
    }
}

#[test]
fn the_quirk_signs_differently() {
    let (_, vectors) = load();
    let quirk: Vec<&Vector> = vectors
        .iter()
        .filter(|v| v.url.query().is_some_and(|q| q.contains("timeOut")))
        .collect();
    assert_eq!(quirk.len(), 2);
    assert_ne!(quirk[0].expected_auth, quirk[1].expected_auth);
    assert!(
        quirk
            .iter()
            .any(|v| v.expected_sts.ends_with("\ntimeOut:30"))
    );
    assert!(
        quirk
            .iter()
            .any(|v| v.expected_sts.ends_with("\ntimeout:30"))
    );
}
