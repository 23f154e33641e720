"""compare.py rows for descent: 10,000 starts x 1,000 gd steps on Rosenbrock and Himmelblau, one
thread: fastcalc with default arguments (native code once the cost rule says it pays; the
interpreter, jit=False) against the same loop in NumPy and JAX."""
from __future__ import annotations

from typing import List

import numpy as np

from _timing import Row, best_time
from descent_loops import PROBLEMS, jax_gd, numpy_gd

import fastcalc as fc


def rows(quick: bool) -> List[Row]:
    k, steps = (1_000, 100) if quick else (10_000, 1_000)
    X0 = np.random.default_rng(0).uniform(-2, 2, (k, 2))
    out: List[Row] = []
    for name, (text, lr) in PROBLEMS.items():
        task = f"gd on {name} (lr {lr:g}), {k:,} starts x {steps:,} steps"
        f = fc.expr(text)
        ref = numpy_gd(name, X0, lr, steps)
        ok = np.all(np.isfinite(ref), 1)

        def err(X):
            return float(np.max(np.abs(np.asarray(X)[ok] - ref[ok])))

        cases = [("fastcalc (Expr, default arguments: native once it pays)",
                  lambda: fc.descent(f, X0, lr=lr, maxiter=steps, gtol=0, history=False).x),
                 ("fastcalc (Expr, interpreted program)", lambda: fc.descent(f, X0, lr=lr, maxiter=steps, gtol=0,
                                                                              history=False, threads=1, jit=False).x),
                 ("NumPy (vectorized loop)", lambda: numpy_gd(name, X0, lr, steps))]
        jx = jax_gd(name, lr, steps)
        if jx is not None:
            jx(X0)  # compile outside the timing
            cases.append(("JAX (jit fori_loop over vmap(grad))", lambda: jx(X0)))
        else:
            out.append(Row(task, "JAX", None, note="not installed"))
        for _ in range(6):  # steady state: the cost rule compiles once repeated calls pay for it
            cases[0][1]()
        for who, fn in cases:
            out.append(Row(task, who, best_time(fn, repeat=7, budget=3.0), err(fn())))
    return out


SECTIONS = [("Gradient descent, many starts at once", rows)]
