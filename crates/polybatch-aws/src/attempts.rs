//! What each attempt of a call ended in, so an error that survives the SDK's retries says how
//! many attempts were made and why each failed, as the Azure and Tencent clients' errors do.
//!
//! The SDK retries inside `send()` and reports only the last failure. An interceptor on every
//! client (`AttemptLog`) notes each attempt's outcome into a log that [`logged`] opens for the
//! duration of one call (a task-local: the SDK runs its interceptors in the caller's task), and
//! [`logged`] attaches the attempts to the mapped error.

use std::cell::RefCell;
use std::future::Future;

use aws_sdk_batch::config::interceptors::FinalizerInterceptorContextRef;
use aws_sdk_batch::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use polybatch::{Attempt, ErrorContext, Operation, Result};

use crate::error::{BACKEND, Subject, answered, map_sdk_error};

tokio::task_local! {
    static ATTEMPTS: RefCell<Vec<Attempt>>;
}

/// The interceptor that notes each attempt.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AttemptLog;

impl Intercept for AttemptLog {
    fn name(&self) -> &'static str {
        "polybatch: attempt log"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> std::result::Result<(), BoxError> {
        let Some(Err(error)) = context.output_or_error() else {
            return Ok(());
        };
        let attempt = match context.response() {
            // Judged as the answer that ends a call is (the message only tells a missing job
            // from another bad request, which is never retried).
            Some(response) => {
                // `x-amzn-ErrorType` may carry a namespace after a colon.
                let code = response
                    .headers()
                    .get("x-amzn-errortype")
                    .and_then(|t| t.split(':').next())
                    .unwrap_or_default();
                let ctx = ErrorContext::new(BACKEND, Operation::Other("attempt"));
                answered(
                    response.status().as_u16(),
                    code,
                    "",
                    &Subject::default(),
                    ctx,
                )
                .as_attempt()
            }
            None if error.is_timeout_error() => Attempt {
                kind: "timeout",
                code: None,
            },
            None => Attempt {
                kind: "transport",
                code: None,
            },
        };
        // Outside a logged call (none is, today) there is nothing to note into.
        let _ = ATTEMPTS.try_with(|log| log.borrow_mut().push(attempt));
        Ok(())
    }
}

/// `.send().logged(op, &subject).await`: [`logged`] as a method of the SDK's call.
pub(crate) trait Logged<T, E>:
    Future<Output = std::result::Result<T, SdkError<E, HttpResponse>>> + Sized
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    async fn logged(self, op: Operation, subject: &Subject) -> Result<T> {
        logged(op, subject, self).await
    }
}

impl<T, E, F> Logged<T, E> for F
where
    F: Future<Output = std::result::Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
}

/// Awaits one SDK call with its attempts noted; a failure is mapped ([`map_sdk_error`]) and,
/// when more than one attempt was made, carries them all.
pub(crate) async fn logged<T, E>(
    op: Operation,
    subject: &Subject,
    call: impl Future<Output = std::result::Result<T, SdkError<E, HttpResponse>>>,
) -> Result<T>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (result, attempts) = ATTEMPTS
        .scope(RefCell::new(Vec::new()), async {
            let result = call.await;
            (result, ATTEMPTS.with(|log| log.take()))
        })
        .await;
    result.map_err(|e| {
        let error = map_sdk_error(e, op, subject);
        if attempts.len() > 1 {
            // The last attempt is this error, as the mapping judged it.
            let mut attempts = attempts;
            attempts.pop();
            attempts.push(error.as_attempt());
            error.with_attempts(attempts)
        } else {
            error
        }
    })
}
