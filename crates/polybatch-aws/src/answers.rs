//! Answers the SDK would accept but polybatch must not: an interceptor on every client the
//! builder makes.
//!
//! - A body over [`MAX_ANSWER_BYTES`] is cut off while it is read (the SDK reads a whole body
//!   into memory, with no limit of its own).
//! - The SDK reads a member the body left out as `None`, and then "corrects" a required one
//!   to its default (`ListJobs`' list to empty, `SubmitJob`'s id to `""`), so a cut-down
//!   answer (a proxy's `{}`) reads as "no jobs", "no job id": a job that exists would be
//!   reported `NotFound`, or submitted twice. Each operation's answer here must carry its
//!   member, even empty.
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

/// The member missing from an answer of an operation polybatch reads, if one is. The output
/// tells for most (`None`, or an empty id that names no job); only an empty `ListJobs` page
/// needs the body, since the SDK fills that required list in.
fn missing_member(output: &Output, body: &[u8]) -> Option<&'static str> {
    if let Some(o) = output.downcast_ref::<DescribeJobsOutput>() {
        o.jobs.is_none().then_some("jobs")
    } else if let Some(o) = output.downcast_ref::<ListJobsOutput>() {
        const MEMBER: &str = "jobSummaryList";
        let listed = o.job_summary_list.as_deref().is_some_and(|l| !l.is_empty());
        (!listed && !has_member(body, MEMBER)).then_some(MEMBER)
    } else if let Some(o) = output.downcast_ref::<SubmitJobOutput>() {
        o.job_id
            .as_deref()
            .is_none_or(str::is_empty)
            .then_some("jobId")
    } else if let Some(o) = output.downcast_ref::<DescribeJobDefinitionsOutput>() {
        o.job_definitions.is_none().then_some("jobDefinitions")
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
        let refusal = match context.output_or_error() {
            Some(Ok(output)) => missing_member(output, response.body().bytes().unwrap_or_default())
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
    fn a_member_left_out_is_missing_and_an_empty_one_is_not() {
        // Every output but an empty ListJobs page is judged without its body.
        let jobs = |jobs: Option<Vec<_>>| {
            Output::erase(DescribeJobsOutput::builder().set_jobs(jobs).build())
        };
        assert_eq!(missing_member(&jobs(None), b"{}"), Some("jobs"));
        assert_eq!(missing_member(&jobs(Some(vec![])), b"{}"), None);

        // The SDK fills in the required list: only the body tells an empty page from none.
        let list = |l: Option<Vec<_>>| {
            Output::erase(ListJobsOutput::builder().set_job_summary_list(l).build())
        };
        let page = br#"{"jobSummaryList":[]}"#;
        assert_eq!(
            missing_member(&list(Some(vec![])), b"{}"),
            Some("jobSummaryList")
        );
        assert_eq!(missing_member(&list(Some(vec![])), page), None);
        let one = aws_sdk_batch::types::JobSummary::builder()
            .job_id("j-1")
            .job_name("n")
            .build();
        assert_eq!(missing_member(&list(Some(vec![one])), b""), None);

        let submit = |id: Option<&str>| {
            Output::erase(
                SubmitJobOutput::builder()
                    .set_job_id(id.map(str::to_string))
                    .build(),
            )
        };
        assert_eq!(missing_member(&submit(None), b"{}"), Some("jobId"));
        assert_eq!(missing_member(&submit(Some("")), b"{}"), Some("jobId"));
        assert_eq!(missing_member(&submit(Some("j-1")), b"{}"), None);

        let definitions = |d: Option<Vec<_>>| {
            Output::erase(
                DescribeJobDefinitionsOutput::builder()
                    .set_job_definitions(d)
                    .build(),
            )
        };
        assert_eq!(
            missing_member(&definitions(None), b"{}"),
            Some("jobDefinitions")
        );
        assert_eq!(missing_member(&definitions(Some(vec![])), b"{}"), None);

        // An operation whose answer polybatch does not check.
        let other = aws_sdk_batch::operation::cancel_job::CancelJobOutput::builder().build();
        assert_eq!(missing_member(&Output::erase(other), b"{}"), None);
    }

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
