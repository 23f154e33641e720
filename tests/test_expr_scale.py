"""Expressions at scale: flat sums and products of 10^5 terms, deep nesting up to the documented
limits (and a clear ExprError beyond them), DAGs whose text is astronomically long, costs linear
in the DAG (checked by sizes, not by time), thread safety of interning, bounded caches."""
import importlib
import math
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fastcalc as fc
from fastcalc.expressions import MAX_DEPTH, MAX_NESTING, ExprError
from fastcalc.expressions import nodes as N


expr_module = importlib.import_module("fastcalc.expressions.expr")


def balanced(op, items):
    items = list(items)
    while len(items) > 1:
        items = [f"({items[i]}{op}{items[i + 1]})" if i + 1 < len(items) else items[i] for i in range(0, len(items), 2)]
    return items[0]


def test_a_flat_sum_of_100000_terms_is_one_node_and_round_trips():
    n = 100_000
    e = fc.expr(" - ".join(f"x{i}" for i in range(n)))  # a left-nested chain of 10^5 in Python's ast
    assert e.node.kind == "add" and len(e.node.args) == n
    assert e.vars[:3] == ("x0", "x1", "x2") and e.vars[-1] == "x99999"  # natural order of indexed names
    assert fc.expr(str(e), vars=e.vars) == e
    assert str(e.diff("x5")) == "-1" and str(e.diff("x0")) == "1"


def test_flat_products_and_sums_evaluate_and_differentiate():
    n = 10_000
    e = fc.expr(" - ".join(f"x{i}" for i in range(n)))
    X = np.random.default_rng(0).uniform(-1, 1, (3, n))
    np.testing.assert_allclose(e(X), X[:, 0] - X[:, 1:].sum(axis=1), rtol=1e-9)
    p = fc.expr("*".join(f"x{i}" for i in range(n)))
    assert len(p.node.args) == n and str(p.diff("x7")).count("*") == n - 2
    assert pickle.loads(pickle.dumps(p)) == p


def test_a_balanced_sum_of_10000_variables_prints_and_pickles():
    e = fc.expr(balanced("+", [f"x{i}" for i in range(10_000)]))
    assert len(e.node.args) == 10_000
    assert fc.expr(str(e), vars=e.vars) == e and pickle.loads(pickle.dumps(e)) == e
    assert e(np.ones(10_000)) == 10_000.0


def test_a_balanced_product_differentiates_in_n_log_n():
    n = 4096
    e = fc.expr(balanced("*", [f"(x + {i})" for i in range(n)]))
    assert len(e.node.args) == n
    d = e.diff("x")
    # the product rule on a balanced split: O(n log n) operands, not the n^2 of the flat rule
    operands = sum(len(m.args) for m in N.postorder([d.node]))
    assert operands <= 4 * n * math.log2(n), operands
    x = 0.5
    vals = np.array([x + i for i in range(8)])
    small = fc.expr(balanced("*", [f"(x + {i})" for i in range(8)]))
    assert small.diff("x")(x) == pytest.approx(np.prod(vals) * np.sum(1 / vals), rel=1e-14)


def test_deep_nesting_within_the_limit_works_and_beyond_it_is_refused():
    depth = MAX_DEPTH - 1
    text = "x"
    for _ in range(depth):
        text = f"sin({text})"
    e = fc.expr(text)
    assert e.node.depth == depth + 1
    assert fc.expr(str(e)) == e and pickle.loads(pickle.dumps(e)) == e
    v = 0.3
    for _ in range(depth):
        v = math.sin(v)
    assert e(0.3) == pytest.approx(v, rel=1e-14)
    with pytest.raises(ExprError, match="nested too deeply"):
        fc.expr(f"sin(sin({text}))")
    tower = fc.expr("x" + "**x" * (MAX_DEPTH // 2))
    with pytest.raises(ExprError, match="nested too deeply"):
        tower.diff("x")  # its derivative nests three times as deep
    for bad in ["(" * (MAX_NESTING + 10) + "x" + ")" * (MAX_NESTING + 10), "-" * 10**5 + "x", "x" + "**x" * 10**5]:
        with pytest.raises(ExprError, match="nested too deeply"):
            fc.expr(bad)


def test_worst_case_printed_nesting_reparses():
    # every kind of level the printer nests: a power's base and exponent, a quotient, a call, a
    # negative sum; MAX_DEPTH levels of it print to text the parser reads back
    x = N.var("x")
    n = x
    kinds = [lambda u: N.power(N.add(u, N.ONE), N.var("y")), lambda u: N.div(N.ONE, N.add(u, N.var("y"))),
             lambda u: N.call("atan2", [N.var("y"), u]), lambda u: N.neg(N.add(u, N.var("y"))),
             lambda u: N.power(N.var("y"), N.neg(N.add(u, N.ONE)))]
    i = 0
    while True:
        try:
            n = kinds[i % len(kinds)](n)
        except ExprError:
            break
        i += 1
    assert n.depth > MAX_DEPTH - 3
    e = fc.Expr((n,), ("x", "y"))
    assert fc.expr(str(e), vars=e.vars) == e


def test_a_dag_whose_text_is_astronomical_pickles_compiles_and_differentiates():
    x = fc.expr("x")
    f = x
    for _ in range(80):  # about 240 nodes; the tree written out has about 2^80
        f = fc.expr("sin(u)*cos(u)").subs(u=f)
    assert N.size(f.node) < 400
    with pytest.raises(ExprError, match="longer than"):
        str(f)
    assert "too long to print" in repr(f)
    g = pickle.loads(pickle.dumps(f))
    assert g == f
    d = f.diff("x")
    assert N.size(d.node) < 2000  # linear in the DAG, not in the tree
    assert len(f._tape_arrays()[0]) < 400
    want = 0.7
    for _ in range(80):
        want = math.sin(want) * math.cos(want)
    assert f(0.7) == pytest.approx(want, rel=1e-12)


def test_huge_and_special_constants_round_trip():
    for text in ["1e999", "-1e999", "inf - inf", "nan", "1.7976931348623157e308*x", "5e-324 + x", "(-(x*0))**-0.5",
                 "x**inf", "x**-inf", "x**nan", "inf*x - inf*x", "0*inf", "x/0", "0/0*x"]:
        e = fc.expr(text, vars=["x"])
        assert fc.expr(str(e), vars=["x"]) == e, (text, str(e))
        assert pickle.loads(pickle.dumps(e)) == e


def test_interning_from_many_threads_gives_one_node_per_expression():
    texts = [f"sin(x{i % 17})*exp(-(x{i % 5} - {i % 3})**2) + log(1 + x{i % 11}**2)" for i in range(400)]
    serial = [fc.expr(t).node for t in texts]
    ids = {t: id(n) for t, n in zip(texts, serial)}
    barrier = threading.Barrier(4)

    def build(chunk):
        barrier.wait()
        return [(t, fc.expr(t).node, fc.expr(t).diff("x1").node) for t in chunk]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(build, [texts[k::4] for k in range(4)]))
    for chunk in results:
        for t, node, dnode in chunk:
            assert id(node) == ids[t]  # the very same object: interning is atomic
            assert dnode is fc.expr(t).diff("x1").node


def test_the_tape_arrays_cache_is_bounded_and_keyed_by_content():
    cache = expr_module._ARRAYS
    a, b = fc.expr("x**2 + sin(y)"), fc.expr("sin(y) + x**2", vars=["x", "y"])
    assert a._tape_arrays() is b._tape_arrays()  # equal expressions share their compiled arrays
    c = fc.expr("x**2 + sin(y)", vars=["y", "x"])
    assert c._tape_arrays() is not a._tape_arrays()  # other variables, other program
    for i in range(cache.maxsize + 50):
        fc.expr(f"x + {i}")._tape_arrays()
    assert len(cache) <= cache.maxsize


def test_dead_nodes_leave_the_intern_table():
    import gc

    before = len(N._TABLE)
    e = fc.expr(" + ".join(f"w{i}*cos(w{i})" for i in range(500)))
    assert len(N._TABLE) > before + 1000
    del e
    gc.collect()
    assert len(N._TABLE) <= before + 5


def test_canonical_forms_and_texts_do_not_depend_on_the_hash_seed():
    import os
    import subprocess
    import sys

    code = ("import fastcalc as fc; print(str(fc.expr('sin(b)*a + cos(a)*b + b**2*a + zeta - alpha + x1*x0'))); "
            "print(fc.expr(['q*w + w*q', 'exp(t)*log(s)']).latex())")
    outs = set()
    for seed in ("1", "2", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=os.pathsep.join(sys.path))
        outs.add(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                check=True).stdout)
    assert len(outs) == 1, outs


def test_copies_are_the_expression_itself():
    import copy

    e = fc.expr("x*y")
    assert copy.copy(e) is e and copy.deepcopy({"f": e})["f"] is e


def test_pickles_carry_the_dag_and_bad_ones_are_refused():
    from fastcalc.expressions.expr import _rebuild, _unpickle

    e = fc.expr("x*exp(-(x**2 + y**2)) + x**2")
    fn, state = e.__reduce__()
    assert fn is _unpickle and not any(isinstance(s, str) and "exp" in s for s in state)  # no text
    assert _rebuild("x + y", ["x", "y"]) == fc.expr("x + y")  # the text pickles of earlier versions load
    for bad in [(2, *state[1:]), (1, [("add", None, ())], [0], ["x"], False),
                (1, [("var", "x", ()), ("call", "nosuch", (0,))], [1], ["x"], False),
                (1, [("var", "x", ()), ("mul", None, (0, 5))], [1], ["x"], False),
                (1, [("var", "x", ())], [0], ["y"], False), (1, [("num", "1", ())], [0], [], False)]:
        with pytest.raises(ValueError):
            _unpickle(*bad)
