#!/usr/bin/env bash
# Install a built wheel into a fresh virtual environment whose PATH has no C++ compiler, then run
# `fastcalc tour` and README's examples with it, the way a user without a toolchain would.
#   scripts/test_wheel.sh [WHEEL]       (default: the newest dist/*.whl)
# Prints the install time. PyPI (or a pip cache) provides the dependencies (numpy, matplotlib).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
wheel="${1:-$(ls -t "$repo"/dist/*.whl | head -n 1)}"
wheel="$(cd "$(dirname "$wheel")" && pwd)/$(basename "$wheel")"
python="$(command -v python3)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$python" -m venv "$work/venv"
# A PATH with the few tools this script uses and no compiler (c++, g++, gcc, cc, clang).
mkdir "$work/bin"
for tool in bash sh env ls cat mkdir rm grep wc; do ln -s "$(command -v "$tool")" "$work/bin/$tool"; done
export PATH="$work/venv/bin:$work/bin"
unset CC CXX CPATH
for compiler in c++ g++ gcc cc clang clang++; do
  if command -v "$compiler" > /dev/null 2>&1; then echo "test_wheel: $compiler is still on PATH" >&2; exit 1; fi
done
cd "$work"  # away from the source tree: only the installed wheel can be imported

python -m pip install --quiet --upgrade pip > /dev/null
start="$(python -c 'import time; print(time.time())')"
python -m pip install --quiet "$wheel[plot]"
python -c "import time, sys; print(f'installed {sys.argv[1].rsplit(\"/\", 1)[-1]} [plot] in {time.time() - float(sys.argv[2]):.1f} s')" "$wheel" "$start"
python -m pip install --quiet "$wheel[dask]" scipy  # README's Dask and scipy examples need them (not timed)

python - <<'PY'
import shutil, fastcalc, fastcalc._core
assert not any(shutil.which(c) for c in ("c++", "g++", "gcc", "cc")), "a compiler is reachable"
assert "site-packages" in fastcalc.__file__, fastcalc.__file__
print(f"fastcalc {fastcalc.__version__} from {fastcalc.__file__}")
PY
FASTCALC_CACHE="$work/cache" fastcalc tour --no-progress > "$work/tour.txt"
grep -q "11 figures written to $work/cache/tour" "$work/tour.txt" || { cat "$work/tour.txt"; exit 1; }
echo "fastcalc tour: $(grep -c . "$work/tour.txt") lines, $(ls "$work/cache/tour" | wc -l) figures"
python "$repo/scripts/readme_examples.py" "$repo/README.md"
echo "test_wheel: ok"
