"""Optimization: gradient descent and ascent for many runs at once, critical points, and fitting a
model expression to data. The loops run in C++ (fastcalc._core); see reference/optimize.py for
the same algorithms in plain NumPy."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from . import _core

METHODS = {"gd": 0, "momentum": 1, "nesterov": 2, "adam": 3}

__all__ = ["descent", "ascent", "DescentResult", "critical_points", "fit"]


@dataclass
class DescentResult:
    """Per run (leading axis k, kept for a single run): final iterate `x` (k, n), `fun`,
    `grad_norm`, `nit`, `converged`, `diverged`; with history, `history` (rows, k, n) and
    `fun_history` (rows, k), one row every `history_every` steps from step 0. `params`: fitted
    parameters by name (fit only)."""

    x: np.ndarray
    fun: np.ndarray
    grad_norm: np.ndarray
    nit: np.ndarray
    converged: np.ndarray
    diverged: np.ndarray
    history: Optional[np.ndarray] = None
    fun_history: Optional[np.ndarray] = None
    params: dict = field(default_factory=dict)


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


# ---- descent -------------------------------------------------------------------------------

def _options(method, maximize, steps, tol, momentum, betas, line_search, history, history_every, threads):
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {sorted(METHODS)}")
    if line_search and method != "gd":
        raise ValueError(f"line_search needs method 'gd', not {method!r}")
    steps = int(steps)
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if tol is not None and not tol >= 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    if int(history_every) < 1:
        raise ValueError(f"history_every must be >= 1, got {history_every}")
    b1, b2 = betas
    return dict(method=METHODS[method], maximize=bool(maximize), steps=steps, tol=float(tol or 0.0),
                momentum=float(momentum), beta1=float(b1), beta2=float(b2), line_search=bool(line_search),
                history=bool(history), history_every=int(history_every), threads=int(threads or 1))


def _starts(x0, lr, n):
    """x0 as (k, n) and lr as (k,) or (1,), broadcasting one start over an lr sweep."""
    x = np.array(x0, dtype=float)
    if n is None:
        n = 1 if x.ndim <= 1 else x.shape[-1]
    if x.ndim == 0:
        x = x.reshape(1, 1)
    elif x.ndim == 1:
        x = x.reshape(1, n) if x.shape[0] == n and n != 1 else x.reshape(-1, 1) if n == 1 else None
        if x is None:
            raise ValueError(f"x0 has {np.size(x0)} entries; the function has {n} variables")
    if x.ndim != 2 or x.shape[1] != n:
        raise ValueError(f"x0 has shape {np.shape(x0)}; the function has {n} variables (expected (n,) or (k, n))")
    lr = np.array(lr, dtype=float).ravel()
    if lr.size == 0 or not np.all(lr > 0) or not np.all(np.isfinite(lr)):
        raise ValueError(f"lr must be positive and finite, got {lr.tolist()}")
    if lr.size > 1:
        if x.shape[0] == 1:
            x = np.repeat(x, lr.size, axis=0)
        elif x.shape[0] != lr.size:
            raise ValueError(f"lr has {lr.size} entries but x0 has {x.shape[0]} runs")
    return np.ascontiguousarray(x), lr


def _result(d, params=None):
    return DescentResult(x=d["x"], fun=d["fun"], grad_norm=d["grad_norm"], nit=d["nit"],
                         converged=d["converged"].astype(bool), diverged=d["diverged"].astype(bool),
                         history=d.get("history"), fun_history=d.get("fun_history"), params=params or {})


def descent(f, x0, *, lr=0.1, steps=100, method="gd", maximize=False, tol=None, grad=None, momentum=0.9,
            betas=(0.9, 0.999), line_search=False, history=True, history_every=1, threads=None,
            jit=None) -> DescentResult:
    """Minimize f (maximize with maximize=True) from each start in x0 by gradient steps:
    gd: x -= lr f'(x); momentum: v = mu v + g, x -= lr v; nesterov: x -= lr (g + mu v);
    adam: bias-corrected moments. Runs are independent and stop on their own: after `steps`;
    converged when the gradient norm falls below tol; diverged when the iterate or gradient stops
    being finite or the iterate leaves 1e8 * max(1, |x0|_inf) (and when the final value is not
    finite). f: an expression (exact gradient, whole loop in C++) or a
    vectorized callable over a leading batch axis with grad= a callable or None (finite
    differences). threads: OpenMP threads across runs for an expression (None: all when there
    are many runs; 1: one). jit: for an expression (no line search), a natively compiled loop (None: when one is
    already compiled or the problem is large, and a C++ compiler is available; the same iterates
    either way)."""
    opts = _options(method, maximize, steps, tol, momentum, betas, line_search, history, history_every, threads)
    if _is_expr(f):
        if grad is not None:
            raise ValueError("grad= is only for Python callables; an expression has its exact gradient")
        prog = _program(f, 1)
        x, lrs = _starts(x0, lr, prog.n_vars)
        if threads is None:
            opts["threads"] = 0 if x.shape[0] >= 1024 else 1
        if not line_search:
            # the step program (gradient, step, stop rule) as native code, when its compile time
            # pays (_jit.decide); the core builds the same program for the interpreter
            from ._jit import decide

            k = decide(prog.descent_step(opts), float(x.shape[0]) * min(opts["steps"], 10**12), force=jit)
            if k is not None:
                opts["kernel"] = k.cols
                opts["_keep"] = k
        return _result(_core.descent_program(prog, x, lrs, opts))
    if not callable(f):
        raise TypeError(f"f must be an expression or a callable, got {type(f).__name__}")
    if grad is not None and not callable(grad):
        raise TypeError("grad must be a callable or None")
    x, lrs = _starts(x0, lr, _callable_dim(f, x0))
    return _result(_core.descent_callable(f, grad, x.shape[1], x, lrs, opts))


def _callable_dim(f, x0):
    """Variables of a callable from x0: (k, n) says n; a flat x0 of length L is L starts of a
    function of one variable when f maps it elementwise (L values back), else one start."""
    x = np.asarray(x0, dtype=float)
    if x.ndim != 1 or x.size <= 1:
        return 1 if x.ndim <= 1 else x.shape[-1]
    try:
        return 1 if np.shape(f(x.copy())) == x.shape else x.size
    except Exception:  # a function of a (k, n) batch: the real call reports any other error
        return x.size


def ascent(f, x0, **kw) -> DescentResult:
    """descent(..., maximize=True): x += lr f'(x)."""
    kw["maximize"] = True
    return descent(f, x0, **kw)


# ---- fitting -------------------------------------------------------------------------------

def fit(model, x, y, params, *, p0=None, loss="mse", method="gd", lr=0.01, steps=1000, tol=None, momentum=0.9,
        betas=(0.9, 0.999), line_search=False, history=False, history_every=1) -> DescentResult:
    """Learn `params` of a model expression from data (x, y) by minimizing the mean squared
    error with the descent methods; loss and exact gradient are assembled in C++ over all
    points. x: (N,) for one data variable or (N, d) in the order of the model's other variables.
    p0: (len(params),) or (k, len(params)) starts (default ones). Returns the descent result with
    `params` by name (arrays over runs when k > 1)."""
    if loss != "mse":
        raise ValueError(f"unknown loss {loss!r}; only 'mse' is supported")
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
    Y = np.ascontiguousarray(np.asarray(y, dtype=float).ravel())
    if X.ndim != 2 or X.shape[1] != len(data_vars):
        raise ValueError(f"x has shape {np.shape(x)}; the model has data variables {data_vars}")
    if X.shape[0] != Y.size:
        raise ValueError(f"x has {X.shape[0]} points but y has {Y.size}")
    prog = _program(model, 1, params + data_vars, wrt=range(len(params)))
    P0 = np.ones(len(params)) if p0 is None else p0
    P, lrs = _starts(P0, lr, len(params))
    opts = _options(method, False, steps, tol, momentum, betas, line_search, history, history_every, 1)
    d = _core.fit_mse(prog, np.ascontiguousarray(X), Y, P, lrs, opts)
    fitted = {p: (d["x"][0, i] if d["x"].shape[0] == 1 else d["x"][:, i]) for i, p in enumerate(params)}
    return _result(d, {p: float(v) if np.ndim(v) == 0 else v for p, v in fitted.items()})


# ---- critical points -----------------------------------------------------------------------

def _derivs(f, n):
    """Vectorized (grad, hess) callables: exact for an expression, finite differences otherwise.
    grad: (m, n) -> (m, n); hess: (m, n) -> (m, n, n)."""
    if _is_expr(f):
        prog = _program(f, 2)

        def grad(X):
            return prog.eval(np.ascontiguousarray(X, dtype=float))[:, 1:1 + n]

        def hess(X):
            return prog.eval(np.ascontiguousarray(X, dtype=float))[:, 1 + n:].reshape(-1, n, n)

        def value(X):
            return prog.eval(np.ascontiguousarray(X, dtype=float))[:, 0]

        return value, grad, hess

    def value(X):
        X = np.asarray(X, dtype=float)
        return np.asarray(f(X[:, 0] if n == 1 else X), dtype=float).reshape(-1)

    def grad(X):
        X = np.ascontiguousarray(X, dtype=float)
        if n == 1:
            return _core.derivative(f, X[:, 0].copy(), 1, 0, 2, 0.0, True, values_only=True)["value"].reshape(-1, 1)
        return _core.first_partials(f, X, 1, 0, 2, 0.0, True, values_only=True)["value"].reshape(-1, n)

    def hess(X):
        X = np.ascontiguousarray(X, dtype=float)
        if n == 1:
            return _core.derivative(f, X[:, 0].copy(), 2, 0, 2, 0.0, True, values_only=True)["value"].reshape(-1, 1, 1)
        return _core.hessian(f, X, 0, 2, 0.0, True)["value"].reshape(-1, n, n)

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


def critical_points(f, bounds, *, grid=None, tol=1e-10):
    """Points where the gradient vanishes inside bounds, as records {x, value, kind}.
    One variable (bounds (lo, hi)): sign changes of f' on a grid, then Brent on f'; kind by f''
    ("min", "max", or "inflection"). n variables (bounds [(lo, hi)] * n): Newton on the gradient
    with the Hessian from grid starts, deduplicated, kind by the Hessian's eigenvalues ("min",
    "max", "saddle", "degenerate")."""
    b = np.asarray(bounds, dtype=float)
    if b.shape == (2,):
        return _critical_1d(f, float(b[0]), float(b[1]), grid, tol)
    if b.ndim != 2 or b.shape[1] != 2:
        raise ValueError(f"bounds must be (lo, hi) or a list of (lo, hi) per variable, got shape {b.shape}")
    if np.any(b[:, 0] >= b[:, 1]):
        raise ValueError("each bound needs lo < hi")
    return _critical_nd(f, b, grid, tol)


def _critical_1d(f, lo, hi, grid, tol):
    if not lo < hi:
        raise ValueError(f"bounds need lo < hi, got ({lo}, {hi})")
    value, grad, hess = _derivs(f, 1)
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
    out = []
    span = (hi - lo) / max(len(xs) - 1, 1)
    for r in roots:
        if out and abs(r - out[-1]["x"]) <= max(1e-7 * span, 1e-12 * max(1.0, abs(r))):
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
            kind = "min" if gl < 0 < gr else "max" if gl > 0 > gr else "inflection"
        out.append({"x": float(r), "value": float(value(np.array([[r]]))[0]), "kind": kind})
    return out


def _critical_nd(f, b, grid, tol):
    n = b.shape[0]
    value, grad, hess = _derivs(f, n)
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
    pts = []
    width = float(np.max(b[:, 1] - b[:, 0]))
    for p in X[good]:
        if any(np.max(np.abs(p - q)) <= 1e-6 * width for q in pts):
            continue
        pts.append(p)
    out = []
    for p in sorted(pts, key=lambda q: tuple(q)):
        H = hess(p[None, :])[0]
        eig = np.linalg.eigvalsh(0.5 * (H + H.T))
        out.append({"x": p.copy(), "value": float(value(p[None, :])[0]),
                    "kind": _kind(eig, float(np.max(np.abs(eig))) if eig.size else 1.0)})
    return out


def _solve(H, g):
    """Newton steps H^-1 g per point; least squares where H is singular."""
    try:
        return np.linalg.solve(H, g[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return np.stack([np.linalg.lstsq(h, v, rcond=None)[0] for h, v in zip(H, g)])
