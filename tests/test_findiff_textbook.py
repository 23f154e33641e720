"""A fixed step gives the textbook formula, bit for bit, and the same bits as the NumPy reference."""
import numpy as np
import pytest

import fastcalc as fc
from fastcalc import reference as ref


def square(x):
    return x**2


@pytest.mark.parametrize(
    "h, expected",
    [(0.01, 6.009999999999849), (0.001, 6.000999999999479), (0.0001, 6.000100000012054),
     (0.00001, 6.000009999951316), (1e-16, 0.0), (float(np.sqrt(np.finfo(float).eps)), 6.0)],
)
def test_forward_difference_reproduces_the_course_figures(h, expected):
    assert fc.derivative(square, 3.0, method="forward", h=h) == expected


def test_textbook_formulas_in_textbook_order():
    x, h = 3.0, 1e-15
    assert fc.derivative(square, x, method="forward", h=h) == (square(x + h) - square(x)) / h
    assert fc.derivative(square, x, method="backward", h=h) == (square(x) - square(x - h)) / h
    assert fc.derivative(square, x, method="central", h=h) == (square(x + h) - square(x - h)) / (2 * h)


def test_machine_epsilon():
    assert fc.eps == np.finfo(np.float64).eps
    assert 1.0 + fc.eps > 1.0 and 1.0 + fc.eps / 2 == 1.0


@pytest.mark.parametrize("method", ["central", "forward", "backward"])
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_fixed_step_matches_reference_bitwise(method, n, rng):
    x = rng.uniform(-2, 2, 50)
    orders = (2, 4, 6, 8) if method == "central" else (1, 2, 3, 4)
    for order in orders:
        got = fc.derivative(np.sin, x, n, method=method, order=order, h=1e-2)
        want = ref.derivative(np.sin, x, n, method=method, order=order, h=1e-2)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("method, order", [("central", 2), ("central", 8), ("forward", 1), ("backward", 3)])
def test_fixed_step_over_many_chunks_matches_reference_bitwise_and_reports_nan(method, order, rng):
    # more points than one chunk of calls of f; log is NaN below 0 and -inf at 0
    x = np.concatenate([rng.uniform(0.5, 3.0, 20_001), [-1.0, 0.0]])
    h = 1e-3
    info = fc.derivative(np.log, x, method=method, order=order, h=h, full_output=True)
    got = info.df
    want = ref.derivative(np.log, x, method=method, order=order, h=h)
    np.testing.assert_array_equal(got, want)
    assert np.isnan(got[-2]) and not np.isfinite(got[-1])
    assert not np.any(info.status[:-2]) and np.all(info.status[-2:])
    assert np.all(info.h == h) and np.all(np.isnan(info.error))
    nodes, weights, _ = ref.stencil(method, 1, order)
    assert np.all(info.nfev == sum(w != 0 for w in weights))
    # a function of one variable through gradient(): the same bits
    g = fc.gradient(lambda X: np.log(X[:, 0]), x[:-2, None], method=method, order=order, h=h)
    np.testing.assert_array_equal(g[:, 0], want[:-2])


@pytest.mark.parametrize("order", [2, 4, 6, 8])
def test_central_stencil_of_order_p_is_exact_on_degree_p_polynomials(order, rng):
    coeffs = rng.uniform(-1, 1, order + 1)
    p = np.polynomial.Polynomial(coeffs)
    x = np.linspace(-1, 1, 9)
    for n in (1, 2):
        got = fc.derivative(p, x, n, order=order, h=0.25)
        np.testing.assert_allclose(got, p.deriv(n)(x), rtol=0, atol=1e-12)


def test_one_step_lower_degree_is_not_exact():
    # the check above can fail: order 2 on a cubic has an h**2 error
    got = fc.derivative(lambda x: x**3, 1.0, h=0.25)
    assert abs(got - 3.0) > 0.05


def test_fornberg_weights_match_reference_and_known_values():
    from fastcalc import _core

    assert _core.fornberg_weights(1, [-1, 0, 1]) == [-0.5, 0.0, 0.5]
    assert _core.fornberg_weights(2, [-1, 0, 1]) == [1.0, -2.0, 1.0]
    nodes = [-3, -1.5, 0, 0.5, 2]
    np.testing.assert_array_equal(_core.fornberg_weights(3, nodes, 0.3), ref.fornberg_weights(3, nodes, 0.3))
    nodes4, w4 = _core.stencil(0, 1, 4)
    np.testing.assert_allclose(w4, [1 / 12, -2 / 3, 0, 2 / 3, -1 / 12], rtol=1e-15)


def test_hessian_with_fixed_step_matches_reference_bitwise(rng):
    def f(X):
        return np.exp(X[:, 0]) * np.sin(X[:, 1]) + X[:, 2] ** 3 * X[:, 0]

    x = rng.uniform(-1, 1, 3)
    np.testing.assert_array_equal(fc.hessian(f, x, h=1e-3), ref.hessian(f, x, h=1e-3))


def test_gradient_and_jacobian_with_fixed_step_match_reference_bitwise(rng):
    def f(X):
        return np.stack([np.exp(X[:, 0]) * X[:, 1], np.cos(X[:, 0] * X[:, 1])], axis=1)

    x = rng.uniform(-1, 1, 2)
    np.testing.assert_array_equal(fc.jacobian(f, x, h=1e-4), ref.jacobian(f, x, h=1e-4))
    g = lambda X: f(X)[:, 0]  # noqa: E731
    np.testing.assert_array_equal(fc.gradient(g, x, h=1e-4), ref.gradient(g, x, h=1e-4))
