// Lays out the two npm packages for one binary, ready for `npm pack`: the launcher `tokenplan`
// and `@tokenplan/<platform>` holding the binary, both at VERSION. The platform is read from the
// binary's own header (ELF, Mach-O or PE), so that a release job can pack binaries built
// elsewhere.
//
// node packaging/npm/stage.js BINARY STAGEDIR VERSION  → prints the two folders, one a line
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const { TARGETS } = require("./tokenplan/lib/platform.js");

/** `<platform>-<arch>` of an executable, from its first bytes. */
function platformOf(file) {
  const head = Buffer.alloc(4096);
  const fd = fs.openSync(file, "r");
  const read = fs.readSync(fd, head, 0, head.length, 0);
  fs.closeSync(fd);
  const bytes = head.subarray(0, read);
  if (bytes.length >= 20 && bytes.readUInt32BE(0) === 0x7f454c46) {
    const little = bytes[5] === 1;
    const machine = little ? bytes.readUInt16LE(18) : bytes.readUInt16BE(18);
    return { 0x3e: "linux-x64", 0xb7: "linux-arm64" }[machine] ?? `linux-machine-${machine}`;
  }
  if (bytes.length >= 8 && bytes.readUInt32LE(0) === 0xfeedfacf) {
    const cpu = bytes.readUInt32LE(4);
    return { 0x01000007: "darwin-x64", 0x0100000c: "darwin-arm64" }[cpu] ?? `darwin-cpu-${cpu}`;
  }
  if (bytes.length >= 64 && bytes.toString("latin1", 0, 2) === "MZ") {
    const pe = bytes.readUInt32LE(0x3c);
    if (pe + 6 <= bytes.length && bytes.toString("latin1", pe, pe + 4) === "PE\0\0") {
      const machine = bytes.readUInt16LE(pe + 4);
      return { 0x8664: "win32-x64", 0xaa64: "win32-arm64" }[machine] ?? `win32-machine-${machine}`;
    }
  }
  throw new Error(`${file} is not an ELF, 64-bit Mach-O or PE executable`);
}

/** In a release job, the repository the packages are built from: npm's provenance checks it. */
function withRepository(manifest) {
  const repository = process.env.GITHUB_REPOSITORY;
  if (repository) {
    manifest.repository = { type: "git", url: `git+https://github.com/${repository}.git` };
  }
  return manifest;
}

function writeJson(file, value) {
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

function main([binary, stage, version]) {
  if (!binary || !stage || !version) {
    throw new Error("usage: node stage.js BINARY STAGEDIR VERSION");
  }
  const platform = platformOf(binary);
  if (!Object.hasOwn(TARGETS, platform)) {
    throw new Error(
      `${binary} is a ${platform} binary; packages exist for ${Object.keys(TARGETS).join(", ")}`,
    );
  }
  const [os, cpu] = platform.split("-");

  const launcher = path.join(stage, "tokenplan");
  fs.rmSync(launcher, { recursive: true, force: true });
  fs.cpSync(path.join(__dirname, "tokenplan"), launcher, { recursive: true });
  const manifest = JSON.parse(fs.readFileSync(path.join(launcher, "package.json"), "utf8"));
  manifest.version = version;
  for (const name of Object.keys(manifest.optionalDependencies)) {
    manifest.optionalDependencies[name] = version;
  }
  writeJson(path.join(launcher, "package.json"), withRepository(manifest));
  fs.chmodSync(path.join(launcher, "bin", "tokenplan.js"), 0o755);

  const holder = path.join(stage, platform);
  fs.rmSync(holder, { recursive: true, force: true });
  fs.mkdirSync(path.join(holder, "bin"), { recursive: true });
  const fill = (text) =>
    text.replaceAll("PLATFORM", platform).replaceAll('"OS"', `"${os}"`).replaceAll('"CPU"', `"${cpu}"`);
  const template = path.join(__dirname, "platform");
  const platformManifest = JSON.parse(fill(fs.readFileSync(path.join(template, "package.json"), "utf8")));
  platformManifest.version = version;
  writeJson(path.join(holder, "package.json"), withRepository(platformManifest));
  fs.writeFileSync(
    path.join(holder, "README.md"),
    fill(fs.readFileSync(path.join(template, "README.md"), "utf8")),
  );
  const exe = os === "win32" ? "tokenplan.exe" : "tokenplan";
  fs.copyFileSync(binary, path.join(holder, "bin", exe));
  fs.chmodSync(path.join(holder, "bin", exe), 0o755);

  process.stdout.write(`${launcher}\n${holder}\n`);
}

try {
  main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`stage.js: ${error.message}\n`);
  process.exit(1);
}
