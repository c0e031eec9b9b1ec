#!/usr/bin/env bash
# Packs the npm launcher `tokenplan` and the platform package of BINARY (found from the binary's
# header) as tarballs into OUTDIR, at Cargo.toml's version (or $TOKENPLAN_VERSION).
#
#   packaging/npm/pack.sh target/release/tokenplan dist/npm
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 BINARY OUTDIR" >&2
  exit 2
fi
binary=$1
outdir=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# The first `version = "…"` of Cargo.toml is the package's.
version=${TOKENPLAN_VERSION:-$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)}
if [[ -z $version ]]; then
  echo "$0: no version in Cargo.toml" >&2
  exit 1
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

node "$here/stage.js" "$binary" "$stage" "$version" | while read -r package; do
  (cd "$package" && npm pack --silent --pack-destination "$outdir" >/dev/null)
done
ls "$outdir"/*.tgz
