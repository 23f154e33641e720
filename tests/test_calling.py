"""Callables as users write them: for one point, for a batch as rows, or as columns (scipy's
convention), found by probing when vectorized=None; never a silently wrong answer; exceptions
from f unchanged; args= everywhere."""
import math

import numpy as np
import pytest

import fastcalc as fc
from fastcalc._calling import style_of

so = pytest.importorskip("scipy.optimize")


def test_scipy_rosen_is_taken_as_columns_and_one_point_functions_per_point():
    x = np.array([0.3, 0.7, 1.2, -0.4])
    assert style_of(so.rosen, x, scalar_input=False).how == "columns"
    np.testing.assert_allclose(fc.gradient(so.rosen, x), so.rosen_der(x), rtol=1e-12)
    f = lambda x: x[0] ** 2 * x[1] + np.sin(x[2])  # noqa: E731
    assert style_of(f, x[:3], scalar_input=False).how == "columns"  # x[0], x[1] rows of a (n, k) batch
    g = lambda x: float(x[0] ** 2 * x[1] + math.sin(x[2]))  # noqa: E731
    assert style_of(g, x[:3], scalar_input=False).how == "point"
    np.testing.assert_allclose(fc.gradient(g, x[:3]), fc.gradient(f, x[:3]), rtol=1e-11)


def test_rows_functions_keep_working_and_fast():
    rows = lambda X: np.sum(X**2, axis=1)  # noqa: E731  the old convention: fails on one point
    assert style_of(rows, np.ones(3), scalar_input=False).how == "rows"
    np.testing.assert_allclose(fc.gradient(rows, [1.0, 2.0, 3.0]), [2.0, 4.0, 6.0], rtol=1e-12)
    both = lambda X: np.sum(X**2, axis=-1)  # noqa: E731  one point or rows: rows (no per-point calls)
    assert style_of(both, np.ones(3), scalar_input=False).how == "rows"


def test_a_function_that_mixes_the_points_of_a_batch_is_called_per_point():
    # x[0] * sum(x) is right for one point; given a batch it sums over every point of it
    f = lambda x: x[0] * np.sum(x) + x[1]  # noqa: E731
    x = np.array([1.0, 2.0, 3.0])
    assert style_of(f, x, scalar_input=False).how == "point"
    np.testing.assert_allclose(fc.gradient(f, x), [2 * 1 + 2 + 3, 1 + 1, 1], rtol=1e-12)
    h = lambda x: np.dot(x, x) * x[0]  # noqa: E731
    np.testing.assert_allclose(fc.gradient(h, x), [14 + 2, 4, 6], rtol=1e-12)


def test_lists_tuples_and_arrays_of_values():
    J = fc.jacobian(lambda x: (x[0] * x[1], x[0] + x[1], np.exp(x[0])), [0.5, 2.0])
    np.testing.assert_allclose(J, [[2.0, 0.5], [1.0, 1.0], [np.exp(0.5), 0.0]], rtol=1e-11)
    D = fc.derivative(lambda t: [t, t * t, np.sin(t)], np.array([0.5, 1.0]))
    np.testing.assert_allclose(D, [[1, 1.0, np.cos(0.5)], [1, 2.0, np.cos(1.0)]], rtol=1e-11)
    assert fc.derivative(lambda t: [t * t], 3.0).shape == (1,)


@pytest.mark.parametrize("vectorized, f", [
    (False, lambda x: x[0] ** 2 + 3 * x[1]),
    (True, lambda X: X[:, 0] ** 2 + 3 * X[:, 1]),
    ("columns", lambda X: X[0] ** 2 + 3 * X[1]),
    (None, lambda x: x[0] ** 2 + 3 * x[1]),
])
def test_vectorized_says_how_f_takes_its_points(vectorized, f):
    X = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    np.testing.assert_allclose(fc.gradient(f, X, vectorized=vectorized), np.column_stack([2 * X[:, 0], np.full(3, 3.0)]),
                               rtol=1e-11)
    np.testing.assert_allclose(fc.hessian(f, X[0], vectorized=vectorized), [[2, 0], [0, 0]], atol=1e-7)


def test_args_for_every_function():
    f = lambda x, a, b: a * x[0] ** 2 + b * x[1]  # noqa: E731
    np.testing.assert_allclose(fc.gradient(f, [1.0, 1.0], args=(2.0, 5.0)), [4.0, 5.0], rtol=1e-12)
    np.testing.assert_allclose(fc.hessian(f, [1.0, 1.0], args=(2.0, 5.0)), [[4.0, 0.0], [0.0, 0.0]], atol=1e-7)
    np.testing.assert_allclose(fc.jacobian(lambda x, c: [c * x[0]], [1.0], args=(7.0,)), [[7.0]], rtol=1e-12)
    assert fc.derivative(lambda t, c: c * t**3, 2.0, args=(0.5,)) == pytest.approx(6.0, rel=1e-12)
    assert fc.derivative(lambda t, c: c * t**3, 2.0, args=0.5) == pytest.approx(6.0, rel=1e-12)  # one argument
    np.testing.assert_allclose(fc.step_error(lambda t, c: c * t, 1.0, [0.1], args=(2.0,), exact=2.0), [0.0], atol=1e-12)
    with pytest.raises(ValueError, match="args"):
        fc.gradient(fc.expr("x*y"), [1.0, 2.0], args=(1,))


class Boom(Exception):
    pass


@pytest.mark.parametrize("vectorized", [None, True, False, "columns"])
def test_an_exception_from_f_propagates_unchanged(vectorized):
    def f(x):
        raise Boom("from f")

    for call in (lambda: fc.gradient(f, [1.0, 2.0], vectorized=vectorized),
                 lambda: fc.derivative(f, 1.0, vectorized=vectorized),
                 lambda: fc.hessian(f, [1.0, 2.0], vectorized=vectorized),
                 lambda: fc.jacobian(f, [1.0, 2.0], vectorized=vectorized)):
        with pytest.raises(Boom, match="^from f$"):
            call()


def test_an_exception_at_a_later_point_propagates_unchanged():
    def f(x):  # fine at the probe's points near x = 1, fails near 3
        if np.any(np.asarray(x) > 2.5):
            raise Boom("late")
        return np.asarray(x) ** 2

    with pytest.raises(Boom, match="late"):
        fc.derivative(f, [1.0, 3.0])


def test_an_ambiguous_function_is_an_error_that_names_vectorized():
    def f(X):  # fails on one point; on a batch its values depend on the batch, not on each row alone
        return X[:, 0] * len(X)

    with pytest.raises(ValueError, match="vectorized=") as info:
        fc.gradient(f, [1.0, 2.0])
    assert isinstance(info.value.__cause__, IndexError)
    np.testing.assert_allclose(fc.gradient(lambda X: X[:, 0] * 2, [1.0, 2.0], vectorized=True), [2.0, 0.0])

    def g(x):  # fails on one point and on a batch alike: its own error, no note
        return x.item() + 1

    with pytest.raises(ValueError) as info:
        fc.gradient(g, [1.0, 2.0])
    assert not getattr(info.value, "__notes__", None)


def test_probing_is_done_once_per_function():
    calls = []

    def f(x):
        calls.append(np.shape(x))
        return x[0] ** 2 + x[1]

    fc.gradient(f, [1.0, 2.0])
    first = len(calls)
    calls.clear()
    fc.gradient(f, [1.0, 2.0])
    assert 0 < len(calls) < first


def test_descent_suggested_vectorized_false_and_now_takes_it():
    r = fc.descent(lambda x: (x[0] - 1) ** 2 + (x[1] + 2) ** 2, [0.0, 0.0], lr=0.3, vectorized=False)
    assert r.success
    np.testing.assert_allclose(r.x, [1.0, -2.0], atol=1e-7)
    with pytest.raises(ValueError, match="vectorized"):
        fc.descent(lambda x: x[0] ** 2, [1.0, 2.0], vectorized="sideways")


def test_complex_valued_f_gets_a_complex_derivative():
    d = fc.derivative(lambda t: np.exp(1j * t), [0.0, 0.5])
    np.testing.assert_allclose(d, 1j * np.exp(1j * np.array([0.0, 0.5])), rtol=1e-12)
    r = fc.derivative(lambda t: np.exp(1j * t), 0.5, full_output=True)
    assert r.success and isinstance(r.df, complex) and r.error < 1e-11
    g = fc.gradient(lambda x: x[0] * np.exp(1j * x[1]), [2.0, 0.3])
    np.testing.assert_allclose(g, [np.exp(0.3j), 2j * np.exp(0.3j)], rtol=1e-12)
    H = fc.hessian(lambda x: (x[0] + 1j * x[1]) ** 2, [1.0, 2.0])
    np.testing.assert_allclose(H, [[2, 2j], [2j, -2]], atol=1e-6)
    # vectorized=True: the core refuses the complex values it would drop, and fastcalc redoes it
    d = fc.derivative(lambda t: np.exp(1j * t), np.array([0.0, 0.5]), vectorized=True)
    np.testing.assert_allclose(d, 1j * np.exp(1j * np.array([0.0, 0.5])), rtol=1e-12)
    # real on the probe's points, complex later (scimath.sqrt of negatives)
    d = fc.derivative(np.emath.sqrt, np.array([4.0, -4.0]))
    np.testing.assert_allclose(d, [0.25, 0.5 / (2j)], rtol=1e-10)


def test_complex_step():
    x = np.linspace(0.1, 3, 7)
    r = fc.derivative(lambda t: t**2 * np.exp(np.sin(t)), x, method="complex", full_output=True)
    exact = np.exp(np.sin(x)) * (2 * x + x**2 * np.cos(x))
    assert np.all(np.abs(r.df - exact) <= 8 * fc.eps * np.abs(exact)) and r.success.all()
    assert np.all(r.nfev == 5) and np.all(np.abs(r.df - exact) <= r.error + 1e-300)
    np.testing.assert_allclose(fc.gradient(so.rosen, [0.3, 0.7, 1.2], method="complex"),
                               so.rosen_der(np.array([0.3, 0.7, 1.2])), rtol=1e-14)
    J = fc.jacobian(lambda x: [x[0] * x[1], np.sin(x[0])], [1.0, 2.0], method="complex")
    np.testing.assert_allclose(J, [[2.0, 1.0], [np.cos(1.0), 0.0]], rtol=1e-15)


def test_complex_step_refuses_what_it_cannot_do():
    with pytest.raises(TypeError, match="must be real number"):  # math's own error, as it is
        fc.derivative(math.sin, 1.0, method="complex")
    with pytest.raises(TypeError, match="keep complex numbers"):  # np.asarray(x, float) drops the imaginary part
        fc.derivative(lambda t: np.sin(np.asarray(t).real), 1.0, method="complex")
    with pytest.raises(ValueError, match="first derivatives"):
        fc.derivative(np.sin, 1.0, 2, method="complex")
    with pytest.raises(ValueError, match="first derivatives"):
        fc.hessian(so.rosen, [1.0, 2.0], method="complex")
    with pytest.raises(ValueError, match="real"):
        fc.derivative(lambda t: np.exp(1j * t), 1.0, method="complex")
    with pytest.raises(ValueError, match="expression"):
        fc.derivative(fc.expr("x**2"), 1.0, method="complex")
    with pytest.raises(ValueError, match="complex step"):
        fc.derivative(np.sin, 1.0, method="complex", rtol=1e-8)
    # not analytic: x |x| has x' = 2|x|, the complex step gives |x|: flagged, not trusted
    r = fc.derivative(lambda t: t * np.abs(t), [1.0, 2.0], method="complex", full_output=True)
    assert not r.success.any() and np.all(r.status == 8) and "complex-analytic" in r.message
