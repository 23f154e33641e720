"""Critical points: where the gradient vanishes inside bounds, classified with one vocabulary.
``fastcalc.critical_points`` (``fastcalc.optimize.critical_points``)."""
from __future__ import annotations

from typing import List

import numpy as np

from ._calling import bind_args, style_of
from .optimize import _check_real_scalar, _is_expr, _program, _rows
from .results import CriticalPoint

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
