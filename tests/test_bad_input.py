"""Bad input gets an exception that names the problem; a user's exception propagates unchanged."""
import numpy as np
import pytest

import fastcalc as fc


class Boom(Exception):
    pass


def test_exception_in_vectorized_f_propagates_unchanged():
    def f(x):
        raise Boom("from f")

    with pytest.raises(Boom, match="from f"):
        fc.derivative(f, [1.0, 2.0])
    with pytest.raises(Boom):
        fc.hessian(lambda X: f(X), [1.0, 2.0])


def test_exception_in_per_point_f_propagates_unchanged():
    def f(x):
        if x > 1.5:
            raise Boom("late")
        return x

    with pytest.raises(Boom, match="late"):
        fc.derivative(f, [1.0, 2.0], vectorized=False)


@pytest.mark.parametrize("x", [np.nan, [1.0, np.inf], [[0.0, -np.inf]]])
def test_non_finite_x(x):
    with pytest.raises(ValueError, match="finite"):
        fc.derivative(np.sin, x)


def test_non_numeric_x():
    with pytest.raises(TypeError, match="real numbers"):
        fc.derivative(np.sin, ["a", "b"])


def test_wrong_shape_from_f():
    with pytest.raises(ValueError, match=r"shape \(1,\) for 4 points; expected \(4,\)"):
        fc.derivative(lambda x: np.array([1.0]), [1.0, 2.0], h=0.1, vectorized=True)
    # without vectorized=, a function that returns one value in an array is a function of one point
    assert fc.derivative(lambda x: np.array([1.0]), [1.0, 2.0], h=0.1).shape == (2, 1)
    with pytest.raises(ValueError, match="gradient needs a function with one value; f returned 2"):
        fc.gradient(lambda X: X, [1.0, 2.0])


def test_unknown_method_and_bad_orders():
    with pytest.raises(ValueError, match="unknown method 'centered'"):
        fc.derivative(np.sin, 1.0, method="centered")
    with pytest.raises(ValueError, match="order 3 is not available"):
        fc.derivative(np.sin, 1.0, order=3)
    with pytest.raises(ValueError, match="between 1 and 6"):
        fc.derivative(np.sin, 1.0, n=0)
    with pytest.raises(TypeError, match="integer"):
        fc.derivative(np.sin, 1.0, n=1.5)


@pytest.mark.parametrize("h", [0.0, -1e-3, np.nan, np.inf])
def test_bad_step(h):
    with pytest.raises(ValueError, match="step h must be positive"):
        fc.derivative(np.sin, 1.0, h=h)


def test_not_callable():
    with pytest.raises(TypeError, match="callable"):
        fc.derivative(42, 1.0)


def test_non_numeric_return():
    with pytest.raises((TypeError, ValueError)):
        fc.derivative(lambda x: "abc", 1.0)


def test_bad_x_shape_for_gradient():
    with pytest.raises(ValueError, match="shape"):
        fc.gradient(np.sum, np.zeros((2, 2, 2)))


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "8"])
def test_batch_size_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="batch_size"):
        fc.gradient(lambda X: np.sum(X**2, axis=-1), [1.0, 2.0], batch_size=bad)


@pytest.mark.parametrize("bad", [0.0, -0.5, np.nan, np.inf])
def test_initial_step_must_be_positive_and_finite(bad):
    with pytest.raises(ValueError, match="initial_step must be positive and finite"):
        fc.gradient(lambda X: np.sum(X**2, axis=-1), [1.0, 2.0], initial_step=bad)


def test_initial_step_is_a_number_and_not_combined_with_h():
    with pytest.raises(TypeError, match="initial_step must be a number"):
        fc.derivative(np.sin, 1.0, initial_step="big")
    with pytest.raises(ValueError, match="cannot be combined with a fixed h"):
        fc.hessian(lambda X: np.sum(X**2, axis=-1), [1.0, 2.0], h=1e-3, initial_step=0.5)


@pytest.mark.parametrize("bad", [0.0, -1e-8, 1.0, np.nan])
def test_rtol_must_be_between_0_and_1(bad):
    with pytest.raises(ValueError, match="rtol must be positive and less than 1"):
        fc.derivative(np.sin, 1.0, rtol=bad)
    with pytest.raises(ValueError, match="cannot be combined with a fixed h"):
        fc.gradient(lambda X: np.sum(X**2, axis=-1), [1.0, 2.0], h=1e-3, rtol=1e-8)
