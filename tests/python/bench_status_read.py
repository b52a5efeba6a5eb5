#!/usr/bin/env python3
"""One caller reading one job's status in a loop through an official Python SDK, for the
`client_vs_raw` bench (tests/benches/client_vs_raw.rs): the equivalent of polybatch's
`job_status` on each provider.

Usage:
    bench_status_read.py azure   --url URL --job ID --seconds S --account A --key K
    bench_status_read.py tencent --url URL --job ID --seconds S [--region R]
    bench_status_read.py aws     --url URL --job ID --seconds S [--region R]

The calls are:
    azure    BatchClient.get_job(job)                       (Job_Get, azure-batch 15.x)
    tencent  BatchClient.DescribeJob(JobId=job)             (tencentcloud-sdk-python)
    aws      batch.describe_jobs(jobs=[job])                (boto3)

One untimed call first (it opens the connection and loads the SDK's models), then calls until
S seconds have passed. Prints one JSON line: {"calls", "cpu_seconds", "wall_seconds"}, where
cpu_seconds is this process's CPU time (time.process_time(), user + system) over the timed
loop only: imports and client construction are not counted.

Exit status: 0 measured, 1 a call failed, 2 bad usage, 3 the SDK is not installed.
"""

import argparse
import json
import sys
import time

TENCENT_SECRET_ID = "AKIDpolybatchEMULATORdevelopment00000"
TENCENT_SECRET_KEY = "polybatchEmulatorDevelopmentKey00"
AWS_KEY_ID = "AKIAPOLYBATCHEMULATR"
AWS_SECRET = "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"


def missing(sdk, exc):
    print(
        "%s is not installed (%s): pip install -r tests/python/requirements.txt" % (sdk, exc),
        file=sys.stderr,
    )
    sys.exit(3)


def azure_call(args):
    try:
        from azure.batch import BatchClient
        from azure.core.credentials import AzureNamedKeyCredential
    except ImportError as exc:
        missing("azure-batch", exc)
    if not (args.account and args.key):
        print("azure needs --account and --key", file=sys.stderr)
        sys.exit(2)
    client = BatchClient(
        endpoint=args.url, credential=AzureNamedKeyCredential(args.account, args.key)
    )

    def call():
        job = client.get_job(args.job)
        if job.id != args.job:
            raise RuntimeError("get_job returned %r" % job.id)

    return call


def tencent_call(args):
    try:
        from tencentcloud.batch.v20170312 import batch_client, models
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
    except ImportError as exc:
        missing("tencentcloud-sdk-python", exc)
    endpoint = args.url.split("://", 1)[-1].rstrip("/")
    http = HttpProfile(endpoint=endpoint, protocol="http", reqTimeout=10)
    client = batch_client.BatchClient(
        credential.Credential(TENCENT_SECRET_ID, TENCENT_SECRET_KEY),
        args.region or "ap-guangzhou",
        ClientProfile(httpProfile=http),
    )

    def call():
        req = models.DescribeJobRequest()
        req.JobId = args.job
        resp = client.DescribeJob(req)
        if resp.JobId != args.job:
            raise RuntimeError("DescribeJob returned %r" % resp.JobId)

    return call


def aws_call(args):
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:
        missing("boto3", exc)
    client = boto3.client(
        "batch",
        endpoint_url=args.url,
        region_name=args.region or "us-east-1",
        aws_access_key_id=AWS_KEY_ID,
        aws_secret_access_key=AWS_SECRET,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )

    def call():
        jobs = client.describe_jobs(jobs=[args.job])["jobs"]
        if len(jobs) != 1 or jobs[0]["jobId"] != args.job:
            raise RuntimeError("describe_jobs returned %r" % jobs)

    return call


def main():
    p = argparse.ArgumentParser()
    p.add_argument("provider", choices=["azure", "tencent", "aws"])
    p.add_argument("--url", required=True)
    p.add_argument("--job", required=True)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--account")
    p.add_argument("--key")
    p.add_argument("--region")
    args = p.parse_args()
    call = {"azure": azure_call, "tencent": tencent_call, "aws": aws_call}[args.provider](args)
    try:
        call()  # untimed: connection, lazy model loading
        calls = 0
        cpu0 = time.process_time()
        wall0 = time.perf_counter()
        deadline = wall0 + args.seconds
        while time.perf_counter() < deadline:
            call()
            calls += 1
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - wall0
    except Exception as exc:  # a bench reports what failed rather than a traceback
        print("call failed: %s: %s" % (type(exc).__name__, exc), file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"calls": calls, "cpu_seconds": cpu, "wall_seconds": wall}))


if __name__ == "__main__":
    main()
