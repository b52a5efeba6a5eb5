//! Azure Shared Key verification as the emulator does it (`polybatch-emulator/src/azure/auth.rs`
//! calls `polybatch_protocol::azure::verify::verify_shared_key`), over a fuzzed request given
//! as raw HTTP/1.1 text, at the server time of the request's own `ocp-date`/`Date` (so that a
//! correctly signed seed verifies and mutations explore around it). Then the same request is
//! signed by `shared_key::authorize` and verified again: signer and verifier must agree (only a
//! date failure may remain).
#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use polybatch_emulator::config::{DEFAULT_AZURE_ACCOUNT, DEFAULT_AZURE_KEY};
use polybatch_fuzz::RawRequest;
use polybatch_protocol::azure::shared_key::{self, QueryNameCase};
use polybatch_protocol::azure::verify::{Failure, Received, check_date, verify_shared_key};

/// The date of the SDK vectors: Fri, 17 Feb 2017 00:00:00 GMT.
const FALLBACK_NOW: u64 = 1_487_289_600;

fuzz_target!(|data: &[u8]| {
    let req = RawRequest::parse(data);
    let now = req
        .header("ocp-date")
        .or_else(|| req.header("date"))
        .and_then(|d| httpdate::parse_http_date(d.trim()).ok())
        .unwrap_or(UNIX_EPOCH + Duration::from_secs(FALLBACK_NOW));
    let headers = req.header_refs();
    let received = Received {
        method: &req.method,
        path: req.path(),
        query: req.query(),
        headers: &headers,
    };
    let _ = received.header("ocp-date");
    let auth = req.header("authorization").unwrap_or("");
    if let Err(f) = verify_shared_key(
        &received,
        auth,
        DEFAULT_AZURE_ACCOUNT,
        DEFAULT_AZURE_KEY,
        now,
    ) {
        let _ = (f.detail(), format!("{f:?}"));
    }
    if let Err(f) = check_date(&received, now) {
        let _ = f.detail();
    }
    if let Some((account, signature)) = shared_key::parse_authorization(auth) {
        let _ = (account.len(), signature.len());
    }
    if let Err(e) = shared_key::decode_key(auth) {
        let _ = e.to_string();
    }

    // Sign what was received, then verify it.
    let key = shared_key::decode_key(DEFAULT_AZURE_KEY).expect("the default key is base64");
    let query = shared_key::decode_query(req.query());
    let query: Vec<(&str, &str)> = query
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    for case in [QueryNameCase::Lowercase, QueryNameCase::AsSent] {
        let _ = shared_key::canonical_headers(&headers);
        let _ = shared_key::canonical_resource(DEFAULT_AZURE_ACCOUNT, req.path(), &query, case);
        let signed = shared_key::authorize(
            DEFAULT_AZURE_ACCOUNT,
            &key,
            &req.method,
            &headers,
            req.path(),
            &query,
            case,
        );
        match verify_shared_key(
            &received,
            &signed,
            DEFAULT_AZURE_ACCOUNT,
            DEFAULT_AZURE_KEY,
            now,
        ) {
            Ok(()) => {}
            Err(Failure::SignatureMismatch { string_to_sign, .. }) => {
                panic!(
                    "a request signed by authorize ({case:?}) does not verify: {string_to_sign:?}"
                )
            }
            Err(f) => {
                let _ = f.detail();
            }
        }
    }
    let _ = SystemTime::now();
});
