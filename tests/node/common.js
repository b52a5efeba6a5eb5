"use strict";
// Helpers shared by the official-SDK check scripts: checks that stop the run with a clear
// message, the SDK import that explains how to install it, and the emulator's admin API.

/** A failed check: the script prints it and exits 1. */
class CheckFailed extends Error {}

/** Passes when `cond` holds, printing `what`; otherwise stops the run with `what`. */
function check(cond, what) {
  if (!cond) {
    throw new CheckFailed(what);
  }
  console.log("ok  " + what);
}

/** `require(name)`, or exit 3 naming the install command when the package is missing. */
function requireSdk(name) {
  try {
    return require(name);
  } catch (e) {
    if (e && e.code === "MODULE_NOT_FOUND") {
      console.error(
        `${name} is not installed (${e.message.split("\n")[0]}); run: npm ci --prefix tests/node`,
      );
      process.exit(3);
    }
    throw e;
  }
}

/** An environment variable the Rust driver sets, or a usage error. */
function env(name, fallback) {
  const value = process.env[name] || fallback;
  if (!value) {
    throw new CheckFailed(`${name} is not set`);
  }
  return value;
}

/** Moves the emulator's simulation clock forward `seconds` (admin API). */
async function advance(url, seconds) {
  const resp = await fetch(url.replace(/\/$/, "") + "/_polybatch/clock/advance", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ seconds }),
  });
  if (!resp.ok) {
    throw new CheckFailed(`advancing the clock: HTTP ${resp.status} ${await resp.text()}`);
  }
}

/**
 * Runs `main`, printing `marker` on success; a failed check or an unexpected error exits 1
 * with its message.
 */
function run(main, marker) {
  main().then(
    () => {
      console.log(marker);
    },
    (e) => {
      if (e instanceof CheckFailed) {
        console.error("FAIL " + e.message);
      } else {
        console.error("FAIL unexpected error: " + (e && e.stack ? e.stack : e));
        if (e && typeof e === "object") {
          console.error(JSON.stringify(e, Object.getOwnPropertyNames(e), 2));
        }
      }
      process.exitCode = 1;
    },
  );
}

module.exports = { CheckFailed, check, requireSdk, env, advance, run };
