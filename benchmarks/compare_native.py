"""compare.py rows for native speed (issue 15), one thread, default arguments, side by side:
an Expr at 100 to 10^7 points against NumPy and JAX; value and gradient at 10^6 points; the
exact Hessian of the Rosenbrock Expr at n = 10, 100, 1000 against JAX's jit(hessian); building
that Expr; descent's first call in a fresh process (whatever the cost rule picks, and with the
JIT forced) against the NumPy loop. None of it needs a C++ compiler."""
from __future__ import annotations

import math
import os
import subprocess
import sys
from typing import List

import numpy as np

from _timing import Row, best_time, best_times

import fastcalc as fc

TEXT = "x*exp(-(x**2+y**2)) + sin(3*x)*tanh(y)"


def _np_f(x, y):
    return x * np.exp(-(x**2 + y**2)) + np.sin(3 * x) * np.tanh(y)


def _jax():
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    return jax, jnp


def rosen_text(n: int) -> str:
    return " + ".join(f"100*(x{i + 1} - x{i}**2)**2 + (1 - x{i})**2" for i in range(n - 1))


def _calls_until_native(f, n: int) -> int:
    """Calls of f on n points after which the cost rule (fastcalc._jit.decide) has compiled its
    kernel: the predicted savings of the calls so far exceed the predicted compile time (a fixed
    count was too few at 1e5 points on a slower machine, and measured the interpreter)."""
    from fastcalc import _jit
    hit = f._native_program(0)
    if hit is None or not _jit.available():
        return 8
    k = hit[0].n_instructions
    return min(100_000, int(math.ceil(_jit.cost(k) / max(_jit.saving(k, n), 1e-12))) + 8)


def eval_rows(quick: bool) -> List[Row]:
    out: List[Row] = []
    f = fc.expr(TEXT)
    jx = _jax()
    if jx:
        jax, jnp = jx
        ev = jax.jit(lambda x, y: x * jnp.exp(-(x**2 + y**2)) + jnp.sin(3 * x) * jnp.tanh(y))
    sizes = [100, 10**4] if quick else [100, 10**5, 10**6, 10**7]
    for n in sizes:
        rng = np.random.default_rng(n)
        x, y = rng.uniform(-2, 2, n), rng.uniform(-2, 2, n)
        exact = _np_f(x, y)
        task = f"evaluate {TEXT}, {n:,} points"
        cases = [("fastcalc (Expr call)", lambda: f(x, y)), ("NumPy", lambda: _np_f(x, y))]
        if jx:
            ev(x, y).block_until_ready()
            cases.append(("JAX jit", lambda: np.asarray(ev(x, y).block_until_ready())))
        for _ in range(_calls_until_native(f, n)):  # steady state: the cost rule has seen repeated calls
            f(x, y)
        for (who, fn), secs in zip(cases, best_times([fn for _, fn in cases], repeat=7 if n < 10**7 else 3)):
            out.append(Row(task, who, secs, float(np.max(np.abs(np.asarray(fn()) - exact)))))
    n = 10**4 if quick else 10**6
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-2, 2, n), rng.uniform(-2, 2, n)
    task = f"value and gradient, {n:,} points"
    cases = [("fastcalc (Expr.value_and_gradient)", lambda: f.value_and_gradient(x=x, y=y))]
    if jx:
        vg = jax.jit(jax.vmap(jax.value_and_grad(lambda a, b: a * jnp.exp(-(a**2 + b**2)) + jnp.sin(3 * a) * jnp.tanh(b),
                                                 argnums=(0, 1))))
        vg(x, y)
        cases.append(("JAX jit(vmap(value_and_grad))", lambda: jax.block_until_ready(vg(x, y))))
    for _ in range(8):
        f.value_and_gradient(x=x, y=y)
    for (who, fn), secs in zip(cases, best_times([fn for _, fn in cases])):
        out.append(Row(task, who, secs))
    return out


def hessian_rows(quick: bool) -> List[Row]:
    out: List[Row] = []
    jx = _jax()
    for n in ([10, 100] if quick else [10, 100, 1000]):
        task = f"exact Hessian of Rosenbrock, n = {n:,}, one point"
        names = [f"x{i}" for i in range(n)]
        text = rosen_text(n)
        if n == 1000:
            out.append(Row(f"build the Rosenbrock Expr, n = {n:,}", "fastcalc (fc.expr of the text)",
                           best_time(lambda: fc.expr(text, vars=names), repeat=3)))
        f = fc.expr(text, vars=names)
        p = np.full(n, 0.5)
        fc.hessian(f, p)  # the first call builds the programs
        cases = [("fastcalc (fc.hessian of the Expr)", lambda: fc.hessian(f, p))]
        if jx:
            jax, jnp = jx
            h = jax.jit(jax.hessian(lambda v: jnp.sum(100 * (v[1:] - v[:-1]**2)**2 + (1 - v[:-1])**2)))
            pj = jnp.asarray(p)
            h(pj).block_until_ready()
            cases.append(("JAX jit(hessian)", lambda: np.asarray(h(pj).block_until_ready())))
        ref = np.asarray(cases[-1][1]())
        for (who, fn), secs in zip(cases, best_times([fn for _, fn in cases])):
            out.append(Row(task, who, secs, float(np.max(np.abs(fn() - ref)))))
    return out


FIRST = """
import time, sys, os
t0 = time.perf_counter()
import numpy as np, fastcalc as fc
sys.path.insert(0, {bench!r})
from descent_loops import numpy_gd
X0 = np.random.default_rng(0).uniform(-2, 2, ({k}, 2))
f = fc.expr("(1 - x)**2 + 100*(y - x**2)**2")
t1 = time.perf_counter()
fc.descent(f, X0, lr=1e-3, maxiter={steps}, history=False, threads=1, jit={jit})
t2 = time.perf_counter()
numpy_gd("Rosenbrock", X0, 1e-3, {steps})
t3 = time.perf_counter()
print(t2 - t1, t3 - t2)
"""


def first_rows(quick: bool) -> List[Row]:
    k, steps = (1000, 100) if quick else (10_000, 1_000)
    task = f"descent's first call in a fresh process, Rosenbrock, {k:,} starts x {steps:,} steps"
    here = os.path.dirname(os.path.abspath(__file__))
    out: List[Row] = []
    best = {}
    # as an installed package runs: Python's bytecode cache on (fastcalc imports some of its
    # modules at their first use, inside the timing)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    # best of 7 fresh processes, the two paths alternated (a shared machine's speed drifts
    # within seconds; three gave one path a slow phase)
    for _ in range(7):
        for jit in ("None", "True"):
            r = subprocess.run([sys.executable, "-c", FIRST.format(bench=here, k=k, steps=steps, jit=jit)],
                               capture_output=True, text=True, env=env, check=True)
            a, b = (float(v) for v in r.stdout.split())
            best[jit] = min(best.get(jit, 1e9), a)
            best["numpy"] = min(best.get("numpy", 1e9), b)
    out.append(Row(task, "fastcalc (default: the cost rule's path)", best["None"]))
    out.append(Row(task, "fastcalc (jit=True: LLVM's start and the compile included)", best["True"]))
    out.append(Row(task, "NumPy (vectorized loop)", best["numpy"]))
    return out


SECTIONS = [("Native speed: expressions at many points", eval_rows),
            ("Native speed: Hessians of an Expr at one point", hessian_rows),
            ("Native speed: descent's first call", first_rows)]
