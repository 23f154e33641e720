"""One side of a limit of a black-box function from double-precision samples.

The numerics approach ``c`` through geometric and dense irregular samples (``x = c +- t`` with
``t`` from 1/2 down to the last distinguishable offset, or ``x = +-1/t`` at infinity), cut the
samples where round-off takes over, classify the tail (converges, diverges to +-inf, oscillates,
unbounded, undefined) and accelerate convergence by Richardson (Neville) and Wynn extrapolation.

Doubles cannot prove anything; what they can do is refuse evidence that is not evidence. A tail
that is exactly constant after the samples varied (x + 1 rounding to x beyond 2**53, 1 + e^-x
rounding to 1) is a round-off plateau: the samples from its start on are dropped. A verdict
that rests on too few samples is "undetermined".
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np

from ._limits_exact import Side

_EPS = float(np.finfo(np.float64).eps)
_PHI = (math.sqrt(5.0) - 1.0) / 2.0
_DENSE = 24         # irregular samples per decade of t
_RISE = 50.0        # a block this much noisier than the best one so far: round-off


# ---------------------------------------------------------------- evaluation
def evaluator(f: Callable) -> Callable[[np.ndarray], np.ndarray]:
    """Vectorized f: one try with an array, else per-point calls. f's exceptions propagate."""
    vec = [None]

    def point(v: float) -> float:
        y = f(np.float64(v))
        if isinstance(y, complex) or np.iscomplexobj(y):
            y = complex(y)
            return y.real if y.imag == 0 else math.nan
        return float(np.asarray(y, dtype=float).reshape(()))

    def F(x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            if vec[0] is not False:
                try:
                    y = f(x)
                    if np.iscomplexobj(y):
                        y = np.where(np.imag(y) == 0, np.real(y), np.nan)
                    y = np.broadcast_to(np.asarray(y, dtype=float), x.shape).copy()
                    vec[0] = True
                    return y
                except Exception:
                    if vec[0]:
                        raise
                    vec[0] = False
            return np.array([point(v) for v in x], dtype=float)

    return F


def _offsets(c: float, grid: int = 0) -> np.ndarray:
    """Offsets t (descending) where f is sampled: geometric 2^-k plus irregular per decade;
    ``grid`` 1 is a second, interleaved set (a different start and phases)."""
    if math.isinf(c) or c == 0.0:
        t0, tmin = 0.5 if c == 0.0 else 1.0, 1e-300
    else:
        t0, tmin = 0.5 * max(1.0, abs(c)), max(8.0 * _EPS * abs(c), 1e-300)
    t0 *= (1.0, 0.8117)[grid]
    decades = math.log10(t0 / tmin)
    geo = t0 * 0.5 ** np.arange(int(math.log2(t0 / tmin)) + 1)
    u = ((np.arange(1, int(decades * _DENSE) + 1) + 0.5 * grid) * _PHI) % 1.0
    dense = t0 * 10.0 ** -(np.floor(np.arange(u.size) / _DENSE) + u)
    return np.unique(np.concatenate([geo, dense[dense >= tmin]]))[::-1]


def _points(c: float, s: int, t: np.ndarray):
    """x for offsets t from side s (+1 right, -1 left); the effective offsets."""
    if math.isinf(c):
        x = math.copysign(1.0, c) / t
        return x, t
    x = c + s * t
    return x, np.abs(x - c)


# ---------------------------------------------------------------- one side
def _Side(value: float, exists: bool, error: float = math.nan, reason: Optional[str] = None) -> Side:
    """The old numerics' (value, exists) as a verdict."""
    if not exists:
        return Side("does not exist", reason=reason)
    if math.isinf(value):
        return Side("+inf" if value > 0 else "-inf", value, 0.0)
    return Side("finite", value, error)


def _blocks(t: np.ndarray, y: np.ndarray, t0: float):
    """Split samples into decades of t; per block (indices, half range, floor, noisy)."""
    b = np.floor(np.log10(t0 / t) + 1e-12).astype(int)
    out = []
    for k in np.unique(b):
        idx = np.nonzero(b == k)[0]
        v = y[max(idx[0] - 1, 0):idx[-1] + 1]  # with the previous sample: jumps count
        spread = float(0.5 * v.max() - 0.5 * v.min())  # half the range: never overflows
        floor = 16 * _EPS * float(np.abs(v).max()) + 1e-300
        d = np.diff(v)
        d = d[np.abs(d) > floor]
        noisy = d.size >= 3 and np.count_nonzero(np.diff(np.sign(d))) >= 0.3 * (d.size - 1)
        if not noisy and (np.all(v > 0) or np.all(v < 0)) and v.size >= 6:
            noisy = _log_noisy(t[max(idx[0] - 1, 0):idx[-1] + 1], v)
        out.append((idx, spread, floor, noisy))
    return out


def _log_noisy(t: np.ndarray, v: np.ndarray) -> bool:
    """Relative noise above 1e-6 on a trend (log|y| against log t jitters): cancellation."""
    lt = np.log(t)
    slope = np.diff(np.log(np.abs(v))) / np.diff(lt)
    ds = np.diff(slope)
    ds = ds[np.abs(ds) > 1e-6 / float(np.abs(np.diff(lt)).min()) + 1e-3 * float(np.abs(slope).max())]
    return ds.size >= 3 and np.count_nonzero(np.diff(np.sign(ds))) >= 0.5 * (ds.size - 1)


def _neville(t: np.ndarray, y: np.ndarray, depth: int = 8):
    """Best polynomial extrapolation to t=0 over the sequence: (value, error estimate)."""
    best, best_err = (float(y[-1]), math.inf), math.inf
    scale = float(np.abs(y).max()) or 1.0
    prev = y / scale                # column j-1: P over points k-j+1..k, indexed by k
    prev_prev = None
    for j in range(1, min(depth, y.size - 1) + 1):
        tk, tkj = t[j:], t[:-j]
        cur = (tkj * prev[1:] - tk * prev[:-1]) / (tkj - tk)
        e = np.abs(cur - prev[1:])
        e[1:] = np.maximum(e[1:], np.abs(np.diff(cur)))
        e[0] = max(e[0], e[0] * 10)
        if prev_prev is not None:
            e = np.maximum(e, np.abs(cur - prev_prev[2:]))
        e = e + 4 * _EPS * (j + 1)
        i = e.size - 1 - int(np.argmin(e[::-1]))
        if e[i] * scale < best[1]:  # report the worst error among the neighbouring entries
            best = (float(cur[i]) * scale, float(e[i]) * scale)
            best_err = float(e[max(i - 1, 0):i + 2].max()) * scale
        prev_prev, prev = prev, cur
    return best[0], max(best[1], best_err)


def _wynn(y: np.ndarray, depth: int = 6):
    """Wynn's epsilon algorithm on the sequence: best (value, error estimate) of its even columns."""
    scale = float(np.abs(y).max()) or 1.0
    prev2, prev = np.zeros(y.size + 1), y / scale   # eps_{j-1}, eps_j
    even, best = prev, (math.nan, math.inf)
    for j in range(1, 2 * depth + 1):
        if prev.size < 2:
            break
        cur = prev2[1:prev.size] + 1.0 / np.diff(prev)
        if j % 2 == 0:
            e = np.abs(cur - even[1:cur.size + 1])
            e[1:] = np.maximum(e[1:], np.abs(np.diff(cur)))
            e = np.where(np.isfinite(cur) & np.isfinite(e), e + 4 * _EPS * (j + 1), np.inf)
            i = e.size - 1 - int(np.argmin(e[::-1]))
            if e[i] * scale < best[1]:
                best = (float(cur[i]) * scale, float(e[max(i - 1, 0):i + 2].max()) * scale)
            even = cur
        prev2, prev = prev, cur
    return best


#: a finite value must be this accurate (relative to max(1, |value|)) to be given
_ACCURACY = 1e-6


def one_side(F, c: float, s: int, tol: float) -> Side:
    """The verdict from side s (+1 right, -1 left) for F(x) on arrays of doubles: the same on
    two interleaved sampling grids, and a value only as accurate as ``_ACCURACY``, else
    undetermined. Doubles can be fooled by a function (tan at infinity looks convergent on one
    grid); two grids that agree are harder to fool."""
    with np.errstate(all="ignore"):  # huge samples: overflow in spreads is expected
        a = _one_side_(F, c, s, tol, 0)
        if a.verdict == "undetermined":
            return a
        b = _one_side_(F, c, s, tol, 1)
    if a.verdict != b.verdict:
        return Side("undetermined", reason=f"two sampling grids disagree ({a.verdict} and {b.verdict})")
    if a.verdict == "does not exist" and a.reason in ("oscillates", "unbounded") and not _irregular_early(F, c, s):
        return Side("undetermined", reason="f is smooth away from c and irregular only close to it "
                                           "(round-off, or an oscillation that doubles cannot resolve)")
    if a.verdict != "finite":
        return a
    scale = max(1.0, abs(a.value), abs(b.value))
    if abs(a.value - b.value) > max(4 * (a.error + b.error), 1e-12 * scale):
        return Side("undetermined", reason=f"two sampling grids disagree ({a.value!r} and {b.value!r})")
    best = a if a.error <= b.error else b
    err = max(best.error, abs(a.value - b.value))
    if not err <= _ACCURACY * max(1.0, abs(best.value)):
        return Side("undetermined", reason=f"the samples converge only to about {best.value:.8g} +- {err:.2g}")
    return Side("finite", best.value, err)


def _irregular_early(F, c: float, s: int) -> bool:
    """Whether f turns back and forth already in the first 1.3 decades of the approach, by more
    than round-off could (1e-8 of its size): the evidence an oscillation verdict needs from a
    black box."""
    t = _offsets(c)[0] * 10.0 ** -np.linspace(0.0, 1.3, 97)
    x, _ = _points(c, s, t)
    y = F(x)
    y = y[np.isfinite(y)]
    if y.size < 16:
        return False
    d = np.diff(y)
    d = d[np.abs(d) > 1e-8 * max(1.0, float(np.median(np.abs(y))))]
    return d.size >= 8 and np.count_nonzero(np.diff(np.sign(d))) >= 3


def _one_side_(F, c: float, s: int, tol: float, grid: int) -> Side:
    t = _offsets(c, grid)
    t0 = float(t[0])  # the geometric levels are t0 * 2**-k
    x, te = _points(c, s, t)
    y = F(x)
    # f may be undefined (NaN) in places: use the first NaN-free run spanning 1.5 decades (NaN
    # after it is mostly overflow, inf/inf); "undefined" only when every sample is NaN
    isnan = np.isnan(y)
    if isnan.all():
        return _Side(math.nan, False, reason="undefined")
    nan = np.r_[True, isnan, True]
    starts, stops = np.flatnonzero(nan[:-1] & ~nan[1:]), np.flatnonzero(~nan[:-1] & nan[1:])
    run = [(a, b) for a, b in zip(starts, stops)
           if b - a >= 8 and (b == y.size or math.log10(t[a] / t[b - 1]) >= 1.5)]
    if not run:
        return Side("undetermined", reason="f is NaN near c (undefined there, or overflow)")
    a, b = run[0]
    y, te, t = y[a:b], te[a:b], t[a:b]
    if np.isinf(y).all():
        return _Side(float(y[-1]), True, 0.0) if np.all(y == y[-1]) else _Side(math.nan, False, reason="unbounded")
    a = int(np.argmin(np.isinf(y)))  # a pole away from c
    y, te, t = y[a:], te[a:], t[a:]
    inf = np.isinf(y)
    if inf.any():
        k = int(np.argmax(inf))
        tail = y[k:]
        if not (np.all(np.isinf(tail[-8:])) and np.all(np.sign(tail) == np.sign(tail[0]))):
            if np.all(np.isinf(tail[-8:])):
                return _Side(math.nan, False, reason="unbounded")
            y, te, t = y[:k], te[:k], t[:k]
        else:  # +-inf from here on: overflow of the limit, or of an intermediate only?
            r = _classify(t[:k], te[:k], y[:k], tol, t0) if k >= 8 else None
            if r is not None and r.verdict != "does not exist":
                return r
            return Side("undetermined", reason="f overflows near c")
    if y.size < 8:
        return _Side(math.nan, False, reason="undefined")
    # a round-off plateau: exactly constant from some sample on, after the samples varied
    # (x + 1 rounding to x, 1 + e^-x to 1, an underflow to 0): it counts only when the samples
    # before it converge to its value; otherwise those samples decide alone
    j = np.flatnonzero(y != y[-1])
    if j.size >= 8 and y.size - 1 - j[-1] >= 4:
        plateau = float(y[-1])
        k = j[-1] + 1
        if k < 16:
            return Side("undetermined", reason="f is exactly constant near c only after rounding")
        before = _classify(t[:k], te[:k], y[:k], tol, t0)
        if before.verdict == "finite":
            scale = max(1.0, abs(plateau))
            if abs(before.value - plateau) <= max(4 * before.error, 1e-9 * scale):
                return Side("finite", plateau, before.error)
            return before
        if before.verdict == "does not exist":
            return before
        return Side("undetermined", reason="f is exactly constant near c only after rounding")
    return _classify(t, te, y, tol, t0)


def _classify(t: np.ndarray, te: np.ndarray, y: np.ndarray, tol: float, t0: float) -> _Side:
    """Finite samples approaching c: converges (value), diverges, oscillates or unbounded."""
    blocks = _blocks(t, y, t[0])
    # cut before round-off: a noisy block far above the best spread after a real decrease
    smooth = 0  # noise after three smooth decades: round-off (cancellation) took over
    for i, b in enumerate(blocks):
        if b[3] and smooth >= 3:
            blocks = blocks[:i]
            break
        smooth = 0 if b[3] else smooth + 1
    cut, m, mi, top, top_at_min = len(blocks), math.inf, 0, 0.0, 0.0
    for i, (idx, sp, fl, noisy) in enumerate(blocks):
        ref = max(m, fl)
        if i and sp > _RISE * ref and top_at_min > _RISE * ref:
            vb = float(y[blocks[mi][0][-1]])
            sudden = sp > 1e3 * ref and blocks[i - 1][1] <= 10 * ref        # overflow, underflow
            close = float(np.abs(y[idx] - vb).max()) <= 1e-6 * max(1.0, abs(vb))  # c's rounding
            if noisy or sudden or close:
                cut = mi + 1
                break
        top = max(top, sp)
        if max(sp, fl) <= m:
            m, mi, top_at_min = max(sp, fl), i, top
    blocks = blocks[:cut]
    n = len(blocks)
    last = blocks[-1]
    yl = y[last[0]]
    # divergence to +-inf: one sign, |y| growing and not slowing down
    if n >= 2:
        half = blocks[max(0, n // 2 - 1):]
        vals = np.concatenate([y[b[0]] for b in half])
        mags = [float(np.median(np.abs(y[b[0]]))) for b in half]
        first_max = float(np.abs(y[half[0][0]]).max())
        if (np.all(vals > 0) or np.all(vals < 0)) and float(np.abs(yl).min()) >= 1.5 * first_max:
            w = mags[-4:]
            inc = np.diff(w)
            if np.all(inc > 0) and (inc.size < 2 or inc[-1] >= 0.5 * inc[0]):
                return _Side(math.copysign(math.inf, vals[-1]), True, 0.0)
    # convergence: the spread per decade settles or keeps shrinking
    sps = [b[1] for b in blocks[-4:]]
    settled = sps[-1] <= last[2]
    if not (settled or (len(sps) >= 2 and sps[-1] <= 0.3 * sps[0])):
        slow = _slow(y, t, blocks, t0) if n >= 8 else None
        if slow is not None:
            return slow
        first = float(np.abs(y[blocks[max(0, n // 2 - 1)][0]]).max())
        grow = float(np.abs(yl).max()) >= 1e3 * max(first, 1e-300) and float(np.abs(yl).max()) > 1e3
        return _Side(math.nan, False, reason="unbounded" if grow else "oscillates")
    # value: the best decade's sample nearest c, or Richardson on the geometric levels
    peak = max(range(n), key=lambda i: (blocks[i][1], i))
    ib = min(range(peak, n), key=lambda i: (blocks[i][1], -i))
    raw_idx = blocks[ib][0][-1]
    raw, raw_err = float(y[raw_idx]), 2 * blocks[ib][1] + blocks[ib][2]
    end = int(blocks[-1][0][-1]) + 1
    geo = np.nonzero(np.isclose(np.log2(t[:end] / t0) % 1.0, 0.0, atol=1e-9))[0]
    value, err = raw, raw_err
    if geo.size >= 3:
        cands = [_neville(te[geo] ** p, y[geo]) for p in (1.0, 0.5)]  # powers of t or sqrt(t)
        for r, re in cands + [_wynn(y[geo])]:
            if re < err and abs(r - raw) <= 2 * raw_err + 4 * re:
                value, err = r, re
    return _Side(value, True, err)


def _slow(y: np.ndarray, t: np.ndarray, blocks, t0: float) -> Optional[_Side]:
    """A smooth monotone tail changing like a power of log(t): diverges when the changes per
    decade shrink no faster than 1/log (log log x); else converges, extrapolated in 1/log(1/t)."""
    half = blocks[len(blocks) // 2:]
    if any(b[3] for b in half):
        return None
    med = np.array([float(np.median(y[b[0]])) for b in half])
    inc = np.diff(med)
    if not (np.all(inc > 0) or np.all(inc < 0)):
        return None
    if abs(inc[-1]) >= 0.4 * abs(inc[0]):
        # diverging: away from 0, with the sign of the values (decreasing positive values
        # cannot reach -inf without crossing 0)
        grows = (np.all(med > 0) and inc[-1] > 0) or (np.all(med < 0) and inc[-1] < 0)
        return _Side(math.copysign(math.inf, inc[-1]), True, 0.0) if grows else None
    idx = np.concatenate([b[0] for b in half])
    geo = idx[np.isclose(np.log2(t[idx] / t0) % 1.0, 0.0, atol=1e-9)]
    if geo.size < 3:
        return None
    v, e = _neville(1.0 / np.log(np.e * t0 / t[geo]), y[geo], depth=4)
    return _Side(v, True, max(e, abs(v - float(y[idx[-1]])) * 1e-2))


