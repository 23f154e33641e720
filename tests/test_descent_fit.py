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
               steps=20000, tol=1e-12)
    popt, _ = scipy_optimize.curve_fit(lambda t, A, B, C: A * np.exp(B * t) + C, xd, yd, p0=[1.0, -1.0, 0.0])
    np.testing.assert_allclose([r.params[k] for k in "abc"], popt, rtol=1e-5, atol=1e-6)
    assert r.x.shape == (1, 3)
    mse = np.mean((popt[0] * np.exp(popt[1] * xd) + popt[2] - yd) ** 2)
    assert r.fun[0] == pytest.approx(mse, rel=1e-8)


def test_fit_gradient_is_exact():
    xd = np.linspace(-1, 1, 7)
    yd = 3 * xd + 1
    model = E("a*x + b")
    r = fc.fit(model, xd, yd, ["a", "b"], p0=[0.0, 0.0], lr=0.1, steps=1, history=True)
    # one gd step from 0: grad = 2 mean((0 - y) * (x, 1))
    g = 2 * np.array([np.mean(-yd * xd), np.mean(-yd)])
    np.testing.assert_allclose(r.history[1, 0], -0.1 * g, rtol=1e-14)


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
