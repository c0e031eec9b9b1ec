#!/usr/bin/env bash
# The test command: installs the pinned Tinybird SDKs the SDK tests generate projects with
# (package-lock.json, requirements-sdk.txt; safe to run again), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

npm ci --no-audit --no-fund --loglevel=error
python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements-sdk.txt
cargo test "$@"
