"""The exact part of ``limit`` for an ``Expr``: direct substitution where f is continuous at c,
L'Hôpital's rule (symbolic ``diff``) for 0/0 and inf/inf, else the numerics of ``limits``."""
from __future__ import annotations

import math
from typing import Any, Callable, Optional

import numpy as np

_EPS = float(np.finfo(np.float64).eps)
_ROUNDS = 6  # L'Hôpital rounds at most


def _get(obj: Any, name: str) -> Any:
    """A method's result or a property's value (either API style)."""
    v = getattr(obj, name)
    return v() if callable(v) else v


def _probes(c: float, s: int) -> np.ndarray:
    """Irregular points approaching c from side s (s=-1 left, +1 right; at ±inf: inward)."""
    k = np.array([2.0, 4.0, 6.0, 8.0])
    if math.isinf(c):
        return math.copysign(1.0, c) * 0.7236 * 10.0 ** (2 * k)
    return c + s * 0.7236 * max(1.0, abs(c)) * 10.0 ** -k


def _sides(c: float, side: str):
    if math.isinf(c):
        return [-1 if c > 0 else 1]
    return {"both": [-1, 1], "+": [1], "-": [-1]}[side]


def _substitute(F: Callable, c: float, side: str) -> Optional[float]:
    """f(c) where f is continuous at c from the requested sides (finite value, neighbours
    converging to it), or ±inf where f(c) is infinite and the neighbours grow to it; else None."""
    v = float(F(np.array([c]))[0])
    if math.isnan(v):
        return None
    ys = [F(_probes(c, s)) for s in _sides(c, side)]
    if any(not np.all(np.isfinite(y)) for y in ys):
        return None
    if math.isinf(v):
        signs = {float(np.sign(y[-1])) for y in ys}
        grow = all(np.all(np.diff(np.abs(y)) > 0) and abs(y[-1]) >= 1e3 * abs(y[0]) for y in ys)
        same = all(np.all(np.sign(y) == np.sign(y[-1])) for y in ys)
        return math.copysign(math.inf, signs.pop()) if len(signs) == 1 and grow and same else None
    floor = 64 * _EPS * max(1.0, abs(v))
    for y in ys:
        d = np.abs(y - v)
        if d[-1] > 1e-6 * max(1.0, abs(v)) or np.any(d[1:] > np.maximum(0.5 * d[:-1], floor)):
            return None
    return v


def _is_zero(F: Callable, c: float, v: float) -> bool:
    if v == 0.0:
        return True
    if math.isinf(c) or not math.isfinite(v):
        return False
    h = 1e-3 * max(1.0, abs(c))
    near = np.abs(F(np.array([c - h, c + h])))
    return abs(v) <= 1e-12 * max(1.0, float(np.nanmax(near)) if np.isfinite(near).any() else 1.0)


def _indeterminate(n: Any, d: Any, c: float, evaluator: Callable) -> bool:
    """n/d is 0/0 or inf/inf at c."""
    N, D = evaluator(n), evaluator(d)
    nv, dv = float(N(np.array([c]))[0]), float(D(np.array([c]))[0])
    if math.isinf(nv) and math.isinf(dv):
        return True
    return _is_zero(N, c, nv) and _is_zero(D, c, dv)


def _result(value: float, c: float, side: str, method: str, LimitResult) -> Any:
    sides = _sides(c, side)
    left = value if -1 in sides else None
    right = value if 1 in sides else None
    err = 0.0 if math.isinf(value) else _EPS * abs(value)
    return LimitResult(value, True, left, right, err, None, method)


def expr_limit(f: Any, c: float, side: str, tol: float, numeric: Callable, evaluator: Callable):
    """limit() for an Expr: substitution, then L'Hôpital, then numerics."""
    from .limits import LimitResult

    fv = list(_get(f, "free_vars"))
    if len(fv) > 1:
        raise ValueError(f"limit needs an expression of one variable; f has {sorted(map(str, fv))}")
    F = evaluator(f)
    v = _substitute(F, c, side)
    if v is not None:
        return _result(v, c, side, "substitution", LimitResult)
    if fv:
        var, g = str(fv[0]), f
        for _ in range(_ROUNDS):
            n, d = g.as_numer_denom()
            if not hasattr(d, "diff") or _get(d, "is_constant") or not _indeterminate(n, d, c, evaluator):
                break
            g = n.diff(var) / d.diff(var)
            if hasattr(g, "simplify"):
                g = g.simplify()
            v = _substitute(evaluator(g), c, side)
            if v is not None:
                return _result(v, c, side, "lhopital", LimitResult)
    return numeric(F, c, side, tol)
