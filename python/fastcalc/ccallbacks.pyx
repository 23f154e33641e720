# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""fastcalc's own compiled callbacks, used by the tests and benchmarks to prove the compiled path.

Each is exported through ``__pyx_capi__`` as a PyCapsule named with its C signature, the
convention of ``scipy.LowLevelCallable``; ``fastcalc.ccallback(module, name)`` fetches one.
"""
from libc.math cimport exp, sin


cdef api double square(double x) noexcept nogil:
    """x**2"""
    return x * x


cdef api double exp_sin(double x) noexcept nogil:
    """x**2 * exp(sin(x))"""
    return x * x * exp(sin(x))


cdef api double rosenbrock(int n, const double *x, void *data) noexcept nogil:
    """The n-dimensional Rosenbrock function, sum of 100 (x[i+1] - x[i]**2)**2 + (1 - x[i])**2."""
    cdef double s = 0.0, a, b
    cdef int i
    for i in range(n - 1):
        a = x[i + 1] - x[i] * x[i]
        b = 1.0 - x[i]
        s += 100.0 * a * a + b * b
    return s


cdef api double sphere(int n, const double *x, void *data) noexcept nogil:
    """sum of x[i]**2"""
    cdef double s = 0.0
    cdef int i
    for i in range(n):
        s += x[i] * x[i]
    return s
