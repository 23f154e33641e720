"""With h=None: Richardson extrapolation reaches the accuracy targets and its error estimate is honest."""
import numpy as np
import pytest

import fastcalc as fc
from fastcalc import reference as ref

# (f, f', f'', points where f', f'' are not tiny against f: "ordinary points")
FUNCS = {
    "exp": (np.exp, np.exp, np.exp, [-2.0, -0.3, 0.5, 1.0, 4.0, 30.0]),
    "log": (np.log, lambda x: 1 / x, lambda x: -1 / x**2, [0.05, 0.3, 1.0, 2.5, 17.0]),
    "sin": (np.sin, np.cos, lambda x: -np.sin(x), [-2.0, 0.4, 1.0, 2.2, 40.0]),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2, lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2),
             [-1.5, -0.4, 0.3, 1.1, 2.0]),
    "poly": (lambda x: 3 * x**4 - 2 * x**3 + x - 7, lambda x: 12 * x**3 - 6 * x**2 + 1,
             lambda x: 36 * x**2 - 12 * x, [-3.0, -0.5, 0.9, 2.0, 11.0]),
    "rational": (lambda x: x**2 / (x + 1), lambda x: (x**2 + 2 * x) / (x + 1) ** 2, lambda x: 2 / (x + 1) ** 3,
                 [-0.5, 0.2, 1.0, 3.0, 6.0]),
    "x2expsin": (lambda x: x**2 * np.exp(np.sin(x)), lambda x: np.exp(np.sin(x)) * (2 * x + x**2 * np.cos(x)),
                 lambda x: np.exp(np.sin(x)) * (2 + 4 * x * np.cos(x) + x**2 * np.cos(x) ** 2 - x**2 * np.sin(x)),
                 [-2.0, 0.7, 1.3, 2.9, 5.0]),
}


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_first_derivative_relative_error_below_1e10(name):
    f, d1, _, pts = FUNCS[name]
    x = np.array(pts)
    got = fc.derivative(f, x)
    np.testing.assert_allclose(got, d1(x), rtol=1e-10, atol=0)


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_second_derivative_relative_error_below_1e7(name):
    f, _, d2, pts = FUNCS[name]
    x = np.array(pts)
    got = fc.derivative(f, x, 2)
    np.testing.assert_allclose(got, d2(x), rtol=1e-7, atol=0)


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_error_estimate_bounds_the_actual_error(name):
    f, d1, d2, pts = FUNCS[name]
    x = np.array(pts)
    for n, exact in ((1, d1), (2, d2)):
        info = fc.derivative(f, x, n, full_output=True)
        value = info.df
        assert np.all(np.abs(value - exact(x)) <= info.error + 4 * fc.eps * np.abs(exact(x)))
        assert np.all(info.status & 2 == 0)  # log at 0.05 may probe x < 0: bit 1 allowed there
        if name != "log":
            assert np.all(info.status == 0) and info.message == "ok"


@pytest.mark.parametrize("method", ["forward", "backward"])
def test_one_sided_automatic_is_accurate(method):
    x = np.array([0.3, 1.0, 2.0])
    got = fc.derivative(np.exp, x, method=method)
    np.testing.assert_allclose(got, np.exp(x), rtol=1e-10)


@pytest.mark.parametrize("n, order", [(3, 2), (4, 2), (1, 4), (2, 6), (3, 4)])
def test_higher_orders_and_derivatives(n, order):
    x = np.array([0.2, 1.0, 1.7])
    got = fc.derivative(np.sin, x, n, order=order)
    exact = [np.cos, lambda t: -np.sin(t), lambda t: -np.cos(t), np.sin][n - 1](x)
    np.testing.assert_allclose(got, exact, rtol=10.0 ** (-9 + 1.5 * n))


def test_core_agrees_with_reference_within_error_estimates(rng):
    x = rng.uniform(-3, 3, 40)
    f = lambda t: t**2 * np.exp(np.sin(t))  # noqa: E731
    for n in (1, 2):
        info = fc.derivative(f, x, n, full_output=True)
        value = info.df
        rvalue, rerr = ref.derivative(f, x, n)
        assert np.all(np.abs(value - rvalue) <= np.maximum(info.error, rerr) * 2)


@pytest.mark.parametrize("method, order", [("central", 2), ("central", 6), ("forward", 1), ("backward", 2)])
def test_core_gives_the_references_bits_for_one_variable(method, order):
    # derivative_1d.cpp keeps the reference's arithmetic and stopping rules operation for operation
    x = np.concatenate([np.linspace(-3, 3, 501), [0.0, 1e-300, 1e8]])
    for f in (np.sin, np.tanh, lambda t: t**2 * np.exp(np.sin(t)), lambda t: 1 / (1 + t**2)):
        for n in (1, 2, 3):
            info = fc.derivative(f, x, n, method=method, order=order, full_output=True)
            value = info.df
            rvalue, rerr = ref.derivative(f, x, n, method=method, order=order)
            assert np.array_equal(value, rvalue) and np.array_equal(info.error, rerr)


@pytest.mark.parametrize("f, df", [
    (lambda x: x**2 * np.exp(np.sin(x)), lambda x: np.exp(np.sin(x)) * (2 * x + x**2 * np.cos(x))),
    (lambda x: 1 / (1 + x**2), lambda x: -2 * x / (1 + x**2) ** 2),
])
def test_no_point_of_a_dense_grid_stops_early(f, df):
    # A loose gate on Ridders' stop once left single points at 1e-11 and 3e-10 (relative to the
    # largest |f'|) where the tableau was erratic at coarse steps.
    x = np.linspace(0.1, 3.0, 20_001)
    exact = df(x)
    err = np.abs(fc.derivative(f, x) - exact) / np.max(np.abs(exact))
    assert err.max() < 1e-12


def test_shape_of_x_is_kept():
    x = np.linspace(0.1, 1, 12).reshape(3, 2, 2)
    info = fc.derivative(np.sin, x, full_output=True)
    value = info.df
    assert value.shape == x.shape and info.error.shape == x.shape and info.nfev.shape == x.shape
    assert isinstance(fc.derivative(np.sin, 0.5), float)


def test_nfev_counts_each_evaluation():
    calls = []

    def f(x):
        calls.append(x.size)
        return np.exp(x)

    # the first call learns how f takes its points and what it returns (one call at x[0] with
    # vectorized=, a few near it without): once per function object, not counted in nfev
    for vectorized in (True, None):
        calls.clear()
        first = fc.derivative(f, np.array([0.1, 0.2, 0.3]), full_output=True, vectorized=vectorized)
        assert sum(calls) > first.nfev.sum()
        calls.clear()
        info = fc.derivative(f, np.array([0.1, 0.2, 0.3]), full_output=True, vectorized=vectorized)
        assert sum(calls) == info.nfev.sum()


def test_nan_at_a_point_stays_at_that_point():
    def f(x):
        return np.where(np.abs(x - 2.0) < 0.5, np.nan, np.sin(x))

    info = fc.derivative(f, np.array([0.0, 2.0, 4.0]), full_output=True)
    value = info.df
    assert np.isnan(value[1]) and info.status[1] & 1
    np.testing.assert_allclose(value[[0, 2]], np.cos([0.0, 4.0]), rtol=1e-10)
    assert "not finite" in info.message


def test_steps_near_a_singularity_fall_back_to_smaller_steps():
    # log is NaN left of 0: the coarse steps at x = 0.02 probe there and are discarded
    info = fc.derivative(np.log, 0.02, full_output=True)
    value = info.df
    assert value == pytest.approx(50.0, rel=1e-9)


def test_optimal_step_formulas():
    assert fc.optimal_step(0.5, "forward") == pytest.approx(np.sqrt(fc.eps))
    assert fc.optimal_step(0.5, "central") == pytest.approx(np.cbrt(fc.eps))
    assert fc.optimal_step(10.0, "central") == pytest.approx(10 * np.cbrt(fc.eps))
    assert fc.optimal_step(1.0, "central", n=2) == pytest.approx(fc.eps ** 0.25)


def test_step_error_shows_the_tradeoff():
    hs = np.logspace(-15, -1, 29)
    err = fc.step_error(lambda x: x**2, 3.0, hs, method="forward", exact=6.0)
    best = hs[np.argmin(err)]
    # truncation error h for large h, round-off eps/h for small h, best near sqrt(eps)
    assert 1e-9 < best < 1e-7
    assert err[-1] == pytest.approx(0.1, rel=1e-6)
    assert err[0] > 1e-2


@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("name", sorted(FUNCS))
def test_as_accurate_as_numdifftools_in_fewer_evaluations(name, n):
    nd = pytest.importorskip("numdifftools")
    f, d1, d2, pts = FUNCS[name]
    x = np.array(pts)
    exact = (d1 if n == 1 else d2)(x)
    counts = [0]

    def counted(t):
        counts[0] += np.size(t)
        return f(t)

    ours = fc.derivative(counted, x, n)
    our_evals, counts[0] = counts[0], 0
    theirs = nd.Derivative(counted, n=n)(x)
    their_evals = counts[0]
    # worst relative error over the points; below the floor both are at rounding level (the
    # quartic at x = 11, f = 4e4 against f' = 1.5e4: 1.3e-13 from the 8-point stencil's round-off)
    ours_err = np.max(np.abs(ours - exact) / np.abs(exact))
    theirs_err = np.max(np.abs(theirs - exact) / np.abs(exact))
    floor = 2e-13 if n == 1 else 1e-11
    assert ours_err <= max(2 * theirs_err, floor)
    assert our_evals < their_evals


def test_accurate_where_the_derivative_crosses_zero():
    # f' = exp(sin x)(2x + x**2 cos x) vanishes near x = 2.23: early stops there once gave 1e-5
    f, d1, _, _ = FUNCS["x2expsin"]
    x = np.linspace(2.2, 2.3, 2001)
    info = fc.derivative(f, x, full_output=True)
    value = info.df
    assert np.max(np.abs(value - d1(x))) < 1e-10 * np.max(np.abs(d1(np.linspace(0.1, 3, 100))))
    assert np.mean(np.abs(value - d1(x)) <= info.error) > 0.99


@pytest.mark.parametrize("first", [2.0, 0.5, 0.3, 1 / 64])
def test_an_initial_step_gives_the_references_bits(first):
    # any first step is rounded down to a power of two; a coarser start gets more levels and
    # waits more rows before its growth test, in the core and in the reference alike
    x = np.concatenate([np.linspace(-3, 3, 301), [0.0, 1e8]])
    for f in (np.sin, lambda t: t**2 * np.exp(np.sin(t)), lambda t: 1 / (1 + t**2)):
        for n, method in ((1, "central"), (2, "central"), (1, "forward")):
            info = fc.derivative(f, x, n, method=method, initial_step=first, full_output=True)
            value = info.df
            rvalue, rerr = ref.derivative(f, x, n, method=method, initial_step=first)
            assert np.array_equal(value, rvalue) and np.array_equal(info.error, rerr)
    p = 2.0 ** np.floor(np.log2(first))
    info = fc.derivative(np.sin, 0.5, initial_step=first, full_output=True)
    assert info.h <= p and np.log2(p / info.h) == int(np.log2(p / info.h))  # p / 2**k


def test_a_coarse_initial_step_keeps_the_accuracy_target_on_a_dense_grid():
    x = np.linspace(0.1, 3.0, 20_001)
    f = lambda t: t**2 * np.exp(np.sin(t))  # noqa: E731
    exact = np.exp(np.sin(x)) * (2 * x + x**2 * np.cos(x))
    for first in (0.5, 2.0):
        err = np.abs(fc.derivative(f, x, initial_step=first) - exact) / np.max(np.abs(exact))
        assert err.max() < 1e-10


def test_an_expr_with_an_initial_step_is_differentiated_by_finite_differences():
    e = fc.expr("x**2*exp(sin(x))")
    exact_info = fc.derivative(e, 1.3, full_output=True)
    info = fc.derivative(e, 1.3, initial_step=0.5, full_output=True)
    value = info.df
    assert exact_info.message.startswith("exact") and info.message == "ok" and info.nfev > 2
    assert abs(value - fc.derivative(e, 1.3)) < 1e-11


@pytest.mark.parametrize("f, df, x", [
    # two coarse rows agree to 2.7e-12 on an error of 2e-10 and the diagonal then moves by 2e-10,
    # far more than round-off could: Ridders' growth test used to stop there
    (lambda t: 1 / (1 + t**2), lambda t: -2 * t / (1 + t**2) ** 2, 1.7350073500735008),
    # the first three rows agree to 8e-13 on an error of 6e-11 (the h**4 term nearly vanishes):
    # the good-enough test used to stop there, before a fourth row could contradict them
    (np.arctan, lambda t: 1 / (1 + t**2), 0.32535000000000025),
])
def test_a_chance_agreement_of_coarse_rows_does_not_stop_the_tableau(f, df, x):
    exact = df(x)
    for xs in (x, np.array([x, 0.3])):  # one point, and a batch
        info = fc.derivative(f, xs, full_output=True)
        value = info.df
        value, err = np.atleast_1d(value)[0], np.atleast_1d(info.error)[0]
        assert abs(value - exact) < 1e-13 * abs(exact) and abs(value - exact) <= err
    g = fc.gradient(lambda X: f(X[:, 0]) + X[:, 1], [x, 0.0])  # the general engine
    assert abs(g[0] - exact) < 1e-13 * abs(exact)


@pytest.mark.parametrize("f, df, lo, hi", [
    (np.tanh, lambda t: 1 - np.tanh(t) ** 2, -3.0, 3.0),
    (np.arctan, lambda t: 1 / (1 + t**2), -5.0, 5.0),
    (lambda t: 1 / (1 + t**2), lambda t: -2 * t / (1 + t**2) ** 2, -5.0, 5.0),
    (lambda t: t**2 * np.exp(np.sin(t)), lambda t: np.exp(np.sin(t)) * (2 * t + t**2 * np.cos(t)), -5.0, 5.0),
    (np.sqrt, lambda t: 0.5 / np.sqrt(t), 0.3, 30.0),
    (lambda t: np.sin(10 * t), lambda t: 10 * np.cos(10 * t), -2.0, 2.0),
])
def test_dense_grids_meet_the_accuracy_target_with_honest_estimates(f, df, lo, hi):
    # 200,001 points of these once showed errors of 6e-11 where the estimate said 8e-13
    x = np.linspace(lo, hi, 40_001)
    exact = df(x)
    info = fc.derivative(f, x, full_output=True)
    value = info.df
    err = np.abs(value - exact)
    ordinary = np.abs(exact) > 1e-2 * np.max(np.abs(exact))
    assert np.max(err[ordinary] / np.abs(exact[ordinary])) < 1e-11
    assert np.all(err <= 8 * info.error + 1e-14 * np.max(np.abs(exact)))


@pytest.mark.parametrize("method", ["central", "forward"])
def test_the_step_schedule_is_the_references(method):
    # the first step rounded down to a power of two, and one more level per halving above the default
    from fastcalc import _core
    from fastcalc.differentiate import _METHODS
    from fastcalc.reference.findiff import _levels, initial_step

    code = _METHODS[method]
    for n in (1, 2, 4):
        for first in (None, 2.0, 0.75, 0.5, 1 / 64, 3e-5):
            t0 = _core.initial_step(code, 2, n, first or 0.0)
            assert t0 == initial_step(method, n, first)
            assert _core.step_levels(code, 2, n, first or 0.0) == _levels(method, n, first)
    assert _core.initial_step(0, 2, 1, 0.75) == 0.5 and _core.step_levels(0, 2, 1, 2.0) == 10 + 5


@pytest.mark.parametrize("rtol", [1e-10, 1.5e-8])
def test_a_looser_rtol_saves_evaluations_within_its_tolerance_and_gives_the_references_bits(rtol):
    x = np.linspace(0.1, 3.0, 20_001)
    f = lambda t: t**2 * np.exp(np.sin(t))  # noqa: E731
    exact = np.exp(np.sin(x)) * (2 * x + x**2 * np.cos(x))
    tight = fc.derivative(f, x, full_output=True)
    info = fc.derivative(f, x, rtol=rtol, full_output=True)
    value = info.df
    assert info.nfev.mean() < tight.nfev.mean() - 0.5 and np.all(info.nfev >= 8)  # four steps at least
    assert np.max(np.abs(value - exact)) < rtol * np.max(np.abs(exact))  # f' crosses 0: not pointwise
    rvalue, rerr = ref.derivative(f, x[::50], rtol=rtol)
    assert np.array_equal(value[::50], rvalue) and np.array_equal(info.error[::50], rerr)
    ginfo = fc.gradient(lambda X: f(X[:, 0]) + np.sin(X[:, 1]), [1.3, 0.4], rtol=rtol, full_output=True)
    g = ginfo.df
    assert abs(g[0] - exact[np.argmin(np.abs(x - 1.3))]) < 1e-3 and abs(g[1] - np.cos(0.4)) < rtol


@pytest.mark.parametrize("method, order", [("central", 2), ("central", 4), ("forward", 1)])
def test_core_gives_the_references_bits_where_the_tableau_restarts_extends_and_verifies(method, order):
    # high frequencies (steps extended, estimates restarted and verified off the lattice), a
    # domain the first steps leave (NaN levels), huge |x| (relative steps), as in the reference
    cases = [(lambda t: np.sin(3000 * t), np.linspace(0.1, 0.4, 301)),
             (lambda t: np.sin(1606.941253012877 * t), np.array([0.3, 0.7, 1.1])),
             (np.log, np.geomspace(1e-6, 1.0, 61)),
             (lambda t: t**2, np.array([1e20, -3.7e41, 1e53, 16385.0, 1e300])),
             (lambda t: t * np.sin(1 / t), np.linspace(0.004, 0.02, 101))]
    for f, x in cases:
        for n in (1, 2):
            r = fc.derivative(f, x, n, method=method, order=order, full_output=True, vectorized=True)
            rv, re, rs = ref.derivative(f, x, n, method=method, order=order, full_output=True)
            assert np.array_equal(r.df, rv, equal_nan=True) and np.array_equal(r.error, re, equal_nan=True)
            assert np.array_equal(r.status, rs)
