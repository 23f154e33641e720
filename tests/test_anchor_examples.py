"""The anchors' documentation examples, with fastcalc in place of the library: the functions as
their documentation writes them (for one point, lists as results, numpy ufuncs), the calls with
the defaults, the documented values.

Where an anchor's result is an object (scipy's ``res.df``), fastcalc returns the array and gives
the object with ``full_output=True``. Points of a batch are rows in fastcalc, (k, n), where
scipy.differentiate puts them on the last axis, (n, k): those examples pass ``x.T``."""
import math

import numpy as np
import pytest

import fastcalc as fc

so = pytest.importorskip("scipy.optimize")


# ---- scipy.differentiate ------------------------------------------------------------------

def test_scipy_differentiate_derivative_example():
    f = np.exp
    df = np.exp  # true derivative
    x = np.linspace(1, 2, 5)
    res = fc.derivative(f, x, full_output=True)
    np.testing.assert_allclose(res.df, [2.71828183, 3.49034296, 4.48168907, 5.75460268, 7.3890561], rtol=1e-8)
    # scipy documents estimates of 7e-12 .. 2e-11 and true errors of 2.5e-14 .. 6.9e-14 (relative
    # 1e-14); fastcalc's are honest too: 8e-13 .. 1.4e-12 and 1.0e-13 .. 1.5e-13 (relative 3e-14)
    true = abs(res.df - df(x))
    assert np.all(true <= res.error) and np.all(res.error < 2e-11) and np.all(true < 2e-13)
    assert res.success.all() and res.message == "ok"


def test_scipy_differentiate_derivative_with_args():
    def f(x, p):
        return x**p

    def df(x, p):
        return p * x ** (p - 1)

    x = np.arange(1, 5)
    for p in range(1, 6):
        np.testing.assert_allclose(fc.derivative(f, x, args=(p,)), df(x, p), rtol=1e-12)


def test_scipy_differentiate_jacobian_examples():
    from scipy.optimize import rosen, rosen_der

    m = 3
    x = np.full(m, 0.5)
    res = fc.jacobian(rosen, x, full_output=True)
    ref = rosen_der(x)  # reference value of the gradient
    np.testing.assert_allclose(res.df, [[-51.0, -1.0, 50.0]], rtol=1e-13)
    np.testing.assert_allclose(fc.gradient(rosen, x), ref, rtol=1e-13)

    def f(x):
        x1, x2, x3 = x
        return [x1, 5 * x3, 4 * x2**2 - 2 * x3, x3 * np.sin(x1)]

    def df(x):
        x1, x2, x3 = x
        one = np.ones_like(x1)
        return [[one, 0 * one, 0 * one],
                [0 * one, 0 * one, 5 * one],
                [0 * one, 8 * x2, -2 * one],
                [x3 * np.cos(x1), 0 * one, np.sin(x1)]]

    rng = np.random.default_rng(389252938452)
    x = rng.random(size=3)
    res = fc.jacobian(f, x, full_output=True)
    ref = df(x)
    assert res.df.shape == (4, 3)
    assert np.allclose(res.df, ref)
    x = rng.random(size=(3, 10))  # 10 points, scipy's layout: fastcalc takes them as rows
    J = fc.jacobian(f, x.T)
    ref = df(x)
    assert J.shape == (10, 4, 3)
    assert np.allclose(np.moveaxis(J, 0, -1), ref)


def test_scipy_differentiate_hessian_examples():
    from scipy.optimize import rosen, rosen_hess

    m = 3
    x = np.full(m, 0.5)
    res = fc.hessian(rosen, x, full_output=True)
    ref = rosen_hess(x)  # reference value of the Hessian
    assert np.allclose(res.df, ref)
    rng = np.random.default_rng(4589245925010)
    x = rng.random((m, 10))
    H = fc.hessian(rosen, x.T)
    ref = [rosen_hess(xi) for xi in x.T]
    assert np.allclose(H, ref)


# ---- scipy.optimize's Rosenbrock family ---------------------------------------------------

def test_scipy_optimize_rosen_family():
    from scipy.optimize import rosen

    X = 0.1 * np.arange(9)
    np.testing.assert_allclose(fc.gradient(rosen, X), [-2.0, 10.6, 15.6, 13.4, 6.4, -3.0, -12.4, -19.4, 62.0],
                               rtol=1e-12, atol=1e-12)
    X = 0.1 * np.arange(4)
    np.testing.assert_allclose(fc.hessian(rosen, X), [[-38.0, 0.0, 0.0, 0.0],
                                                      [0.0, 134.0, -40.0, 0.0],
                                                      [0.0, -40.0, 130.0, -80.0],
                                                      [0.0, 0.0, -80.0, 200.0]], rtol=1e-10, atol=1e-9)
    # and its one critical point, a minimum at (1, 1): Newton's method on its finite-difference
    # gradient and Hessian (rosen called with batches as columns)
    p = fc.critical_points(rosen, [(-2, 2), (-1, 3)])
    assert [q.kind for q in p] == ["min"]
    np.testing.assert_allclose(p[0].x, [1.0, 1.0], atol=1e-7)


# ---- numdifftools' README -----------------------------------------------------------------

def test_numdifftools_readme_examples():
    fd = lambda x: fc.derivative(np.exp, x)  # noqa: E731  1'st derivative
    fdd = lambda x: fc.derivative(np.exp, x, n=2)  # noqa: E731  2'nd derivative
    assert np.allclose(fd(1), 2.7182818284590424)
    assert np.allclose(fdd(1), 2.7182818284590424)

    # nonlinear least squares
    xdata = np.reshape(np.arange(0, 1, 0.1), (-1, 1))
    ydata = 1 + 2 * np.exp(0.75 * xdata)
    fun = lambda c: (c[0] + c[1] * np.exp(c[2] * xdata) - ydata) ** 2  # noqa: E731
    J = fc.jacobian(fun, [1, 2, 0.75])
    assert J.shape == (10, 3)
    assert np.allclose(np.abs(J), 0)  # should be numerically zero

    # gradient of sum(x**2)
    fun = lambda x: np.sum(x**2)  # noqa: E731
    assert np.allclose(fc.gradient(fun, [1, 2, 3]), [2.0, 4.0, 6.0])


# ---- JAX's grad, jacobian and hessian, written with NumPy -----------------------------------

def test_jax_autodiff_cookbook_tanh():
    # grad(jnp.tanh)(2.0) = 0.070650816, and the next two (JAX's float32 figures)
    float32 = 2.0**-22  # JAX computes in float32: its figures are within two of its ulps
    assert fc.derivative(np.tanh, 2.0) == pytest.approx(0.070650816, rel=float32)
    assert fc.derivative(np.tanh, 2.0, 2) == pytest.approx(-0.13621868, rel=float32)
    assert fc.derivative(np.tanh, 2.0, 3) == pytest.approx(0.25265405, rel=float32)


def _cookbook():
    def sigmoid(x):
        return 0.5 * (np.tanh(x / 2) + 1)

    # outputs the probability of a label being true
    def predict(W, b, inputs):
        return sigmoid(np.dot(inputs, W) + b)

    inputs = np.array([[0.52, 1.12, 0.77],
                       [0.88, -1.08, 0.15],
                       [0.52, 0.06, -1.30],
                       [0.74, -2.49, 1.39]])
    targets = np.array([True, True, False, True])

    # the training loss: the negative log-likelihood of the training examples
    def loss(W, b):
        preds = predict(W, b, inputs)
        label_probs = preds * targets + (1 - preds) * (1 - targets)
        return -np.sum(np.log(label_probs))

    W = np.array([0.45, -0.2, 1.3])  # JAX draws these from its own generator
    b = 0.3
    return sigmoid, predict, inputs, targets, loss, W, b


def test_jax_autodiff_cookbook_logistic_regression():
    sigmoid, predict, inputs, targets, loss, W, b = _cookbook()
    p = predict(W, b, inputs)
    # exact: d loss / dW = sum (p - t) x, d loss / db = sum (p - t); d2 loss / dW2 = X^T diag(p(1-p)) X
    W_grad = fc.gradient(loss, W, args=(b,))
    np.testing.assert_allclose(W_grad, inputs.T @ (p - targets), rtol=1e-11)
    b_grad = fc.derivative(lambda bb: loss(W, bb), b)
    assert b_grad == pytest.approx(np.sum(p - targets), rel=1e-11)
    f = lambda W: predict(W, b, inputs)  # noqa: E731  the predictions as a function of the weights
    J = fc.jacobian(f, W)
    assert J.shape == (4, 3)
    np.testing.assert_allclose(J, (p * (1 - p))[:, None] * inputs, rtol=1e-10)
    H = fc.hessian(loss, W, args=(b,))
    np.testing.assert_allclose(H, inputs.T @ ((p * (1 - p))[:, None] * inputs), rtol=1e-7)


# ---- scipy.optimize.curve_fit -------------------------------------------------------------

def test_curve_fit_example():
    def func(x, a, b, c):
        return a * np.exp(-b * x) + c

    xdata = np.linspace(0, 4, 50)
    y = func(xdata, 2.5, 1.3, 0.5)
    rng = np.random.default_rng(1234)  # the documentation's generator, seeded
    y_noise = 0.2 * rng.normal(size=xdata.size)
    ydata = y + y_noise
    popt, pcov = so.curve_fit(func, xdata, ydata)
    r = fc.fit(func, xdata, ydata)
    assert r.success
    np.testing.assert_allclose(r.x, popt, rtol=1e-5)
    # constrained to 0 <= a <= 3, 0 <= b <= 1, 0 <= c <= 0.5 curve_fit finds other parameters; fastcalc
    # has no bounds, but the unconstrained fit is the one above
    assert list(r.params) == ["a", "b", "c"]


def test_a_math_function_is_called_one_number_at_a_time():
    # math.sin cannot take an array: called per point, no option needed
    assert fc.derivative(math.sin, 1.0) == pytest.approx(math.cos(1.0), rel=1e-12)
    np.testing.assert_allclose(fc.derivative(math.exp, [0.0, 1.0]), [1.0, math.e], rtol=1e-12)
