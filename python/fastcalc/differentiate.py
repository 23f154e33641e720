"""Numerical differentiation: derivatives, gradients, Jacobians and Hessians.

With a step ``h`` the plain textbook formula is used; without one the step is chosen
automatically and refined by Richardson extrapolation, which also yields an error estimate.
All the work happens in the C++ core; a Python ``f`` is called once per refinement level with
every perturbed point of that level.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple, Optional, Union

import numpy as np

from . import _core
from ._callbacks import as_compiled

__all__ = ["derivative", "gradient", "jacobian", "hessian", "optimal_step", "step_error", "eps",
           "DerivativeInfo"]

#: float64 machine epsilon: the gap between 1.0 and the next double.
eps: float = float(np.finfo(np.float64).eps)

_METHODS = {"central": 0, "forward": 1, "backward": 2}


@dataclass(frozen=True)
class DerivativeInfo:
    """What ``full_output=True`` returns beside the value (attributes, or ``info["error"]``)."""

    error: Any  #: error estimate per value (NaN with a fixed step: no estimate)
    h: Any      #: the step the value came from
    nfev: Any   #: evaluations of f spent per value
    status: Any  #: 0 ok; 1 f was not finite at some probed point; 2 could not extrapolate
    message: str

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)


def _method(method: Optional[str]) -> int:
    if method is None:
        return 0
    try:
        return _METHODS[method]
    except (KeyError, TypeError):
        raise ValueError(f"unknown method {method!r}; expected one of {sorted(_METHODS)}") from None


def _order(method: Optional[str], order: Optional[int]) -> int:
    method = method or "central"
    if order is None:
        return 2 if method == "central" else 1
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)):
        raise TypeError(f"order must be an integer, got {order!r}")
    valid = (2, 4, 6, 8) if method == "central" else tuple(range(1, 9))
    if int(order) not in valid:
        raise ValueError(f"order {order} is not available for method {method!r}; expected one of {valid}")
    return int(order)


def _deriv_order(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"derivative order n must be an integer, got {n!r}")
    if not 1 <= n <= 6:
        raise ValueError(f"derivative order n must be between 1 and 6, got {n}")
    return int(n)


def _number(value: Any, what: str, valid, requirement: str) -> float:
    """A float for an option that must satisfy ``valid``; 0.0 for None (the default)."""
    if value is None:
        return 0.0
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a number, got {value!r}") from None
    if not valid(v):
        raise ValueError(f"{what} must be {requirement}, got {value!r}")
    return v


def _positive(v: float) -> bool:
    return v > 0 and bool(np.isfinite(v))


def _batch_size(batch_size: Optional[int]) -> int:
    """0 for the default, else the points per call of f."""
    if batch_size is None:
        return 0
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer (points per call of f), got {batch_size!r}")
    return int(batch_size)


class _Options(NamedTuple):
    """The core's encoding of the options the four differentiation functions share."""
    method: int
    order: int
    h: float       # 0: automatic
    first: float   # 0: the default first step
    rtol: float    # 0: the default tolerance
    batch: int     # 0: the default points per call


def _options(method, order, h, initial_step, rtol, batch_size) -> _Options:
    hv = _number(h, "step h", _positive, "positive and finite")
    first = _number(initial_step, "initial_step", _positive, "positive and finite")
    tol = _number(rtol, "rtol", lambda v: 0 < v < 1, "positive and less than 1")
    for value, name, role in ((initial_step, "initial_step", "starts the automatic step sequence"),
                              (rtol, "rtol", "is the automatic step's tolerance")):
        if value is not None and hv > 0:
            raise ValueError(f"{name} {role}; it cannot be combined with a fixed h")
    return _Options(_method(method), _order(method, order), hv, first, tol, _batch_size(batch_size))


def _points(x: Any, name: str = "x") -> np.ndarray:
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be numeric: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be real numbers, got an array of dtype {arr.dtype}")
    arr = np.asarray(arr, dtype=np.float64, order="C")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} must be finite; {name}{list(where) if where else ''} is {arr[bad][0]}")
    return arr


def _is_expr(f: Any) -> bool:
    try:
        from .expressions import Expr
    except ImportError:  # pragma: no cover - the expressions package is part of fastcalc
        return False
    return isinstance(f, Expr)


def _exact(f: Any, method: Optional[str], order: Optional[int], h: Optional[float],
           initial_step: Optional[float]) -> bool:
    """An Expr with no stencil or step asked for: exact derivatives by automatic differentiation."""
    return method is None and order is None and h is None and initial_step is None and _is_expr(f)


def _core_function(f: Any):
    """(object for the core, user_data, keepalive)."""
    if _is_expr(f):
        return f._tape(), None, f
    compiled = as_compiled(f)
    if compiled is not None:
        return compiled
    if not callable(f):
        raise TypeError(f"f must be callable or a compiled callback, got {type(f).__name__}")
    return f, None, f


def _info(res: dict, shape, step_shape) -> DerivativeInfo:
    status = res["status"].reshape(shape)
    nonfinite = int(np.count_nonzero(status & 1))
    noext = int(np.count_nonzero(status & 2))
    parts = []
    if nonfinite:
        parts.append(f"f was not finite at some probed points for {nonfinite} value(s)")
    if noext:
        parts.append(f"{noext} value(s) could not be extrapolated (too few finite steps)")
    return DerivativeInfo(
        error=_scalar(res["error"].reshape(shape)),
        h=_scalar(res["step"].reshape(step_shape)),
        nfev=_scalar(res["nfev"].reshape(step_shape)),
        status=_scalar(status),
        message="; ".join(parts) or "ok",
    )


def _scalar(a: np.ndarray) -> Any:
    return a.item() if a.ndim == 0 else a


def derivative(f: Union[Callable, Any], x: Any, n: int = 1, *, method: Optional[str] = None,
               order: Optional[int] = None, h: Optional[float] = None, vectorized: bool = True,
               full_output: bool = False, batch_size: Optional[int] = None,
               initial_step: Optional[float] = None, rtol: Optional[float] = None):
    """The n-th derivative of a function of one variable at each point of ``x``.

    f: a vectorized callable (an array of points in, an array of the same shape out), a scalar
        callable with ``vectorized=False``, a compiled callback, or an ``Expr``.
    x: a number or an array of any shape; the result has the same shape.
    method: "central", "forward" or "backward"; None (the default) means "central" for a function
        and exact automatic differentiation for an ``Expr`` (a stencil, order, h or initial_step asks for finite
        differences on the compiled expression instead). order: the stencil's accuracy order
        (default 2 for central, 1 for one-sided, i.e. the textbook formulas).
    h: a fixed step (the textbook formula, e.g. ``(f(x+h) - f(x))/h`` for forward); None chooses
        steps automatically with Richardson extrapolation and an error estimate.
    full_output: also return a DerivativeInfo (error, h, nfev, status, message).
    batch_size: the most points in one call of a vectorized f. None (the default): every point of
        a refinement level in one call, up to 2 MB of points a call (calls of about 8,192
        points for a function of one variable). For a NumPy f on large levels, calls of 64 KB of
        points (``8192 // n`` for gradients in n dimensions) keep NumPy's temporaries in cache
        and off fresh pages, which can be several times faster.
    initial_step: the first step of the automatic mode for |x| <= 1 (steps grow like log|x|
        beyond), rounded down to a power of two; None: 1/16 for a central first derivative (1/32
        one-sided, doubled per derivative order up to n = 4). A larger first step gets as many
        more halvings, so the finest step tried is unchanged: scipy.differentiate starts at 0.5,
        numdifftools at 2, which costs evaluations on most functions but is exact sooner on
        low-degree polynomials. Not with a fixed ``h``.
    rtol: the automatic mode stops once its error estimate is within ``rtol`` of the value (after
        four steps, and only if the newest extrapolation agrees); None: 2**-38 (about 3.6e-12, as
        good as doubles allow). A looser rtol saves evaluations: 1e-10 takes 8.9 per point instead
        of 10 on x**2*exp(sin x); scipy.differentiate's default rtol is sqrt(eps) (1.5e-8). Round-off
        can still stop it earlier. Not with a fixed ``h``.
    """
    o = _options(method, order, h, initial_step, rtol, batch_size)
    n = _deriv_order(n)
    xa = _points(x)
    if _exact(f, method, order, h, initial_step):
        from ._exact import derivative as exact_derivative

        return exact_derivative(f, xa, n, full_output)
    fn, user_data, _keep = _core_function(f)
    with np.errstate(all="ignore"):  # probing may leave f's domain; NaN is handled and reported
        res = _core.derivative(fn, xa.reshape(-1), n, o.method, o.order, o.h, bool(vectorized), user_data, o.batch,
                               o.first, not full_output, o.rtol)
    value = _scalar(res["value"].reshape(xa.shape))
    if not full_output:
        return value
    return value, _info(res, xa.shape, xa.shape)


def _batch_points(x: Any):
    xa = _points(x)
    if xa.ndim not in (1, 2) or xa.shape[-1] == 0:
        raise ValueError(f"x must have shape (n,) or (batch, n), got {xa.shape}")
    return xa, xa.ndim == 1, np.ascontiguousarray(xa.reshape(-1, xa.shape[-1]))


def _out_dim(f: Any, X: np.ndarray, vectorized: bool, compiled: bool) -> int:
    if compiled:
        return 1
    probe = f(X[:1]) if vectorized else f(X[0].copy())
    y = np.asarray(probe, dtype=np.float64)
    if vectorized:
        if y.ndim == 1 and y.shape[0] == 1:
            return 1
        if y.ndim == 2 and y.shape[0] == 1:
            return int(y.shape[1])
        raise ValueError(f"f returned shape {y.shape} for 1 point of shape (1, {X.shape[1]}); "
                         "expected (1,) or (1, m)")
    return int(y.size)


def gradient(f: Any, x: Any, *, method: Optional[str] = None, order: Optional[int] = None,
             h: Optional[float] = None, vectorized: bool = True, full_output: bool = False,
             batch_size: Optional[int] = None, initial_step: Optional[float] = None,
             rtol: Optional[float] = None):
    """The gradient of f: R^n -> R at x of shape (n,) or (batch, n); same shape out.

    A vectorized f maps an array (k, n) to (k,); with ``vectorized=False`` it maps (n,) to a
    number. Other options as in :func:`derivative`.
    """
    return _first(f, x, method, order, h, vectorized, full_output, batch_size, initial_step, rtol, jac=False)


def jacobian(f: Any, x: Any, *, method: Optional[str] = None, order: Optional[int] = None,
             h: Optional[float] = None, vectorized: bool = True, full_output: bool = False,
             batch_size: Optional[int] = None, initial_step: Optional[float] = None,
             rtol: Optional[float] = None):
    """The Jacobian of f: R^n -> R^m: an (m, n) matrix at x of shape (n,), (batch, m, n) for a batch.

    A vectorized f maps (k, n) to (k, m). Other options as in :func:`derivative`.
    """
    return _first(f, x, method, order, h, vectorized, full_output, batch_size, initial_step, rtol, jac=True)


def _first(f, x, method, order, h, vectorized, full_output, batch_size, initial_step, rtol, jac):
    o = _options(method, order, h, initial_step, rtol, batch_size)
    xa, single, X = _batch_points(x)
    if _exact(f, method, order, h, initial_step):
        from ._exact import first as exact_first

        return exact_first(f, xa, jac, full_output)
    fn, user_data, _keep = _core_function(f)
    if _is_expr(f):
        m = f._tape().n_outputs
        if X.shape[1] != f._tape().n_vars:
            raise ValueError(f"x has {X.shape[1]} components but the expression has variables {f.vars}")
    else:
        m = _out_dim(f, X, vectorized, fn is not f) if jac else 1
    with np.errstate(all="ignore"):
        res = _core.first_partials(fn, X, m, o.method, o.order, o.h, bool(vectorized), user_data, o.batch, o.first,
                                   not full_output, o.rtol)
    k, n = X.shape
    if jac:
        value = np.ascontiguousarray(res["value"].transpose(0, 2, 1))  # (k, m, n): m x n per point
        for key in ("value", "error", "status"):
            if key in res:  # only "value" without full_output
                res[key] = res[key].transpose(0, 2, 1)
        shape = (m, n) if single else (k, m, n)
    else:
        value = res["value"].reshape(k, n)
        shape = (n,) if single else (k, n)
    value = value.reshape(shape)
    if not full_output:
        return value
    return value, _info(res, shape, (n,) if single else (k, n))


def hessian(f: Any, x: Any, *, method: Optional[str] = None, order: Optional[int] = None,
            h: Optional[float] = None, vectorized: bool = True, full_output: bool = False,
            batch_size: Optional[int] = None, initial_step: Optional[float] = None,
            rtol: Optional[float] = None):
    """The Hessian of f: R^n -> R: (n, n) at x of shape (n,), (batch, n, n) for a batch.

    Diagonal entries use the second-derivative stencil, the others the mixed (tensor) stencil;
    the result is exactly symmetric. Other options as in :func:`derivative`.
    """
    o = _options(method, order, h, initial_step, rtol, batch_size)
    xa, single, X = _batch_points(x)
    if _exact(f, method, order, h, initial_step):
        from ._exact import hessian as exact_hessian

        return exact_hessian(f, xa, full_output)
    fn, user_data, _keep = _core_function(f)
    with np.errstate(all="ignore"):
        res = _core.hessian(fn, X, o.method, o.order, o.h, bool(vectorized), user_data, o.batch, o.first, o.rtol)
    k, n = X.shape
    shape = (n, n) if single else (k, n, n)
    value = res["value"].reshape(shape)
    if not full_output:
        return value
    return value, _info(res, shape, shape)


def optimal_step(x: Any, method: str = "central", n: int = 1, order: Optional[int] = None):
    """The step that balances truncation against round-off: eps**(1/(order+n)) * max(1, |x|).

    For n = 1 that is sqrt(eps)*max(1,|x|) one-sided and cbrt(eps)*max(1,|x|) central.
    """
    acc = _order(method, order)
    n = _deriv_order(n)
    xa = _points(x)
    return _scalar(eps ** (1.0 / (acc + n)) * np.maximum(1.0, np.abs(xa)))


def step_error(f: Any, x: float, hs: Any, method: str = "forward", exact: Optional[float] = None,
               *, n: int = 1, order: Optional[int] = None, vectorized: bool = True) -> np.ndarray:
    """|f'(x) - D_h f(x)| for each step h in ``hs``: the truncation vs round-off trade-off.

    ``exact`` defaults to the automatic (extrapolated) derivative.
    """
    hs = _points(hs, "hs")
    if hs.ndim != 1 or (hs <= 0).any():
        raise ValueError("hs must be a 1-d array of positive steps")
    x0 = float(_points(x))
    if exact is None:
        exact = derivative(f, x0, n, vectorized=vectorized)
    approx = np.array([derivative(f, x0, n, method=method, order=order, h=float(hv), vectorized=vectorized)
                       for hv in hs])
    return np.abs(approx - exact)
