"""compare.py rows for fitting: fastcalc.fit (Levenberg-Marquardt; on an expression's exact
Jacobian in C++, or on a callable) against scipy.optimize.curve_fit (MINPACK's LM), one thread.
"error": the largest relative error of the parameters against the least-squares minimum
(Gauss-Newton from curve_fit's answer until it stops moving)."""
from __future__ import annotations

from typing import List

import numpy as np

from _timing import Row, best_time

import fastcalc as fc


def func(x, a, b, c):  # curve_fit's documentation example
    return a * np.exp(-b * x) + c


def _minimum(x, y, p):
    for _ in range(50):
        a, b, c = p
        e = np.exp(-b * x)
        J = np.column_stack([e, -a * x * e, np.ones_like(x)])
        p = p + np.linalg.lstsq(J, y - func(x, *p), rcond=None)[0]
    return p


def rows(quick: bool) -> List[Row]:
    from scipy.optimize import curve_fit

    out: List[Row] = []
    model = fc.expr("a*exp(-b*x) + c")
    for n in ((50, 10_000) if quick else (50, 1_000_000)):
        x = np.linspace(0, 4, n)
        y = func(x, 2.5, 1.3, 0.5) + 0.2 * np.random.default_rng(0).normal(size=n)
        best = _minimum(x, y, curve_fit(func, x, y)[0])
        task = f"fit a*exp(-b*x) + c to {n:,} points (curve_fit's example), defaults"

        def err(p):
            return float(np.max(np.abs(np.asarray(p) / best - 1)))

        cases = [("fastcalc.fit (Expr: exact Jacobian, C++)", lambda: fc.fit(model, x, y, ["a", "b", "c"]).x),
                 ("fastcalc.fit (NumPy function)", lambda: fc.fit(func, x, y).x),
                 ("scipy.optimize.curve_fit", lambda: curve_fit(func, x, y)[0])]
        for who, fn in cases:
            out.append(Row(task, who, best_time(fn, repeat=5, budget=2.0), err(fn())))
        out[-3].note = f"{fc.fit(model, x, y, ['a', 'b', 'c']).nit} iterations"
    return out


SECTIONS = [("Fitting a model to data", rows)]
