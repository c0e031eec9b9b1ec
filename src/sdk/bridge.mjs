// tokenplan's bridge to the Tinybird TypeScript SDK (@tinybirdco/sdk), run as
// `node --input-type=module -e <this> -- <project folder>` in the project folder, as tb 5.0.3 runs
// its own (tinybird/tb/modules/ts_project.py). It prints one JSON line on stdout: the result of
// the SDK's `runGenerate({ cwd })`, or `{ "tokenplan_sdk_missing": ... }` when the SDK cannot be
// imported.
const cwd = process.argv[1];

// Definitions may log while they load; stdout carries only the result.
for (const level of ["log", "info", "debug"]) {
  console[level] = (...args) => console.error(...args);
}

function emit(value) {
  // Exit once written: a definition may leave a timer or socket open that would keep Node alive.
  process.stdout.write(JSON.stringify(value) + "\n", () => process.exit(0));
}

// The places tb imports the generator from, in its order: an SDK checkout named by TB_SDK_PATH,
// then the package as the project folder resolves it (node_modules here or in a parent).
const candidates = [];
const sdkPath = process.env.TB_SDK_PATH;
if (sdkPath) {
  candidates.push(`file://${sdkPath.replace(/\/$/, "")}/dist/cli/commands/generate.js`);
}
candidates.push("@tinybirdco/sdk/cli/commands/generate");
candidates.push("@tinybirdco/sdk/dist/cli/commands/generate.js");

let runGenerate = null;
const tried = [];
for (const specifier of candidates) {
  try {
    const module = await import(specifier);
    if (typeof module.runGenerate === "function") {
      runGenerate = module.runGenerate;
      break;
    }
    tried.push(`${specifier}: no runGenerate export`);
  } catch (error) {
    tried.push(`${specifier}: ${error && error.message ? error.message : String(error)}`);
  }
}

if (!runGenerate) {
  emit({ tokenplan_sdk_missing: tried.join(" | ") });
} else {
  try {
    emit(await runGenerate({ cwd }));
  } catch (error) {
    // runGenerate reports its own failures; this is for one it did not catch.
    emit({ success: false, error: error && error.message ? error.message : String(error) });
  }
}
