"""compare.py rows for limits: the score of fastcalc.limit and of mpmath.limit on one set."""
from __future__ import annotations

from typing import List

from _timing import Row

from limits_score import CASES, score


def rows(quick: bool) -> List[Row]:
    out: List[Row] = []
    for kind, cases in (("callable", CASES), ("expr", [c for c in CASES if "floor" not in c[0]])):
        if quick:
            cases = cases[:8]
        s = score(cases, kind=kind)
        task = f"textbook limits ({len(cases)} cases, f as {'a Python callable' if kind == 'callable' else 'an Expr'})"
        out.append(Row(task, "fastcalc.limit", None, note=f"{s['fastcalc']}/{s['total']} correct"))
        out.append(Row(task, "mpmath.limit", None, note=f"{s['mpmath']}/{s['total']} correct"))
    return out


SECTIONS = [("Limits: correct answers", rows)]
