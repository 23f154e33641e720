"""Expressions at scale and the cost of a call, measured: prints a markdown table.

    PYTHONPATH=python python benchmarks/expr_scale.py [--quick]

Per case: parsing the text, one derivative, compiling to the tape (the expression and its
derivative), printing and parsing the text back, pickling; best of a few runs, one thread. Then
the Python cost of a call on 100 points against the tape's own call (timeit)."""
from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
import timeit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _timing  # noqa: E402,F401  (one thread)
import numpy as np  # noqa: E402

import fastcalc as fc  # noqa: E402
from expr_cases import cases  # noqa: E402
from fastcalc.expressions import nodes as N  # noqa: E402


def best(fn, repeat=3):
    out = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t0)
    return out


def fresh_parse(text):
    # nodes are interned: a parse right after another reuses them; time it from nothing
    import gc

    gc.collect()
    return best(lambda: fc.expr(text), repeat=1)


def scale_rows(scale):
    rows = ["| case | characters | nodes (DAG) | parse | diff | compile | compile diff | str | parse back | pickle + load |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, (text, v) in cases(scale).items():
        tp = fresh_parse(text)
        e = fc.expr(text)
        td = best(lambda: e.diff(v))
        d = e.diff(v)
        from fastcalc.expressions.compile import compile_nodes

        tc = best(lambda: compile_nodes([e.node], e.vars))
        tcd = best(lambda: compile_nodes([d.node], d.vars))
        ts = best(lambda: str(e))
        s = str(e)
        tb = best(lambda: fc.expr(s, vars=e.vars))
        assert fc.expr(s, vars=e.vars) == e
        tk = best(lambda: pickle.loads(pickle.dumps(e)))
        rows.append(f"| {name} | {len(text):,} | {N.size(e.node):,} | {tp:.3f} s | {td:.3f} s | {tc:.3f} s | "
                    f"{tcd:.3f} s | {ts:.3f} s | {tb:.3f} s | {tk:.3f} s |")
    return rows


def call_rows():
    e = fc.expr("x*exp(-(x**2 + y**2)) + sin(3*x)*tanh(y)")
    t = e._tape()
    x, y = np.random.default_rng(0).uniform(-2, 2, (2, 100))
    X = np.stack([x, y], axis=1)

    def us(fn, n=20000):
        return min(timeit.repeat(fn, number=n, repeat=9)) / n * 1e6

    pairs = [("e(x, y), two 1-d arrays of 100 points", lambda: e(x, y), "e._tape().eval_columns([x, y])",
              lambda: t.eval_columns([x, y])),
             ("e(X), X of shape (100, 2)", lambda: e(X), "e._tape().eval(X)", lambda: t.eval(X)),
             ("e(0.5, 0.2), two floats", lambda: e(0.5, 0.2), "e._tape().point(0.5, 0.2)", lambda: t.point(0.5, 0.2))]
    rows = ["| call | time | the tape's own call | time | Python's extra cost |", "|---|---:|---|---:|---:|"]
    for a, fa, b, fb in pairs:
        ta, tb = us(fa), us(fb)
        ta, tb = min(ta, us(fa)), min(tb, us(fb))  # two passes: a burst of load must hit both
        rows.append(f"| `{a}` | {ta:.2f} us | `{b}` | {tb:.2f} us | {ta - tb:.2f} us |")
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke test, not a measurement")
    a = p.parse_args()
    print("\n".join(scale_rows(0.01 if a.quick else 1.0)))
    print()
    print("\n".join(call_rows()))
    print(f"\n(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
