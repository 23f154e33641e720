"""Score fastcalc.limit against mpmath.limit on a set of textbook limits.

A case is (text, c, side, expected): ``expected`` a float (``inf``/``-inf`` allowed) or the
reason a limit does not exist. ``text`` is math in Python syntax (``fastcalc.expr`` syntax plus
``floor``). A verdict is correct when existence matches and the value is within ``rtol``.
Run ``python benchmarks/limits_score.py`` to print both scores.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np

inf, pi, e = math.inf, math.pi, math.e
DISAGREE, OSC, UNB, UNDEF = "left and right disagree", "oscillates", "unbounded", "undefined"

CASES = [
    # the course
    ("2*x", 3.0, "both", 6.0), ("1/x", 0.0, "+", inf), ("1/x", 0.0, "-", -inf),
    ("1/x", 0.0, "both", DISAGREE), ("sin(x)", inf, "both", OSC), ("sin(x)", 1.0, "both", math.sin(1.0)),
    # the textbook set
    ("sin(x)/x", 0.0, "both", 1.0), ("(1 - cos(x))/x**2", 0.0, "both", 0.5),
    ("(1 + 1/x)**x", inf, "both", e), ("log(x)/x", inf, "both", 0.0),
    ("x*sin(1/x)", 0.0, "both", 0.0), ("sin(1/x)", 0.0, "both", OSC),
    ("abs(x)/x", 0.0, "both", DISAGREE), ("abs(x)/x", 0.0, "+", 1.0), ("abs(x)/x", 0.0, "-", -1.0),
    ("1/x**2", 0.0, "both", inf),
    # more classics
    ("(exp(x) - 1)/x", 0.0, "both", 1.0), ("x**x", 0.0, "+", 1.0), ("(1 + x)**(1/x)", 0.0, "both", e),
    ("(sqrt(1 + x) - 1)/x", 0.0, "both", 0.5), ("tan(x)/x", 0.0, "both", 1.0),
    ("x/exp(x)", inf, "both", 0.0), ("exp(-1/x**2)", 0.0, "both", 0.0),
    ("atan(x)", inf, "both", pi / 2), ("atan(x)", -inf, "both", -pi / 2),
    ("floor(x)", 1.0, "both", DISAGREE), ("floor(x)", 1.0, "-", 0.0), ("floor(x)", 1.5, "both", 1.0),
    ("(x**2 - 9)/(x - 3)", 3.0, "both", 6.0), ("(x**3 - 8)/(x - 2)", 2.0, "both", 12.0),
    ("tan(x)", pi / 2, "-", inf), ("tan(x)", pi / 2, "both", DISAGREE),
    ("log(x)", 0.0, "+", -inf), ("log(x)", 0.0, "-", UNDEF), ("sqrt(x)", 0.0, "-", UNDEF),
    ("x*log(x)", 0.0, "+", 0.0), ("(tan(x) - sin(x))/x**3", 0.0, "both", 0.5),
    ("(x - sin(x))/x**3", 0.0, "both", 1 / 6), ("1/x**2 - 1/sin(x)**2", 0.0, "both", -1 / 3),
    ("sqrt(x**2 + x) - x", inf, "both", 0.5), ("exp(1/x)", 0.0, "+", inf), ("exp(1/x)", 0.0, "-", 0.0),
    ("sin(x)/x", inf, "both", 0.0), ("x*sin(x)", inf, "both", UNB), ("cos(x)**(1/x**2)", 0.0, "both", math.exp(-0.5)),
    ("sin(3*x)/sin(5*x)", 0.0, "both", 0.6), ("(1 - cos(x))/x", 0.0, "both", 0.0),
    ("(2**x - 1)/x", 0.0, "both", math.log(2)), ("x**(1/x)", inf, "both", 1.0), ("log(1 + x)/x", 0.0, "both", 1.0),
    ("(x**2 + 3*x)/(2*x**2 - 1)", inf, "both", 0.5), ("1/(x - 1)", 1.0, "both", DISAGREE),
    ("x*exp(x)", -inf, "both", 0.0), ("(exp(x) - exp(-x))/x", 0.0, "both", 2.0), ("tanh(x)", -inf, "both", -1.0),
    ("(x**2 - 1)/abs(x - 1)", 1.0, "both", DISAGREE), ("exp(x)", inf, "both", inf), ("x - log(x)", inf, "both", inf),
    ("log(x)**2/x", inf, "both", 0.0), ("sin(x)/(x - pi)", pi, "both", -1.0), ("sin(1/x)/x", 0.0, "both", UNB),
]

_NP = {"sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
       "atan": np.arctan, "tanh": np.tanh, "abs": np.abs, "floor": np.floor, "pi": np.pi, "e": np.e}


def as_callable(text: str) -> Callable:
    """The case's text as a NumPy function of x (our own constant texts only)."""
    return eval("lambda x: " + text, dict(_NP))  # noqa: S307


def correct(exists: bool, value: float, expected, rtol: float = 1e-8) -> bool:
    if isinstance(expected, str):
        return not exists
    if not exists:
        return False
    if math.isinf(expected):
        return value == expected
    return abs(value - expected) <= rtol * max(1.0, abs(expected))


def run_fastcalc(text: str, c: float, side: str, kind: str = "callable"):
    import fastcalc as fc
    f = fc.expr(text) if kind == "expr" else as_callable(text)
    r = fc.limit(f, c, side)
    return r.exists, r.value


def run_mpmath(text: str, c: float, side: str):
    """mpmath.limit from each requested side (limits_set's runner): (exists, value)."""
    from limits_set import run_mpmath as run
    verdict, value = run(text, c, side)
    return verdict != "does not exist", value


def score(cases=CASES, kind: str = "callable") -> dict:
    """Correct answers of fastcalc and of mpmath on ``cases``; the failures by name."""
    out = {"fastcalc": 0, "mpmath": 0, "total": len(cases), "fastcalc_wrong": [], "mpmath_wrong": []}
    for text, c, side, expected in cases:
        for who, run in (("fastcalc", lambda: run_fastcalc(text, c, side, kind)),
                         ("mpmath", lambda: run_mpmath(text, c, side))):
            try:
                ok = correct(*run(), expected)
            except Exception as exc:  # mpmath's failures count as wrong answers
                if who == "fastcalc":
                    raise
                ok = False
            out[who] += ok
            if not ok:
                out[who + "_wrong"].append(f"{text} at {c} ({side})")
    return out


if __name__ == "__main__":
    s = score()
    print(f"callables: fastcalc.limit {s['fastcalc']}/{s['total']}   mpmath.limit {s['mpmath']}/{s['total']}")
    print("fastcalc wrong:", s["fastcalc_wrong"])
    print("mpmath wrong:", s["mpmath_wrong"])
    s = score([c for c in CASES if "floor" not in c[0]], kind="expr")
    print(f"Expr:      fastcalc.limit {s['fastcalc']}/{s['total']}   mpmath.limit {s['mpmath']}/{s['total']}")
