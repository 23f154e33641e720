"""Plotting hooks (matplotlib, in the ``plot`` extra): the course's figures for any function.

Every function takes ``ax=`` (or makes a figure), returns the matplotlib ``Axes`` (a ``Figure``
when it draws several panels) and never calls ``plt.show()``. ``f`` is an ``Expr`` or a callable:
a function of one variable is called with an array of x values; a function of two variables
with an array of points of shape (k, 2), like ``fastcalc.gradient``.
"""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence, Tuple

import numpy as np

__all__ = ["step_error", "tangent", "limit", "partial", "surface", "contour", "gradient_field",
           "descent_path", "learning_rates", "ode_solution"]


def _plt():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError('fastcalc.plot needs matplotlib: pip install "fastcalc[plot]"') from exc
    return plt


def _axes(ax, projection: Optional[str] = None):
    if ax is not None:
        return ax
    plt = _plt()
    fig = plt.figure()
    return fig.add_subplot(projection=projection)


def _eval1(f: Any, x: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.asarray(f(x), dtype=float).reshape(x.shape)


def _eval2(f: Any, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    pts = np.stack([X.ravel(), Y.ravel()], axis=-1)
    with np.errstate(all="ignore"):
        return np.asarray(f(pts), dtype=float).reshape(X.shape)


def _name(f: Any) -> str:
    if type(f).__name__ == "Expr":
        return str(f)
    name = getattr(f, "__name__", "f")
    return "f" if name.startswith("<") else name


def step_error(f: Any, x: float, *, exact: Optional[float] = None, hs: Optional[Sequence[float]] = None, ax=None):
    """|error| of forward and central differences against h on log-log axes, with the
    truncation (h, h²) and round-off (eps/h) slopes and the optimal steps marked."""
    from .differentiate import eps, optimal_step, step_error as errors

    ax = _axes(ax)
    hs = np.logspace(-16, -1, 61) if hs is None else np.asarray(hs, dtype=float)
    for method, style in (("forward", "o-"), ("central", "s-")):
        err = errors(f, x, hs, method=method, exact=exact)
        ax.loglog(hs, np.where(err > 0, err, np.nan), style, ms=3, label=f"{method} difference")
        h_opt = optimal_step(x, method)
        ax.axvline(h_opt, ls=":", color=ax.lines[-1].get_color(), label=f"optimal h ({method}) = {h_opt:.1e}")
    scale = max(1.0, abs(float(x)))
    ax.loglog(hs, hs * scale, "k--", lw=0.8, label="truncation ∝ h")
    ax.loglog(hs, hs**2 * scale, "k-.", lw=0.8, label="truncation ∝ h²")
    ax.loglog(hs, eps * scale / hs, "k:", lw=0.8, label="round-off ∝ eps/h")
    ax.set_ylim(1e-17, 1e3)
    ax.set_xlabel("step h")
    ax.set_ylabel("|error|")
    ax.set_title(f"Truncation vs round-off for {_name(f)} at x = {x}")
    ax.legend(fontsize="small")
    return ax


def tangent(f: Any, x0: float, *, xlim: Optional[Tuple[float, float]] = None, ax=None):
    """f with its tangent line at x0: the derivative is the slope."""
    from .differentiate import derivative

    ax = _axes(ax)
    lo, hi = xlim or (x0 - 2.0, x0 + 2.0)
    x = np.linspace(lo, hi, 400)
    y0 = float(_eval1(f, np.array([x0]))[0])
    slope = float(derivative(f, float(x0)))
    ax.plot(x, _eval1(f, x), label=f"f(x) = {_name(f)}")
    ax.plot(x, y0 + slope * (x - x0), "--", label=f"tangent at x = {x0}, slope {slope:.6g}")
    ax.plot([x0], [y0], "ko")
    ax.set_xlabel("x")
    ax.legend(fontsize="small")
    return ax


def limit(f: Any, c: float, *, ax=None, terms: int = 8):
    """f near c against the distance to c (log scale, shrinking to the right), from the right and
    from the left, with the approach sequences c -/+ 10^-k; at infinity, f against x."""
    ax = _axes(ax)
    k = np.arange(1, terms + 1, dtype=float)
    if math.isinf(c):
        sgn = 1.0 if c > 0 else -1.0
        xs = np.logspace(0, terms / 2, 4000)
        seq = 10.0 ** (k / 2)
        ax.plot(xs, _eval1(f, sgn * xs), lw=0.8, label=_name(f))
        ax.plot(seq, _eval1(f, sgn * seq), "o", label=f"x = {'' if sgn > 0 else '-'}10^(k/2)")
        ax.set_xscale("log")
        ax.set_xlabel("x" if sgn > 0 else "-x")
        ax.set_title(f"approaching x -> {'+' if sgn > 0 else '-'}inf")
    else:
        d = np.logspace(1, -7, 800)
        right, left = _eval1(f, c + d), _eval1(f, c - d)
        ax.plot(d, right, lw=1, label="from the right: f(c + d)")
        ax.plot(d, left, lw=1, label="from the left: f(c - d)")
        dk = 10.0 ** -k
        ax.plot(dk, _eval1(f, c + dk), ">", color=ax.lines[0].get_color())
        ax.plot(dk, _eval1(f, c - dk), "<", color=ax.lines[1].get_color())
        ax.set_xscale("log")
        ax.invert_xaxis()  # the distance shrinks to the right: the approach reads left to right
        ax.set_xlabel(f"distance d to c = {c}")
        finite = np.concatenate([right[np.isfinite(right)], left[np.isfinite(left)]])
        if finite.size and np.max(np.abs(finite)) > 1e3:
            ax.set_yscale("symlog")
        ax.set_title(f"approaching x -> {c}")
    ax.legend(fontsize="small")
    return ax


def _grid(xlim, ylim, n):
    X, Y = np.meshgrid(np.linspace(*xlim, n), np.linspace(*ylim, n))
    return X, Y


def surface(f: Any, *, xlim=(-2.0, 2.0), ylim=(-2.0, 2.0), n: int = 60, ax=None):
    """The surface z = f(x, y)."""
    ax = _axes(ax, projection="3d")
    X, Y = _grid(xlim, ylim, n)
    ax.plot_surface(X, Y, _eval2(f, X, Y), cmap="viridis", linewidth=0, antialiased=True)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_zlabel("f")
    ax.set_title(_name(f))
    return ax


def contour(f: Any, *, xlim=(-2.0, 2.0), ylim=(-2.0, 2.0), n: int = 120, levels: int = 20, ax=None):
    """Filled contours of f(x, y)."""
    ax = _axes(ax)
    X, Y = _grid(xlim, ylim, n)
    cs = ax.contourf(X, Y, _eval2(f, X, Y), levels=levels, cmap="viridis")
    ax.figure.colorbar(cs, ax=ax)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(_name(f))
    return ax


def gradient_field(f: Any, *, xlim=(-2.0, 2.0), ylim=(-2.0, 2.0), n: int = 15, ax=None):
    """The gradient as arrows over the contours: it points uphill, its length is the rate."""
    from .differentiate import gradient

    ax = contour(f, xlim=xlim, ylim=ylim, ax=ax)
    X, Y = _grid(xlim, ylim, n)
    G = gradient(f, np.stack([X.ravel(), Y.ravel()], axis=-1))
    ax.quiver(X, Y, G[:, 0].reshape(X.shape), G[:, 1].reshape(X.shape), color="white")
    ax.set_title(f"∇f over the contours of {_name(f)}")
    return ax


def partial(f: Any, *, at: Tuple[float, float], var: str = "x", xlim=(-2.0, 2.0), ylim=(-2.0, 2.0)):
    """Figure: the surface with the plane var-slice, and the slice with its tangent (∂f/∂var)."""
    from .differentiate import gradient

    plt = _plt()
    fig = plt.figure(figsize=(11, 4.5))
    ax3 = fig.add_subplot(1, 2, 1, projection="3d")
    surface(f, xlim=xlim, ylim=ylim, ax=ax3)
    ax = fig.add_subplot(1, 2, 2)
    x0, y0 = map(float, at)
    g = gradient(f, np.array([x0, y0]))
    if var == "x":
        t = np.linspace(*xlim, 300)
        z = _eval2(f, t, np.full_like(t, y0))
        ax3.plot(t, np.full_like(t, y0), z, "r", lw=2)
        t0, slope, other = x0, g[0], f"y = {y0}"
    elif var == "y":
        t = np.linspace(*ylim, 300)
        z = _eval2(f, np.full_like(t, x0), t)
        ax3.plot(np.full_like(t, x0), t, z, "r", lw=2)
        t0, slope, other = y0, g[1], f"x = {x0}"
    else:
        raise ValueError(f"var must be 'x' or 'y', got {var!r}")
    z0 = float(_eval2(f, np.array([x0]), np.array([y0]))[0])
    ax.plot(t, z, "r", label=f"f with {other} held constant")
    ax.plot(t, z0 + slope * (t - t0), "k--", label=f"∂f/∂{var} = {slope:.6g} at {at}")
    ax.set_xlabel(var)
    ax.legend(fontsize="small")
    return fig


def descent_path(result: Any, f: Any = None, *, ax=None, max_runs: int = 20):
    """The iterates of a DescentResult over the curve (one variable) or contours (two)."""
    if result.history is None:
        raise ValueError("descent_path needs a result computed with history=True")
    n = getattr(result, "_nvars", 1)
    H = np.asarray(result.history).reshape(len(result.history), -1, n)  # (rows, runs, n)
    F = np.asarray(result.fun_history).reshape(len(result.history), -1)
    runs = range(min(H.shape[1], max_runs))
    if n == 1:
        ax = _axes(ax)
        lo, hi = np.nanmin(H), np.nanmax(H)
        pad = 0.2 * (hi - lo) + 0.5
        if f is not None:
            x = np.linspace(lo - pad, hi + pad, 400)
            ax.plot(x, _eval1(f, x), color="0.4", label=_name(f))
        for r in runs:
            xs = H[:, r, 0]
            ys = F[:, r]
            ax.plot(xs, ys, "o-", ms=4, label=f"run {r}" if H.shape[1] > 1 else "iterates")
        ax.set_xlabel("x")
    elif n == 2:
        lo, hi = np.nanmin(H[..., 0]), np.nanmax(H[..., 0])
        lo2, hi2 = np.nanmin(H[..., 1]), np.nanmax(H[..., 1])
        px, py = 0.2 * (hi - lo) + 0.5, 0.2 * (hi2 - lo2) + 0.5
        if f is not None:
            ax = contour(f, xlim=(lo - px, hi + px), ylim=(lo2 - py, hi2 + py), ax=ax)
        else:
            ax = _axes(ax)
        for r in runs:
            ax.plot(H[:, r, 0], H[:, r, 1], "o-", ms=3, color="white" if f is not None else None)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    else:
        raise ValueError(f"descent_path draws one or two variables, got {n}")
    ax.set_title("descent path")
    if n == 1:
        ax.legend(fontsize="small")
    return ax


def learning_rates(f: Any, x0: float, lrs: Sequence[float] = (0.9, 0.1), steps: int = 5, *, maximize: bool = False):
    """Figure: one panel per learning rate, the iterates over the curve (the course's comparison)."""
    from .optimize import descent

    plt = _plt()
    fig, axes = plt.subplots(1, len(lrs), figsize=(5 * len(lrs), 4), squeeze=False)
    for ax, lr in zip(axes[0], lrs):
        res = descent(f, float(x0), lr=float(lr), maxiter=steps, gtol=0, maximize=maximize)
        descent_path(res, f, ax=ax)
        ax.set_title(f"learning rate {lr} for {steps} steps")
    fig.tight_layout()
    return fig


def ode_solution(sol: Any, exact: Any = None, *, points: int = 400):
    """Figure: the network solution against the exact (or solve_ivp) one, the residual, and the
    training loss."""
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    a, b = sol.domain
    x = np.linspace(a, b, points)
    y = np.asarray(sol(x))
    y2 = y.reshape(len(x), -1)
    for j in range(y2.shape[1]):
        axes[0].plot(x, y2[:, j], lw=2, label=f"network y{j + 1}" if y2.shape[1] > 1 else "network")
    if exact is not None:
        ye = np.asarray(exact(x), dtype=float).reshape(len(x), -1)
        for j in range(ye.shape[1]):
            axes[0].plot(x, ye[:, j], "k--", lw=1, label="exact" if j == 0 else None)
        err = np.abs(y2 - ye).max(axis=1)
        axes[1].semilogy(x, np.maximum(err, 1e-17), label="|network - exact|")
    res = np.abs(np.asarray(sol.residual(x))).reshape(len(x), -1).max(axis=1)
    axes[1].semilogy(x, np.maximum(res, 1e-17), label="|residual|")
    axes[2].semilogy(np.asarray(sol.loss_history))
    axes[0].set_title("solution")
    axes[1].set_title("error and residual")
    axes[2].set_title("training loss")
    axes[2].set_xlabel("epoch")
    for ax in axes[:2]:
        ax.set_xlabel("x")
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig
