"""Measure fastcalc side by side with the alternatives a user would pick, in one run, and print
Markdown tables of times, ratios and errors (README carries them).

    python benchmarks/compare.py [--quick] [--only NAME]

Needs the bench extra (scipy, numdifftools, numexpr; JAX and PyTorch optional). One thread.
"""
from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _timing import table  # noqa: E402  (sets the thread variables before NumPy loads)

MODULES = ["compare_findiff", "compare_expr", "compare_native", "compare_descent", "compare_fit", "compare_ode",
           "compare_limits", "compare_dask"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test, not a measurement")
    p.add_argument("--only", default=None, help="run only sections whose title contains this")
    args = p.parse_args(argv)
    import numpy as np

    import fastcalc

    print(f"fastcalc {fastcalc.__version__}, NumPy {np.__version__}, Python {platform.python_version()}, "
          f"{platform.machine()}, one thread\n")
    for name in MODULES:
        mod = importlib.import_module(name)
        for title, fn in mod.SECTIONS:
            if args.only and args.only.lower() not in title.lower():
                continue
            print(f"### {title}\n")
            print(table(fn(args.quick)))
            print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
