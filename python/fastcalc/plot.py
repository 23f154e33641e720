"""Plotting hooks (matplotlib, in the ``plot`` extra): the course's figures for any function.

Every function takes ``ax=`` (or makes a figure), returns the matplotlib ``Axes`` (a ``Figure``
when it draws several panels) and never calls ``plt.show()``. ``f`` is an ``Expr`` or a callable:
a function of one variable is called with an array of x values; a function of two variables
with an array of points of shape (k, 2), like ``fastcalc.gradient``.

Every figure labels its axes (with an expression's own variable names) and names the function
or equation in its title; ``name=`` replaces the name fastcalc finds for a callable.

>>> import fastcalc as fc
>>> ax = fc.plot.tangent(fc.expr("x**2"), 3.0)
>>> ax.get_title()
'Tangent to f(x) = x**2 at x = 3.0: slope 6'
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
        raise ImportError('fastcalc.plot needs matplotlib: pip install "fastcalc-ml[plot]"') from exc
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


def _is_expr(f: Any) -> bool:
    return type(f).__name__ == "Expr"


def _vars(f: Any, n: int) -> Tuple[str, ...]:
    """The variable names to label axes with: an expression's own, else x (and y)."""
    names = tuple(str(v) for v in getattr(f, "vars", ())) if _is_expr(f) else ()
    return names if len(names) == n else ("x", "y")[:n]


def _name(f: Any, name: Optional[str] = None) -> str:
    """The function as a title states it: ``f(x) = x**2`` for an expression, ``f = sin`` for a
    named callable, ``f`` otherwise."""
    if name is not None:
        return name
    if _is_expr(f):
        return f"f({', '.join(str(v) for v in f.vars)}) = {f}"
    label = getattr(f, "__name__", "f")
    return "f" if label.startswith("<") or label == "f" else f"f = {label}"


def _legend(ax, outside: bool = False) -> None:
    if outside:  # beside the axes: nothing drawn is hidden
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    else:
        ax.legend(fontsize="small")


def step_error(f: Any, x: float, *, exact: Optional[float] = None, hs: Optional[Sequence[float]] = None,
               name: Optional[str] = None, ax=None):
    """The error of forward and central differences against the step, on log-log axes.

    Parameters
    ----------
    f : Expr or callable
        The function of one variable.
    x : float
        The point where f' is approximated.
    exact : float, optional
        The exact derivative; without it the error is measured against fastcalc's automatic
        derivative.
    hs : sequence of float, optional
        The steps (default 61 steps from 1e-16 to 1e-1).
    name : str, optional
        The function's name in the title.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        With the truncation (h, h²) and round-off (eps/h) slopes and the optimal steps marked.
    """
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
    ax.set_ylabel("|finite difference − f′(x)|")
    ax.set_title(f"Truncation vs round-off: f′ of {_name(f, name)} at x = {x}")
    _legend(ax, outside=True)
    return ax


def tangent(f: Any, x0: float, *, xlim: Optional[Tuple[float, float]] = None, name: Optional[str] = None, ax=None):
    """f with its tangent line at x0: the derivative is the slope.

    Parameters
    ----------
    f : Expr or callable
        A function of one variable.
    x0 : float
        The point of tangency.
    xlim : (float, float), optional
        The range of x (default x0 - 2 to x0 + 2).
    name : str, optional
        The function's name in the title and legend.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    from .differentiate import derivative

    ax = _axes(ax)
    lo, hi = xlim or (x0 - 2.0, x0 + 2.0)
    x = np.linspace(lo, hi, 400)
    y0 = float(_eval1(f, np.array([x0]))[0])
    slope = float(derivative(f, float(x0)))
    (v,) = _vars(f, 1)
    ax.plot(x, _eval1(f, x), label=_name(f, name))
    ax.plot(x, y0 + slope * (x - x0), "--", label=f"tangent at {v} = {x0}, slope {slope:.6g}")
    ax.plot([x0], [y0], "ko")
    ax.set_xlabel(v)
    ax.set_ylabel(f"f({v})")
    ax.set_title(f"Tangent to {_name(f, name)} at {v} = {x0}: slope {slope:.6g}")
    _legend(ax)
    return ax


def _envelope(ax, x: np.ndarray, y: np.ndarray, bins: int, label: str):
    """Draw y(x) as the range of its samples in each of ``bins`` columns (x sorted): where f is
    smooth within a column the band is a line; where it oscillates faster than the columns
    resolve, the band shows the range it covers instead of aliasing into a false pattern."""
    edges = np.linspace(0, x.size, bins + 1).astype(int)
    xc, lo, hi = [], [], []
    for a, b in zip(edges[:-1], edges[1:]):
        seg = y[a:b]
        seg = seg[np.isfinite(seg)]
        xc.append(np.sqrt(x[a] * x[b - 1]) if x[a] > 0 else 0.5 * (x[a] + x[b - 1]))
        lo.append(seg.min() if seg.size else np.nan)
        hi.append(seg.max() if seg.size else np.nan)
    color = "C0"
    ax.fill_between(xc, lo, hi, color=color, edgecolor=color, lw=0.8, label=label)


def _symlog_ticks(ax, values: np.ndarray) -> None:
    """Symmetric-log y axis with a few labelled decades (every second one or sparser) and 0, so
    the ticks near 0 do not crowd."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    top = int(math.ceil(math.log10(max(np.max(np.abs(values)), 10.0))))
    step = max(2, int(math.ceil(top / 4)))
    ax.set_yscale("symlog", linthresh=1.0, linscale=0.5)
    decades = list(range(step, top + 1, step))
    ticks = [-(10.0**d) for d in reversed(decades)] + [0.0] + [10.0**d for d in decades]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_minor_locator(NullLocator())

    def label(v, _pos):
        if v == 0:
            return "0"
        return f"{'−' if v < 0 else ''}$10^{{{int(round(math.log10(abs(v))))}}}$"

    ax.yaxis.set_major_formatter(FuncFormatter(label))


def _verdict(f: Any, c: float) -> str:
    """fastcalc's own answer for the title: the limit, or why there is none."""
    from .limits import limit as find

    try:
        r = find(f, c)
    except Exception:  # the figure does not depend on it
        return ""
    if r.exists:
        return f"limit {r.value:.6g}"
    return f"no limit: {r.reason}" if r.reason else "no limit"


def limit(f: Any, c: float, *, ax=None, terms: int = 8, name: Optional[str] = None):
    """f near c, from each side, with the approach sequences c ∓ 10^-k.

    Near a finite c, f is drawn against the distance d to c on a log scale that shrinks to the
    right, so the approach reads left to right; values that grow without bound get a
    symmetric-log axis. At ±∞, f is drawn against x on a log scale as the range of its values
    in each pixel column, so an oscillation faster than the pixels shows as the band it fills
    rather than as aliasing.

    Parameters
    ----------
    f : Expr or callable
        A function of one variable (vectorized).
    c : float
        The point approached, or ``math.inf`` / ``-math.inf``.
    terms : int
        How many points of the approach sequence to mark.
    name : str, optional
        The function's name in the title.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    (v,) = _vars(f, 1)
    k = np.arange(1, terms + 1, dtype=float)
    verdict = _verdict(f, c)
    if math.isinf(c):
        sgn = 1.0 if c > 0 else -1.0
        xs = np.logspace(0, terms / 2, 200_000)  # >= 10 samples per unit of x up to 10^(terms/2)
        seq = 10.0 ** (k / 2)
        _envelope(ax, xs, _eval1(f, sgn * xs), bins=600, label=f"f({v}): its range over each pixel column")
        ax.plot(seq, _eval1(f, sgn * seq), "o", color="k", ms=5,
                label=f"{v} = {'' if sgn > 0 else '−'}10^(k/2), k = 1..{terms}")
        ax.set_xscale("log")
        ax.set_xlabel(v if sgn > 0 else f"−{v}")
        ax.set_title(f"{_name(f, name)} as {v} → {'+' if sgn > 0 else '−'}∞\n{verdict}")
    else:
        d = np.logspace(1, -terms, 800)
        right, left = _eval1(f, c + d), _eval1(f, c - d)
        ax.plot(d, right, lw=1, label=f"from the right: f({c:g} + d)")
        ax.plot(d, left, lw=1, label=f"from the left: f({c:g} − d)")
        dk = 10.0 ** -k
        ax.plot(dk, _eval1(f, c + dk), ">", color=ax.lines[0].get_color(), label=f"d = 10^−k, k = 1..{terms}")
        ax.plot(dk, _eval1(f, c - dk), "<", color=ax.lines[1].get_color())
        ax.set_xscale("log")
        ax.invert_xaxis()  # the distance shrinks to the right: the approach reads left to right
        ax.set_xlabel(f"distance d to {v} = {c:g} (shrinking →)")
        finite = np.concatenate([right[np.isfinite(right)], left[np.isfinite(left)]])
        if finite.size and np.max(np.abs(finite)) > 1e3:
            _symlog_ticks(ax, finite)
        ax.set_title(f"{_name(f, name)} as {v} → {c:g}\n{verdict}")
    ax.set_ylabel(f"f({v})")
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    return ax


def _grid(xlim, ylim, n):
    X, Y = np.meshgrid(np.linspace(*xlim, n), np.linspace(*ylim, n))
    return X, Y


def surface(f: Any, *, xlim=(-2.0, 2.0), ylim=(-2.0, 2.0), n: int = 60, name: Optional[str] = None, ax=None,
            alpha: float = 1.0):
    """The surface z = f(x, y).

    Parameters
    ----------
    f : Expr or callable
        A function of two variables, called with points of shape (k, 2).
    xlim, ylim : (float, float)
        The ranges of the two variables.
    n : int
        Grid points per axis.
    name : str, optional
        The function's name in the title.
    ax : matplotlib 3-D Axes, optional
    alpha : float
        Opacity of the surface.

    Returns
    -------
    mpl_toolkits.mplot3d.axes3d.Axes3D
    """
    ax = _axes(ax, projection="3d")
    X, Y = _grid(xlim, ylim, n)
    ax.plot_surface(X, Y, _eval2(f, X, Y), cmap="viridis", linewidth=0, antialiased=True, alpha=alpha)
    u, w = _vars(f, 2)
    ax.set_xlabel(u)
    ax.set_ylabel(w)
    ax.set_zlabel(f"f({u}, {w})")
    ax.set_title(_name(f, name))
    return ax


def contour(f: Any, *, xlim=(-2.0, 2.0), ylim=(-2.0, 2.0), n: int = 120, levels: int = 20,
            name: Optional[str] = None, ax=None):
    """Filled contours of f(x, y) with a labelled colour bar.

    Parameters
    ----------
    f : Expr or callable
        A function of two variables, called with points of shape (k, 2).
    xlim, ylim : (float, float)
        The ranges of the two variables.
    n : int
        Grid points per axis.
    levels : int
        Contour levels.
    name : str, optional
        The function's name in the title.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    X, Y = _grid(xlim, ylim, n)
    cs = ax.contourf(X, Y, _eval2(f, X, Y), levels=levels, cmap="viridis")
    u, w = _vars(f, 2)
    bar = ax.figure.colorbar(cs, ax=ax)
    bar.set_label(f"f({u}, {w})")
    ax.set_xlabel(u)
    ax.set_ylabel(w)
    ax.set_title(f"Contours of {_name(f, name)}")
    return ax


def gradient_field(f: Any, *, xlim=(-2.0, 2.0), ylim=(-2.0, 2.0), n: int = 15, name: Optional[str] = None, ax=None):
    """The gradient as arrows over the contours: it points uphill, its length is the rate.

    Parameters
    ----------
    f : Expr or callable
        A function of two variables, called with points of shape (k, 2).
    xlim, ylim : (float, float)
        The ranges of the two variables.
    n : int
        Arrows per axis.
    name : str, optional
        The function's name in the title.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    from .differentiate import gradient

    ax = contour(f, xlim=xlim, ylim=ylim, ax=ax, name=name)
    X, Y = _grid(xlim, ylim, n)
    G = gradient(f, np.stack([X.ravel(), Y.ravel()], axis=-1))
    ax.quiver(X, Y, G[:, 0].reshape(X.shape), G[:, 1].reshape(X.shape), color="white")
    ax.set_title(f"∇f (arrows) over the contours of\n{_name(f, name)}")
    return ax


def partial(f: Any, *, at: Tuple[float, float], var: str = "x", xlim=(-2.0, 2.0), ylim=(-2.0, 2.0),
            name: Optional[str] = None):
    """Figure: the surface with the slice where the other variable is held, and the slice with
    its tangent, whose slope is the partial derivative.

    Parameters
    ----------
    f : Expr or callable
        A function of two variables, called with points of shape (k, 2).
    at : (float, float)
        The point where the partial derivative is taken.
    var : str
        Which partial: the first variable ("x", or an expression's first variable name) or the
        second ("y", or its second).
    xlim, ylim : (float, float)
        The ranges of the two variables.
    name : str, optional
        The function's name in the title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .differentiate import gradient

    plt = _plt()
    u, w = _vars(f, 2)
    # An expression's own names first; "x" and "y" mean the first and second variable otherwise.
    which = {u: 0, w: 1}.get(var, {"x": 0, "y": 1}.get(var))
    if which is None:
        raise ValueError(f"var must name one of the two variables ({u!r} or {w!r}), got {var!r}")
    fig = plt.figure(figsize=(11, 4.5))
    ax3 = fig.add_subplot(1, 2, 1, projection="3d")
    surface(f, xlim=xlim, ylim=ylim, ax=ax3, alpha=0.55, name=name)
    ax = fig.add_subplot(1, 2, 2)
    x0, y0 = map(float, at)
    g = gradient(f, np.array([x0, y0]))
    if which == 0:
        t = np.linspace(*xlim, 300)
        z = _eval2(f, t, np.full_like(t, y0))
        ax3.plot(t, np.full_like(t, y0), z, "r", lw=2.5, zorder=10)
        t0, slope, held, v = x0, g[0], f"{w} = {y0}", u
    else:
        t = np.linspace(*ylim, 300)
        z = _eval2(f, np.full_like(t, x0), t)
        ax3.plot(np.full_like(t, x0), t, z, "r", lw=2.5, zorder=10)
        t0, slope, held, v = y0, g[1], f"{u} = {x0}", w
    z0 = float(_eval2(f, np.array([x0]), np.array([y0]))[0])
    ax.plot(t, z, "r", label=f"f with {held} held constant")
    ax.plot(t, z0 + slope * (t - t0), "k--", label=f"slope ∂f/∂{v} = {slope:.6g} at {at}")
    ax.plot([t0], [z0], "ko")
    ax.set_xlabel(v)
    ax.set_ylabel(f"f({u}, {w}) with {held}")
    ax.set_title(f"∂f/∂{v}: the slope of the slice {held}")
    ax3.set_title(f"{_name(f, name)}\nand the slice {held} (red)")
    _legend(ax)
    fig.tight_layout()
    return fig


def descent_path(result: Any, f: Any = None, *, ax=None, max_runs: int = 20, name: Optional[str] = None,
                 title: Optional[str] = None):
    """The iterates of a DescentResult over the curve (one variable) or the contours (two).

    Parameters
    ----------
    result : DescentResult
        Computed with ``history=True`` (the default).
    f : Expr or callable, optional
        The function descended, drawn under the iterates.
    max_runs : int
        The most runs drawn.
    name : str, optional
        The function's name in the title.
    title : str, optional
        Replaces the title.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    if getattr(result, "history", None) is None:
        raise ValueError("descent_path needs a result computed with history=True")
    n = getattr(result, "_nvars", 1)
    H = np.asarray(result.history).reshape(len(result.history), -1, n)  # (rows, runs, n)
    F = np.asarray(result.fun_history).reshape(len(result.history), -1)
    runs = range(min(H.shape[1], max_runs))
    if n == 1:
        ax = _axes(ax)
        (v,) = _vars(f, 1) if f is not None else ("x",)
        lo, hi = np.nanmin(H), np.nanmax(H)
        pad = 0.2 * (hi - lo) + 0.5
        if f is not None:
            x = np.linspace(lo - pad, hi + pad, 400)
            ax.plot(x, _eval1(f, x), color="0.4", label=_name(f, name))
        for r in runs:
            xs = H[:, r, 0]
            ys = F[:, r]
            ax.plot(xs, ys, "o-", ms=4, label=f"run {r}" if H.shape[1] > 1 else "iterates")
        ax.set_xlabel(v)
        ax.set_ylabel(f"f({v})")
    elif n == 2:
        u, w = _vars(f, 2) if f is not None else ("x", "y")
        lo, hi = np.nanmin(H[..., 0]), np.nanmax(H[..., 0])
        lo2, hi2 = np.nanmin(H[..., 1]), np.nanmax(H[..., 1])
        px, py = 0.2 * (hi - lo) + 0.5, 0.2 * (hi2 - lo2) + 0.5
        if f is not None:
            ax = contour(f, xlim=(lo - px, hi + px), ylim=(lo2 - py, hi2 + py), ax=ax, name=name)
        else:
            ax = _axes(ax)
        for r in runs:
            ax.plot(H[:, r, 0], H[:, r, 1], "o-", ms=3, color="white" if f is not None else None)
        ax.set_xlabel(u)
        ax.set_ylabel(w)
    else:
        raise ValueError(f"descent_path draws one or two variables, got {n}")
    steps = H.shape[0] - 1
    on = f" on {_name(f, name)}" if f is not None else ""
    ax.set_title(title or f"Gradient descent{on}: {steps} steps")
    if n == 1:
        _legend(ax)
    return ax


def learning_rates(f: Any, x0: float, lrs: Sequence[float] = (0.9, 0.1), steps: int = 5, *, maximize: bool = False,
                   name: Optional[str] = None):
    """Figure: one panel per learning rate, the iterates over the curve (the course's comparison).

    Parameters
    ----------
    f : Expr or callable
        A function of one variable.
    x0 : float
        The start.
    lrs : sequence of float
        The learning rates, one panel each.
    steps : int
        Steps per run.
    maximize : bool
        Gradient ascent instead of descent.
    name : str, optional
        The function's name in the title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .optimize import descent

    plt = _plt()
    fig, axes = plt.subplots(1, len(lrs), figsize=(5 * len(lrs), 4.3), squeeze=False)
    for ax, lr in zip(axes[0], lrs):
        res = descent(f, float(x0), lr=float(lr), maxiter=steps, gtol=0, maximize=maximize)
        descent_path(res, f, ax=ax, name=name, title=f"learning rate {lr}: {steps} steps from {x0}")
    word = "ascent" if maximize else "descent"
    fig.suptitle(f"Gradient {word} on {_name(f, name)}: the effect of the learning rate")
    fig.tight_layout()
    return fig


def _equation(sol: Any) -> str:
    """The equation an ODESolution solved, in words, from what it records (best effort)."""
    texts = getattr(sol, "rhs_texts", None)
    names = tuple(getattr(sol, "names", ()) or ())
    order = getattr(sol, "order", 1)
    prime = "'" * int(order) if order in (1, 2) else "'"
    domain = getattr(sol, "domain", None)
    where = f" on [{domain[0]:g}, {domain[1]:g}]" if domain is not None else ""
    if texts and len(texts) == len(names):
        return ", ".join(f"{n}{prime} = {t}" for n, t in zip(names, texts)) + where
    return f"{', '.join(names) or 'y'}{prime} = f(x, y)" + where


def ode_solution(sol: Any, exact: Any = None, *, points: int = 400, equation: Optional[str] = None,
                 exact_label: str = "exact"):
    """Figure: the network solution against the exact one, the error and residual, and the
    training loss.

    Parameters
    ----------
    sol : ODESolution
        What :func:`fastcalc.solve_ode` returned.
    exact : callable, optional
        The exact solution (or a reference such as ``solve_ivp``'s), vectorized over x; (k, m)
        for a system of m equations.
    points : int
        Points drawn.
    equation : str, optional
        The equation for the title (default: built from what ``sol`` records).
    exact_label : str
        The legend entry of the exact solution.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    a, b = sol.domain
    x = np.linspace(a, b, points)
    y = np.asarray(sol(x))
    y2 = y.reshape(len(x), -1)
    names = tuple(getattr(sol, "names", ()) or ()) or tuple(f"y{j + 1}" for j in range(y2.shape[1]))
    for j in range(y2.shape[1]):
        label = f"network {names[j]}" if y2.shape[1] > 1 and j < len(names) else "network"
        axes[0].plot(x, y2[:, j], lw=2, label=label)
    if exact is not None:
        ye = np.asarray(exact(x), dtype=float).reshape(len(x), -1)
        for j in range(ye.shape[1]):
            axes[0].plot(x, ye[:, j], "k--", lw=1, label=exact_label if j == 0 else None)
        err = np.abs(y2 - ye).max(axis=1)
        axes[1].semilogy(x, np.maximum(err, 1e-17), label="|network − exact|")
    res = np.abs(np.asarray(sol.residual(x))).reshape(len(x), -1).max(axis=1)
    axes[1].semilogy(x, np.maximum(res, 1e-17), label="|residual|")
    axes[2].semilogy(np.asarray(sol.loss_history))
    axes[0].set_title("solution")
    axes[0].set_ylabel(", ".join(names) if len(names) > 1 else "y")
    axes[1].set_title("error and residual (max over components)")
    axes[1].set_ylabel("absolute value")
    axes[2].set_title("training loss")
    axes[2].set_xlabel("epoch")
    axes[2].set_ylabel("mean squared residual")
    for ax in axes[:2]:
        ax.set_xlabel("x")
        ax.legend(fontsize="small")
    fig.suptitle(f"Neural-network solution of {equation or _equation(sol)}")
    fig.tight_layout()
    return fig
