"""Gradients, Jacobians (m x n) and Hessians against analytic results and the NumPy reference."""
import numpy as np
import pytest

import fastcalc as fc
from fastcalc import reference as ref


def rosen(X):
    X = np.atleast_2d(X)
    return np.sum(100.0 * (X[:, 1:] - X[:, :-1] ** 2) ** 2 + (1 - X[:, :-1]) ** 2, axis=1)


def rosen_grad(x):
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def rosen_hess(x):
    n = x.size
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        H[i + 1, i + 1] += 200
        H[i, i + 1] = H[i + 1, i] = -400 * x[i]
    return H


def test_gradient_of_rosenbrock(rng):
    x = rng.uniform(-1.5, 1.5, 7)
    np.testing.assert_allclose(fc.gradient(rosen, x), rosen_grad(x), rtol=1e-10, atol=1e-9)


def test_gradient_batch_shape(rng):
    X = rng.uniform(-1, 1, (5, 4))
    G = fc.gradient(rosen, X)
    assert G.shape == (5, 4)
    for i in range(5):
        np.testing.assert_allclose(G[i], rosen_grad(X[i]), rtol=1e-10, atol=1e-9)


def test_gradient_calls_f_once_per_level_whatever_n():
    calls = []

    def f(X):
        calls.append(X.shape)
        return rosen(X)

    fc.gradient(f, np.full(50, 0.3))  # the first call also finds out how f takes its points
    calls.clear()
    info = fc.gradient(f, np.full(50, 0.3), full_output=True)
    assert len(calls) <= 12  # one call per Richardson level (+ nothing per component)
    assert sum(s[0] for s in calls) == info.nfev.sum()


def test_jacobian_is_m_by_n():
    # f: R^3 -> R^2
    def f(X):
        x, y, z = X.T
        return np.stack([x * y * z, np.sin(x) + y**2], axis=1)

    x = np.array([0.5, -1.0, 2.0])
    J = fc.jacobian(f, x)
    assert J.shape == (2, 3)
    exact = np.array([[-2.0, 1.0, -0.5], [np.cos(0.5), -2.0, 0.0]])
    np.testing.assert_allclose(J, exact, rtol=1e-10, atol=1e-12)
    Jr, _ = ref.jacobian(f, x)
    np.testing.assert_allclose(J, Jr, rtol=1e-10, atol=1e-12)
    assert fc.jacobian(f, np.stack([x, x])).shape == (2, 2, 3)


def test_hessian_of_rosenbrock_is_symmetric_and_accurate(rng):
    x = rng.uniform(-1, 1, 5)
    info = fc.hessian(rosen, x, full_output=True)
    H = info.df
    np.testing.assert_array_equal(H, H.T)
    np.testing.assert_allclose(H, rosen_hess(x), rtol=1e-7, atol=1e-6)
    assert info.error.shape == (5, 5)


def test_mixed_partial_is_not_the_sum_of_partials():
    # the course's slip: d2z/dxdy of x**2 + y**2 is 0, not 2x + 2y
    f = lambda X: X[:, 0] ** 2 + X[:, 1] ** 2  # noqa: E731
    H = fc.hessian(f, [1.0, 2.0])
    np.testing.assert_allclose(H, [[2.0, 0.0], [0.0, 2.0]], atol=1e-7)


def test_per_point_callables(rng):
    x = rng.uniform(-1, 1, 3)
    g = fc.gradient(lambda p: float(rosen(p[None, :])[0]), x, vectorized=False)
    np.testing.assert_allclose(g, rosen_grad(x), rtol=1e-10, atol=1e-9)
    d = fc.derivative(lambda t: float(np.sin(t)), [0.1, 0.2], vectorized=False)
    np.testing.assert_allclose(d, np.cos([0.1, 0.2]), rtol=1e-10)


def test_gradient_with_reference_within_error(rng):
    x = rng.uniform(-1, 1, 4)
    info = fc.gradient(rosen, x, full_output=True)
    g = info.df
    gr, er = ref.gradient(rosen, x)
    assert np.all(np.abs(g - gr) <= 2 * np.maximum(info.error.ravel(), er))


@pytest.mark.parametrize("method", ["forward", "backward"])
def test_one_sided_gradient(method, rng):
    x = rng.uniform(-1, 1, 3)
    np.testing.assert_allclose(fc.gradient(rosen, x, method=method), rosen_grad(x), rtol=1e-8, atol=1e-7)


def test_gradient_entries_small_against_f_stop_at_their_round_off():
    # Rosenbrock at n = 1000: f is ~1e5 and many gradient entries ~1e0, so their estimates never
    # get within 2**-36 of themselves; without the round-off test they ran to the finest steps
    # (2e-11 relative to the largest entry, in 10.7 evaluations per entry instead of 7.8)
    x = np.linspace(-1.2, 1.2, 1000)
    exact = rosen_grad(x)
    info = fc.gradient(rosen, x, full_output=True)
    g = info.df
    assert np.max(np.abs(g - exact)) < 3e-12 * np.max(np.abs(exact))
    assert info.nfev.mean() < 9


@pytest.mark.parametrize("what", ["gradient", "hessian", "derivative"])
def test_batch_size_caps_the_points_per_call_and_changes_no_bit(what):
    calls = []

    def f(X):
        calls.append(len(X))
        return rosen(X) if what != "derivative" else np.sin(X) * X**2

    x = np.full(30, 0.3) if what != "derivative" else np.linspace(-2, 2, 500)
    fn = getattr(fc, what)
    info = fn(f, x, full_output=True)
    whole = info.df
    n_whole = len(calls)
    calls.clear()
    info2 = fn(f, x, batch_size=7, full_output=True)
    split = info2.df
    assert max(calls) <= 7 and len(calls) > n_whole
    assert np.array_equal(whole, split) and np.array_equal(info.error, info2.error)


def test_initial_step_of_scipy_and_numdifftools_is_exact_sooner_on_rosenbrock():
    # Rosenbrock is a quartic: steps of 0.5 (scipy.differentiate's first) or 2 (numdifftools')
    # leave only round-off after one extrapolation, and less of it than 1/16
    x = np.linspace(-1.2, 1.2, 10)
    g_err = [np.max(np.abs(fc.gradient(rosen, x, initial_step=s) - rosen_grad(x))) for s in (None, 0.5)]
    h_err = [np.max(np.abs(fc.hessian(rosen, x, initial_step=s) - rosen_hess(x))) for s in (None, 2.0)]
    assert g_err[1] < g_err[0] / 4 and g_err[1] < 2e-14 * np.max(np.abs(rosen_grad(x)))
    assert h_err[1] < h_err[0] / 4 and h_err[1] < 2e-14 * np.max(np.abs(rosen_hess(x)))


def test_gradient_with_an_initial_step_matches_the_reference_within_error(rng):
    x = rng.uniform(-1, 1, 4)
    info = fc.gradient(rosen, x, initial_step=0.5, full_output=True)
    g = info.df
    gr, er = ref.gradient(rosen, x, initial_step=0.5)
    assert np.all(np.abs(g - gr) <= 2 * np.maximum(info.error.ravel(), er))


@pytest.mark.parametrize("h", [None, 1e-4])
def test_arrays_f_keeps_or_returns_are_never_written_afterwards(h):
    # f gets each call's points in a fresh array written before the call, and its results are
    # read before the next call: what f keeps, or returns again later, stays as it was
    kept, copies, out = [], [], np.empty(0)

    def f(x):
        nonlocal out
        c = x.copy()  # (a float has no copy: the first call, with one number, fails here)
        kept.append(x)
        copies.append(c)
        if out.shape != x.shape:
            out = np.empty_like(x)
        np.sin(x, out=out)  # the same result array, rewritten at every call
        return out

    x = np.linspace(-2, 2, 20_001)
    value = fc.derivative(f, x, h=h)
    assert len(kept) > 2 and len({id(a) for a in kept}) == len(kept)
    assert all(np.array_equal(a, b) for a, b in zip(kept, copies))
    np.testing.assert_allclose(value, np.cos(x), rtol=1e-7 if h else 1e-10, atol=1e-12)
