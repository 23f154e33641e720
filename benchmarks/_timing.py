"""Side-by-side timing helpers for compare.py: best of several runs, one thread."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable, List, Optional

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# JAX (XLA) and PyTorch keep their own thread pools: one thread for them too
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")


def best_time(fn: Callable[[], object], repeat: int = 3, budget: float = 2.0) -> float:
    """Best wall time of ``fn()`` in seconds over up to ``repeat`` runs within ``budget`` seconds."""
    best = float("inf")
    start = time.perf_counter()
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        if time.perf_counter() - start > budget:
            break
    return best


def best_times(fns: List[Callable[[], object]], repeat: int = 7, passes: int = 2,
               budget: float = 2.0) -> List[float]:
    """Best wall time of each function: `passes` passes over all of them, each function timed
    `repeat` times in a row within a pass (steady state, as timeit measures: the allocator and
    caches as a loop of calls leaves them). A burst of load on a shared machine must then hit the
    same function in every pass to change its figure."""
    best = [float("inf")] * len(fns)
    for _ in range(passes):
        for i, fn in enumerate(fns):
            best[i] = min(best[i], best_time(fn, repeat=repeat, budget=budget))
    return best


@dataclass
class Row:
    task: str
    who: str
    seconds: Optional[float]
    error: Optional[float] = None
    note: str = ""


def table(rows: List[Row], baseline: str = "fastcalc") -> str:
    """Markdown: each alternative's time as a ratio to the fastcalc row of the same task."""
    out = ["| task | implementation | time | × fastcalc time | error |", "|---|---|---:|---:|---:|"]
    base = {}
    for r in rows:
        if r.who.startswith(baseline) and r.task not in base and r.seconds:
            base[r.task] = r.seconds
    for r in rows:
        t = "—" if r.seconds is None else (f"{r.seconds * 1e3:.3g} ms" if r.seconds < 1 else f"{r.seconds:.3g} s")
        ratio = "" if r.seconds is None or r.task not in base else f"{r.seconds / base[r.task]:.3g}"
        err = "" if r.error is None else f"{r.error:.1e}"
        note = f" ({r.note})" if r.note else ""
        out.append(f"| {r.task} | {r.who}{note} | {t} | {ratio} | {err} |")
    return "\n".join(out)
