"""Numerical differentiation: fastcalc against scipy.differentiate and numdifftools."""
import numpy as np
import pytest
from conftest import size

import fastcalc as fc
from fastcalc import ccallbacks
from compare_findiff import f_np, rosen_v

N = size(100_000, 200)
X = np.linspace(0.1, 3.0, N)


@pytest.mark.benchmark(group="derivative")
def test_fastcalc_derivative_numpy_f(benchmark):
    benchmark(fc.derivative, f_np, X)


@pytest.mark.benchmark(group="derivative")
def test_fastcalc_derivative_compiled_f(benchmark):
    benchmark(fc.derivative, fc.ccallback(ccallbacks, "exp_sin"), X)


@pytest.mark.benchmark(group="derivative")
def test_scipy_derivative(benchmark):
    sd = pytest.importorskip("scipy.differentiate")
    benchmark(sd.derivative, f_np, X)


@pytest.mark.benchmark(group="derivative")
def test_numdifftools_derivative(benchmark):
    nd = pytest.importorskip("numdifftools")
    benchmark(nd.Derivative(f_np), X)


@pytest.mark.parametrize("n", [10, size(1000, 20)])
@pytest.mark.benchmark(group="gradient")
def test_fastcalc_gradient(benchmark, n):
    benchmark(fc.gradient, fc.ccallback(ccallbacks, "rosenbrock"), np.linspace(-1.2, 1.2, n))


@pytest.mark.parametrize("n", [10, size(1000, 20)])
@pytest.mark.benchmark(group="gradient")
def test_approx_fprime(benchmark, n):
    opt = pytest.importorskip("scipy.optimize")
    benchmark(opt.approx_fprime, np.linspace(-1.2, 1.2, n), opt.rosen)


@pytest.mark.parametrize("n", [10, size(100, 8)])
@pytest.mark.benchmark(group="hessian")
def test_fastcalc_hessian(benchmark, n):
    benchmark(fc.hessian, rosen_v, np.linspace(-1.2, 1.2, n))


@pytest.mark.benchmark(group="hessian")
def test_numdifftools_hessian(benchmark):
    nd = pytest.importorskip("numdifftools")
    opt = pytest.importorskip("scipy.optimize")
    benchmark(nd.Hessian(opt.rosen), np.linspace(-1.2, 1.2, 10))
