"""Fitting a model to data by least squares: Levenberg-Marquardt (the default; cpp/src/
least_squares.cpp, on a model expression's exact Jacobian, or on forward differences of a
callable in scipy.optimize.curve_fit's convention) or the descent methods on the mean squared
error. ``fastcalc.fit`` (``fastcalc.optimize.fit``)."""
from __future__ import annotations

import inspect
import warnings
from typing import Callable

import numpy as np

from . import _core, _validate
from .optimize import (METHODS, _default_gtol, _descent_message, _is_expr, _options, _program, _renamed, _starts,
                       _variables, descent)
from .results import FitResult

FIT_METHODS = ("lm",) + tuple(METHODS)

def _fit_options(maxiter, gtol, ftol, xtol):
    def tol(v, name, default):
        v = default if v is None else v
        if not (v >= 0) or not np.isfinite(v):
            raise ValueError(f"{name} must be >= 0 and finite, got {v}")
        return float(v)

    mi = 0 if maxiter is None else _validate.maxiter(maxiter)
    return dict(maxiter=mi, gtol=tol(gtol, "gtol", 1e-10), ftol=tol(ftol, "ftol", 1e-14),
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


