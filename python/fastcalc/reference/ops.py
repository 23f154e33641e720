"""The table of operations in NumPy: each operation's value from the table's ``numpy`` column
(cpp/include/fastcalc/ops.def), with the helpers that column names, and the table's derivative
rules evaluated on arrays. The reference interpreters (tape.py, expr.py) dispatch through here.

The helpers are plain NumPy and ``math`` (scipy is not a dependency); tests check them against
scipy.special.
"""
from __future__ import annotations

import math
from typing import Callable, Dict

import numpy as np

from ..expressions import ops as _ops

_MAX_POLYGAMMA = _ops.MAX_POLYGAMMA


def _powi(a, n):
    """a**n by repeated squaring, in the order of ops::powi (the same bits as the tape)."""
    a = np.asarray(a)
    n = int(n)
    if n == 2:
        return a * a
    m = -n if n < 0 else n
    r = None
    p = a
    while m:
        if m & 1:
            r = p if r is None else r * p
        m >>= 1
        if m:
            p = p * p
    if r is None:
        r = np.ones_like(a)
    return 1.0 / r if n < 0 else r


def _sigmoid(a):
    """1/(1 + exp(-a)), never overflowing (complex arguments: the analytic formula)."""
    a = np.asarray(a)
    if np.iscomplexobj(a):
        return 0.5 * (1.0 + np.tanh(0.5 * a))
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


_erf = np.vectorize(math.erf, otypes=[float])
_erfc = np.vectorize(math.erfc, otypes=[float])


def _gamma_scalar(x: float) -> float:
    try:
        return math.gamma(x)
    except ValueError:  # a pole: +-0 (signed infinity), a negative integer or -inf (NaN)
        return math.copysign(math.inf, x) if x == 0 else math.nan
    except OverflowError:
        return math.inf if x > 1 else math.copysign(math.inf, x)


def _lgamma_scalar(x: float) -> float:
    try:
        return math.lgamma(x)
    except ValueError:  # a pole
        return math.inf


_gamma = np.vectorize(_gamma_scalar, otypes=[float])
_lgamma = np.vectorize(_lgamma_scalar, otypes=[float])

# Bernoulli numbers B_2k, k = 1..10
_B2K = [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798, -174611 / 330]


def _digamma(x: np.ndarray) -> np.ndarray:
    out = np.full(x.shape, np.nan)
    out[x == np.inf] = np.inf
    zero = x == 0
    out[zero] = np.where(np.signbit(x[zero]), np.inf, -np.inf)
    pos = (x > 0) & np.isfinite(x)
    out[pos] = _digamma_positive(x[pos])
    neg = (x < 0) & np.isfinite(x)
    xn = x[neg]
    t = xn - np.floor(xn)
    with np.errstate(divide="ignore", invalid="ignore"):  # psi(x) = psi(1 - x) - pi cot(pi x)
        vals = _digamma_positive(1.0 - xn) - math.pi / np.tan(math.pi * t)
    out[neg] = np.where(t == 0, np.nan, vals)  # poles at the negative integers
    return out


def _digamma_positive(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    r = np.zeros_like(x)
    while True:  # psi(x) = psi(x + 1) - 1/x up to x >= 10
        small = x < 10.0
        if not small.any():
            break
        r[small] -= 1.0 / x[small]
        x[small] += 1.0
    x2 = 1.0 / (x * x)
    s = np.zeros_like(x)
    p = x2.copy()
    for k in range(1, 8):
        s += _B2K[k - 1] / (2 * k) * p
        p *= x2
    return r + np.log(x) - 0.5 / x - s


def _polygamma_n(n: int, x: np.ndarray) -> np.ndarray:
    """psi^(n)(x) for n >= 1: the recurrence up to x >= 10 + n, then the asymptotic series."""
    sgn = 1.0 if n % 2 == 1 else -1.0  # (-1)**(n + 1)
    fact = float(math.factorial(n))
    xmin = 10.0 + n
    out = np.full(x.shape, np.nan)
    out[x == np.inf] = 0.0
    pole = (x <= 0) & (x == np.floor(x)) & np.isfinite(x)
    out[pole] = sgn * np.inf
    ok = np.isfinite(x) & ~pole & (x + 1e5 >= xmin)  # further left: NaN, as in the core
    y = x[ok].copy()
    r = np.zeros_like(y)
    while True:  # psi^(n)(x) = psi^(n)(x + 1) + (-1)**(n + 1) n! / x**(n + 1)
        small = y < xmin
        if not small.any():
            break
        r[small] += sgn * fact / y[small] ** (n + 1)
        y[small] += 1.0
    inv = 1.0 / y
    s = fact / n * inv**n + 0.5 * fact * inv ** (n + 1)
    c = fact / n
    p = inv**n
    for k in range(1, 11):
        c *= (2 * k + n - 2) * (2 * k + n - 1) / ((2 * k - 1) * (2 * k))
        p = p * inv * inv
        s = s + _B2K[k - 1] * c * p
    out[ok] = r + sgn * s
    return out


def _polygamma(n, a):
    """The polygamma function psi^(n)(a), n = 0 the digamma function."""
    x = np.asarray(a, dtype=float)
    n = int(n)
    with np.errstate(all="ignore"):
        if n < 0 or n > _MAX_POLYGAMMA:
            return np.full(x.shape, np.nan)
        return _digamma(x) if n == 0 else _polygamma_n(n, x)


_NAMESPACE = {"np": np, "_powi": _powi, "_sigmoid": _sigmoid, "_erf": _erf, "_erfc": _erfc, "_gamma": _gamma,
              "_lgamma": _lgamma, "_polygamma": _polygamma}


def _compile(text: str) -> Callable:
    # the table's own NumPy text (trusted, from the compiled table), once per operation
    return eval(compile(f"lambda a, b=None, n=0: {text}", "<ops.def numpy>", "eval"), dict(_NAMESPACE))


#: an operation's value on arrays by name: NUMPY[name](a, b, n) for primitives and functions
NUMPY: Dict[str, Callable] = {}
for _name, _p in _ops.PRIMITIVES.items():
    if _p["numpy"]:
        NUMPY[_name] = _compile(_p["numpy"])
for _name, _f in _ops.FUNCTIONS.items():
    if _name not in NUMPY:
        NUMPY[_name] = _compile(_f.numpy)


def evaluate(name: str, operands, n: int = 0):
    """The value of the operation ``name`` on arrays (the immediate n for powi and polygamma)."""
    return NUMPY[name](operands[0], operands[1] if len(operands) > 1 else None, n)


def rule(template: _ops.Template, a, b, y, n: int = 0):
    """A derivative rule of the table evaluated on arrays."""
    return _ops.instantiate(template, a, b, y, n, np.float64,
                            lambda name, imm, ops: evaluate(name, ops, imm if imm is not None else 0))


def rules(name: str):
    """The derivative rules (d/da, d/db) of an operation of the table, by name."""
    if name in _ops.OPERATOR_RULES:
        return _ops.OPERATOR_RULES[name]
    return _ops.FUNCTIONS[name].rules


__all__ = ["NUMPY", "evaluate", "rule", "rules"]
