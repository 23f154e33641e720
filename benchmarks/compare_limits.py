"""compare.py rows for limits: fastcalc.limit, mpmath.limit and sympy.limit scored side by side
on the scored set (benchmarks/limits_set.py): right, wrong, undetermined, median time."""
from __future__ import annotations

from typing import List

from _timing import Row

from limits_set import CASES, score

_WHO = ["fastcalc (Expr)", "fastcalc (callable)", "fastcalc (black box)", "mpmath.limit", "sympy.limit"]


def rows(quick: bool) -> List[Row]:
    cases = CASES[:20] if quick else CASES
    task = f"scored limits ({len(cases)} cases: textbook, sympy's test suites, problem books)"
    out: List[Row] = []
    for who in _WHO:
        s = score(who, cases)
        note = (f"{s['right']} right, {s['wrong']} wrong, {s['undetermined']} undetermined"
                + (f", {s['imprecise']} imprecise" if s["imprecise"] else "")
                + f"; median {s['median_ms']:.1f} ms per limit")
        out.append(Row(task, who, None, note=note))
    return out


SECTIONS = [("Limits: right, wrong and undetermined answers", rows)]
