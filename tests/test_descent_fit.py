import numpy as np
import pytest

import fastcalc as fc

scipy_optimize = pytest.importorskip("scipy.optimize")

E = fc.expr


def test_critical_points_course_example():
    pts = fc.critical_points(E("x**2 - 4*x + 4"), (-10, 10))
    assert len(pts) == 1 and pts[0]["kind"] == "min"
    assert pts[0]["x"] == pytest.approx(2.0, abs=1e-10) and pts[0]["value"] == pytest.approx(0.0, abs=1e-18)


def test_critical_points_1d_kinds():
    pts = fc.critical_points(E("x**3 - 3*x"), (-3, 3))  # max at -1, min at 1
    assert [(p["kind"], round(p["x"], 9)) for p in pts] == [("max", -1.0), ("min", 1.0)]
    pts = fc.critical_points(E("x**3"), (-1, 2))  # f' touches zero: inflection
    assert [(p["kind"], round(p["x"], 4)) for p in pts] == [("inflection", 0.0)]
    pts = fc.critical_points(E("sin(x)"), (0, 10))
    np.testing.assert_allclose([p["x"] for p in pts], [np.pi / 2, 3 * np.pi / 2, 5 * np.pi / 2], atol=1e-10)
    assert [p["kind"] for p in pts] == ["max", "min", "max"]


def test_critical_points_callable_uses_finite_differences():
    pts = fc.critical_points(lambda t: t**2 - 4 * t + 4, (-10, 10))
    assert len(pts) == 1 and pts[0]["kind"] == "min" and pts[0]["x"] == pytest.approx(2.0, abs=1e-7)


def test_critical_points_2d():
    f = E("x*exp(-(x**2 + y**2))")
    pts = fc.critical_points(f, [(-2, 2), (-2, 2)])
    assert sorted(p["kind"] for p in pts) == ["max", "min"]
    for p in pts:
        s = 1 if p["kind"] == "max" else -1
        np.testing.assert_allclose(p["x"], [s / np.sqrt(2), 0.0], atol=1e-10)
    pts = fc.critical_points(E("x**2 - y**2"), [(-1, 1), (-1, 1)])
    assert [p["kind"] for p in pts] == ["saddle"]
    himmel = E("(x**2 + y - 11)**2 + (x + y**2 - 7)**2")
    kinds = sorted(p["kind"] for p in fc.critical_points(himmel, [(-5, 5), (-5, 5)]))
    assert kinds == ["max"] + ["min"] * 4 + ["saddle"] * 4


def test_fit_matches_curve_fit():
    rng = np.random.default_rng(0)
    xd = np.linspace(0, 2, 50)
    yd = 2.0 * np.exp(-1.5 * xd) + 0.5 + 0.01 * rng.standard_normal(xd.size)
    model = E("a*exp(b*x) + c")
    r = fc.fit(model, xd, yd, ["a", "b", "c"], p0=[1.0, -1.0, 0.0], method="gd", line_search=True, lr=1.0,
               maxiter=20000, gtol=1e-12)
    popt, _ = scipy_optimize.curve_fit(lambda t, A, B, C: A * np.exp(B * t) + C, xd, yd, p0=[1.0, -1.0, 0.0])
    np.testing.assert_allclose([r.params[k] for k in "abc"], popt, rtol=1e-5, atol=1e-6)
    assert r.x.shape == (3,) and r.method == "gd"
    mse = np.mean((popt[0] * np.exp(popt[1] * xd) + popt[2] - yd) ** 2)
    assert r.fun == pytest.approx(mse, rel=1e-8)


def test_fit_gradient_is_exact():
    xd = np.linspace(-1, 1, 7)
    yd = 3 * xd + 1
    model = E("a*x + b")
    r = fc.fit(model, xd, yd, ["a", "b"], p0=[0.0, 0.0], method="gd", lr=0.1, maxiter=1, history=True)
    # one gd step from 0: grad = 2 mean((0 - y) * (x, 1))
    g = 2 * np.array([np.mean(-yd * xd), np.mean(-yd)])
    np.testing.assert_allclose(r.history[1], -0.1 * g, rtol=1e-14)


def test_fit_bad_input():
    with pytest.raises(ValueError, match="q"):
        fc.fit(E("a*x"), [1.0], [1.0], ["q"])
    with pytest.raises(ValueError, match="points"):
        fc.fit(E("a*x"), [1.0, 2.0], [1.0], ["a"])
    with pytest.raises(ValueError, match="huber"):
        fc.fit(E("a*x"), [1.0], [1.0], ["a"], loss="huber")


@pytest.mark.parametrize("text", [
    "x*exp(-(x**2+y**2)) + sin(3*x)*tanh(y)", "log(1 + x**2) / (2 + cos(y))", "sqrt(x**2 + y**2 + 1)**1.5",
    "abs(x - y) + sigmoid(x*y) - atan(x) + asin(y/3) + acos(x/3)", "x**-2 + y**3 - sinh(x) + cosh(y)",
    "tan(x/2) * exp(y) / (1 + x**4)", "x**y"])
def test_program_matches_tape(text):
    f = E(text)
    X = np.random.default_rng(5).uniform(0.2, 1.4, (37, len(f.vars)))
    n = len(f.vars)
    R = fc.optimize._program(f, 2).eval(X)
    np.testing.assert_allclose(R[:, 0], f(X), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(R[:, 1:1 + n], fc.gradient(f, X), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(R[:, 1 + n:].reshape(-1, n, n), fc.hessian(f, X), rtol=1e-10, atol=1e-11)


def _curve_fit_example(seed=0):
    # scipy.optimize.curve_fit's documentation example, with a seeded generator
    def func(x, a, b, c):
        return a * np.exp(-b * x) + c

    xdata = np.linspace(0, 4, 50)
    y = func(xdata, 2.5, 1.3, 0.5)
    rng = np.random.default_rng(seed)
    y_noise = 0.2 * rng.normal(size=xdata.size)
    ydata = y + y_noise
    return func, xdata, ydata


@pytest.mark.parametrize("seed", range(6))
def test_fit_default_gives_curve_fits_answer_on_its_documentation_example(seed):
    # fit's defaults used to stop at a=1.97, b=1.24 where curve_fit finds 2.53, 1.63, and say nothing
    func, xdata, ydata = _curve_fit_example(seed)
    popt, pcov = scipy_optimize.curve_fit(func, xdata, ydata)
    best = popt.copy()  # the minimum: Gauss-Newton from curve_fit's answer until it stops moving
    for _ in range(50):
        a, b, c = best
        e = np.exp(-b * xdata)
        J = np.column_stack([e, -a * xdata * e, np.ones_like(xdata)])
        best = best + np.linalg.lstsq(J, ydata - func(xdata, *best), rcond=None)[0]
    for r in (fc.fit(func, xdata, ydata), fc.fit(E("a*exp(-b*x) + c"), xdata, ydata, ["a", "b", "c"])):
        assert r.success and r.status == 0 and r.method == "lm" and "converged" in r.message
        np.testing.assert_allclose(r.x, popt, rtol=1e-5)  # curve_fit stops at ftol = xtol = 1.5e-8
        np.testing.assert_allclose(r.x, best, rtol=1e-8)  # closer to the minimum than curve_fit
        assert np.max(np.abs(r.x - best)) < np.max(np.abs(popt - best))
        np.testing.assert_allclose(r.pcov, pcov, rtol=1e-3)  # curve_fit's: forward differences at popt
        exact = np.linalg.inv(J.T @ J) * np.sum((func(xdata, *best) - ydata) ** 2) / (xdata.size - 3)
        np.testing.assert_allclose(r.pcov, exact, rtol=1e-6)
        assert list(r.params) == ["a", "b", "c"] and r.params["a"] == r.x[0]
        assert r.fun == pytest.approx(np.mean((func(xdata, *best) - ydata) ** 2), rel=1e-12)


def test_fit_with_starts_args_and_a_per_point_model():
    func, xdata, ydata = _curve_fit_example(1)
    popt, _ = scipy_optimize.curve_fit(func, xdata, ydata)
    r = fc.fit(func, xdata, ydata, p0=[[1.0, 1.0, 1.0], [3.0, 2.0, 0.0]])
    assert r.x.shape == (2, 3) and r.success.all() and r.params["a"].shape == (2,)
    np.testing.assert_allclose(r.x, [popt, popt], rtol=1e-6)
    import math

    def per_point(x, a, b, c, scale):  # math: one data point per call; an extra argument
        return scale * (a * math.exp(-b * x) + c)

    r = fc.fit(per_point, xdata, ydata, ["a", "b", "c"], args=(1.0,))
    np.testing.assert_allclose(r.x, popt, rtol=1e-6)


def test_fit_that_cannot_converge_says_so():
    func, xdata, ydata = _curve_fit_example(2)
    r = fc.fit(func, xdata, ydata, maxiter=2)
    assert not r.success and r.status == 1 and "maxiter" in r.message
    r = fc.fit(E("a*exp(-b*x) + c"), xdata, ydata, ["a", "b", "c"], p0=[1.0, -800.0, 0.0])  # exp overflows
    assert not r.success and r.status == 2
    r = fc.fit(E("a*x + b"), xdata, ydata, ["a", "b"], method="adam", lr=1e-3, maxiter=10)
    assert not r.success and r.status == 1


def test_fit_lm_on_many_points_is_exact_for_a_linear_model():
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (100_000, 2))
    y = 0.5 * x[:, 0] - 2.0 * x[:, 1] + 3.0 + 0.01 * rng.normal(size=len(x))
    r = fc.fit(E("a*u + b*v + c"), x, y, ["a", "b", "c"])
    A = np.column_stack([x, np.ones(len(x))])
    np.testing.assert_allclose(r.x, np.linalg.lstsq(A, y, rcond=None)[0], rtol=1e-9)
    assert r.success and r.nit <= 20


def test_fit_old_names_warn():
    with pytest.warns(DeprecationWarning, match="maxiter"):
        fc.fit(E("a*x"), [1.0, 2.0], [2.0, 4.0], ["a"], method="gd", steps=3)


def test_critical_points_are_records_with_one_vocabulary():
    pts = fc.critical_points(E("x**3 - 3*x"), (-3, 3))
    assert all(isinstance(p, fc.CriticalPoint) for p in pts)
    assert [p.kind for p in pts] == ["max", "min"] and pts[1].eigenvalues[0] == pytest.approx(6.0)
    assert pts[0]["value"] == pts[0].value == pytest.approx(2.0) and pts[0].grad_norm < 1e-9
    pts = fc.critical_points(E("x**2 - y**2 + x**4"), [(-1, 1), (-1, 1)])
    assert pts[0].kind == "saddle" and pts[0].eigenvalues.tolist() == pytest.approx([-2.0, 2.0])
    kinds = {p.kind for p in fc.critical_points(E("(x**2 + y - 11)**2 + (x + y**2 - 7)**2"), [(-5, 5), (-5, 5)])}
    assert kinds <= set(fc.results.CRITICAL_KINDS)


def test_critical_points_of_a_one_point_callable_with_args():
    pts = fc.critical_points(lambda x, c: (x[0] - c) ** 2 + x[1] ** 2 - x[0] * x[1], [(-5, 5), (-5, 5)],
                             args=(1.0,))
    assert len(pts) == 1 and pts[0].kind == "min"
    np.testing.assert_allclose(pts[0].x, [4 / 3, 2 / 3], atol=1e-7)
    import math
    pts = fc.critical_points(math.sin, (0, 7))  # one number per call
    assert [p.kind for p in pts] == ["max", "min"]
