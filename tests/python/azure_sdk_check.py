"""Drive the polybatch emulator with Azure's official Python SDK (azure-batch 15.x, Shared Key).

Usage: azure_sdk_check.py URL ACCOUNT KEY
   or: POLYBATCH_AZURE_URL=... POLYBATCH_AZURE_ACCOUNT=... POLYBATCH_AZURE_KEY=... azure_sdk_check.py

The emulator must use real-time simulation (the admin API moves its clock forward) and at least
25 nodes per pool. Exits non-zero on the first failed check.
"""

import json
import os
import sys
import urllib.request

try:
    from azure.core.credentials import AzureNamedKeyCredential
    from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
    from azure.batch import BatchClient, models
except ImportError as e:  # exit code 3: the SDK is missing (the Rust runner says how to install it)
    print("azure-batch SDK not installed (%s): pip install -r tests/python/requirements.txt" % e,
          file=sys.stderr)
    sys.exit(3)


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def expect_error(fn, status, code, what):
    try:
        fn()
    except HttpResponseError as e:
        got = e.error.code if e.error is not None else None
        check(e.status_code == status and got == code,
              "%s: expected %s %s, got %s %s" % (what, status, code, e.status_code, got))
        return
    fail("%s: expected %s %s, got success" % (what, status, code))


def env(seconds, code):
    return [
        models.EnvironmentSetting(name="POLYBATCH_RUN_SECONDS", value=str(seconds)),
        models.EnvironmentSetting(name="POLYBATCH_EXIT_CODE", value=str(code)),
    ]


def main():
    args = sys.argv[1:]
    url = args[0] if len(args) > 0 else os.environ.get("POLYBATCH_AZURE_URL")
    account = args[1] if len(args) > 1 else os.environ.get("POLYBATCH_AZURE_ACCOUNT")
    key = args[2] if len(args) > 2 else os.environ.get("POLYBATCH_AZURE_KEY")
    if not (url and account and key):
        fail("usage: azure_sdk_check.py URL ACCOUNT KEY (or POLYBATCH_AZURE_URL/_ACCOUNT/_KEY)")

    def advance(seconds):
        req = urllib.request.Request(
            url + "/_polybatch/clock/advance",
            data=json.dumps({"seconds": seconds}).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(req).read()

    # Shared Key over plain http: BatchSharedKeyAuthPolicy does not insist on TLS (only bearer
    # token policies do), so pointing the endpoint at the emulator is all it takes.
    client = BatchClient(endpoint=url, credential=AzureNamedKeyCredential(account, key))

    # Job_Add with preparation and release tasks.
    job = models.BatchJobCreateOptions(
        id="sdkjob",
        pool_info=models.BatchPoolInfo(pool_id="sdkpool"),
        job_preparation_task=models.BatchJobPreparationTask(command_line="/bin/sh -c 'echo prep'"),
        job_release_task=models.BatchJobReleaseTask(command_line="/bin/sh -c 'echo release'"),
        constraints=models.BatchJobConstraints(max_task_retry_count=0),
    )
    client.create_job(job)
    expect_error(lambda: client.create_job(job), 409, "JobExists", "duplicate job")

    got = client.get_job("sdkjob")
    check(got.id == "sdkjob", "get_job id")
    check(got.state == models.BatchJobState.ACTIVE, "job state active, got %s" % got.state)
    check(got.pool_info.pool_id == "sdkpool", "pool id")
    check(got.job_preparation_task.command_line.startswith("/bin/sh"), "prep task echoed")
    check(got.etag and got.etag.startswith("0x"), "job etag")
    expect_error(lambda: client.get_job("missing"), 404, "JobNotFound", "missing job")

    # Task_Add: 30 tasks (the pool has >= 25 nodes, so each node runs the prep task once);
    # "bad" fails with exit code 3, "long" runs a long time.
    client.create_task("sdkjob", models.BatchTaskCreateOptions(
        id="bad", command_line="fail", environment_settings=env(1, 3)))
    client.create_task("sdkjob", models.BatchTaskCreateOptions(
        id="long", command_line="sleep", environment_settings=env(1000, 0)))
    for i in range(28):
        client.create_task("sdkjob", models.BatchTaskCreateOptions(
            id="t%02d" % i, command_line="echo %d" % i, environment_settings=env(1, 0)))
    expect_error(
        lambda: client.create_task("sdkjob", models.BatchTaskCreateOptions(id="bad", command_line="x")),
        409, "TaskExists", "duplicate task")

    task = client.get_task("sdkjob", "t00")
    check(task.state in (models.BatchTaskState.ACTIVE, models.BatchTaskState.PREPARING),
          "new task active/preparing, got %s" % task.state)

    advance(5)  # 1 s preparation + 1 s run, with margin
    bad = client.get_task("sdkjob", "bad")
    check(bad.state == models.BatchTaskState.COMPLETED, "bad completed, got %s" % bad.state)
    check(bad.execution_info.exit_code == 3, "bad exit code")
    check(bad.execution_info.result == models.BatchTaskExecutionResult.FAILURE, "bad result")
    check(bad.execution_info.failure_info.code == "FailureExitCode", "failure code")
    check(bad.node_info is not None and bad.node_info.node_id.startswith("tvm-"), "node info")

    # Task_List with $filter and paging (the SDK follows odata.nextLink).
    failed = list(client.list_tasks(
        "sdkjob", filter="state eq 'completed' and executionInfo/result eq 'failure'"))
    check([t.id for t in failed] == ["bad"], "filtered list, got %s" % [t.id for t in failed])
    everything = list(client.list_tasks("sdkjob", max_results=4))
    check(len(everything) == 30, "paged task list, got %d" % len(everything))
    selected = list(client.list_tasks("sdkjob", select=["id", "state"], max_results=7))
    check(len(selected) == 30 and selected[0].command_line is None, "$select projection")

    # Task_Reactivate: the failed task runs again; a succeeded one cannot.
    client.reactivate_task("sdkjob", "bad")
    again = client.get_task("sdkjob", "bad")
    check(again.state != models.BatchTaskState.COMPLETED, "reactivated, got %s" % again.state)
    check(again.execution_info.retry_count == 0, "retry count reset")
    expect_error(lambda: client.reactivate_task("sdkjob", "t00"), 409, "TaskSucceeded", "reactivate success")
    expect_error(lambda: client.reactivate_task("sdkjob", "bad"), 409, "TaskNotCompleted", "reactivate active")

    # Task_Terminate.
    client.terminate_task("sdkjob", "long")
    long = client.get_task("sdkjob", "long")
    check(long.state == models.BatchTaskState.COMPLETED, "terminated task completed")
    check(long.execution_info.failure_info.code == "TaskEnded", "TaskEnded")
    expect_error(lambda: client.terminate_task("sdkjob", "long"), 409, "TaskCompleted", "terminate twice")

    # Job_ListPreparationAndReleaseTaskStatus with paging and a filter.
    statuses = list(client.list_job_preparation_and_release_task_status("sdkjob", max_results=2))
    check(len(statuses) >= 25, "prep status on >= 25 nodes, got %d" % len(statuses))
    first = statuses[0]
    check(first.job_preparation_task_execution_info.state.lower() == "completed", "prep completed")
    check(first.job_preparation_task_execution_info.exit_code == 0, "prep exit code")
    one = list(client.list_job_preparation_and_release_task_status(
        "sdkjob", filter="nodeId eq '%s'" % first.node_id, select=["nodeId", "poolId"]))
    check(len(one) == 1 and one[0].node_id == first.node_id and one[0].pool_id == "sdkpool",
          "filtered prep status")
    expect_error(
        lambda: list(client.list_job_preparation_and_release_task_status("sdkjob", max_results=1001)),
        400, "OutOfRangeQueryParameterValue", "maxresults out of range")

    # Job_Terminate (the 15.x LRO polls Get Job until the job leaves `terminating`).
    # 15.1 keeps the options model out of `azure.batch.models`.
    terminate_options = getattr(models, "BatchJobTerminateOptions", None) or models._models.BatchJobTerminateOptions
    poller = client.begin_terminate_job(
        "sdkjob", terminate_options(termination_reason="sdk check"), polling_interval=0.2)
    advance(2)  # release tasks take 1 s
    poller.result(timeout=30)
    done = client.get_job("sdkjob")
    check(done.state == models.BatchJobState.COMPLETED, "job completed, got %s" % done.state)
    check(done.execution_info.termination_reason == "sdk check", "terminate reason")
    released = list(client.list_job_preparation_and_release_task_status("sdkjob"))
    check(all(s.job_release_task_execution_info is not None for s in released), "release ran on every node")
    expect_error(lambda: client.create_task("sdkjob", models.BatchTaskCreateOptions(id="late", command_line="x")),
                 409, "JobCompleted", "add to completed job")
    expect_error(lambda: client.begin_terminate_job("sdkjob", terminate_options(termination_reason="again")), 409, "JobCompleted", "terminate twice")

    # A job without a preparation task has no status list.
    client.create_job(models.BatchJobCreateOptions(id="plain", pool_info=models.BatchPoolInfo(pool_id="sdkpool")))
    expect_error(lambda: list(client.list_job_preparation_and_release_task_status("plain")),
                 409, "JobPreparationTaskNotSpecified", "no prep task")

    # The lifecycle operations polybatch's submit, list, output and delete use.
    client.create_job(models.BatchJobCreateOptions(
        id="lifecycle", pool_info=models.BatchPoolInfo(pool_id="sdkpool"),
        metadata=[models.BatchMetadataItem(name="team", value="render")]))
    # Task_AddCollection: one result per task; a repeated id is TaskExists, per task.
    speak = env(1, 0) + [models.EnvironmentSetting(name="POLYBATCH_STDOUT", value="hello sdk\n")]
    group = models.BatchTaskGroup(task_values=[
        models.BatchTaskCreateOptions(id="speak", command_line="/bin/sh -c 'echo hi'",
                                      environment_settings=speak),
        models.BatchTaskCreateOptions(id="quiet", command_line="true", environment_settings=env(1, 0)),
    ])
    added = client.create_task_collection("lifecycle", group)
    got = sorted((r.task_id, str(r.status).lower().rsplit(".", 1)[-1]) for r in added.result_values)
    check(got == [("quiet", "success"), ("speak", "success")], "task collection results, got %s" % got)
    again = client.create_task_collection("lifecycle", models.BatchTaskGroup(task_values=[
        models.BatchTaskCreateOptions(id="speak", command_line="x")]))
    check(again.result_values[0].error.code == "TaskExists", "TaskExists per task")
    # Job_Patch (update_job): the job completes once its tasks have.
    client.update_job("lifecycle", models.BatchJobUpdateOptions(all_tasks_complete_mode="terminatejob"))
    mode = client.get_job("lifecycle").all_tasks_complete_mode
    check(str(mode).lower().replace("_", "").endswith("terminatejob"), "onAllTasksComplete patched, got %r" % mode)
    # Job_List with $filter on state.
    active = list(client.list_jobs(filter="state eq 'active'", max_results=1))
    check(any(j.id == "lifecycle" for j in active), "list_jobs sees the new job")
    check(all(j.state == models.BatchJobState.ACTIVE for j in active), "list_jobs filter on state")
    check(any(m.name == "team" and m.value == "render" for m in
              next(j for j in active if j.id == "lifecycle").metadata), "job metadata echoed")
    advance(3)
    # File_GetFromTask, whole and with ocp-range.
    out = b"".join(client.download_task_file("lifecycle", "speak", "stdout.txt"))
    check(out == b"hello sdk\n", "stdout.txt, got %r" % out)
    part = b"".join(client.download_task_file("lifecycle", "speak", "stdout.txt", ocp_range="bytes=6-8"))
    check(part == b"sdk", "ocp-range, got %r" % part)
    check(client.get_job("lifecycle").state == models.BatchJobState.COMPLETED, "completed with its tasks")
    # Job_Delete: the LRO polls Get Job until it is gone.
    client.begin_delete_job("lifecycle", polling_interval=0.2).result(timeout=30)
    advance(2)  # deleting lasts the service's minimum termination time
    expect_error(lambda: client.get_job("lifecycle"), 404, "JobNotFound", "deleted job")
    print("azure-batch SDK check passed")


if __name__ == "__main__":
    try:
        main()
    except (ResourceNotFoundError, ResourceExistsError, HttpResponseError) as e:
        fail("unexpected service error: %s" % e)
