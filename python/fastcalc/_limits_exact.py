"""One side of a limit of an ``Expr`` from samples in verified arbitrary precision (mpmath).

Why this works where doubles fail: every sample is evaluated at two precisions and kept only when
they agree (round-off and cancellation cannot pass for a value, and a tail that is constant
only because x + 1 rounds to x never appears); mpmath's exponent range has no overflow short of
exp(1e300), so the samples reach t = 10^-272 (x = 10^272 at infinity) and a limit that
converges like 1/x is read off directly, one that converges like 1/log x extrapolated.

Samples: levels t = theta * 10^-k with k growing geometrically (ratio sqrt 2: a power of log t
changes by a constant factor per level), three irrational-looking thetas per level so that
nothing periodic aliases (10^k/theta has a pseudo-random fractional part). x = c + s*t, or
x = +-1/t at infinity.

Verdicts on the last levels: **finite** when the changes shrink fast (the last change bounds the
error) or geometrically (Aitken's extrapolation, agreeing across thetas); **+-inf** when one
sign and growth that does not slow down; **does not exist** only when the expression holds an
oscillating or jumping function (sin, tan, floor, ...) of a non-constant argument *and* the
samples keep scattering as much at the end as at the start; otherwise **undetermined**.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

from . import _mpeval
from ._mpeval import Lost, intended, mpmath

_THETAS = (0.6180339887498949, 0.7071067811865476, 0.8862269254527580)
# an oscillating expression gets fifteen: enough for robust quantiles of its scatter
_THETAS_OSC = _THETAS + tuple(0.5 + 0.5 * ((j * 0.6180339887498949) % 1.0) for j in range(4, 16))
_LEVELS = tuple(1.5 * math.sqrt(2.0) ** j for j in range(16))  # decades: 1.5 ... 272
_TAIL = 8             # levels judged
_MIN_TAIL = 5         # fewer usable levels than this: undetermined
_MAX_DPS = 2400       # precision cap (digits)


@dataclass
class Side:
    verdict: str                 # "finite", "+inf", "-inf", "does not exist", "undetermined"
    value: float = math.nan
    error: float = math.nan
    reason: Optional[str] = None


def _agree(a, b) -> bool:
    if mpmath.isnan(a) or mpmath.isnan(b):
        return mpmath.isnan(a) and mpmath.isnan(b)
    if mpmath.isinf(a) or mpmath.isinf(b):
        return a == b
    return a == b or abs(a - b) <= mpmath.mpf(10) ** -20 * abs(b)


class Sampler:
    """f's verified values at points near c from one side (s = +1 right, -1 left)."""

    def __init__(self, f: Callable, c: float, s: int, deadline: float):
        self.f, self.c, self.s, self.deadline = f, c, s, deadline
        self.lost = 0

    def point(self, k: float, theta: float):
        c = self.c
        mag = 0 if math.isinf(c) or c == 0 else max(0, int(math.log10(abs(c))) + 1)
        dps = 30 + int(k) + mag
        with mpmath.workdps(dps):
            t = mpmath.mpf(theta) * mpmath.power(10, -mpmath.mpf(k))
            x = (1 / t if c > 0 else -1 / t) if math.isinf(c) else intended(c) + self.s * t
        return self.value(x, dps)

    def value(self, x, dps: int):
        """f(x) where two precisions agree; None when no precision up to the cap does."""
        prev = None
        while dps <= _MAX_DPS:
            if time.monotonic() > self.deadline:
                raise TimeoutError
            try:
                v = self.f(x, dps)
            except Lost as e:
                if "precision" not in str(e):
                    break
                v = None
            if v is not None and prev is not None and _agree(prev, v):
                return v
            prev, dps = v, 2 * dps + 10
        self.lost += 1
        return None


def one_side(f: Callable, c: float, s: int, oscillating: bool, budget: float) -> Side:
    """The verdict from side s for f(x, dps) (an ``_mpeval.evaluator``)."""
    sampler = Sampler(f, c, s, time.monotonic() + budget)
    levels: List[Sequence] = []
    thetas = _THETAS_OSC if oscillating else _THETAS
    try:
        for k in _LEVELS:
            vals = [sampler.point(k, th) for th in thetas]
            if any(v is None for v in vals):
                if len(levels) >= _MIN_TAIL + 3 and all(v is None for v in vals):
                    break  # lost for good (overflow, precision cap): judge what we have
                levels.append(None)
                continue
            levels.append((k, vals))
    except TimeoutError:
        if sum(v is not None for v in levels) < _MIN_TAIL + 3:
            return Side("undetermined", reason="f is too costly to evaluate precisely enough near c")
    usable = [v for v in levels if v is not None]
    if len(usable) < _MIN_TAIL:
        return Side("undetermined", reason="f cannot be evaluated faithfully close enough to c "
                                           "(overflow or cancellation beyond the precision cap)")
    return judge([k for k, _ in usable], [v for _, v in usable], oscillating)


def judge(ks: Sequence[float], tail: Sequence[Sequence], oscillating: bool) -> Side:
    """Verdict on the levels (decades ``ks``, each the values at the thetas), nearest c last:
    the last ``_TAIL`` levels for values and growth, all of them for scatter."""
    allk, every = ks, tail
    ks, tail = ks[-_TAIL:], tail[-_TAIL:]
    flat = [v for lv in tail for v in lv]
    nan = [mpmath.isnan(v) for v in flat]
    if all(nan):
        return Side("does not exist", reason="undefined")
    if any(nan):
        if oscillating:
            return Side("does not exist", reason="oscillates")
        return Side("undetermined", reason="f is undefined at some points arbitrarily close to c")
    if all(mpmath.isinf(v) for v in flat):
        if all(v > 0 for v in flat):
            return Side("+inf", math.inf, 0.0)
        if all(v < 0 for v in flat):
            return Side("-inf", -math.inf, 0.0)
    if not any(mpmath.isinf(v) for v in flat):
        r = _finite(tail)
        if r is not None:
            return r
        r = _diverges(tail)
        if r is not None:
            return r
    if oscillating and _keeps_scattering(allk, every):
        mags = [max(abs(v) for v in lv) for lv in tail]
        grows = any(mpmath.isinf(v) for v in flat) or mags[-1] > 1e3 * max(mags[0], 1)
        return Side("does not exist", reason="unbounded" if grows else "oscillates")
    return Side("undetermined", reason="the samples neither settle nor diverge")


def _changes(tail):
    """Per level: the largest change from the level before (per theta) and spread in the level;
    0 where it is below the samples' verified precision (1e-20 relative)."""
    out = []
    for i in range(1, len(tail)):
        d = max(abs(a - b) for a, b in zip(tail[i], tail[i - 1]))
        w = max(tail[i]) - min(tail[i])
        e = max(d, w)
        out.append(mpmath.mpf(0) if e <= mpmath.mpf(10) ** -20 * max(abs(v) for v in tail[i]) else e)
    return out


def _as_float(v) -> float:
    try:
        return float(v)
    except OverflowError:
        return math.copysign(math.inf, v)


def _finite(tail) -> Optional[Side]:
    e = _changes(tail)
    last = tail[-1][0]
    if e[-1] == 0:  # exactly the same values at the last two levels, for every theta
        if all(x == 0 for x in e[-3:]):
            return Side("finite", _as_float(last), 0.0)
        return None
    rho = [e[i] / e[i - 1] if e[i - 1] else mpmath.inf for i in range(1, len(e))]
    if all(r <= 0.3 for r in rho[-3:]):
        # fast: the remaining error is below the last change
        err = _as_float(e[-1])
        value = 0.0 if abs(last) <= e[-1] else _as_float(last)
        if math.isinf(value):
            return None
        return Side("finite", value, err)
    r3 = [float(r) for r in rho[-4:]]
    if all(0.3 < r <= 0.85 for r in r3) and max(r3) <= 1.35 * min(r3):
        # geometric: Aitken's delta-squared on each theta, at the last two levels
        est = []
        for j in range(len(tail[0])):
            a = [lv[j] for lv in tail]
            for n in (len(a) - 1, len(a) - 2):
                d2 = a[n] - 2 * a[n - 1] + a[n - 2]
                if d2 == 0:
                    return None
                est.append(a[n] - (a[n] - a[n - 1]) ** 2 / d2)
        v = est[0]
        err = max(abs(x - v) for x in est) * 2 + abs(v) * 1e-15
        if err > 1e-6 * max(1, abs(v)):
            return None
        value = 0.0 if abs(v) <= err else _as_float(v)
        return Side("finite", value, _as_float(err))
    return None


def _diverges(tail) -> Optional[Side]:
    flat = [v for lv in tail for v in lv]
    if all(v > 0 for v in flat):
        sign = 1
    elif all(v < 0 for v in flat):
        sign = -1
    else:
        return None
    lo = [min(abs(v) for v in lv) for lv in tail]
    hi = [max(abs(v) for v in lv) for lv in tail]
    if not all(lo[i] > hi[i - 1] for i in range(len(tail) - 4, len(tail))):
        return None  # not growing monotonically, level after level
    a = [abs(lv[0]) for lv in tail]
    inc = [a[i] - a[i - 1] for i in range(1, len(a))]
    if any(d <= 0 for d in inc[-4:]):
        return None
    ratios = [inc[i] / inc[i - 1] for i in range(len(inc) - 3, len(inc))]
    if all(r >= 0.97 for r in ratios):  # a power of log t at least: increments do not shrink
        return Side("+inf" if sign > 0 else "-inf", sign * math.inf, 0.0)
    return None


def _keeps_scattering(ks, tail) -> bool:
    """The samples scatter about as much near c as further out: the interquartile range of the values
    in the later half of the levels is at least half of that in the earlier half (quantiles: robust
    to tan's poles; pooled over levels and thetas: robust to the pseudo-random phases)."""
    half = len(tail) // 2
    if any(mpmath.isinf(v) for lv in tail[half:] for v in lv):
        return True

    def width(levels):
        vs = sorted(v for lv in levels for v in lv)
        n = len(vs)
        return vs[(3 * n) // 4] - vs[n // 4]

    early, late = width(tail[:half]), width(tail[half:])
    mags = sorted(abs(v) for lv in tail[half:] for v in lv)
    return late > 1e-9 * max(1, mags[len(mags) // 2]) and late >= 0.5 * early


def limit_side(expr, var: str, c: float, s: int, budget: float) -> Side:
    """One side for an Expr of one variable (``var``; None for a constant expression)."""
    root = expr.node
    f = _mpeval.evaluator(root, var or "_")
    oscillating = bool(var) and bool(_mpeval.oscillators(root, var))
    return one_side(f, c, s, oscillating, budget)


__all__ = ["Side", "judge", "limit_side", "one_side"]
