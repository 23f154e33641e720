"""Long C++ loops notice Ctrl-C: SIGINT during a compiled-callback Hessian raises KeyboardInterrupt."""
import signal
import threading

import numpy as np
import pytest

import fastcalc as fc
from fastcalc import ccallbacks


@pytest.mark.skipif(not hasattr(signal, "raise_signal"), reason="needs signal.raise_signal")
def test_sigint_stops_a_long_hessian():
    cap = fc.ccallback(ccallbacks, "rosenbrock")
    x = np.linspace(-1, 1, 700)  # ~10 s of work uninterrupted
    timer = threading.Timer(0.3, signal.raise_signal, args=(signal.SIGINT,))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            fc.hessian(cap, x)
    finally:
        timer.cancel()


@pytest.mark.skipif(not hasattr(signal, "raise_signal"), reason="needs signal.raise_signal")
def test_sigint_stops_levenberg_marquardt_on_large_data():
    x = np.linspace(0, 4, 1_000_000)
    y = 2.5 * np.exp(-1.3 * x) + 0.5
    model = fc.expr("a*exp(-b*x) + c")
    timer = threading.Timer(0.3, signal.raise_signal, args=(signal.SIGINT,))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):  # no tolerance: minutes of iterations uninterrupted
            fc.fit(model, x, y, ["a", "b", "c"], maxiter=10**6, gtol=0, ftol=0, xtol=0)
    finally:
        timer.cancel()
