#!/usr/bin/env node
// Runs the tokenplan binary of this platform's package (`@tokenplan/<os>-<cpu>`, an optional
// dependency npm installs only where its `os` and `cpu` match), passing arguments, standard
// streams, the exit code and signals through.
"use strict";

const { spawn } = require("node:child_process");
const path = require("node:path");

const { platformPackage, SUPPORTED } = require("../lib/platform.js");

function binaryPath() {
  // For testing a build, and for platforms without a package.
  if (process.env.TOKENPLAN_BINARY) return process.env.TOKENPLAN_BINARY;
  const key = `${process.platform}-${process.arch}`;
  const name = platformPackage(process.platform, process.arch);
  if (!name) {
    fail(
      `tokenplan has no prebuilt binary for ${key} (there are: ${SUPPORTED.join(", ")}).\n` +
        "Build it with `cargo install --locked --git https://github.com/your-org/tokenplan`, then set " +
        "TOKENPLAN_BINARY to its path.",
    );
  }
  const exe = process.platform === "win32" ? "tokenplan.exe" : "tokenplan";
  try {
    return path.join(path.dirname(require.resolve(`${name}/package.json`)), "bin", exe);
  } catch {
    fail(
      `the package ${name}, which holds tokenplan's binary for ${key}, is not installed.\n` +
        "npm skips it when optional dependencies are left out (--omit=optional, --no-optional) " +
        "or when the lockfile was made on another platform: install again with optional " +
        `dependencies, or add ${name} yourself.`,
    );
  }
}

function fail(message) {
  process.stderr.write(`tokenplan: ${message}\n`);
  process.exit(1);
}

const child = spawn(binaryPath(), process.argv.slice(2), { stdio: "inherit" });
// A signal sent to this process (a CI runner cancelling the job) must reach tokenplan, which
// may hold the workspace's lock; one from the terminal reaches both, and a second is harmless.
// Windows has only SIGINT of these.
const forwarded =
  process.platform === "win32" ? ["SIGINT"] : ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];
for (const signal of forwarded) {
  process.on(signal, () => child.kill(signal));
}
child.on("error", (error) => fail(`cannot run ${error.path ?? "the binary"}: ${error.message}`));
child.on("exit", (code, signal) => {
  if (signal) {
    // Die of the same signal, so that the caller sees what tokenplan saw.
    for (const s of forwarded) process.removeAllListeners(s);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
