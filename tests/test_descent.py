import dataclasses

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
    d = fc.descent(QUAD, 0.0, lr=lr, maxiter=5)
    a = fc.ascent(-QUAD, 0.0, lr=lr, maxiter=5)
    for r in (d, a):
        # one start of one variable: x is a number, history one row per step
        assert r.history.shape == (6,) and isinstance(r.x, float)
        assert [round(v, 10) for v in r.history[1:]] == COURSE[lr]
        np.testing.assert_allclose(r.history[1:], COURSE[lr], rtol=1e-14)
        assert r.nit == 5 and not r.converged and not r.diverged and r.status == 1 and not r.success
        assert "maxiter" in r.message


def test_course_table_with_callable_and_exact_grad():
    r = fc.descent(lambda t: t**2 - 4 * t + 4, [0.0], lr=0.4, maxiter=5, grad=lambda t: 2 * t - 4)
    assert r.history.shape == (6, 1) and r.history[1:, 0].tolist() == COURSE[0.4]
    r = fc.descent(lambda t: t**2 - 4 * t + 4, [0.0], lr=0.4, maxiter=5)  # finite differences
    np.testing.assert_allclose(r.history[1:, 0], COURSE[0.4], rtol=1e-9)


def test_lr_sweep_one_call():
    r = fc.descent(QUAD, 0.0, lr=[0.1, 0.4, 0.9], maxiter=5)
    assert r.x.shape == (3,) and r.history.shape == (6, 3)
    for i, lr in enumerate([0.1, 0.4, 0.9]):
        np.testing.assert_allclose(r.history[1:, i], COURSE[lr], rtol=1e-14)


def test_flat_starts_for_one_variable():
    r = fc.descent(QUAD, [0.0, 1.0, 5.0], lr=0.4, maxiter=50, gtol=1e-12)
    assert r.x.shape == (3,) and r.converged.all() and r.success.all() and r.nit.shape == (3,)
    np.testing.assert_allclose(r.x, 2.0, atol=1e-12)


@pytest.mark.parametrize("method", ["gd", "momentum", "nesterov", "adam"])
@pytest.mark.parametrize("maximize", [False, True])
def test_matches_reference(method, maximize):
    f = -ROSEN if maximize else ROSEN
    rng = np.random.default_rng(1)
    x0 = rng.uniform(-1.5, 1.5, (70, 2))  # more than one block of runs
    lr = 1e-3 if method != "adam" else 1e-2
    r = fc.descent(f, x0, lr=lr, maxiter=200, method=method, maximize=maximize, gtol=1e-3)
    with np.errstate(all="ignore"):
        e = ref.descent(vg_of(f, 2), x0, lr=lr, steps=200, method=method, maximize=maximize, tol=1e-3)
    np.testing.assert_allclose(r.history, e["history"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r.x, e["x"], rtol=1e-12, atol=1e-12)
    for key in ("nit", "converged", "diverged"):
        np.testing.assert_array_equal(getattr(r, key), e[key])


def test_line_search_matches_reference_and_helps():
    x0 = np.array([[-1.2, 1.0], [0.5, 0.5], [2.0, -1.0]])
    r = fc.descent(ROSEN, x0, lr=1.0, maxiter=300, line_search=True, gtol=0)
    with np.errstate(all="ignore"):
        e = ref.descent(vg_of(ROSEN, 2), x0, lr=1.0, steps=300, line_search=True)
    np.testing.assert_allclose(r.x, e["x"], rtol=1e-10, atol=1e-12)
    assert not r.diverged.any()
    assert np.all(np.diff(r.fun_history, axis=0) <= 1e-12)  # Armijo: f never increases


def test_callable_matches_expression():
    x0 = np.array([[1.0, 1.0], [-3.0, 3.0], [0.0, -2.0]])
    f = lambda X: HIMMEL(X)  # noqa: E731
    g = lambda X: vg_of(HIMMEL, 2)(X)[1]  # noqa: E731
    r1 = fc.descent(HIMMEL, x0, lr=1e-2, maxiter=100, method="momentum", gtol=0)
    r2 = fc.descent(f, x0, lr=1e-2, maxiter=100, method="momentum", grad=g, gtol=0)
    r3 = fc.descent(f, x0, lr=1e-2, maxiter=100, method="momentum", gtol=0)  # finite differences
    np.testing.assert_allclose(r2.history, r1.history, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(r3.x, r1.x, rtol=1e-6, atol=1e-6)


def test_divergence_detected_and_frozen():
    r = fc.descent(QUAD, 0.0, lr=[0.1, 1.5], maxiter=200, gtol=0)
    assert r.diverged.tolist() == [False, True] and r.nit[1] < 200 and r.status.tolist() == [1, 2]
    frozen = r.history[r.nit[1]:, 1]
    assert np.all(frozen == frozen[0])
    r = fc.descent(ROSEN, [[3.0, 3.0]], lr=0.1, maxiter=100)  # overflows to inf
    assert r.diverged[0] and not r.converged[0] and not r.success[0] and "diverged" in r.message


def test_tolerance_and_history_thinning():
    r = fc.descent(QUAD, [0.0, 10.0], lr=0.4, maxiter=1000, gtol=1e-8, history_every=10)
    assert r.converged.all() and np.all(r.nit < 100) and np.all(r.grad_norm < 1e-8)
    # rows up to the last step any run took (maxiter is "at most"), the final iterates last
    assert r.history.shape == (-(-int(r.nit.max()) // 10) + 1, 2)
    np.testing.assert_array_equal(r.history[-1], r.x)
    r = fc.descent(QUAD, 0.0, lr=0.4, maxiter=10, history=False)
    assert r.history is None and r.fun_history is None


def test_threads_same_result():
    rng = np.random.default_rng(2)
    x0 = rng.uniform(-2, 2, (300, 2))
    a = fc.descent(HIMMEL, x0, lr=1e-2, maxiter=50, history=False)
    b = fc.descent(HIMMEL, x0, lr=1e-2, maxiter=50, history=False, threads=2)
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
    with pytest.raises(ValueError, match="gtol"):
        fc.descent(QUAD, 0.0, gtol=-1.0)
    with pytest.raises(TypeError, match="maxiter"):
        fc.descent(QUAD, 0.0, maxiter=2.5)
    with pytest.raises(ValueError, match="one value"):
        fc.descent(lambda x: [x[0], x[1]], [1.0, 2.0])
    with pytest.raises(TypeError, match="complex"):
        fc.descent(lambda x: x[0] * 1j, [1.0, 2.0])
    with pytest.raises(TypeError, match="not both"), pytest.warns(DeprecationWarning):
        fc.descent(QUAD, 0.0, steps=3, maxiter=3)


def test_grad_exception_propagates():
    class Boom(Exception):
        pass

    def grad(X):
        raise Boom("from grad")
    with pytest.raises(Boom, match="from grad"):
        fc.descent(lambda X: X[:, 0] ** 2, [[1.0, 2.0]], grad=grad)

    def f(x):
        raise Boom("from f")
    with pytest.raises(Boom, match="from f"):
        fc.descent(f, [1.0, 2.0])


def test_callable_flat_x0_starts_or_point():
    # f maps the flat x0 elementwise: starts of a function of one variable
    r = fc.descent(lambda t: (t - 2.0) ** 2, [0.0, 1.0, 5.0], lr=0.5, maxiter=3, grad=lambda t: 2 * (t - 2.0))
    assert r.x.shape == (3,)
    np.testing.assert_allclose(r.x, 2.0)
    # f of a batch of rows (it fails on one point): one start of two variables
    r = fc.descent(lambda X: X[:, 0] ** 2 + X[:, 1] ** 2, [1.0, 2.0], lr=0.25, maxiter=3,
                   grad=lambda X: 2 * X)
    assert r.x.shape == (2,)
    np.testing.assert_allclose(r.history[1], [0.5, 1.0])


def test_default_gtol_reports_convergence():
    # without a tolerance the runs went on forever: x**2 reached 1.6e-140, converged False
    r = fc.descent(fc.expr("x**2"), 5.0, lr=0.1, maxiter=1000)
    assert r.success and r.converged and r.status == 0 and r.nit < 200 and abs(r.x) < 1e-6
    assert r.gtol == pytest.approx(1e-8 * 10.0) and r.grad_norm < r.gtol and "converged" in r.message
    r = fc.descent(lambda x: x**2, 5.0, lr=0.1, maxiter=1000)  # a callable: the same tolerance
    assert r.success and r.gtol == pytest.approx(1e-7, rel=1e-9)
    r = fc.descent(fc.expr("x**2"), 5.0, lr=0.1, maxiter=1000, gtol=0)  # gtol=0: every step
    assert r.nit == 1000 and not r.success and r.status == 1


def test_result_is_immutable_and_a_mapping():
    r = fc.descent(QUAD, [0.0, 1.0], lr=0.4, maxiter=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.x = None
    assert r["nit"] is r.nit and "success" in dict(r) and "DescentResult(" in repr(r)
    assert set(r) >= {"x", "fun", "grad_norm", "nit", "success", "status", "message"}


def test_old_argument_names_warn_and_still_work():
    with pytest.warns(DeprecationWarning, match="maxiter"):
        a = fc.descent(QUAD, 0.0, lr=0.4, steps=5, gtol=0)
    with pytest.warns(DeprecationWarning, match="gtol"):
        b = fc.descent(QUAD, 0.0, lr=0.4, maxiter=5, tol=0.0)
    assert a.nit == b.nit == 5 and a.x == b.x


def _bowl(x):  # written for one point, as scipy's and JAX's examples are
    return (x[0] - 1) ** 2 + 10 * (x[1] + 2) ** 2 + 0.5 * x[0] * x[1]


def _bowl_grad(x):
    return np.array([2 * (x[0] - 1) + 0.5 * x[1], 20 * (x[1] + 2) + 0.5 * x[0]])


@pytest.mark.parametrize("vectorized", [None, False, True, "columns"])
@pytest.mark.parametrize("with_grad", [False, True])
def test_callables_written_for_one_point_or_a_batch(vectorized, with_grad):
    # one point (the default finds out), or a batch as rows (k, n) or as columns (n, k)
    f = {None: _bowl, False: _bowl, True: lambda X: _bowl(X.T), "columns": _bowl}[vectorized]
    g = {None: _bowl_grad, False: _bowl_grad, True: lambda X: _bowl_grad(X.T).T, "columns": _bowl_grad}[vectorized]
    x0 = np.array([-1.2, 1.0])
    r = fc.descent(f, x0, grad=g if with_grad else None, lr=0.04, maxiter=2000, vectorized=vectorized)
    e = fc.descent(fc.expr("(x - 1)**2 + 10*(y + 2)**2 + 0.5*x*y"), x0, lr=0.04, maxiter=2000)
    assert r.x.shape == (2,) and r.success and e.success
    np.testing.assert_allclose(r.x, e.x, rtol=1e-7 if not with_grad else 1e-12)
    assert r.nit == e.nit or not with_grad


def test_args_reach_f_and_grad():
    r = fc.descent(lambda x, c: (x[0] - c) ** 2 + x[1] ** 2, [0.0, 1.0], args=(3.0,), lr=0.3, maxiter=500,
                   grad=lambda x, c: np.array([2 * (x[0] - c), 2 * x[1]]))
    assert r.success
    np.testing.assert_allclose(r.x, [3.0, 0.0], atol=1e-6)


@pytest.mark.parametrize("n", [1, 3, 4, 5, 7])
@pytest.mark.parametrize("method", ["gd", "nesterov", "adam"])
def test_matches_reference_in_any_number_of_variables(n, method):
    # the interpreter's step loop has one form per count of variables up to 4 and one beyond
    text = " + ".join(f"(x{i} - {0.5 * i})**2 + 0.05*x{i}**4" for i in range(n))
    text += "".join(f" + 0.3*x{i}*x{i + 1}" for i in range(n - 1))
    f = fc.expr(text, vars=[f"x{i}" for i in range(n)])
    x0 = np.random.default_rng(n).uniform(-4, 4, (90, n))
    lr = np.geomspace(1e-3, 3.0 if method == "adam" else 0.6, 90)
    r = fc.descent(f, x0, lr=lr, maxiter=400, method=method, gtol=1e-6)
    with np.errstate(all="ignore"):
        e = ref.descent(vg_of(f, n), x0, lr=lr, steps=400, method=method, tol=1e-6)
    assert r.converged.any() and (method == "adam" or r.diverged.any())
    for key in ("nit", "converged", "diverged"):
        np.testing.assert_array_equal(getattr(r, key), e[key])
    ok = ~r.diverged
    np.testing.assert_allclose(r.x[ok], e["x"][ok], rtol=1e-12, atol=1e-12)
