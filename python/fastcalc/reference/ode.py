"""The ODE trainer in plain NumPy: the same network, trial solutions, residual loss and
Levenberg-Marquardt steps as ``cpp/src/ode_*.cpp``. The residual Jacobian here comes from the
complex step (exact to rounding for analytic functions), an independent check of the C++ reverse
mode."""
from __future__ import annotations

from typing import Callable, List, Sequence, Tuple

import numpy as np

_ACT = {
    "tanh": np.tanh,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "sin": np.sin,
}


def unpack(params: np.ndarray, hidden: Sequence[int], m: int) -> List[Tuple[np.ndarray, np.ndarray]]:
    """[(W, b)] per layer: W (out, in) row-major, then b (out)."""
    layers, at, fan_in = [], 0, 1
    for out in list(hidden) + [m]:
        W = params[at:at + out * fan_in].reshape(out, fan_in)
        at += out * fan_in
        b = params[at:at + out]
        at += out
        layers.append((W, b))
        fan_in = out
    return layers


def network(params, hidden, m, activation, x):
    """N, N', N'' (K, m) by propagating (value, d/dx, d2/dx2) through the layers; complex-safe
    (the derivatives of sigma come from a complex-safe autograd-free formula per activation)."""
    x = np.asarray(x)
    a, a1, a2 = x[:, None], np.ones((x.size, 1), dtype=x.dtype), np.zeros((x.size, 1), dtype=x.dtype)
    layers = unpack(params, hidden, m)
    for W, b in layers[:-1]:
        z, z1, z2 = a @ W.T + b, a1 @ W.T, a2 @ W.T
        s0, s1, s2 = _sigma(activation, z)
        a, a1, a2 = s0, s1 * z1, s2 * z1**2 + s1 * z2
    W, b = layers[-1]
    return a @ W.T + b, a1 @ W.T, a2 @ W.T


def _sigma(activation, z):
    if activation == "tanh":
        t = np.tanh(z)
        s1 = 1 - t**2
        return t, s1, -2 * t * s1
    if activation == "sigmoid":
        s = 1 / (1 + np.exp(-z))
        s1 = s * (1 - s)
        return s, s1, s1 * (1 - 2 * s)
    return np.sin(z), np.cos(z), -np.sin(z)


def trial(problem: dict, x, N, N1, N2):
    """y, y', y'' of the trial solution."""
    a, b = problem["a"], problem["b"]
    d = x[:, None] - a
    kind = problem["trial"]
    if kind == 0:
        y0 = np.asarray(problem["y0"])
        return y0 + d * N, N + d * N1, None
    if kind == 1:
        y0, dy0 = np.asarray(problem["y0"]), np.asarray(problem["dy0"])
        return y0 + dy0 * d + d**2 * N, dy0 + 2 * d * N + d**2 * N1, 2 * N + 4 * d * N1 + d**2 * N2
    ya, yb = np.asarray(problem["ya"]), np.asarray(problem["yb"])
    B, B1 = d * (b - x[:, None]), a + b - 2 * x[:, None]
    return ((ya * (b - x[:, None]) + yb * d) / (b - a) + B * N, (yb - ya) / (b - a) + B1 * N + B * N1,
            -2 * N + 2 * B1 * N1 + B * N2)


def residuals(params, hidden, m, activation, problem, f: Callable, x):
    """r (K, m) = y^(order) - f(x, y[, y']); f takes and returns (K, m) arrays (complex-safe)."""
    N, N1, N2 = network(params, hidden, m, activation, x)
    y, y1, y2 = trial(problem, x, N, N1, N2)
    if problem["order"] == 1:
        return y1 - f(x, y)
    return y2 - f(x, y, y1)


def jacobian(params, hidden, m, activation, problem, f, x, h: float = 1e-30) -> np.ndarray:
    """d r / d params (K*m, P) by the complex step."""
    P = params.size
    J = np.empty((x.size * m, P))
    for j in range(P):
        p = params.astype(complex)
        p[j] += 1j * h
        J[:, j] = residuals(p, hidden, m, activation, problem, f, x.astype(complex)).imag.reshape(-1) / h
    return J


def lm_step(params, hidden, m, activation, problem, f, x, lam: float):
    """One Levenberg-Marquardt step with Marquardt scaling: (J^T J + lam diag) d = -J^T r."""
    r = residuals(params, hidden, m, activation, problem, f, x).reshape(-1)
    J = jacobian(params, hidden, m, activation, problem, f, x)
    A = J.T @ J
    D = np.diag(A) + 1e-12 * np.max(np.diag(A))
    return params + np.linalg.solve(A + lam * np.diag(D), -J.T @ r)
