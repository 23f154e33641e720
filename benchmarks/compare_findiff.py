"""compare.py rows for numerical differentiation: fastcalc against scipy, numdifftools, NumPy."""
from __future__ import annotations

from typing import List

import numpy as np

from _timing import Row, best_time, best_times

import fastcalc as fc
from fastcalc import ccallbacks


def f_np(x):
    return x**2 * np.exp(np.sin(x))


def df_np(x):
    return np.exp(np.sin(x)) * (2 * x + x**2 * np.cos(x))


SQRT_EPS = float(np.sqrt(np.finfo(float).eps))  # approx_fprime's default step


def rosen_v(X):
    return np.sum(100.0 * (X[..., 1:] - X[..., :-1] ** 2) ** 2 + (1 - X[..., :-1]) ** 2, axis=-1)


def _err(got, exact) -> float:
    """Largest error relative to the largest exact value (robust where f' crosses 0)."""
    return float(np.max(np.abs(np.asarray(got) - exact)) / np.max(np.abs(exact)))


def derivative_rows(quick: bool) -> List[Row]:
    from scipy.differentiate import derivative as sp_derivative
    import numdifftools as nd

    n = 1000 if quick else 100_000
    x = np.linspace(0.1, 3.0, n)
    ex = df_np(x)
    cap = fc.ccallback(ccallbacks, "exp_sin")
    h = float(np.cbrt(fc.eps))
    h6 = float(fc.optimal_step(1.0, order=6))
    e = fc.expr("x**2*exp(sin(x))")  # the same f compiled by fastcalc (the tape, libmvec)
    task = f"f'(x), f = x²·exp(sin x), {n:,} points"
    cases = [
        ("fastcalc (NumPy f)", lambda: fc.derivative(f_np, x)),
        ("fastcalc (compiled f)", lambda: fc.derivative(cap, x)),
        ("scipy.differentiate.derivative", lambda: sp_derivative(f_np, x).df),
        # a tolerance still 150x tighter than scipy's default rtol (sqrt(eps))
        ("fastcalc (NumPy f), rtol=1e-10", lambda: fc.derivative(f_np, x, rtol=1e-10)),
        ("numdifftools.Derivative", lambda: nd.Derivative(f_np)(x)),
        ("NumPy central difference, h = cbrt(eps)", lambda: (f_np(x + h) - f_np(x - h)) / (2 * h)),
        # the same formula through fastcalc, and its sixth-order stencil at that stencil's
        # optimal step: fixed steps, so no error estimate
        ("fastcalc (NumPy f), h = cbrt(eps)", lambda: fc.derivative(f_np, x, h=h)),
        ("fastcalc (NumPy f), order=6, h = optimal_step(1, order=6)",
         lambda: fc.derivative(f_np, x, order=6, h=h6)),
        # f as an expression: finite differences on the tape (method= asks for them), or exact
        ("fastcalc (f as fc.expr), automatic step", lambda: fc.derivative(e, x, method="central")),
        ("fastcalc (f as fc.expr), h = cbrt(eps)", lambda: fc.derivative(e, x, h=h)),
        ("fastcalc (f as fc.expr), exact (automatic differentiation)", lambda: fc.derivative(e, x)),
    ]
    rows = []
    # every case timed in each of two passes (a burst of load must hit a case twice to count)
    for (who, fn), secs in zip(cases, best_times([fn for _, fn in cases], repeat=5, budget=1.0)):
        rows.append(Row(task, who, secs, _err(fn(), ex)))
    info = fc.derivative(f_np, x, full_output=True)
    rows[0].note = f"{info.nfev.mean():.1f} f-evals/pt"
    rows[2].note = f"{sp_derivative(f_np, x).nfev.mean():.1f} f-evals/pt"
    rows[3].note = f"{fc.derivative(f_np, x, rtol=1e-10, full_output=True).nfev.mean():.1f} f-evals/pt"
    return rows


def gradient_rows(quick: bool) -> List[Row]:
    from scipy.optimize import approx_fprime, rosen, rosen_der, rosen_hess
    import scipy.differentiate as sdiff
    import numdifftools as nd

    cap = fc.ccallback(ccallbacks, "rosenbrock")
    rows: List[Row] = []
    for n in ((10, 100) if quick else (10, 100, 1000)):
        x = np.linspace(-1.2, 1.2, n)
        ex = rosen_der(x)
        task = f"gradient, Rosenbrock n={n}"
        cases = [
            ("fastcalc (compiled f)", lambda: fc.gradient(cap, x)),
            ("fastcalc (NumPy f)", lambda: fc.gradient(rosen_v, x)),
            # 64 KB of points per call: NumPy's temporaries stay in cache and off fresh pages
            ("fastcalc (NumPy f, batch_size=8192//n)", lambda: fc.gradient(rosen_v, x, batch_size=max(1, 8192 // n))),
            ("scipy.optimize.approx_fprime", lambda: approx_fprime(x, rosen)),
            # the same formula as approx_fprime (forward, h = sqrt(eps)): the same accuracy
            ("fastcalc (compiled f, approx_fprime's formula)",
             lambda: fc.gradient(cap, x, method="forward", order=1, h=SQRT_EPS)),
            ("fastcalc (NumPy f, approx_fprime's formula)",
             lambda: fc.gradient(rosen_v, x, method="forward", order=1, h=SQRT_EPS)),
            ("fastcalc (NumPy f, approx_fprime's formula, batch_size=8192//n)",
             lambda: fc.gradient(rosen_v, x, method="forward", order=1, h=SQRT_EPS, batch_size=max(1, 8192 // n))),
            ("scipy.differentiate.jacobian", lambda: sdiff.jacobian(lambda X: rosen_v(np.moveaxis(X, 0, -1)), x).df),
            # scipy.differentiate's first step: a quartic is exact at coarse steps, less round-off
            ("fastcalc (compiled f, initial_step=0.5)", lambda: fc.gradient(cap, x, initial_step=0.5)),
        ]
        if n <= 100:
            cases.append(("numdifftools.Gradient", lambda: nd.Gradient(rosen)(x)))
        for who, fn in cases:
            rows.append(Row(task, who, best_time(fn), _err(fn(), ex)))
        if n > 100:
            rows.append(Row(task, "numdifftools.Gradient", None, note="not run: minutes at this size"))
    for n in ((10,) if quick else (10, 100)):
        x = np.linspace(-1.2, 1.2, n)
        ex = rosen_hess(x)
        task = f"Hessian, Rosenbrock n={n}"
        cases = [
            ("fastcalc (compiled f)", lambda: fc.hessian(cap, x)),
            ("fastcalc (NumPy f)", lambda: fc.hessian(rosen_v, x)),
            ("fastcalc (NumPy f, batch_size=8192//n)", lambda: fc.hessian(rosen_v, x, batch_size=max(1, 8192 // n))),
            ("scipy.differentiate.hessian", lambda: sdiff.hessian(lambda X: rosen_v(np.moveaxis(X, 0, -1)), x).ddf),
            # numdifftools' first step
            ("fastcalc (compiled f, initial_step=2)", lambda: fc.hessian(cap, x, initial_step=2.0)),
        ]
        if n <= 10:
            cases.append(("numdifftools.Hessian", lambda: nd.Hessian(rosen)(x)))
        for who, fn in cases:
            rows.append(Row(task, who, best_time(fn, repeat=2, budget=1.0), _err(fn(), ex)))
        if n > 10:
            rows.append(Row(task, "numdifftools.Hessian", None, note="not run: minutes at this size"))
    return rows


SECTIONS = [("Numerical differentiation", derivative_rows), ("Gradients and Hessians", gradient_rows)]
