"""pytest-benchmark suite. FASTCALC_BENCH_SIZE=tiny shrinks every case (the smoke test uses it)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _timing  # noqa: E402,F401  (one thread for NumPy/BLAS before they load)

TINY = os.environ.get("FASTCALC_BENCH_SIZE") == "tiny"


def size(full: int, tiny: int) -> int:
    return tiny if TINY else full
