"""Run README's Python examples (every ```python block, in order, in one namespace) against the
installed fastcalc, with the few names the README leaves to the reader defined first.

    python scripts/readme_examples.py [README.md]

Exits non-zero, naming the block and line, when an example raises. tests/test_docs.py runs it
in the test suite; scripts/test_wheel.sh against an installed wheel.
"""
from __future__ import annotations

import re
import sys
import traceback
from pathlib import Path

# The README's placeholders: a function batched over rows and points for it, arrays of points,
# starts for descent, data for fit.
PRELUDE = '''
import math
import numpy as np
import fastcalc as fc
rng = np.random.default_rng(0)
f = lambda P: np.sum(np.asarray(P)**2, axis=-1)
F = lambda P: np.stack([P[:, 0] * P[:, 1], np.sin(P[:, 0])], axis=-1)
x = rng.uniform(-1, 1, size=(4, 3))
xs, ys = rng.uniform(-1, 1, 50), rng.uniform(-1, 1, 50)
X = rng.uniform(-1, 1, size=(50, 2))
p = np.array([0.5, 0.2])
X0 = rng.uniform(-2, 2, size=(20, 2))
t = np.linspace(0, 2, 40)
y = 2.0 * np.exp(-1.5 * t) + 0.5
xdata = np.linspace(0, 4, 50)
ydata = 2.5 * np.exp(-1.3 * xdata) + 0.5 + 0.2 * rng.normal(size=xdata.size)
'''


def blocks(text: str):
    for match in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M):
        line = text.count("\n", 0, match.start()) + 2
        yield line, match.group(1)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "README.md"
    namespace: dict = {}
    exec(compile(PRELUDE, "<prelude>", "exec"), namespace)
    count = 0
    for line, code in blocks(path.read_text(encoding="utf-8")):
        try:
            exec(compile("\n" * (line - 1) + code, str(path), "exec"), namespace)
        except Exception:
            traceback.print_exc()
            print(f"README example failed: the block at {path}:{line}", file=sys.stderr)
            return 1
        count += 1
    if count == 0:
        print(f"no ```python blocks in {path}", file=sys.stderr)
        return 1
    print(f"{count} README example blocks ran")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
