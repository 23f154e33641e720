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

Where the precision cap (or the exponent range) stops the levels early, twelve dense levels
up to the last reachable one are judged the same way, then extrapolated as a power series in t;
at 0 and at infinity, levels at x = e^(10^k) catch iterated-logarithm growth.

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
from .expressions import nodes as N
from ._mpeval import Lost, intended, mpmath

_THETAS = (0.6180339887498949, 0.7071067811865476, 0.8862269254527580)
# an oscillating expression gets fifteen: enough for robust quantiles of its scatter
_THETAS_OSC = _THETAS + tuple(0.5 + 0.5 * ((j * 0.6180339887498949) % 1.0) for j in range(4, 16))
_LEVELS = tuple(1.5 * math.sqrt(2.0) ** j for j in range(16))  # decades: 1.5 ... 272
_ITERATED = tuple(1.5 * math.sqrt(2.0) ** j for j in range(10))  # x = e^(10^k), k <= 24
_TAIL = 8             # levels judged
_MIN_TAIL = 5         # fewer usable levels than this: undetermined
_MAX_DPS = 3000       # precision cap (digits)


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

    def __init__(self, f: Callable, c: float, s: int, deadline: float, iterated: bool = False):
        self.f, self.c, self.s, self.deadline, self.iterated = f, c, s, deadline, iterated

    def point(self, k: float, theta: float):
        """f at t = theta * 10^-k from c (``iterated``: t = exp(-theta * 10^k), reaching
        x = e^(10^k) at infinity, for c = 0 or +-inf only)."""
        c = self.c
        mag = 0 if math.isinf(c) or c == 0 else max(0, int(math.log10(abs(c))) + 1)
        dps = 30 + mag + (0 if self.iterated else int(k))
        m = _mpeval.context()  # this thread's: precision stays in the thread
        with m.workdps(dps):
            if self.iterated:
                t = m.exp(-m.mpf(theta) * m.power(10, m.mpf(k)))
            else:
                t = m.mpf(theta) * m.power(10, -m.mpf(k))
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
                if not e.precision:
                    break
                v = None
            if v is not None and prev is not None and _agree(prev, v):
                return v
            prev, dps = v, 2 * dps + 10
        return None


def one_side(f: Callable, c: float, s: int, oscillating: bool, budget: float) -> Side:
    """The verdict from side s for f(x, dps) (an ``_mpeval.evaluator``)."""
    sampler = Sampler(f, c, s, time.monotonic() + budget)
    thetas = _THETAS_OSC if oscillating else _THETAS
    try:
        levels = _sample(sampler, _LEVELS, thetas, stop_when_lost=True)
    except TimeoutError:
        return Side("undetermined", reason="f is too costly to evaluate precisely enough near c")
    usable = [lv for lv in levels if lv[1] is not None]
    if len(usable) >= _MIN_TAIL:
        r = judge([k for k, _ in usable], [v for _, v in usable], oscillating)
        if r.verdict != "undetermined" or oscillating:
            return r
        r2 = _log_extrapolation([k for k, _ in usable[-_TAIL:]], [v for _, v in usable[-_TAIL:]], thetas)
        if r2 is None and (math.isinf(c) or c == 0):
            r2 = _iterated(f, c, s, sampler.deadline, thetas)
        if r2 is not None:
            return r2
        if levels[-1][1] is not None:
            return r  # every level was reachable: nothing more to try
    if not usable:
        return Side("undetermined", reason="f cannot be evaluated faithfully close enough to c "
                                           "(overflow or cancellation beyond the precision cap)")
    # the precision cap stopped the levels at k*: sample densely up to it and extrapolate there
    kstar = usable[-1][0]
    ks = [kstar * (0.35 + 0.65 * j / 11) for j in range(12)]
    try:
        dense = [lv for lv in _sample(sampler, ks, thetas, stop_when_lost=False) if lv[1] is not None]
    except TimeoutError:
        dense = []
    if len(dense) >= 8:
        r = judge([k for k, _ in dense], [v for _, v in dense], oscillating)
        if r.verdict != "undetermined" or oscillating:
            return r
        r = _t_extrapolation([k for k, _ in dense[-8:]], [v for _, v in dense[-8:]], thetas)
        if r is not None:
            return r
    return Side("undetermined", reason="f cannot be evaluated faithfully close enough to c "
                                       "(overflow or cancellation beyond the precision cap), and the "
                                       "reachable samples do not extrapolate consistently")


def _iterated(f: Callable, c: float, s: int, deadline: float, thetas) -> Optional[Side]:
    """Iterated-logarithm growth (log(log(x))/log(x)): levels at x = e^(10^k) (t = e^-(10^k)
    at 0), where a power of log x changes as much per level as a power of x did before. Only a
    decided verdict counts; expressions that need x + 1 resolved are lost here (the precision
    check), and so give nothing."""
    it = Sampler(f, c, s, deadline, iterated=True)
    try:
        far = [lv for lv in _sample(it, _ITERATED, thetas, stop_when_lost=True) if lv[1] is not None]
    except TimeoutError:
        return None
    if len(far) < _MIN_TAIL:
        return None
    r = judge([k for k, _ in far], [v for _, v in far], False)
    return r if r.verdict != "undetermined" else None


def _sample(sampler: Sampler, ks, thetas, stop_when_lost: bool):
    """[(k, values or None)] for the levels ks; None where a theta's point was lost."""
    out = []
    for k in ks:
        vals = [sampler.point(k, th) for th in thetas]
        if any(v is None for v in vals):
            gone = all(v is None for v in vals)
            if stop_when_lost and gone and out and out[-1][1] is None and out[-1][2]:
                out.append((k, None, gone))
                break  # two levels lost outright: the cap is behind us (precision only grows with k)
            out.append((k, None, gone))
            continue
        out.append((k, vals, False))
    return [(k, v) for k, v, _ in out]


def _neville0(us, vs):
    """The interpolating polynomial through (us, vs) at u = 0 (Neville's scheme)."""
    p = list(vs)
    n = len(us)
    for m in range(1, n):
        for i in range(n - m):
            p[i] = (us[i + m] * p[i] - us[i] * p[i + 1]) / (us[i + m] - us[i])
    return p[0]


def _consistent(points_by_theta) -> Optional[Side]:
    """Polynomial extrapolation to 0 per theta, with all points and with the farthest one or two
    dropped: a finite verdict only when every estimate agrees to 1e-10 relative."""
    est = []
    for us, vs in points_by_theta:
        if any(not mpmath.isfinite(v) for v in vs):
            return None
        for drop in (0, 1, 2):
            est.append(_neville0(us[drop:], vs[drop:]))
    v = est[0]
    err = max(abs(x - v) for x in est)
    if err > 1e-10 * max(1, abs(v)):
        return None
    value = 0.0 if abs(v) <= err else _as_float(v)
    if math.isinf(value):
        return None
    return Side("finite", value, _as_float(2 * err + abs(v) * 1e-16))


def _log_extrapolation(ks, tail, thetas) -> Optional[Side]:
    """A tail converging like a power series in u = 1/log(1/t) (x log x against log x, ...):
    Neville in u, only when each theta's sequence is monotone."""
    if len(tail) < 6:
        return None
    ln10 = math.log(10.0)
    by = []
    for j, th in enumerate(thetas):
        vs = [lv[j] for lv in tail[-6:]]
        d = [b - a for a, b in zip(vs, vs[1:])]
        if not (all(x > 0 for x in d) or all(x < 0 for x in d)):
            return None
        us = [mpmath.mpf(1) / (k * ln10 - math.log(th)) for k in ks[-6:]]
        by.append((us, vs))
    return _consistent(by)


def _t_extrapolation(ks, tail, thetas) -> Optional[Side]:
    """Samples in the reachable range extrapolated to t = 0 as a power series in t (Richardson):
    the last resort when the precision cap stops the levels early."""
    by = []
    for j, th in enumerate(thetas):
        us = [mpmath.mpf(th) * mpmath.power(10, -mpmath.mpf(k)) for k in ks]
        by.append((us, [lv[j] for lv in tail]))
    return _consistent(by)


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
    for j in range(len(tail[0])):
        a = [abs(lv[j]) for lv in tail[-5:]]
        if not all(a[i] > a[i - 1] for i in range(1, len(a))):
            return None  # not growing monotonically, level after level, at every theta
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
    """One side for an Expr of one variable (``var``; None for a constant expression).

    Numbers that stand for nothing recognizable (``_mpeval.intended``: a rounded value such as
    ``math.sqrt(2*math.pi)``) are perturbed in their last bits: a limit that changes with them
    (``erf(x) - 1.1283791670955126*x`` over ``x**3``) depends on digits nobody wrote, and is
    undetermined."""
    root = merge_exponentials(expr.node)
    name = var or "_"
    oscillating = bool(var) and bool(_mpeval.oscillators(root, name))
    start = time.monotonic()
    r = one_side(_mpeval.evaluator(root, name), c, s, oscillating, budget)
    rounded = _mpeval.inexact_numbers(root) if var else []
    if not rounded or r.verdict == "undetermined":
        return r
    for scale in (2.0 ** -46, -(2.0 ** -46)):
        left = max(1.0, budget - (time.monotonic() - start))
        r2 = one_side(_mpeval.evaluator(root, name, scale), c, s, oscillating, left)
        if not _same(r, r2):
            shown = ", ".join(repr(v) for v in rounded[:3])
            return Side("undetermined", reason=f"the limit depends on the last digits of {shown} "
                                               f"(a rounded constant: write it exactly, e.g. as pi or sqrt(2))")
    return r


def merge_exponentials(root: N.Node) -> N.Node:
    """exp(a) * exp(b)**k -> exp(a + k*b) in every product (the same function, domain included):
    a quotient of towers, exp(exp(x))/exp(exp(x - 1)), is then one exponential of a difference
    that the samples can reach, instead of inf/inf beyond the exponent range."""
    def node(n, args):
        if n.kind != N.MUL:
            return None
        exps, rest = [], []
        for a in args:
            if a.kind == N.CALL and a.value == "exp":
                exps.append(a.args[0])
            elif (a.kind == N.POW and a.args[0].kind == N.CALL and a.args[0].value == "exp"
                  and a.args[1].kind == N.NUM):
                exps.append(N.mul(a.args[1], a.args[0].args[0]))
            else:
                rest.append(a)
        if len(exps) < 2:
            return None
        return N.mul(*rest, N.call("exp", [N.add(*exps)]))
    return N.rebuild_all([root], node=node)[0]


def _same(a: Side, b: Side) -> bool:
    if a.verdict != b.verdict:
        return False
    if a.verdict != "finite":
        return a.reason == b.reason or a.verdict != "does not exist"
    return abs(a.value - b.value) <= 1e-6 * max(1.0, abs(a.value)) + 4 * (a.error + b.error)


__all__ = ["Side", "judge", "limit_side", "one_side"]
