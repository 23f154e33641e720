"""The ``fastcalc`` command: ``fastcalc tour`` replays the course with fastcalc."""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from ._version import __version__


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="fastcalc", description="Calculus for ML with a C++ core.")
    parser.add_argument("--version", action="version", version=f"fastcalc {__version__}")
    sub = parser.add_subparsers(dest="command")
    tour = sub.add_parser("tour", help="replay the course: limits, derivatives, gradients, descent, ODEs")
    tour.add_argument("--out", default="fastcalc-tour", help="folder for the PNG figures (needs the plot extra; "
                      "default ./fastcalc-tour)")
    tour.add_argument("--no-figures", action="store_true", help="print the tables only")
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from .tour import run

    return run(out=None if args.no_figures else args.out, stream=sys.stdout)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
