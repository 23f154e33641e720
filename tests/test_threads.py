"""The core holds no global state and releases the GIL: concurrent calls give the serial results."""
import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import fastcalc as fc
from fastcalc import ccallbacks


def test_concurrent_calls_match_serial(rng):
    cap = fc.ccallback(ccallbacks, "rosenbrock")
    points = [rng.uniform(-1, 1, (20, 30)) for _ in range(8)]
    serial = [fc.gradient(cap, X) for X in points]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda X: fc.gradient(cap, X), points))
    for a, b in zip(serial, threaded):
        np.testing.assert_array_equal(a, b)


def test_python_callbacks_from_threads(rng):
    xs = [rng.uniform(0.1, 2, 500) for _ in range(6)]
    with ThreadPoolExecutor(3) as pool:
        out = list(pool.map(lambda x: fc.derivative(np.log, x), xs))
    for x, d in zip(xs, out):
        np.testing.assert_allclose(d, 1 / x, rtol=1e-10)


def test_info_pickles():
    info = fc.derivative(np.sin, [0.1, 0.2], full_output=True)
    back = pickle.loads(pickle.dumps(info))
    np.testing.assert_array_equal(back.error, info.error)
    assert back["nfev"].tolist() == info.nfev.tolist()
