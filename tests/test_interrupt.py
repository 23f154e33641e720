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
