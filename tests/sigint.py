"""Run a call in a child process, send it SIGINT while it works, and report how it ended.

Used by tests/test_sigint.py; ``python tests/sigint.py`` prints the latency of every case (the
figures the closing notes quote). The child prints "ready" once set up (compiled, warmed),
then makes the call; the parent waits, sends SIGINT, and reads whether the call raised
KeyboardInterrupt (or returned its documented interrupted result) and when."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

CHILD = """
import sys, time
import numpy as np
import fastcalc as fc
{setup}
print("ready", flush=True)
try:
    result = {call}
    print("returned", time.time(), {check}, flush=True)
except KeyboardInterrupt:
    print("interrupted", time.time(), flush=True)
"""


def run(setup: str, call: str, check: str = "None", delay: float = 0.5, env=None, timeout: float = 60.0):
    """('interrupted'|'returned'|'error', latency in seconds or None, the child's output)."""
    code = CHILD.format(setup=textwrap.dedent(setup), call=call, check=check)
    e = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), **(env or {}))
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=e)
    try:
        line = p.stdout.readline()
        if line.strip() != "ready":
            p.kill()
            out, err = p.communicate()
            return "error", None, line + out + err
        time.sleep(delay)
        sent = time.time()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return "hang", None, out + err
    words = out.split()
    if not words or words[0] not in ("interrupted", "returned"):
        return "error", None, out + err
    return words[0], float(words[1]) - sent, out + err


# (name, setup, call, check): each call would run for many seconds uninterrupted.
CASES = [
    ("descent, OpenMP runs", """
        f = fc.expr("(1 - x)**2 + 100*(y - x**2)**2")
        x0 = np.random.default_rng(0).uniform(-2, 2, (4096, 2))
        fc.descent(f, x0, lr=1e-4, maxiter=10, history=False)
        """, "fc.descent(f, x0, lr=1e-4, maxiter=10**9, history=False, gtol=0)", "None"),
    ("descent, interpreter", """
        f = fc.expr("(1 - x)**2 + 100*(y - x**2)**2")
        x0 = np.random.default_rng(0).uniform(-2, 2, (300, 2))
        """, "fc.descent(f, x0, lr=1e-4, maxiter=10**9, history=False, gtol=0, jit=False, threads=1)", "None"),
    ("descent, line search", """
        f = fc.expr("(1 - x)**2 + 100*(y - x**2)**2")
        x0 = np.random.default_rng(0).uniform(-2, 2, (3000, 2))
        """, "fc.descent(f, x0, lr=1.0, maxiter=10**9, history=False, gtol=0, line_search=True)", "None"),
    ("descent, Python callable", """
        f = lambda X: (1 - X[:, 0])**2 + 100*(X[:, 1] - X[:, 0]**2)**2
        g = lambda X: np.stack([-2*(1 - X[:, 0]) - 400*X[:, 0]*(X[:, 1] - X[:, 0]**2), 200*(X[:, 1] - X[:, 0]**2)], 1)
        x0 = np.random.default_rng(0).uniform(-2, 2, (10, 2))
        """, "fc.descent(f, x0, lr=1e-4, maxiter=10**9, history=False, gtol=0, grad=g)", "None"),
    ("Expr on 1e8 points, native", """
        f = fc.expr("x*exp(-(x**2 + y**2)) + sin(3*x)*tanh(y)")
        x = np.random.default_rng(0).uniform(-2, 2, 10**8)
        f._native(1)
        """, "f.value_and_gradient(x=x, y=x)", "None"),
    ("Expr on 1e8 points, interpreter", """
        f = fc.expr("x*exp(-(x**2 + y**2)) + sin(3*x)*tanh(y)")
        x = np.random.default_rng(0).uniform(-2, 2, 10**8)
        """, "f._tape().gradient_columns([x, x])", "None"),
    ("fit by Levenberg-Marquardt, 2e6 points", """
        m = fc.expr("a*exp(-b*x) + c*sin(d*x)")
        x = np.linspace(0, 10, 2 * 10**6)
        y = 2.5 * np.exp(-1.3 * x) + 0.5 * np.sin(3 * x)
        """, "fc.fit(m, x, y, ['a', 'b', 'c', 'd'], p0=[1, 1, 1, 1], maxiter=10**6, ftol=0, xtol=0, gtol=0)", "None"),
    ("fit by descent, 2e6 points", """
        m = fc.expr("a*exp(-b*x) + c")
        x = np.linspace(0, 4, 2 * 10**6)
        y = 2.5 * np.exp(-1.3 * x) + 0.5
        """, "fc.fit(m, x, y, ['a', 'b', 'c'], method='gd', lr=1e-3, maxiter=10**9, gtol=0)", "None"),
    ("derivative of a NumPy f, 3e7 points", """
        x = np.linspace(0, 1, 3 * 10**7)
        f = lambda t: np.sin(t) * np.exp(t)
        """, "fc.derivative(f, x)", "None"),
    ("Hessian of a compiled callback, 700 variables", """
        from fastcalc import ccallbacks
        cap = fc.ccallback(ccallbacks, "rosenbrock")
        x = np.linspace(-1, 1, 700)
        """, "fc.hessian(cap, x)", "None"),
    ("exact Hessian of an Expr, 1e7 points", """
        f = fc.expr(" + ".join(f"sin({k}*x + y)*exp(-{k}*x*y)" for k in range(1, 20)))
        X = np.random.default_rng(0).uniform(-2, 2, (10**7, 2))
        """, "f._tape().hessian(X)", "None"),
]


if __name__ == "__main__":
    for name, setup, call, check in CASES:
        how, latency, out = run(setup, call, check)
        print(f"{name:40s} {how:12s} " + (f"{latency * 1e3:7.1f} ms after SIGINT" if latency is not None else out[-300:]))
