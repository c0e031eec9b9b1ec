// The platform packages, by Node's `process.platform` and `process.arch`. The release workflow
// and packaging/npm/pack.sh build one per entry.
"use strict";

/** `<platform>-<arch>` → the Rust target its binary is built for. */
const TARGETS = {
  "linux-x64": "x86_64-unknown-linux-musl",
  "linux-arm64": "aarch64-unknown-linux-musl",
  "darwin-x64": "x86_64-apple-darwin",
  "darwin-arm64": "aarch64-apple-darwin",
  "win32-x64": "x86_64-pc-windows-msvc",
};

const SUPPORTED = Object.keys(TARGETS);

/** The package holding the binary for this platform and CPU, or null when there is none. */
function platformPackage(platform, arch) {
  const key = `${platform}-${arch}`;
  return Object.hasOwn(TARGETS, key) ? `@tokenplan/${key}` : null;
}

module.exports = { TARGETS, SUPPORTED, platformPackage };
