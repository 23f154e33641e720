import numpy as np
import pytest

import fastcalc as fc
from fastcalc.reference import optimize as ref

QUAD = fc.expr("x**2 - 4*x + 4")
ROSEN = fc.expr("(1 - x)**2 + 100*(y - x**2)**2")
HIMMEL = fc.expr("(x**2 + y - 11)**2 + (x + y**2 - 7)**2")
COURSE = {0.4: [1.6, 1.92, 1.984, 1.9968, 1.99936],
          0.9: [3.6, 0.72, 3.024, 1.1808, 2.65536],
          0.1: [0.4, 0.72, 0.976, 1.1808, 1.34464]}


def vg_of(expr, n):
    """NumPy value_and_grad of an expression for the reference (gradient from the Program)."""
    prog = fc.optimize._program(expr, 1)

    def vg(X):
        R = prog.eval(np.ascontiguousarray(X, dtype=float))
        return R[:, 0], R[:, 1:1 + n]
    return vg


@pytest.mark.parametrize("lr", sorted(COURSE))
def test_course_tables_descent_and_ascent(lr):
    d = fc.descent(QUAD, 0.0, lr=lr, steps=5)
    a = fc.ascent(-QUAD, 0.0, lr=lr, steps=5)
    for r in (d, a):
        assert r.history.shape == (6, 1, 1) and r.x.shape == (1, 1)
        assert [round(v, 10) for v in r.history[1:, 0, 0]] == COURSE[lr]
        np.testing.assert_allclose(r.history[1:, 0, 0], COURSE[lr], rtol=1e-14)
        assert r.nit[0] == 5 and not r.converged[0] and not r.diverged[0]


def test_course_table_with_callable_and_exact_grad():
    r = fc.descent(lambda t: t**2 - 4 * t + 4, [0.0], lr=0.4, steps=5, grad=lambda t: 2 * t - 4)
    assert r.history[1:, 0, 0].tolist() == COURSE[0.4]
    r = fc.descent(lambda t: t**2 - 4 * t + 4, [0.0], lr=0.4, steps=5)  # finite differences
    np.testing.assert_allclose(r.history[1:, 0, 0], COURSE[0.4], rtol=1e-9)


def test_lr_sweep_one_call():
    r = fc.descent(QUAD, 0.0, lr=[0.1, 0.4, 0.9], steps=5)
    assert r.x.shape == (3, 1)
    for i, lr in enumerate([0.1, 0.4, 0.9]):
        np.testing.assert_allclose(r.history[1:, i, 0], COURSE[lr], rtol=1e-14)


def test_flat_starts_for_one_variable():
    r = fc.descent(QUAD, [0.0, 1.0, 5.0], lr=0.4, steps=50, tol=1e-12)
    assert r.x.shape == (3, 1) and r.converged.all()
    np.testing.assert_allclose(r.x[:, 0], 2.0, atol=1e-12)


@pytest.mark.parametrize("method", ["gd", "momentum", "nesterov", "adam"])
@pytest.mark.parametrize("maximize", [False, True])
def test_matches_reference(method, maximize):
    f = -ROSEN if maximize else ROSEN
    rng = np.random.default_rng(1)
    x0 = rng.uniform(-1.5, 1.5, (70, 2))  # more than one block of runs
    lr = 1e-3 if method != "adam" else 1e-2
    r = fc.descent(f, x0, lr=lr, steps=200, method=method, maximize=maximize, tol=1e-3)
    with np.errstate(all="ignore"):
        e = ref.descent(vg_of(f, 2), x0, lr=lr, steps=200, method=method, maximize=maximize, tol=1e-3)
    np.testing.assert_allclose(r.history, e["history"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r.x, e["x"], rtol=1e-12, atol=1e-12)
    for key in ("nit", "converged", "diverged"):
        np.testing.assert_array_equal(getattr(r, key), e[key])


def test_line_search_matches_reference_and_helps():
    x0 = np.array([[-1.2, 1.0], [0.5, 0.5], [2.0, -1.0]])
    r = fc.descent(ROSEN, x0, lr=1.0, steps=300, line_search=True)
    with np.errstate(all="ignore"):
        e = ref.descent(vg_of(ROSEN, 2), x0, lr=1.0, steps=300, line_search=True)
    np.testing.assert_allclose(r.x, e["x"], rtol=1e-10, atol=1e-12)
    assert not r.diverged.any()
    assert np.all(np.diff(r.fun_history, axis=0) <= 1e-12)  # Armijo: f never increases


def test_callable_matches_expression():
    x0 = np.array([[1.0, 1.0], [-3.0, 3.0], [0.0, -2.0]])
    f = lambda X: HIMMEL(X)  # noqa: E731
    g = lambda X: vg_of(HIMMEL, 2)(X)[1]  # noqa: E731
    r1 = fc.descent(HIMMEL, x0, lr=1e-2, steps=100, method="momentum")
    r2 = fc.descent(f, x0, lr=1e-2, steps=100, method="momentum", grad=g)
    r3 = fc.descent(f, x0, lr=1e-2, steps=100, method="momentum")  # finite differences
    np.testing.assert_allclose(r2.history, r1.history, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(r3.x, r1.x, rtol=1e-6, atol=1e-6)


def test_divergence_detected_and_frozen():
    r = fc.descent(QUAD, 0.0, lr=[0.1, 1.5], steps=200)
    assert r.diverged.tolist() == [False, True] and r.nit[1] < 200
    frozen = r.history[r.nit[1]:, 1, 0]
    assert np.all(frozen == frozen[0])
    r = fc.descent(ROSEN, [[3.0, 3.0]], lr=0.1, steps=100)  # overflows to inf
    assert r.diverged[0] and not r.converged[0]


def test_tolerance_and_history_thinning():
    r = fc.descent(QUAD, [0.0, 10.0], lr=0.4, steps=1000, tol=1e-8, history_every=10)
    assert r.converged.all() and np.all(r.nit < 100) and np.all(r.grad_norm < 1e-8)
    # rows up to the last step any run took (steps is "at most"), the final iterates last
    assert r.history.shape == (-(-int(r.nit.max()) // 10) + 1, 2, 1)
    np.testing.assert_array_equal(r.history[-1], r.x)
    r = fc.descent(QUAD, 0.0, lr=0.4, steps=10, history=False)
    assert r.history is None and r.fun_history is None


def test_threads_same_result():
    rng = np.random.default_rng(2)
    x0 = rng.uniform(-2, 2, (300, 2))
    a = fc.descent(HIMMEL, x0, lr=1e-2, steps=50, history=False)
    b = fc.descent(HIMMEL, x0, lr=1e-2, steps=50, history=False, threads=2)
    np.testing.assert_array_equal(a.x, b.x)


def test_bad_input():
    with pytest.raises(ValueError, match="'sgd'"):
        fc.descent(QUAD, 0.0, method="sgd")
    with pytest.raises(ValueError, match="lr"):
        fc.descent(QUAD, 0.0, lr=0.0)
    with pytest.raises(ValueError, match="lr"):
        fc.descent(QUAD, 0.0, lr=[0.1, -1.0])
    with pytest.raises(ValueError, match="x0"):
        fc.descent(ROSEN, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="lr has 3"):
        fc.descent(ROSEN, np.zeros((2, 2)), lr=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="line_search"):
        fc.descent(QUAD, 0.0, method="adam", line_search=True)
    with pytest.raises(ValueError, match="grad"):
        fc.descent(lambda t: t, [0.0], grad=lambda t: np.ones((3, 3)))


def test_grad_exception_propagates():
    class Boom(Exception):
        pass

    def grad(X):
        raise Boom("from grad")
    with pytest.raises(Boom, match="from grad"):
        fc.descent(lambda X: X[:, 0] ** 2, [[1.0, 2.0]], grad=grad)


def test_callable_flat_x0_starts_or_point():
    r = fc.descent(lambda t: (t - 2.0) ** 2, [0.0, 1.0, 5.0], lr=0.5, steps=3, grad=lambda t: 2 * (t - 2.0))
    assert r.x.shape == (3, 1)
    np.testing.assert_allclose(r.x[:, 0], 2.0)
    r = fc.descent(lambda X: X[:, 0] ** 2 + X[:, 1] ** 2, [1.0, 2.0], lr=0.25, steps=3,
                   grad=lambda X: 2 * X)
    assert r.x.shape == (1, 2)
    np.testing.assert_allclose(r.history[1, 0], [0.5, 1.0])
