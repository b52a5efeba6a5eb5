#!/usr/bin/env python3
"""Drives the polybatch emulator's AWS Batch front end with the official AWS SDK for Python
(boto3) and checks every operation it serves: resources, job states on a moved clock, array
jobs, listing and paging, terminate and cancel, tags, throttling and the documented errors.

Usage:
    aws_sdk_check.py --url http://127.0.0.1:PORT [--region R]

Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, else the emulator's
development defaults. Simulated time is moved with the emulator's admin API
(POST /_polybatch/clock/advance), so the run takes no real waiting.

Exit status: 0 all checks passed, 1 a check failed, 3 the SDK is not installed.
"""

import argparse
import json
import os
import sys
import urllib.request

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError
except ImportError as exc:  # pragma: no cover - environment problem, reported to the caller
    print(
        "boto3 is not installed (%s); run: pip install -r tests/python/requirements.txt" % exc,
        file=sys.stderr,
    )
    sys.exit(3)

DEFAULT_KEY_ID = "AKIAPOLYBATCHEMULATR"
DEFAULT_SECRET = "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"


class CheckFailed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise CheckFailed(what)
    print("ok  " + what)


def expect_error(code, fn, what):
    try:
        fn()
    except ClientError as e:
        got = e.response.get("Error", {}).get("Code")
        request_id = e.response.get("ResponseMetadata", {}).get("RequestId")
        check(
            got == code and bool(request_id),
            "%s -> %s (got %s: %s)" % (what, code, got, e),
        )
        return e
    raise CheckFailed("%s: expected %s, the call succeeded" % (what, code))


class Emulator:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def _post(self, path, body):
        req = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()

    def advance(self, seconds):
        self._post("/_polybatch/clock/advance", {"seconds": seconds})

    def fault(self, operation, status, code, times=1):
        self._post(
            "/_polybatch/faults",
            {
                "provider": "aws",
                "operation": operation,
                "times": times,
                "fault": {"kind": "error", "status": status, "code": code},
            },
        )


def env(run_seconds, exit_code=0):
    return [
        {"name": "POLYBATCH_RUN_SECONDS", "value": str(run_seconds)},
        {"name": "POLYBATCH_EXIT_CODE", "value": str(exit_code)},
    ]


def describe(client, job_id):
    jobs = client.describe_jobs(jobs=[job_id])["jobs"]
    check(len(jobs) == 1, "describe_jobs finds %s" % job_id)
    return jobs[0]


def resources(client):
    ce = client.create_compute_environment(
        computeEnvironmentName="sdk-ce", type="UNMANAGED", state="ENABLED"
    )
    check(ce["computeEnvironmentArn"].endswith(":compute-environment/sdk-ce"), "create_compute_environment")
    q = client.create_job_queue(
        jobQueueName="sdk-queue",
        state="ENABLED",
        priority=10,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": "sdk-ce"}],
    )
    check(q["jobQueueName"] == "sdk-queue", "create_job_queue")
    queues = client.describe_job_queues(jobQueues=["sdk-queue"])["jobQueues"]
    check(
        len(queues) == 1
        and queues[0]["computeEnvironmentOrder"][0]["computeEnvironment"] == ce["computeEnvironmentArn"],
        "describe_job_queues names the environment by ARN",
    )
    envs = client.describe_compute_environments(computeEnvironments=["sdk-ce"])["computeEnvironments"]
    check(envs[0]["status"] == "VALID", "describe_compute_environments")
    d1 = client.register_job_definition(
        jobDefinitionName="sdk-def",
        type="container",
        containerProperties={
            "image": "busybox",
            "command": ["echo", "hello"],
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "256"},
            ],
        },
    )
    d2 = client.register_job_definition(
        jobDefinitionName="sdk-def",
        type="container",
        containerProperties={"image": "busybox", "vcpus": 1, "memory": 128},
    )
    check((d1["revision"], d2["revision"]) == (1, 2), "register_job_definition counts revisions")
    defs = client.describe_job_definitions(jobDefinitionName="sdk-def")["jobDefinitions"]
    check(len(defs) == 2, "describe_job_definitions by name")
    expect_error(
        "ClientException",
        lambda: client.register_job_definition(
            jobDefinitionName="no-image", type="container", containerProperties={"vcpus": 1, "memory": 128}
        ),
        "a definition without an image",
    )
    return "sdk-queue", "sdk-def:1"


def states(client, emu, queue, definition):
    job = client.submit_job(
        jobName="walk",
        jobQueue=queue,
        jobDefinition=definition,
        containerOverrides={"environment": env(10)},
        tags={"team": "sdk"},
    )
    job_id = job["jobId"]
    seen = []
    for _ in range(20):
        d = describe(client, job_id)
        if not seen or seen[-1] != d["status"]:
            seen.append(d["status"])
        if d["status"] in ("SUCCEEDED", "FAILED"):
            break
        emu.advance(1)
    check(
        seen == ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"],
        "a job walks the documented states (%s)" % seen,
    )
    d = describe(client, job_id)
    check(d["container"]["exitCode"] == 0 and len(d["attempts"]) == 1, "exit code and attempts")
    check(d["tags"] == {"team": "sdk"}, "tags on the job")
    check(d["container"]["command"] == ["echo", "hello"], "the definition's command")

    failing = client.submit_job(
        jobName="fails",
        jobQueue=queue,
        jobDefinition=definition,
        containerOverrides={"environment": env(1, 4)},
        retryStrategy={"attempts": 2},
    )["jobId"]
    emu.advance(30)
    d = describe(client, failing)
    check(
        d["status"] == "FAILED" and len(d["attempts"]) == 2 and d["container"]["exitCode"] == 4,
        "a failing job is retried by its strategy, then FAILED",
    )


def arrays_and_listing(client, emu, queue, definition):
    parent = client.submit_job(
        jobName="sweep",
        jobQueue=queue,
        jobDefinition=definition,
        arrayProperties={"size": 3},
        containerOverrides={"environment": env(20)},
    )["jobId"]
    emu.advance(6)
    d = describe(client, parent)
    summary = d["arrayProperties"]["statusSummary"]
    check(d["status"] == "PENDING" and summary.get("RUNNING") == 3, "an array job counts running children")
    children = client.list_jobs(arrayJobId=parent, jobStatus="RUNNING")["jobSummaryList"]
    check(
        sorted(c["jobId"] for c in children) == ["%s:%d" % (parent, i) for i in range(3)],
        "list_jobs lists the children",
    )
    child = describe(client, parent + ":1")
    check(child["arrayProperties"]["index"] == 1, "a child has its index")

    running = client.list_jobs(jobQueue=queue)["jobSummaryList"]
    check(any(j["jobId"] == parent for j in running) is False, "no status lists RUNNING jobs only")
    named = client.list_jobs(jobQueue=queue, filters=[{"name": "JOB_NAME", "values": ["swe*"]}])
    check([j["jobId"] for j in named["jobSummaryList"]] == [parent], "a JOB_NAME filter lists every status")
    pages = client.get_paginator("list_jobs").paginate(
        jobQueue=queue, jobStatus="SUCCEEDED", PaginationConfig={"PageSize": 1}
    )
    ids = [j["jobId"] for page in pages for j in page["jobSummaryList"]]
    check(len(ids) == len(set(ids)) >= 1, "the paginator follows nextToken (%d jobs)" % len(ids))
    expect_error(
        "ClientException",
        lambda: client.describe_jobs(jobs=["x%d" % i for i in range(101)]),
        "describe_jobs with 101 ids",
    )
    check(client.describe_jobs(jobs=["no-such-job"])["jobs"] == [], "unknown ids are left out")


def stopping(client, emu, queue, definition):
    early = client.submit_job(
        jobName="early", jobQueue=queue, jobDefinition=definition, containerOverrides={"environment": env(1000)}
    )["jobId"]
    client.terminate_job(jobId=early, reason="not needed")
    d = describe(client, early)
    check(
        d["status"] == "FAILED" and d["isCancelled"] and d["statusReason"] == "not needed",
        "terminate before STARTING cancels",
    )
    late = client.submit_job(
        jobName="late", jobQueue=queue, jobDefinition=definition, containerOverrides={"environment": env(1000)}
    )["jobId"]
    emu.advance(5)
    client.cancel_job(jobId=late, reason="too late")
    check(describe(client, late)["status"] == "RUNNING", "cancel does nothing to a RUNNING job")
    client.terminate_job(jobId=late, reason="stop")
    emu.advance(2)
    d = describe(client, late)
    check(d["status"] == "FAILED" and d["isTerminated"], "terminate stops a RUNNING job")
    expect_error(
        "ClientException",
        lambda: client.terminate_job(jobId="no-such-job", reason="x"),
        "terminate an unknown job",
    )


def tags_throttling_and_auth(client, emu, queue, definition, url, region):
    job = client.submit_job(jobName="tagged", jobQueue=queue, jobDefinition=definition)
    arn = job["jobArn"]
    client.tag_resource(resourceArn=arn, tags={"k": "v"})
    check(client.list_tags_for_resource(resourceArn=arn)["tags"] == {"k": "v"}, "tag_resource and list_tags_for_resource")
    expect_error(
        "ClientException",
        lambda: client.submit_job(jobName="x", jobQueue="no-such-queue", jobDefinition=definition),
        "submit to an unknown queue",
    )
    expect_error(
        "ClientException",
        lambda: client.submit_job(jobName="x", jobQueue=queue, jobDefinition=definition, arrayProperties={"size": 1}),
        "an array of one",
    )
    emu.fault("DescribeJobs", 429, "TooManyRequestsException")
    reply = client.describe_jobs(jobs=[job["jobId"]])
    check(reply["ResponseMetadata"]["RetryAttempts"] >= 1, "boto3 retries TooManyRequestsException")

    def other(key_id, secret):
        return boto3.client(
            "batch",
            endpoint_url=url,
            region_name=region,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            config=Config(retries={"max_attempts": 1}),
        )

    expect_error(
        "InvalidSignatureException",
        lambda: other(DEFAULT_KEY_ID, "wrong-secret").describe_jobs(jobs=["x"]),
        "a wrong secret",
    )
    expect_error(
        "UnrecognizedClientException",
        lambda: other("AKIAUNKNOWNKEY000000", "x").describe_jobs(jobs=["x"]),
        "an unknown access key",
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="emulator base URL, http://127.0.0.1:PORT")
    p.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    args = p.parse_args()
    client = boto3.client(
        "batch",
        endpoint_url=args.url,
        region_name=args.region,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", DEFAULT_KEY_ID),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", DEFAULT_SECRET),
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
    )
    emu = Emulator(args.url)
    try:
        queue, definition = resources(client)
        states(client, emu, queue, definition)
        arrays_and_listing(client, emu, queue, definition)
        stopping(client, emu, queue, definition)
        tags_throttling_and_auth(client, emu, queue, definition, args.url, args.region)
    except CheckFailed as e:
        print("FAILED " + str(e), file=sys.stderr)
        return 1
    print("all AWS SDK checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
