"""Compiled callbacks (LowLevelCallable convention) run in the core with the GIL released."""
import ctypes

import numpy as np
import pytest

import fastcalc as fc
from fastcalc import _core, ccallbacks


def rosen(X):
    return np.sum(100.0 * (X[:, 1:] - X[:, :-1] ** 2) ** 2 + (1 - X[:, :-1]) ** 2, axis=1)


def test_cython_module_exports_capsules_named_by_signature():
    cap = fc.ccallback(ccallbacks, "square")
    assert "double (double)" in repr(cap)
    assert "double (int, double const *, void *)" in repr(fc.ccallback(ccallbacks, "rosenbrock"))
    np.testing.assert_array_equal(_core.call_compiled(cap, np.array([1.5, -2.0])), [2.25, 4.0])


def test_derivative_of_compiled_square_matches_python():
    cap = fc.ccallback(ccallbacks, "square")
    x = np.linspace(-2, 2, 11)
    np.testing.assert_array_equal(fc.derivative(cap, x, h=1e-3), fc.derivative(lambda t: t * t, x, h=1e-3))
    np.testing.assert_allclose(fc.derivative(cap, x), 2 * x, rtol=1e-12, atol=1e-12)
    assert fc.derivative(cap, 3.0, method="forward", h=0.01) == 6.009999999999849


def test_compiled_rosenbrock_gradient_and_hessian_match_python(rng):
    cap = fc.ccallback(ccallbacks, "rosenbrock")
    X = rng.uniform(-1, 1, (3, 6))
    # same algorithm; only the summation order inside the function differs (NumPy sums pairwise)
    np.testing.assert_allclose(fc.gradient(cap, X), fc.gradient(rosen, X), rtol=1e-12, atol=1e-11)
    np.testing.assert_allclose(fc.hessian(cap, X[0]), fc.hessian(rosen, X[0]), rtol=1e-9, atol=1e-8)


def test_scipy_lowlevelcallable_is_accepted():
    scipy = pytest.importorskip("scipy")
    llc = scipy.LowLevelCallable.from_cython(ccallbacks, "exp_sin")
    x = np.array([0.5, 1.5])
    exact = np.exp(np.sin(x)) * (2 * x + x**2 * np.cos(x))
    np.testing.assert_allclose(fc.derivative(llc, x), exact, rtol=1e-11)


def test_ctypes_function_pointer_is_accepted():
    CB = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)
    libm = ctypes.CDLL("libm.so.6")
    libm.cos.restype = ctypes.c_double
    libm.cos.argtypes = [ctypes.c_double]
    fp = ctypes.cast(libm.cos, CB)
    np.testing.assert_allclose(fc.derivative(fp, [0.3, 1.1]), -np.sin([0.3, 1.1]), rtol=1e-11)


def test_unsupported_signature_is_a_clear_error():
    CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)
    fp = CB(lambda i: i)
    with pytest.raises(ValueError, match="signature"):
        fc.derivative(fp, 1.0)


def test_scalar_callback_refuses_many_variables():
    with pytest.raises(ValueError, match="one variable"):
        fc.gradient(fc.ccallback(ccallbacks, "square"), [1.0, 2.0])
