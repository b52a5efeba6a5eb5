//! Shared Key verification as the service does it: the string to sign is rebuilt from the
//! request as received and signed again with the account key; then the date must be within
//! [`super::MAX_DATE_SKEW_MINUTES`] of the server's clock.
//!
//! Both query-name cases are accepted ([`QueryNameCase::Lowercase`], documented, and
//! [`QueryNameCase::AsSent`], what Python `azure-batch` 15.x signs), since the service accepts
//! requests from both. Pure: the caller passes the request and the time.

use std::time::{Duration, SystemTime};

use super::MAX_DATE_SKEW_MINUTES;
use super::shared_key::{
    QueryNameCase, decode_key, decode_query, parse_authorization, sign, string_to_sign,
};
use crate::constant_time;

/// A request as the server received it.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The URL path as received (still percent-encoded).
    pub path: &'a str,
    /// The raw query string (without `?`), `""` when there is none.
    pub query: &'a str,
    /// Every header as received, (name, value), any case.
    pub headers: &'a [(&'a str, &'a str)],
}

impl Received<'_> {
    /// The first non-blank value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, v)| n.eq_ignore_ascii_case(name) && !v.trim().is_empty())
            .map(|(_, v)| *v)
    }
}

/// Why a Shared Key request was refused. The service answers every one with 403
/// `AuthenticationFailed`; [`Failure::detail`] is its `AuthenticationErrorDetail`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// The `Authorization` value is not `SharedKey <account>:<signature>`.
    Malformed {
        /// The value's first word (its scheme), never the rest.
        scheme: String,
    },
    /// The signature is not the one the server computed (or the account is not this one).
    SignatureMismatch {
        /// The signature as received.
        received: String,
        /// The string the server signed, following the documented rule.
        string_to_sign: String,
    },
    /// Neither `ocp-date` nor `Date` was sent.
    MissingDate,
    /// The date header is not an RFC 1123 date.
    InvalidDate {
        /// The value as received.
        raw: String,
    },
    /// The date is further than the window from the server's clock.
    OutsideWindow {
        /// The value as received.
        raw: String,
        /// The server's time, RFC 1123.
        server_time: String,
    },
}

impl Failure {
    /// The `AuthenticationErrorDetail` the service answers with.
    pub fn detail(&self) -> String {
        match self {
            Failure::Malformed { scheme } => format!(
                "The Authorization header '{scheme}' is not in the form 'SharedKey <account>:<signature>' or 'Bearer <token>'."
            ),
            Failure::SignatureMismatch {
                received,
                string_to_sign,
            } => format!(
                "The MAC signature found in the HTTP request '{received}' is not the same as any computed signature. Server used following string to sign: '{string_to_sign}'."
            ),
            Failure::MissingDate => "Request date header not specified. Set ocp-date (or Date) to the request time in RFC 1123 format.".to_string(),
            Failure::InvalidDate { raw } => {
                format!("The request date header '{raw}' is not a valid RFC 1123 date.")
            }
            Failure::OutsideWindow { raw, server_time } => format!(
                "The request date '{raw}' is outside the allowed window: requests must be received within {MAX_DATE_SKEW_MINUTES} minutes of their ocp-date/Date (server time {server_time})."
            ),
        }
    }
}

/// Verifies a Shared Key `authorization` value (already known to be one, i.e. not `Bearer`)
/// for `account` with base64 `key`, at server time `now`.
///
/// A key that is not base64 verifies nothing (the server is misconfigured): every request is a
/// mismatch.
pub fn verify_shared_key(
    request: &Received<'_>,
    authorization: &str,
    account: &str,
    key: &str,
    now: SystemTime,
) -> Result<(), Failure> {
    let Some((claimed_account, signature)) = parse_authorization(authorization) else {
        return Err(Failure::Malformed {
            scheme: authorization
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string(),
        });
    };
    let query = decode_query(request.query);
    let query: Vec<(&str, &str)> = query
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let sts = |case| {
        string_to_sign(
            request.method,
            request.headers,
            account,
            request.path,
            &query,
            case,
        )
    };
    let documented = sts(QueryNameCase::Lowercase);
    let mismatch = || Failure::SignatureMismatch {
        received: signature.to_string(),
        string_to_sign: documented.clone(),
    };
    if claimed_account != account {
        return Err(mismatch());
    }
    let Ok(key) = decode_key(key) else {
        return Err(mismatch());
    };
    let matches = [documented.clone(), sts(QueryNameCase::AsSent)]
        .iter()
        .any(|s| constant_time::eq(sign(&key, s).as_bytes(), signature.as_bytes()));
    if !matches {
        return Err(mismatch());
    }
    check_date(request, now)
}

/// The date rule: `ocp-date` wins over `Date`; it must be RFC 1123 and within the window.
pub fn check_date(request: &Received<'_>, now: SystemTime) -> Result<(), Failure> {
    let raw = request
        .header("ocp-date")
        .or_else(|| request.header("date"))
        .ok_or(Failure::MissingDate)?;
    let sent = httpdate::parse_http_date(raw.trim()).map_err(|_| Failure::InvalidDate {
        raw: raw.to_string(),
    })?;
    let skew = match now.duration_since(sent) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    if skew > Duration::from_secs(MAX_DATE_SKEW_MINUTES * 60) {
        return Err(Failure::OutsideWindow {
            raw: raw.to_string(),
            server_time: httpdate::fmt_http_date(now),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::shared_key::authorize;

    const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVm";
    const DATE: &str = "Fri, 17 Feb 2017 00:00:00 GMT";

    fn at(secs_after_date: i64) -> SystemTime {
        let base = httpdate::parse_http_date(DATE).unwrap();
        if secs_after_date >= 0 {
            base + Duration::from_secs(secs_after_date as u64)
        } else {
            base - Duration::from_secs(secs_after_date.unsigned_abs())
        }
    }

    fn signed(query_case: QueryNameCase, query: &str) -> (Vec<(&'static str, String)>, String) {
        let headers = vec![("ocp-date", DATE.to_string())];
        let refs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let pairs = decode_query(query);
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let key = decode_key(KEY).unwrap();
        let auth = authorize("acct", &key, "GET", &refs, "/jobs/j1", &pairs, query_case);
        (headers, auth)
    }

    fn check(
        headers: &[(&str, String)],
        query: &str,
        auth: &str,
        now: SystemTime,
    ) -> Result<(), Failure> {
        let refs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let r = Received {
            method: "GET",
            path: "/jobs/j1",
            query,
            headers: &refs,
        };
        verify_shared_key(&r, auth, "acct", KEY, now)
    }

    #[test]
    fn accepts_both_query_name_cases_inside_the_window() {
        let q = "api-version=2025-06-01&timeOut=30";
        for case in [QueryNameCase::Lowercase, QueryNameCase::AsSent] {
            let (h, auth) = signed(case, q);
            assert_eq!(check(&h, q, &auth, at(0)), Ok(()));
            assert_eq!(check(&h, q, &auth, at(15 * 60)), Ok(()));
            assert_eq!(check(&h, q, &auth, at(-15 * 60)), Ok(()));
            assert!(matches!(
                check(&h, q, &auth, at(15 * 60 + 1)),
                Err(Failure::OutsideWindow { .. })
            ));
        }
    }

    #[test]
    fn refuses_each_way_a_request_can_be_wrong() {
        let q = "api-version=2024-07-01.20.0";
        let (h, auth) = signed(QueryNameCase::Lowercase, q);
        // Another query than the one signed.
        let e = check(&h, "api-version=2023-11-01.18.0", &auth, at(0)).unwrap_err();
        match &e {
            Failure::SignatureMismatch { string_to_sign, .. } => {
                assert!(string_to_sign.ends_with("api-version:2023-11-01.18.0"));
            }
            other => panic!("{other:?}"),
        }
        assert!(e.detail().contains("Server used following string to sign"));
        // Another account claimed.
        let other = auth.replace("SharedKey acct:", "SharedKey other:");
        assert!(matches!(
            check(&h, q, &other, at(0)),
            Err(Failure::SignatureMismatch { .. })
        ));
        // Not Shared Key at all; the detail names the scheme only.
        let e = check(&h, q, "Basic dXNlcjpwYXNz", at(0)).unwrap_err();
        assert_eq!(
            e,
            Failure::Malformed {
                scheme: "Basic".into()
            }
        );
        assert!(!e.detail().contains("dXNlcjpwYXNz"));
        // No date, a bad date.
        let (_, auth_nodate) = signed(QueryNameCase::Lowercase, q);
        assert!(matches!(
            check(&[], q, &auth_nodate, at(0)),
            Err(Failure::SignatureMismatch { .. })
        ));
        let r = Received {
            method: "GET",
            path: "/",
            query: "",
            headers: &[],
        };
        assert_eq!(check_date(&r, at(0)), Err(Failure::MissingDate));
        let bad = [("Date", "yesterday")];
        let r = Received {
            method: "GET",
            path: "/",
            query: "",
            headers: &bad,
        };
        assert!(matches!(
            check_date(&r, at(0)),
            Err(Failure::InvalidDate { .. })
        ));
        // ocp-date wins over Date.
        let both = [
            ("Date", "Mon, 01 Jan 2001 00:00:00 GMT"),
            ("ocp-date", DATE),
        ];
        let r = Received {
            method: "GET",
            path: "/",
            query: "",
            headers: &both,
        };
        assert_eq!(check_date(&r, at(0)), Ok(()));
    }

    #[test]
    fn a_key_that_is_not_base64_verifies_nothing() {
        let q = "api-version=2024-07-01.20.0";
        let (h, auth) = signed(QueryNameCase::Lowercase, q);
        let refs: Vec<(&str, &str)> = h.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let r = Received {
            method: "GET",
            path: "/jobs/j1",
            query: q,
            headers: &refs,
        };
        assert!(matches!(
            verify_shared_key(&r, &auth, "acct", "not base64!", at(0)),
            Err(Failure::SignatureMismatch { .. })
        ));
    }
}
