"""An ``Expr`` evaluated in arbitrary precision with mpmath (an optional dependency), for limits.

The functions come from the table of operations: each operation's NumPy text (``np.sin(a)``,
``1/np.cos(a)``, ``_gamma(a + 1)``) runs with ``np`` bound to real-valued mpmath twins below, so
the table stays the one definition of every operation. NumPy's real semantics are kept: a value
outside the domain is NaN (never complex), poles are NaN or inf as NumPy gives them.

A value that cannot be computed faithfully raises :class:`Lost` instead of returning a number:
the argument of a periodic function larger than the working precision can place (its phase is
noise), exp of an argument beyond 1e300 (its exponent would be a 1000-bit integer). The caller
treats a lost point as no evidence.
"""
from __future__ import annotations

import functools
import math
import threading
from fractions import Fraction
from typing import Callable, Dict, List, Optional, Sequence

try:  # optional: limits fall back to double precision without it
    import mpmath
except ImportError:  # pragma: no cover - exercised in the no-mpmath CI leg
    mpmath = None

from .expressions import nodes as N
from .expressions import ops as _ops

_HUGE = 1e300  # |exp argument| beyond which the result's exponent (a Python int) gets costly


class Lost(ArithmeticError):
    """The working precision (or the exponent range) cannot represent this value faithfully;
    ``precision``: whether more digits would help (cancellation, a periodic function's phase)
    or not (an exponent beyond range)."""

    def __init__(self, message: str, precision: bool = False):
        super().__init__(message)
        self.precision = precision


def available() -> bool:
    return mpmath is not None


_local = threading.local()


def context():
    """This thread's own mpmath context: precision changes (``workdps``) stay in the thread, so
    limits computed in several threads at once do not disturb each other (mpmath's global
    context is never touched)."""
    c = getattr(_local, "ctx", None)
    if c is None:
        c = _local.ctx = mpmath.MPContext()
    return c


class _ThreadContext:
    """``_m.sin`` is this thread's context's sin."""

    def __getattr__(self, name):
        return getattr(context(), name)


_m = _ThreadContext()


def _real(v):
    """mpmath's value, NaN where it is complex (outside the real domain)."""
    if isinstance(v, _m.mpc):
        return v.real if v.imag == 0 else _m.nan
    return v


def _guard(f: Callable) -> Callable:
    """A real function of mpf operands: NaN in, NaN out; mpmath's domain errors are NaN."""
    def g(*a):
        if any(_m.isnan(x) for x in a):
            return _m.nan
        try:
            return _real(f(*a))
        except (ValueError, ZeroDivisionError):
            return _m.nan
        except (OverflowError, MemoryError):
            raise Lost("mpmath overflows") from None
    return g


def _periodic(f: Callable) -> Callable:
    def g(a):
        if _m.isinf(a):
            return _m.nan
        if a != 0 and _m.mag(a) > _m.prec - 16:  # the phase of a is below its precision
            raise Lost("argument of a periodic function beyond the working precision", precision=True)
        return f(a)
    return g


def _bounded(name: str) -> Callable:
    """exp, sinh, cosh: Lost for an argument whose result's exponent would be costly."""
    def g(a):
        if not _m.isinf(a) and abs(a) > _HUGE:
            raise Lost(f"{name} overflows any exponent range")
        return getattr(_m, name)(a)
    return g


_exp = _bounded("exp")


def _power(a, b):
    if a == 0:
        return _m.inf if b < 0 else (_m.mpf(1) if b == 0 else _m.mpf(0))
    if _m.isinf(b):  # NumPy's values: |a| against 1 decides (a base near 1 is not rounded to it)
        m = abs(a)
        if m == 1:
            return _m.mpf(1)
        return _m.inf if (m > 1) == (b > 0) else _m.mpf(0)
    if _m.isinf(a):
        return _m.mpf(float(a) ** float(b)) if a > 0 or b == int(b) else _m.nan
    if a > 0 and abs(b * _m.log(a)) > _HUGE:
        raise Lost("power overflows any exponent range")
    if a < 0 and b != _m.floor(b):
        return _m.nan
    if a < 0 and abs(b * _m.log(-a)) > _HUGE:
        raise Lost("power overflows any exponent range")
    return _m.power(a, b)


def _powi(a, n):
    return _power(a, _m.mpf(n))


def _sign(a):
    return _m.mpf(0 if a == 0 else (1 if a > 0 else -1))


def _lgamma(a):
    if a > 0:
        return _m.loggamma(a)
    return _m.log(abs(_m.gamma(a)))


def _gamma(a):
    if a > _HUGE:
        raise Lost("gamma overflows any exponent range")
    if a <= 0 and a == _m.floor(a):
        return _m.nan  # a pole (NumPy/scipy: NaN at non-positive integers)
    return _m.gamma(a)


def _polygamma(n, a):
    if a <= 0 and a == _m.floor(a):
        return _m.nan
    return _m.polygamma(int(n), a)


def _asin(a):
    return _m.asin(a) if -1 <= a <= 1 else _m.nan


def _acos(a):
    return _m.acos(a) if -1 <= a <= 1 else _m.nan


def _atanh(a):
    if abs(a) == 1:
        return _m.inf * a
    return _m.atanh(a) if -1 < a < 1 else _m.nan


def _acosh(a):
    return _m.acosh(a) if a >= 1 else _m.nan


def _sqrt(a):
    return _m.sqrt(a) if a >= 0 else _m.nan


def _log(a):
    if a == 0:
        return -_m.inf
    return _m.log(a) if a > 0 else _m.nan


def _cbrt(a):
    return _m.cbrt(a) if a >= 0 else -_m.cbrt(-a)


def _sigmoid(a):
    if a < 0:
        e = _exp(a)
        return e / (1 + e)
    return 1 / (1 + _exp(-a))


class _Np:
    """The names the table's NumPy texts use, as real mpmath functions."""


def _namespace() -> Dict[str, object]:
    m = context()
    np_ = _Np()
    table = {
        "power": _power, "exp": _exp, "log": _log, "sin": _periodic(m.sin), "cos": _periodic(m.cos),
        "tan": _periodic(m.tan), "arcsin": _asin, "arccos": _acos, "arctan": m.atan, "sinh": _bounded("sinh"),
        "cosh": _bounded("cosh"), "tanh": m.tanh, "sqrt": _sqrt, "abs": abs, "sign": _sign, "floor": m.floor,
        "ceil": m.ceil, "arcsinh": m.asinh, "arccosh": _acosh, "arctanh": _atanh, "cbrt": _cbrt,
        "arctan2": m.atan2, "less_equal": lambda a, b: m.mpf(1 if a <= b else 0),
        "less": lambda a, b: m.mpf(1 if a < b else 0),
    }
    for k, f in table.items():
        setattr(np_, k, _guard(f))
    return {"np": np_, "_powi": _guard(_powi), "_sigmoid": _guard(_sigmoid), "_erf": _guard(m.erf),
            "_erfc": _guard(m.erfc), "_gamma": _guard(_gamma), "_lgamma": _guard(_lgamma),
            "_polygamma": _guard(_polygamma)}


def _functions() -> Dict[str, Callable]:
    """name -> f(a, b, n) over mpf, compiled once per thread from the table's NumPy texts
    (trusted text), bound to the thread's context."""
    funcs = getattr(_local, "funcs", None)
    if funcs is None:
        ns = _namespace()
        out = {}
        for name, fn in _ops.FUNCTIONS.items():
            text = _ops.PRIMITIVES[name]["numpy"] if name in _ops.PRIMITIVES else fn.numpy
            out[name] = eval(compile(f"lambda a, b=None, n=0: {text}", "<ops.def numpy>", "eval"), ns)
        out["pow"] = ns["np"].power
        funcs = _local.funcs = out
    return funcs


def inexact_numbers(root: N.Node) -> List[float]:
    return [n.value for n in N.postorder([root]) if n.kind == N.NUM and _is_inexact(n.value)]


def _is_inexact(v: float) -> bool:
    r = _recipe(float(v))
    while r[0] == "neg":
        r = r[1:]
    return r[0] == "binary" and math.isfinite(v) and v != int(v)


def evaluator(root: N.Node, var: str, scale: float = 0.0) -> Callable:
    """f(x, dps): the node's value at the mpf x computed with ``dps`` decimal digits (a float
    ``mpf``, NaN outside the domain); raises :class:`Lost` where that precision cannot tell.
    ``scale``: numbers that stand for nothing recognizable are multiplied by ``1 + scale`` (to
    see whether a limit depends on their last digits)."""
    order = N.postorder([root])
    # per node, what does not depend on the precision: a number's recipe, a call's function
    recipe = {id(n): _recipe(float(n.value)) for n in order if n.kind == N.NUM}
    rounded = {i for i, n in ((id(n), n) for n in order if n.kind == N.NUM) if _is_inexact(n.value)}
    calls = {id(n): _ops.FUNCTIONS[n.value] for n in order if n.kind == N.CALL}

    def f(x, dps: int):
        funcs = _functions()
        power = funcs["pow"]
        with _m.workdps(dps):
            floor = _m.mpf(2) ** (16 - _m.prec)
            exact = _m.mpf(2) ** (_m.prec - 2)  # integers below this add exactly
            memo = {}
            for n in order:
                k = n.kind
                if k == N.NUM:
                    r = _build(recipe[id(n)])
                    if scale and id(n) in rounded:
                        r = r * (1 + _m.mpf(scale))
                elif k == N.CONST:
                    r = +_m.pi if n.value == "pi" else +_m.e
                elif k == N.VAR:
                    r = x if n.value == var else _m.nan
                elif k == N.ADD:
                    terms = [memo[id(a)] for a in n.args]
                    r = _m.fsum(terms)
                    if _m.isfinite(r):
                        big = max(abs(a) for a in terms)
                        if big and abs(r) <= big * floor and not (big < exact and all(a == int(a) for a in terms)):
                            # the sum cancelled beyond the working precision (exactly 0 at
                            # every precision too low: agreement would prove nothing);
                            # integers (floor's values) add exactly, when representable
                            raise Lost("cancellation beyond the working precision", precision=True)
                elif k == N.MUL:
                    r = _m.fprod(memo[id(a)] for a in n.args)  # 0 * inf is NaN, as in NumPy
                elif k == N.POW:
                    r = power(memo[id(n.args[0])], memo[id(n.args[1])])
                else:
                    if calls[id(n)].imm:
                        ops = [memo[id(a)] for a in n.args[1:]]
                        r = funcs[n.value](ops[0], ops[1] if len(ops) > 1 else None, int(n.args[0].value))
                    else:
                        ops = [memo[id(a)] for a in n.args]
                        r = funcs[n.value](ops[0], ops[1] if len(ops) > 1 else None)
                memo[id(n)] = r
            return +memo[id(root)]
    return f


#: constants a double may stand for (times p/q, or p/q over them): the ones formulas use
_BASIS = {
    "pi": lambda: _m.pi, "e": lambda: _m.e, "sqrt(2)": lambda: _m.sqrt(2),
    "sqrt(3)": lambda: _m.sqrt(3), "sqrt(5)": lambda: _m.sqrt(5), "sqrt(pi)": lambda: _m.sqrt(_m.pi),
    "sqrt(2*pi)": lambda: _m.sqrt(2 * _m.pi), "log(2)": lambda: _m.log(2),
    "log(3)": lambda: _m.log(3), "log(10)": lambda: _m.log(10), "pi**2": lambda: _m.pi ** 2,
    "euler_gamma": lambda: +_m.euler,
}


@functools.lru_cache(maxsize=4096)
def _recipe(v: float) -> tuple:
    """How to compute the number the double v stands for (see :func:`intended`)."""
    if v != v or math.isinf(v) or v == int(v):
        return ("binary", v)
    if v < 0:
        return ("neg",) + _recipe(-v)
    s = repr(v)
    if len(s.lower().split("e")[0].replace(".", "").lstrip("0")) <= 15:
        return ("decimal", s)
    for q in range(2, 13):
        p = round(v * q)
        if abs(p) < 10**9 and float(Fraction(p, q)) == v:
            return ("fraction", p, q)
    with _m.workdps(40):
        for name, make in _BASIS.items():
            b = make()
            for q in range(1, 13):
                for inv in (False, True):
                    p = round(v * q * b) if inv else round(v * q / b)
                    if 0 < p <= 1000 and float((p / (q * b)) if inv else (b * p / q)) == v:
                        return ("basis", name, p, q, inv)
    return ("binary", v)


def intended(v: float):
    """The number a double stands for, at the working precision: itself when it is an integer,
    else the simplest real it is the nearest double to (a short decimal, a fraction p/q, or p/q
    times or over pi, e, sqrt(2), sqrt(pi), log(2), ..., q <= 12): 0.1 means 1/10, math.pi/2
    means pi/2 and 2/math.sqrt(math.pi) means 2/sqrt(pi), as a user means them (the limit of tan
    at the double nearest pi/2 would otherwise be finite)."""
    return _build(_recipe(float(v)))


def _build(r: tuple):
    kind = r[0]
    if kind == "neg":
        return -_build(r[1:])
    if kind in ("binary", "decimal"):
        return _m.mpf(r[1])
    if kind == "fraction":
        return _m.mpf(r[1]) / r[2]
    _, name, p, q, inv = r
    b = _BASIS[name]()
    return p / (q * b) if inv else b * p / q


#: functions whose value keeps changing (periodic) or jumps, however far out their argument goes:
#: the reason a tail may oscillate instead of settling
OSCILLATORS = frozenset({"sin", "cos", "tan", "sec", "csc", "cot", "floor", "ceil", "frac", "sign", "le", "lt"})


def oscillators(root: N.Node, var: str) -> Sequence[N.Node]:
    """The calls of oscillating or jumping functions whose argument depends on ``var``."""
    return [n for n in N.postorder([root])
            if n.kind == N.CALL and n.value in OSCILLATORS and N.depends_on(n, var)]


__all__ = ["Lost", "OSCILLATORS", "available", "evaluator", "intended", "oscillators"]
