"""Every problem of ode_problems.py solved with fastcalc.solve_ode's defaults: the true error on a
fine grid against the error estimate, success, time. Prints README's table (minutes).

    python benchmarks/ode_validation.py [--only TEXT] [--lagaris-seeds N]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _timing  # noqa: E402,F401  (one thread)
import numpy as np  # noqa: E402

import fastcalc as fc  # noqa: E402
from ode_problems import PROBLEMS, by_name  # noqa: E402


def run(problem, seed=0, **extra):
    x = np.linspace(*problem.domain, 4001)
    ref = problem.reference(x)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fc.ode.ODEAccuracyWarning)
        sol = fc.solve_ode(problem.rhs, problem.domain, seed=seed, **problem.kwargs, **extra)
    seconds = time.perf_counter() - t0
    got = sol(x)
    true = got - ref
    err = float(np.max(np.abs(true)))
    est = sol.error_estimate(x)
    pointwise = float(np.max(np.abs(est - true))) / err if err > 0 else float("nan")
    return dict(err=err, est=sol.max_error_estimate, ratio=sol.max_error_estimate / err, pointwise=pointwise,
                success=sol.success, atol=sol.atol, seconds=seconds, segments=len(sol.segments), nit=sol.nit)


def row(name, r):
    return (f"| {name} | {r['err']:.1e} | {r['est']:.1e} | {r['ratio']:.2f} | {r['atol']:.0e} | "
            f"{'yes' if r['success'] else 'no'} | {r['segments']} | {r['seconds']:.2f} s |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default=None, help="problems whose name contains this")
    p.add_argument("--lagaris-seeds", type=int, default=10)
    args = p.parse_args(argv)
    print("| problem | true max error | estimate | estimate / error | atol | success | networks | time |")
    print("|---|---:|---:|---:|---:|:---:|---:|---:|")
    worst = []
    for problem in PROBLEMS:
        if args.only and args.only.lower() not in problem.name.lower():
            continue
        r = run(problem)
        worst.append((problem.name, r))
        print(row(problem.name, r), flush=True)
    if args.lagaris_seeds and (not args.only or "lagaris" in args.only.lower()):
        lag = by_name("Lagaris' coupled system on [0, 3]")
        print()
        print("| Lagaris' system, seed | true max error | estimate | estimate / error | atol | success | networks "
              "| time |")
        print("|---|---:|---:|---:|---:|:---:|---:|---:|")
        for seed in range(args.lagaris_seeds):
            r = run(lag, seed=seed)
            print(row(str(seed), r), flush=True)
    bad = [n for n, r in worst if r["success"] and not (1 / 3 <= r["ratio"] <= 3)]
    if bad:
        print("\nestimate off by more than 3x on:", ", ".join(bad))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
