#!/usr/bin/env node
"use strict";
// Drives the polybatch emulator's Tencent Cloud Batch front end with the official Node.js SDK
// (tencentcloud-sdk-nodejs, batch v20170312) and checks every job action it serves.
//
// Usage: POLYBATCH_TENCENT_URL=http://127.0.0.1:PORT node tests/node/tencent_sdk_check.js
// Credentials: TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY (default: the emulator's
// development keys); region TENCENTCLOUD_REGION (default ap-guangzhou). Simulated time is moved
// with the emulator's admin API (POST /_polybatch/clock/advance), so the run takes no waiting.
//
// How the SDK is pointed at the emulator: it takes the credential scope's service from the
// endpoint's first label (`endpoint.split(".")[0]`), so the endpoint must start with `batch.`:
// `batch.localhost:PORT`. Names under `.localhost` are loopback (RFC 6761), but glibc does not
// resolve them without nss-myhostname, so the client gets an http.Agent whose lookup answers
// 127.0.0.1 for them (and refuses every other name, so nothing leaves loopback). The SDK then
// sends `Host: batch.localhost:PORT` and signs `host:batch.localhost` (URL.hostname): the
// emulator accepts the signed host without the port it listens on.
//
// Exit status: 0 all checks passed, 1 a check failed, 3 the SDK is not installed.

const http = require("http");
const { CheckFailed, check, requireSdk, env, advance, run } = require("./common");

const tencentcloud = requireSdk("tencentcloud-sdk-nodejs");
const { sdkVersion } = requireSdk("tencentcloud-sdk-nodejs/tencentcloud/common/sdk_version");
const BatchClient = tencentcloud.batch.v20170312.Client;

const DEFAULT_SECRET_ID = "AKIDpolybatchEMULATORdevelopment00000";
const DEFAULT_SECRET_KEY = "polybatchEmulatorDevelopmentKey00";

/** Resolves `localhost` and `*.localhost` to 127.0.0.1; any other name is not found. */
function loopbackLookup(hostname, options, callback) {
  if (typeof options === "function") {
    callback = options;
    options = {};
  }
  const name = hostname.toLowerCase().replace(/\.$/, "");
  if (name !== "localhost" && !name.endsWith(".localhost")) {
    const err = new Error(`getaddrinfo ENOTFOUND ${hostname} (only *.localhost is resolved)`);
    err.code = "ENOTFOUND";
    return process.nextTick(callback, err);
  }
  if (options && options.all) {
    return process.nextTick(callback, null, [{ address: "127.0.0.1", family: 4 }]);
  }
  return process.nextTick(callback, null, "127.0.0.1", 4);
}

const agent = new http.Agent({ keepAlive: true, lookup: loopbackLookup });

function makeClient(endpoint, secretId, secretKey, region) {
  return new BatchClient({
    credential: { secretId, secretKey },
    region,
    profile: {
      httpProfile: { endpoint, protocol: "http://", reqTimeout: 10, agent },
    },
  });
}

async function expectError(code, fn, what) {
  try {
    await fn();
  } catch (e) {
    if (e instanceof CheckFailed) throw e;
    check(
      e.code === code && Boolean(e.requestId),
      `${what} -> ${code} (got ${e.code}: ${e.message})`,
    );
    return e;
  }
  throw new CheckFailed(`${what}: expected ${code}, the call succeeded`);
}

function task(name, exitCode, runSeconds, instances = 1) {
  return {
    TaskName: name,
    TaskInstanceNum: instances,
    Application: { DeliveryForm: "LOCAL", Command: "echo polybatch" },
    ComputeEnv: {
      EnvType: "MANAGED",
      EnvData: { InstanceType: "SA5.MEDIUM4", ImageId: "img-bd78fy2t" },
    },
    EnvVars: [
      { Name: "POLYBATCH_EXIT_CODE", Value: String(exitCode) },
      { Name: "POLYBATCH_RUN_SECONDS", Value: String(runSeconds) },
    ],
  };
}

function job(name, tasks, zone, token) {
  const params = { Placement: { Zone: zone }, Job: { JobName: name, Priority: 1, Tasks: tasks } };
  if (token) params.ClientToken = token;
  return params;
}

async function main() {
  const url = env("POLYBATCH_TENCENT_URL");
  const secretId = env("TENCENTCLOUD_SECRET_ID", DEFAULT_SECRET_ID);
  const secretKey = env("TENCENTCLOUD_SECRET_KEY", DEFAULT_SECRET_KEY);
  const region = env("TENCENTCLOUD_REGION", "ap-guangzhou");
  const port = new URL(url).port;
  check(Boolean(port), `the emulator listens on a non-default port (${url})`);
  console.log(`tencentcloud-sdk-nodejs ${sdkVersion}`);
  const endpoint = `batch.localhost:${port}`;
  const client = makeClient(endpoint, secretId, secretKey, region);
  const zone = region + "-2";
  const tick = (s) => advance(url, s);

  const submit = async (params) => (await client.SubmitJob(params)).JobId;
  const describe = (JobId) => client.DescribeJob({ JobId });
  const describeTask = (JobId, TaskName, extra = {}) =>
    client.DescribeTask({ JobId, TaskName, ...extra });

  // SubmitJob, idempotent with a ClientToken; DescribeJob through the timeline.
  const okId = await submit(job("sdk-ok", [task("A", 0, 5)], zone, "node-token-1"));
  check(/^job-[0-9a-z]{8}$/.test(okId), `SubmitJob returns a job id (${okId})`);
  const again = await submit(job("sdk-ok", [task("A", 0, 5)], zone, "node-token-1"));
  check(again === okId, "SubmitJob with the same ClientToken returns the same job");
  let d = await describe(okId);
  check(d.JobState === "SUBMITTED", `DescribeJob: fresh job is SUBMITTED (${d.JobState})`);
  check(d.RequestId && d.JobName === "sdk-ok" && d.Zone === zone, "DescribeJob fields");
  await expectError(
    "UnsupportedOperation",
    () => client.TerminateJob({ JobId: okId }),
    "TerminateJob on a SUBMITTED job",
  );
  await tick(5);
  check((await describe(okId)).JobState === "RUNNING", "DescribeJob: RUNNING after 5 s");
  await tick(5);
  d = await describe(okId);
  check(d.JobState === "SUCCEED" && d.EndTime, "DescribeJob: SUCCEED after 10 s");
  check(d.TaskSet[0].TaskName === "A" && d.TaskSet[0].TaskState === "SUCCEED", "TaskSet");
  check(
    d.TaskMetrics.SucceedCount === 1 && d.TaskInstanceMetrics.SucceedCount === 1,
    "TaskMetrics and TaskInstanceMetrics",
  );
  await client.TerminateJob({ JobId: okId });
  check(
    (await describe(okId)).JobState === "SUCCEED",
    "TerminateJob on a SUCCEED job has no effect",
  );

  // DescribeTask.
  let t = await describeTask(okId, "A");
  let inst = t.TaskInstanceSet[0];
  check(
    t.TaskState === "SUCCEED" && t.TaskInstanceTotalCount === 1 && inst.ExitCode === 0,
    "DescribeTask: instance succeeded with exit code 0",
  );
  check(inst.LaunchTime && inst.RunningTime && inst.EndTime, "DescribeTask: instance times");
  await expectError(
    "ResourceNotFound.Task",
    () => describeTask(okId, "nope"),
    "DescribeTask unknown task",
  );

  // A failing job with two instances; RetryJobs.
  const badId = await submit(job("sdk-bad", [task("A", 7, 1, 2)], zone));
  await tick(10);
  d = await describe(badId);
  check(d.JobState === "FAILED" && d.StateReason, "failing job is FAILED with a reason");
  t = await describeTask(badId, "A", { Offset: 1, Limit: 1 });
  check(
    t.TaskInstanceTotalCount === 2 &&
      t.TaskInstanceSet.length === 1 &&
      t.TaskInstanceSet[0].TaskInstanceIndex === 1 &&
      t.TaskInstanceSet[0].ExitCode === 7,
    "DescribeTask paging and exit code 7",
  );
  t = await describeTask(badId, "A", {
    Filters: [{ Name: "task-instance-state", Values: ["FAILED"] }],
  });
  check(t.TaskInstanceTotalCount === 2, "DescribeTask task-instance-state filter");
  await expectError(
    "UnsupportedOperation",
    () => client.RetryJobs({ JobIds: [badId, okId] }),
    "RetryJobs with a SUCCEED job",
  );
  check((await describe(badId)).JobState === "FAILED", "RetryJobs refused: nothing retried");
  await client.RetryJobs({ JobIds: [badId] });
  check((await describe(badId)).JobState === "PENDING", "RetryJobs reruns the failed job");
  await tick(10);
  check((await describe(badId)).JobState === "FAILED", "retried job fails again");

  // DescribeJobs: filters and paging.
  let r = await client.DescribeJobs({ Filters: [{ Name: "job-id", Values: [okId] }] });
  check(r.TotalCount === 1 && r.JobSet[0].JobId === okId, "DescribeJobs job-id filter");
  r = await client.DescribeJobs({ Filters: [{ Name: "job-state", Values: ["FAILED"] }] });
  check(r.TotalCount === 1 && r.JobSet[0].JobId === badId, "DescribeJobs job-state filter");
  r = await client.DescribeJobs({ Filters: [{ Name: "job-name", Values: ["sdk-ok"] }] });
  check(r.TotalCount === 1 && r.JobSet[0].Placement.Zone === zone, "DescribeJobs job-name filter");
  r = await client.DescribeJobs({ Offset: 1, Limit: 1 });
  check(
    r.TotalCount === 2 && r.JobSet.length === 1 && r.JobSet[0].JobId === okId,
    "DescribeJobs paging (newest first)",
  );

  // TerminateTaskInstance and TerminateJob on a long job.
  const longId = await submit(job("sdk-long", [task("A", 0, 100, 2)], zone));
  await tick(6);
  check((await describe(longId)).JobState === "RUNNING", "long job RUNNING");
  await client.TerminateTaskInstance({ JobId: longId, TaskName: "A", TaskInstanceIndex: 0 });
  await tick(2);
  t = await describeTask(longId, "A");
  check(
    t.TaskInstanceSet[0].TaskInstanceState === "FAILED" &&
      t.TaskInstanceSet[1].TaskInstanceState === "RUNNING",
    "TerminateTaskInstance fails only that instance",
  );
  await expectError(
    "ResourceNotFound.TaskInstance",
    () => client.TerminateTaskInstance({ JobId: longId, TaskName: "A", TaskInstanceIndex: 9 }),
    "TerminateTaskInstance unknown index",
  );
  await expectError(
    "ResourceInUse.Job",
    () => client.DeleteJob({ JobId: longId }),
    "DeleteJob on a RUNNING job",
  );
  await client.TerminateJob({ JobId: longId });
  check(
    (await describe(longId)).NextAction === "TERMINATING",
    "TerminateJob: NextAction TERMINATING",
  );
  await tick(2);
  check((await describe(longId)).JobState === "FAILED", "TerminateJob: FAILED 2 s later");

  // The actions polybatch's bulk status, export and output use.
  const talker = task("T", 0, 1);
  talker.EnvVars.push({ Name: "POLYBATCH_STDOUT", Value: "hello node sdk\n" });
  const tagged = job("sdk-tagged", [talker], zone);
  tagged.Job.Tags = [{ Key: "team", Value: "render" }];
  const taggedId = await submit(tagged);
  const many = await client.DescribeJobs({ JobIds: [taggedId, longId], Limit: 100 });
  check(
    JSON.stringify(many.JobSet.map((j) => j.JobId).sort()) ===
      JSON.stringify([taggedId, longId].sort()),
    "DescribeJobs JobIds",
  );
  const byTag = await client.DescribeJobs({ Filters: [{ Name: "tag:team", Values: ["render"] }] });
  check(
    byTag.JobSet.length === 1 && byTag.JobSet[0].JobId === taggedId,
    "DescribeJobs tag:team filter",
  );
  check(byTag.JobSet[0].Tags[0].Value === "render", "JobView carries the tags");
  await expectError(
    "InvalidParameter.InvalidParameterCombination",
    () =>
      client.DescribeJobs({
        JobIds: [taggedId],
        Filters: [{ Name: "job-name", Values: ["x"] }],
      }),
    "DescribeJobs with JobIds and Filters",
  );
  const info = await client.DescribeJobSubmitInfo({ JobId: taggedId });
  check(info.JobName === "sdk-tagged" && info.Tasks[0].TaskName === "T", "DescribeJobSubmitInfo");
  check(info.Tags[0].Key === "team", "DescribeJobSubmitInfo tags");
  await tick(10);
  const logs = await client.DescribeTaskLogs({
    JobId: taggedId,
    TaskName: "T",
    TaskInstanceIndexes: [0],
  });
  check(
    logs.TotalCount === 1 &&
      Buffer.from(logs.TaskInstanceLogSet[0].StdoutLog, "base64").toString() ===
        "hello node sdk\n",
    "DescribeTaskLogs stdout",
  );
  await expectError(
    "ResourceNotFound.TaskInstance",
    () => client.DescribeTaskLogs({ JobId: taggedId, TaskName: "T", TaskInstanceIndexes: [5] }),
    "DescribeTaskLogs unknown instance",
  );
  await expectError(
    "InvalidParameterValue.LimitExceeded",
    () => client.DescribeTaskLogs({ JobId: taggedId, TaskName: "T", Limit: 11 }),
    "DescribeTaskLogs Limit 11",
  );

  // DeleteJob.
  await client.DeleteJob({ JobId: longId });
  await expectError("ResourceNotFound.Job", () => describe(longId), "DescribeJob after DeleteJob");
  await expectError(
    "InvalidParameter.JobIdMalformed",
    () => describe("job-NOPE"),
    "DescribeJob malformed job id",
  );

  // An action the emulator does not serve.
  await expectError(
    "InvalidAction",
    () => client.DescribeComputeEnvs({}),
    "DescribeComputeEnvs (not served)",
  );

  // Authentication failures come back as SDK exceptions too.
  const wrong = makeClient(endpoint, secretId, secretKey + "x", region);
  await expectError(
    "AuthFailure.SignatureFailure",
    () => wrong.DescribeJobs({}),
    "wrong SecretKey",
  );
  const unknown = makeClient(endpoint, "AKIDnobody", secretKey, region);
  await expectError(
    "AuthFailure.SecretIdNotFound",
    () => unknown.DescribeJobs({}),
    "unknown SecretId",
  );
  // Pointed at 127.0.0.1:PORT, the SDK signs for the service "127": refused, as the service
  // refuses any scope but batch.
  const numeric = makeClient(new URL(url).host, secretId, secretKey, region);
  const e = await expectError(
    "AuthFailure.SignatureFailure",
    () => numeric.DescribeJobs({}),
    "endpoint 127.0.0.1:PORT (credential scope service 127)",
  );
  check(/service is not batch/.test(e.message), `refused for its scope (${e.message})`);
}

run(main, "all Tencent Node SDK checks passed");
