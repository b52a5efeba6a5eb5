//! What the trace span of one attempt records. Alone in its test binary: tracing caches a
//! callsite's interest process-wide, so another test hitting the same callsite on another
//! thread without a subscriber could hide the span from this one.

mod support;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use polybatch::secret::Secret;
use polybatch_http::{Request, send};
use reqwest::Method;
use support::{auth_headers, client, ctx, serve};

mod capture {
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Subscriber};
    use tracing_subscriber::layer::Context;
    use tracing_subscriber::registry::LookupSpan;

    /// Every field of every span and event: (span or event name, field, value).
    #[derive(Clone, Default)]
    pub struct Capture(pub Arc<Mutex<Vec<(String, String, String)>>>);

    struct Visitor<'a>(&'a Capture, String);

    impl Visit for Visitor<'_> {
        fn record_str(&mut self, field: &Field, value: &str) {
            self.push(field, value.to_string());
        }
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.push(field, format!("{value:?}"));
        }
    }

    impl Visitor<'_> {
        fn push(&mut self, field: &Field, value: String) {
            let mut all = self.0.0.lock().unwrap();
            all.push((self.1.clone(), field.name().to_string(), value));
        }
    }

    impl<S: Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Capture {
        fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
            attrs.record(&mut Visitor(self, attrs.metadata().name().to_string()));
        }

        fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
            let name = ctx.metadata(id).map(|m| m.name()).unwrap_or("?");
            values.record(&mut Visitor(self, name.to_string()));
        }

        fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
            event.record(&mut Visitor(self, "event".to_string()));
        }
    }
}

#[tokio::test]
async fn the_span_records_status_and_request_id_never_credentials() {
    use tracing_subscriber::layer::SubscriberExt;

    let capture = capture::Capture::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));

    let app = Router::new().route(
        "/jobs/job-1",
        get(|| async { (StatusCode::CONFLICT, [("request-id", "rid-span")], "busy") }),
    );
    let base = serve(app).await;
    let url = base.join("/jobs/job-1?sig=QUERY-SECRET").unwrap();
    let key = Secret::new("key-SECRET");
    let r = send(
        &client(&base),
        Request::new(Method::GET, &url, ctx())
            .headers(auth_headers())
            .sensitive_header("authorization")
            .request_id_header("request-id")
            .secret(&key)
            .attempt(3),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 409);

    let all = capture.0.lock().unwrap().clone();
    let span = |field: &str| {
        all.iter()
            .filter(|(name, f, _)| name == "http" && f == field)
            .map(|(_, _, v)| v.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(span("method"), ["GET"]);
    assert_eq!(span("path"), ["/jobs/job-1"]);
    assert_eq!(span("attempt"), ["3"]);
    assert_eq!(span("backend"), ["test"]);
    assert_eq!(span("operation"), ["job_status"]);
    assert_eq!(span("status"), ["409"]);
    assert_eq!(span("request_id"), ["rid-span"]);
    assert_eq!(span("elapsed_ms").len(), 1);
    for (name, field, value) in &all {
        for hidden in ["tok-SECRET", "session-SECRET", "key-SECRET", "QUERY-SECRET"] {
            assert!(!value.contains(hidden), "{name}.{field} = {value}");
        }
    }
}
