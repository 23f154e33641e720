"""fastcalc.dask on a dask.distributed LocalCluster of worker processes: the same numbers as
fastcalc in one process (and as the analytic answers), one task per chunk, a worker's exception
unchanged at the caller, and clear errors for collections fastcalc.dask cannot use."""
import logging
import os

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
db = pytest.importorskip("dask.bag")
distributed = pytest.importorskip("dask.distributed")

import dask  # noqa: E402

import fastcalc as fc  # noqa: E402
import fastcalc.dask as fcd  # noqa: E402

F = fc.expr("x*exp(-(x**2 + y**2)) + sin(3*x)*tanh(y)")


def F_numpy(x, y):
    return x * np.exp(-(x**2 + y**2)) + np.sin(3 * x) * np.tanh(y)


def F_grad(x, y):
    e = np.exp(-(x**2 + y**2))
    return np.stack([e - 2 * x**2 * e + 3 * np.cos(3 * x) * np.tanh(y),
                     -2 * x * y * e + np.sin(3 * x) / np.cosh(y) ** 2], axis=-1)


@pytest.fixture(scope="module")
def client():
    # Worker processes import fastcalc from wherever this process found it.
    root = os.path.dirname(os.path.dirname(fc.__file__))
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = root + (os.pathsep + old if old else "")
    try:
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", silence_logs=logging.ERROR)
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(19)
    return rng.uniform(-2.0, 2.0, size=(120_000, 2))


def test_expression_value_gradient_hessian_on_the_cluster(client, points):
    X = da.from_array(points, chunks=(30_000, 2))
    assert len(client.scheduler_info()["workers"]) == 2
    value, grad = dask.compute(*fcd.value_and_gradient(F, X))
    x, y = points[:, 0], points[:, 1]
    np.testing.assert_allclose(value, F_numpy(x, y), rtol=0, atol=1e-15)
    np.testing.assert_allclose(grad, F_grad(x, y), rtol=0, atol=1e-14)
    # the same numbers as one call in this process
    v1, g1 = F.value_and_gradient(points)
    np.testing.assert_allclose(value, v1, rtol=0, atol=4e-16)
    np.testing.assert_allclose(grad, g1, rtol=0, atol=4e-15)
    np.testing.assert_allclose(fcd.evaluate(F, X).compute(), v1, rtol=0, atol=4e-16)
    H = fcd.hessian(F, X[:2000]).compute()
    assert H.shape == (2000, 2, 2)
    np.testing.assert_allclose(H, fc.hessian(F, points[:2000]), rtol=0, atol=1e-13)


def test_one_task_per_chunk():
    X = da.from_array(np.zeros((1000, 2)), chunks=(100, 2))
    value, grad = fcd.value_and_gradient(F, X)
    graph = dict(value.__dask_graph__())
    calls = [k for k in graph if isinstance(k, tuple) and str(k[0]).startswith("fastcalc-vg-matrix-")]
    assert len(calls) == 10  # one C++ pass per chunk, shared by the value and the gradient
    assert dict(grad.__dask_graph__()).keys() >= set(calls)
    assert value.chunks == ((100,) * 10,) and grad.chunks == ((100,) * 10, (2,))


def test_columns_by_name_and_constants(client, points):
    x = da.from_array(points[:, 0], chunks=25_000)
    y = da.from_array(points[:, 1], chunks=25_000)
    np.testing.assert_allclose(fcd.evaluate(F, x=x, y=y).compute(), F_numpy(points[:, 0], points[:, 1]),
                               rtol=0, atol=1e-15)
    v, g = dask.compute(*fcd.value_and_gradient(F, x, 0.5))
    np.testing.assert_allclose(g, F_grad(points[:, 0], 0.5), rtol=0, atol=1e-14)
    vec = fc.expr(["x*y", "x + y"])
    out = fcd.evaluate(vec, da.from_array(points, chunks=(50_000, 2))).compute()
    np.testing.assert_allclose(out, np.stack([points.prod(1), points.sum(1)], 1), rtol=1e-15)


def test_derivative_and_gradient_of_callables(client, points):
    x = da.from_array(np.linspace(-3, 3, 40_001), chunks=10_000)
    d = fcd.derivative(lambda t: np.sin(t) * t, x).compute()
    t = x.compute()
    np.testing.assert_allclose(d, np.cos(t) * t + np.sin(t), rtol=0, atol=1e-11)
    X = da.from_array(points[:20_000], chunks=(5_000, 2))
    G = fcd.gradient(lambda P: F_numpy(P[:, 0], P[:, 1]), X, method="central").compute()
    np.testing.assert_allclose(G, F_grad(points[:20_000, 0], points[:20_000, 1]), rtol=0, atol=1e-9)


def test_descent_sweep_matches_one_process(client):
    himmelblau = fc.expr("(x**2 + y - 11)**2 + (x + y**2 - 7)**2")
    starts = np.random.default_rng(5).uniform(-5, 5, size=(2_000, 2))
    sweep = fcd.descent(himmelblau, da.from_array(starts, chunks=(500, 2)), lr=0.01, maxiter=2_000)
    (got,) = dask.compute(sweep)
    one = fc.descent(himmelblau, starts, lr=0.01, maxiter=2_000, history=False)
    for name in ("x", "fun", "nit", "converged", "diverged"):
        assert got[name].shape[0] == 2_000
        np.testing.assert_array_equal(got[name], getattr(one, name), err_msg=name)
    minima = np.array([[3.0, 2.0], [-2.805118, 3.131312], [-3.779310, -3.283186], [3.584428, -1.848126]])
    ok = ~got["diverged"]
    assert ok.mean() > 0.9
    dist = np.min(np.linalg.norm(got["x"][ok][:, None, :] - minima[None], axis=2), axis=1)
    assert np.max(dist) < 1e-5
    # one learning rate per run, chunked like the starts
    lrs = np.where(np.arange(2_000) % 2 == 0, 0.01, 0.001)
    sweep2 = fcd.descent(himmelblau, da.from_array(starts, chunks=(500, 2)), lr=da.from_array(lrs, chunks=500),
                         maxiter=200)
    one2 = fc.descent(himmelblau, starts, lr=lrs, maxiter=200, history=False)
    np.testing.assert_array_equal(sweep2["x"].compute(), one2.x)


def test_many_ode_solves_from_a_bag_and_from_an_array(client):
    bag = db.from_sequence([{"rhs": "-y", "y0": 1.0}, {"rhs": "x", "y0": 0.0}, {"rhs": "cos(x)", "y0": 0.0}],
                           npartitions=3)
    sols = fcd.solve_odes(bag, domain=(0.0, 1.0)).compute()
    x = np.linspace(0, 1, 101)
    for sol, exact in zip(sols, [np.exp(-x), x**2 / 2, np.sin(x)]):
        assert np.max(np.abs(sol(x) - exact)) < 1e-5
    y0 = da.from_array(np.array([[0.0, 1.0], [1.0, 0.0]]), chunks=(1, 2))
    sols = fcd.solve_odes(y0, rhs=["y2", "-y1"], domain=(0.0, 1.0)).compute()
    np.testing.assert_allclose(sols[0](x), np.stack([np.sin(x), np.cos(x)], 1), atol=1e-5)
    np.testing.assert_allclose(sols[1](x), np.stack([np.cos(x), -np.sin(x)], 1), atol=1e-5)


def test_a_workers_exception_reaches_the_caller_unchanged(client):
    message = "f refused x > 0.6 on a worker"

    def f(t):
        if np.any(t > 0.6):
            raise ZeroDivisionError(message)
        return t**2

    x = da.from_array(np.linspace(0, 1, 5), chunks=2)
    with pytest.raises(ZeroDivisionError, match=message):
        fcd.derivative(f, x).compute()
    # fastcalc's own errors too: points whose coordinates do not fit the expression, found by
    # fastcalc.gradient on a worker
    with pytest.raises(ValueError, match="x has 3 components but the expression has 2 variables"):
        fcd.gradient(fc.expr("x + y"), da.ones((4, 3), chunks=(2, 3))).compute()


def test_non_dask_collections_are_refused_by_name():
    with pytest.raises(ValueError, match="must be a dask array, got numpy.ndarray"):
        fcd.evaluate(F, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="must be a dask array, got builtins.list"):
        fcd.gradient(F, [[0.0, 0.0]])
    with pytest.raises(ValueError, match="must be a dask array"):
        fcd.derivative(np.sin, np.zeros(3))
    with pytest.raises(ValueError, match="must be a dask array"):
        fcd.descent(F, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="dask bag of dicts or a dask array"):
        fcd.solve_odes([{"rhs": "x", "y0": 0.0}], domain=(0.0, 1.0))
    with pytest.raises(ValueError, match="values of 'y' must be a dask array"):
        fcd.evaluate(F, x=da.zeros(3, chunks=3), y=np.zeros(3))


def test_chunks_of_the_wrong_shape_are_refused():
    split = da.zeros((10, 2), chunks=(5, 1))  # the two coordinates of a point in different chunks
    for call in (lambda: fcd.evaluate(F, split), lambda: fcd.value_and_gradient(F, split),
                 lambda: fcd.gradient(F, split), lambda: fcd.hessian(F, split), lambda: fcd.descent(F, split)):
        with pytest.raises(ValueError, match=r"split into chunks \(1, 1\)"):
            call()
    with pytest.raises(ValueError, match="one shape and one chunking"):
        fcd.evaluate(F, da.zeros(10, chunks=5), da.zeros(10, chunks=2))
    with pytest.raises(ValueError, match=r"shape \(k, n\)"):
        fcd.gradient(F, da.zeros((2, 3, 2), chunks=(1, 3, 2)))
    with pytest.raises(ValueError, match="chunked like x0's rows"):
        fcd.descent(F, da.zeros((10, 2), chunks=(5, 2)), lr=da.full(10, 0.1, chunks=2))
    with pytest.raises(ValueError, match=r"shape \(k,\) or \(k, m\)"):
        fcd.solve_odes(da.zeros((2, 2, 2), chunks=1), rhs="-y", domain=(0.0, 1.0))
    with pytest.raises(ValueError, match="full_output"):
        fcd.derivative(np.sin, da.zeros(3, chunks=3), full_output=True)
    with pytest.raises(ValueError, match="history"):
        fcd.descent(F, da.zeros((4, 2), chunks=(2, 2)), history=True)
