"""The scored set of limits: textbook and computer-algebra test-suite limits, scored for
fastcalc (as an Expr, as a NumPy callable, and as a black box that cannot be traced),
``mpmath.limit`` and ``sympy.limit`` side by side.

A case is ``(text, c, side, expected)``: ``expected`` a float (``inf``/``-inf`` allowed) or the
reason a limit does not exist. The old textbook set (``limits_score.CASES``, 61 cases) comes
first; then limits from sympy's ``test_limits.py``/``test_gruntz.py`` and the classic
problem books (Demidovich, Anti-Demidovich), including every example of the limits issue; last a
holdout of 40 written after the engine was tuned on the rest (first scored 39/40 as an Expr, the
miss, sin(exp(x)) at infinity, fixed since). Every expected value agrees with sympy.limit where
sympy decides (sympy differs only on real-domain questions, e.g. log(x) at 0-, and on a few
limits it gets wrong or cannot do).

A verdict is **right** when it matches (a value within ``rtol`` of the expected one, the same
infinity, or "does not exist" for a limit that does not), **undetermined** when the method
abstains, and **wrong** otherwise: a wrong value, or a wrong existence verdict.

Run ``python benchmarks/limits_set.py`` to print the scores (``--quick``: the first 30 cases).
"""
from __future__ import annotations

import math
import signal
import statistics
import sys
import time
from typing import Callable, Dict, List

import numpy as np

from limits_score import CASES as TEXTBOOK

inf, pi, e = math.inf, math.pi, math.e
DISAGREE, OSC, UNB, UNDEF = "left and right disagree", "oscillates", "unbounded", "undefined"
sqrt = math.sqrt

NEW = [
    # the limits issue's examples
    ("tan(x)", inf, "both", OSC), ("sec(x)", inf, "both", OSC), ("cos(x) - tan(x)**2", inf, "both", OSC),
    ("sin(x) - sin(x + 1)", inf, "both", OSC), ("cos(x) - cos(x + 1) + 1", inf, "both", OSC),
    ("floor(x + 1/2) - floor(x)", inf, "both", OSC), ("frac(1/x)", 0.0, "+", OSC),
    ("(2 + 6*x)**x/(6*x)**x", inf, "both", math.exp(1 / 3)), ("(1 + 1/x)**(e*x)", inf, "both", e**e),
    ("(1 + x**log(3))**(1/x)", 0.0, "+", 1.0), ("x/log(log(x*exp(x)))", inf, "both", inf),
    ("exp(x)*(exp(1/x - exp(-x)) - exp(1/x))", inf, "both", -1.0),
    ("exp(x)*(exp(1/x + exp(-x) + exp(-x**2)) - exp(1/x - exp(-exp(x))))", inf, "both", 1.0),
    ("(exp(x*exp(-x)/(exp(-x) + exp(-2*x**2/(x + 1)))) - exp(x))/x", inf, "both", -e**2),
    # sympy test_limits / test_gruntz
    ("(3**x + 5**x)**(1/x)", inf, "both", 5.0), ("((3**x + 5**x)/2)**(1/x)", 0.0, "both", sqrt(15)),
    ("(5**(1/x) + 3**(1/x))**x", 0.0, "+", 5.0), ("(5**(1/x) + 3**(1/x))**x", inf, "both", inf),
    ("((x + 1)/(2*x + 1))**(x**2)", inf, "both", 0.0), ("x*(atan(x) - pi/2)", inf, "both", -1.0),
    ("x**2*(exp(1/x) - 1 - 1/x)", inf, "both", 0.5), ("(x**(1/x) - 1)*x/log(x)", inf, "both", 1.0),
    ("gamma(x)/gamma(x + 1/2)*sqrt(x)", inf, "both", 1.0),
    ("factorial(x)*exp(x)/(x**x*sqrt(2*pi*x))", inf, "both", 1.0),
    ("(1 + 1/x)**(x**2)*exp(-x)", inf, "both", math.exp(-0.5)), ("x - x**2*log(1 + 1/x)", inf, "both", 0.5),
    ("exp(x)*sin(exp(-x))", inf, "both", 1.0), ("x**(1/log(x))", inf, "both", e),
    ("log(x)**(1/x)", inf, "both", 1.0), ("exp(x)/x**100", inf, "both", inf), ("x**100/exp(x)", inf, "both", 0.0),
    ("log(x)**10/x", inf, "both", 0.0), ("exp(sqrt(log(x)))/x", inf, "both", 0.0),
    ("log(log(x))/log(x)", inf, "both", 0.0), ("2**x/x**1000", inf, "both", inf),
    ("log(1 + exp(x))/x", inf, "both", 1.0), ("log(1 + exp(x)) - x", inf, "both", 0.0),
    ("log(x**2 + exp(x))/x", inf, "both", 1.0), ("(x**2 + 1)**(1/log(x))", inf, "both", e**2),
    ("log(x**2 + 1)/log(x)", inf, "both", 2.0), ("exp(exp(x))/exp(exp(x - 1))", inf, "both", inf),
    ("x**3*exp(-x**2)", inf, "both", 0.0), ("x**3*exp(-x**2)", -inf, "both", 0.0),
    # growth and cancellation at infinity
    ("(1 - 1/x)**x", inf, "both", 1 / e), ("(1 + 2/x)**x", inf, "both", e**2), ("(x/(x + 1))**x", inf, "both", 1 / e),
    ("x*sin(1/x)", inf, "both", 1.0), ("x**2*(1 - cos(1/x))", inf, "both", 0.5),
    ("sqrt(x + sqrt(x)) - sqrt(x)", inf, "both", 0.5), ("log(x + 1) - log(x)", inf, "both", 0.0),
    ("x - sqrt(x**2 - 1)", inf, "both", 0.0), ("(x + 1)**(1/x)", inf, "both", 1.0),
    ("x*(log(x + 1) - log(x))", inf, "both", 1.0), ("x*(exp(1/x) - 1)", inf, "both", 1.0),
    ("sqrt(log(x + 1)) - sqrt(log(x))", inf, "both", 0.0), ("exp(1/x)*(x - 1) - x", inf, "both", 0.0),
    ("x**2*(log(1 + 1/x) - 1/x)", inf, "both", -0.5), ("(x + exp(x))**(1/x)", inf, "both", e),
    ("x**2/(x + 1) - x", inf, "both", -1.0), ("x*(sqrt(x**2 + 1) - x)", inf, "both", 0.5),
    ("sqrt(x**2 + 2*x) - x", inf, "both", 1.0), ("sqrt(x**2 + 2*x) + x", -inf, "both", -1.0),
    ("(x**3 - 2*x**2 + 1)/(3*x**3 + x)", inf, "both", 1 / 3), ("(2*x**2 + 1)/(x + 1)", -inf, "both", -inf),
    ("sqrt(x**2)/x", -inf, "both", -1.0), ("log(x)**2/sqrt(x)", inf, "both", 0.0),
    # oscillation at infinity
    ("cos(x)/x", inf, "both", 0.0), ("(sin(x) + 2)*x", inf, "both", inf), ("x + sin(x)", inf, "both", inf),
    ("exp(-x)*sin(x)", inf, "both", 0.0), ("sin(x)**2 + cos(x)**2", inf, "both", 1.0),
    ("floor(x)/x", inf, "both", 1.0), ("x - floor(x)", inf, "both", OSC), ("sign(sin(x))", inf, "both", OSC),
    ("cos(x)", -inf, "both", OSC), ("sin(x**2)", inf, "both", OSC), ("exp(x)*cos(x)", inf, "both", UNB),
    ("sin(x)/(2 + cos(x))", inf, "both", OSC), ("sin(sqrt(x))", inf, "both", OSC),
    # jumps and one-sided limits at finite points
    ("ceil(x)", 2.0, "both", DISAGREE), ("ceil(x)", 2.0, "+", 3.0), ("ceil(x)", 2.0, "-", 2.0),
    ("sign(x)", 0.0, "both", DISAGREE), ("sign(x)", 0.0, "+", 1.0), ("frac(x)", 1.0, "-", 1.0),
    ("frac(x)", 1.0, "+", 0.0), ("x*floor(1/x)", 0.0, "+", 1.0), ("floor(x)", -0.5, "both", -1.0),
    ("floor(sin(x))", 0.0, "both", DISAGREE), ("sign(x)*x", 0.0, "both", 0.0),
    ("ceil(x) - floor(x)", 0.5, "both", 1.0), ("ceil(x) - floor(x)", 1.0, "both", 1.0),
    ("x**2*floor(1/x)", 0.0, "+", 0.0), ("frac(x)*x", 2.0, "both", DISAGREE), ("cos(1/x)", 0.0, "both", OSC),
    ("x*cos(1/x)", 0.0, "both", 0.0), ("sin(x)*sin(1/x)", 0.0, "both", 0.0),
    # the new functions
    ("erf(x)", inf, "both", 1.0), ("erfc(x)*exp(x**2)*x", inf, "both", 1 / sqrt(pi)),
    ("(erf(x) - 2*x/sqrt(pi))/x**3", 0.0, "both", -2 / (3 * sqrt(pi))), ("gamma(x)*x", 0.0, "both", 1.0),
    ("gamma(x)", 0.0, "+", inf), ("gamma(x)", 0.0, "both", DISAGREE),
    ("lgamma(x)/(x*log(x))", inf, "both", 1.0), ("factorial(x)**(1/x)/x", inf, "both", 1 / e),
    ("binomial(2*x, x)**(1/x)", inf, "both", 4.0), ("digamma(x) - log(x)", inf, "both", 0.0),
    ("cbrt(x**3 + x**2) - x", inf, "both", 1 / 3), ("(cbrt(1 + x) - 1)/x", 0.0, "both", 1 / 3),
    ("cbrt(x)/x", 0.0, "both", inf), ("atan2(x, 1)/x", 0.0, "both", 1.0), ("atan2(1, x)", 0.0, "both", pi / 2),
    ("atan2(x, -1)", 0.0, "both", DISAGREE), ("asinh(x) - log(x)", inf, "both", math.log(2)),
    ("acosh(x) - log(x)", inf, "both", math.log(2)), ("atanh(x)", 1.0, "-", inf), ("atanh(x)", 1.0, "+", UNDEF),
    ("atanh(x)/x", 0.0, "both", 1.0), ("coth(x) - 1/x", 0.0, "both", 0.0), ("x*coth(x)", 0.0, "both", 1.0),
    ("coth(x)", inf, "both", 1.0), ("sech(x)", inf, "both", 0.0), ("csch(x)*x", 0.0, "both", 1.0),
    ("cot(x) - 1/x", 0.0, "both", 0.0), ("x*cot(x)", 0.0, "both", 1.0), ("1/x**2 - cot(x)**2", 0.0, "both", 2 / 3),
    ("csc(x) - 1/x", 0.0, "both", 0.0), ("(sec(x) - 1)/x**2", 0.0, "both", 0.5), ("acot(x)*x", inf, "both", 1.0),
    ("acot(x)", 0.0, "both", DISAGREE), ("asec(x)", inf, "both", pi / 2), ("asec(x)", 1.0, "+", 0.0),
    ("asec(x)", 1.0, "-", UNDEF), ("x*acsc(x)", inf, "both", 1.0),
    # classics at finite points (Demidovich)
    ("asin(x)/x", 0.0, "both", 1.0), ("acos(x)", 1.0, "-", 0.0), ("acos(x)**2/(1 - x)", 1.0, "-", 2.0),
    ("acos(x)", 1.0, "+", UNDEF), ("(x**2 - 1)/(x - 1)", 1.0, "both", 2.0), ("(x**3 - 1)/(x**2 - 1)", 1.0, "both", 1.5),
    ("x**sin(x)", 0.0, "+", 1.0), ("sin(x)**x", 0.0, "+", 1.0), ("x**(1/(1 - x))", 1.0, "both", 1 / e),
    ("(1/x)**tan(x)", 0.0, "+", 1.0), ("tan(x)**tan(2*x)", pi / 4, "both", 1 / e),
    ("cos(x)**(1/sin(x)**2)", 0.0, "both", math.exp(-0.5)), ("(exp(x) - exp(sin(x)))/(x - sin(x))", 0.0, "both", 1.0),
    ("(x - sin(x))/(x - tan(x))", 0.0, "both", -0.5), ("(sin(x) - x*cos(x))/x**3", 0.0, "both", 1 / 3),
    ("log(cos(x))/x**2", 0.0, "both", -0.5), ("(1 - cos(x)*cos(2*x))/x**2", 0.0, "both", 2.5),
    ("(3**x - 1)/x", 0.0, "both", math.log(3)), ("(exp(x) - 1 - x)/x**2", 0.0, "both", 0.5),
    ("(tan(x) - x)/x**3", 0.0, "both", 1 / 3), ("(asin(x) - x)/x**3", 0.0, "both", 1 / 6),
    ("(atan(x) - x)/x**3", 0.0, "both", -1 / 3), ("(sqrt(1 + x) - sqrt(1 - x))/x", 0.0, "both", 1.0),
    ("abs(sin(x))/x", 0.0, "both", DISAGREE), ("sqrt(x)*log(x)", 0.0, "+", 0.0), ("x**(x**x)", 0.0, "+", 0.0),
    ("exp(-1/x)/x**10", 0.0, "+", 0.0), ("exp(-1/x)", 0.0, "-", inf), ("1/(1 + exp(1/x))", 0.0, "both", DISAGREE),
    ("atan(1/x)", 0.0, "both", DISAGREE), ("1/x - 1/sin(x)", 0.0, "both", 0.0),
    ("1/log(x) - 1/(x - 1)", 1.0, "both", 0.5), ("x/(x - 1) - 1/log(x)", 1.0, "both", 0.5),
    ("log(x)*log(1 - x)", 1.0, "-", 0.0), ("(2 - x)**tan(pi*x/2)", 1.0, "both", math.exp(2 / pi)),
    ("tan(x)**2 - sec(x)**2", pi / 2, "both", -1.0), ("(pi/2 - x)*tan(x)", pi / 2, "both", 1.0),
    ("sin(pi*x)/(x - 1)", 1.0, "both", -pi), ("cos(pi*x/2)/(1 - x)", 1.0, "both", pi / 2),
    ("(x + 2)/(x**2 - 4)", -2.0, "both", -0.25), ("1/(x - 2)**2", 2.0, "both", inf),
    ("(x - 2)/abs(x - 2)", 2.0, "both", DISAGREE), ("(1 + sin(x))**(1/x)", 0.0, "both", e),
    ("((1 + x)**(1/x) - e)/x", 0.0, "both", -e / 2), ("(x**x - 1)/(x*log(x))", 0.0, "+", 1.0),
    ("sin(x)/sqrt(1 - cos(x))", 0.0, "both", DISAGREE), ("sin(x)/sqrt(1 - cos(x))", 0.0, "+", sqrt(2)),
    ("x*sin(x)/(1 - cos(x))", 0.0, "both", 2.0), ("(sin(x)/x)**(1/x**2)", 0.0, "both", math.exp(-1 / 6)),
    ("(tan(x)/x)**(1/x**2)", 0.0, "both", math.exp(1 / 3)), ("(x + exp(x))**(1/x)", 0.0, "both", e**2),
    ("log(1 + x)*log(x)", 0.0, "+", 0.0), ("sqrt(x)", 0.0, "+", 0.0), ("log(-x)", 0.0, "-", -inf),
]
#: written after the engine was tuned on the cases above, and scored as they came (the misses
#: stay in): a check that the scores above are not an artifact of tuning
_G = 0.5772156649015329  # Euler's gamma
HOLDOUT = [
    ("x**(1/3)*log(x)", 0.0, "+", 0.0), ("(1 + 3/x)**(2*x)", inf, "both", e**6),
    ("x*(exp(1/x) - exp(1/(x + 1)))", inf, "both", 0.0), ("x**2*(exp(1/x) - exp(1/(x + 1)))", inf, "both", 1.0),
    ("(log(x + 1)/log(x))**(x*log(x))", inf, "both", e), ("cos(2*x)**(1/x**2)", 0.0, "both", math.exp(-2)),
    ("(sinh(x) - x)/x**3", 0.0, "both", 1 / 6), ("(cosh(x) - 1)/x**2", 0.0, "both", 0.5),
    ("log(sinh(x))/x", inf, "both", 1.0), ("sinh(x)/exp(x)", inf, "both", 0.5), ("tanh(x)/x", 0.0, "both", 1.0),
    ("(atan(x) - pi/4)/(x - 1)", 1.0, "both", 0.5), ("(exp(x**2) - 1)/(x*sin(x))", 0.0, "both", 1.0),
    ("sqrt(x**4 + x**2) - x**2", inf, "both", 0.5), ("(x**x - x)/(1 - x + log(x))", 1.0, "both", -2.0),
    ("x**(1/x)", 0.0, "+", 0.0), ("(1/x)**x", 0.0, "+", 1.0), ("x*floor(x)", 1.0, "both", DISAGREE),
    ("floor(x)**2 - floor(x**2)", 1.5, "both", -1.0), ("sin(1/x)*x**2", inf, "both", inf),
    ("exp(-x)*x**x/gamma(x + 1)", inf, "both", 0.0), ("sin(x)/x**2", 0.0, "both", DISAGREE),
    ("(2*x + 3)/sqrt(x**2 + 1)", -inf, "both", -2.0), ("sqrt(x**2 + x + 1) - sqrt(x**2 - x + 1)", inf, "both", 1.0),
    ("sqrt(x**2 + x + 1) - sqrt(x**2 - x + 1)", -inf, "both", -1.0), ("acosh(x)/log(x)", inf, "both", 1.0),
    ("x*sin(pi/x)", inf, "both", pi), ("(x - 1)/(x**(1/3) - 1)", 1.0, "both", 3.0), ("log(x)/(x - 1)", 1.0, "both", 1.0),
    ("exp(x)/(exp(x) + 1)", -inf, "both", 0.0), ("exp(x)/(exp(x) + 1)", inf, "both", 1.0),
    ("erf(x)/x", 0.0, "both", 2 / math.sqrt(pi)), ("(gamma(x + 1) - 1)/x", 0.0, "both", -_G),
    ("digamma(x) + 1/x", 0.0, "both", -_G), ("floor(1/x)", inf, "both", 0.0), ("frac(x)", 0.5, "both", 0.5),
    ("cos(x)*exp(-x)*x**5", inf, "both", 0.0), ("sin(exp(x))", inf, "both", OSC), ("x**2*sin(1/x)", 0.0, "both", 0.0),
    ("tan(pi*x)", 0.5, "both", DISAGREE),
]

CASES = list(TEXTBOOK) + NEW + HOLDOUT

_NUMPY: Dict[str, object] = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
    "atan": np.arctan, "asin": np.arcsin, "acos": np.arccos, "tanh": np.tanh, "sinh": np.sinh,
    "cosh": np.cosh, "abs": np.abs,
    "floor": np.floor, "ceil": np.ceil, "sign": np.sign, "cbrt": np.cbrt, "atan2": np.arctan2,
    "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh, "pi": np.pi, "e": np.e,
    "frac": lambda a: a - np.floor(a), "sec": lambda a: 1 / np.cos(a), "csc": lambda a: 1 / np.sin(a),
    "cot": lambda a: 1 / np.tan(a), "acot": lambda a: np.arctan(1 / a), "asec": lambda a: np.arccos(1 / a),
    "acsc": lambda a: np.arcsin(1 / a), "coth": lambda a: 1 / np.tanh(a), "sech": lambda a: 1 / np.cosh(a),
    "csch": lambda a: 1 / np.sinh(a),
}


def _special():
    import scipy.special as sp
    return {"erf": sp.erf, "erfc": sp.erfc, "gamma": sp.gamma, "lgamma": sp.gammaln, "digamma": sp.psi,
            "factorial": lambda a: sp.gamma(a + 1),
            "binomial": lambda a, b: sp.gamma(a + 1) / (sp.gamma(b + 1) * sp.gamma(a - b + 1))}


def as_callable(text: str) -> Callable:
    """The case as a NumPy function of x, as a user writes it (our own constant texts only)."""
    ns = dict(_NUMPY)
    ns.update(_special())
    return eval("lambda x: " + text, ns)  # noqa: S307


def as_black_box(text: str) -> Callable:
    """The same function behind ``np.asarray(x, dtype=float)``: it cannot be traced."""
    f = as_callable(text)
    return lambda x: f(np.asarray(x, dtype=float))


def grade(verdict: str, value: float, expected, rtol: float = 1e-8, error: float = 0.0) -> str:
    """right / wrong / undetermined / imprecise for one answer: imprecise is a value off by more
    than rtol but within its own error estimate (not right, and not a confident wrong answer)."""
    if verdict == "undetermined":
        return "undetermined"
    if isinstance(expected, str):
        return "right" if verdict == "does not exist" else "wrong"
    if verdict == "does not exist":
        return "wrong"
    if math.isinf(expected):
        return "right" if value == expected else "wrong"
    off = abs(value - expected)
    if off <= rtol * max(1.0, abs(expected)):
        return "right"
    return "imprecise" if off <= error else "wrong"


class _Timeout(Exception):
    pass


def _alarm(seconds: float):
    def handler(signum, frame):
        raise _Timeout
    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _disarm():
    signal.setitimer(signal.ITIMER_REAL, 0)


def run_fastcalc(text, c, side, kind="expr"):
    import fastcalc as fc
    f = fc.expr(text) if kind == "expr" else as_callable(text) if kind == "callable" else as_black_box(text)
    r = fc.limit(f, c, side)
    return r.verdict, r.value, r.error


def run_mpmath(text, c, side):
    """mpmath.limit from each requested side (it always answers a number)."""
    import mpmath as mp
    ns = {k: getattr(mp, k) for k in ("sin", "cos", "tan", "exp", "log", "sqrt", "atan", "asin", "acos", "tanh", "sinh", "cosh",
                                      "floor", "ceil", "sign", "cbrt", "asinh", "acosh", "atanh", "erf", "erfc",
                                      "gamma", "loggamma", "digamma", "factorial", "binomial", "cot", "csc", "sec",
                                      "acot", "asec", "acsc", "coth", "sech", "csch", "frac", "atan2")}
    ns.update(abs=abs, pi=mp.pi, e=mp.e, lgamma=mp.loggamma)
    f = eval("lambda x: " + text, ns)  # noqa: S307
    point = mp.inf if c == inf else -mp.inf if c == -inf else mp.mpf(c)

    def one(direction):
        v = complex(mp.limit(f, point, direction=direction))
        if v.imag != 0 or math.isnan(v.real):
            return math.nan
        return math.copysign(inf, v.real) if abs(v.real) >= 1e8 else v.real

    dirs = [1, -1] if (side == "both" and math.isfinite(c)) else [-1 if side == "-" else 1]
    vals = [one(d) for d in dirs]
    if any(math.isnan(v) for v in vals):
        return "does not exist", math.nan
    if len(vals) == 2 and not (vals[0] == vals[1] or abs(vals[0] - vals[1]) <= 1e-8 * max(1.0, abs(vals[0]))):
        return "does not exist", math.nan
    v = vals[0]
    return ("finite" if math.isfinite(v) else ("+inf" if v > 0 else "-inf")), v


def run_sympy(text, c, side):
    import sympy as S
    x = S.Symbol("x", real=True)
    loc = {"x": x, "e": S.E, "pi": S.pi, "ceil": S.ceiling, "lgamma": S.loggamma, "frac": S.frac,
           "cbrt": lambda a: S.real_root(a, 3), "atan2": S.atan2, "sign": S.sign, "abs": S.Abs}
    expr = S.sympify(text, locals=loc)
    point = S.oo if c == inf else -S.oo if c == -inf else S.nsimplify(c, [S.pi])
    d = "+-" if side == "both" else side
    if not math.isfinite(c):
        d = "-" if c > 0 else "+"
    try:
        r = S.limit(expr, x, point, dir=d)
    except ValueError:
        return "does not exist", math.nan  # the sides differ
    if isinstance(r, S.AccumBounds) or r is S.nan:
        return "does not exist", math.nan
    if r is S.oo:
        return "+inf", inf
    if r == -S.oo:
        return "-inf", -inf
    if r is S.zoo or r.has(S.Limit):
        return ("does not exist", math.nan) if r is S.zoo else ("undetermined", math.nan)
    try:
        v = complex(r.evalf(30))
    except TypeError:
        return "undetermined", math.nan
    if v.imag != 0:
        return "does not exist", math.nan
    return "finite", v.real


RUNNERS = {"fastcalc (Expr)": lambda t, c, s: run_fastcalc(t, c, s, "expr"),
           "fastcalc (callable)": lambda t, c, s: run_fastcalc(t, c, s, "callable"),
           "fastcalc (black box)": lambda t, c, s: run_fastcalc(t, c, s, "black box"),
           "mpmath.limit": run_mpmath, "sympy.limit": run_sympy}


def score(who: str, cases=CASES, timeout: float = 30.0) -> dict:
    """Right, wrong and undetermined answers of one method, the median time, the misses by name.
    A method's exception or timeout counts as undetermined (fastcalc's exceptions propagate)."""
    run = RUNNERS[who]
    out = {"who": who, "total": len(cases), "right": 0, "wrong": 0, "undetermined": 0, "imprecise": 0,
           "times": [], "wrong_cases": [], "undetermined_cases": [], "imprecise_cases": []}
    for text, c, side, expected in cases:
        t0 = time.perf_counter()
        try:
            _alarm(timeout)
            try:
                answer = run(text, c, side)
            finally:
                _disarm()
        except Exception as exc:
            if who.startswith("fastcalc") and not isinstance(exc, _Timeout):
                raise
            answer = ("undetermined", math.nan)
        out["times"].append(time.perf_counter() - t0)
        verdict, value = answer[:2]
        g = grade(verdict, value, expected, error=answer[2] if len(answer) > 2 else 0.0)
        out[g] += 1
        if g != "right":
            out[g + "_cases"].append(f"{text} at {c} ({side}): {verdict} {value!r}, expected {expected!r}")
    out["median_ms"] = 1e3 * statistics.median(out["times"])
    return out


def line(s: dict) -> str:
    return (f"{s['who']:22s} right {s['right']:3d}/{s['total']}  wrong {s['wrong']:2d}  "
            f"undetermined {s['undetermined']:2d}  imprecise {s['imprecise']:2d}  median {s['median_ms']:8.1f} ms")


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    cases = CASES[:30] if quick else CASES
    names = [a for a in sys.argv[1:] if not a.startswith("--")] or list(RUNNERS)
    for who in names:
        s = score(who, cases)
        print(line(s), flush=True)
        for k in ("wrong_cases", "imprecise_cases", "undetermined_cases"):
            for m in s[k]:
                print(f"    {k.split('_')[0]}: {m}")
