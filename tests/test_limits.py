"""Limits and continuity: the course's examples, the textbook set and the scored set (as Expr,
traced callable and black box), verdicts and reasons, honesty (undetermined, never a wrong
number), tracing, and bad input."""
import importlib.util
import math
import pathlib
import sys

import numpy as np
import pytest

import fastcalc as fc
from fastcalc import _mpeval

_BENCH = pathlib.Path(__file__).parents[1] / "benchmarks"
sys.path.insert(0, str(_BENCH))
import limits_score as score_mod  # noqa: E402
import limits_set  # noqa: E402

CASES = score_mod.CASES
inf = math.inf
needs_mpmath = pytest.mark.skipif(not _mpeval.available(), reason="mpmath is not installed")


def make(text, kind):
    return fc.expr(text) if kind == "expr" else score_mod.as_callable(text)


@pytest.mark.parametrize("kind", ["callable", "expr"])
@pytest.mark.parametrize("text, c, side, expected", CASES, ids=[f"{t} at {c} ({s})" for t, c, s, _ in CASES])
def test_textbook(text, c, side, expected, kind):
    r = fc.limit(make(text, kind), c, side)
    if isinstance(expected, str):
        assert r.verdict == "does not exist" and r.reason == expected and math.isnan(r.value), r
    else:
        assert r.exists and r.success, r
        if math.isinf(expected):
            assert r.value == expected and r.verdict == ("+inf" if expected > 0 else "-inf"), r
        else:
            assert r.verdict == "finite" and r.value == pytest.approx(expected, rel=1e-9, abs=1e-9), r
            assert r.error <= 1e-6 * max(1.0, abs(expected)), r


def test_course_examples():
    assert fc.limit(lambda x: 2 * x, 3).value == pytest.approx(6.0, abs=1e-12)
    r = fc.limit(lambda x: 1 / x, 0, "+")
    assert r.exists and r.value == inf and r.right == inf and r.left is None
    assert fc.limit(lambda x: 1 / x, 0, "-").value == -inf
    r = fc.limit(lambda x: 1 / x, 0)
    assert not r.exists and r.reason == "left and right disagree" and (r.left, r.right) == (-inf, inf)
    r = fc.limit(np.sin, inf)
    assert not r.exists and r.reason == "oscillates" and r.verdict == "does not exist"
    for a in (-2.0, 0.3, 1.0, 10.0):
        assert fc.limit(np.sin, a).value == pytest.approx(math.sin(a), abs=1e-12)
        assert fc.is_continuous(np.sin, a)


def test_result_is_a_result_with_a_verdict():
    r = fc.limit(lambda x: np.sin(x) / x, 0)
    assert float(r) == 1.0 and r["verdict"] == "finite" and "verdict" in list(r) and r.success and r.status == 0
    assert "'finite'" in repr(r) and "value: 1" in repr(r)
    r = fc.limit(lambda x: np.sin(1 / x), 0)
    assert r.verdict == "does not exist" and r.reason == "oscillates" and r.success
    assert "oscillates" in repr(r)
    assert set(fc.limits.VERDICTS) == {"finite", "+inf", "-inf", "does not exist", "undetermined"}


# --------------------------------------------------------------- the limits issue's examples
@needs_mpmath
@pytest.mark.parametrize("text, c, side, verdict, value", [
    ("tan(x)", inf, "both", "does not exist", None),
    ("sec(x)", inf, "both", "does not exist", None),
    ("cos(x) - tan(x)**2", inf, "both", "does not exist", None),
    ("sin(x) - sin(x + 1)", inf, "both", "does not exist", None),
    ("cos(x) - cos(x + 1) + 1", inf, "both", "does not exist", None),
    ("floor(x + 1/2) - floor(x)", inf, "both", "does not exist", None),
    ("frac(1/x)", 0.0, "+", "does not exist", None),
    ("(2 + 6*x)**x/(6*x)**x", inf, "both", "finite", math.exp(1 / 3)),
    ("(1 + 1/x)**(e*x)", inf, "both", "finite", math.e ** math.e),
    ("(1 + x**log(3))**(1/x)", 0.0, "+", "finite", 1.0),
    ("x/log(log(x*exp(x)))", inf, "both", "+inf", inf),
    ("exp(x)*(exp(1/x - exp(-x)) - exp(1/x))", inf, "both", "finite", -1.0),
    ("log(1 + exp(x)) - x", inf, "both", "finite", 0.0),
    ("log(log(x))/log(x)", inf, "both", "finite", 0.0),
    ("log(log(log(x)))", inf, "both", "+inf", inf),
])
@pytest.mark.parametrize("kind", ["expr", "callable"])
def test_the_issue_examples(text, c, side, verdict, value, kind):
    f = fc.expr(text) if kind == "expr" else limits_set.as_callable(text)
    r = fc.limit(f, c, side)
    assert r.verdict == verdict, r
    if value is not None:
        assert r.value == pytest.approx(value, rel=1e-12), r
    if verdict == "does not exist":
        assert r.reason in ("oscillates", "unbounded") and math.isnan(r.value)


@needs_mpmath
def test_zero_limits_are_exactly_zero():
    for text, c, side in [("x*log(x)", 0.0, "+"), ("x*sin(1/x)", 0.0, "both"), ("sin(x)/x", inf, "both"),
                          ("x**100/exp(x)", inf, "both"), ("exp(-1/x**2)", 0.0, "both")]:
        r = fc.limit(fc.expr(text), c, side)
        assert r.verdict == "finite" and r.value == 0.0 and math.copysign(1, r.value) == 1, (text, r)
        assert r.error < 1e-100, (text, r)


@needs_mpmath
def test_wrong_sign_of_infinity_is_gone():
    # always >= 1, so never -inf (the old numerics said -inf)
    r = fc.limit(fc.expr("(1 + x**log(3))**(1/x)"), 0.0, "+")
    assert r.verdict == "finite" and r.value == 1.0


@needs_mpmath
def test_undetermined_instead_of_a_number():
    r = fc.limit(fc.expr("1 - 1/log(log(x))"), inf)  # converges like 1/log(log(x)): beyond it
    assert r.verdict == "undetermined" and not r.success and r.status == 1 and math.isnan(r.value)
    assert r.reason and r.message.startswith("undetermined")
    # a rounded constant the limit depends on: 1.1283791670955128 is 2/sqrt(pi) plus 2 ulps
    r = fc.limit(lambda x: (_erf(x) - 1.1283791670955128 * x) / x**3, 0)
    assert r.verdict == "undetermined" and "last digits" in r.reason
    # written exactly (or as the nearest double of 2/sqrt(pi)) it is determined
    r = fc.limit(fc.expr("(erf(x) - 2*x/sqrt(pi))/x**3"), 0)
    assert r.value == pytest.approx(-2 / (3 * math.sqrt(math.pi)), rel=1e-14)


def _erf(x):
    import scipy.special
    return scipy.special.erf(x)


@needs_mpmath
def test_doubles_mean_what_users_mean():
    # the double nearest pi/2 stands for pi/2: tan has a pole there from both sides
    r = fc.limit(fc.expr("tan(x)"), math.pi / 2)
    assert r.reason == "left and right disagree" and (r.left, r.right) == (inf, -inf)
    assert fc.limit(lambda x: np.sin(x) / (x - np.pi), np.pi).value == -1.0
    assert fc.limit(fc.expr("floor(10*x)"), 0.3, "-").value == 2.0  # 0.3 is 3/10


@needs_mpmath
def test_jumps_are_known():
    for text, c, left, right in [("floor(x)", 2.0, 1.0, 2.0), ("ceil(x)", 2.0, 2.0, 3.0), ("sign(x)", 0.0, -1.0, 1.0),
                                 ("frac(x)", 1.0, 1.0, 0.0)]:
        r = fc.limit(fc.expr(text), c)
        assert r.reason == "left and right disagree" and (r.left, r.right) == (left, right), (text, r)
        assert not fc.is_continuous(fc.expr(text), c)
    assert fc.is_continuous(fc.expr("floor(x)"), 1.5)


# --------------------------------------------------------------- the scored set
@needs_mpmath
@pytest.mark.parametrize("who", ["fastcalc (Expr)", "fastcalc (callable)"])
def test_scored_set_targets(who):
    s = limits_set.score(who)
    print("\n" + limits_set.line(s))
    assert s["total"] >= 150
    assert s["wrong"] == 0, s["wrong_cases"]
    assert s["right"] >= 0.97 * s["total"], s["undetermined_cases"]


def test_scored_set_black_box_never_wrong_on_the_issue_examples():
    issue = limits_set.NEW[:11]
    s = limits_set.score("fastcalc (black box)", issue)
    print("\n" + limits_set.line(s))
    assert s["wrong"] == 0, s["wrong_cases"]


def test_score_against_mpmath():
    s = score_mod.score()
    assert s["fastcalc"] == s["total"] >= s["mpmath"], s["fastcalc_wrong"]
    s = score_mod.score(CASES, kind="expr")
    assert s["fastcalc"] == s["total"] >= s["mpmath"], s["fastcalc_wrong"]


# --------------------------------------------------------------- continuity
def test_is_continuous_names_the_failed_condition():
    assert fc.is_continuous(lambda x: 2 * x, 3)
    c = fc.is_continuous(lambda x: np.abs(x) / x, 0)
    assert not c and c.failed == "f(a) is not defined" and c.verdict == "not continuous"
    c = fc.is_continuous(np.floor, 1.0)
    assert not c and c.failed == "the limit at a does not exist" and c.value == 1.0
    c = fc.is_continuous(lambda x: np.where(x == 0, 0.0, np.sin(x) / np.where(x == 0, 1.0, x)), 0.0)
    assert not c and c.failed == "the limit at a does not equal f(a)" and c.limit.value == pytest.approx(1.0)
    assert fc.is_continuous(np.floor, 1.5)
    assert not fc.is_continuous(lambda x: 1 / x**2, 0)
    c = fc.is_continuous(fc.expr("exp(x)"), 2)
    assert c and c.verdict == "continuous" and c["continuous"]


# --------------------------------------------------------------- tracing and black boxes
def test_numpy_callables_are_traced_others_are_black_boxes():
    assert fc.limit(lambda x: np.sin(x) / x, 0).traced
    assert fc.limit(lambda x: np.expm1(x) / x, 0).value == pytest.approx(1.0)
    assert fc.limit(lambda x: np.log1p(x) / x, 0).traced
    r = fc.limit(lambda x: math.floor(x), 2.0)  # math.floor asks the tracer for floor: traced
    assert r.traced and not r.exists and (r.left, r.right) == (1.0, 2.0)
    r = fc.limit(lambda x: (math.exp(x) - 1) / x if x else 0.0, 0.0)  # branches on x: black box
    assert not r.traced and r.method == "double precision" and r.value == pytest.approx(1.0)
    calls = []

    def f(x):
        calls.append(np.shape(x))
        return np.sin(x) / x

    assert fc.limit(f, 0).value == pytest.approx(1.0)
    assert len(calls) == 4 and all(len(s) == 1 and s[0] > 100 for s in calls)  # 2 sides, 2 grids


def test_black_box_round_off_plateaus_are_no_evidence():
    # sin(x) - sin(x + 1) is exactly 0 beyond 2**53 in doubles: that is not a limit
    r = fc.limit(lambda x: math.sin(x) - math.sin(x + 1), inf)
    assert r.verdict in ("does not exist", "undetermined") and math.isnan(r.value), r
    r = fc.limit(lambda x: math.cos(x) - math.cos(x + 1) + 1, inf)
    assert r.verdict in ("does not exist", "undetermined"), r


def test_without_mpmath_an_expr_is_sampled_in_doubles(monkeypatch):
    monkeypatch.setattr(_mpeval, "mpmath", None)
    r = fc.limit(fc.expr("sin(x)/x"), 0)
    assert r.method == "double precision" and r.value == pytest.approx(1.0)
    assert fc.limit(fc.expr("1/x"), 0).reason == "left and right disagree"


def test_infinity_uses_the_only_side():
    for side in ("both", "-", "+", "+-"):
        assert fc.limit(np.arctan, inf, side).value == pytest.approx(math.pi / 2)
    r = fc.limit(np.arctan, -inf)
    assert r.right == pytest.approx(-math.pi / 2) and r.left is None


def test_sympy_side_plus_minus_is_both():
    r = fc.limit(fc.expr("abs(x)/x"), 0, "+-")
    assert r.reason == "left and right disagree"


# --------------------------------------------------------------- bad input
class Boom(Exception):
    pass


def test_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        fc.limit(np.sin, math.nan)
    with pytest.raises(ValueError, match="side 'left'"):
        fc.limit(np.sin, 0, "left")
    with pytest.raises(ValueError, match="side"):
        fc.limit(np.sin, 0, None)
    with pytest.raises(ValueError, match="finite point"):
        fc.is_continuous(np.sin, inf)
    with pytest.raises(ValueError, match="unknown function 'foo'"):
        fc.limit("foo(x)", 0)
    with pytest.raises(ValueError, match="takes 1 argument"):
        fc.limit("sin(x, 1)", 0)
    with pytest.raises(ValueError, match="one variable"):
        fc.limit(fc.expr("x*y"), 0)
    with pytest.raises(TypeError, match="real number"):
        fc.limit(np.sin, "zero")
    with pytest.raises(ValueError, match="rtol"):
        fc.limit(np.sin, 0, rtol=-1)
    with pytest.warns(DeprecationWarning, match="tol"):
        fc.limit(np.sin, 0, tol=1e-8)

    def f(x):
        raise Boom("from f")
    with pytest.raises(Boom, match="from f"):
        fc.limit(f, 0)

    def g(x):
        if np.any(x < 1e-3):
            raise Boom("late")
        return x
    with pytest.raises(Boom, match="late"):
        fc.limit(g, 0, "+")


def test_a_string_is_an_expression():
    assert fc.limit("sin(x)/x", 0).value == pytest.approx(1.0)


@needs_mpmath
def test_threads_do_not_disturb_each_other_or_mpmath():
    import concurrent.futures

    import mpmath
    texts = [("sin(x)/x", 0.0), ("(1 + 1/x)**x", inf), ("(2 + 6*x)**x/(6*x)**x", inf), ("x*log(x)", 0.0),
             ("(1 - cos(x))/x**2", 0.0), ("tan(x)", inf)] * 2
    serial = [fc.limit(fc.expr(t), c, "+" if c == 0.0 else "both") for t, c in texts]
    dps = mpmath.mp.dps
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda tc: fc.limit(fc.expr(tc[0]), tc[1], "+" if tc[1] == 0.0 else "both"), texts))
    assert mpmath.mp.dps == dps  # the global context is never touched
    for a, b in zip(serial, threaded):
        assert a.verdict == b.verdict and (a.value == b.value or (math.isnan(a.value) and math.isnan(b.value)))
