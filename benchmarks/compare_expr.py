"""compare.py rows for expressions: the tape against NumPy, numexpr, JAX and hand-written C++."""
from __future__ import annotations

from typing import List

import numpy as np

from _native import load, ptr
from _timing import Row, best_time, best_times

import fastcalc as fc

TEXT = "x*exp(-(x**2+y**2)) + sin(3*x)*tanh(y)"


def _np_f(x, y):
    return x * np.exp(-(x**2 + y**2)) + np.sin(3 * x) * np.tanh(y)


def _np_grad(x, y):
    e = np.exp(-(x**2 + y**2))
    s, c, t = np.sin(3 * x), np.cos(3 * x), np.tanh(y)
    return x * e + s * t, e * (1 - 2 * x**2) + 3 * c * t, -2 * x * y * e + s * (1 - t**2)


def _jax():
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)

    def f(x, y):
        return x * jnp.exp(-(x**2 + y**2)) + jnp.sin(3 * x) * jnp.tanh(y)

    ev = jax.jit(f)
    vg = jax.jit(jax.vmap(jax.value_and_grad(f, argnums=(0, 1))))
    return ev, vg


def rows(quick: bool) -> List[Row]:
    n = 10_000 if quick else 1_000_000
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-2, 2, n), rng.uniform(-2, 2, n)
    f = fc.expr(TEXT)
    exact = _np_f(x, y)
    out: List[Row] = []
    task = f"evaluate {TEXT}, {n:,} points"

    def err(v):
        return float(np.max(np.abs(np.asarray(v) - exact)))

    t = f._tape()
    f(x=x, y=y), f.value_and_gradient(x=x, y=y)  # builds the native kernels (cached on disk)
    native = f._native(0) is not None
    who = "fastcalc (Expr, native kernel)" if native else "fastcalc (Expr, C++ tape)"
    cases = [(who, lambda: f(x=x, y=y))]
    if native:
        cases.append(("fastcalc (Expr, C++ tape interpreter)", lambda: t.eval_columns([x, y])[:, 0]))
    cases.append(("NumPy", lambda: _np_f(x, y)))
    try:
        import numexpr as ne

        cases.append(("numexpr", lambda: ne.evaluate("x*exp(-(x**2+y**2)) + sin(3*x)*tanh(y)",
                                                     local_dict={"x": x, "y": y})))
    except ImportError:
        out.append(Row(task, "numexpr", None, note="not installed"))
    jx = _jax()
    if jx:
        ev, vg = jx
        cases.append(("JAX jit", lambda: ev(x, y).block_until_ready()))
    else:
        out.append(Row(task, "JAX", None, note="not installed"))
    for kind in ("scalar", "simd"):
        lib = load(kind)
        if lib is not None:
            buf = np.empty(n)
            label = "C++ loop, scalar libm" if kind == "scalar" else "C++ loop, SIMD libmvec (-ffast-math)"
            cases.append((label, lambda lib=lib, buf=buf: (lib.f_eval(ptr(x), ptr(y), ptr(buf), n), buf)[1]))
    for (who, fn), secs in zip(cases, best_times([fn for _, fn in cases])):
        out.append(Row(task, who, secs, err(fn())))

    task = f"value and gradient of the same, {n:,} points"
    v0, gx0, gy0 = _np_grad(x, y)

    def gerr(v, gx, gy):
        return float(max(np.max(np.abs(v - v0)), np.max(np.abs(gx - gx0)), np.max(np.abs(gy - gy0))))

    def fc_vg():
        v, g = f.value_and_gradient(x=x, y=y)
        return v, g[:, 0], g[:, 1]

    def tape_vg():
        Y, G = t.gradient_columns([x, y])
        return Y[:, 0], G[:, 0, 0], G[:, 0, 1]

    cases = [("fastcalc (Expr, native kernel)" if native else "fastcalc (Expr, reverse mode on the tape)", fc_vg)]
    if native:
        cases.append(("fastcalc (Expr, reverse mode on the tape)", tape_vg))
    cases.append(("NumPy (hand-derived gradient)", lambda: _np_grad(x, y)))
    if jx:
        cases.append(("JAX jit(vmap(value_and_grad))",
                      lambda: (lambda r: (np.asarray(r[0]), np.asarray(r[1][0]), np.asarray(r[1][1])))(vg(x, y))))
    lib = load("simd")
    if lib is not None:
        b = [np.empty(n) for _ in range(3)]
        cases.append(("C++ loop, SIMD libmvec (-ffast-math)",
                      lambda: (lib.f_grad(ptr(x), ptr(y), ptr(b[0]), ptr(b[1]), ptr(b[2]), n), b)[1]))
    for (who, fn), secs in zip(cases, best_times([fn for _, fn in cases])):
        out.append(Row(task, who, secs, gerr(*fn())))

    task = "one point, f(0.3, 0.4)"
    out.append(Row(task, "fastcalc Expr call", best_time(lambda: [f(0.3, 0.4) for _ in range(1000)]) / 1000))
    out.append(Row(task, "fastcalc Tape.point (the binding + C++)", best_time(lambda: [t.point(0.3, 0.4) for _ in range(1000)]) / 1000))
    if jx:
        ev = jx[0]
        out.append(Row(task, "JAX jit", best_time(lambda: [ev(0.3, 0.4).block_until_ready() for _ in range(100)]) / 100))
    return out


SECTIONS = [("Expressions: the C++ tape", rows)]
