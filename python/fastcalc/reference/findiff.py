"""Finite differences in plain NumPy: the reference for ``cpp/src/stencil.cpp`` and
``cpp/src/findiff.cpp``. Same stencils, same step sequence, same Ridders tableau."""
from __future__ import annotations

import math
from typing import Callable, List, Optional, Tuple

import numpy as np

EPS = float(np.finfo(float).eps)
SAFE = 2.0  # stop once the extrapolation error grows by this factor
GOOD_ENOUGH = 2.0**-38  # or once the estimate is as good as doubles allow
MIN_ROWS = 4  # neither test stops before this tableau row: earlier error estimates are crude
TRUSTED = 2.0**-36  # ... and only once the estimate is decent (coarse steps can be erratic)
NOISE = 16.0  # ... or within this factor of its round-off (finer steps cannot improve it)
ROUND_MOVE = 16.0  # ... and only on a diagonal move that round-off can explain (this x its size)


def fornberg_weights(deriv: int, nodes, z: float = 0.0) -> List[float]:
    """Weights of the ``deriv``-th derivative at z on arbitrary distinct nodes (Fornberg 1988)."""
    x = [float(v) for v in nodes]
    n = len(x) - 1
    c = [[0.0] * (deriv + 1) for _ in x]
    c1, c4 = 1.0, x[0] - z
    c[0][0] = 1.0
    for i in range(1, n + 1):
        mn = min(i, deriv)
        c2, c5, c4 = 1.0, c4, x[i] - z
        for j in range(i):
            c3 = x[i] - x[j]
            c2 *= c3
            if j == i - 1:
                for k in range(mn, 0, -1):
                    c[i][k] = c1 * (k * c[i - 1][k - 1] - c5 * c[i - 1][k]) / c2
                c[i][0] = -c1 * c5 * c[i - 1][0] / c2
            for k in range(mn, 0, -1):
                c[j][k] = (c4 * c[j][k] - k * c[j][k - 1]) / c3
            c[j][0] = c4 * c[j][0] / c3
        c1 = c2
    return [row[deriv] for row in c]


def stencil(method: str, deriv: int, order: int) -> Tuple[List[float], List[float], int]:
    """(nodes, weights, error_step) of the standard stencil; zero weights dropped."""
    if method == "central":
        count = 2 * ((deriv + 1) // 2) - 1 + order
        half = (count - 1) // 2
        nodes = [float(i) for i in range(-half, half + 1)]
        step = 2
    else:
        sign = 1.0 if method == "forward" else -1.0
        nodes = [sign * i for i in range(deriv + order)]
        step = 1
    w = fornberg_weights(deriv, nodes)
    wmax = max(abs(v) for v in w)
    keep = [(nd, wt) for nd, wt in zip(nodes, w) if abs(wt) >= 64 * EPS * wmax]
    return [k[0] for k in keep], [k[1] for k in keep], step


def step_scale(x: np.ndarray) -> np.ndarray:
    """Smallest power of two >= max(1, log1p|x|)."""
    v = np.maximum(1.0, np.log1p(np.abs(x)))
    m, e = np.frexp(v)
    return np.where(m == 0.5, v, np.ldexp(1.0, e))


def initial_step(method: str, n: int, first: Optional[float] = None) -> float:
    """The first automatic step for |x| <= 1: ``first`` rounded down to a power of two, or the default."""
    if first is not None:
        return math.ldexp(1.0, math.frexp(first)[1] - 1)
    base = 1.0 / 16 if method == "central" else 1.0 / 32
    return math.ldexp(base, min(n - 1, 3))


def _coarser(method: str, n: int, first: Optional[float]) -> int:
    """Halvings from ``first`` down to the default first step (0 if it is not coarser)."""
    return max(0, math.frexp(initial_step(method, n, first))[1] - math.frexp(initial_step(method, n))[1])


def _levels(method: str, n: int, first: Optional[float] = None) -> int:
    return min((10 if method == "central" else 14) + _coarser(method, n, first), 32)


class _Ridders:
    """Richardson tableau for many estimates at once (one row per step level)."""

    def __init__(self, size: int, lead: int, step: int, min_rows: int = MIN_ROWS, good_enough: float = GOOD_ENOUGH):
        self.lead, self.step, self.min_rows, self.good_enough = lead, step, min_rows, good_enough
        self.prev: Optional[np.ndarray] = None  # (size, len)
        self.value = np.full(size, np.nan)
        self.error = np.full(size, np.inf)
        self.h = np.full(size, np.nan)
        self.done = np.zeros(size, bool)
        self.rowlen = np.zeros(size, int)
        self.rows = np.zeros((size, 0))

    def update(self, D: np.ndarray, roundoff: np.ndarray, h: np.ndarray, idx: np.ndarray, kmax: int):
        # Per estimate, mirroring the C++ scalar loop (clear beats fast here).
        for j, e in enumerate(idx):
            if self.done[e]:
                continue
            d = D[j]
            if not np.isfinite(d):
                self.rowlen[e] = 0
                continue
            prev = self.rows[e] if self.rowlen[e] else np.zeros(0)
            length = self.rowlen[e]
            newlen = min(length + 1, kmax)
            row = np.zeros(newlen)
            row[0] = d
            if length == 0 and np.isinf(self.error[e]):
                self.value[e], self.h[e] = d, h[j]
            for c in range(1, newlen):
                inv = 1.0 / (math.ldexp(1.0, self.lead + (c - 1) * self.step) - 1.0)
                row[c] = row[c - 1] + (row[c - 1] - prev[c - 1]) * inv
                err = max(abs(row[c] - row[c - 1]), abs(row[c] - prev[c - 1]))
                if err <= self.error[e]:
                    self.error[e], self.value[e], self.h[e] = err, row[c], h[j]
                    self.round[e] = 4 * EPS * roundoff[j]
            move = abs(row[newlen - 1] - prev[length - 1]) if length else 0.0
            noise = ROUND_MOVE * (4 * EPS * roundoff[j])
            trusted = self.error[e] <= max(TRUSTED * abs(self.value[e]), NOISE * self.round[e])
            if length + 1 >= self.min_rows and trusted and SAFE * self.error[e] <= move <= noise:
                self.done[e] = True
            # good enough, unless the newest diagonal contradicts it
            good = self.error[e] <= self.good_enough * abs(self.value[e])
            if ((length + 1 >= MIN_ROWS or self.error[e] == 0) and good
                    and abs(row[newlen - 1] - self.value[e]) <= max(SAFE * self.error[e], noise)):
                self.done[e] = True
            self.rows[e] = np.pad(row, (0, kmax - newlen))
            self.rowlen[e] = newlen

    def start(self, kmax: int):
        self.rows = np.zeros((self.value.size, kmax))
        self.round = np.zeros(self.value.size)


def _run(evaluate: Callable[[np.ndarray], np.ndarray], x: np.ndarray, nodes, weights, deriv: int,
         method: str, order: int, error_step: int, h: Optional[float], textbook: bool,
         first: Optional[float] = None, rtol: Optional[float] = None):
    """Derivative estimates along one direction for points x (1-d) with function values from
    ``evaluate`` (flat points -> flat values)."""
    nodes = np.asarray(nodes)
    weights = np.asarray(weights)
    has_zero = bool(np.any(nodes == 0.0))
    f0 = evaluate(x) if has_zero else None
    if h is not None:
        pts = [x + nd * h for nd in nodes if nd != 0.0]
        ys = [evaluate(p) for p in pts]
        if textbook:
            if method == "forward":
                return (ys[0] - f0) / h
            if method == "backward":
                return (f0 - ys[0]) / h
            return (ys[1] - ys[0]) / (2 * h)
        S = np.zeros_like(x)
        it = iter(ys)
        for nd, wt in zip(nodes, weights):
            S = S + wt * (f0 if nd == 0.0 else next(it))
        return S / h ** deriv
    scale = step_scale(x)
    t0 = initial_step(method, deriv, first)
    L = _levels(method, deriv, first)
    # a coarser start waits as many more rows before trusting the growth test
    tab = _Ridders(x.size, order, error_step, MIN_ROWS + _coarser(method, deriv, first), rtol or GOOD_ENOUGH)
    tab.start(L)
    for level in range(L):
        active = np.flatnonzero(~tab.done)
        if active.size == 0:
            break
        t = math.ldexp(t0, -level)
        hs = t * scale[active]
        S = np.zeros(active.size)
        Sabs = np.zeros(active.size)
        for nd, wt in zip(nodes, weights):
            y = f0[active] if nd == 0.0 else evaluate(x[active] + nd * hs)
            S = S + wt * y
            Sabs = Sabs + np.abs(wt * y)
        denom = hs ** deriv
        tab.update(S / denom, Sabs / denom, hs, active, L)
    err = np.where(np.isinf(tab.error), tab.error, np.maximum(tab.error, tab.round))
    return tab.value, err


def _is_textbook(method: str, deriv: int, order: int) -> bool:
    return deriv == 1 and order == (2 if method == "central" else 1)


def derivative(f: Callable, x, n: int = 1, *, method: str = "central", order: Optional[int] = None,
               h: Optional[float] = None, initial_step: Optional[float] = None, rtol: Optional[float] = None):
    """n-th derivative of a vectorized f at each x: (value, error) with h None, else value.
    ``initial_step``, ``rtol``: the first automatic step and the tolerance, as in
    :func:`fastcalc.derivative`."""
    order = order or (2 if method == "central" else 1)
    x = np.asarray(x, dtype=float)
    nodes, w, step = stencil(method, n, order)
    with np.errstate(all="ignore"):
        out = _run(lambda p: np.asarray(f(p), dtype=float), x.reshape(-1), nodes, w, n, method, order,
                   step, h, _is_textbook(method, n, order), initial_step, rtol)
    if h is not None:
        return out.reshape(x.shape)
    return out[0].reshape(x.shape), out[1].reshape(x.shape)


def _along(f: Callable, x: np.ndarray, a: int, m: Optional[int]):
    """f restricted to the line x + t e_a, vectorized over t; output column m if given."""
    def g(t: np.ndarray) -> np.ndarray:
        X = np.repeat(x[None, :], t.size, axis=0)
        X[:, a] = t
        y = np.asarray(f(X), dtype=float)
        return y if m is None else y[:, m]
    return g


def gradient(f: Callable, x, *, method: str = "central", order: Optional[int] = None,
             h: Optional[float] = None, initial_step: Optional[float] = None, rtol: Optional[float] = None):
    """Gradient of a vectorized f: (k, n) -> (k,) at one point x (n,)."""
    x = np.asarray(x, dtype=float)
    cols = [derivative(_along(f, x, a, None), x[a], method=method, order=order, h=h, initial_step=initial_step,
                       rtol=rtol) for a in range(x.size)]
    if h is not None:
        return np.array(cols)
    return np.array([c[0] for c in cols]), np.array([c[1] for c in cols])


def jacobian(f: Callable, x, *, method: str = "central", order: Optional[int] = None,
             h: Optional[float] = None, initial_step: Optional[float] = None, rtol: Optional[float] = None):
    """Jacobian (m, n) of a vectorized f: (k, n) -> (k, m) at one point x (n,)."""
    x = np.asarray(x, dtype=float)
    m = np.asarray(f(x[None, :])).shape[1]
    rows = [[derivative(_along(f, x, a, i), x[a], method=method, order=order, h=h, initial_step=initial_step,
                        rtol=rtol) for a in range(x.size)] for i in range(m)]
    if h is not None:
        return np.array(rows)
    return np.array([[c[0] for c in r] for r in rows]), np.array([[c[1] for c in r] for r in rows])


def hessian(f: Callable, x, *, h: float):
    """Hessian of a vectorized f at one point x (n,) with a fixed step: the second-derivative
    stencil on the diagonal, the 4-point mixed stencil elsewhere."""
    x = np.asarray(x, dtype=float)
    n = x.size
    H = np.zeros((n, n))
    nodes2, w2, _ = stencil("central", 2, 2)
    f0 = float(np.asarray(f(x[None, :]))[0])
    for a in range(n):
        S = 0.0
        for nd, wt in zip(nodes2, w2):
            if nd == 0.0:
                y = f0
            else:
                p = x.copy()
                p[a] = x[a] + nd * h
                y = float(np.asarray(f(p[None, :]))[0])
            S += wt * y
        H[a, a] = S / h ** 2
        for b in range(a + 1, n):
            S = 0.0
            for da, db, wt in ((-1, -1, 0.25), (-1, 1, -0.25), (1, -1, -0.25), (1, 1, 0.25)):
                p = x.copy()
                p[a] = x[a] + da * h
                p[b] = p[b] + db * h
                S += wt * float(np.asarray(f(p[None, :]))[0])
            H[a, b] = H[b, a] = S / (h * h)
    return H
