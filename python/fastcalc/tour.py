"""The tour: the course's worked examples, computed by fastcalc and printed as tables."""
from __future__ import annotations

from typing import Callable, List, Optional, TextIO

import numpy as np

import fastcalc as fc


def _table(stream: TextIO, head: List[str], rows: List[List[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths))
    print(line, file=stream)
    print("  ".join("-" * w for w in widths), file=stream)
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)), file=stream)
    print(file=stream)


def _section(stream: TextIO, title: str) -> None:
    print(f"\n== {title} ==\n", file=stream)


def numerical_differentiation(stream: TextIO) -> None:
    _section(stream, "Numerical differentiation: f(x) = x**2 at x = 3 (exact f'(3) = 6)")
    f: Callable = lambda x: x**2  # noqa: E731
    rows = []
    for h in [1e-2, 1e-3, 1e-4, 1e-5, 1e-15, 1e-16, float(np.sqrt(fc.eps))]:
        fwd = fc.derivative(f, 3.0, method="forward", h=h)
        cen = fc.derivative(f, 3.0, method="central", h=h)
        rows.append([f"{h:.3g}", repr(fwd), repr(cen)])
    _table(stream, ["h", "forward (f(x+h)-f(x))/h", "central (f(x+h)-f(x-h))/(2h)"], rows)
    print(f"machine epsilon: {fc.eps!r}; 1 + 1e-16 == 1: {1 + 1e-16 == 1}; "
          f"1 + eps = {1 + fc.eps!r}", file=stream)
    print(f"optimal steps at x = 3: forward {fc.optimal_step(3.0, 'forward')!r}, "
          f"central {fc.optimal_step(3.0, 'central')!r}", file=stream)
    value, info = fc.derivative(f, 3.0, full_output=True)
    print(f"automatic step with Richardson extrapolation: {value!r} "
          f"(error estimate {info.error:.1e}, {info.nfev} evaluations)", file=stream)


def run(out: Optional[str] = None, stream: Optional[TextIO] = None) -> int:
    import sys

    stream = stream or sys.stdout
    print(f"fastcalc {fc.__version__}: a tour of calculus for machine learning", file=stream)
    numerical_differentiation(stream)
    return 0
