#!/usr/bin/env python3
"""Drives the polybatch emulator's Tencent Cloud Batch front end with the official Python SDK
(tencentcloud-sdk-python) and checks every job action it serves.

Usage:
    tencent_sdk_check.py --url http://127.0.0.1:PORT [--secret-id ID --secret-key KEY] [--region R]

Credentials default to TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY, then to the emulator's
development defaults. Simulated time is moved with the emulator's admin API
(POST /_polybatch/clock/advance), so the run takes no real waiting.

Exit status: 0 all checks passed, 1 a check failed, 3 the SDK is not installed.
"""

import argparse
import json
import os
import sys
import urllib.parse
import urllib.request
import warnings

try:
    from tencentcloud.batch.v20170312 import batch_client, models
    from tencentcloud.common import credential
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
        TencentCloudSDKException,
    )
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
except ImportError as exc:  # pragma: no cover - environment problem, reported to the caller
    print(
        "tencentcloud-sdk-python is not installed (%s); run: "
        "pip install -r tests/python/requirements.txt" % exc,
        file=sys.stderr,
    )
    sys.exit(3)

DEFAULT_SECRET_ID = "AKIDpolybatchEMULATORdevelopment00000"
DEFAULT_SECRET_KEY = "polybatchEmulatorDevelopmentKey00"

# The emulator answers only the documented fields, so the SDK's warning about response fields
# its models do not declare must not appear: make it an error.
warnings.filterwarnings("error", message=".*fileds are useless.*")


class CheckFailed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise CheckFailed(what)
    print("ok  " + what)


def make_client(endpoint, secret_id, secret_key, region):
    cred = credential.Credential(secret_id, secret_key)
    http = HttpProfile(endpoint=endpoint, protocol="http", reqTimeout=10)
    return batch_client.BatchClient(cred, region, ClientProfile(httpProfile=http))


def request(cls, params):
    req = cls()
    req.from_json_string(json.dumps(params))
    return req


def expect_error(code, fn, what):
    try:
        fn()
    except TencentCloudSDKException as e:
        check(
            e.get_code() == code and bool(e.get_request_id()),
            "%s -> %s (got %s: %s)" % (what, code, e.get_code(), e.get_message()),
        )
        return e
    raise CheckFailed("%s: expected %s, the call succeeded" % (what, code))


class Emulator:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def advance(self, seconds):
        data = json.dumps({"seconds": seconds}).encode()
        req = urllib.request.Request(
            self.url + "/_polybatch/clock/advance",
            data=data,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()


def task(name, exit_code, run_seconds, instances=1):
    return {
        "TaskName": name,
        "TaskInstanceNum": instances,
        "Application": {"DeliveryForm": "LOCAL", "Command": "echo polybatch"},
        "ComputeEnv": {
            "EnvType": "MANAGED",
            "EnvData": {"InstanceType": "SA5.MEDIUM4", "ImageId": "img-bd78fy2t"},
        },
        "EnvVars": [
            {"Name": "POLYBATCH_EXIT_CODE", "Value": str(exit_code)},
            {"Name": "POLYBATCH_RUN_SECONDS", "Value": str(run_seconds)},
        ],
    }


def job(name, tasks, zone, token=None):
    params = {
        "Placement": {"Zone": zone},
        "Job": {"JobName": name, "Priority": 1, "Tasks": tasks},
    }
    if token:
        params["ClientToken"] = token
    return params


def run(args):
    emu = Emulator(args.url)
    endpoint = urllib.parse.urlparse(args.url).netloc
    client = make_client(endpoint, args.secret_id, args.secret_key, args.region)
    zone = args.region + "-2"

    def submit(params):
        return client.SubmitJob(request(models.SubmitJobRequest, params)).JobId

    def describe(job_id):
        return client.DescribeJob(request(models.DescribeJobRequest, {"JobId": job_id}))

    def describe_task(job_id, name, **extra):
        params = {"JobId": job_id, "TaskName": name}
        params.update(extra)
        return client.DescribeTask(request(models.DescribeTaskRequest, params))

    # SubmitJob, idempotent with a ClientToken; DescribeJob through the timeline.
    ok_id = submit(job("sdk-ok", [task("A", 0, 5)], zone, token="sdk-token-1"))
    check(ok_id.startswith("job-") and len(ok_id) == 12, "SubmitJob returns a job id (%s)" % ok_id)
    again = submit(job("sdk-ok", [task("A", 0, 5)], zone, token="sdk-token-1"))
    check(again == ok_id, "SubmitJob with the same ClientToken returns the same job")
    d = describe(ok_id)
    check(d.JobState == "SUBMITTED", "DescribeJob: fresh job is SUBMITTED (%s)" % d.JobState)
    check(d.RequestId and d.JobName == "sdk-ok" and d.Zone == zone, "DescribeJob fields")
    expect_error(
        "UnsupportedOperation",
        lambda: client.TerminateJob(request(models.TerminateJobRequest, {"JobId": ok_id})),
        "TerminateJob on a SUBMITTED job",
    )
    emu.advance(5)
    check(describe(ok_id).JobState == "RUNNING", "DescribeJob: RUNNING after 5 s")
    emu.advance(5)
    d = describe(ok_id)
    check(d.JobState == "SUCCEED" and d.EndTime, "DescribeJob: SUCCEED after 10 s")
    check(d.TaskSet[0].TaskName == "A" and d.TaskSet[0].TaskState == "SUCCEED", "TaskSet")
    check(d.TaskMetrics.SucceedCount == 1 and d.TaskInstanceMetrics.SucceedCount == 1, "metrics")
    client.TerminateJob(request(models.TerminateJobRequest, {"JobId": ok_id}))
    check(describe(ok_id).JobState == "SUCCEED", "TerminateJob on a SUCCEED job has no effect")

    # DescribeTask.
    t = describe_task(ok_id, "A")
    inst = t.TaskInstanceSet[0]
    check(
        t.TaskState == "SUCCEED" and t.TaskInstanceTotalCount == 1 and inst.ExitCode == 0,
        "DescribeTask: instance succeeded with exit code 0",
    )
    check(inst.LaunchTime and inst.RunningTime and inst.EndTime, "DescribeTask: instance times")
    expect_error("ResourceNotFound.Task", lambda: describe_task(ok_id, "nope"), "DescribeTask unknown task")

    # A failing job with two instances; RetryJobs.
    bad_id = submit(job("sdk-bad", [task("A", 7, 1, instances=2)], zone))
    emu.advance(10)
    d = describe(bad_id)
    check(d.JobState == "FAILED" and d.StateReason, "failing job is FAILED with a reason")
    t = describe_task(bad_id, "A", Offset=1, Limit=1)
    check(
        t.TaskInstanceTotalCount == 2
        and len(t.TaskInstanceSet) == 1
        and t.TaskInstanceSet[0].TaskInstanceIndex == 1
        and t.TaskInstanceSet[0].ExitCode == 7,
        "DescribeTask paging and exit code 7",
    )
    expect_error(
        "UnsupportedOperation",
        lambda: client.RetryJobs(request(models.RetryJobsRequest, {"JobIds": [bad_id, ok_id]})),
        "RetryJobs with a SUCCEED job",
    )
    check(describe(bad_id).JobState == "FAILED", "RetryJobs refused: nothing retried")
    client.RetryJobs(request(models.RetryJobsRequest, {"JobIds": [bad_id]}))
    check(describe(bad_id).JobState == "PENDING", "RetryJobs reruns the failed job")
    emu.advance(10)
    check(describe(bad_id).JobState == "FAILED", "retried job fails again")

    # DescribeJobs: filters and paging.
    r = client.DescribeJobs(
        request(models.DescribeJobsRequest, {"Filters": [{"Name": "job-id", "Values": [ok_id]}]})
    )
    check(r.TotalCount == 1 and r.JobSet[0].JobId == ok_id, "DescribeJobs job-id filter")
    r = client.DescribeJobs(
        request(models.DescribeJobsRequest, {"Filters": [{"Name": "job-state", "Values": ["FAILED"]}]})
    )
    check(r.TotalCount == 1 and r.JobSet[0].JobId == bad_id, "DescribeJobs job-state filter")
    r = client.DescribeJobs(
        request(models.DescribeJobsRequest, {"Filters": [{"Name": "job-name", "Values": ["sdk-ok"]}]})
    )
    check(r.TotalCount == 1 and r.JobSet[0].Placement.Zone == zone, "DescribeJobs job-name filter")
    r = client.DescribeJobs(request(models.DescribeJobsRequest, {"Offset": 1, "Limit": 1}))
    check(r.TotalCount == 2 and len(r.JobSet) == 1 and r.JobSet[0].JobId == ok_id, "DescribeJobs paging")

    # TerminateTaskInstance and TerminateJob on a long job.
    long_id = submit(job("sdk-long", [task("A", 0, 100, instances=2)], zone))
    emu.advance(6)
    check(describe(long_id).JobState == "RUNNING", "long job RUNNING")
    client.TerminateTaskInstance(
        request(
            models.TerminateTaskInstanceRequest,
            {"JobId": long_id, "TaskName": "A", "TaskInstanceIndex": 0},
        )
    )
    emu.advance(2)
    t = describe_task(long_id, "A")
    check(
        t.TaskInstanceSet[0].TaskInstanceState == "FAILED"
        and t.TaskInstanceSet[1].TaskInstanceState == "RUNNING",
        "TerminateTaskInstance fails only that instance",
    )
    expect_error(
        "ResourceNotFound.TaskInstance",
        lambda: client.TerminateTaskInstance(
            request(
                models.TerminateTaskInstanceRequest,
                {"JobId": long_id, "TaskName": "A", "TaskInstanceIndex": 9},
            )
        ),
        "TerminateTaskInstance unknown index",
    )
    expect_error(
        "ResourceInUse.Job",
        lambda: client.DeleteJob(request(models.DeleteJobRequest, {"JobId": long_id})),
        "DeleteJob on a RUNNING job",
    )
    client.TerminateJob(request(models.TerminateJobRequest, {"JobId": long_id}))
    check(describe(long_id).NextAction == "TERMINATING", "TerminateJob: NextAction TERMINATING")
    emu.advance(2)
    d = describe(long_id)
    check(d.JobState == "FAILED", "TerminateJob: job FAILED two seconds later")

    # The lifecycle actions polybatch's bulk status, export and output use.
    talker = task("T", 0, 1)
    talker["EnvVars"].append({"Name": "POLYBATCH_STDOUT", "Value": "hello sdk\n"})
    tagged = job("sdk-tagged", [talker], zone)
    tagged["Job"]["Tags"] = [{"Key": "team", "Value": "render"}]
    tagged_id = submit(tagged)
    many = client.DescribeJobs(
        request(models.DescribeJobsRequest, {"JobIds": [tagged_id, long_id], "Limit": 100})
    )
    check(sorted(j.JobId for j in many.JobSet) == sorted([tagged_id, long_id]), "DescribeJobs JobIds")
    by_tag = client.DescribeJobs(
        request(models.DescribeJobsRequest, {"Filters": [{"Name": "tag:team", "Values": ["render"]}]})
    )
    check([j.JobId for j in by_tag.JobSet] == [tagged_id], "DescribeJobs tag:team filter")
    check(by_tag.JobSet[0].Tags[0].Value == "render", "JobView carries the tags")
    expect_error(
        "InvalidParameter.InvalidParameterCombination",
        lambda: client.DescribeJobs(request(models.DescribeJobsRequest, {
            "JobIds": [tagged_id], "Filters": [{"Name": "job-name", "Values": ["x"]}]})),
        "JobIds with Filters",
    )
    info = client.DescribeJobSubmitInfo(
        request(models.DescribeJobSubmitInfoRequest, {"JobId": tagged_id})
    )
    check(info.JobName == "sdk-tagged" and info.Tasks[0].TaskName == "T", "DescribeJobSubmitInfo")
    check(info.Tags[0].Key == "team", "DescribeJobSubmitInfo tags")
    emu.advance(10)
    logs = client.DescribeTaskLogs(request(models.DescribeTaskLogsRequest, {
        "JobId": tagged_id, "TaskName": "T", "TaskInstanceIndexes": [0]}))
    import base64
    check(logs.TotalCount == 1 and base64.b64decode(logs.TaskInstanceLogSet[0].StdoutLog) == b"hello sdk\n",
          "DescribeTaskLogs stdout")
    expect_error(
        "ResourceNotFound.TaskInstance",
        lambda: client.DescribeTaskLogs(request(models.DescribeTaskLogsRequest, {
            "JobId": tagged_id, "TaskName": "T", "TaskInstanceIndexes": [5]})),
        "DescribeTaskLogs unknown instance",
    )
    expect_error(
        "InvalidParameterValue.LimitExceeded",
        lambda: client.DescribeTaskLogs(request(models.DescribeTaskLogsRequest, {
            "JobId": tagged_id, "TaskName": "T", "Limit": 11})),
        "DescribeTaskLogs Limit 11",
    )

    # DeleteJob.
    client.DeleteJob(request(models.DeleteJobRequest, {"JobId": long_id}))
    expect_error("ResourceNotFound.Job", lambda: describe(long_id), "DescribeJob after DeleteJob")
    expect_error("InvalidParameter.JobIdMalformed", lambda: describe("job-NOPE"), "malformed job id")

    # Authentication failures come back as SDK exceptions too.
    wrong = make_client(endpoint, args.secret_id, args.secret_key + "x", args.region)
    expect_error(
        "AuthFailure.SignatureFailure",
        lambda: wrong.DescribeJobs(request(models.DescribeJobsRequest, {})),
        "wrong SecretKey",
    )
    unknown = make_client(endpoint, "AKIDnobody", args.secret_key, args.region)
    expect_error(
        "AuthFailure.SecretIdNotFound",
        lambda: unknown.DescribeJobs(request(models.DescribeJobsRequest, {})),
        "unknown SecretId",
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="emulator base URL, http://127.0.0.1:PORT")
    p.add_argument(
        "--secret-id", default=os.environ.get("TENCENTCLOUD_SECRET_ID", DEFAULT_SECRET_ID)
    )
    p.add_argument(
        "--secret-key", default=os.environ.get("TENCENTCLOUD_SECRET_KEY", DEFAULT_SECRET_KEY)
    )
    p.add_argument("--region", default=os.environ.get("TENCENTCLOUD_REGION", "ap-guangzhou"))
    args = p.parse_args()
    try:
        run(args)
    except CheckFailed as e:
        print("FAIL " + str(e), file=sys.stderr)
        return 1
    except TencentCloudSDKException as e:
        print("FAIL unexpected SDK error: %s" % e, file=sys.stderr)
        return 1
    print("all Tencent SDK checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
