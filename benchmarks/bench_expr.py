"""pytest-benchmark: expressions at scale (parse, diff, compile of the issues' cases) and the cost
of a call on 100 points against the tape's own call, one thread.
Run: PYTHONPATH=python pytest benchmarks/bench_expr.py --benchmark-enable"""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fastcalc as fc  # noqa: E402
from conftest import TINY  # noqa: E402
from expr_cases import cases  # noqa: E402
from fastcalc.expressions.compile import compile_nodes  # noqa: E402

CASES = cases(0.01 if TINY else 1.0)


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("step", ["parse", "diff", "compile"])
def test_expression_at_scale(benchmark, name, step):
    text, v = CASES[name]
    e = fc.expr(text)
    run = {"parse": lambda: fc.expr(text), "diff": lambda: e.diff(v),
           "compile": lambda: compile_nodes([e.node], e.vars)}[step]
    benchmark.group = f"expr {step}"
    benchmark.pedantic(run, rounds=3, iterations=1)


@pytest.mark.parametrize("who", ["Expr call", "tape call"])
def test_call_on_100_points(benchmark, who):
    e = fc.expr("x*exp(-(x**2 + y**2)) + sin(3*x)*tanh(y)")
    t = e._tape()
    x, y = np.random.default_rng(0).uniform(-2, 2, (2, 100))
    benchmark.group = "call on 100 points"
    benchmark(lambda: e(x, y)) if who == "Expr call" else benchmark(lambda: t.eval_columns([x, y]))
