"""fastcalc: the calculus that machine learning runs on, with a C++ core.

>>> import fastcalc as fc
>>> fc.derivative(lambda x: x**2, 3.0, method="forward", h=0.01)
6.009999999999849
"""
from ._version import __version__
from ._config import show_config
from . import plot
from ._callbacks import ccallback
from .expressions import Expr, ExprError, expr
from .differentiate import derivative, eps, gradient, hessian, jacobian, optimal_step, step_error
from .results import CriticalPoint, DerivativeResult, DescentResult, FitResult, Result
from .limits import LimitResult, is_continuous, limit
from .ode import ODESolution, solve_ode
from .optimize import ascent, critical_points, descent, fit

__all__ = [
    "__version__", "show_config", "Expr", "ExprError", "expr", "ccallback", "derivative", "eps", "gradient",
    "hessian", "jacobian", "optimal_step", "plot", "step_error", "LimitResult", "is_continuous", "limit",
    "ODESolution", "solve_ode", "ascent", "critical_points", "descent", "fit",
    "Result", "DerivativeResult", "DescentResult", "FitResult", "CriticalPoint",
]


def __getattr__(name):
    if name == "DerivativeInfo":  # the old name of DerivativeResult, for one release
        from . import differentiate

        return differentiate.__getattr__(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
