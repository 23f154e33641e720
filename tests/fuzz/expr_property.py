"""The property every text must have, shared by the fuzzers (tests/test_expr_fuzz.py with
hypothesis, tests/fuzz/fuzz_expr.py with atheris): the parser either refuses the text with an
ExprError, or the expression prints, parses back equal, pickles, differentiates, compiles and
evaluates without any other exception."""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import List

import numpy as np

import fastcalc as fc
from fastcalc.expressions import ExprError

CORPUS = Path(__file__).resolve().parent / "corpus"


def corpus() -> List[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))]


def check(text: str) -> bool:
    """True when the text parsed (and everything held), False when it was refused."""
    try:
        e = fc.expr(text)
    except ExprError:
        return False
    s = str(e)
    back = fc.expr(s, vars=e.vars)
    assert back == e, (text, s)
    assert pickle.loads(pickle.dumps(e)) == e, text
    for v in e.vars[:3]:
        try:
            d = e.diff(v)
        except ExprError as exc:  # a derivative beyond a documented limit (depth, polygamma's order)
            assert "deeply" in str(exc) or "order" in str(exc), exc
            continue
        assert fc.expr(str(d), vars=e.vars) == d
    e.latex()
    n = len(e.vars)
    X = np.linspace(-1.5, 2.5, 4 * max(n, 1)).reshape(4, max(n, 1))[:, :n]
    with np.errstate(all="ignore"):
        y = e(X) if n != 1 else e(X[:, 0])
    assert np.shape(y) == (4,), (text, np.shape(y))
    return True
