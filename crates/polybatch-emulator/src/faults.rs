//! Fault injection: the next N calls of an operation (every one, every n-th, or each with a
//! seeded probability) fail with an error, take longer, lose their answer, lose the
//! connection, stall, or get a corrupted body.
//!
//! Each provider front end asks [`Faults::take`] once per request, after authentication, with
//! its own operation name (Azure: `Job_Terminate`, `Task_Get`, ...; Tencent: the action,
//! `TerminateJob`, ...; AWS: the operation, `SubmitJob`, ...). A rule with operation `*`
//! matches every operation of its provider. Faults that act on the transport rather than the
//! answer (reset, stall, corrupted bodies) are carried out by `disrupt`, once the front end
//! has built its answer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::Response;
use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How long a stall lasts at most: far past any client's timeout, but bounded so a stalled
/// handler does not live forever.
pub const STALL: Duration = Duration::from_secs(300);

/// Which front end a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Azure Batch REST.
    Azure,
    /// Tencent Cloud API 3.0.
    Tencent,
    /// AWS Batch REST-JSON.
    Aws,
}

/// What happens to a faulted request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with an error. Azure: this HTTP status with a BatchError body of `code`;
    /// Tencent: HTTP 200 with `Response.Error.Code = code` (or this status with a non-envelope
    /// body when `status` is not 200).
    Error {
        /// HTTP status (Azure; Tencent uses 200 for envelope errors).
        status: u16,
        /// The provider error code.
        code: String,
        /// A `Retry-After` header, in seconds (Azure).
        #[serde(default)]
        retry_after_secs: Option<u64>,
    },
    /// Serve the request normally after waiting this long (real time).
    Delay {
        /// The delay in milliseconds.
        millis: u64,
    },
    /// Apply the request (its effect happens and is kept), then answer this error instead of
    /// the real answer: the answer a client never got, as from a gateway that timed out
    /// after the service acted. Azure: this HTTP status with a BatchError body of `code`;
    /// Tencent: as [`FaultKind::Error`].
    LoseAnswer {
        /// HTTP status (Tencent: 200 for an envelope error).
        status: u16,
        /// The provider error code.
        code: String,
    },
    /// Close the connection without an answer. With `applied`, the request takes effect
    /// first (the dangerous case: the service acted and the client cannot know).
    Reset {
        /// Whether the request is applied before the connection is lost.
        #[serde(default)]
        applied: bool,
    },
    /// Accept the request and never answer (at most [`STALL`]). With `headers`, the status
    /// line and headers are sent and the body never comes.
    Stall {
        /// Whether the request is applied first.
        #[serde(default)]
        applied: bool,
        /// Whether the headers are sent before the stall.
        #[serde(default)]
        headers: bool,
    },
    /// Apply the request, then send half the answer's body and lose the connection.
    Truncate,
    /// Apply the request, then send half the answer's body as if it were all of it: a
    /// complete response whose body is not valid JSON.
    InvalidJson,
    /// Apply the request, then answer an HTML page (`text/html`) with the real status, as a
    /// proxy in the way would.
    WrongContentType,
    /// Apply the request, then answer the real body with a padding field of `bytes` bytes in
    /// front: a valid but oversized JSON document.
    Oversize {
        /// How many bytes of padding.
        bytes: u64,
    },
    /// Apply the request, then answer the real body with every value's type changed (string
    /// to number, number to string, boolean to string), request ids kept.
    WrongTypes,
    /// Apply the request, then answer the real body with every field but the envelope's and
    /// the request id removed.
    MissingFields,
}

impl FaultKind {
    /// The fault's kind as named in the admin API (`error`, `reset`, `stall`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Error { .. } => "error",
            FaultKind::Delay { .. } => "delay",
            FaultKind::LoseAnswer { .. } => "lose_answer",
            FaultKind::Reset { .. } => "reset",
            FaultKind::Stall { .. } => "stall",
            FaultKind::Truncate => "truncate",
            FaultKind::InvalidJson => "invalid_json",
            FaultKind::WrongContentType => "wrong_content_type",
            FaultKind::Oversize { .. } => "oversize",
            FaultKind::WrongTypes => "wrong_types",
            FaultKind::MissingFields => "missing_fields",
        }
    }

    /// Whether the request is still applied (served) when this fault fires.
    pub fn applies(&self) -> bool {
        match self {
            FaultKind::Error { .. } => false,
            FaultKind::Reset { applied } | FaultKind::Stall { applied, .. } => *applied,
            _ => true,
        }
    }

    /// Whether `disrupt` carries this fault out on the transport (the front end only
    /// decides whether to apply the request).
    pub fn disrupts(&self) -> bool {
        !matches!(
            self,
            FaultKind::Error { .. } | FaultKind::Delay { .. } | FaultKind::LoseAnswer { .. }
        )
    }
}

/// One fault rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// The front end.
    pub provider: Provider,
    /// The operation name, or `*`.
    pub operation: String,
    /// How many more faults it injects.
    pub times: u32,
    /// Inject on every `every`-th matching request only (1: every one). With 2 or more, no
    /// two matching requests in a row fail: a deterministic stream of transient faults that a
    /// client's retries must absorb.
    #[serde(default = "every_request")]
    pub every: u32,
    /// Inject on each due request with this probability only (from the registry's seeded
    /// random source, so a run is reproducible); `None`: always.
    #[serde(default)]
    pub probability: Option<f64>,
    /// What happens.
    pub fault: FaultKind,
}

fn every_request() -> u32 {
    1
}

impl FaultRule {
    /// A rule injecting `fault` into the next `times` requests of `operation` (or `*`).
    pub fn new(
        provider: Provider,
        operation: impl Into<String>,
        times: u32,
        fault: FaultKind,
    ) -> Self {
        FaultRule {
            provider,
            operation: operation.into(),
            times,
            every: 1,
            probability: None,
            fault,
        }
    }

    /// Injects on each matching request with probability `p` (clamped to 0..=1).
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = Some(if p.is_finite() {
            p.clamp(0.0, 1.0)
        } else {
            0.0
        });
        self
    }

    /// Injects only on every `n`-th matching request (at least 1).
    pub fn every(mut self, n: u32) -> Self {
        self.every = n.max(1);
        self
    }
}

#[derive(Debug)]
struct State {
    enabled: bool,
    /// Each rule with the number of matching requests it has seen.
    rules: Vec<(FaultRule, u32)>,
    rng: StdRng,
    /// How many faults of each kind fired, by name.
    fired: std::collections::BTreeMap<&'static str, u64>,
}

/// The fault registry. Clones share it.
#[derive(Debug, Clone)]
pub struct Faults {
    state: Arc<Mutex<State>>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            state: Arc::new(Mutex::new(State {
                enabled: true,
                rules: Vec::new(),
                rng: StdRng::seed_from_u64(0),
                fired: Default::default(),
            })),
        }
    }
}

impl Faults {
    /// Adds a rule.
    pub fn add(&self, rule: FaultRule) {
        self.lock().rules.push((rule, 0));
    }

    /// Reseeds the random source of probabilistic rules (a run with the same seed and the
    /// same requests fires the same faults).
    pub fn seed(&self, seed: u64) {
        self.lock().rng = StdRng::seed_from_u64(seed);
    }

    /// How many faults of each kind fired so far, by [`FaultKind::name`].
    pub fn fired(&self) -> std::collections::BTreeMap<&'static str, u64> {
        self.lock().fired.clone()
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// Switches injection on or off (rules are kept).
    pub fn set_enabled(&self, enabled: bool) {
        self.lock().enabled = enabled;
    }

    /// Whether injection is on.
    pub fn enabled(&self) -> bool {
        self.lock().enabled
    }

    /// The remaining rules.
    pub fn rules(&self) -> Vec<FaultRule> {
        self.lock().rules.iter().map(|(r, _)| r.clone()).collect()
    }

    /// Consumes one use of the first rule that matches this request and is due, if any.
    pub fn take(&self, provider: Provider, operation: &str) -> Option<FaultKind> {
        let mut guard = self.lock();
        let s = &mut *guard;
        if !s.enabled {
            return None;
        }
        let mut fired = None;
        for (idx, (rule, seen)) in s.rules.iter_mut().enumerate() {
            let matches = rule.provider == provider
                && rule.times > 0
                && (rule.operation == "*" || rule.operation == operation);
            if !matches {
                continue;
            }
            *seen += 1;
            let lucky = match rule.probability {
                Some(p) => s.rng.random_bool(p.clamp(0.0, 1.0)),
                None => true,
            };
            if *seen % rule.every.max(1) == 0 && lucky {
                rule.times -= 1;
                fired = Some((idx, rule.fault.clone(), rule.times == 0));
                break;
            }
        }
        let (idx, fault, exhausted) = fired?;
        if exhausted {
            s.rules.remove(idx);
        }
        *s.fired.entry(fault.name()).or_default() += 1;
        Some(fault)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Convenience: how long a delay fault waits.
pub fn delay_of(kind: &FaultKind) -> Option<Duration> {
    match kind {
        FaultKind::Delay { millis } => Some(Duration::from_millis(*millis)),
        _ => None,
    }
}

/// Carries out a transport fault on the answer a front end built (see
/// [`FaultKind::disrupts`]); any other fault, or none, leaves the answer as it is.
pub(crate) async fn disrupt(fault: Option<&FaultKind>, answer: Response) -> Response {
    let Some(fault) = fault.filter(|f| f.disrupts()) else {
        return answer;
    };
    let (mut parts, body) = answer.into_parts();
    // The front ends' answers are small and in memory.
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = body.slice(..body.len() / 2);
    let new_body = match fault {
        FaultKind::Reset { .. } => return lost_connection(Bytes::new()),
        FaultKind::Stall { headers: false, .. } => {
            tokio::time::sleep(STALL).await;
            return lost_connection(Bytes::new());
        }
        FaultKind::Stall { headers: true, .. } => {
            parts.headers.remove(CONTENT_LENGTH);
            let stalled = futures::stream::once(async {
                tokio::time::sleep(STALL).await;
                Err::<Bytes, _>(std::io::Error::other("stalled"))
            });
            return Response::from_parts(parts, Body::from_stream(stalled));
        }
        FaultKind::Truncate => {
            parts.headers.remove(CONTENT_LENGTH);
            return Response::from_parts(parts, lost_connection(half).into_body());
        }
        FaultKind::InvalidJson if half.is_empty() => Bytes::from_static(b"{"),
        FaultKind::InvalidJson => half,
        FaultKind::WrongContentType => {
            parts
                .headers
                .insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
            Bytes::from_static(
                b"<html><head><title>502 Bad Gateway</title></head><body>upstream</body></html>",
            )
        }
        FaultKind::Oversize { bytes } => {
            parts.headers.remove(CONTENT_LENGTH);
            return Response::from_parts(parts, oversized(*bytes, body));
        }
        FaultKind::WrongTypes => reshape(&body, &retype),
        FaultKind::MissingFields => reshape(&body, &strip),
        FaultKind::Error { .. } | FaultKind::Delay { .. } | FaultKind::LoseAnswer { .. } => body,
    };
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(new_body))
}

/// A response whose body sends `prefix` and then fails, which makes the server drop the
/// connection mid-answer (before any byte of it, for an empty prefix).
fn lost_connection(prefix: Bytes) -> Response {
    let chunks = futures::stream::iter([
        Ok(prefix),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected reset",
        )),
    ]);
    Response::new(Body::from_stream(chunks))
}

/// `{"padding": "xxx…", <the real fields>}`, streamed in 1 MiB chunks, so a client that does
/// not cap what it reads parses it fine after holding it all.
fn oversized(padding: u64, body: Bytes) -> Body {
    const CHUNK: usize = 1024 * 1024;
    let rest = match body.iter().position(|b| *b == b'{') {
        // The real object's fields, after its opening brace.
        Some(at) if body.len() > at + 1 => {
            let inner = body.slice(at + 1..);
            let only_close = inner.iter().all(|b| b.is_ascii_whitespace() || *b == b'}');
            if only_close {
                inner
            } else {
                Bytes::from([&b","[..], &inner[..]].concat())
            }
        }
        _ => Bytes::from_static(b"}"),
    };
    let full_chunks = padding / CHUNK as u64;
    let tail = (padding % CHUNK as u64) as usize;
    let head = futures::stream::once(async {
        Ok::<_, std::io::Error>(Bytes::from_static(b"{\"padding\":\""))
    });
    let pad = futures::stream::iter(
        (0..full_chunks)
            .map(|_| Bytes::from(vec![b'x'; CHUNK]))
            .chain(std::iter::once(Bytes::from(vec![b'x'; tail])))
            .map(Ok),
    );
    let end = futures::stream::iter([Ok(Bytes::from_static(b"\"")), Ok(rest)]);
    use futures::StreamExt;
    Body::from_stream(head.chain(pad).chain(end))
}

/// The body with `change` applied to its JSON; a body that is not JSON is left as it is.
fn reshape(body: &Bytes, change: &dyn Fn(&mut Value)) -> Bytes {
    match serde_json::from_slice::<Value>(body) {
        Ok(mut value) => {
            change(&mut value);
            Bytes::from(serde_json::to_vec(&value).unwrap_or_default())
        }
        Err(_) => body.clone(),
    }
}

/// Keys a corrupted answer keeps as they were, so the envelope stays valid.
fn kept(key: &str) -> bool {
    key == "Response" || key.eq_ignore_ascii_case("requestid") || key.starts_with("odata.")
}

fn retype(value: &mut Value) {
    match value {
        Value::String(s) => *value = Value::from(s.len()),
        Value::Number(n) => *value = Value::String(n.to_string()),
        Value::Bool(b) => *value = Value::String(b.to_string()),
        Value::Array(items) => items.iter_mut().for_each(retype),
        Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                if !kept(key) || field.is_object() {
                    retype(field);
                }
            }
        }
        Value::Null => {}
    }
}

fn strip(value: &mut Value) {
    if let Value::Object(fields) = value {
        fields.retain(|key, _| kept(key));
        fields.values_mut().for_each(strip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: &str) -> FaultKind {
        FaultKind::Error {
            status: 503,
            code: code.into(),
            retry_after_secs: None,
        }
    }

    #[test]
    fn rules_are_consumed_in_order() {
        let f = Faults::default();
        f.add(FaultRule {
            probability: None,
            provider: Provider::Azure,
            operation: "Job_Get".into(),
            times: 2,
            every: 1,
            fault: err("ServerBusy"),
        });
        assert_eq!(f.take(Provider::Tencent, "Job_Get"), None);
        assert_eq!(f.take(Provider::Azure, "Task_Get"), None);
        assert_eq!(f.take(Provider::Azure, "Job_Get"), Some(err("ServerBusy")));
        assert_eq!(f.take(Provider::Azure, "Job_Get"), Some(err("ServerBusy")));
        assert_eq!(f.take(Provider::Azure, "Job_Get"), None);
        assert!(f.rules().is_empty());
    }

    #[test]
    fn every_nth_request_never_two_in_a_row() {
        let f = Faults::default();
        f.add(FaultRule::new(Provider::Azure, "*", 3, err("ServerBusy")).every(2));
        let fired: Vec<bool> = (0..8)
            .map(|_| f.take(Provider::Azure, "Job_Get").is_some())
            .collect();
        assert_eq!(fired, [false, true, false, true, false, true, false, false]);
        assert!(f.rules().is_empty());
    }

    #[test]
    fn wildcard_and_switch() {
        let f = Faults::default();
        f.add(FaultRule {
            probability: None,
            provider: Provider::Tencent,
            operation: "*".into(),
            times: 1,
            every: 1,
            fault: FaultKind::Delay { millis: 5 },
        });
        f.set_enabled(false);
        assert_eq!(f.take(Provider::Tencent, "DescribeJob"), None);
        f.set_enabled(true);
        assert_eq!(
            delay_of(&f.take(Provider::Tencent, "DescribeJob").unwrap()),
            Some(Duration::from_millis(5))
        );
    }

    fn answer(body: &str) -> Response {
        let mut r = Response::new(Body::from(body.to_string()));
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    }

    async fn body_of(r: Response) -> Result<Bytes, axum::Error> {
        axum::body::to_bytes(r.into_body(), usize::MAX).await
    }

    const JOB: &str = r#"{"Response":{"RequestId":"r1","JobId":"job-1","Count":3,"Ok":true}}"#;

    #[tokio::test]
    async fn corrupted_bodies() {
        let wrong = body_of(disrupt(Some(&FaultKind::WrongTypes), answer(JOB)).await)
            .await
            .unwrap();
        let v: Value = serde_json::from_slice(&wrong).unwrap();
        assert_eq!(v["Response"]["RequestId"], "r1");
        assert_eq!(v["Response"]["JobId"], 5);
        assert_eq!(v["Response"]["Count"], "3");
        assert_eq!(v["Response"]["Ok"], "true");

        let missing = body_of(disrupt(Some(&FaultKind::MissingFields), answer(JOB)).await)
            .await
            .unwrap();
        assert_eq!(&missing[..], br#"{"Response":{"RequestId":"r1"}}"#);

        let invalid = body_of(disrupt(Some(&FaultKind::InvalidJson), answer(JOB)).await)
            .await
            .unwrap();
        assert_eq!(&invalid[..], &JOB.as_bytes()[..JOB.len() / 2]);
        assert!(serde_json::from_slice::<Value>(&invalid).is_err());

        let html = disrupt(Some(&FaultKind::WrongContentType), answer(JOB)).await;
        assert_eq!(html.headers()[CONTENT_TYPE], "text/html");
        assert!(body_of(html).await.unwrap().starts_with(b"<html>"));

        let big = disrupt(Some(&FaultKind::Oversize { bytes: 3 << 20 }), answer(JOB)).await;
        let big = body_of(big).await.unwrap();
        let v: Value = serde_json::from_slice(&big).unwrap();
        assert_eq!(v["padding"].as_str().unwrap().len(), 3 << 20);
        assert_eq!(v["Response"]["JobId"], "job-1");
    }

    #[tokio::test]
    async fn lost_connections() {
        let reset = disrupt(Some(&FaultKind::Reset { applied: true }), answer(JOB)).await;
        assert!(body_of(reset).await.is_err());
        // A truncated body sends half, then fails.
        let truncated = disrupt(Some(&FaultKind::Truncate), answer(JOB)).await;
        let mut stream = truncated.into_body().into_data_stream();
        use futures::StreamExt;
        let first = stream.next().await.unwrap().unwrap();
        assert_eq!(&first[..], &JOB.as_bytes()[..JOB.len() / 2]);
        assert!(stream.next().await.unwrap().is_err());
        // Errors and lost answers are the front ends' to answer: the answer is untouched.
        let kept = disrupt(
            Some(&FaultKind::LoseAnswer {
                status: 500,
                code: "InternalError".into(),
            }),
            answer(JOB),
        )
        .await;
        assert_eq!(&body_of(kept).await.unwrap()[..], JOB.as_bytes());
    }

    #[tokio::test(start_paused = true)]
    async fn a_stall_lasts_its_bound() {
        let start = tokio::time::Instant::now();
        let stalled = disrupt(
            Some(&FaultKind::Stall {
                applied: false,
                headers: false,
            }),
            answer(JOB),
        )
        .await;
        assert_eq!(start.elapsed(), STALL);
        assert!(body_of(stalled).await.is_err());
    }

    #[test]
    fn probabilistic_rules_are_reproducible() {
        let run = |seed| {
            let f = Faults::default();
            f.seed(seed);
            f.add(FaultRule::new(Provider::Aws, "*", u32::MAX, err("X")).probability(0.25));
            (0..400)
                .map(|_| f.take(Provider::Aws, "DescribeJobs").is_some())
                .collect::<Vec<_>>()
        };
        let a = run(7);
        assert_eq!(a, run(7));
        assert_ne!(a, run(8));
        let fired = a.iter().filter(|f| **f).count();
        assert!((60..=140).contains(&fired), "{fired} of 400 at p = 0.25");
    }
}
