"""Limits and continuity: the course's examples, a textbook set (callable and Expr), bad input."""
import importlib.util
import math
import pathlib

import numpy as np
import pytest

import fastcalc as fc

_spec = importlib.util.spec_from_file_location(
    "limits_score", pathlib.Path(__file__).parents[1] / "benchmarks" / "limits_score.py")
score_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(score_mod)
CASES = score_mod.CASES
inf = math.inf


def make(text, kind):
    if kind == "expr":
        if not hasattr(fc, "expr"):
            pytest.skip("fastcalc.expr is not available yet")
        if "floor" in text:
            pytest.skip("Expr has no floor")
        return fc.expr(text)
    return score_mod.as_callable(text)


@pytest.mark.parametrize("kind", ["callable", "expr"])
@pytest.mark.parametrize("text, c, side, expected", CASES, ids=[f"{t} at {c} ({s})" for t, c, s, _ in CASES])
def test_textbook(text, c, side, expected, kind):
    r = fc.limit(make(text, kind), c, side)
    if isinstance(expected, str):
        assert not r.exists and r.reason == expected and math.isnan(r.value), r
    else:
        assert r.exists, r
        if math.isinf(expected):
            assert r.value == expected, r
        else:
            assert r.value == pytest.approx(expected, rel=1e-9, abs=1e-9), r
            assert r.error <= 1e-6 * max(1.0, abs(expected)), r


def test_course_examples():
    assert fc.limit(lambda x: 2 * x, 3).value == pytest.approx(6.0, abs=1e-12)
    r = fc.limit(lambda x: 1 / x, 0, "+")
    assert r.exists and r.value == inf and r.right == inf and r.left is None
    assert fc.limit(lambda x: 1 / x, 0, "-").value == -inf
    r = fc.limit(lambda x: 1 / x, 0)
    assert not r.exists and r.reason == "left and right disagree" and (r.left, r.right) == (-inf, inf)
    r = fc.limit(np.sin, inf)
    assert not r.exists and r.reason == "oscillates"
    for a in (-2.0, 0.3, 1.0, 10.0):
        assert fc.limit(np.sin, a).value == pytest.approx(math.sin(a), abs=1e-12)
        assert fc.is_continuous(np.sin, a)


def test_result_repr_and_float():
    r = fc.limit(lambda x: np.sin(x) / x, 0)
    assert float(r) == pytest.approx(1.0) and "value=1.0" in repr(r)
    assert "does not exist: oscillates" in repr(fc.limit(lambda x: np.sin(1 / x), 0))


def test_is_continuous_names_the_failed_condition():
    assert fc.is_continuous(lambda x: 2 * x, 3)
    c = fc.is_continuous(lambda x: np.abs(x) / x, 0)
    assert not c and c.failed == "f(a) is not defined"
    c = fc.is_continuous(np.floor, 1.0)
    assert not c and c.failed == "the limit at a does not exist" and c.value == 1.0
    c = fc.is_continuous(lambda x: np.where(x == 0, 0.0, np.sin(x) / np.where(x == 0, 1.0, x)), 0.0)
    assert not c and c.failed == "the limit at a does not equal f(a)" and c.limit.value == pytest.approx(1.0)
    assert "not continuous" in repr(c)
    assert fc.is_continuous(np.floor, 1.5)
    assert not fc.is_continuous(lambda x: 1 / x**2, 0)


def test_per_point_callables_and_one_vectorized_call():
    r = fc.limit(lambda x: math.floor(x), 2.0)
    assert not r.exists and (r.left, r.right) == (1.0, 2.0)
    assert fc.limit(lambda x: (math.exp(x) - 1) / x if x else 0.0, 0.0).value == pytest.approx(1.0)
    calls = []

    def f(x):
        calls.append(np.shape(x))
        return np.sin(x) / x

    fc.limit(f, 0)
    assert len(calls) == 2 and all(len(s) == 1 and s[0] > 100 for s in calls)


def test_infinity_uses_the_only_side():
    for side in ("both", "-", "+"):
        assert fc.limit(np.arctan, inf, side).value == pytest.approx(math.pi / 2)
    r = fc.limit(np.arctan, -inf)
    assert r.right == pytest.approx(-math.pi / 2) and r.left is None


class Boom(Exception):
    pass


def test_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        fc.limit(np.sin, math.nan)
    with pytest.raises(ValueError, match="side 'left'"):
        fc.limit(np.sin, 0, "left")
    with pytest.raises(ValueError, match="finite point"):
        fc.is_continuous(np.sin, inf)

    def f(x):
        raise Boom("from f")

    with pytest.raises(Boom, match="from f"):
        fc.limit(f, 0)

    def g(x):
        if x < 1e-3:
            raise Boom("late")
        return x

    with pytest.raises(Boom, match="late"):
        fc.limit(g, 0, "+")


def test_score_against_mpmath():
    s = score_mod.score()
    print(f"\nlimits score: fastcalc {s['fastcalc']}/{s['total']}, mpmath {s['mpmath']}/{s['total']}")
    assert s["fastcalc"] >= s["mpmath"]
    assert s["fastcalc"] == s["total"], s["fastcalc_wrong"]
    s = score_mod.score([c for c in CASES if "floor" not in c[0]], kind="expr")
    print(f"limits score (Expr): fastcalc {s['fastcalc']}/{s['total']}, mpmath {s['mpmath']}/{s['total']}")
    assert s["fastcalc"] == s["total"] >= s["mpmath"], s["fastcalc_wrong"]


def test_expr_exact_paths():
    if not hasattr(fc, "expr"):
        pytest.skip("fastcalc.expr is not available yet")
    r = fc.limit(fc.expr("sin(x)"), 1.0)
    assert r.method == "substitution" and r.value == math.sin(1.0)
    for text, c, value in [("sin(x)/x", 0.0, 1.0), ("(x**2 - 9)/(x - 3)", 3.0, 6.0),
                           ("log(x)/x", inf, 0.0), ("x/exp(x)", inf, 0.0)]:
        r = fc.limit(fc.expr(text), c)
        assert r.method == "lhopital" and r.value == pytest.approx(value, abs=1e-14), (text, r)
    assert fc.limit(fc.expr("(1 - cos(x))/x**4"), 0).value == inf
    assert fc.limit(fc.expr("(1 + 1/x)**x"), inf).value == pytest.approx(math.e, rel=1e-12)
    assert not fc.is_continuous(fc.expr("abs(x)/x"), 0) and fc.is_continuous(fc.expr("exp(x)"), 2)
    with pytest.raises(ValueError, match="one variable"):
        fc.limit(fc.expr("x*y"), 0)
