"""compare.py rows for descent: 10,000 starts x 1,000 gd steps on Rosenbrock and Himmelblau, one
thread: fastcalc (native gd kernel; the interpreter) against the same loop in NumPy and JAX."""
from __future__ import annotations

import os
from typing import List

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402

from _timing import Row, best_time  # noqa: E402

import fastcalc as fc  # noqa: E402

PROBLEMS = {  # name: (text, lr, NumPy gradient, JAX function)
    "Rosenbrock": ("(1 - x)**2 + 100*(y - x**2)**2", 1e-3),
    "Himmelblau": ("(x**2 + y - 11)**2 + (x + y**2 - 7)**2", 1e-2),
}


def np_grad(name, X):
    x, y = X[:, 0], X[:, 1]
    if name == "Rosenbrock":
        t = y - x * x
        return np.stack([-2 * (1 - x) - 400 * x * t, 200 * t], 1)
    u, v = x * x + y - 11, x + y * y - 7
    return np.stack([4 * x * u + 2 * v, 2 * u + 4 * y * v], 1)


def numpy_gd(name, X0, lr, steps):
    X = X0.copy()
    with np.errstate(all="ignore"):
        for _ in range(steps):
            X = X - lr * np_grad(name, X)
    return X


def jax_gd(name, lr, steps):
    """jit of a fori_loop over vmap(grad), or None without JAX."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)

    def f(p):
        x, y = p[0], p[1]
        if name == "Rosenbrock":
            return (1 - x) ** 2 + 100 * (y - x**2) ** 2
        return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2

    g = jax.vmap(jax.grad(f))
    run = jax.jit(lambda X: jax.lax.fori_loop(0, steps, lambda i, X: X - lr * g(X), X))
    return lambda X0: np.asarray(run(jnp.asarray(X0)).block_until_ready())


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

        cases = [("fastcalc (Expr, native gd kernel)", lambda: fc.descent(f, X0, lr=lr, steps=steps, history=False,
                                                                           jit=True).x),
                 ("fastcalc (Expr, interpreted program)", lambda: fc.descent(f, X0, lr=lr, steps=steps,
                                                                              history=False, jit=False).x),
                 ("NumPy (vectorized loop)", lambda: numpy_gd(name, X0, lr, steps))]
        jx = jax_gd(name, lr, steps)
        if jx is not None:
            jx(X0)  # compile outside the timing
            cases.append(("JAX (jit fori_loop over vmap(grad))", lambda: jx(X0)))
        else:
            out.append(Row(task, "JAX", None, note="not installed"))
        cases[0][1]()  # the native kernel compiles once, outside the timing
        for who, fn in cases:
            out.append(Row(task, who, best_time(fn, repeat=7, budget=3.0), err(fn())))
    return out


SECTIONS = [("Gradient descent, many starts at once", rows)]
