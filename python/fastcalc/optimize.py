"""Optimization: gradient descent and ascent for many runs at once, critical points, and fitting a
model to data. The loops run in C++ (fastcalc._core); see reference/optimize.py for the descent
methods in plain NumPy.

Functions are expressions (exact gradients, the whole loop in C++) or Python callables written
for one point (``f(x, *args)``, x a 1-d array of n components, or a number for one variable), or
for a batch of points: ``vectorized=None`` finds out how f takes its points, as the
differentiation functions do (fastcalc._calling).
"""
from __future__ import annotations

import warnings
from collections import OrderedDict
from typing import Any, Callable, Optional

import numpy as np

from . import _core, _validate
from ._calling import bind_args, style_of
from .results import CriticalPoint, DescentResult, FitResult

METHODS = {"gd": 0, "momentum": 1, "nesterov": 2, "adam": 3}

#: Descent's default gradient tolerance: the gradient norm below GTOL_REL times its largest norm
#: at the starts (a tolerance in the problem's own units, converged when the gradient has shrunk
#: by eight orders of magnitude).
GTOL_REL = 1e-8

__all__ = ["descent", "ascent", "critical_points", "fit", "DescentResult", "FitResult", "CriticalPoint"]


def _renamed(new_value, old_value, old: str, new: str, default):
    """The value of an argument renamed from ``old`` to ``new`` (kept for one release)."""
    if old_value is None:
        return default if new_value is None else new_value
    warnings.warn(f"{old}= is now {new}= (the old name goes in the next release)", DeprecationWarning, stacklevel=3)
    if new_value is not None:
        raise TypeError(f"give {new}= or its old name {old}=, not both")
    return old_value


# ---- expressions as tapes ----------------------------------------------------------------

def _is_expr(f) -> bool:
    return isinstance(f, _core.Program) or hasattr(f, "_tape_arrays")


def _variables(f):
    v = getattr(f, "vars", None)
    return None if v is None else [str(s) for s in v]


def _tape_arrays(f, variables=None):
    """(ops, args, consts, n_vars, outputs) of an Expr (TAPE_SPEC.md), its variables renumbered
    to the order of `variables` when given."""
    if getattr(f, "is_vector", False):
        raise ValueError("descent needs a scalar expression, not a vector one")
    ops, args, consts, n_vars, outputs = f._tape_arrays()
    if variables is not None:
        names = _variables(f)
        where = {v: i for i, v in enumerate(variables)}
        consts = np.array(consts, dtype=float, copy=True)
        ops = np.asarray(ops)
        for i in np.flatnonzero(ops == 1):  # VAR: consts holds the variable index
            consts[i] = where[names[int(consts[i])]]
        n_vars = len(variables)
    return ops, args, consts, n_vars, outputs


_PROGRAMS: "OrderedDict" = OrderedDict()  # tape bytes, order, wrt -> Program (LRU: building one costs more than a small run)
_PROGRAMS_SIZE = 128


def _program_key(f, order=1, variables=None, wrt=()):
    arrays = _tape_arrays(f, variables)
    return tuple(np.asarray(a).tobytes() if hasattr(a, "__len__") else a for a in arrays) + (order, tuple(wrt))


def _program(f, order=1, variables=None, wrt=()):
    if isinstance(f, _core.Program):
        return f
    key = _program_key(f, order, variables, wrt)
    prog = _PROGRAMS.get(key)
    if prog is None:
        ops, args, consts, n_vars, outputs = _tape_arrays(f, variables)
        prog = _core.Program(np.asarray(ops, np.int32), np.asarray(args, np.int32).reshape(-1, 2),
                             np.asarray(consts, float), int(n_vars), np.asarray(outputs, np.int32).ravel(),
                             order, list(wrt))
        _PROGRAMS[key] = prog
        while len(_PROGRAMS) > _PROGRAMS_SIZE:
            _PROGRAMS.popitem(last=False)
    else:
        _PROGRAMS.move_to_end(key)
    return prog


# ---- callables, one point or a batch -----------------------------------------------------

def _check_real_scalar(style, what: str) -> None:
    if style.complex:
        raise TypeError(f"{what} minimizes a real function; f returns complex values")
    if style.m != 1:
        raise ValueError(f"{what} needs a function with one value; f returned {style.m} values for one point")


def _rows(fn: Callable, how: str, n: int, width: int) -> Callable:
    """fn in its own style as a function of rows: X (k, n) -> (k,) (width 1) or (k, width); for
    n == 1 the core passes X flat (k,)."""
    if how == "rows":
        return fn
    if how == "columns":
        def cols(X):
            X = np.asarray(X)
            y = np.asarray(fn(X.T if X.ndim == 2 else X))
            return y.T if width > 1 else y.reshape(-1)
        return cols

    def points(X):
        X = np.asarray(X)
        out = [np.asarray(fn(float(x) if X.ndim == 1 else x.copy()), dtype=float).reshape(-1) for x in X]
        y = np.stack(out) if out else np.zeros((0, width))
        return y if width > 1 else y.reshape(-1)
    return points


class _Callable:
    """A Python objective (and gradient) as the core's descent calls them: rows of points."""

    def __init__(self, f, grad, args, vectorized, x0, what):
        self.f = bind_args(f, args)
        self.grad = None if grad is None else bind_args(grad, args)
        cache = not args
        a = np.asarray(x0, dtype=float)
        if a.ndim > 2:
            raise ValueError(f"x0 must be a point (n,) or starts (k, n), got shape {a.shape}")
        scalar_x0 = a.ndim == 0 or a.size == 1
        first = a.reshape(-1)[0] if a.size else 0.0
        if a.ndim == 2:
            self.n = a.shape[1]
        elif scalar_x0:
            self.n = 1
        else:
            # (n,): one point of n variables, or n starts of a function of one variable that
            # maps them elementwise (m == n values back): the one-point probe says which
            st = style_of(self.f, a, scalar_input=False, vectorized=vectorized, cache=cache)
            self.n = a.size if st.m == 1 else 1
            if self.n == 1 and st.m != a.size:
                _check_real_scalar(st, what)
        if self.n == 1 and a.ndim == 1 and a.size > 1:
            try:  # elementwise over the starts: f takes numbers too
                st = style_of(self.f, first, scalar_input=True, vectorized=vectorized, cache=cache)
            except Exception as exc:  # noqa: BLE001 - a function of a (n,) point with several values
                raise ValueError(f"{what} needs a function with one value; f returned {a.size} values for the "
                                 f"point x0 of shape {a.shape}") from exc
        elif self.n == 1:
            st = style_of(self.f, first, scalar_input=True, vectorized=vectorized, cache=cache)
        else:
            st = style_of(self.f, a.reshape(-1, self.n)[0], scalar_input=False, vectorized=vectorized, cache=cache)
        _check_real_scalar(st, what)
        self.rows_f = _rows(self.f, st.how, self.n, 1)
        self.rows_g = None
        if self.grad is not None:
            p = first if self.n == 1 else a.reshape(-1, self.n)[0]
            gs = style_of(self.grad, p, scalar_input=self.n == 1, vectorized=vectorized, cache=cache)
            if gs.complex:
                raise TypeError("grad returns complex values; descent needs a real gradient")
            if gs.m != self.n:
                raise ValueError(f"grad returned {gs.m} values for one point; the function has {self.n} variables")
            self.rows_g = _rows(self.grad, gs.how, self.n, self.n if self.n > 1 else 1)

    def gradient_at(self, X: np.ndarray) -> np.ndarray:
        """The gradient at rows X (k, n), for the default tolerance."""
        if self.rows_g is not None:
            g = np.asarray(self.rows_g(X[:, 0] if self.n == 1 else X), dtype=float)
            return g.reshape(X.shape)
        from .differentiate import gradient
        return gradient(self.rows_f if self.n > 1 else (lambda Y: self.rows_f(Y[:, 0])), X, vectorized=True)


# ---- descent -------------------------------------------------------------------------------

def _options(method, maximize, steps, tol, momentum, betas, line_search, history, history_every, threads):
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {sorted(METHODS)}")
    if line_search and method != "gd":
        raise ValueError(f"line_search needs method 'gd', not {method!r}")
    steps = _validate.maxiter(steps)
    if not (tol >= 0) or not np.isfinite(tol):
        raise ValueError(f"gtol must be >= 0 and finite, got {tol}")
    try:
        every = int(history_every)
    except (TypeError, ValueError, OverflowError):
        raise TypeError(f"history_every must be an integer, got {history_every!r}") from None
    if every < 1:
        raise ValueError(f"history_every must be >= 1, got {history_every}")
    b1, b2 = betas
    return dict(method=METHODS[method], maximize=bool(maximize), steps=steps, tol=float(tol),
                momentum=float(momentum), beta1=float(b1), beta2=float(b2), line_search=bool(line_search),
                history=bool(history), history_every=int(history_every), threads=int(threads or 1))


def _starts(x0, lr, n):
    """x0 as (k, n) and lr as (k,) or (1,), broadcasting one start over an lr sweep; and the
    shapes the result takes: (runs, point) (shapes of x = runs + point)."""
    a = np.array(x0, dtype=float)
    if a.ndim == 0:
        x, point = a.reshape(1, 1), ()
        if n != 1:
            raise ValueError(f"x0 has 1 entry; the function has {n} variables")
    elif a.ndim == 1 and n == 1:
        x, point = a.reshape(-1, 1), ()
    elif a.ndim == 1 and a.shape[0] == n:
        x, point = a.reshape(1, n), (n,)
    elif a.ndim == 2 and a.shape[1] == n:
        x, point = a, (n,)
    else:
        raise ValueError(f"x0 has shape {np.shape(x0)}; the function has {n} variables (expected (n,) or (k, n))")
    runs = a.shape[:1] if (a.ndim == 2 or (a.ndim == 1 and n == 1)) else ()
    lr = np.array(lr, dtype=float).ravel()
    if lr.size == 0 or not np.all(lr > 0) or not np.all(np.isfinite(lr)):
        raise ValueError(f"lr must be positive and finite, got {lr.tolist()}")
    if lr.size > 1:
        if x.shape[0] == 1:
            x = np.repeat(x, lr.size, axis=0)
            runs = (lr.size,)
        elif x.shape[0] != lr.size:
            raise ValueError(f"lr has {lr.size} entries but x0 has {x.shape[0]} runs")
    return np.ascontiguousarray(x), lr, runs, point


def _default_gtol(G: np.ndarray) -> float:
    norms = np.sqrt(np.sum(np.asarray(G, dtype=float) ** 2, axis=1))
    norms = norms[np.isfinite(norms)]
    return max(GTOL_REL * float(norms.max()) if norms.size else 0.0, 1e-150)


def _descent_message(status: np.ndarray) -> str:
    st = np.asarray(status).ravel()
    k = st.size
    conv, maxit, div = (int(np.count_nonzero(st == c)) for c in (0, 1, 2))
    if k == 1:
        return ["converged: the gradient norm fell below gtol", "maxiter reached before the gradient norm fell "
                "below gtol", "diverged (the iterate or gradient stopped being finite or ran away: lr too "
                "large?)"][int(st[0])]
    parts = [f"{conv} of {k} runs converged"]
    if maxit:
        parts.append(f"{maxit} reached maxiter")
    if div:
        parts.append(f"{div} diverged")
    return ", ".join(parts)


def _result(d, runs, point, gtol, nvars):
    conv = d["converged"].astype(bool)
    div = d["diverged"].astype(bool)
    status = np.where(conv, 0, np.where(div, 2, 1)).astype(np.int64)

    def shaped(a, extra=()):
        a = np.asarray(a).reshape(runs + extra)
        return a.item() if a.ndim == 0 else a

    hist = d.get("history")
    fhist = d.get("fun_history")
    if hist is not None:
        hist = hist.reshape((hist.shape[0],) + runs + point)
        fhist = fhist.reshape((fhist.shape[0],) + runs)
    res = DescentResult(x=np.asarray(d["x"]).reshape(runs + point) if runs + point else float(d["x"].reshape(())),
                        fun=shaped(d["fun"]), grad_norm=shaped(d["grad_norm"]), nit=shaped(d["nit"]),
                        success=shaped(conv), status=shaped(status), message=_descent_message(status),
                        converged=shaped(conv), diverged=shaped(div), gtol=float(gtol), history=hist,
                        fun_history=fhist, _nvars=nvars)
    return res


#: the most bytes of history a run of known length may ask for (a larger one is refused up front)
_HISTORY_LIMIT = 2**32


def _check_budget(opts: dict, nruns: int, nvars: int) -> None:
    """With gtol=0 nothing but maxiter (or divergence) ends a run: refuse an unbounded budget,
    and a history that cannot fit, before the loop starts instead of after memory runs out."""
    if opts["tol"] * opts["tol"] > 0:  # the stop rule compares squared norms
        return
    steps = opts["steps"]
    if steps >= _validate.MAX_ITER:
        raise ValueError("maxiter=inf needs gtol > 0 (at least 1e-154, whose square is still > 0): "
                         "with gtol=0 nothing would stop the run")
    if opts["history"]:
        nbytes = (steps // opts["history_every"] + 1) * nruns * (nvars + 1) * 8
        if nbytes > _HISTORY_LIMIT:
            raise ValueError(f"the history of {steps} steps of {nruns} run(s) would take {nbytes / 2**30:.3g} GiB; "
                             "pass history=False or a larger history_every")


def _steps_group(step) -> int:
    """Vectors an iteration of the fused native step loop advances (measured: 2 is as fast as 4
    for two variables and faster where runs stop often; long programs get 1, for compile time)."""
    return 2 if step.n_results - 1 <= 8 else 1


def descent(f, x0, *, lr=0.1, maxiter=None, method="gd", maximize=False, gtol=None, grad=None, args=(),
            vectorized=None, momentum=0.9, betas=(0.9, 0.999), line_search=False, history=True, history_every=1,
            threads=None, jit=None, steps=None, tol=None) -> DescentResult:
    """Minimize f (maximize with ``maximize=True``) from each start in x0 by gradient steps.

    Parameters
    ----------
    f : Expr or callable
        An expression (exact gradient, the whole loop in C++), or ``f(x, *args)`` written for one
        point (x a 1-d array of n components; a number for one variable) or for a batch of points
        (``vectorized=None`` finds out, see :func:`fastcalc.gradient`).
    x0 : array_like
        One start (n,) or k starts (k, n); for a function of one variable a number or k starts (k,).
        The result's arrays follow its shape.
    lr : float or array_like
        The learning rate, or one per run (an lr sweep from one start).
    maxiter : int
        The most steps per run (default 100; ``steps=`` is its old name).
    method : {"gd", "momentum", "nesterov", "adam"}
        gd: x -= lr f'(x); momentum: v = mu v + g, x -= lr v; nesterov: x -= lr (g + mu v); adam:
        bias-corrected moments (``betas``). ``line_search=True``: Armijo backtracking from lr (gd).
    gtol : float
        A run converges when its gradient norm falls below gtol; None: ``GTOL_REL`` (1e-8) times
        the largest gradient norm at the starts; 0: never (run maxiter steps). ``tol=`` is its old
        name.
    grad : callable, optional
        The gradient of a callable f (one point (n,) -> (n,), or a batch like f); None: finite
        differences.
    args : tuple
        Extra arguments to f and grad.
    vectorized : {None, True, False, "columns"}
        How a callable takes its points (None: found out).
    history : bool
        Keep the iterates (every ``history_every`` steps).
    threads, jit :
        For an expression: OpenMP threads across runs (None: all when there are many runs); a
        natively compiled step loop (None: when one is compiled or the problem is large).

    Returns
    -------
    DescentResult
        Per run ``x``, ``fun``, ``grad_norm``, ``nit``, ``success`` (converged), ``status`` (0
        converged, 1 maxiter reached, 2 diverged: a non-finite or runaway iterate), ``message``.

    Examples
    --------
    >>> import fastcalc as fc
    >>> r = fc.descent(fc.expr("x**2 - 4*x + 4"), 0.0, lr=0.4, maxiter=5, gtol=0)
    >>> r.history[1:].round(5).tolist()
    [1.6, 1.92, 1.984, 1.9968, 1.99936]
    >>> r = fc.descent(lambda x: (x[0] - 1)**2 + 2*(x[1] + 3)**2, [0.0, 0.0], lr=0.2)
    >>> bool(r.success), r.x.round(6).tolist()
    (True, [1.0, -3.0])
    """
    steps = _renamed(maxiter, steps, "steps", "maxiter", 100)
    gtol = _renamed(gtol, tol, "tol", "gtol", None)
    opts = _options(method, maximize, steps, 0.0 if gtol is None else gtol, momentum, betas, line_search, history,
                    history_every, threads)
    if _is_expr(f):
        if grad is not None:
            raise ValueError("grad= is only for Python callables; an expression has its exact gradient")
        if args not in (None, ()):
            raise ValueError("args= is for Python callables; an expression has no extra arguments")
        prog = _program(f, 1)
        x, lrs, runs, point = _starts(x0, lr, prog.n_vars)
        if gtol is None:
            opts["tol"] = _default_gtol(prog.eval(x)[:, 1:1 + prog.n_vars])
        if threads is None:
            opts["threads"] = 0 if x.shape[0] >= 1024 else 1
        if not line_search:
            # the step program (gradient, step, stop rule) as native code, when its compile time
            # pays (_jit.decide); without it the core's interpreter runs the gradient program and
            # the same step and stop rule in one C++ loop (descent.cpp, step_stop)
            from ._jit import decide

            step = prog.descent_step(opts)
            k = decide(step, float(x.shape[0]) * min(opts["steps"], 10**12), force=jit, steps=_steps_group(step))
            if k is not None:
                opts["kernel"] = k.cols
                opts["steps_kernel"], opts["steps_lanes"] = k.steps, k.steps_lanes
                opts["_keep"] = k
        _check_budget(opts, x.shape[0], prog.n_vars)
        return _result(_core.descent_program(prog, x, lrs, opts), runs, point, opts["tol"], prog.n_vars)
    if not callable(f):
        raise TypeError(f"f must be an expression or a callable, got {type(f).__name__}")
    if grad is not None and not callable(grad):
        raise TypeError("grad must be a callable or None")
    what = "ascent" if maximize else "descent"
    c = _Callable(f, grad, args, vectorized, x0, what)
    x, lrs, runs, point = _starts(x0, lr, c.n)
    if gtol is None:
        opts["tol"] = _default_gtol(c.gradient_at(x))
    _check_budget(opts, x.shape[0], c.n)
    return _result(_core.descent_callable(c.rows_f, c.rows_g, c.n, x, lrs, opts), runs, point, opts["tol"], c.n)


def ascent(f, x0, **kw) -> DescentResult:
    """descent(..., maximize=True): x += lr f'(x), converged where the gradient vanishes.

    Examples
    --------
    >>> import fastcalc as fc
    >>> r = fc.ascent(fc.expr("-(x - 2)**2"), 0.0, lr=0.4)
    >>> bool(r.success), round(r.x, 6)
    (True, 2.0)
    """
    kw["maximize"] = True
    return descent(f, x0, **kw)


# fit and critical_points live in their own modules, read through this one
from ._critical import critical_points  # noqa: E402
from ._fitting import FIT_METHODS, fit  # noqa: E402,F401
