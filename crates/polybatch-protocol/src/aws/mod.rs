//! AWS Batch: the REST-JSON service's constants and SigV4 verification ([`verify`]).
//!
//! Signing is the official SDK's (`aws-sdk-batch` signs with `aws-sigv4`); the verifier
//! recomputes a received request's signature with the same `aws-sigv4` crate, so nothing of
//! SigV4 is written by hand on either side.

pub mod verify;

/// The signing name of AWS Batch (the credential scope's service).
pub const SERVICE: &str = "batch";

/// The API version of the model the front ends speak.
pub const API_VERSION: &str = "2016-08-10";

/// How far a request's `X-Amz-Date` may be from the server's clock (SigV4's 15 minutes).
pub const MAX_CLOCK_SKEW_SECS: i64 = 15 * 60;

/// The largest `SubmitJob` request, in bytes: the service quota "maximum job payload size
/// (for SubmitJob API operations)", 30 KiB, which cannot be raised.
pub const MAX_SUBMIT_JOB_BYTES: usize = 30 * 1024;

/// The operations the front ends serve, with their method and path (`/v1/` + lower-case
/// name; the tag operations take the resource ARN in the path).
pub const OPERATIONS: &[(&str, &str, &str)] = &[
    (
        "CreateComputeEnvironment",
        "POST",
        "/v1/createcomputeenvironment",
    ),
    (
        "DescribeComputeEnvironments",
        "POST",
        "/v1/describecomputeenvironments",
    ),
    ("CreateJobQueue", "POST", "/v1/createjobqueue"),
    ("DescribeJobQueues", "POST", "/v1/describejobqueues"),
    ("RegisterJobDefinition", "POST", "/v1/registerjobdefinition"),
    (
        "DescribeJobDefinitions",
        "POST",
        "/v1/describejobdefinitions",
    ),
    ("SubmitJob", "POST", "/v1/submitjob"),
    ("DescribeJobs", "POST", "/v1/describejobs"),
    ("ListJobs", "POST", "/v1/listjobs"),
    ("TerminateJob", "POST", "/v1/terminatejob"),
    ("CancelJob", "POST", "/v1/canceljob"),
    ("TagResource", "POST", "/v1/tags/{resourceArn}"),
    ("ListTagsForResource", "GET", "/v1/tags/{resourceArn}"),
];
