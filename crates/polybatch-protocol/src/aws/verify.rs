//! SigV4 verification as the service does it: the `Authorization` header is parsed, the
//! request is rebuilt from exactly the headers `SignedHeaders` names and the body bytes as
//! received, and signed again by `aws-sigv4` with the secret key at the request's own
//! `X-Amz-Date`; the two signatures are compared in constant time. Pure: the caller passes the
//! request, the credentials and the time.
//!
//! Every refusal is a [`Failure`] carrying the error type, HTTP status and message AWS answers
//! with.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use chrono::NaiveDateTime;

use super::MAX_CLOCK_SKEW_SECS;
use crate::constant_time;

/// The one algorithm of SigV4.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// A request as the server received it.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// The method.
    pub method: &'a str,
    /// The path and query exactly as received (still percent-encoded).
    pub path_and_query: &'a str,
    /// Every header as received, (name, value), any case.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body bytes exactly as received.
    pub body: &'a [u8],
}

impl Received<'_> {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::headers::find(self.headers, name)
    }
}

/// The credentials a server accepts.
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
    /// The access key id.
    pub access_key_id: &'a str,
    /// The secret access key.
    pub secret_access_key: &'a str,
    /// The session token of temporary credentials: when set, `X-Amz-Security-Token` must
    /// equal it; when unset, any token is refused.
    pub session_token: Option<&'a str>,
}

impl std::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &self.session_token.map(|_| "<redacted>"))
            .finish()
    }
}

/// Who signed a request that verified, and for where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The access key id.
    pub access_key_id: String,
    /// The region of the credential scope.
    pub region: String,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// No `Authorization` header.
    MissingAuthentication,
    /// An `Authorization` header that does not parse, or names another algorithm.
    IncompleteSignature(String),
    /// An access key (or session token) the server does not know.
    UnrecognizedClient,
    /// `X-Amz-Date` missing or unparsable.
    MissingDate,
    /// `X-Amz-Date` too far from the server's clock.
    SignatureExpired {
        /// The request's `X-Amz-Date`.
        date: String,
    },
    /// The credential scope names another date, region or service.
    BadScope(String),
    /// A header the request says it signed is not in it.
    MissingSignedHeader(String),
    /// The recomputed signature differs.
    SignatureDoesNotMatch,
}

impl Failure {
    /// The error type (`__type`, `x-amzn-ErrorType`).
    pub fn code(&self) -> &'static str {
        match self {
            Failure::MissingAuthentication => "MissingAuthenticationTokenException",
            Failure::IncompleteSignature(_) | Failure::MissingDate => {
                "IncompleteSignatureException"
            }
            Failure::UnrecognizedClient => "UnrecognizedClientException",
            Failure::SignatureExpired { .. }
            | Failure::BadScope(_)
            | Failure::MissingSignedHeader(_)
            | Failure::SignatureDoesNotMatch => "InvalidSignatureException",
        }
    }

    /// The HTTP status: 403 for all of them.
    pub fn status(&self) -> u16 {
        403
    }

    /// The message AWS answers with.
    pub fn message(&self) -> String {
        match self {
            Failure::MissingAuthentication => "Missing Authentication Token".into(),
            Failure::IncompleteSignature(why) => format!("Authorization header {why}"),
            Failure::UnrecognizedClient => {
                "The security token included in the request is invalid.".into()
            }
            Failure::MissingDate => {
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                    .into()
            }
            Failure::SignatureExpired { date } => format!(
                "Signature expired: {date} is now earlier or later than the server time by more \
                 than {} minutes.",
                MAX_CLOCK_SKEW_SECS / 60
            ),
            Failure::BadScope(why) => format!("Credential should be scoped {why}."),
            Failure::MissingSignedHeader(h) => {
                format!("The request signature names header '{h}', which the request does not carry.")
            }
            Failure::SignatureDoesNotMatch => "The request signature we calculated does not match \
                 the signature you provided. Check your AWS Secret Access Key and signing method. \
                 Consult the service documentation for details."
                .into(),
        }
    }
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
/// Signature=...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    /// The access key id.
    pub access_key_id: &'a str,
    /// `yyyymmdd` of the scope.
    pub date: &'a str,
    /// The scope's region.
    pub region: &'a str,
    /// The scope's service.
    pub service: &'a str,
    /// Lower-case header names, in the order sent.
    pub signed_headers: Vec<&'a str>,
    /// The hex signature.
    pub signature: &'a str,
}

/// Parses an `Authorization` header.
pub fn parse_authorization(value: &str) -> Result<Authorization<'_>, Failure> {
    let bad = |why: &str| Failure::IncompleteSignature(why.to_string());
    let rest = value
        .strip_prefix(ALGORITHM)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or_else(|| bad("must start with AWS4-HMAC-SHA256"))?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let credential = credential.ok_or_else(|| bad("requires a Credential parameter"))?;
    let signed = signed.ok_or_else(|| bad("requires a SignedHeaders parameter"))?;
    let signature = signature.ok_or_else(|| bad("requires a Signature parameter"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = scope.as_slice() else {
        return Err(bad("has a malformed Credential"));
    };
    if *terminator != "aws4_request" {
        return Err(Failure::BadScope("with the terminator aws4_request".into()));
    }
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("has a malformed Signature"));
    }
    Ok(Authorization {
        access_key_id,
        date,
        region,
        service,
        signed_headers: signed.split(';').filter(|h| !h.is_empty()).collect(),
        signature,
    })
}

/// Verifies `request` against `credentials` for `service` in one of `regions`, at server time
/// `now` (seconds since the epoch).
pub fn verify(
    request: &Received<'_>,
    credentials: &Credentials<'_>,
    service: &str,
    regions: &[&str],
    now: i64,
) -> Result<Verified, Failure> {
    let header = request
        .header("authorization")
        .ok_or(Failure::MissingAuthentication)?;
    let auth = parse_authorization(header)?;
    if !constant_time::eq(
        auth.access_key_id.as_bytes(),
        credentials.access_key_id.as_bytes(),
    ) {
        return Err(Failure::UnrecognizedClient);
    }
    match (
        request.header("x-amz-security-token"),
        credentials.session_token,
    ) {
        (None, None) => {}
        (Some(got), Some(want)) if constant_time::eq(got.as_bytes(), want.as_bytes()) => {}
        _ => return Err(Failure::UnrecognizedClient),
    }
    let amz_date = request.header("x-amz-date").ok_or(Failure::MissingDate)?;
    let signed_at = NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| Failure::MissingDate)?
        .and_utc();
    if (signed_at.timestamp() - now).abs() > MAX_CLOCK_SKEW_SECS {
        return Err(Failure::SignatureExpired {
            date: amz_date.to_string(),
        });
    }
    let day = amz_date.get(..8).ok_or(Failure::MissingDate)?;
    if auth.date != day {
        return Err(Failure::BadScope(format!("to the date {day}")));
    }
    if auth.service != service {
        return Err(Failure::BadScope(format!("to the service {service}")));
    }
    if !regions.contains(&auth.region) {
        return Err(Failure::BadScope(format!(
            "to a region this endpoint serves ({})",
            regions.join(", ")
        )));
    }
    // Exactly the headers the client says it signed, as received.
    let mut headers: Vec<(&str, &str)> = Vec::new();
    for name in &auth.signed_headers {
        let value = request
            .header(name)
            .ok_or_else(|| Failure::MissingSignedHeader((*name).to_string()))?;
        headers.push((name, value));
    }
    let host = request.header("host").unwrap_or("localhost");
    let uri = format!("http://{host}{}", request.path_and_query);
    let signable = SignableRequest::new(
        request.method,
        uri,
        headers.into_iter(),
        SignableBody::Bytes(request.body),
    )
    .map_err(|_| Failure::SignatureDoesNotMatch)?;
    let mut settings = SigningSettings::default();
    // Sign what the client signed: nothing is left out for us to decide.
    settings.excluded_headers = Some(Vec::new());
    let identity: Identity = AwsCredentials::new(
        credentials.access_key_id,
        credentials.secret_access_key,
        credentials.session_token.map(str::to_string),
        None,
        "polybatch-verifier",
    )
    .into();
    let secs = u64::try_from(signed_at.timestamp()).map_err(|_| Failure::MissingDate)?;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(auth.region)
        .name(service)
        .time(UNIX_EPOCH + Duration::from_secs(secs))
        .settings(settings)
        .build()
        .map_err(|_| Failure::SignatureDoesNotMatch)?
        .into();
    let output = sign(signable, &params).map_err(|_| Failure::SignatureDoesNotMatch)?;
    if constant_time::eq(output.signature().as_bytes(), auth.signature.as_bytes()) {
        Ok(Verified {
            access_key_id: auth.access_key_id.to_string(),
            region: auth.region.to_string(),
        })
    } else {
        Err(Failure::SignatureDoesNotMatch)
    }
}

/// The `X-Amz-Date` spelling of `t`.
pub fn amz_date(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

#[cfg(test)]
mod tests;
