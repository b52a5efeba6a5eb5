//! The verifier against requests signed by `aws-sigv4` as the SDK signs them (default
//! settings), and against each way a request can be wrong.

use super::*;

const KEY_ID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const NOW: i64 = 1_700_000_000;

fn creds(token: Option<&'static str>) -> Credentials<'static> {
    Credentials {
        access_key_id: KEY_ID,
        secret_access_key: SECRET,
        session_token: token,
    }
}

/// Headers of a request signed the way the SDK signs (default settings), at `NOW`.
fn signed(
    method: &str,
    path: &str,
    body: &[u8],
    secret: &str,
    token: Option<&str>,
) -> Vec<(String, String)> {
    let identity: Identity =
        AwsCredentials::new(KEY_ID, secret, token.map(str::to_string), None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("batch")
        .time(UNIX_EPOCH + Duration::from_secs(NOW as u64))
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let base = vec![
        ("host".to_string(), "127.0.0.1:8080".to_string()),
        ("content-type".to_string(), "application/json".to_string()),
        ("user-agent".to_string(), "aws-sdk-rust".to_string()),
    ];
    let req = SignableRequest::new(
        method,
        format!("http://127.0.0.1:8080{path}"),
        base.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .unwrap();
    let (instructions, _) = sign(req, &params).unwrap().into_parts();
    let mut out = base;
    for (k, v) in instructions.headers() {
        out.push((k.to_string(), v.to_string()));
    }
    out
}

fn check(
    method: &str,
    path: &str,
    body: &[u8],
    headers: &[(String, String)],
    creds: Credentials<'_>,
    now: i64,
) -> Result<Verified, Failure> {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    verify(
        &Received {
            method,
            path_and_query: path,
            headers: &pairs,
            body,
        },
        &creds,
        "batch",
        &["us-east-1"],
        now,
    )
}

#[test]
fn a_request_signed_by_aws_sigv4_verifies() {
    let body = br#"{"jobs":["a"]}"#;
    let h = signed("POST", "/v1/describejobs", body, SECRET, None);
    let v = check("POST", "/v1/describejobs", body, &h, creds(None), NOW).unwrap();
    assert_eq!(v.region, "us-east-1");
    // An ARN in the path, percent-encoded once on the wire (the signer encodes it again).
    let path = "/v1/tags/arn%3Aaws%3Abatch%3Aus-east-1%3A123456789012%3Ajob%2Fabc";
    let h = signed("GET", path, b"", SECRET, None);
    check("GET", path, b"", &h, creds(None), NOW).unwrap();
}

#[test]
fn every_change_is_refused_with_aws_codes() {
    let body = br#"{"jobs":["a"]}"#;
    let h = signed("POST", "/v1/describejobs", body, SECRET, None);
    let err = |r: Result<Verified, Failure>| r.unwrap_err().code();
    assert_eq!(
        err(check(
            "POST",
            "/v1/describejobs",
            br#"{"jobs":["b"]}"#,
            &h,
            creds(None),
            NOW
        )),
        "InvalidSignatureException"
    );
    assert_eq!(
        err(check("POST", "/v1/listjobs", body, &h, creds(None), NOW)),
        "InvalidSignatureException"
    );
    let wrong = signed("POST", "/v1/describejobs", body, "other-secret", None);
    assert_eq!(
        err(check(
            "POST",
            "/v1/describejobs",
            body,
            &wrong,
            creds(None),
            NOW
        )),
        "InvalidSignatureException"
    );
    assert_eq!(
        err(check(
            "POST",
            "/v1/describejobs",
            body,
            &h,
            creds(None),
            NOW + 16 * 60
        )),
        "InvalidSignatureException"
    );
    let other_key = Credentials {
        access_key_id: "AKIDOTHER",
        ..creds(None)
    };
    assert_eq!(
        err(check("POST", "/v1/describejobs", body, &h, other_key, NOW)),
        "UnrecognizedClientException"
    );
    let no_auth: Vec<(String, String)> = h
        .iter()
        .filter(|(k, _)| k != "authorization")
        .cloned()
        .collect();
    assert_eq!(
        err(check(
            "POST",
            "/v1/describejobs",
            body,
            &no_auth,
            creds(None),
            NOW
        )),
        "MissingAuthenticationTokenException"
    );
    // A signed header changed in flight.
    let changed: Vec<(String, String)> = h
        .iter()
        .map(|(k, v)| {
            if k == "content-type" {
                (k.clone(), "text/plain".into())
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect();
    assert_eq!(
        err(check(
            "POST",
            "/v1/describejobs",
            body,
            &changed,
            creds(None),
            NOW
        )),
        "InvalidSignatureException"
    );
}

#[test]
fn session_tokens_must_match() {
    let body = b"{}";
    let h = signed("POST", "/v1/listjobs", body, SECRET, Some("tok"));
    check("POST", "/v1/listjobs", body, &h, creds(Some("tok")), NOW).unwrap();
    assert_eq!(
        check("POST", "/v1/listjobs", body, &h, creds(Some("other")), NOW)
            .unwrap_err()
            .code(),
        "UnrecognizedClientException"
    );
    assert_eq!(
        check("POST", "/v1/listjobs", body, &h, creds(None), NOW)
            .unwrap_err()
            .code(),
        "UnrecognizedClientException"
    );
}

#[test]
fn authorization_headers_parse_strictly() {
    let a = parse_authorization(
        "AWS4-HMAC-SHA256 Credential=AKID/20231114/us-east-1/batch/aws4_request, \
         SignedHeaders=host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    )
    .unwrap();
    assert_eq!(a.region, "us-east-1");
    assert_eq!(a.signed_headers, ["host", "x-amz-date"]);
    for bad in [
        "",
        "AWS4-HMAC-SHA1 Credential=a/b/c/d/aws4_request, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=a/b/c/aws4_request, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request, SignedHeaders=host, Signature=zz",
        "AWS4-HMAC-SHA256 Credential=a/b/c/d/other, SignedHeaders=host, Signature=00",
    ] {
        assert!(parse_authorization(bad).is_err(), "{bad}");
    }
    assert_eq!(
        amz_date(UNIX_EPOCH + Duration::from_secs(NOW as u64)),
        "20231114T221320Z"
    );
}

#[test]
fn credentials_never_show_their_secrets() {
    let shown = format!("{:?}", creds(Some("session-canary")));
    assert!(shown.contains(KEY_ID));
    assert!(
        !shown.contains(SECRET) && !shown.contains("session-canary"),
        "{shown}"
    );
}
