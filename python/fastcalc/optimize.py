"""Optimization: gradient descent and ascent for many runs at once, critical points, and fitting a
model to data. The loops run in C++ (fastcalc._core); see reference/optimize.py for the descent
methods in plain NumPy.

Functions are expressions (exact gradients, the whole loop in C++) or Python callables written
for one point (``f(x, *args)``, x a 1-d array of n components, or a number for one variable), or
for a batch of points: ``vectorized=None`` finds out how f takes its points, as the
differentiation functions do (fastcalc._calling).
"""
from __future__ import annotations

import inspect
import warnings
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

from . import _core
from ._calling import bind_args, style_of
from .results import CriticalPoint, DescentResult, FitResult

METHODS = {"gd": 0, "momentum": 1, "nesterov": 2, "adam": 3}
FIT_METHODS = ("lm",) + tuple(METHODS)

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


_PROGRAMS: dict = {}  # tape bytes, order, wrt -> Program (compiling one costs more than a small run)
_KERNELS: dict = {}


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
        if len(_PROGRAMS) >= 128:
            _PROGRAMS.pop(next(iter(_PROGRAMS)))
        _PROGRAMS[key] = prog
    return prog


def _kernel(prog, method, maximize, tol, compile):
    key = (id(prog), method, maximize, tol)
    hit = _KERNELS.get(key)  # (prog kept alive so that its id stays valid, address, compiled or tried)
    if hit is None or (compile and not hit[2]):
        from ._jit import step_kernel
        hit = _KERNELS[key] = (prog, step_kernel(prog, method, maximize, tol, compile), compile)
    return hit[1]


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
    if isinstance(steps, bool) or int(steps) != steps:
        raise TypeError(f"maxiter must be an integer, got {steps!r}")
    steps = int(steps)
    if steps < 0:
        raise ValueError(f"maxiter must be >= 0, got {steps}")
    if not (tol >= 0) or not np.isfinite(tol):
        raise ValueError(f"gtol must be >= 0 and finite, got {tol}")
    if int(history_every) < 1:
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
        if not line_search and jit is not False:
            # jit=None: a kernel already compiled (memory, disk cache), or worth compiling (~0.3 s)
            big = x.shape[0] * opts["steps"] >= 3 * 10**7
            addr = _kernel(prog, method, bool(maximize), bool(opts["tol"] > 0), bool(jit) or big)
            if addr:
                opts["fused"] = addr
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


# ---- fitting -------------------------------------------------------------------------------

def _fit_options(maxiter, gtol, ftol, xtol):
    def tol(v, name, default):
        v = default if v is None else v
        if not (v >= 0) or not np.isfinite(v):
            raise ValueError(f"{name} must be >= 0 and finite, got {v}")
        return float(v)

    mi = 0 if maxiter is None else maxiter
    if isinstance(mi, bool) or int(mi) != mi or mi < 0:
        raise ValueError(f"maxiter must be a non-negative integer, got {maxiter!r}")
    return dict(maxiter=int(mi), gtol=tol(gtol, "gtol", 1e-10), ftol=tol(ftol, "ftol", 1e-14),
                xtol=tol(xtol, "xtol", 1e-10))


_LM_TESTS = {1: "the gradient fell below gtol", 2: "the relative decrease fell below ftol",
             3: "the step fell below xtol", 4: "the residuals are zero"}


def _lm_result(d, names, N, single, method="lm"):
    X = d["x"]
    P = X.shape[1]
    status = np.asarray(d["status"], dtype=np.int64)
    mse = 2 * d["cost"] / N
    pcov = []
    for r in range(X.shape[0]):  # as curve_fit: (J^T J)^-1 times the residual variance
        dof = N - P
        s2 = 2 * d["cost"][r] / dof if dof > 0 else np.inf
        A = d["jtj"][r]
        ok = np.all(np.isfinite(A)) and np.isfinite(s2)
        pcov.append(np.linalg.pinv(A) * s2 if ok else np.full(A.shape, np.inf))
    pcov = np.array(pcov)
    if single:
        msgs = ["converged: " + _LM_TESTS.get(int(d["test"][0]), ""), "maxiter reached",
                "the residuals stopped being finite"]
        message = msgs[int(status[0])]
    else:
        message = f"{int(np.count_nonzero(status == 0))} of {status.size} starts converged"

    def one(a):
        a = np.asarray(a)
        return a[0].item() if single and a.ndim == 1 else (a[0] if single else a)

    params = {p: (float(X[0, i]) if single else X[:, i].copy()) for i, p in enumerate(names)}
    return FitResult(x=X[0].copy() if single else X, params=params, fun=one(mse), nit=one(d["nit"]),
                     nfev=one(d["nfev"]), success=one(status == 0), status=one(status), message=message,
                     method=method, pcov=pcov[0] if single else pcov)


def _model_names(model, params, p0, n_args=0):
    """The parameters of a callable model in curve_fit's convention model(x, *params, *args): the
    names given, else its signature's (without the last n_args), else p0, p1, ... for p0's."""
    if params is not None:
        return [str(p) for p in params]
    names = None
    try:
        sig = inspect.signature(model)
        plain = [p for p in list(sig.parameters.values())[1:]
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
        names = [p.name for p in plain[:len(plain) - n_args]] if any(True for _ in plain) else None
    except (TypeError, ValueError):
        pass
    if p0 is not None:
        k = np.shape(p0)[-1] if np.ndim(p0) else 1
        return names if names is not None and len(names) == k else [f"p{i}" for i in range(k)]
    if not names:
        raise ValueError("give p0 (or params): the model's signature does not say how many parameters it has")
    return names


def fit(model, x, y, params=None, *, p0=None, method="lm", loss="mse", maxiter=None, gtol=None, ftol=None,
        xtol=None, lr=0.01, momentum=0.9, betas=(0.9, 0.999), line_search=False, history=False, history_every=1,
        args=(), vectorized=None, steps=None, tol=None) -> FitResult:
    """Learn a model's parameters from data (x, y) by least squares (the mean squared error).

    Parameters
    ----------
    model : Expr or callable
        An expression over parameters and data variables (exact Jacobian, the loop in C++), or a
        function in ``scipy.optimize.curve_fit``'s convention ``model(x, *params, *args)``,
        vectorized over the data (as curve_fit needs) or for one data point (found out).
    x, y : array_like
        The data: x (N,) for one data variable or (N, d) in the order of the model's other
        variables (a callable gets x as given); y (N,).
    params : list of str
        An expression's parameters (the variables to learn); a callable's names (default: its
        signature's, or p0, p1, ...).
    p0 : array_like
        The start, (P,) or k starts (k, P); default ones (as curve_fit's).
    method : {"lm", "gd", "momentum", "nesterov", "adam"}
        "lm" (default): Levenberg-Marquardt on the exact Jacobian (an expression) or on forward
        differences (a callable, as curve_fit's), converged at ``gtol``/``ftol``/``xtol`` (see
        ``fastcalc.results.FitResult``); the others: gradient descent on the mean squared error
        with ``lr`` and friends, converged at ``gtol`` (as :func:`descent`).
    maxiter : int
        Iterations at most (LM default 100 (P + 1); the descent methods 1000; ``steps=`` is its
        old name).
    gtol, ftol, xtol : float
        LM: the gradient J^T r relative to its start, the relative decrease of the cost, the
        relative step (defaults 1e-10); descent methods: gtol as in :func:`descent` (``tol=`` is
        its old name).

    Returns
    -------
    FitResult
        ``x``, ``params`` by name, ``fun`` (the mean squared error), ``nit``, ``nfev``,
        ``success``, ``status``, ``message``, and for LM ``pcov`` as curve_fit estimates it.

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> x = np.linspace(0, 4, 50)
    >>> y = 2.5 * np.exp(-1.3 * x) + 0.5
    >>> r = fc.fit(lambda x, a, b, c: a * np.exp(-b * x) + c, x, y)
    >>> bool(r.success), r.x.round(8).tolist()
    (True, [2.5, 1.3, 0.5])
    >>> r = fc.fit(fc.expr("a*exp(-b*x) + c"), x, y, ["a", "b", "c"])
    >>> [round(r.params[k], 8) for k in "abc"]
    [2.5, 1.3, 0.5]
    """
    if loss != "mse":
        raise ValueError(f"unknown loss {loss!r}; only 'mse' is supported")
    if method not in FIT_METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {list(FIT_METHODS)}")
    Y = np.ascontiguousarray(np.asarray(y, dtype=float).ravel())
    if _is_expr(model):
        return _fit_expr(model, x, Y, params, p0, method, maxiter, gtol, ftol, xtol, lr, momentum, betas,
                         line_search, history, history_every, args, steps, tol)
    if not callable(model):
        raise TypeError(f"model must be an expression or a callable, got {type(model).__name__}")
    return _fit_callable(model, x, Y, params, p0, method, maxiter, gtol, ftol, xtol, lr, momentum, betas,
                         line_search, history, history_every, args, vectorized, steps, tol)


def _start_params(p0, P):
    P0 = np.ones(P) if p0 is None else np.array(p0, dtype=float)
    single = P0.ndim <= 1
    P0 = P0.reshape(1, -1) if single else P0
    if P0.ndim != 2 or P0.shape[1] != P:
        raise ValueError(f"p0 has shape {np.shape(p0)}; the model has {P} parameters")
    if not np.all(np.isfinite(P0)):
        raise ValueError("p0 must be finite")
    return np.ascontiguousarray(P0), single


def _fit_expr(model, x, Y, params, p0, method, maxiter, gtol, ftol, xtol, lr, momentum, betas, line_search,
              history, history_every, args, steps, tol):
    if args not in (None, ()):
        raise ValueError("args= is for Python callables; an expression has no extra arguments")
    if params is None:
        raise ValueError("fit needs params=, the expression's variables to learn")
    params = [str(p) for p in params]
    names = _variables(model)
    if names is None:
        raise TypeError("fit needs a model expression with named variables")
    missing = [p for p in params if p not in names]
    if missing:
        raise ValueError(f"parameters {missing} are not variables of the model {names}")
    data_vars = [v for v in names if v not in params]
    X = np.asarray(x, dtype=float)
    X = X.reshape(-1, 1) if X.ndim == 1 else X
    if X.ndim != 2 or X.shape[1] != len(data_vars):
        raise ValueError(f"x has shape {np.shape(x)}; the model has data variables {data_vars}")
    if X.shape[0] != Y.size:
        raise ValueError(f"x has {X.shape[0]} points but y has {Y.size}")
    prog = _program(model, 1, params + data_vars, wrt=range(len(params)))
    P0, single = _start_params(p0, len(params))
    if method == "lm":
        if steps is not None or tol is not None:
            warnings.warn("steps= and tol= are descent's (old) names; LM takes maxiter=, gtol=, ftol=, xtol=",
                          DeprecationWarning, stacklevel=3)
            maxiter = steps if maxiter is None else maxiter
        d = _core.least_squares_program(prog, np.ascontiguousarray(X), Y, P0, _fit_options(maxiter, gtol, ftol, xtol))
        return _lm_result(d, params, Y.size, single)
    steps = _renamed(maxiter, steps, "steps", "maxiter", 1000)
    gtol = _renamed(gtol, tol, "tol", "gtol", None)
    P, lrs, runs, point = _starts(P0[0] if single else P0, lr, len(params))
    opts = _options(method, False, steps, 0.0 if gtol is None else gtol, momentum, betas, line_search, history,
                    history_every, 1)
    if gtol is None:
        f0, G0 = _mse_value_and_grad(prog, X, Y, P)
        opts["tol"] = _default_gtol(G0)
    d = _core.fit_mse(prog, np.ascontiguousarray(X), Y, P, lrs, opts)
    return _descent_fit_result(d, params, runs, method)


def _mse_value_and_grad(prog, X, Y, P):
    """The mean squared error and its gradient at parameter rows P (for the default gtol)."""
    n = P.shape[1]
    G = np.zeros_like(P)
    F = np.zeros(P.shape[0])
    for r, p in enumerate(P):
        A = np.concatenate([np.repeat(p[None, :], X.shape[0], axis=0), X], axis=1)
        R = prog.eval(np.ascontiguousarray(A))
        res = R[:, 0] - Y
        F[r] = np.mean(res * res)
        G[r] = 2 * np.mean(res[:, None] * R[:, 1:1 + n], axis=0)
    return F, G


def _descent_fit_result(d, names, runs, method):
    conv = d["converged"].astype(bool)
    div = d["diverged"].astype(bool)
    status = np.where(conv, 0, np.where(div, 2, 1)).astype(np.int64)
    single = runs == ()
    X = d["x"]

    def one(a):
        a = np.asarray(a)
        return a[0].item() if single else a

    params = {p: (float(X[0, i]) if single else X[:, i].copy()) for i, p in enumerate(names)}
    hist = d.get("history")
    fh = d.get("fun_history")
    if hist is not None and single:
        hist, fh = hist[:, 0], fh[:, 0]
    return FitResult(x=X[0].copy() if single else X, params=params, fun=one(d["fun"]), nit=one(d["nit"]),
                     nfev=one(d["nit"] + 1), success=one(conv), status=one(status), message=_descent_message(status),
                     method=method, history=hist, fun_history=fh)


def _fit_callable(model, x, Y, params, p0, method, maxiter, gtol, ftol, xtol, lr, momentum, betas, line_search,
                  history, history_every, args, vectorized, steps, tol):
    extra = tuple(args) if isinstance(args, tuple) else (args,)
    names = _model_names(model, params, p0, len(extra))
    P0, single = _start_params(p0, len(names))
    X = np.asarray(x, dtype=float)
    N = Y.size
    if X.shape[:1] != (N,):
        raise ValueError(f"x has {X.shape[0] if X.ndim else 1} points but y has {N}")
    predict = _predictor(model, X, N, P0[0], extra, vectorized)

    last = {}  # the residuals at the last parameters: the solver asks again after a step it keeps

    def residuals(p):
        if last and np.array_equal(last["p"], p):
            return last["r"]
        r = predict(p) - Y
        last.update(p=np.array(p), r=r)
        return r

    if method == "lm":
        def jacobian(p):  # forward differences as MINPACK takes them (LM needs no more), P calls
            r0 = residuals(p)
            J = np.empty((N, p.size))
            for j in range(p.size):
                q = np.array(p)
                q[j] += np.sqrt(np.finfo(float).eps) * max(1.0, abs(p[j]))
                J[:, j] = (predict(q) - Y - r0) / (q[j] - p[j])
            return J

        if steps is not None or tol is not None:
            warnings.warn("steps= and tol= are descent's (old) names; LM takes maxiter=, gtol=, ftol=, xtol=",
                          DeprecationWarning, stacklevel=3)
            maxiter = steps if maxiter is None else maxiter
        with np.errstate(all="ignore"):
            d = _core.least_squares_callable(residuals, jacobian, N, P0, _fit_options(maxiter, gtol, ftol, xtol))
        return _lm_result(d, names, N, single)

    def mse(p):
        r = residuals(np.asarray(p, dtype=float))
        return float(np.mean(r * r))

    steps = _renamed(maxiter, steps, "steps", "maxiter", 1000)
    gtol = _renamed(gtol, tol, "tol", "gtol", None)
    r = descent(mse, P0[0] if single else P0, lr=lr, maxiter=steps, method=method, gtol=gtol, vectorized=False,
                momentum=momentum, betas=betas, line_search=line_search, history=history, history_every=history_every)
    status = np.asarray(r.status)
    Xp = np.asarray(r.x).reshape(-1, len(names))
    params_d = {p: (float(Xp[0, i]) if single else Xp[:, i].copy()) for i, p in enumerate(names)}
    return FitResult(x=r.x, params=params_d, fun=r.fun, nit=r.nit, nfev=None, success=r.success, status=r.status,
                     message=r.message, method=method, history=r.history, fun_history=r.fun_history)


def _predictor(model, X, N, p, extra, vectorized) -> Callable:
    """model(X, *p, *args) as the N predictions, called over all the data (curve_fit's
    convention) or one data point at a time, as ``vectorized`` says or a probe finds."""
    want = {None: None, True: "all", "rows": "all", False: "point", "point": "point"}.get(vectorized, "bad")
    if want == "bad":
        raise ValueError(f"vectorized must be None, True (the model takes all the data at once) or False "
                         f"(one data point per call), got {vectorized!r}")

    def over_all(q):
        y = np.asarray(model(X, *q, *extra))
        if y.dtype.kind == "c":
            raise TypeError("fit needs a real model; it returned complex values")
        return np.asarray(y, dtype=float).reshape(-1) if y.size == N else _bad_shape(y, N)

    def per_point(q):
        return np.array([float(np.asarray(model(xi, *q, *extra))) for xi in X])

    if want == "all":
        return over_all
    if want == "point":
        return per_point
    # the data points one at a time are the truth; all at once only if it agrees
    probe = min(N, 5)
    one = np.array([float(np.asarray(model(X[i], *p, *extra))) for i in range(probe)])
    try:
        whole = np.asarray(model(X, *p, *extra), dtype=float).reshape(-1)
    except Exception:  # noqa: BLE001 - the per-point calls worked: the model is not vectorized
        whole = None
    if whole is not None and whole.size == N and np.allclose(whole[:probe], one, rtol=1e-12, atol=0,
                                                            equal_nan=True):
        return over_all
    return per_point


def _bad_shape(y, N):
    raise ValueError(f"the model returned {np.size(y)} values for {N} data points")


# ---- critical points -----------------------------------------------------------------------

def _derivs(f, n, args=(), vectorized=None, x0=None):
    """Vectorized (value, grad, hess) callables: exact for an expression, finite differences
    otherwise. value: (m, n) -> (m,); grad: (m, n) -> (m, n); hess: (m, n) -> (m, n, n)."""
    if _is_expr(f):
        if args not in (None, ()):
            raise ValueError("args= is for Python callables; an expression has no extra arguments")
        prog = _program(f, 2)

        def grad(X):
            return prog.eval(np.ascontiguousarray(X, dtype=float))[:, 1:1 + n]

        def hess(X):
            return prog.eval(np.ascontiguousarray(X, dtype=float))[:, 1 + n:].reshape(-1, n, n)

        def value(X):
            return prog.eval(np.ascontiguousarray(X, dtype=float))[:, 0]

        return value, grad, hess
    if not callable(f):
        raise TypeError(f"f must be an expression or a callable, got {type(f).__name__}")
    from .differentiate import derivative, gradient, hessian

    g = bind_args(f, args)
    p0 = np.asarray(x0, dtype=float)
    st = style_of(g, p0[0] if n == 1 else p0, scalar_input=n == 1, vectorized=vectorized, cache=g is f)
    _check_real_scalar(st, "critical_points")
    rows = _rows(g, st.how, n, 1)

    def value(X):
        X = np.asarray(X, dtype=float)
        return np.asarray(rows(X[:, 0] if n == 1 else X), dtype=float).reshape(-1)

    def grad(X):
        X = np.ascontiguousarray(X, dtype=float)
        if n == 1:
            return np.asarray(derivative(g, X[:, 0], vectorized=st.how if st.how != "columns" else True)
                              ).reshape(-1, 1)
        return gradient(g, X, vectorized=st.how)

    def hess(X):
        X = np.ascontiguousarray(X, dtype=float)
        if n == 1:
            return np.asarray(derivative(g, X[:, 0], 2, vectorized=st.how if st.how != "columns" else True)
                              ).reshape(-1, 1, 1)
        return hessian(g, X, vectorized=st.how)

    return value, grad, hess


def _brent(g, a, b, ga, gb, tol):
    """Brent's method for a root of g in [a, b] with g(a) g(b) <= 0."""
    if ga == 0:
        return a
    if gb == 0:
        return b
    c, gc, d = a, ga, b - a
    e = d
    for _ in range(200):
        if gb * gc > 0:
            c, gc, d = a, ga, b - a
            e = d
        if abs(gc) < abs(gb):
            a, b, c, ga, gb, gc = b, c, b, gb, gc, gb
        tol1 = 2 * np.finfo(float).eps * abs(b) + 0.5 * tol
        m = 0.5 * (c - b)
        if abs(m) <= tol1 or gb == 0:
            return b
        if abs(e) >= tol1 and abs(ga) > abs(gb):
            s = gb / ga
            if a == c:
                p, q = 2 * m * s, 1 - s
            else:
                q, r = ga / gc, gb / gc
                p = s * (2 * m * q * (q - r) - (b - a) * (r - 1))
                q = (q - 1) * (r - 1) * (s - 1)
            if p > 0:
                q = -q
            p = abs(p)
            if 2 * p < min(3 * m * q - abs(tol1 * q), abs(e * q)):
                e, d = d, p / q
            else:
                d = m
                e = d
        else:
            d = m
            e = d
        a, ga = b, gb
        b = b + (d if abs(d) > tol1 else (tol1 if m > 0 else -tol1))
        gb = g(b)
    return b



def _kind(eigs, scale):
    small = 1e-8 * max(scale, 1.0)
    if np.all(eigs > small):
        return "min"
    if np.all(eigs < -small):
        return "max"
    if np.any(eigs > small) and np.any(eigs < -small):
        return "saddle"
    return "degenerate"


def critical_points(f, bounds, *, grid=None, tol=1e-10, args=(), vectorized=None) -> List[CriticalPoint]:
    """Points where the gradient vanishes inside ``bounds``, as ``CriticalPoint`` records.

    One variable (bounds (lo, hi)): sign changes of f' on a grid, then Brent's method on f';
    kind by f'' ("min", "max"), or where f'' vanishes by the sign of f' on either side ("min",
    "max", "inflection"). n variables (bounds [(lo, hi)] * n): Newton's method on the gradient
    with the Hessian from grid starts, deduplicated, kind by the Hessian's eigenvalues ("min",
    "max", "saddle", "degenerate"). f: an expression (exact derivatives) or a callable (finite
    differences; one point or a batch, see :func:`descent`), with ``args``.

    Examples
    --------
    >>> import fastcalc as fc
    >>> [(p.kind, round(p.x, 9)) for p in fc.critical_points(fc.expr("x**3 - 3*x"), (-3, 3))]
    [('max', -1.0), ('min', 1.0)]
    >>> p = fc.critical_points(lambda x: x[0]**2 - x[1]**2, [(-1, 1), (-1, 1)])[0]
    >>> p.kind, [round(float(v), 6) + 0.0 for v in p.x]
    ('saddle', [0.0, 0.0])
    """
    b = np.asarray(bounds, dtype=float)
    if b.shape == (2,):
        if not b[0] < b[1]:
            raise ValueError(f"bounds need lo < hi, got ({b[0]}, {b[1]})")
        derivs = _derivs(f, 1, args, vectorized, [0.5 * (b[0] + b[1])])
        return _critical_1d(derivs, float(b[0]), float(b[1]), grid, tol)
    if b.ndim != 2 or b.shape[1] != 2:
        raise ValueError(f"bounds must be (lo, hi) or a list of (lo, hi) per variable, got shape {b.shape}")
    if np.any(b[:, 0] >= b[:, 1]):
        raise ValueError("each bound needs lo < hi")
    derivs = _derivs(f, b.shape[0], args, vectorized, 0.5 * (b[:, 0] + b[:, 1]))
    return _critical_nd(derivs, b, grid, tol)


def _critical_1d(derivs, lo, hi, grid, tol):
    value, grad, hess = derivs
    xs = np.linspace(lo, hi, int(grid or 2001))
    gs = grad(xs[:, None])[:, 0]
    g1 = lambda t: float(grad(np.array([[t]]))[0, 0])  # noqa: E731
    roots = []
    for i in range(len(xs) - 1):
        if gs[i] == 0 or (gs[i] * gs[i + 1] < 0):
            roots.append(_brent(g1, xs[i], xs[i + 1], gs[i], gs[i + 1], tol))
    if gs[-1] == 0:
        roots.append(xs[-1])
    # Touching zeros (f' keeps its sign, e.g. x**3 at 0): local minima of |f'| refined by Newton.
    a = np.abs(gs)
    for i in range(1, len(xs) - 1):
        if a[i] <= a[i - 1] and a[i] < a[i + 1] and gs[i - 1] * gs[i + 1] > 0 and gs[i] != 0:
            t = xs[i]
            for _ in range(100):
                h = float(hess(np.array([[t]]))[0, 0, 0])
                gt = g1(t)
                if h == 0 or not np.isfinite(h):
                    break
                t -= gt / h
            if lo <= t <= hi and abs(g1(t)) <= 1e3 * tol * max(1.0, np.max(a)):
                roots.append(t)
    roots = sorted(roots)
    out: List[CriticalPoint] = []
    span = (hi - lo) / max(len(xs) - 1, 1)
    for r in roots:
        if out and abs(r - out[-1].x) <= max(1e-7 * span, 1e-12 * max(1.0, abs(r))):
            continue
        h = float(hess(np.array([[r]]))[0, 0, 0])
        scale = float(np.max(np.abs(gs))) if gs.size else 1.0
        if h > 1e-8 * max(scale, 1.0):
            kind = "min"
        elif h < -1e-8 * max(scale, 1.0):
            kind = "max"
        else:  # f'' ~ 0: the sign of f' on either side decides
            d = 1e-3 * span
            gl, gr = g1(r - d), g1(r + d)
            kind = "min" if gl < 0 < gr else "max" if gl > 0 > gr else "inflection" if gl * gr > 0 else "degenerate"
        out.append(CriticalPoint(x=float(r), value=float(value(np.array([[r]]))[0]), kind=kind,
                                 eigenvalues=np.array([h]), grad_norm=abs(g1(r))))
    return out


def _critical_nd(derivs, b, grid, tol):
    n = b.shape[0]
    value, grad, hess = derivs
    per = int(grid) if grid is not None else max(3, int(round(4096 ** (1.0 / n))))
    axes = [np.linspace(lo, hi, per) for lo, hi in b]
    X = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, n)
    alive = np.ones(len(X), bool)
    for _ in range(100):
        g = grad(X)
        H = hess(X)
        step = np.zeros_like(X)
        ok = alive & np.all(np.isfinite(g), 1) & np.all(np.isfinite(H), (1, 2))
        alive &= ok
        if not alive.any():
            break
        step[alive] = _solve(H[alive], g[alive])
        X = X - step
        inside = np.all((X >= b[:, 0] - 1e-9 * (b[:, 1] - b[:, 0])) & (X <= b[:, 1] + 1e-9 * (b[:, 1] - b[:, 0])), 1)
        alive &= inside
        if np.all(np.abs(step[alive]) <= 1e-14 * (1 + np.abs(X[alive]))):
            break
    g = grad(X)
    gn = np.linalg.norm(g, axis=1)
    scale = max(1.0, float(np.nanmax(np.abs(value(X[alive])))) if alive.any() else 1.0)
    good = alive & np.isfinite(gn) & (gn <= np.sqrt(tol) * scale)
    pts: list = []
    width = float(np.max(b[:, 1] - b[:, 0]))
    for p in X[good]:
        if any(np.max(np.abs(p - q)) <= 1e-6 * width for q in pts):
            continue
        pts.append(p)
    out: List[CriticalPoint] = []
    for p in sorted(pts, key=lambda q: tuple(q)):
        H = hess(p[None, :])[0]
        eig = np.linalg.eigvalsh(0.5 * (H + H.T))
        out.append(CriticalPoint(x=p.copy(), value=float(value(p[None, :])[0]),
                                 kind=_kind(eig, float(np.max(np.abs(eig))) if eig.size else 1.0), eigenvalues=eig,
                                 grad_norm=float(np.linalg.norm(grad(p[None, :])[0]))))
    return out


def _solve(H, g):
    """Newton steps H^-1 g per point; least squares where H is singular."""
    try:
        return np.linalg.solve(H, g[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return np.stack([np.linalg.lstsq(h, v, rcond=None)[0] for h, v in zip(H, g)])
