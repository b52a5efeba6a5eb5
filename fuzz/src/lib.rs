//! What the fuzz targets share: a lenient reader of raw HTTP/1.1 request text (so that seed
//! corpora stay readable: a seed is a request as it would appear on the wire), and a loopback
//! mock server that answers every request with the fuzzed response, for the client-side
//! response parsers that are only reachable through a backend.

use std::sync::{Arc, Mutex, OnceLock};

/// A request read from fuzz input.
#[derive(Debug, Clone, Default)]
pub struct RawRequest {
    /// The method token (may be anything).
    pub method: String,
    /// The request target as sent: path and query.
    pub target: String,
    /// Header lines split at their first `:`, value without leading whitespace; names and
    /// values as sent (lossily decoded when not UTF-8).
    pub headers: Vec<(String, String)>,
    /// Everything after the first empty line, verbatim.
    pub body: Vec<u8>,
}

impl RawRequest {
    /// Reads `METHOD TARGET VERSION\r\nName: value\r\n...\r\n\r\nbody`. Never fails: missing
    /// parts are empty, line endings may be `\n` or `\r\n`.
    pub fn parse(data: &[u8]) -> RawRequest {
        let (head, body) = split_head(data);
        let head = String::from_utf8_lossy(head);
        let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let first = lines.next().unwrap_or("");
        let mut words = first.split(' ');
        let method = words.next().unwrap_or("").to_string();
        let target = words.next().unwrap_or("").to_string();
        let headers = lines
            .filter(|l| !l.is_empty())
            .map(|l| match l.split_once(':') {
                Some((n, v)) => (n.to_string(), v.trim_start().to_string()),
                None => (l.to_string(), String::new()),
            })
            .collect();
        RawRequest {
            method,
            target,
            headers,
            body: body.to_vec(),
        }
    }

    /// The path part of the target.
    pub fn path(&self) -> &str {
        self.target.split_once('?').map_or(&self.target, |(p, _)| p)
    }

    /// The query part of the target (empty when there is none).
    pub fn query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, q)| q)
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Replaces every header `name` (any case) with one `name: value`.
    pub fn set_header(&mut self, name: &str, value: String) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value));
    }

    /// The headers as borrowed pairs, the form the verifiers take.
    pub fn header_refs(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }
}

fn split_head(data: &[u8]) -> (&[u8], &[u8]) {
    for (i, w) in data.windows(2).enumerate() {
        if w == b"\n\n" {
            return (&data[..i], &data[i + 2..]);
        }
        if w == b"\r\n" && data.get(i + 2..i + 4) == Some(b"\r\n") {
            return (&data[..i], &data[i + 4..]);
        }
    }
    (data, &[])
}

/// One response the mock sends.
#[derive(Debug, Clone, Default)]
pub struct Canned {
    /// The status (an invalid one is sent as 200).
    pub status: u16,
    /// Headers (ones that are not legal are left out).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// A loopback HTTP server answering every request with the current [`Canned`] response, on
/// a runtime that lives as long as the process.
pub struct Mock {
    /// The runtime the mock (and the clients under test) run on.
    pub rt: tokio::runtime::Runtime,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    current: Arc<Mutex<Canned>>,
}

impl Mock {
    /// The process's mock, started on first use.
    pub fn get() -> &'static Mock {
        static MOCK: OnceLock<Mock> = OnceLock::new();
        MOCK.get_or_init(Mock::start)
    }

    fn start() -> Mock {
        use axum::body::Body;
        use axum::extract::Request;
        use axum::http::{HeaderName, HeaderValue, StatusCode};
        use axum::response::Response;

        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let current: Arc<Mutex<Canned>> = Arc::default();
        let c2 = current.clone();
        let app = axum::Router::new().fallback(move |req: Request| {
            let current = c2.clone();
            async move {
                let _ = axum::body::to_bytes(req.into_body(), 1 << 20).await;
                let c = current.lock().unwrap_or_else(|p| p.into_inner()).clone();
                let mut resp = Response::new(Body::from(c.body));
                *resp.status_mut() = StatusCode::from_u16(c.status).unwrap_or(StatusCode::OK);
                for (n, v) in &c.headers {
                    if let (Ok(n), Ok(v)) = (
                        HeaderName::from_bytes(n.as_bytes()),
                        HeaderValue::from_bytes(v.as_bytes()),
                    ) {
                        resp.headers_mut().append(n, v);
                    }
                }
                resp
            }
        });
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a loopback port");
        let addr = listener.local_addr().expect("an address");
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Mock {
            rt,
            base: format!("http://{addr}"),
            current,
        }
    }

    /// Sets what every request gets from now on.
    pub fn answer(&self, canned: Canned) {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = canned;
    }
}

/// Formats an outcome the way a caller would (so that `Display`/`Debug` are exercised).
pub fn show<T: std::fmt::Debug>(r: polybatch::Result<T>) {
    match r {
        Ok(v) => {
            let _ = format!("{v:?}");
        }
        Err(e) => {
            let _ = format!("{e} {e:?} {:?} {}", e.code(), e.kind());
        }
    }
}

/// The statuses a fuzzed body is also answered with, one picked by the input.
pub const ERROR_STATUSES: [u16; 8] = [400, 401, 403, 404, 409, 412, 429, 503];
