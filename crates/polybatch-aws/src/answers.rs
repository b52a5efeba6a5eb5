//! Answers the SDK would accept but polybatch must not: an interceptor on every client the
//! builder makes.
//!
//! - A body over [`MAX_ANSWER_BYTES`] is cut off while it is read (the SDK reads a whole body
//!   into memory, with no limit of its own).
//! - The SDK's parser fills a missing required member with its default and leaves others
//!   `None`, so a cut-down answer (a proxy's `{}`) reads as "no jobs", "no job id": a job that
//!   exists would be reported `NotFound`. Each operation's answer here must carry its member,
//!   even empty.
//! - A success status whose body does not parse (HTML from a proxy, a garbled body) reaches
//!   the SDK's caller as an unmodeled service error, which its classifiers do not retry.
//!
//! Each of these becomes a response error, which the SDK retries as transient within its own
//! attempts, backoff and retry quota; what survives them maps to a retryable error that says
//! the answer could not be read ([`crate::error`]).

use aws_sdk_batch::config::interceptors::{
    BeforeDeserializationInterceptorContextMut, FinalizerInterceptorContextMut,
};
use aws_sdk_batch::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_batch::operation::describe_job_definitions::DescribeJobDefinitionsOutput;
use aws_sdk_batch::operation::describe_jobs::DescribeJobsOutput;
use aws_sdk_batch::operation::list_jobs::ListJobsOutput;
use aws_sdk_batch::operation::submit_job::SubmitJobOutput;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::Output;
use aws_smithy_runtime_api::client::orchestrator::OrchestratorError;
use aws_smithy_types::body::SdkBody;

/// The largest answer body read: far above any real answer (a `DescribeJobs` of 100 jobs is
/// well under a megabyte), and the same cap as the Azure client's.
pub const MAX_ANSWER_BYTES: usize = 32 << 20;

/// The interceptor.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AnswerChecks;

/// Why an answer was refused, as the response error's source.
#[derive(Debug)]
pub(crate) struct UnreadableAnswer(pub String);

impl std::fmt::Display for UnreadableAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UnreadableAnswer {}

/// The member an operation's every real answer carries, if the operation is one polybatch
/// reads.
fn required_member(output: &Output) -> Option<&'static str> {
    if output.downcast_ref::<DescribeJobsOutput>().is_some() {
        Some("jobs")
    } else if output.downcast_ref::<ListJobsOutput>().is_some() {
        Some("jobSummaryList")
    } else if output.downcast_ref::<SubmitJobOutput>().is_some() {
        Some("jobId")
    } else if output
        .downcast_ref::<DescribeJobDefinitionsOutput>()
        .is_some()
    {
        Some("jobDefinitions")
    } else {
        None
    }
}

/// Whether the JSON object `body` has the top-level member `name` (any value).
fn has_member(body: &[u8], name: &str) -> bool {
    serde_json::from_slice::<std::collections::HashMap<String, serde::de::IgnoredAny>>(body)
        .is_ok_and(|members| members.contains_key(name))
}

impl Intercept for AnswerChecks {
    fn name(&self) -> &'static str {
        "polybatch: answer checks"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context.response_mut().body_mut();
        let inner = std::mem::replace(body, SdkBody::taken());
        *body = SdkBody::from_body_1_x(http_body_util::Limited::new(inner, MAX_ANSWER_BYTES));
        Ok(())
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(response) = context.response() else {
            return Ok(());
        };
        if !response.status().is_success() {
            return Ok(());
        }
        let body = response.body().bytes().unwrap_or_default();
        let refusal = match context.output_or_error() {
            Some(Ok(output)) => required_member(output)
                .filter(|member| !has_member(body, member))
                .map(|member| format!("an answer without its \"{member}\" member")),
            Some(Err(e)) if e.is_operation_error() => Some(format!(
                "a success status with a body that does not parse ({e})"
            )),
            _ => None,
        };
        if let (Some(why), Some(slot)) = (refusal, context.output_or_error_mut()) {
            *slot = Err(OrchestratorError::response(Box::new(UnreadableAnswer(why))));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_found_only_at_the_top_level_of_an_object() {
        assert!(has_member(br#"{"jobs":[]}"#, "jobs"));
        assert!(has_member(br#"{"padding":"x","jobs":null}"#, "jobs"));
        assert!(!has_member(br#"{}"#, "jobs"));
        assert!(!has_member(br#"{"x":{"jobs":[]}}"#, "jobs"));
        // A job named after the member is a value, not the member.
        assert!(!has_member(br#"{"jobName":"jobs"}"#, "jobs"));
        assert!(!has_member(br#"<html>jobs</html>"#, "jobs"));
        assert!(!has_member(b"", "jobs"));
    }
}
