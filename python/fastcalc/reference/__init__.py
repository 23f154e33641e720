"""Plain-NumPy twins of fastcalc's C++ algorithms, written to be read; the tests run the same
cases through both. Slow by design: use the main package for real work."""
from .expr import lambdify
from .findiff import derivative, fornberg_weights, gradient, hessian, jacobian, stencil

__all__ = ["derivative", "fornberg_weights", "gradient", "hessian", "jacobian", "lambdify", "stencil"]
