"""The ODE core against its NumPy twin (fastcalc.reference.ode): trial solutions, residuals,
their Jacobian (complex step), the loss gradient, one Levenberg-Marquardt step (normal equations
and their dual form) and the error estimate's integrator."""
import numpy as np
import pytest

import fastcalc as fc
from fastcalc import _core
from fastcalc.reference import ode as ref

ACT = {"tanh": 0, "sigmoid": 1, "sin": 2}
CASES = [
    (dict(trial=0, a=0.0, b=1.5, order=1, y0=[0.3, -0.2]), ["y2*x", "sin(y1) - y2**2"], 1),
    (dict(trial=1, a=0.5, b=1.0, order=2, y0=[0.3], dy0=[1.0]), ["-y*dy + x"], 2),
    (dict(trial=2, a=0.0, b=2.0, order=2, ya=[0.0], yb=[1.0]), ["tanh(y) - dy"], 2),
    # three outputs: the widest fused one-layer kernel; four: the general one
    (dict(trial=0, a=0.0, b=1.0, order=1, y0=[0.1, 0.2, -0.3]), ["y2", "-y1 + y3**2", "sin(x*y1)"], 1),
    (dict(trial=1, a=0.0, b=1.0, order=2, y0=[0.1, 0.2, -0.3, 0.5], dy0=[1.0, 0.0, 0.5, -1.0]),
     ["-y2 + dy1", "y1*y3", "cos(dy4)", "x - y4"], 2),
]


def rhs_pair(texts, order):
    """The right-hand side as a tape (for the core) and as a complex-safe NumPy function."""
    m = len(texts)
    names = ["y"] if m == 1 else [f"y{i + 1}" for i in range(m)]
    e = fc.expr(texts, vars=["x", *names, *(["d" + n for n in names] if order == 2 else [])])
    lam = fc.reference.lambdify(e, dtype=complex)

    def f(x, Y, DY=None):
        cols = [x] + [Y[:, i] for i in range(m)] + ([DY[:, i] for i in range(m)] if DY is not None else [])
        out = lam(*cols).reshape(x.size, m)
        return out if any(np.iscomplexobj(v) for v in (x, Y, DY)) else out.real

    return e, f


@pytest.mark.parametrize("problem, texts, order", CASES)
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "sin"])
@pytest.mark.parametrize("K", [9, 150])  # one partial chunk of points; several chunks
@pytest.mark.parametrize("hidden", [(5,), (4, 3)])  # one hidden layer has its own fused kernels
def test_cpp_residuals_jacobian_and_gradient_match_the_numpy_reference(problem, texts, order, activation, K, hidden):
    m = len(texts)
    e, f = rhs_pair(texts, order)
    act = ACT[activation]
    params = np.asarray(_core.ode_init(list(hidden), m, act, 7)) + 0.1
    x = np.linspace(problem["a"], problem["b"], K)
    got = _core.ode_trial(list(hidden), m, act, problem, params, x)
    want = ref.solution(params, hidden, m, activation, problem, x)
    for k in range(3 if order == 2 else 2):
        np.testing.assert_allclose(got[k], want[k], rtol=1e-13, atol=1e-14)
    r, J = _core.ode_residuals(list(hidden), m, act, problem, e._tape(), None, params, x, True)
    np.testing.assert_allclose(r, ref.residuals(params, hidden, m, activation, problem, f, x), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(J, ref.jacobian(params, hidden, m, activation, problem, f, x), rtol=1e-10, atol=1e-10)
    loss, g = _core.ode_gradient(list(hidden), m, act, problem, e._tape(), None, params, x)
    loss_ref, g_ref = ref.loss_gradient(params, hidden, m, activation, problem, f, x)
    assert loss == pytest.approx(loss_ref, rel=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-12 * np.max(np.abs(g_ref)))


def test_a_python_rhs_gives_the_tapes_residuals_and_jacobian():
    # a Python callable is called once per pass with every point (not per chunk): same numbers
    problem, texts, order = CASES[0]
    e, f = rhs_pair(texts, order)
    params = np.asarray(_core.ode_init([5], 2, 0, 1))
    x = np.linspace(0, 1.5, 130)
    jac = lambda x, Y: np.stack([np.stack([np.zeros_like(x), x], 1),  # noqa: E731
                                 np.stack([np.cos(Y[:, 0]), -2 * Y[:, 1]], 1)], 1)
    r1, J1 = _core.ode_residuals([5], 2, 0, problem, e._tape(), None, params, x, True)
    r2, J2 = _core.ode_residuals([5], 2, 0, problem, f, jac, params, x, True)
    np.testing.assert_allclose(r2, r1, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(J2, J1, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("hidden, K", [((6,), 40), ((40,), 8)])  # P < R: normal equations; P > R: dual
def test_one_levenberg_marquardt_step_matches_the_reference(hidden, K):
    problem = dict(trial=0, a=0.0, b=1.0, order=1, y0=[0.5])
    e, f = rhs_pair(["x - y**2"], 1)
    params = np.asarray(_core.ode_init(list(hidden), 1, 0, 3))
    x = np.linspace(0, 1, K)
    res = _core.ode_train(list(hidden), 1, 0, problem, e._tape(), None, params, x, 0, 1e-2, 1, 0.0, 10, None)
    # the damping starts at 1e-3 and a rejected step multiplies it by 2, 4, 8, ... (Nielsen)
    loss0 = np.mean(ref.residuals(params, hidden, 1, "tanh", problem, f, x) ** 2)
    lam, nu = 1e-3, 2.0
    for _ in range(40):
        want = ref.lm_step(params, hidden, 1, "tanh", problem, f, x, lam)
        if np.mean(ref.residuals(want, hidden, 1, "tanh", problem, f, x) ** 2) < loss0:
            break
        lam, nu = lam * nu, nu * 2
    np.testing.assert_allclose(res["params"], want, rtol=1e-7, atol=1e-9 * np.max(np.abs(want)))
    assert res["loss_history"][-1] < res["loss_history"][0]


@pytest.mark.parametrize("problem, texts, order", CASES)
def test_error_estimate_integrator_matches_the_reference(problem, texts, order):
    m = len(texts)
    e, f = rhs_pair(texts, order)
    hidden = (5,)
    params = np.asarray(_core.ode_init(list(hidden), m, 0, 2)) * 0.3

    def fjac(x, Y, DY=None):  # f_y (and f_dy) by the complex step
        h = 1e-30
        outs = []
        for base in ([Y] if DY is None else [Y, DY]):
            J = np.empty((x.size, m, m))
            for l in range(m):
                Z = base.astype(complex)
                Z[:, l] += 1j * h
                args = (Z,) if DY is None else ((Z, DY) if base is Y else (Y, Z))
                J[:, :, l] = f(x, *args).imag / h
            outs.append(J)
        return outs[0] if DY is None else tuple(outs)

    n = 64
    xs, want = ref.error_estimate(params, hidden, m, "tanh", problem, f, fjac, n)
    got = _core.ode_error(list(hidden), m, 0, problem, e._tape(), None, params, np.zeros(m * order), n, n, 0.0)
    np.testing.assert_allclose(got["x"], xs, rtol=0, atol=1e-15)
    np.testing.assert_allclose(got["e"], want, rtol=1e-9, atol=1e-12 * np.max(np.abs(want)))
    assert got["steps"] == n and not got["converged"]  # one grid: nothing to compare with


def test_error_estimate_converges_to_the_exact_error_of_a_linear_problem():
    # y' = -y + x: the error equation is exact (f is linear), e = y_N - y for any network
    problem = dict(trial=0, a=0.0, b=2.0, order=1, y0=[1.0])
    tape = fc.expr("-y + x", vars=["x", "y"])._tape()
    params = np.asarray(_core.ode_init([4], 1, 0, 5)) * 0.2
    est = _core.ode_error([4], 1, 0, problem, tape, None, params, np.zeros(1), 64, 1 << 16, 0.0)
    assert est["converged"]
    y = _core.ode_trial([4], 1, 0, problem, params, est["x"])[0][:, 0]
    true = y - (est["x"] - 1 + 2 * np.exp(-est["x"]))
    np.testing.assert_allclose(est["e"][:, 0], true, rtol=1e-4, atol=1e-9 * np.max(np.abs(true)))
    assert est["max"] == pytest.approx(np.max(np.abs(true)), rel=1e-3)


def test_error_estimate_resolves_the_steepest_unit_of_the_network():
    # y' = 0, y(0) = 0: the error is the network solution itself. One unit is a step 2.5e-4 wide
    # between the grid points of the first levels; coarse grids agree with each other without it.
    problem = dict(trial=0, a=0.0, b=1.0, order=1, y0=[0.0])
    tape = fc.expr("0*x", vars=["x", "y"])._tape()
    t0 = 0.3141592653589793  # in the network's input t in [-1, 1]
    params = np.array([2000.0, 1.0, -2000.0 * t0, 0.5, 1e-6, 0.0, 0.0])  # W1, b1 (2 units), W2, b2
    est = _core.ode_error([2], 1, 0, problem, tape, None, params, np.zeros(1), 64, 1 << 16, 0.0)
    x = np.linspace(0, 1, 400001)
    true = _core.ode_trial([2], 1, 0, problem, params, x)[0][:, 0]
    assert est["converged"] and est["steps"] >= 4 * 2000 * 2  # 4 steps per 1 / (|w| x_scale)
    assert est["max"] == pytest.approx(np.max(np.abs(true)), rel=1e-3)
    # a network too steep for the grid's limit: no estimate rather than a wrong one
    params[0], params[2] = 1e7, -1e7 * t0
    est = _core.ode_error([2], 1, 0, problem, tape, None, params, np.zeros(1), 64, 1 << 16, 0.0)
    assert not est["converged"] and est["max"] == np.inf


_TRAINING_BITS = """
import hashlib, numpy as np, fastcalc as fc
from fastcalc import _core
tape = fc.expr("exp(-x/5)*cos(x) - y/5", vars=["x", "y"])._tape()
problem = dict(trial=0, a=0.0, b=2.0, order=1, y0=[0.0])
h = hashlib.sha1()
for method in (0, 1):  # Levenberg-Marquardt, Adam
    for H, N in ((64, 600), (13, 77), (5, 300)):  # J^T J of 193, 40 and 16 rows
        p0 = np.asarray(_core.ode_init([H], 1, 0, 0))
        res = _core.ode_train([H], 1, 0, problem, tape, None, p0, np.linspace(0, 2, N), method, 1e-2, 8, 0.0, 10, None)
        h.update(res["params"].tobytes())
x = np.concatenate([np.linspace(-30, 30, 600001), np.linspace(-0.7, 0.7, 70001), [0.0, -0.0, np.inf, -np.inf, np.nan]])
h.update(fc.expr("tanh(x)")._tape().eval(x[:, None]).tobytes())
print(h.hexdigest())
"""


def test_training_and_tanh_give_the_same_bits_on_every_vector_path():
    # J^T J takes 8-lane panels on Intel's AVX-512 cores and 4-lane ones elsewhere (or with
    # FASTCALC_SIMD=avx2); tanh runs 8 or 4 lanes: the same operations lane for lane
    import os
    import subprocess
    import sys

    digests = set()
    for path in (None, "avx2"):
        env = dict(os.environ)
        env.pop("FASTCALC_SIMD", None)
        if path:
            env["FASTCALC_SIMD"] = path
        r = subprocess.run([sys.executable, "-c", _TRAINING_BITS], capture_output=True, text=True, env=env,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        digests.add(r.stdout.strip())
    assert len(digests) == 1, digests
