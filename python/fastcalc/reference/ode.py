"""The ODE trainer in plain NumPy: the same network, trial solutions, residual loss,
Levenberg-Marquardt step and error estimate as ``cpp/src/ode_*.cpp``. The residual Jacobian here
comes from the complex step (exact to rounding for analytic functions), an independent check of
the C++ reverse mode."""
from __future__ import annotations

from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np


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


def input_map(problem: dict) -> Tuple[float, float]:
    """The network's input t = (x - shift) * scale maps the problem's interval onto [-1, 1]."""
    a, b = problem["a"], problem["b"]
    return 0.5 * (a + b), 2.0 / (b - a)


def network(params, hidden, m, activation, x, problem: dict):
    """N, N', N'' (K, m) by propagating (value, d/dx, d2/dx2) through the layers; complex-safe."""
    shift, scale = input_map(problem)
    x = np.asarray(x)
    a = ((x - shift) * scale)[:, None]
    a1 = np.full((x.size, 1), scale, dtype=x.dtype)
    a2 = np.zeros((x.size, 1), dtype=x.dtype)
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


def solution(params, hidden, m, activation, problem, x):
    """y, y', y'' of the trained solution at x."""
    return trial(problem, x, *network(params, hidden, m, activation, x, problem))


def residuals(params, hidden, m, activation, problem, f: Callable, x):
    """r (K, m) = y^(order) - f(x, y[, y']); f takes and returns (K, m) arrays (complex-safe)."""
    y, y1, y2 = solution(params, hidden, m, activation, problem, x)
    if problem["order"] == 1:
        return y1 - f(x, y)
    return y2 - f(x, y, y1)


def jacobian(params, hidden, m, activation, problem, f, x, h: float = 1e-30) -> np.ndarray:
    """d r / d params (K*m, P) by the complex step; rows point-major (k * m + i)."""
    P = params.size
    J = np.empty((x.size * m, P))
    for j in range(P):
        p = params.astype(complex)
        p[j] += 1j * h
        J[:, j] = residuals(p, hidden, m, activation, problem, f, x.astype(complex)).imag.reshape(-1) / h
    return J


def loss_gradient(params, hidden, m, activation, problem, f, x):
    """The loss mean(r**2) and its gradient 2/R J^T r."""
    r = residuals(params, hidden, m, activation, problem, f, x).reshape(-1)
    J = jacobian(params, hidden, m, activation, problem, f, x)
    return float(np.mean(r**2)), 2.0 / r.size * (J.T @ r)


def lm_step(params, hidden, m, activation, problem, f, x, lam: float):
    """One Levenberg-Marquardt step with Marquardt scaling: (J^T J + lam D) d = -J^T r,
    D = diag(J^T J) + 1e-12 max diag."""
    r = residuals(params, hidden, m, activation, problem, f, x).reshape(-1)
    J = jacobian(params, hidden, m, activation, problem, f, x)
    A = J.T @ J
    D = np.diag(A) + 1e-12 * np.max(np.diag(A))
    return params + np.linalg.solve(A + lam * np.diag(D), -J.T @ r)


def error_estimate(params, hidden, m, activation, problem, f: Callable, fjac: Callable, n: int,
                   e0: Optional[np.ndarray] = None):
    """The linearized error equation e' = f_y e + r (order 1) or e'' = f_y e + f_dy e' + r
    (order 2; e(a) = e(b) = 0 for a boundary value problem) by RK4 with n steps.

    fjac(x, y[, dy]) gives f_y (K, m, m) (and f_dy for order 2, as a pair). Returns the nodes and
    e at them (n + 1, m)."""
    a, b = problem["a"], problem["b"]
    order = problem["order"]
    S = m * order
    pts = a + np.arange(2 * n + 1) * ((b - a) / (2 * n))
    pts[-1] = b
    y, y1, y2 = solution(params, hidden, m, activation, problem, pts)
    if order == 1:
        r = y1 - f(pts, y)
        A = np.asarray(fjac(pts, y))
    else:
        r = y2 - f(pts, y, y1)
        fy, fdy = fjac(pts, y, y1)
        A = np.zeros((pts.size, S, S))
        A[:, :m, m:] = np.eye(m)
        A[:, m:, :m] = fy
        A[:, m:, m:] = fdy
    F = np.zeros((pts.size, S))
    F[:, S - m:] = r
    h = (b - a) / n
    bvp = problem["trial"] == 2
    Y = np.zeros((S, 1 + S))
    if e0 is not None and not bvp:
        Y[:, 0] = e0
    Y[:, 1:] = np.eye(S)
    forcing = np.zeros((pts.size, S, 1 + S))
    forcing[:, :, 0] = F

    def d(j, Y):
        return A[j] @ Y + forcing[j]

    nodes = [Y.copy()]
    for i in range(n):
        k1 = d(2 * i, Y)
        k2 = d(2 * i + 1, Y + 0.5 * h * k1)
        k3 = d(2 * i + 1, Y + 0.5 * h * k2)
        k4 = d(2 * i + 2, Y + h * k3)
        Y = Y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        nodes.append(Y.copy())
    nodes = np.array(nodes)
    E = nodes[:, :, 0].copy()
    if bvp:
        Yb = nodes[-1]
        c = np.linalg.solve(Yb[:m, 1 + m:], -Yb[:m, 0])
        E += nodes[:, :, 1 + m:] @ c
    return pts[::2], E[:, :m]
