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
    tour.add_argument("--out", default=None, metavar="DIR",
                      help="folder for the PNG figures (needs the plot extra; default: tour/ under fastcalc's "
                           "cache folder, FASTCALC_CACHE or the user's cache directory)")
    tour.add_argument("--no-figures", action="store_true", help="print the tables only")
    tour.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from .tour import default_out, run

    out = None if args.no_figures else (args.out if args.out is not None else default_out())
    return run(out=out, stream=sys.stdout, progress=False if args.no_progress else None)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
