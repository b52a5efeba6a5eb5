#!/usr/bin/env node
"use strict";
// Drives the polybatch emulator's Azure Batch front end with Microsoft's official Node.js SDK
// (@azure/batch 10.x, Shared Key through BatchSharedKeyCredentials) and checks every Azure
// operation the emulator serves that the SDK exposes.
//
// Usage: POLYBATCH_AZURE_URL=http://127.0.0.1:PORT POLYBATCH_AZURE_ACCOUNT=devbatch \
//        POLYBATCH_AZURE_KEY=... node tests/node/azure_sdk_check.js
//
// The emulator must have at least 25 nodes per pool, and a simulation clock that only the
// admin API moves (POST /_polybatch/clock/advance). Shared Key over plain http needs nothing
// else: the endpoint is simply the emulator's URL.
//
// Exit status: 0 all checks passed, 1 a check failed, 3 the SDK is not installed.

const { CheckFailed, check, requireSdk, env, advance, run } = require("./common");

const { BatchServiceClient, BatchSharedKeyCredentials } = requireSdk("@azure/batch");
const batchPackage = requireSdk("@azure/batch/package.json");

/** What the Node SDK 10.x sends as api-version. */
const API_VERSION = "2022-10-01.16.0";

async function expectError(status, code, fn, what) {
  try {
    await fn();
  } catch (e) {
    if (e instanceof CheckFailed) throw e;
    const shown = (c) => (c === undefined ? "(no code)" : c);
    check(
      e.statusCode === status && e.code === code,
      `${what} -> ${status} ${shown(code)} (got ${e.statusCode} ${shown(e.code)})`,
    );
    return e;
  }
  throw new CheckFailed(`${what}: expected ${status} ${code}, the call succeeded`);
}

function envSettings(seconds, code) {
  return [
    { name: "POLYBATCH_RUN_SECONDS", value: String(seconds) },
    { name: "POLYBATCH_EXIT_CODE", value: String(code) },
  ];
}

/** Every page of a list: `first` is the first page, `next(link)` fetches the next one. */
async function all(first, next) {
  const items = [...first];
  let pages = 1;
  let link = first.odatanextLink;
  while (link) {
    const page = await next(link);
    items.push(...page);
    pages += 1;
    link = page.odatanextLink;
  }
  return { items, pages };
}

async function readAll(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString();
}

async function main() {
  const url = env("POLYBATCH_AZURE_URL");
  const account = env("POLYBATCH_AZURE_ACCOUNT");
  const key = env("POLYBATCH_AZURE_KEY");
  console.log(`@azure/batch ${batchPackage.version}`);
  const client = new BatchServiceClient(new BatchSharedKeyCredentials(account, key), url);
  check(client.apiVersion === API_VERSION, `api-version ${client.apiVersion}`);
  const tick = (s) => advance(url, s);

  // Job_Add with preparation and release tasks.
  const job = {
    id: "nodejob",
    poolInfo: { poolId: "nodepool" },
    jobPreparationTask: { commandLine: "/bin/sh -c 'echo prep'" },
    jobReleaseTask: { commandLine: "/bin/sh -c 'echo release'" },
    constraints: { maxTaskRetryCount: 0 },
  };
  await client.job.add(job);
  await expectError(409, "JobExists", () => client.job.add(job), "Job_Add twice");

  let got = await client.job.get("nodejob");
  check(got.id === "nodejob", "Job_Get id");
  check(got.state === "active", `job state active (${got.state})`);
  check(got.poolInfo.poolId === "nodepool", "Job_Get pool id");
  check(got.jobPreparationTask.commandLine.startsWith("/bin/sh"), "preparation task echoed");
  check(got.eTag && got.eTag.startsWith("0x"), `job ETag (${got.eTag})`);
  await expectError(404, "JobNotFound", () => client.job.get("missing"), "Job_Get unknown job");
  await expectError(
    412,
    "ConditionNotMet",
    () => client.job.get("nodejob", { jobGetOptions: { ifMatch: "0x8D000000BAD" } }),
    "Job_Get If-Match another ETag",
  );
  const sameTag = await client.job.get("nodejob", { jobGetOptions: { ifMatch: got.eTag } });
  check(sameTag.id === "nodejob", "Job_Get If-Match its own ETag");

  // Task_Add: 30 tasks (the pool has >= 25 nodes, so each node runs the preparation task
  // once); "bad" fails with exit code 3, "long" runs a long time.
  await client.task.add("nodejob", {
    id: "bad",
    commandLine: "fail",
    environmentSettings: envSettings(1, 3),
  });
  await client.task.add("nodejob", {
    id: "long",
    commandLine: "sleep",
    environmentSettings: envSettings(1000, 0),
  });
  for (let i = 0; i < 28; i++) {
    const id = "t" + String(i).padStart(2, "0");
    await client.task.add("nodejob", {
      id,
      commandLine: `echo ${i}`,
      environmentSettings: envSettings(1, 0),
    });
  }
  await expectError(
    409,
    "TaskExists",
    () => client.task.add("nodejob", { id: "bad", commandLine: "x" }),
    "Task_Add twice",
  );

  const fresh = await client.task.get("nodejob", "t00");
  check(
    fresh.state === "active" || fresh.state === "preparing",
    `new task active or preparing (${fresh.state})`,
  );

  await tick(5); // 1 s preparation + 1 s run, with margin
  const bad = await client.task.get("nodejob", "bad");
  check(bad.state === "completed", `bad completed (${bad.state})`);
  check(bad.executionInfo.exitCode === 3, "bad exit code 3");
  check(bad.executionInfo.result === "failure", "bad result failure");
  check(bad.executionInfo.failureInfo.code === "FailureExitCode", "FailureExitCode");
  check(bad.nodeInfo && bad.nodeInfo.nodeId.startsWith("tvm-"), "task node info");
  await expectError(
    404,
    "TaskNotFound",
    () => client.task.get("nodejob", "nope"),
    "Task_Get unknown task",
  );

  // Task_List with $filter, paging (odata.nextLink through listNext) and $select.
  const failed = await client.task.list("nodejob", {
    taskListOptions: { filter: "state eq 'completed' and executionInfo/result eq 'failure'" },
  });
  check(
    failed.length === 1 && failed[0].id === "bad" && !failed.odatanextLink,
    `Task_List $filter (${failed.map((t) => t.id)})`,
  );
  const paged = await all(
    await client.task.list("nodejob", { taskListOptions: { maxResults: 4 } }),
    (link) => client.task.listNext(link),
  );
  check(
    paged.items.length === 30 && paged.pages === 8,
    `Task_List paging: ${paged.items.length} tasks in ${paged.pages} pages`,
  );
  const selected = await all(
    await client.task.list("nodejob", { taskListOptions: { select: "id,state", maxResults: 7 } }),
    (link) => client.task.listNext(link),
  );
  check(
    selected.items.length === 30 &&
      selected.items[0].state &&
      selected.items[0].commandLine === undefined,
    "Task_List $select projection over every page",
  );

  // Task_Reactivate: the failed task runs again; a succeeded or active one cannot.
  await client.task.reactivate("nodejob", "bad");
  const again = await client.task.get("nodejob", "bad");
  check(again.state !== "completed", `Task_Reactivate: bad is ${again.state}`);
  check(again.executionInfo.retryCount === 0, "Task_Reactivate resets the retry count");
  await expectError(
    409,
    "TaskSucceeded",
    () => client.task.reactivate("nodejob", "t00"),
    "Task_Reactivate a succeeded task",
  );
  await expectError(
    409,
    "TaskNotCompleted",
    () => client.task.reactivate("nodejob", "bad"),
    "Task_Reactivate an active task",
  );

  // Task_Terminate.
  await client.task.terminate("nodejob", "long");
  const long = await client.task.get("nodejob", "long");
  check(long.state === "completed", "Task_Terminate completes the task");
  check(long.executionInfo.failureInfo.code === "TaskEnded", "Task_Terminate: TaskEnded");
  await expectError(
    409,
    "TaskCompleted",
    () => client.task.terminate("nodejob", "long"),
    "Task_Terminate twice",
  );

  // Job_ListPreparationAndReleaseTaskStatus with paging, a filter and $select.
  const statuses = await all(
    await client.job.listPreparationAndReleaseTaskStatus("nodejob", {
      jobListPreparationAndReleaseTaskStatusOptions: { maxResults: 2 },
    }),
    (link) => client.job.listPreparationAndReleaseTaskStatusNext(link),
  );
  check(
    statuses.items.length >= 25 && statuses.pages >= 13,
    `preparation status on ${statuses.items.length} nodes in ${statuses.pages} pages`,
  );
  const first = statuses.items[0];
  check(first.jobPreparationTaskExecutionInfo.state === "completed", "preparation completed");
  check(first.jobPreparationTaskExecutionInfo.exitCode === 0, "preparation exit code 0");
  const one = await client.job.listPreparationAndReleaseTaskStatus("nodejob", {
    jobListPreparationAndReleaseTaskStatusOptions: {
      filter: `nodeId eq '${first.nodeId}'`,
      select: "nodeId,poolId",
    },
  });
  check(
    one.length === 1 &&
      one[0].nodeId === first.nodeId &&
      one[0].poolId === "nodepool" &&
      one[0].jobPreparationTaskExecutionInfo === undefined,
    "preparation status $filter and $select",
  );
  // The SDK refuses maxResults 1001 itself, before sending; a next link carrying it reaches
  // the service's own range check.
  await expectError(
    400,
    "OutOfRangeQueryParameterValue",
    () =>
      client.job.listPreparationAndReleaseTaskStatusNext(
        `${url}/jobs/nodejob/jobpreparationandreleasetaskstatus?api-version=${API_VERSION}&maxresults=1001`,
      ),
    "preparation status maxresults 1001",
  );

  // Job_Terminate (with If-Match): terminating until the release tasks ran, then completed.
  got = await client.job.get("nodejob");
  await expectError(
    412,
    "ConditionNotMet",
    () =>
      client.job.terminate("nodejob", {
        terminateReason: "node check",
        jobTerminateOptions: { ifMatch: "0x8D000000BAD" },
      }),
    "Job_Terminate If-Match another ETag",
  );
  await client.job.terminate("nodejob", {
    terminateReason: "node check",
    jobTerminateOptions: { ifMatch: got.eTag },
  });
  const terminating = await client.job.get("nodejob");
  check(terminating.state === "terminating", `Job_Terminate: ${terminating.state}`);
  check(terminating.eTag !== got.eTag, "the job's ETag changes with its state");
  await expectError(
    409,
    "JobBeingTerminated",
    () => client.job.terminate("nodejob"),
    "Job_Terminate a terminating job",
  );
  await tick(2); // release tasks take 1 s
  const done = await client.job.get("nodejob");
  check(done.state === "completed", `job completed (${done.state})`);
  check(done.executionInfo.terminateReason === "node check", "terminate reason");
  const released = await all(
    await client.job.listPreparationAndReleaseTaskStatus("nodejob"),
    (link) => client.job.listPreparationAndReleaseTaskStatusNext(link),
  );
  check(
    released.items.every((s) => s.jobReleaseTaskExecutionInfo !== undefined),
    "the release task ran on every node",
  );
  await expectError(
    409,
    "JobCompleted",
    () => client.task.add("nodejob", { id: "late", commandLine: "x" }),
    "Task_Add to a completed job",
  );
  await expectError(
    409,
    "JobCompleted",
    () => client.job.terminate("nodejob", { terminateReason: "again" }),
    "Job_Terminate a completed job",
  );

  // A job without a preparation task has no status list.
  await client.job.add({ id: "plain", poolInfo: { poolId: "nodepool" } });
  await expectError(
    409,
    "JobPreparationTaskNotSpecified",
    () => client.job.listPreparationAndReleaseTaskStatus("plain"),
    "preparation status without a preparation task",
  );

  // The lifecycle operations polybatch's submit, list, output and delete use.
  await client.job.add({
    id: "lifecycle",
    poolInfo: { poolId: "nodepool" },
    metadata: [{ name: "team", value: "render" }],
  });
  // Task_AddCollection: one result per task; a repeated id is TaskExists, per task.
  const speak = envSettings(1, 0).concat([
    { name: "POLYBATCH_STDOUT", value: "hello node sdk\n" },
  ]);
  const added = await client.task.addCollection("lifecycle", [
    { id: "speak", commandLine: "/bin/sh -c 'echo hi'", environmentSettings: speak },
    { id: "quiet", commandLine: "true", environmentSettings: envSettings(1, 0) },
  ]);
  const results = added.value.map((r) => `${r.taskId}:${r.status}`).sort();
  check(
    JSON.stringify(results) === JSON.stringify(["quiet:success", "speak:success"]),
    `Task_AddCollection results (${results})`,
  );
  const twice = await client.task.addCollection("lifecycle", [{ id: "speak", commandLine: "x" }]);
  check(
    twice.value[0].status === "clienterror" && twice.value[0].error.code === "TaskExists",
    "Task_AddCollection: TaskExists per task",
  );
  // Job_Patch: the job completes once its tasks have.
  await client.job.patch("lifecycle", { onAllTasksComplete: "terminatejob" });
  const patched = await client.job.get("lifecycle");
  check(patched.onAllTasksComplete === "terminatejob", "Job_Patch onAllTasksComplete");
  await expectError(
    400,
    "InvalidPropertyValue",
    () => client.job.patch("lifecycle", { priority: 5000 }),
    "Job_Patch priority out of range",
  );
  // Job_List with $filter on state, paged one job per page.
  const active = await all(
    await client.job.list({ jobListOptions: { filter: "state eq 'active'", maxResults: 1 } }),
    (link) => client.job.listNext(link),
  );
  const ids = active.items.map((j) => j.id);
  check(
    JSON.stringify(ids) === JSON.stringify(["lifecycle", "plain"]) && active.pages === 2,
    `Job_List $filter on state, paged (${ids})`,
  );
  const lifecycle = active.items.find((j) => j.id === "lifecycle");
  check(
    lifecycle.metadata.some((m) => m.name === "team" && m.value === "render"),
    "job metadata echoed",
  );
  const everyJob = await client.job.list({ jobListOptions: { select: "id" } });
  check(
    everyJob.map((j) => j.id).join() === "lifecycle,nodejob,plain" &&
      everyJob[0].state === undefined,
    "Job_List $select",
  );
  // ms-rest-js reads no error body of a streamed operation: the code (FileNotFound) is not
  // there to check, only the status and the BatchError's content type.
  await expectError(
    404,
    undefined,
    () => client.file.getFromTask("lifecycle", "speak", "nothing.txt"),
    "File_GetFromTask unknown file",
  ).then((e) =>
    check(
      e.response.headers.get("content-type").startsWith("application/json"),
      "File_GetFromTask error is a JSON BatchError",
    ),
  );
  await tick(3);
  // File_GetFromTask, whole and with ocp-range.
  const whole = await client.file.getFromTask("lifecycle", "speak", "stdout.txt");
  const out = await readAll(whole.readableStreamBody);
  check(out === "hello node sdk\n", `stdout.txt (${JSON.stringify(out)})`);
  const part = await client.file.getFromTask("lifecycle", "speak", "stdout.txt", {
    fileGetFromTaskOptions: { ocpRange: "bytes=6-9" },
  });
  const range = await readAll(part.readableStreamBody);
  check(range === "node", `ocp-range bytes=6-9 (${JSON.stringify(range)})`);
  check(
    (await client.job.get("lifecycle")).state === "completed",
    "the job completed with its tasks",
  );
  // Job_Delete: deleting for the termination time, then gone.
  await client.job.deleteMethod("lifecycle");
  const deleting = await client.job.get("lifecycle");
  check(deleting.state === "deleting", `Job_Delete: ${deleting.state}`);
  await expectError(
    409,
    "JobBeingDeleted",
    () => client.job.deleteMethod("lifecycle"),
    "Job_Delete twice",
  );
  await tick(2);
  await expectError(404, "JobNotFound", () => client.job.get("lifecycle"), "deleted job");

  // Operations the emulator does not serve answer 501 after authentication.
  await expectError(
    501,
    "NotImplemented",
    () => client.job.getTaskCounts("plain"),
    "Job_GetTaskCounts (not served)",
  );

  // Authentication: a wrong key is refused with the service's code.
  const wrongKey = Buffer.from("not the key").toString("base64");
  const wrong = new BatchServiceClient(new BatchSharedKeyCredentials(account, wrongKey), url);
  await expectError(403, "AuthenticationFailed", () => wrong.job.get("plain"), "wrong key");
  const stranger = new BatchServiceClient(new BatchSharedKeyCredentials("nobody", key), url);
  await expectError(403, "AuthenticationFailed", () => stranger.job.get("plain"), "other account");
}

run(main, "all Azure Node SDK checks passed");
