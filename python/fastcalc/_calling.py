"""How a user's callable is called: one point at a time, a batch of points as rows, or a batch as
columns (scipy.differentiate's convention), found by probing f when ``vectorized=None``.

A function written for one point (``x[0]``, ``x[1]``, ... of a 1-d array of n components,
returning a number, a sequence or an array of m values) is the ground truth: fastcalc calls it at
a few points near the first one, then calls it once with those points as rows ``(k, n)`` and
once as columns ``(n, k)``, and uses a batched style only if it gives the same values (their
differences from the first point, to 1e-9 of their spread; a function that mixes the points,
such as ``x[0] * np.sum(x)`` given a batch, does not). ``k`` is never n or m, so that no
transposed or mixed-up result can have the right shape by accident. Otherwise f is called one
point at a time: slower, never wrong.

An exception raised by f at a point (the one-point call, or the probe points, which lie within
the steps a derivative takes anyway) propagates unchanged. One raised by a batched call while the
one-point calls succeed only means f does not take batches that way. If the one-point call
raises and f takes rows, each row of the batch must equal f at that single row; if a batch raises
too, the one-point call's exception propagates unchanged; if a batch gives values that are not f
at each row, f is ambiguous: a ValueError says so and names ``vectorized=``.

The style found is kept per function object (without ``args``), so a function is probed once.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable, Dict, NamedTuple, Optional, Tuple

import numpy as np

__all__ = ["Style", "style_of", "bind_args", "STYLE_CODES"]

#: The core's codes for the call styles (src/pycallback.hpp).
STYLE_CODES = {"point": 0, "rows": 1, "columns": 2}

_VECTORIZED = {None: None, True: "rows", False: "point", "rows": "rows", "point": "point", "columns": "columns"}


class Style(NamedTuple):
    """How f is called and what it returns: ``how`` ("point", "rows" or "columns"), ``m`` the
    number of values per point, ``scalar`` whether f returns a number for one point, and
    ``complex`` whether its values are complex."""

    how: str
    m: int
    scalar: bool
    complex: bool

    @property
    def code(self) -> int:
        return STYLE_CODES[self.how]


def vectorized_style(vectorized: Any) -> Optional[str]:
    """The style ``vectorized=`` asks for: None (find it), "rows", "point" or "columns"."""
    try:
        return _VECTORIZED[vectorized]
    except (KeyError, TypeError):
        raise ValueError(f"vectorized must be None (find out), True or 'rows' (f takes a batch of points as "
                         f"rows), 'columns' (components on axis 0, as scipy.differentiate calls f) or False "
                         f"(one point per call), got {vectorized!r}") from None


def bind_args(f: Callable, args: Any) -> Callable:
    """f with ``args`` appended to every call (scipy's ``args=``)."""
    if args is None or args == ():
        return f
    if not isinstance(args, tuple):
        args = (args,)

    def bound(x):
        return f(x, *args)

    bound.__wrapped__ = f  # type: ignore[attr-defined]
    return bound


# ---- the cache -----------------------------------------------------------------------------

_WEAK: "weakref.WeakKeyDictionary[Any, Dict[Tuple, Style]]" = weakref.WeakKeyDictionary()
_STRONG: Dict[int, Tuple[Any, Dict[Tuple, Style]]] = {}  # ufuncs and builtins: no weak references


def _cached(f: Any, key: Tuple) -> Optional[Style]:
    try:
        table = _WEAK.get(f)
    except TypeError:
        hit = _STRONG.get(id(f))
        table = hit[1] if hit is not None and hit[0] is f else None
    return None if table is None else table.get(key)


def _remember(f: Any, key: Tuple, style: Style) -> None:
    try:
        _WEAK.setdefault(f, {})[key] = style
    except TypeError:
        if len(_STRONG) >= 256:
            _STRONG.pop(next(iter(_STRONG)))
        hit = _STRONG.get(id(f))
        if hit is None or hit[0] is not f:
            hit = _STRONG[id(f)] = (f, {})
        hit[1][key] = style


# ---- probing -------------------------------------------------------------------------------

def _values(y: Any) -> np.ndarray:
    """f's result as an array of numbers (complex kept); TypeError if it is not numbers."""
    a = np.array(y)  # a copy: f may rewrite the array it returned at its next call
    if a.dtype.kind not in "biufc":
        raise TypeError(f"f must return numbers, got {type(y).__name__}"
                        + (f" of dtype {a.dtype}" if isinstance(y, np.ndarray) else ""))
    return a


def _probe_points(p0: np.ndarray, k: int) -> np.ndarray:
    """k points near p0 (the first is p0), distinct in every component and from one another,
    within the steps a derivative takes anyway (about 2**-8 of max(1, |p0|))."""
    n = p0.size
    scale = np.maximum(1.0, np.abs(p0)) * 2.0**-8
    i = np.arange(k)[:, None]
    j = np.arange(n)[None, :]
    c = (i * (1.0 + 0.37 * ((j * 7 + 3) % 11) / 11.0)) / k
    return p0[None, :] + c * scale[None, :]


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """The values of two styles at the probe points agree: their differences from the first
    point to 1e-9 of their spread (an offset common to all points cancels), NaNs at the same
    places."""
    if a.shape != b.shape:
        return False
    na, nb = ~np.isfinite(a), ~np.isfinite(b)
    if not np.array_equal(na, nb):
        return False
    if na.all():
        return True
    a = np.where(na, 0, a)
    b = np.where(nb, 0, b)
    da, db = a - a[:1], b - b[:1]
    spread = max(float(np.max(np.abs(da))), float(np.max(np.abs(db))))
    return bool(np.all(np.abs(da - db) <= 1e-9 * spread)) and bool(
        np.all(np.abs(a[0] - b[0]) <= 1e-12 * np.maximum(np.abs(a[0]), np.abs(b[0])) + 1e-300))


def _try(call: Callable[[], Any]) -> Optional[np.ndarray]:
    """A batched call's values, or None if it raised (f does not take batches that way)."""
    try:
        return _values(call())
    except Exception:  # noqa: BLE001 - only when the one-point calls succeed, or checked after
        return None


def style_of(f: Callable, p0: Any, *, scalar_input: bool, vectorized: Any = None, cache: bool = True) -> Style:
    """How to call f near the point p0 (a number when ``scalar_input``: f of one variable called
    with numbers, else a 1-d array of n components), following ``vectorized=`` or probing.

    Explicit styles are checked by one call at p0 for what f returns (its size and whether it
    is complex), in that style."""
    want = vectorized_style(vectorized)
    n = 1 if scalar_input else int(np.size(p0))
    key = (scalar_input, n, want)
    if cache:
        hit = _cached(f, key)
        if hit is not None:
            return hit
    p0 = np.array(p0, dtype=np.float64).reshape(() if scalar_input else (-1,))
    style = _explicit(f, p0, scalar_input, want) if want is not None else _detect(f, p0, scalar_input)
    if cache:
        _remember(f, key, style)
    return style


def _point_arg(p: np.ndarray, scalar_input: bool) -> Any:
    return float(p) if scalar_input else np.array(p, dtype=np.float64)


def _explicit(f: Callable, p0: np.ndarray, scalar_input: bool, how: str) -> Style:
    if how == "point":
        y = _values(f(_point_arg(p0, scalar_input)))
        return Style("point", int(y.size), y.ndim == 0, y.dtype.kind == "c")
    P = p0.reshape(1, -1) if not scalar_input else p0.reshape(1)
    arg = P if how == "rows" else (P.T if not scalar_input else P)
    y = _values(f(np.ascontiguousarray(arg)))
    if how == "rows":
        m = 1 if y.ndim <= 1 else int(y.shape[-1])
    else:
        m = 1 if y.ndim <= 1 else int(y.shape[0])
    return Style(how, m, m == 1 and y.ndim <= 1, y.dtype.kind == "c")


def _detect(f: Callable, p0: np.ndarray, scalar_input: bool) -> Style:
    n = 1 if scalar_input else p0.size
    one_exc: Optional[BaseException] = None
    try:
        y0 = _values(f(_point_arg(p0, scalar_input)))
    except Exception as exc:  # noqa: BLE001 - re-raised below unless f takes checked batches
        one_exc, y0 = exc, None
    m = 1 if y0 is None else int(y0.size)
    k = next(c for c in (3, 4, 5, 6) if c not in (n, m))
    P = _probe_points(p0.reshape(-1), k)  # (k, n)
    if scalar_input:
        P = P[:, 0]
    if y0 is not None:
        # the ground truth: f at each probe point, one point per call (exceptions propagate)
        truth = np.stack([y0.reshape(-1)] + [_values(f(_point_arg(P[i], scalar_input))).reshape(-1)
                                             for i in range(1, k)])  # (k, m)
        cplx = truth.dtype.kind == "c"
        rows = _try(lambda: f(np.array(P)))
        if rows is not None and _same(_as_rows(rows, k, m, False), truth):
            return Style("rows", m, y0.ndim == 0, cplx)
        if not scalar_input or m > 1:
            cols = _try(lambda: f(np.array(P.T)))
            if cols is not None and _same(_as_rows(cols, k, m, True), truth):
                return Style("columns", m, y0.ndim == 0, cplx)
        return Style("point", m, y0.ndim == 0, cplx)
    # f fails on one point: a function of rows? each row of a batch must be f at that row alone
    rows = _try(lambda: f(np.array(P)))
    if rows is None:  # f fails on a batch too: its own error, as it is
        raise one_exc
    if rows is not None and rows.ndim in (1, 2) and rows.shape[0] == k:
        m = 1 if rows.ndim == 1 else int(rows.shape[1])
        single = [_try(lambda i=i: f(np.array(P[i:i + 1]))) for i in range(k)]
        if all(s is not None for s in single):
            alone = np.stack([s.reshape(-1) for s in single])
            if alone.shape == (k, m) and _same(rows.reshape(k, m), alone):
                return Style("rows", m, rows.ndim == 1, rows.dtype.kind == "c")
    assert one_exc is not None
    raise ValueError("cannot tell how f takes its points: called with one point x of shape "
                     + ("()" if scalar_input else f"({n},)") + f" it raised {type(one_exc).__name__}: {one_exc}; "
                     "called with a batch of points as rows it gave values that are not f at each row alone; "
                     "say how with vectorized= (True: rows (k, n) -> (k,), 'columns': (n, k) -> (k,), False: "
                     "one point per call)") from one_exc


def _as_rows(y: np.ndarray, k: int, m: int, columns: bool) -> np.ndarray:
    """A batched result as (k, m), or an array of another shape (which then fails _same)."""
    if m == 1 and y.shape == (k,):
        return y.reshape(k, 1)
    if columns and y.shape == (m, k):
        return y.T
    if not columns and y.shape == (k, m):
        return y
    return np.full((0,), np.nan)
