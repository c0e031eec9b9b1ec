#!/usr/bin/env bash
# The test command: installs the pinned Tinybird SDKs the SDK tests generate projects with
# (package-lock.json, requirements-sdk.txt) and the Tinybird CLI the Tinybird Local tests run
# (requirements-tb.txt, in .venv-tb; safe to run again), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

npm ci --no-audit --no-fund --loglevel=error
python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements-sdk.txt
python3 -m venv .venv-tb
.venv-tb/bin/pip install -q --disable-pip-version-check -r requirements-tb.txt
cargo test "$@"
