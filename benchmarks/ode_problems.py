"""A broad set of ODE problems for fastcalc.solve_ode with their true solutions: first order,
second-order initial and boundary value problems, systems of 2-3 equations, nonlinear ones,
domains up to 10 periods of the solution. ``ode_validation.py`` runs them all with the defaults
and prints the true error against the error estimate (README's table); the tests run a fast
subset of the same cases."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np


@dataclass
class Problem:
    name: str
    rhs: object
    domain: tuple
    kwargs: dict
    exact: Optional[Callable] = None     # y(x): (n,) or (n, m)
    ivp: Optional[Callable] = None       # f(t, u) of the first-order form, for solve_ivp
    u0: Optional[Sequence[float]] = None
    components: Optional[slice] = None   # which entries of u are y (order 2: the first m)
    tags: tuple = field(default_factory=tuple)

    def reference(self, x: np.ndarray) -> np.ndarray:
        if self.exact is not None:
            return np.asarray(self.exact(x), dtype=float)
        from scipy.integrate import solve_ivp

        sol = solve_ivp(self.ivp, self.domain, self.u0, t_eval=x, method="DOP853", rtol=1e-13, atol=1e-15)
        u = sol.y.T[:, self.components or slice(None)]
        return u[:, 0] if u.shape[1] == 1 else u


def _lv(t, u):
    return [u[0] - u[0] * u[1], u[0] * u[1] - u[1]]


def _lv_deepxde(t, u):  # DeepXDE's scaled Lotka-Volterra (ub = 200, rb = 20)
    return [40 * u[0] - 160 * u[0] * u[1], 80 * u[0] * u[1] - 21.2 * u[1]]


def _vdp(t, u):
    return [u[1], (1 - u[0] ** 2) * u[1] - u[0]]


def _rigid(t, u):  # Euler's rigid body (MATLAB's rigidode)
    return [u[1] * u[2], -u[0] * u[2], -0.51 * u[0] * u[1]]


def _pendulum(t, u):
    return [u[1], -np.sin(u[0])]


def _duffing(t, u):
    return [u[1], -u[0] - u[0] ** 3]


def _cusp(x):  # the integral of sqrt|t - 0.3| from 0: y'' is infinite at 0.3
    c = 0.3 ** 1.5
    return (2 / 3) * np.where(x < 0.3, c - np.abs(0.3 - x) ** 1.5, c + np.abs(x - 0.3) ** 1.5)


TWO_PI = 2 * np.pi

PROBLEMS = [
    Problem("y' = x (the report's first)", "x", (0.0, 1.0), dict(y0=0.0), exact=lambda x: x**2 / 2,
            tags=("fast",)),
    Problem("decay y' = -y/2", "-0.5*y", (0.0, 2.0), dict(y0=1.5), exact=lambda x: 1.5 * np.exp(-0.5 * x),
            tags=("fast",)),
    Problem("growth y' = 0.7 y", "0.7*y", (0.0, 2.0), dict(y0=1.5), exact=lambda x: 1.5 * np.exp(0.7 * x)),
    Problem("logistic y' = 2y(1 - y)", "2*y*(1 - y)", (0.0, 3.0), dict(y0=0.1),
            exact=lambda x: 0.1 * np.exp(2 * x) / (0.9 + 0.1 * np.exp(2 * x)), tags=("fast",)),
    Problem("logistic on [0, 12]", "y*(1 - y)", (0.0, 12.0), dict(y0=0.01),
            exact=lambda x: 1 / (1 + 99 * np.exp(-x))),
    Problem("damped oscillation (the report's)", "exp(-x/5)*cos(x) - y/5", (0.0, 2.0), dict(y0=0.0),
            exact=lambda x: np.exp(-x / 5) * np.sin(x)),
    Problem("Gaussian y' = -2xy", "-2*x*y", (0.0, 3.0), dict(y0=1.0), exact=lambda x: np.exp(-x**2)),
    Problem("cusp y' = sqrt(abs(x - 0.3))", "sqrt(abs(x - 0.3))", (0.0, 1.0), dict(y0=0.0), exact=_cusp),
    Problem("y' = cos(x) y, 10 periods", "cos(x)*y", (0.0, 10 * TWO_PI), dict(y0=1.0),
            exact=lambda x: np.exp(np.sin(x))),
    Problem("harmonic y'' = -y", "-y", (0.0, 3.0), dict(y0=0.0, dy0=1.0, order=2), exact=np.sin, tags=("fast",)),
    Problem("harmonic y'' = -y, 10 periods", "-y", (0.0, 10 * TWO_PI), dict(y0=0.0, dy0=1.0, order=2),
            exact=np.sin),
    Problem("pendulum y'' = -sin y on [0, 15]", "-sin(y)", (0.0, 15.0), dict(y0=1.0, dy0=0.0, order=2),
            ivp=_pendulum, u0=[1.0, 0.0], components=slice(0, 1)),
    Problem("Duffing y'' = -y - y^3 on [0, 10]", "-y - y**3", (0.0, 10.0), dict(y0=1.0, dy0=0.0, order=2),
            ivp=_duffing, u0=[1.0, 0.0], components=slice(0, 1)),
    Problem("Poisson BVP -y'' = pi^2 sin(pi x)", "-pi**2*sin(pi*x)", (0.0, 1.0), dict(bc=(0.0, 0.0), order=2),
            exact=lambda x: np.sin(np.pi * x), tags=("fast",)),
    Problem("BVP y'' = 1.5 y^2, y(0) = 4, y(1) = 1", "1.5*y**2", (0.0, 1.0), dict(bc=(4.0, 1.0), order=2),
            exact=lambda x: 4 / (1 + x) ** 2, tags=("fast",)),
    Problem("BVP y'' = -y on [0, 6]", "-y", (0.0, 6.0), dict(bc=(1.0, float(np.cos(6.0))), order=2),
            exact=np.cos),
    Problem("system y1' = y2, y2' = -y1", ["y2", "-y1"], (0.0, 2.0), dict(y0=[0.0, 1.0]),
            exact=lambda x: np.stack([np.sin(x), np.cos(x)], 1), tags=("fast",)),
    Problem("system y1' = y2, y2' = -y1, 10 periods", ["y2", "-y1"], (0.0, 10 * TWO_PI), dict(y0=[0.0, 1.0]),
            exact=lambda x: np.stack([np.sin(x), np.cos(x)], 1)),
    Problem("Lotka-Volterra on [0, 3]", ["y1 - y1*y2", "y1*y2 - y2"], (0.0, 3.0), dict(y0=[1.0, 0.5]),
            ivp=_lv, u0=[1.0, 0.5], tags=("fast",)),
    Problem("Lotka-Volterra on [0, 20] (3 periods)", ["y1 - y1*y2", "y1*y2 - y2"], (0.0, 20.0),
            dict(y0=[1.0, 0.5]), ivp=_lv, u0=[1.0, 0.5]),
    Problem("Lotka-Volterra, DeepXDE's scaled form", ["40*y1 - 160*y1*y2", "80*y1*y2 - 21.2*y2"], (0.0, 1.0),
            dict(y0=[0.5, 0.075]), ivp=_lv_deepxde, u0=[0.5, 0.075]),
    Problem("Lagaris' coupled system on [0, 3]",
            ["cos(x) + y1**2 + y2 - (1 + x**2 + sin(x)**2)", "2*x - (1 + x**2)*sin(x) + y1*y2"], (0.0, 3.0),
            dict(y0=[0.0, 1.0]), exact=lambda x: np.stack([np.sin(x), 1 + x**2], 1), tags=("lagaris",)),
    Problem("Van der Pol (mu = 1) on [0, 3]", ["y2", "(1 - y1**2)*y2 - y1"], (0.0, 3.0), dict(y0=[2.0, 0.0]),
            ivp=_vdp, u0=[2.0, 0.0]),
    Problem("Van der Pol (mu = 1) on [0, 20]", ["y2", "(1 - y1**2)*y2 - y1"], (0.0, 20.0), dict(y0=[2.0, 0.0]),
            ivp=_vdp, u0=[2.0, 0.0]),
    Problem("Euler's rigid body on [0, 12]", ["y2*y3", "-y1*y3", "-0.51*y1*y2"], (0.0, 12.0),
            dict(y0=[0.0, 1.0, 1.0]), ivp=_rigid, u0=[0.0, 1.0, 1.0]),
]


def by_name(name: str) -> Problem:
    for p in PROBLEMS:
        if p.name == name:
            return p
    raise KeyError(name)
