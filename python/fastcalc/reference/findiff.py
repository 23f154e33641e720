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
REL_STEP = 2.0**-10  # steps grow with |x| at least like |x| * REL_STEP
EXTRA_LEVELS = 22  # an estimate that has not settled may try this many finer levels
FAST_STEP = 2.0**-7  # the 8-point stencil's step (times step_scale) for a first derivative
CONDITIONING = 0.25  # weight of the round-off's conditioning term (see _conditioning)
VERIFY = float.fromhex("0x1.3c6ef372fe95p-1")  # 1/golden ratio: the verification step's factor
FAST_OUTER = float.fromhex("0x1.0f1bbcdcbfa54p+2")  # 2 + sqrt(5): the fast stencil's outer nodes
FAST_ROUND = 2.0  # and its round-off this far within the tolerance (else the tableau does better)
FAST_SHRINK = 0.25  # its 8- and 6-point difference must be this much below the 6- and 4-point one
# status bits per estimate (as the core's FDStatus)
NONFINITE, NO_ESTIMATE, NOT_CONVERGED = 1, 2, 4


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


def _pow2_ceil(v: np.ndarray) -> np.ndarray:
    """The smallest power of two >= v (v > 0)."""
    m, e = np.frexp(v)
    return np.where(m == 0.5, v, np.ldexp(1.0, e))


def step_scale(x: np.ndarray) -> np.ndarray:
    """The step's scale at x: the smallest power of two >= max(1, log1p|x|, |x| * REL_STEP).

    Logarithmic growth suits functions that vary as fast far from 0 as near it (sin, exp);
    beyond |x| = 16,384 the relative term wins, so that x + h keeps enough of h's bits
    (x**2 at 1e20: steps of 1 vanish in x + h)."""
    ax = np.abs(x)
    return np.maximum(_pow2_ceil(np.maximum(1.0, np.log1p(ax))), _pow2_ceil(np.maximum(ax * REL_STEP, 1.0)))


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


def _max_levels(method: str, n: int, first: Optional[float] = None) -> int:
    """Levels an estimate may run to when it has not settled after ``_levels`` finite ones."""
    return _levels(method, n, first) + EXTRA_LEVELS


def _uses_fast_stencil(method: str, deriv: int, order: int, h, first) -> bool:
    """The automatic first derivative by the default central stencil tries FAST_STEP first."""
    return h is None and first is None and method == "central" and deriv == 1 and order == 2


def _conditioning(weights) -> float:
    """CONDITIONING * sum |w|: the round-off of a first difference quotient D has, beside
    4 eps sum |w_j f_j| / h, the term 4 eps |x| |D| CONDITIONING sum |w| / h (f computed from x
    through rounded operations has errors like eps |x f'(x)|)."""
    s = 0.0
    for wt in weights:
        s += abs(wt)
    return CONDITIONING * s


class _Ridders:
    """Richardson tableau for many estimates at once (one row per step level)."""

    def __init__(self, size: int, lead: int, step: int, levels: int, max_levels: int, min_rows: int = MIN_ROWS,
                 good_enough: float = GOOD_ENOUGH):
        self.lead, self.step, self.min_rows, self.good_enough = lead, step, min_rows, good_enough
        self.levels, self.max_levels = levels, max_levels
        self.value = np.full(size, np.nan)
        self.error = np.full(size, np.inf)
        self.h = np.full(size, np.nan)
        self.done = np.zeros(size, bool)
        self.rowlen = np.zeros(size, int)
        self.fin = np.zeros(size, int)  # finite levels so far
        self.status = np.zeros(size, np.uint8)
        self.rows = np.zeros((size, 0))

    def update(self, D: np.ndarray, roundoff: np.ndarray, h: np.ndarray, idx: np.ndarray, kmax: int, level: int):
        # Per estimate, mirroring the C++ scalar loop (clear beats fast here).
        last = level + 1 == self.max_levels
        for j, e in enumerate(idx):
            if self.done[e]:
                continue
            d = D[j]
            if not np.isfinite(d):
                self.status[e] |= NONFINITE
                self.rowlen[e] = 0
                if last:
                    self._give_up(e)
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
            self.fin[e] += 1
            move = abs(row[newlen - 1] - prev[length - 1]) if length else 0.0
            noise = ROUND_MOVE * (4 * EPS * roundoff[j])
            trusted = self.error[e] <= max(TRUSTED * abs(self.value[e]), NOISE * self.round[e])
            agrees = abs(row[newlen - 1] - self.value[e]) <= max(SAFE * self.error[e], noise)
            converged = length + 1 >= self.min_rows and trusted and SAFE * self.error[e] <= move <= noise
            good = self.error[e] <= self.good_enough * abs(self.value[e])
            converged |= (length + 1 >= MIN_ROWS or self.error[e] == 0) and good
            converged &= agrees  # either way, unless the newest diagonal contradicts it
            self.rows[e] = np.pad(row, (0, kmax - newlen))
            self.rowlen[e] = newlen
            # Out of levels: a trusted estimate that the newest diagonal agrees with is final; one
            # that has not settled starts afresh on finer steps (the coarse rows were erratic),
            # up to max_levels, where it is final only if it settled.
            if not converged and (self.fin[e] == self.levels or last):
                converged = newlen > 1 and trusted and agrees
                if not converged and last:
                    self._give_up(e)
                elif not converged:
                    self.restart(e)
            if converged:
                self.done[e] = True
                self.status[e] = 0

    def restart(self, e: int):
        self.value[e], self.error[e], self.h[e], self.round[e] = np.nan, np.inf, np.nan, 0.0
        self.rowlen[e] = 0

    def _give_up(self, e: int):
        self.done[e] = True
        self.status[e] |= NO_ESTIMATE if np.isinf(self.error[e]) else NOT_CONVERGED

    def start(self, kmax: int):
        self.rows = np.zeros((self.value.size, kmax))
        self.round = np.zeros(self.value.size)


def _fast_stencil(evaluate: Callable[[np.ndarray], np.ndarray], x: np.ndarray, h: np.ndarray, rtol: Optional[float]):
    """The first derivative by the 8-point stencil on +-1, +-2, +-3, +-FAST_OUTER at step h, with
    the 6- and 4-point central stencils on the same values for its error: (value, error, accepted).
    The outer nodes are off the others' lattice: a frequency that aliases on it does not on them."""
    nodes8 = [-FAST_OUTER, -3.0, -2.0, -1.0, 1.0, 2.0, 3.0, FAST_OUTER]
    w8 = fornberg_weights(1, nodes8)
    ys = {nd: evaluate(x + nd * h) for nd in nodes8}

    def weighted(nodes, weights, absolute=False):
        S = np.zeros_like(x)
        for nd, wt in zip(nodes, weights):
            S = S + (np.abs(wt * ys[nd]) if absolute else wt * ys[nd])
        return S / h

    D8 = weighted(nodes8, w8)
    D6 = weighted([-3.0, -2.0, -1.0, 1.0, 2.0, 3.0], fornberg_weights(1, [-3.0, -2.0, -1.0, 1.0, 2.0, 3.0]))
    D4 = weighted([-2.0, -1.0, 1.0, 2.0], fornberg_weights(1, [-2.0, -1.0, 1.0, 2.0]))
    D2 = weighted([-1.0, 1.0], fornberg_weights(1, [-1.0, 1.0]))
    rnd = 4 * EPS * (weighted(nodes8, w8, absolute=True) + np.abs(x) * np.abs(D8) * (_conditioning(w8) / h))
    with np.errstate(all="ignore"):
        err = _fast_error(D8, D6, D4, D2, rnd)
        d6, d4 = np.abs(D8 - D6), np.abs(D6 - D4)
        # the differences must shrink as the order grows (or be round-off): an f that varies
        # on a finer scale than h fails this or the tolerance
        small = np.maximum(err, FAST_ROUND * rnd) <= (rtol or GOOD_ENOUGH) * np.abs(D8)
        converging = (d6 <= FAST_SHRINK * d4) | (np.maximum(d4, d6) <= NOISE * rnd)
        accepted = small & converging & np.isfinite(D8)
    return D8, err, accepted


def _fast_error(D8, D6, D4, D2, rnd):
    """The fast path's error: 8 e6**2 / e4 (D8's truncation error when the differences
    e6 = |D8 - D6|, e4 = |D6 - D4| shrink geometrically), 2 e4**3 / e2**2 (e2 = |D4 - D2|: it
    does not vanish where D6 and D8 cross, as e6 does) and round-off, the largest; x / 0 is inf,
    0 / 0 is 0 (the stencils agree exactly)."""
    e6, e4, e2 = np.abs(D8 - D6), np.abs(D6 - D4), np.abs(D4 - D2)
    geometric = np.where(e6 == 0, 0.0, 8 * e6 * e6 / e4)
    model = np.where(e4 == 0, 0.0, 2 * (e4 * e4 * e4) / (e2 * e2))
    return np.maximum(np.maximum(geometric, model), rnd)


def _run(evaluate: Callable[[np.ndarray], np.ndarray], x: np.ndarray, nodes, weights, deriv: int,
         method: str, order: int, error_step: int, h: Optional[float], textbook: bool,
         first: Optional[float] = None, rtol: Optional[float] = None, verified: bool = True):
    """Derivative estimates along one direction for points x (1-d) with function values from
    ``evaluate`` (flat points -> flat values): (value, error, status) with h None, else value.
    ``verified``: the one-variable engine (derivative_1d.cpp): the fast path first, and converged
    estimates checked off the steps' lattice (_verify); False: the general engine (findiff.cpp,
    gradients), which does neither."""
    nodes = np.asarray(nodes)
    weights = np.asarray(weights)
    has_zero = bool(np.any(nodes == 0.0))
    if h is not None:
        f0 = evaluate(x) if has_zero else None
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
    L = _levels(method, deriv, first)
    # a coarser start waits as many more rows before trusting the growth test
    tab = _Ridders(x.size, order, error_step, L, _max_levels(method, deriv, first),
                   MIN_ROWS + _coarser(method, deriv, first), rtol or GOOD_ENOUGH)
    tab.start(L)
    verify = verified  # only the one-variable engine (derivative_1d.cpp) verifies
    if verified and _uses_fast_stencil(method, deriv, order, h, first):
        value, err, ok = _fast_stencil(evaluate, x, FAST_STEP * scale, rtol)
        tab.value[ok], tab.error[ok], tab.done[ok] = value[ok], err[ok], True
    f0 = evaluate(x) if has_zero else None
    t0 = initial_step(method, deriv, first)
    for level in range(tab.max_levels):
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
        D = S / denom
        roundoff = Sabs / denom
        if deriv == 1:  # f computed from x: errors like eps |x f'(x)| too
            roundoff = roundoff + np.abs(x[active]) * np.abs(D) * (_conditioning(weights) / denom)
        before = tab.done[active].copy()
        tab.update(D, roundoff, hs, active, L, level)
        if verify:
            new = (~before & tab.done[active] & (tab.status[active] == 0)).nonzero()[0]
            _verify(evaluate, x, active[new], hs[new], D[new], roundoff[new], f0, nodes, weights, deriv, order,
                    tab, level + 1 == tab.max_levels)
    err = np.where(np.isinf(tab.error), tab.error, np.maximum(tab.error, tab.round))
    return tab.value, err, tab.status


def _verify(evaluate, x, idx, hs, D, roundoff, f0, nodes, weights, deriv, lead, tab, last):
    """The same stencil at VERIFY times the step, off the steps' lattice, for the estimates idx that
    just converged: D(r h) must be what the tableau implies, best + (D(h) - best) r**lead (a
    frequency that aliases on the lattice, w h a multiple of 2 pi, looks smooth to the tableau:
    sin(1607 x) from 1/16 down to 1/128). Failures start afresh at the next level, or give up at
    the last."""
    if idx.size == 0:
        return
    hv = VERIFY * hs
    S = np.zeros(idx.size)
    Sabs = np.zeros(idx.size)
    for nd, wt in zip(nodes, weights):
        y = f0[idx] if nd == 0.0 else evaluate(x[idx] + nd * hv)
        S = S + wt * y
        Sabs = Sabs + np.abs(wt * y)
    denom = hv
    for _ in range(deriv - 1):
        denom = denom * hv
    Dv = S / denom
    rv = Sabs / denom
    if deriv == 1:
        rv = rv + np.abs(x[idx]) * np.abs(Dv) * (_conditioning(weights) / denom)
    best, err = tab.value[idx], tab.error[idx]
    predicted = best + (D - best) * VERIFY ** lead
    tol = SAFE * (np.abs(D - best) + err) + NOISE * (4 * EPS * roundoff + 4 * EPS * rv)
    with np.errstate(invalid="ignore"):
        bad = idx[~(np.abs(Dv - predicted) <= tol)]
    if last:
        tab.status[bad] |= NOT_CONVERGED
        return
    tab.done[bad] = False
    for e in bad:
        tab.restart(e)


def _is_textbook(method: str, deriv: int, order: int) -> bool:
    return deriv == 1 and order == (2 if method == "central" else 1)


def derivative(f: Callable, x, n: int = 1, *, method: str = "central", order: Optional[int] = None,
               h: Optional[float] = None, initial_step: Optional[float] = None, rtol: Optional[float] = None,
               full_output: bool = False, general: bool = False):
    """n-th derivative of a vectorized f at each x: (value, error) with h None, else value;
    (value, error, status) with ``full_output``. ``initial_step``, ``rtol``: the first automatic
    step and the tolerance, as in :func:`fastcalc.derivative`. ``general``: as the general engine
    computes it (gradients; a function with several outputs) rather than the one-variable one."""
    order = order or (2 if method == "central" else 1)
    x = np.asarray(x, dtype=float)
    nodes, w, step = stencil(method, n, order)
    with np.errstate(all="ignore"):
        out = _run(lambda p: np.asarray(f(p), dtype=float), x.reshape(-1), nodes, w, n, method, order,
                   step, h, _is_textbook(method, n, order), initial_step, rtol, not general)
    if h is not None:
        return out.reshape(x.shape)
    out = tuple(o.reshape(x.shape) for o in out)
    return out if full_output else out[:2]


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
                       rtol=rtol, general=True) for a in range(x.size)]
    if h is not None:
        return np.array(cols)
    return np.array([c[0] for c in cols]), np.array([c[1] for c in cols])


def jacobian(f: Callable, x, *, method: str = "central", order: Optional[int] = None,
             h: Optional[float] = None, initial_step: Optional[float] = None, rtol: Optional[float] = None):
    """Jacobian (m, n) of a vectorized f: (k, n) -> (k, m) at one point x (n,)."""
    x = np.asarray(x, dtype=float)
    m = np.asarray(f(x[None, :])).shape[1]
    rows = [[derivative(_along(f, x, a, i), x[a], method=method, order=order, h=h, initial_step=initial_step,
                        rtol=rtol, general=True) for a in range(x.size)] for i in range(m)]
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
