"""Numerical differentiation: derivatives, gradients, Jacobians and Hessians.

With a step ``h`` the plain textbook formula is used; without one the step is chosen
automatically and refined by Richardson extrapolation, which also yields an error estimate.
All the work happens in the C++ core; a Python ``f`` is called once per refinement level with
every perturbed point of that level. ``method="complex"`` takes the complex step instead.

A Python ``f`` may be written for one point (as scipy.optimize's and JAX's examples are), for a
batch of points as rows (``(k, n) -> (k,)``), or for a batch as columns (scipy.differentiate's
convention, ``(n, k) -> (k,)``): with ``vectorized=None`` (the default) fastcalc finds out which
by probing f near the first point, and never guesses (see ``fastcalc._calling``).
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, Literal, NamedTuple, Optional, Union, overload

import numpy as np

from . import _core
from ._callbacks import as_compiled
from ._calling import bind_args, style_of
from .results import DerivativeResult, derivative_message

__all__ = ["derivative", "gradient", "jacobian", "hessian", "optimal_step", "step_error", "eps",
           "DerivativeResult"]

#: float64 machine epsilon: the gap between 1.0 and the next double.
eps: float = float(np.finfo(np.float64).eps)

_METHODS = {"central": 0, "forward": 1, "backward": 2}
_ALL_METHODS = sorted(_METHODS) + ["complex"]

Array = Union[float, np.ndarray]


def _method(method: Optional[str]) -> int:
    if method is None:
        return 0
    try:
        return _METHODS[method]
    except (KeyError, TypeError):
        raise ValueError(f"unknown method {method!r}; expected one of {_ALL_METHODS}") from None


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
    complex: bool  # the complex step


def _options(method, order, h, initial_step, rtol, batch_size) -> _Options:
    hv = _number(h, "step h", _positive, "positive and finite")
    first = _number(initial_step, "initial_step", _positive, "positive and finite")
    tol = _number(rtol, "rtol", lambda v: 0 < v < 1, "positive and less than 1")
    for value, name, role in ((initial_step, "initial_step", "starts the automatic step sequence"),
                              (rtol, "rtol", "is the automatic step's tolerance")):
        if value is not None and hv > 0:
            raise ValueError(f"{name} {role}; it cannot be combined with a fixed h")
    if method == "complex":
        for value, name in ((order, "order"), (initial_step, "initial_step"), (rtol, "rtol")):
            if value is not None:
                raise ValueError(f"{name} is for finite differences; method='complex' takes one complex step")
        return _Options(0, 2, hv, 0.0, 0.0, _batch_size(batch_size), True)
    return _Options(_method(method), _order(method, order), hv, first, tol, _batch_size(batch_size), False)


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


_EXPR: Any = None  # the Expr class, imported once (the expressions package imports this module)


def _is_expr(f: Any) -> bool:
    global _EXPR
    if _EXPR is None:
        from .expressions import Expr

        _EXPR = Expr
    return isinstance(f, _EXPR)


def _exact(f: Any, method: Optional[str], order: Optional[int], h: Optional[float],
           initial_step: Optional[float]) -> bool:
    """An Expr with no stencil or step asked for: exact derivatives by automatic differentiation."""
    return method is None and order is None and h is None and initial_step is None and _is_expr(f)


class _Callee(NamedTuple):
    """f as the core calls it: the object, user_data, the style code, values per point, whether
    complex, and what must stay alive."""
    fn: Any
    user_data: Any
    style: int
    m: int
    complex: bool
    scalar: bool
    keep: Any


def _nonempty(X: np.ndarray) -> None:
    """A callable's derivatives need a point to learn how f is called (and its number of values)."""
    if X.shape[0] == 0:
        raise ValueError(f"x has no points (shape {X.shape}); give at least one point")


def _callee(f: Any, p0: Any, scalar_input: bool, args: Any, vectorized: Any, o: _Options) -> _Callee:
    """How the core calls f (an Expr's tape, a compiled callback, or a Python callable in the
    style ``_calling.style_of`` finds)."""
    if _is_expr(f):
        if o.complex:
            raise ValueError("method='complex' needs a Python function that takes complex numbers; an "
                             "expression has exact derivatives (leave method unset)")
        if args not in (None, ()):
            raise ValueError("args= is for Python functions; an expression has no extra arguments")
        tape = f._tape()
        return _Callee(tape, None, 1, int(tape.n_outputs), False, tape.n_outputs == 1, f)
    compiled = as_compiled(f)
    if compiled is not None:
        if o.complex:
            raise ValueError("method='complex' needs a Python function that takes complex numbers, not a "
                             "compiled callback")
        if args not in (None, ()):
            raise ValueError("args= is for Python functions; pass a compiled callback's data as user_data "
                             "of a scipy.LowLevelCallable")
        return _Callee(compiled[0], compiled[1], 1, 1, False, True, compiled[2])
    if not callable(f):
        raise TypeError(f"f must be callable or a compiled callback, got {type(f).__name__}")
    g = bind_args(f, args)
    st = style_of(g, p0, scalar_input=scalar_input, vectorized=vectorized, cache=g is f)
    return _Callee(g, None, st.code, st.m, st.complex, st.scalar, g)


def _split(g: Callable, how: str, m: int) -> Callable:
    """g with complex values as 2m real ones (real parts, then imaginary parts) in g's style."""
    def real_imag(x):
        y = np.asarray(g(x))
        if how == "point":
            y = y.reshape(-1)
            return np.concatenate([y.real, y.imag])
        if how == "rows":
            y = y.reshape(len(x), m)
            return np.concatenate([y.real, y.imag], axis=1)
        y = y.reshape(m, -1)  # columns
        return np.concatenate([y.real, y.imag], axis=0)
    return real_imag


def _scalar(a: np.ndarray) -> Any:
    return a.item() if a.ndim == 0 else a


def _result(res: dict, shape, step_shape) -> DerivativeResult:
    status = res["status"].reshape(shape)
    return DerivativeResult(
        df=_scalar(res["value"].reshape(shape)),
        error=_scalar(res["error"].reshape(shape)),
        h=_scalar(res["step"].reshape(step_shape)),
        nfev=_scalar(res["nfev"].reshape(step_shape)),
        status=_scalar(status),
        success=_scalar(status == 0),
        message=derivative_message(status),
    )


def _complex_parts(run: Callable[[Any, int], dict], c: _Callee) -> dict:
    """run(fn, m) for the real and imaginary parts of a complex-valued f, recombined: a complex
    derivative (errors added, status bits or'ed)."""
    how = {0: "point", 1: "rows", 2: "columns"}[c.style]
    res = run(_split(c.fn, how, c.m), 2 * c.m)
    out = {}
    for key, v in res.items():
        if key == "value" or key == "error" or key == "status":
            re, im = v[..., :c.m], v[..., c.m:]
            out[key] = re + 1j * im if key == "value" else (re + im if key == "error" else re | im)
        else:
            out[key] = v
    return out


def _run(c: _Callee, run: Callable[[Any, int], dict]) -> dict:
    """The core on f, or on its real and imaginary parts when f is complex-valued (found by the
    probe, or by the core when f turns complex at some later point)."""
    with np.errstate(all="ignore"):  # probing may leave f's domain; NaN is handled and reported
        if c.complex:
            return _complex_parts(run, c)
        try:
            return run(c.fn, c.m)
        except _core.ComplexValuedError:  # our own refusal, before any value was used: redo
            return _complex_parts(run, c)


# ---- derivative ----------------------------------------------------------------------------

@overload
def derivative(f: Any, x: Any, n: int = ..., *, args: Any = ..., method: Optional[str] = ...,
               order: Optional[int] = ..., h: Optional[float] = ..., vectorized: Any = ...,
               full_output: Literal[False] = ..., batch_size: Optional[int] = ...,
               initial_step: Optional[float] = ..., rtol: Optional[float] = ...) -> Array: ...
@overload
def derivative(f: Any, x: Any, n: int = ..., *, args: Any = ..., method: Optional[str] = ...,
               order: Optional[int] = ..., h: Optional[float] = ..., vectorized: Any = ...,
               full_output: Literal[True], batch_size: Optional[int] = ...,
               initial_step: Optional[float] = ..., rtol: Optional[float] = ...) -> DerivativeResult: ...


def derivative(f, x, n=1, *, args=(), method=None, order=None, h=None, vectorized=None, full_output=False,
               batch_size=None, initial_step=None, rtol=None):
    """The n-th derivative of a function of one variable at each point of ``x``.

    Parameters
    ----------
    f : callable, compiled callback or Expr
        ``f(x, *args)`` of a number (written for one point, or vectorized over an array: found
        out, see ``vectorized``), returning a number, or m numbers (then the result has a last
        axis of m); complex values give a complex derivative. Or a compiled callback
        (``fc.ccallback``, ``scipy.LowLevelCallable``, numba ``cfunc``, ctypes) or an ``Expr``.
    x : float or array_like
        Where; the result has its shape.
    n : int
        The derivative's order, 1 to 6.
    args : tuple
        Extra arguments to f.
    method : {None, "central", "forward", "backward", "complex"}
        The scheme. None: "central" for a function, exact automatic differentiation for an
        ``Expr`` (a method, order, h or initial_step asks for finite differences on it).
        "complex": the complex step Im f(x + ih)/h (n = 1, f analytic and taking complex
        numbers), checked against a finite difference.
    order : int, optional
        The stencil's accuracy order (default 2 for central, 1 one-sided: the textbook formulas).
    h : float, optional
        A fixed step: the textbook formula, e.g. ``(f(x+h) - f(x))/h`` for forward. None chooses
        steps automatically with Richardson extrapolation and an error estimate.
    vectorized : {None, True, False, "columns"}
        How f takes its points: None (default) finds out (one point per call, an array of points,
        or for several outputs scipy's (m, k) convention); True: an array of points, values per
        point along axis 0; "columns": values (m, k); False: one number per call.
    full_output : bool
        Return a ``DerivativeResult`` (``df``, ``error``, ``h``, ``nfev``, ``status``,
        ``success``, ``message``) instead of the array.
    batch_size : int, optional
        The most points in one call of a vectorized f (default: calls of about 8,192 points).
    initial_step : float, optional
        The automatic mode's first step for ``|x| <= 1`` (rounded down to a power of two); default
        1/16 for a central first derivative. scipy.differentiate starts at 0.5, numdifftools at 2.
    rtol : float, optional
        The automatic mode's tolerance on the error estimate relative to the value; default
        2**-38 (about 3.6e-12, as good as doubles allow; scipy.differentiate's default is
        sqrt(eps)).

    Returns
    -------
    float, ndarray or DerivativeResult
        The derivative (shape of x, plus (m,) for m outputs); with ``full_output`` the result.
        A status other than 0 means the value cannot be trusted to within its error estimate:
        1 f was not finite at probed points, 2 no estimate, 4 the estimate never settled (f
        varies faster than the finest step, or round-off), 8 the complex step disagrees with a
        finite difference.

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> fc.derivative(lambda x: x**2, 3.0, method="forward", h=0.01)
    6.009999999999849
    >>> r = fc.derivative(np.exp, np.linspace(1, 2, 5), full_output=True)
    >>> bool(np.all(np.abs(r.df - np.exp(np.linspace(1, 2, 5))) <= 10 * r.error)), bool(r.success.all())
    (True, True)
    """
    o = _options(method, order, h, initial_step, rtol, batch_size)
    n = _deriv_order(n)
    xa = _points(x)
    if _exact(f, method, order, h, initial_step):
        if args not in (None, ()):
            raise ValueError("args= is for Python functions; an expression has no extra arguments")
        from ._exact import derivative as exact_derivative

        return exact_derivative(f, xa, n, full_output)
    if o.complex:
        if n != 1:
            raise ValueError(f"method='complex' gives first derivatives (n=1), got n={n}")
        from ._complex_step import derivative as complex_derivative

        c = _callee(f, xa.flat[0] if xa.size else 0.0, True, args, vectorized, o)
        return complex_derivative(c, xa, o.h, full_output)
    if xa.size == 0:
        return _empty(xa.shape, full_output)
    c = _callee(f, xa.flat[0], True, args, vectorized, o)
    flat = xa.reshape(-1)

    def run(fn, m):
        return _core.derivative(fn, flat, n, o.method, o.order, o.h, c.style, c.user_data, o.batch, o.first,
                                not full_output, o.rtol, m)

    res = _run(c, run)
    shape = xa.shape if c.scalar else xa.shape + (c.m,)
    value = _scalar(res["value"].reshape(shape))
    if not full_output:
        return value
    return _result(res, shape, xa.shape)


def _empty(shape, full_output):
    z = np.zeros(shape)
    if not full_output:
        return z
    return DerivativeResult(df=z, error=z.copy(), h=z.copy(), nfev=np.zeros(shape, np.uint32),
                            status=np.zeros(shape, np.uint8), success=np.ones(shape, bool), message="ok")


# ---- gradient, Jacobian, Hessian -----------------------------------------------------------

def _batch_points(x: Any):
    xa = _points(x)
    if xa.ndim not in (1, 2) or xa.shape[-1] == 0:
        raise ValueError(f"x must have shape (n,) or (batch, n), got {xa.shape}")
    return xa, xa.ndim == 1, np.ascontiguousarray(xa.reshape(-1, xa.shape[-1]))


def _check_expr_vars(f: Any, n: int) -> None:
    if _is_expr(f) and n != f._tape().n_vars:
        raise ValueError(f"x has {n} components but the expression has variables {f.vars}")


@overload
def gradient(f: Any, x: Any, *, args: Any = ..., method: Optional[str] = ..., order: Optional[int] = ...,
             h: Optional[float] = ..., vectorized: Any = ..., full_output: Literal[False] = ...,
             batch_size: Optional[int] = ..., initial_step: Optional[float] = ...,
             rtol: Optional[float] = ...) -> np.ndarray: ...
@overload
def gradient(f: Any, x: Any, *, args: Any = ..., method: Optional[str] = ..., order: Optional[int] = ...,
             h: Optional[float] = ..., vectorized: Any = ..., full_output: Literal[True],
             batch_size: Optional[int] = ..., initial_step: Optional[float] = ...,
             rtol: Optional[float] = ...) -> DerivativeResult: ...


def gradient(f, x, *, args=(), method=None, order=None, h=None, vectorized=None, full_output=False,
             batch_size=None, initial_step=None, rtol=None):
    """The gradient of f: R^n -> R at x of shape (n,), or at each row of x of shape (k, n).

    f is written for one point (``f(x, *args)`` with x a 1-d array of n components, returning a
    number), or for a batch of points as rows ((k, n) -> (k,)) or as columns ((n, k) -> (k,),
    scipy.differentiate's convention): ``vectorized=None`` finds out (``True``, ``"columns"``,
    ``False`` say it). Other options as in :func:`derivative`; the result has the shape of x.

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> from scipy.optimize import rosen, rosen_der
    >>> x = np.array([0.3, 0.7, 1.2])
    >>> bool(np.allclose(fc.gradient(rosen, x), rosen_der(x), rtol=1e-12))
    True
    """
    return _first(f, x, args, method, order, h, vectorized, full_output, batch_size, initial_step, rtol, jac=False)


@overload
def jacobian(f: Any, x: Any, *, args: Any = ..., method: Optional[str] = ..., order: Optional[int] = ...,
             h: Optional[float] = ..., vectorized: Any = ..., full_output: Literal[False] = ...,
             batch_size: Optional[int] = ..., initial_step: Optional[float] = ...,
             rtol: Optional[float] = ...) -> np.ndarray: ...
@overload
def jacobian(f: Any, x: Any, *, args: Any = ..., method: Optional[str] = ..., order: Optional[int] = ...,
             h: Optional[float] = ..., vectorized: Any = ..., full_output: Literal[True],
             batch_size: Optional[int] = ..., initial_step: Optional[float] = ...,
             rtol: Optional[float] = ...) -> DerivativeResult: ...


def jacobian(f, x, *, args=(), method=None, order=None, h=None, vectorized=None, full_output=False,
             batch_size=None, initial_step=None, rtol=None):
    """The Jacobian of f: R^n -> R^m: an (m, n) matrix at x of shape (n,), (k, m, n) for k points.

    f is written for one point (a 1-d array of n components in; a sequence or array of m values
    out), or for a batch as rows ((k, n) -> (k, m)) or columns ((n, k) -> (m, k)): see
    :func:`gradient`. Other options as in :func:`derivative`.

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> J = fc.jacobian(lambda x: [x[0] * x[1], np.sin(x[0])], [1.0, 2.0])
    >>> J.shape, bool(np.allclose(J, [[2.0, 1.0], [np.cos(1.0), 0.0]]))
    ((2, 2), True)
    """
    return _first(f, x, args, method, order, h, vectorized, full_output, batch_size, initial_step, rtol, jac=True)


def _first(f, x, args, method, order, h, vectorized, full_output, batch_size, initial_step, rtol, jac):
    o = _options(method, order, h, initial_step, rtol, batch_size)
    xa, single, X = _batch_points(x)
    if _exact(f, method, order, h, initial_step):
        if args not in (None, ()):
            raise ValueError("args= is for Python functions; an expression has no extra arguments")
        from ._exact import first as exact_first

        return exact_first(f, xa, jac, full_output)
    _check_expr_vars(f, X.shape[1])
    _nonempty(X)
    c = _callee(f, X[0], False, args, vectorized, o)
    if not jac and c.m != 1:
        raise ValueError(f"gradient needs a function with one value; f returned {c.m} values for one point "
                         "(use jacobian)")
    if o.complex:
        from ._complex_step import first as complex_first

        return complex_first(c, X, single, jac, o.h, full_output)

    def run(fn, m):
        return _core.first_partials(fn, X, m, o.method, o.order, o.h, c.style, c.user_data, o.batch, o.first,
                                    not full_output, o.rtol)

    res = _run(c, run)
    k, n = X.shape
    m = c.m
    if jac:
        for key in ("value", "error", "status"):
            if key in res:  # only "value" without full_output
                res[key] = np.ascontiguousarray(res[key].transpose(0, 2, 1))  # (k, m, n): m x n per point
        shape = (m, n) if single else (k, m, n)
    else:
        shape = (n,) if single else (k, n)
    value = res["value"].reshape(shape)
    if not full_output:
        return value
    return _result(res, shape, (n,) if single else (k, n))


@overload
def hessian(f: Any, x: Any, *, args: Any = ..., method: Optional[str] = ..., order: Optional[int] = ...,
            h: Optional[float] = ..., vectorized: Any = ..., full_output: Literal[False] = ...,
            batch_size: Optional[int] = ..., initial_step: Optional[float] = ...,
            rtol: Optional[float] = ...) -> np.ndarray: ...
@overload
def hessian(f: Any, x: Any, *, args: Any = ..., method: Optional[str] = ..., order: Optional[int] = ...,
            h: Optional[float] = ..., vectorized: Any = ..., full_output: Literal[True],
            batch_size: Optional[int] = ..., initial_step: Optional[float] = ...,
            rtol: Optional[float] = ...) -> DerivativeResult: ...


def hessian(f, x, *, args=(), method=None, order=None, h=None, vectorized=None, full_output=False,
            batch_size=None, initial_step=None, rtol=None):
    """The Hessian of f: R^n -> R: (n, n) at x of shape (n,), (k, n, n) for k points.

    Diagonal entries use the second-derivative stencil, the others the mixed (tensor) stencil;
    the result is exactly symmetric. f as in :func:`gradient`; other options as in
    :func:`derivative` (not ``method="complex"``).

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> from scipy.optimize import rosen, rosen_hess
    >>> x = np.array([0.3, 0.7, 1.2])
    >>> bool(np.allclose(fc.hessian(rosen, x), rosen_hess(x), rtol=1e-9))
    True
    """
    if method == "complex":
        raise ValueError("method='complex' gives first derivatives (derivative with n=1, gradient, jacobian), "
                         "not Hessians")
    o = _options(method, order, h, initial_step, rtol, batch_size)
    xa, single, X = _batch_points(x)
    if _exact(f, method, order, h, initial_step):
        if args not in (None, ()):
            raise ValueError("args= is for Python functions; an expression has no extra arguments")
        from ._exact import hessian as exact_hessian

        return exact_hessian(f, xa, full_output)
    _check_expr_vars(f, X.shape[1])
    _nonempty(X)
    c = _callee(f, X[0], False, args, vectorized, o)
    if c.m != 1:
        raise ValueError(f"hessian needs a function with one value; f returned {c.m} values for one point")

    def core(fn):
        return _core.hessian(fn, X, o.method, o.order, o.h, c.style, c.user_data, o.batch, o.first, o.rtol)

    def run(fn, m):
        if m == 1:
            return core(fn)
        # real and imaginary parts, one Hessian each (the core's Hessian has one output)
        how = {0: "point", 1: "rows", 2: "columns"}[c.style]
        parts = [core(_part(fn, how, j)) for j in range(m)]
        return {key: np.stack([p[key] for p in parts], axis=-1) if key in ("value", "error", "status")
                else parts[0][key] for key in parts[0]}

    res = _run(c, run)
    k, n = X.shape
    if c.complex or res["value"].ndim == 4:
        for key in ("value", "error", "status"):
            res[key] = res[key][..., 0] if res[key].ndim == 4 else res[key]
    shape = (n, n) if single else (k, n, n)
    value = res["value"].reshape(shape)
    if not full_output:
        return value
    return _result(res, shape, shape)


def _part(fn: Callable, how: str, j: int) -> Callable:
    """Output j of a function with several (in its style), as a function with one."""
    def one(x):
        y = np.asarray(fn(x))
        if how == "point":
            return y.reshape(-1)[j]
        if how == "rows":
            return y.reshape(len(x), -1)[:, j]
        return y.reshape(-1, y.shape[-1])[j]
    return one


# ---- the numbers behind the trade-off ------------------------------------------------------

def optimal_step(x: Any, method: str = "central", n: int = 1, order: Optional[int] = None):
    """The step that balances truncation against round-off: ``eps**(1/(order+n)) * max(1, |x|)``.

    For n = 1 that is ``sqrt(eps)*max(1, |x|)`` one-sided and ``cbrt(eps)*max(1, |x|)`` central.

    Examples
    --------
    >>> import fastcalc as fc
    >>> round(fc.optimal_step(0.5, "central") / fc.eps ** (1 / 3), 12)
    1.0
    """
    if method not in _METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {sorted(_METHODS)}")
    acc = _order(method, order)
    n = _deriv_order(n)
    xa = _points(x)
    return _scalar(eps ** (1.0 / (acc + n)) * np.maximum(1.0, np.abs(xa)))


def step_error(f: Any, x: float, hs: Any, method: str = "forward", exact: Optional[float] = None,
               *, n: int = 1, order: Optional[int] = None, args: Any = (), vectorized: Any = None) -> np.ndarray:
    """``|f'(x) - D_h f(x)|`` for each step h in ``hs``: the truncation vs round-off trade-off.

    ``exact`` defaults to the automatic (extrapolated) derivative.

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> err = fc.step_error(lambda x: x**2, 3.0, [1e-1, 1e-8, 1e-15], exact=6.0)
    >>> [float(f"{e:.1g}") for e in err]  # truncation, the balance, round-off
    [0.1, 4e-08, 0.7]
    """
    hs = _points(hs, "hs")
    if hs.ndim != 1 or (hs <= 0).any():
        raise ValueError("hs must be a 1-d array of positive steps")
    x0 = float(_points(x))
    if exact is None:
        exact = derivative(f, x0, n, args=args, vectorized=vectorized)
    approx = np.array([derivative(f, x0, n, args=args, method=method, order=order, h=float(hv),
                                  vectorized=vectorized) for hv in hs])
    return np.abs(approx - exact)


def __getattr__(name: str):
    if name == "DerivativeInfo":
        warnings.warn("DerivativeInfo is now DerivativeResult (full_output=True returns it, with df); the old "
                      "name goes in the next release", DeprecationWarning, stacklevel=2)
        return DerivativeResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
