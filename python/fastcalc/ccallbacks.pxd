# Compiled callbacks for fastcalc, in the SciPy LowLevelCallable convention.
#
# Write your own in Cython:
#
#     from fastcalc.ccallbacks cimport nd_fn
#     cdef api double my_f(int n, const double *x, void *data) noexcept nogil:
#         ...
#
# and pass ``fastcalc.ccallback(your_module, "my_f")`` (or scipy.LowLevelCallable.from_cython)
# to fastcalc.derivative / gradient / hessian. The core calls them with the GIL released, so they
# must not touch Python objects.

ctypedef double (*scalar_fn)(double) noexcept nogil
ctypedef double (*nd_fn)(int, const double *, void *) noexcept nogil

cdef api double square(double x) noexcept nogil
cdef api double exp_sin(double x) noexcept nogil
cdef api double rosenbrock(int n, const double *x, void *data) noexcept nogil
cdef api double sphere(int n, const double *x, void *data) noexcept nogil
