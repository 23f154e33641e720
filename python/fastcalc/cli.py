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
    tour.add_argument("--out", default=None, help="folder for the figures (needs the plot extra)")
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from .tour import run

    return run(out=args.out, stream=sys.stdout)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
