// The binary search of src/binary.ts, compiled to out/ (`npm test` compiles first).
"use strict";

const assert = require("node:assert/strict");
const { test } = require("node:test");

const { findBinary } = require("../out/binary.js");

const files = (...paths) => (file) => paths.includes(file);
const linux = { platform: "linux", arch: "x64", workspaceFolders: ["/work/app"], home: "/home/me" };

test("the setting wins, relative to the first workspace folder", () => {
  const found = findBinary({ ...linux, setting: "bin/tokenplan", envPath: "/usr/bin" }, files("/usr/bin/tokenplan"));
  assert.deepEqual(found, { path: "/work/app/bin/tokenplan", source: "setting" });
  assert.equal(findBinary({ ...linux, setting: "~/tp" }, files()).path, "/home/me/tp");
});

test("then PATH, in order, skipping empty entries", () => {
  const found = findBinary(
    { ...linux, envPath: ":/opt/a:/usr/bin" },
    files("/usr/bin/tokenplan", "tokenplan", "/work/app/node_modules/@tokenplan/linux-x64/bin/tokenplan"),
  );
  assert.deepEqual(found, { path: "/usr/bin/tokenplan", source: "PATH" });
});

test("then the npm package's binary for this platform", () => {
  const found = findBinary(
    { ...linux, arch: "arm64", envPath: "/usr/bin", workspaceFolders: ["/a", "/b"] },
    files("/b/node_modules/@tokenplan/linux-arm64/bin/tokenplan"),
  );
  assert.deepEqual(found, { path: "/b/node_modules/@tokenplan/linux-arm64/bin/tokenplan", source: "npm" });
});

test("windows looks for tokenplan.exe with its own separators", () => {
  const where = { platform: "win32", arch: "x64", workspaceFolders: ["C:\\app"], envPath: "C:\\tools;C:\\bin" };
  assert.deepEqual(findBinary(where, files("C:\\bin\\tokenplan.exe")), { path: "C:\\bin\\tokenplan.exe", source: "PATH" });
  assert.deepEqual(
    findBinary({ ...where, envPath: "" }, files("C:\\app\\node_modules\\@tokenplan\\win32-x64\\bin\\tokenplan.exe")),
    { path: "C:\\app\\node_modules\\@tokenplan\\win32-x64\\bin\\tokenplan.exe", source: "npm" },
  );
});

test("nothing found is undefined", () => {
  assert.equal(findBinary({ ...linux, envPath: "/usr/bin" }, files()), undefined);
  assert.equal(findBinary({ ...linux, platform: "freebsd" }, files("/work/app/node_modules/@tokenplan/freebsd-x64/bin/tokenplan")), undefined);
});
