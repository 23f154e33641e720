"""Tracing a NumPy function of one variable into an ``Expr`` (as JAX traces into jaxprs).

``trace(f)`` calls ``f`` once with a tracer that records arithmetic and NumPy ufuncs as
expression nodes. Anything else (``math.sin``, ``float(x)``, ``if x > 0``, ``np.where``,
indexing) makes the function untraceable: ``trace`` returns None and the caller treats ``f`` as
a black box. Exceptions that ``f`` raises for other reasons propagate unchanged.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Optional

import numpy as np

from .expressions import Expr
from .expressions import nodes as N
from .expressions.errors import ExprError


class Untraceable(Exception):
    """f did something the tracer cannot record."""


def _node(v: Any) -> N.Node:
    if isinstance(v, Tracer):
        return v.node
    if isinstance(v, (bool, np.bool_)):
        raise Untraceable("a boolean operand")
    if isinstance(v, numbers.Real) or (isinstance(v, np.ndarray) and v.shape == () and v.dtype.kind in "fiu"):
        return N.num(float(v))
    raise Untraceable(f"an operand of type {type(v).__name__}")


def _call(name: str):
    return lambda a: N.call(name, [a])


_LOG2, _LOG10 = N.call("log", [N.num(2.0)]), N.call("log", [N.num(10.0)])

#: NumPy ufuncs as expression builders over nodes (arity from the lambda)
_UFUNCS = {
    "add": N.add, "subtract": N.sub, "multiply": N.mul, "true_divide": N.div, "divide": N.div,
    "power": N.power, "float_power": N.power, "negative": N.neg, "positive": lambda a: a,
    "square": lambda a: N.power(a, N.num(2.0)), "reciprocal": lambda a: N.div(N.num(1.0), a),
    "sqrt": _call("sqrt"), "cbrt": _call("cbrt"), "exp": _call("exp"), "log": _call("log"),
    "expm1": lambda a: N.sub(N.call("exp", [a]), N.num(1.0)),
    "log1p": lambda a: N.call("log", [N.add(N.num(1.0), a)]),
    "exp2": lambda a: N.power(N.num(2.0), a),
    "log2": lambda a: N.div(N.call("log", [a]), _LOG2), "log10": lambda a: N.div(N.call("log", [a]), _LOG10),
    "sin": _call("sin"), "cos": _call("cos"), "tan": _call("tan"), "arcsin": _call("asin"),
    "arccos": _call("acos"), "arctan": _call("atan"), "sinh": _call("sinh"), "cosh": _call("cosh"),
    "tanh": _call("tanh"), "arcsinh": _call("asinh"), "arccosh": _call("acosh"), "arctanh": _call("atanh"),
    "absolute": _call("abs"), "fabs": _call("abs"), "sign": _call("sign"), "floor": _call("floor"),
    "ceil": _call("ceil"), "arctan2": lambda a, b: N.call("atan2", [a, b]),
    # scipy.special's ufuncs
    "erf": _call("erf"), "erfc": _call("erfc"), "gamma": _call("gamma"), "gammaln": _call("lgamma"),
    "psi": _call("digamma"),
    "hypot": lambda a, b: N.call("sqrt", [N.add(N.power(a, N.num(2.0)), N.power(b, N.num(2.0)))]),
}


class Tracer:
    """A stand-in for x that records what f computes from it."""

    __slots__ = ("node",)
    __array_priority__ = 1000

    def __init__(self, node: N.Node):
        self.node = node

    def _bin(self, other, op, reflected=False):
        a, b = self.node, _node(other)
        return Tracer(op(b, a) if reflected else op(a, b))

    def __add__(self, o): return self._bin(o, N.add)
    def __radd__(self, o): return self._bin(o, N.add, True)
    def __sub__(self, o): return self._bin(o, N.sub)
    def __rsub__(self, o): return self._bin(o, N.sub, True)
    def __mul__(self, o): return self._bin(o, N.mul)
    def __rmul__(self, o): return self._bin(o, N.mul, True)
    def __truediv__(self, o): return self._bin(o, N.div)
    def __rtruediv__(self, o): return self._bin(o, N.div, True)
    def __pow__(self, o): return self._bin(o, N.power)
    def __rpow__(self, o): return self._bin(o, N.power, True)
    def __neg__(self): return Tracer(N.neg(self.node))
    def __pos__(self): return self
    def __abs__(self): return Tracer(N.call("abs", [self.node]))
    def __floor__(self): return Tracer(N.call("floor", [self.node]))
    def __ceil__(self): return Tracer(N.call("ceil", [self.node]))

    def _refuse(self, *args, **kwargs):
        raise Untraceable("f converts x to a number or branches on it")

    __bool__ = __float__ = __int__ = __index__ = __complex__ = _refuse
    __eq__ = __ne__ = _refuse
    __hash__ = object.__hash__
    __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __len__ = __iter__ = __getitem__ = _refuse

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        build = _UFUNCS.get(ufunc.__name__)
        if method != "__call__" or build is None or kwargs:
            raise Untraceable(f"np.{ufunc.__name__}")
        return Tracer(build(*(_node(v) for v in inputs)))

    def __array_function__(self, func, types, args, kwargs):
        raise Untraceable(f"np.{getattr(func, '__name__', func)}")


def trace(f: Callable, var: str = "x") -> Optional[Expr]:
    """f as an Expr of ``var``, or None when f cannot be traced. f's own exceptions propagate."""
    try:
        with np.errstate(all="ignore"):
            y = f(Tracer(N.var(var)))
        root = _node(y)
    except (Untraceable, ExprError, RecursionError):
        return None
    except Exception as e:  # NumPy or Python rewrapped the tracer's refusal (TypeError, ValueError)
        if _caused_by_tracer(e):
            return None
        raise
    return Expr([root], [var])


def _caused_by_tracer(e: BaseException) -> bool:
    seen = set()
    while e is not None and id(e) not in seen:
        if isinstance(e, Untraceable) or "Tracer" in str(e):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return False


def faithful(e: Expr, f: Callable, points: np.ndarray) -> bool:
    """Whether the traced Expr gives f's values at ``points`` (NaN where f is NaN, else within
    rounding): a guard against functions that do something else than what was recorded."""
    from .reference.expr import lambdify

    with np.errstate(all="ignore"):
        try:
            got = np.asarray(lambdify(e)(points), dtype=float)
            try:
                want = np.asarray(f(points), dtype=float)
            except Exception:  # f takes one number at a time
                want = np.array([float(f(float(p))) for p in points])
        except Exception:
            return False
        if want.shape != points.shape:
            want = np.broadcast_to(want, points.shape)
        same = (np.isnan(want) & np.isnan(got)) | (want == got)
        near = np.isfinite(want) & np.isfinite(got) & (np.abs(want - got) <= 1e-8 * np.maximum(1.0, np.abs(want)))
    return bool(np.all(same | near))


__all__ = ["Tracer", "Untraceable", "faithful", "trace"]
