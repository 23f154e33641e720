"""Hand-written C++ loops of the benchmark formulas, compiled here with the system compiler and
loaded with ctypes: the physical limit to compare the tape with."""
from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
import tempfile
from typing import Optional

import numpy as np

SOURCE = r"""
#include <cmath>
#include <cstddef>
extern "C" {
// f(x, y) = x*exp(-(x**2+y**2)) + sin(3*x)*tanh(y)
void f_eval(const double* x, const double* y, double* out, std::size_t n) {
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i)
        out[i] = x[i] * std::exp(-(x[i] * x[i] + y[i] * y[i])) + std::sin(3 * x[i]) * std::tanh(y[i]);
}
// sin and cos of one argument in one loop: GCC merges them into a scalar sincos and the loop
// stays scalar (measured 47 ms here), so each gets its own loop over a cache-sized block.
void f_grad(const double* x, const double* y, double* out, double* gx, double* gy, std::size_t n) {
    constexpr std::size_t B = 256;
    double s[B], c[B];
    for (std::size_t i0 = 0; i0 < n; i0 += B) {
        const std::size_t m = n - i0 < B ? n - i0 : B;
        const double* xb = x + i0;
        const double* yb = y + i0;
#pragma omp simd
        for (std::size_t j = 0; j < m; ++j) s[j] = std::sin(3 * xb[j]);
#pragma omp simd
        for (std::size_t j = 0; j < m; ++j) c[j] = std::cos(3 * xb[j]);
#pragma omp simd
        for (std::size_t j = 0; j < m; ++j) {
            const double xi = xb[j], yi = yb[j];
            const double e = std::exp(-(xi * xi + yi * yi)), t = std::tanh(yi);
            out[i0 + j] = xi * e + s[j] * t;
            gx[i0 + j] = e * (1 - 2 * xi * xi) + 3 * c[j] * t;
            gy[i0 + j] = -2 * xi * yi * e + s[j] * (1 - t * t);
        }
    }
}
}
"""

_FLAGS = {
    # one scalar libm call per point
    "scalar": ["-O3", "-fno-tree-vectorize"],
    # SIMD math from libmvec: needs -ffast-math for GCC to use the vector variants
    "simd": ["-O3", "-march=native", "-ffast-math", "-fopenmp-simd"],
}


def load(kind: str) -> Optional[ctypes.CDLL]:
    """The compiled loops, or None if no C++ compiler is available."""
    flags = _FLAGS[kind]
    tag = hashlib.sha1((SOURCE + " ".join(flags)).encode()).hexdigest()[:12]
    folder = os.path.join(tempfile.gettempdir(), "fastcalc-bench")
    os.makedirs(folder, exist_ok=True)
    lib = os.path.join(folder, f"native_{kind}_{tag}.so")
    if not os.path.exists(lib):
        src = os.path.join(folder, f"native_{tag}.cpp")
        with open(src, "w") as fh:
            fh.write(SOURCE)
        cxx = os.environ.get("CXX", "c++")
        try:
            subprocess.run([cxx, *flags, "-shared", "-fPIC", src, "-o", lib], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError):
            return None
    dll = ctypes.CDLL(lib)
    p = ctypes.POINTER(ctypes.c_double)
    dll.f_eval.argtypes = [p, p, p, ctypes.c_size_t]
    dll.f_grad.argtypes = [p, p, p, p, p, ctypes.c_size_t]
    return dll


def ptr(a: np.ndarray):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
