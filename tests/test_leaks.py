"""No leaks: the resident memory after many calls of each main function stays where a few
calls left it (10^5 calls of the fast ones, 10^4 of the others)."""
import gc
import os
import pickle
import sys

import numpy as np
import pytest

import fastcalc as fc

pytestmark = [pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm"),
              # AddressSanitizer holds freed memory in quarantine: resident memory says nothing there
              pytest.mark.skipif("asan" in os.environ.get("LD_PRELOAD", ""), reason="under AddressSanitizer")]


def rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


E = fc.expr("x*exp(-(x**2 + y**2)) + sin(3*x)*tanh(y)")
ROSEN = fc.expr("(1 - x)**2 + 100*(y - x**2)**2")
X = np.random.default_rng(0).uniform(-1, 1, (8, 2))
CALLS = [
    ("Expr call", lambda: E(0.3, 0.2), 10**5),
    ("Expr on arrays", lambda: E(X), 10**5),
    ("tape gradient", lambda: E._tape().gradient(X), 10**5),
    ("exact hessian", lambda: fc.hessian(E, X), 10**5),
    ("value_and_gradient", lambda: E.value_and_gradient(X), 10**5),
    ("descent", lambda: fc.descent(ROSEN, X, lr=1e-3, maxiter=5), 10**4),
    ("descent of a callable", lambda: fc.descent(lambda Z: Z[:, 0] ** 2, [[1.0, 2.0]], lr=0.1, maxiter=3), 10**4),
    ("derivative", lambda: fc.derivative(np.sin, [0.1, 0.2]), 10**4),
    ("gradient", lambda: fc.gradient(lambda Z: np.sum(Z**2, axis=-1), [0.1, 0.2]), 10**4),
    ("pickle round trip", lambda: pickle.loads(pickle.dumps(E)), 10**4),
]


@pytest.mark.parametrize("name, call, n", CALLS, ids=[c[0] for c in CALLS])
def test_memory_stays_bounded(name, call, n):
    for order in (0, 1, 2):  # native kernels the repeated calls would compile: not a leak
        E._native(order)
    for _ in range(min(n // 10, 2000)):  # warm: caches, pools, the allocator's arenas
        call()
    gc.collect()
    before = rss()
    for _ in range(n):
        call()
    gc.collect()
    grown = rss() - before
    # a leak of 16 bytes per call would show as 1.6 MB over 10^5 calls
    assert grown < 1.5 * 2**20, f"{name}: resident memory grew by {grown / 2**20:.1f} MB over {n} calls"


def test_native_kernels_dropped_from_the_cache_free_their_code(monkeypatch):
    from fastcalc import _jit
    if not _jit.available():
        pytest.skip("no JIT here")
    monkeypatch.setattr(_jit, "_CACHE_SIZE", 8)
    for i in range(20):
        fc.expr(f"sin({i + 1}*x)*y + {i}")._native(1)
    gc.collect()
    before = rss()
    for i in range(20, 220):
        fc.expr(f"sin({i + 1}*x)*y + {i}")._native(1)
    gc.collect()
    grown = rss() - before
    assert len(_jit._CACHE) <= 8
    # 200 kernels kept would take about 30 MB here
    assert grown < 8 * 2**20, f"resident memory grew by {grown / 2**20:.1f} MB over 200 compiled kernels"
