"""Limits and continuity: ``limit(f, c, side)`` and ``is_continuous(f, a)``.

``f`` is an ``Expr`` of one variable or a Python callable. A callable written with NumPy
(arithmetic and ufuncs) is traced into an ``Expr`` first (``_trace``); anything else is a black
box sampled in double precision (``_limits_numeric``).

For an ``Expr`` (given or traced) with mpmath installed, every sample is computed in verified
arbitrary precision and the samples reach ``10^-272`` from ``c`` (``_limits_exact``); the
expression's own structure says whether an oscillating or jumping function (sin, tan, floor,
frac, sign, ...) of a non-constant argument could make the limit not exist. Without mpmath an
``Expr`` is sampled in doubles like a black box.

The verdict is one of ``"finite"``, ``"+inf"``, ``"-inf"``, ``"does not exist"`` (the reason:
``"left and right disagree"``, ``"oscillates"``, ``"unbounded"``, ``"undefined"``) or
``"undetermined"`` (the reason says why): a number is given only when the evidence supports it.
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any, Optional, Sequence, Tuple

import numpy as np

from . import _limits_numeric, _mpeval
from ._limits_exact import Side, limit_side
from .results import Result

__all__ = ["limit", "is_continuous", "LimitResult", "Continuity", "LIMIT_STATUS", "VERDICTS"]

VERDICTS = ("finite", "+inf", "-inf", "does not exist", "undetermined")
#: status of a limit: 0 the verdict is decided (a value, an infinity or non-existence)
LIMIT_STATUS = {0: "ok", 1: "undetermined: the method cannot tell (see reason)"}
_SIDES = {"both": (-1, 1), "+-": (-1, 1), "+": (1,), "-": (-1,)}
_BUDGET = 20.0  # seconds of extended-precision sampling per side, at most


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class LimitResult(Result):
    """The limit of f at c, with the evidence's verdict.

    Attributes
    ----------
    value : float
        The limit: a finite number, ``±inf`` for the infinite verdicts, NaN otherwise. A limit
        the evidence puts at zero is exactly ``0.0``.
    verdict : str
        ``"finite"``, ``"+inf"``, ``"-inf"``, ``"does not exist"`` or ``"undetermined"`` (the
        method cannot tell; never a number that looks sure).
    reason : str or None
        Why, for every verdict that is not a value: ``"left and right disagree"``,
        ``"oscillates"``, ``"unbounded"`` (oscillates with growing amplitude) or
        ``"undefined"`` (f is not defined near c) for "does not exist"; what stopped the method
        for "undetermined". None for a value.
    error : float
        An estimate of ``|value - limit|`` (0 for ±inf; NaN without a value).
    left : float or None
        The limit from the left (x -> c-) where it was computed (NaN where that side has no
        value); None otherwise (at +inf the only side is the left one).
    right : float or None
        The limit from the right (x -> c+), likewise.
    method : str
        ``"extended precision"`` (an Expr, given or traced, sampled with verified mpmath
        arithmetic) or ``"double precision"`` (a black box, or no mpmath).
    traced : bool
        Whether f was a callable traced into an Expr.
    success : bool
        False only for "undetermined".
    status : int
        0 decided, 1 undetermined (:data:`LIMIT_STATUS`).
    message : str
        The status in words.
    exists
        True when the limit exists in the extended reals (a finite value or ±inf).
    """

    value: float
    verdict: str
    reason: Optional[str] = None
    error: float = math.nan
    left: Optional[float] = None
    right: Optional[float] = None
    method: str = "double precision"
    traced: bool = False
    success: bool = True
    status: int = 0
    message: str = "ok"

    @property
    def exists(self) -> bool:
        """The limit exists in the extended reals (a finite value or ±inf)."""
        return self.verdict in ("finite", "+inf", "-inf")

    def __float__(self) -> float:
        return float(self.value)


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Continuity(Result):
    """Result of :func:`is_continuous`: truthy exactly when f is continuous at a.

    Attributes
    ----------
    continuous : bool
        True when f(a) is defined, the limit at a exists and equals f(a).
    verdict : str
        ``"continuous"``, ``"not continuous"`` or ``"undetermined"`` (the limit's verdict was).
    failed : str or None
        The condition that failed (``'f(a) is not defined'``, ``'the limit at a does not
        exist'``, ``'the limit at a does not equal f(a)'``, or why the limit is undetermined);
        None when continuous.
    value : float
        f(a) (NaN where f is not defined at a).
    limit : LimitResult
        The limit of f at a that was compared with f(a).
    success : bool
        False when the verdict is undetermined.
    """

    continuous: bool
    verdict: str
    failed: Optional[str]
    value: float
    limit: LimitResult
    success: bool = True

    def __bool__(self) -> bool:
        return self.continuous


# ---------------------------------------------------------------- input
def _check_point(c: Any) -> float:
    if isinstance(c, (str, bytes)):
        raise TypeError(f"c must be a real number or +-inf, got {c!r}")
    try:
        cv = float(c)
    except (TypeError, ValueError):
        raise TypeError(f"c must be a real number or +-inf, got {c!r}") from None
    if math.isnan(cv):
        raise ValueError("c is NaN; expected a real number or +-inf")
    return cv


def _check_side(side: Any) -> Tuple[int, ...]:
    if not isinstance(side, str) or side not in _SIDES:
        raise ValueError(f"unknown side {side!r}; expected '+', '-' or 'both' (or '+-')")
    return _SIDES[side]


def _check_rtol(rtol: Any, tol: Any) -> float:
    if tol is not None:
        warnings.warn("limit(tol=) is deprecated; use rtol=", DeprecationWarning, stacklevel=3)
        rtol = tol
    try:
        r = float(rtol)
    except (TypeError, ValueError):
        raise TypeError(f"rtol must be a positive number, got {rtol!r}") from None
    if not (r > 0 and math.isfinite(r)):
        raise ValueError(f"rtol must be positive and finite, got {rtol!r}")
    return r


def _as_function(f: Any) -> Any:
    """A string is an expression's text (unknown names and wrong arities raise ValueError)."""
    if isinstance(f, str):
        from .expressions import expr
        return expr(f)
    return f


def _is_expr(f: Any) -> bool:
    from .expressions import Expr
    return isinstance(f, Expr)


def _expr_var(f) -> Optional[str]:
    if f.is_vector:
        raise ValueError("limit needs a scalar expression, got a vector of expressions")
    fv = list(f.free_vars())
    if len(fv) > 1:
        raise ValueError(f"limit needs an expression of one variable; f has {sorted(fv)}")
    return fv[0] if fv else None


# ---------------------------------------------------------------- sides
def _sides_of(c: float, sides: Tuple[int, ...]) -> Tuple[int, ...]:
    if math.isinf(c):
        return (-1,) if c > 0 else (1,)  # at +inf from below (the left), at -inf from above
    return sides


def _close(u: float, v: float, error: float, rtol: float) -> bool:
    """Two values the same within rtol (relative to max(1, |u|, |v|)) or their error estimates."""
    return abs(u - v) <= max(rtol * max(1.0, abs(u), abs(v)), 4 * error)


def _agree(a: Side, b: Side, rtol: float) -> bool:
    if a.verdict != b.verdict:
        return False
    return a.verdict != "finite" or _close(a.value, b.value, a.error + b.error, rtol)


def _combine(found: Sequence[Tuple[int, Side]], rtol: float) -> Side:
    """The two-sided verdict from the one-sided ones."""
    if len(found) == 1:
        return found[0][1]
    (_, left), (_, right) = found
    for one in (left, right):
        if one.verdict == "does not exist":
            return one
    for one in (left, right):
        if one.verdict == "undetermined":
            return one
    if _agree(left, right, rtol):
        best = left if left.error <= right.error else right
        err = max(left.error, right.error, abs(left.value - right.value) if best.verdict == "finite" else 0.0)
        return Side(best.verdict, best.value, err)
    return Side("does not exist", reason="left and right disagree")


def _side_value(s: Side) -> float:
    return s.value if s.verdict in ("finite", "+inf", "-inf") else math.nan


def _result(found, rtol: float, method: str, traced: bool) -> LimitResult:
    r = _combine(found, rtol)
    by = dict(found)
    left = _side_value(by[-1]) if -1 in by else None
    right = _side_value(by[1]) if 1 in by else None
    undetermined = r.verdict == "undetermined"
    value = r.value if r.verdict in ("finite", "+inf", "-inf") else math.nan
    error = r.error if r.verdict == "finite" else (0.0 if r.verdict in ("+inf", "-inf") else math.nan)
    return LimitResult(value=value, verdict=r.verdict, reason=r.reason, error=error, left=left, right=right,
                       method=method, traced=traced, success=not undetermined, status=int(undetermined),
                       message=LIMIT_STATUS[int(undetermined)] if not undetermined else f"undetermined: {r.reason}")


# ---------------------------------------------------------------- API
def limit(f: Any, c: float, side: str = "both", *, rtol: float = 1e-10, tol: Optional[float] = None) -> LimitResult:
    """The limit of f(x) as x -> c.

    Parameters
    ----------
    f : Expr, str or callable
        An expression of one variable (or its text), or a function of one real number (NumPy functions are
        traced into an expression; others are sampled as black boxes, vectorized when they
        accept arrays).
    c : float
        The point, or ``±inf``. A double stands for the simplest number it rounds from (a
        short decimal, ``p/q`` or ``p*pi/q``): ``math.pi/2`` means pi/2.
    side : {"both", "+", "-", "+-"}
        From the right ("+"), the left ("-") or both ("both", or sympy's "+-"). At ``±inf``
        the only side there is.
    rtol : float
        Relative tolerance (to ``max(1, |value|)``) within which two one-sided limits agree.

    Returns
    -------
    LimitResult
        ``verdict``, ``value``, ``reason``, ``error``, ``left``, ``right``, ``success``, ...

    Examples
    --------
    >>> import fastcalc as fc
    >>> fc.limit(fc.expr("sin(x)/x"), 0).value
    1.0
    >>> r = fc.limit(fc.expr("tan(x)"), float("inf"))
    >>> r.verdict, r.reason
    ('does not exist', 'oscillates')
    >>> fc.limit(lambda x: 1 / x, 0).reason
    'left and right disagree'
    """
    cv = _check_point(c)
    sides = _sides_of(cv, _check_side(side))
    rt = _check_rtol(rtol, tol)
    traced = False
    f = _as_function(f)
    if _is_expr(f):
        e = f
    elif callable(f):
        e = _traced(f, cv)
        traced = e is not None
    else:
        raise TypeError(f"f must be a callable or an Expr, got {type(f).__name__}")
    if e is not None:
        var = _expr_var(e)
        if _mpeval.available():
            found = [(s, limit_side(e, var, cv, s, _BUDGET)) for s in sides]
            return _result(found, rt, "extended precision", traced)
        F = _limits_numeric.evaluator(_double(e, var))
    else:
        F = _limits_numeric.evaluator(f)
    found = [(s, _limits_numeric.one_side(F, cv, s, rt)) for s in sides]
    return _result(found, rt, "double precision", traced)


def _double(e, var):
    from .reference.expr import lambdify
    g = lambdify(e)
    if var is None:
        return lambda x: np.broadcast_to(g(), np.shape(x)) if e.vars == () else g(x)
    return g


def _traced(f, c: float):
    """f as an Expr when tracing it is faithful at a few points near c; else None."""
    from ._trace import faithful, trace
    e = trace(f)
    if e is None:
        return None
    base = 0.0 if math.isinf(c) else c
    probe = base + np.array([-0.37, -0.0131, 0.0217, 0.41, 1.3])
    if math.isinf(c):
        probe = math.copysign(1.0, c) * np.array([3.7, 41.3, 517.9, 6.1e3, 7.3e4])
    return e if faithful(e, f, probe) else None


def is_continuous(f: Any, a: float, *, rtol: float = 1e-10, tol: Optional[float] = None) -> Continuity:
    """The course's three conditions at a: f(a) is defined, the limit at a exists (both sides
    agree, finite), and it equals f(a). Truthy when continuous; ``failed`` says which failed;
    ``verdict`` is "undetermined" when the limit's verdict is.

    Examples
    --------
    >>> import fastcalc as fc
    >>> bool(fc.is_continuous(fc.expr("abs(x)"), 0.0))
    True
    >>> fc.is_continuous(fc.expr("floor(x)"), 1.0).failed
    'the limit at a does not exist'
    """
    av = _check_point(a)
    if math.isinf(av):
        raise ValueError(f"continuity needs a finite point a, got {a!r}")
    rt = _check_rtol(rtol, tol)
    f = _as_function(f)
    F = _limits_numeric.evaluator(f) if not _is_expr(f) else _limits_numeric.evaluator(_double(f, _expr_var(f)))
    fa = float(F(np.array([av]))[0])
    lim = limit(f, av, rtol=rt)
    if not math.isfinite(fa):
        return Continuity(False, "not continuous", "f(a) is not defined", fa, lim)
    if lim.verdict == "undetermined":
        return Continuity(False, "undetermined", f"the limit at a is undetermined ({lim.reason})", fa, lim, False)
    if lim.verdict != "finite":
        return Continuity(False, "not continuous", "the limit at a does not exist", fa, lim)
    if not _close(fa, lim.value, lim.error, rt):
        return Continuity(False, "not continuous", "the limit at a does not equal f(a)", fa, lim)
    return Continuity(True, "continuous", None, fa, lim)
