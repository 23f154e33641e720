"""pytest-benchmark: 10,000 starts x 1,000 gd steps (Rosenbrock lr 1e-3, Himmelblau lr 1e-2), one
thread: fastcalc's native kernel and interpreter, vectorized NumPy, and JAX when installed.
Run: PYTHONPATH=python pytest benchmarks/bench_descent.py --benchmark-enable"""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fastcalc as fc  # noqa: E402
from descent_loops import PROBLEMS, jax_gd, numpy_gd  # noqa: E402

K, STEPS = 10_000, 1_000
X0 = np.random.default_rng(0).uniform(-2, 2, (K, 2))


@pytest.mark.parametrize("name", sorted(PROBLEMS))
@pytest.mark.parametrize("who", ["fastcalc-native", "fastcalc-interpreted", "numpy", "jax"])
def test_gd_many_starts(benchmark, name, who):
    text, lr = PROBLEMS[name]
    if who.startswith("fastcalc"):
        f, jit = fc.expr(text), who.endswith("native")
        fc.descent(f, X0[:8], lr=lr, maxiter=1, gtol=0, history=False, jit=jit)  # compile the kernel first
        run = lambda: fc.descent(f, X0, lr=lr, maxiter=STEPS, gtol=0, history=False, threads=1, jit=jit)  # noqa: E731
    elif who == "numpy":
        run = lambda: numpy_gd(name, X0, lr, STEPS)  # noqa: E731
    else:
        jx = jax_gd(name, lr, STEPS)
        if jx is None:
            pytest.skip("JAX not installed")
        jx(X0)
        run = lambda: jx(X0)  # noqa: E731
    benchmark.group = f"gd {name}"
    benchmark(run)
