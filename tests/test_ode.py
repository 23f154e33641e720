"""ODEs by neural networks: the report's examples against analytic solutions and solve_ivp; the
C++ residuals and their Jacobian against the NumPy reference."""
import pickle

import numpy as np
import pytest

import fastcalc as fc
from fastcalc import _core
from fastcalc.reference import ode as ref

solve_ivp = pytest.importorskip("scipy.integrate").solve_ivp


def check(sol, exact, a, b, tol=1e-5, ivp=None):
    """Max error on a fine grid against the analytic solution, and against solve_ivp when given
    ivp=(f(t, y), y0) (first-order form)."""
    x = np.linspace(a, b, 501)
    err = np.max(np.abs(sol(x) - exact(x)))
    assert err <= tol, err
    if ivp is not None:
        f, y0 = ivp
        ref = solve_ivp(f, (a, b), y0, t_eval=x, rtol=1e-12, atol=1e-12).y
        got = sol(x)
        ref = ref[0] if got.ndim == 1 else ref.T
        assert np.max(np.abs(got - ref)) <= tol
    return err


def test_y_prime_equals_x_the_reports_first_success():
    sol = fc.solve_ode("x", (0.0, 1.0), y0=0.0)
    check(sol, lambda x: x**2 / 2, 0, 1, ivp=(lambda t, y: [t], [0.0]))
    assert sol.loss_history[-1] < sol.loss_history[0]


@pytest.mark.parametrize("gamma", [0.5, -0.7])
def test_exponential_decay_and_growth(gamma):
    sol = fc.solve_ode(f"{-gamma}*y", (0.0, 2.0), y0=1.5)
    check(sol, lambda x: 1.5 * np.exp(-gamma * x), 0, 2, ivp=(lambda t, y: -gamma * y, [1.5]))


def test_logistic_against_analytic_and_solve_ivp():
    sol = fc.solve_ode("2*y*(1 - y)", (0.0, 3.0), y0=0.1)
    check(sol, lambda x: 0.1 * np.exp(2 * x) / (0.9 + 0.1 * np.exp(2 * x)), 0, 3)
    x = np.linspace(0, 3, 101)
    ivp = solve_ivp(lambda t, y: 2 * y * (1 - y), (0, 3), [0.1], t_eval=x, rtol=1e-11, atol=1e-12).y[0]
    assert np.max(np.abs(sol(x) - ivp)) < 1e-5


def test_the_reports_damped_oscillation():
    # y' + y/5 = exp(-x/5) cos x on [0, 2], y(0) = 0: y = exp(-x/5) sin x
    sol = fc.solve_ode("exp(-x/5)*cos(x) - y/5", (0.0, 2.0), y0=0.0)
    check(sol, lambda x: np.exp(-x / 5) * np.sin(x), 0, 2,
          ivp=(lambda t, y: np.exp(-t / 5) * np.cos(t) - y / 5, [0.0]))


def test_poisson_bvp():
    # -g'' = pi**2 sin(pi x), g(0) = g(1) = 0: g = sin(pi x)
    sol = fc.solve_ode("-pi**2*sin(pi*x)", (0.0, 1.0), bc=(0.0, 0.0), order=2)
    check(sol, lambda x: np.sin(np.pi * x), 0, 1)
    # solve_ivp from the exact slope g'(0) = pi: the same curve
    x = np.linspace(0, 1, 201)
    ivp = solve_ivp(lambda t, y: [y[1], -np.pi**2 * np.sin(np.pi * t)], (0, 1), [0.0, np.pi], t_eval=x,
                    rtol=1e-12, atol=1e-12).y[0]
    assert np.max(np.abs(sol(x) - ivp)) < 1e-5
    assert sol(0.0) == 0.0 and abs(sol(1.0)) < 1e-15


def test_second_order_ivp_harmonic_oscillator():
    sol = fc.solve_ode("-y", (0.0, 3.0), y0=0.0, dy0=1.0, order=2)
    check(sol, np.sin, 0, 3)
    x = np.linspace(0, 3, 301)
    ivp = solve_ivp(lambda t, y: [y[1], -y[0]], (0, 3), [0.0, 1.0], t_eval=x, rtol=1e-12, atol=1e-12).y[0]
    assert np.max(np.abs(sol(x) - ivp)) < 1e-5
    np.testing.assert_allclose(sol.derivative(np.linspace(0, 3, 7)), np.cos(np.linspace(0, 3, 7)), atol=1e-4)


def test_coupled_linear_system():
    sol = fc.solve_ode(["y2", "-y1"], (0.0, 2.0), y0=[0.0, 1.0])
    check(sol, lambda x: np.stack([np.sin(x), np.cos(x)], axis=1), 0, 2, ivp=(lambda t, y: [y[1], -y[0]], [0.0, 1.0]))
    assert sol(np.zeros(3)).shape == (3, 2)


def test_nonlinear_coupled_system_over_length_three_against_solve_ivp():
    x = np.linspace(0, 3, 121)
    ivp = solve_ivp(lambda t, y: [y[0] - y[0] * y[1], y[0] * y[1] - y[1]], (0, 3), [1.0, 0.5], t_eval=x,
                    rtol=1e-12, atol=1e-12).y.T
    sol = fc.solve_ode(["y1 - y1*y2", "y1*y2 - y2"], (0.0, 3.0), y0=[1.0, 0.5])
    assert np.max(np.abs(sol(x) - ivp)) < 1e-5


def test_python_callable_rhs_with_and_without_jac():
    sol = fc.solve_ode(lambda x, y: -0.5 * y, (0.0, 2.0), y0=1.0)
    check(sol, lambda x: np.exp(-0.5 * x), 0, 2)
    sol2 = fc.solve_ode(lambda x, y: -0.5 * y, (0.0, 2.0), y0=1.0, jac=lambda x, y: np.full_like(y, -0.5))
    check(sol2, lambda x: np.exp(-0.5 * x), 0, 2)


def test_deterministic_for_a_seed_and_picklable():
    a = fc.solve_ode("x", (0.0, 1.0), y0=0.0, seed=3, epochs=50)
    b = fc.solve_ode("x", (0.0, 1.0), y0=0.0, seed=3, epochs=50)
    np.testing.assert_array_equal(a.params, b.params)
    c = pickle.loads(pickle.dumps(a))
    x = np.linspace(0, 1, 11)
    np.testing.assert_array_equal(c(x), a(x))
    np.testing.assert_array_equal(c.residual(x), a.residual(x))


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_other_optimizers_decrease_the_loss(optimizer):
    sol = fc.solve_ode("x", (0.0, 1.0), y0=0.0, optimizer=optimizer, epochs=300)
    assert sol.loss_history[-1] < 1e-2 * sol.loss_history[0]


def test_callback_can_stop_and_exceptions_propagate():
    seen = []

    def cb(epoch, loss):
        seen.append(epoch)
        return epoch >= 20

    sol = fc.solve_ode("x", (0.0, 1.0), y0=0.0, callback=cb, tol=0.0)
    assert sol.interrupted and sol.epochs == 20 and seen[-1] == 20

    class Boom(Exception):
        pass

    def bad(epoch, loss):
        raise Boom("callback")

    with pytest.raises(Boom, match="callback"):
        fc.solve_ode("x", (0.0, 1.0), y0=0.0, callback=bad)

    def bad_rhs(x, y):
        raise Boom("rhs")

    with pytest.raises(Boom, match="rhs"):
        fc.solve_ode(bad_rhs, (0.0, 1.0), y0=0.0)


def test_non_finite_residual_stops_with_the_epoch():
    with pytest.raises(RuntimeError, match="non-finite at epoch 0"):
        fc.solve_ode("exp(exp(exp(y)))", (0.0, 1.0), y0=3.0)


@pytest.mark.parametrize("kwargs, message", [
    (dict(), "needs y0"),
    (dict(y0=0.0, bc=(0, 1)), "needs order=2"),
    (dict(y0=[0.0, 1.0]), "2 value"),
    (dict(y0=0.0, domain=(1.0, 1.0)), "a < b"),
    (dict(y0=0.0, rhs="x*z"), "unknown names"),
    (dict(order=2, y0=0.0), "needs y0 and dy0"),
    (dict(y0=0.0, activation="relu"), "unknown activation"),
    (dict(y0=0.0, optimizer="sgd"), "unknown optimizer"),
])
def test_bad_input(kwargs, message):
    args = dict(rhs="x", domain=(0.0, 1.0))
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        fc.solve_ode(args.pop("rhs"), args.pop("domain"), **args)


@pytest.mark.parametrize("problem, texts, order", [
    (dict(trial=0, a=0.0, b=1.5, order=1, y0=[0.3, -0.2]), ["y2*x", "sin(y1) - y2**2"], 1),
    (dict(trial=1, a=0.0, b=1.0, order=2, y0=[0.3], dy0=[1.0]), ["-y*dy + x"], 2),
    (dict(trial=2, a=0.0, b=2.0, order=2, ya=[0.0], yb=[1.0]), ["tanh(y) - dy"], 2),
])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "sin"])
def test_cpp_residuals_and_jacobian_match_the_numpy_reference(problem, texts, order, activation):
    m = len(texts)
    names = ["y"] if m == 1 else [f"y{i + 1}" for i in range(m)]
    e = fc.expr(texts, vars=["x", *names, *(["d" + n for n in names] if order == 2 else [])])
    lam = fc.reference.lambdify(e, dtype=complex)

    def f(x, Y, DY=None):
        cols = [x] + [Y[:, i] for i in range(m)] + ([DY[:, i] for i in range(m)] if DY is not None else [])
        out = lam(*cols).reshape(x.size, m)
        return out if np.iscomplexobj(x) else out.real

    hidden = (4, 3)
    act = {"tanh": 0, "sigmoid": 1, "sin": 2}[activation]
    params = np.asarray(_core.ode_init(list(hidden), m, act, 7)) + 0.1
    x = np.linspace(problem["a"], problem["b"], 9)
    got = _core.ode_trial(list(hidden), m, act, problem, params, x)
    want = ref.trial(problem, x, *ref.network(params, hidden, m, activation, x))
    for k in range(3 if order == 2 else 2):
        np.testing.assert_allclose(got[k], want[k], rtol=1e-13, atol=1e-14)
    r, J = _core.ode_residuals(list(hidden), m, act, problem, e._tape(), None, params, x, True)
    np.testing.assert_allclose(r, ref.residuals(params, hidden, m, activation, problem, f, x), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(J, ref.jacobian(params, hidden, m, activation, problem, f, x), rtol=1e-10, atol=1e-10)


def test_ctrl_c_returns_the_best_parameters_so_far():
    import signal
    import threading

    timer = threading.Timer(0.3, signal.raise_signal, args=(signal.SIGINT,))
    timer.start()
    try:
        sol = fc.solve_ode("x", (0.0, 1.0), y0=0.0, optimizer="adam", epochs=10**8, tol=0.0)
    finally:
        timer.cancel()
    assert sol.interrupted and sol.message == "interrupted" and 0 < sol.epochs < 10**8
    assert sol.loss_history[-1] < sol.loss_history[0]


@pytest.mark.slow
def test_van_der_pol_the_defaults_add_capacity_when_needed():
    x = np.linspace(0, 3, 121)
    ivp = solve_ivp(lambda t, y: [y[1], (1 - y[0] ** 2) * y[1] - y[0]], (0, 3), [2.0, 0.0], t_eval=x,
                    rtol=1e-12, atol=1e-12).y.T
    sol = fc.solve_ode(["y2", "(1 - y1**2)*y2 - y1"], (0.0, 3.0), y0=[2.0, 0.0])
    assert np.max(np.abs(sol(x) - ivp)) < 1e-5
