"""Random shapes, dtypes and values through every public function (hypothesis): each call gives
a clear exception (ValueError or TypeError naming the problem) or a result of the documented
shape that is right where the answer is known; never a crash, another exception type or a hang."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastcalc as fc

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CLEAR = (ValueError, TypeError)

values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**30, 10**30))
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
special = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e300, -1e-300])
arrays = st.one_of(
    hnp.arrays(st.sampled_from([np.float64, np.complex128]), shapes,
               elements=st.one_of(st.floats(-1e6, 1e6), special)),
    hnp.arrays(np.float32, shapes, elements=st.floats(-1e6, 1e6, width=32)),
    hnp.arrays(st.sampled_from([np.int64, np.int8, np.uint64]), shapes, elements=st.integers(0, 100)),
    hnp.arrays(np.bool_, shapes))
junk = st.one_of(st.none(), st.text(max_size=5), st.just([1.0, "a"]), st.just([[1.0], [1.0, 2.0]]),
                 st.just({"x": 1}), st.just(object()))
inputs = st.one_of(values, arrays, junk)


def call(fn, *args, **kw):
    """fn's result, or None for a clear exception; anything else fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecations and numerical warnings are not the point here
        with np.errstate(all="ignore"):
            try:
                return fn(*args, **kw)
            except CLEAR as exc:
                assert str(exc), f"{type(exc).__name__} without a message"
                return None


def finite_real(x):
    try:
        a = np.asarray(x)
    except Exception:  # noqa: BLE001
        return None
    if a.dtype.kind not in "biuf" or a.size == 0 or not np.all(np.isfinite(a.astype(float))):
        return None
    return a.astype(float)


@SETTINGS
@given(inputs)
def test_derivative(x):
    r = call(fc.derivative, np.sin, x)
    a = finite_real(x)
    if r is not None and a is not None and np.all(np.abs(a) < 1e5):
        np.testing.assert_allclose(r, np.cos(a), rtol=1e-6, atol=1e-6)


@SETTINGS
@given(inputs)
def test_gradient_jacobian_hessian(x):
    f = fc.expr("x*y + sin(x)", vars=["x", "y"])
    for fn in (fc.gradient, fc.jacobian, fc.hessian):
        call(fn, f, x)
        call(fn, lambda X: np.sum(np.asarray(X) ** 2, axis=-1), x)
    a = finite_real(x)
    if a is not None and a.shape == (2,):
        g = call(fc.gradient, f, a)
        if g is not None:
            np.testing.assert_allclose(g, [a[1] + np.cos(a[0]), a[0]], rtol=1e-12, atol=1e-12)


@SETTINGS
@given(inputs, inputs, st.one_of(st.integers(-3, 50), values, junk))
def test_descent(x0, lr, steps):
    f = fc.expr("(x - 1)**2 + (y + 2)**2")
    r = call(fc.descent, f, x0, lr=lr, steps=steps)
    if r is not None:
        # one run gives scalars, several runs arrays: the flag per run, against its row of x
        assert np.shape(r.x)[-1] == 2 and np.all(np.isfinite(r.x) | np.expand_dims(np.asarray(r.diverged), -1))


@SETTINGS
@given(inputs, st.one_of(st.sampled_from(["+", "-", "both", "+-", "x", None]), junk))
def test_limit(c, side):
    r = call(fc.limit, fc.expr("sin(x)/x"), c, side)
    if r is not None and isinstance(c, (int, float)) and not isinstance(c, bool) and c == 0 and side in ("+", "-", "both"):
        assert r.value == pytest.approx(1.0, rel=1e-9)


@SETTINGS
@given(inputs)
def test_expr_call(x):
    f = fc.expr("x*exp(-x**2) + 1")
    r = call(f, x)
    a = finite_real(x)
    if r is not None and a is not None:
        with np.errstate(all="ignore"):
            want = a * np.exp(-a**2) + 1
        np.testing.assert_allclose(r, want, rtol=1e-13, atol=1e-300)


@SETTINGS
@given(st.one_of(st.text(max_size=30), junk))
def test_expr_parse(text):
    e = call(fc.expr, text)
    if e is not None:
        again = [str(c) for c in e.components] if e.is_vector else str(e)
        assert fc.expr(again, vars=e.vars) == e


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs, inputs)
def test_critical_points_fit_and_solve_ode(bounds, y0):
    call(fc.critical_points, fc.expr("x**3 - 3*x"), bounds)
    call(fc.fit, fc.expr("a*x + b"), y0, y0, ["a", "b"])
    call(fc.solve_ode, "-y", bounds, y0=y0, maxiter=5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.integers(-3, 20), values, junk), st.one_of(values, junk))
def test_iteration_budgets_and_tolerances(maxiter, tol):
    xs = np.linspace(0, 1, 20)
    call(fc.fit, fc.expr("a*x + b"), xs, 2 * xs + 1, ["a", "b"], maxiter=maxiter)
    call(fc.fit, fc.expr("a*x + b"), xs, 2 * xs + 1, ["a", "b"], gtol=tol)
    call(fc.descent, fc.expr("x**2"), 1.0, maxiter=maxiter, gtol=tol)
    call(fc.derivative, np.sin, 0.5, rtol=tol)
    call(fc.limit, np.sin, 0.0, rtol=tol)
    if isinstance(maxiter, int) and not isinstance(maxiter, bool) and maxiter <= 20:
        call(fc.solve_ode, "-y", (0.0, 1.0), y0=1.0, maxiter=maxiter)


def test_an_unbounded_budget_with_nothing_to_stop_it_is_refused():
    for maxiter, gtol in ((math.inf, 0.0), (10**30, 0.0), (math.inf, 5e-324)):
        with pytest.raises(ValueError, match="gtol > 0"):
            fc.descent(fc.expr("x**2"), 1.0, maxiter=maxiter, gtol=gtol)
    with pytest.raises(ValueError, match="GiB"):
        fc.descent(fc.expr("x**2"), 1.0, maxiter=10**15, gtol=0.0)
    r = fc.descent(fc.expr("x**2"), 1.0, maxiter=10**15, gtol=0.0, history=False, lr=1.5)
    assert not r.success  # diverges: the run ends by itself
    assert fc.descent(fc.expr("x**2"), 1.0, maxiter=math.inf, gtol=1e-12).success
