#!/usr/bin/env bash
# The test suite on an AddressSanitizer + UndefinedBehaviorSanitizer build of the extension.
#   scripts/sanitize.sh [pytest arguments]      (default: the whole suite)
# Builds in build/asan (separate from the normal build), copies nothing into the source tree:
# the sanitized modules are put first on PYTHONPATH through a temporary package overlay.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/asan
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFASTCALC_SANITIZE=ON >/dev/null
cmake --build "$build" >/dev/null
overlay=$(mktemp -d)
trap 'rm -rf "$overlay"' EXIT
cp -r python/fastcalc "$overlay/fastcalc"
rm -f "$overlay"/fastcalc/*.so
cp "$build"/_core*.so "$build"/ccallbacks*.so "$overlay/fastcalc/"
export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
# leaks: CPython's own allocations at exit are not ours; stop at the first UB report
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:strict_init_order=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export PYTHONPATH="$overlay"
# the JIT's kernels call the core's functions: they run under the sanitizers' allocator too
python -m pytest -q -p no:cacheprovider "${@:-tests}"
