"""``fastcalc.show_config()``: which backends this process runs, and why."""
from __future__ import annotations

import sys
from typing import Any, Dict

from . import _core, _jit


def config() -> Dict[str, Any]:
    """The backends as a dict: the JIT (llvmlite) or the reason there is none, the vector math
    library, OpenMP's threads."""
    vm = _core.native_functions(True)["vmath"]
    width = max(w for w, _ in vm.values())
    return {
        "version": __import__("fastcalc").__version__,
        "python": sys.version.split()[0],
        "jit": _jit.config(),
        "vector_math": ("libmvec, %d lanes" % width) if _core.simd_available() else "the C library (scalar)",
        "openmp_threads": _core.parallel_threads(),
    }


def show_config() -> None:
    """Print which backend runs fastcalc's expressions and descent, and why.

    Native kernels are compiled in process by LLVM (llvmlite) when their compile time pays
    for itself (``fastcalc._jit.decide``); without llvmlite, or with ``FASTCALC_JIT=0``, the
    interpreters run and give the same numbers.

    Examples
    --------
    >>> import fastcalc as fc
    >>> fc.show_config()  # doctest: +SKIP
    fastcalc 0.x
      jit: llvmlite 0.50.0 (LLVM 20.1), cpu emeraldrapids, 8 lanes
      ...
    """
    c = config()
    j = c["jit"]
    print(f"fastcalc {c['version']} (Python {c['python']})")
    if j.get("jit"):
        print(f"  jit: llvmlite {j['llvmlite']} (LLVM {j['llvm']}), cpu {j['cpu']}, {j['vector_width']} lanes, "
              f"{j['cached_kernels']} kernel(s) compiled")
    else:
        print(f"  jit: off ({j['reason']}): the interpreters run")
    print(f"  vector math: {c['vector_math']}")
    print(f"  OpenMP threads: {c['openmp_threads']}")
