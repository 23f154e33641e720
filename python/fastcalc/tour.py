"""``fastcalc tour``: the course "Calculus for ML" and the neural-ODE report, replayed with fastcalc.

Every number printed is computed here, by fastcalc; where the course printed something the
arithmetic does not give, the tour prints what it does give and says so.
"""
from __future__ import annotations

import math
import os
import sys
import time
from typing import Callable, List, Optional, TextIO

import numpy as np

import fastcalc as fc

from ._paths import cache_dir, writable_dir
from ._progress import Progress

#: The tour's figures, by file name (without .png), with what each shows (the docs' gallery
#: captions come from here too).
FIGURES = {
    "limit_one_over_x": "1/x near 0 from each side: it grows without bound, +∞ from the right and −∞ "
                        "from the left, so the two-sided limit does not exist.",
    "limit_sin_at_infinity": "sin x as x → ∞: it keeps filling [−1, 1], so there is no limit; the band is "
                             "the range of sin x over each pixel column.",
    "step_error": "The error of forward and central differences of sin at x = 1 against the step h: "
                  "truncation error falls with h, round-off grows like eps/h, and the optimal steps sit "
                  "where they cross.",
    "tangent": "f(x) = x² and its tangent at x = 3: the derivative is the slope, 6.",
    "partial_x": "The partial derivative ∂f/∂x of x² + y² at (1, 0): the slope of the slice y = 0.",
    "surface": "The surface of f(x, y) = x·exp(−(x² + y²)).",
    "gradient_field": "The gradient of x·exp(−(x² + y²)) over its contours: it points uphill, and its "
                      "length is the rate of increase.",
    "descent_path": "Gradient descent on x² − 4x + 4 with learning rate 0.4: five steps from 0 towards the "
                    "minimum at 2.",
    "learning_rates": "The effect of the learning rate on x² − 4x + 4: 0.9 overshoots and oscillates around "
                      "the minimum, 0.1 creeps towards it.",
    "ode_y_prime_x": "The network solution of y' = x, y(0) = 0 on [0, 1] against x²/2, its error, its "
                     "residual and the training loss.",
    "ode_system": "The network solution of the system y1' = y2, y2' = −y1, y(0) = (0, 1) on [0, 2] against "
                  "(sin x, cos x).",
}


def default_out() -> str:
    """Where ``fastcalc tour`` writes its figures unless told (``--out``): ``tour`` under
    fastcalc's cache folder (``FASTCALC_CACHE``, else the user's cache directory), or a folder
    under the system's temporary directory when that cannot be written."""
    return writable_dir(os.path.join(cache_dir(), "tour"), "fastcalc-tour")


class _Out:
    def __init__(self, stream: TextIO, out: Optional[str], bar: Optional[Progress] = None):
        self.stream = stream
        self.out = out
        self.figures: List[str] = []
        self.bar = bar

    def p(self, *args) -> None:
        if self.bar is not None:
            self.bar.clear()  # the progress line shares the terminal
        print(*args, file=self.stream)

    def section(self, title: str) -> None:
        self.p(f"\n== {title} ==\n")

    def table(self, head: List[str], rows: List[List[str]]) -> None:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
        self.p("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
        self.p("  ".join("-" * w for w in widths))
        for r in rows:
            self.p("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        self.p()

    def figure(self, name: str, draw: Callable[[], object]) -> None:
        if name not in FIGURES:
            raise KeyError(f"figure {name!r} is not listed in tour.FIGURES")
        if self.out is None:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        obj = draw()
        fig = obj if hasattr(obj, "savefig") else obj.figure
        path = os.path.join(self.out, f"{name}.png")
        fig.savefig(path, dpi=90, bbox_inches="tight")
        plt.close(fig)
        self.figures.append(path)


def limits(o: _Out) -> None:
    o.section("Limits")
    f = fc.expr("1/x")
    rows = [[f"{10.0 ** -k:g}", f"{f(10.0 ** -k):.10g}", f"{f(-(10.0 ** -k)):.10g}"] for k in range(1, 8)]
    o.table(["x", "f(x) = 1/x", "f(-x)"], rows)
    for side, label in (("+", "from the right"), ("-", "from the left"), ("both", "two-sided")):
        r = fc.limit(f, 0.0, side)
        verdict = f"{r.value}" if r.exists else f"does not exist ({r.reason})"
        o.p(f"lim 1/x as x -> 0 {label}: {verdict}")
    o.p(f"lim 2x as x -> 3: {fc.limit(fc.expr('2*x'), 3.0).value}")
    r = fc.limit(fc.expr("sin(x)"), math.inf)
    o.p(f"lim sin x as x -> inf: {'exists' if r.exists else 'does not exist'} ({r.reason})")
    o.p(f"lim sin x as x -> 1.2: {fc.limit(fc.expr('sin(x)'), 1.2).value!r} (= sin(1.2) = {math.sin(1.2)!r})")
    o.p(f"lim sin(x)/x as x -> 0: {fc.limit(fc.expr('sin(x)/x'), 0.0).value!r}")
    cont = fc.is_continuous(fc.expr("abs(x)/x"), 0.0)
    o.p(f"abs(x)/x continuous at 0? {bool(cont)}: {cont}")
    o.p(f"x**2 continuous at 3? {bool(fc.is_continuous(fc.expr('x**2'), 3.0))}")
    o.figure("limit_one_over_x", lambda: fc.plot.limit(f, 0.0))
    o.figure("limit_sin_at_infinity", lambda: fc.plot.limit(fc.expr("sin(x)"), math.inf))


def numerical_differentiation(o: _Out) -> None:
    o.section("Numerical differentiation: f(x) = x**2 at x = 3, f'(3) = 6")
    f = lambda x: x**2  # noqa: E731
    rows = []
    for h in [1e-2, 1e-3, 1e-4, 1e-5, 1e-15, 1e-16, math.sqrt(fc.eps)]:
        rows.append([f"{h:.3g}", repr(fc.derivative(f, 3.0, method="forward", h=h)),
                     repr(fc.derivative(f, 3.0, method="central", h=h))])
    o.table(["h", "forward (f(x+h)-f(x))/h", "central (f(x+h)-f(x-h))/(2h)"], rows)
    o.p(f"machine epsilon {fc.eps!r}: 1 + 1e-16 = {1 + 1e-16!r}, 1 + eps = {1 + fc.eps!r}")
    o.p("At h = 1e-15, x + h is 3 + 2 ulp(3), so these doubles give 5.329..., not the course's")
    o.p("6.217... and 6.128...: round-off dominates either way.")
    o.p(f"optimal steps at x = 3: forward sqrt(eps)*max(1,|x|) = {fc.optimal_step(3.0, 'forward'):.3e}, "
        f"central cbrt(eps)*max(1,|x|) = {fc.optimal_step(3.0, 'central'):.3e}")
    info = fc.derivative(np.sin, 1.0, full_output=True)
    value = info.df
    o.p(f"automatic (Richardson): d/dx sin at 1 = {value!r}, cos(1) = {math.cos(1.0)!r}, "
        f"error estimate {info.error:.1e}, {info.nfev} evaluations")
    o.figure("step_error", lambda: fc.plot.step_error(np.sin, 1.0, exact=math.cos(1.0), name="f(x) = sin(x)"))
    o.figure("tangent", lambda: fc.plot.tangent(fc.expr("x**2"), 3.0, xlim=(0.0, 5.0)))


def rules(o: _Out) -> None:
    o.section("Differentiation rules (symbolic)")
    cases = [("6", "constant"), ("x**4", "power"), ("3*x**4", "constant multiple"), ("3*x**4 + 4*x", "sum"),
             ("(x - 2)*(x + 3)", "product"), ("x**2/(x + 1)", "quotient"), ("exp(x)", "exponential"),
             ("2**x", "a**x"), ("log(x)", "logarithm"), ("log(2*x**2 + 4*x, 10)", "base-a logarithm"),
             ("sin(x)", "sine"), ("cos(x)", "cosine"), ("tan(x)", "tangent"), ("tanh(x)", "tanh"),
             ("sin(3*x)", "chain rule")]
    rows = []
    for text, rule in cases:
        e = fc.expr(text, vars=["x"])
        d = e.diff("x").simplify()
        check = fc.derivative(e, 0.7, method="central")
        rows.append([rule, text, str(d), f"{d(0.7):.12g}", f"{check:.12g}"])
    o.table(["rule", "f(x)", "f'(x)", "f'(0.7)", "finite difference"], rows)


def partials(o: _Out) -> None:
    o.section("Partial derivatives")
    rows = []
    for text in ["x**2 + y**2", "tanh(x) + tanh(y)", "-x**2 - (-y**3)", "x**5 + y**2"]:
        e = fc.expr(text, vars=["x", "y"])
        dxy = e.diff("x").diff("y").simplify()
        rows.append([text, str(e.diff("x").simplify()), str(e.diff("y").simplify()), str(dxy)])
    o.table(["f(x, y)", "df/dx", "df/dy", "d2f/dxdy"], rows)
    o.p("The mixed partial d2f/dxdy differentiates df/dx by y; it is not the sum of the partials.")
    f = fc.expr("x**2 + y**2")
    o.figure("partial_x", lambda: fc.plot.partial(f, at=(1.0, 0.0), var="x"))


def chain_rule(o: _Out) -> None:
    o.section("Chain rule: z = x**2 - 3*x*y + 2*y**2, x = 3*sin(2*t), y = 4*cos(2*t)")
    z = fc.expr("x**2 - 3*x*y + 2*y**2")
    zt = z.subs(x=fc.expr("3*sin(2*t)"), y=fc.expr("4*cos(2*t)"))
    dz = zt.diff("t").simplify()
    o.p(f"dz/dt = {dz}")
    closed = fc.expr("-46*sin(4*t) - 72*cos(4*t)")
    ts = np.linspace(0, 3, 7)
    rows = [[f"{t:.2f}", f"{dz(t):.12g}", f"{closed(t):.12g}", f"{fc.derivative(zt, t, method='central'):.12g}"]
            for t in ts]
    o.table(["t", "symbolic dz/dt", "-46 sin 4t - 72 cos 4t", "finite difference"], rows)
    o.p("The course prints -64 sin 4t - 72 cos 4t. Expanding (2x - 3y)(6 cos 2t) + (-3x + 4y)(-8 sin 2t)")
    o.p("gives (36 - 128) sin 2t cos 2t + 72 (sin^2 2t - cos^2 2t) = -46 sin 4t - 72 cos 4t,")
    o.p("which is what the columns above agree on.")


def gradients(o: _Out) -> None:
    o.section("Gradient and Jacobian")
    f = fc.expr("x*exp(-(x**2 + y**2))")
    o.p(f"f = {f}; grad f = ({', '.join(str(g.simplify()) for g in f.gradient())})")
    rows = []
    for p in [(-1.0, 0.0), (0.5, 0.5), (1.0, -0.5)]:
        g = fc.gradient(f, np.array(p))
        theta = math.degrees(math.atan2(g[1], g[0]))
        rows.append([str(p), f"({g[0]:.6f}, {g[1]:.6f})", f"{np.hypot(*g):.6f}", f"{theta:.2f}°"])
    o.table(["(x, y)", "grad f", "|grad f|", "direction atan2(fy, fx)"], rows)
    o.p("The direction of the gradient is the angle atan2(df/dy, df/dx) (an arctangent, not tanh^-1).")
    g3 = fc.expr("2*x + 3*y**2 - sin(z)")
    o.p(f"grad of {g3} = ({', '.join(str(g.simplify()) for g in g3.gradient())})")
    F = fc.expr(["x**2*y", "5*x + sin(y)*z"], vars=["x", "y", "z"])
    J = fc.jacobian(F, np.array([1.0, 2.0, 3.0]))
    o.p(f"Jacobian of F: R^3 -> R^2, F = ({', '.join(str(c) for c in F.components)}), at (1, 2, 3): "
        f"{J.shape[0]} x {J.shape[1]}, m x n (one row per component)")
    for row in J:
        o.p("   [" + "  ".join(f"{v:9.4f}" for v in row) + "]")
    o.figure("surface", lambda: fc.plot.surface(f))
    o.figure("gradient_field", lambda: fc.plot.gradient_field(f))


def optimization(o: _Out) -> None:
    o.section("Critical points")
    q = fc.expr("x**2 - 4*x + 4")
    o.p(f"f(x) = {q}: f'(x) = {q.diff('x')} = 0 at x = 2, where f''(x) = {q.diff('x').diff('x')} > 0: a minimum")
    for text, bounds in [("x**2 - 4*x + 4", (-10.0, 10.0)), ("x*exp(-(x**2 + y**2))", [(-2.0, 2.0), (-2.0, 2.0)])]:
        pts = fc.critical_points(fc.expr(text), bounds)
        o.p(f"{text}: " + "; ".join(f"{p['kind']} at {np.round(p['x'], 6).tolist()} (f = {p['value']:.6f})"
                                    for p in pts))
    o.section("Gradient descent and ascent, learning rate 0.4, 5 steps from x = 0")
    f = fc.expr("x**2 - 4*x + 4")
    down = fc.descent(f, 0.0, lr=0.4, maxiter=5, gtol=0)
    up = fc.ascent(-f, 0.0, lr=0.4, maxiter=5, gtol=0)
    rows = [[str(k), f"{down.history[k]:.10g}", f"{up.history[k]:.10g}"] for k in range(6)]
    o.table(["step", "descent on x**2-4x+4", "ascent on -(x**2-4x+4)"], rows)
    o.section("The effect of the learning rate (5 steps from x = 0)")
    res = fc.descent(f, 0.0, lr=[0.9, 0.4, 0.1, 1.1], maxiter=5, gtol=0)
    rows = [[f"{lr}"] + [f"{res.history[k, i]:.6g}" for k in range(1, 6)] for i, lr in enumerate([0.9, 0.4, 0.1, 1.1])]
    o.table(["lr", "x1", "x2", "x3", "x4", "x5"], rows)
    o.p("0.9 overshoots and oscillates around 2, 0.1 creeps towards it, 1.1 diverges.")
    o.figure("descent_path", lambda: fc.plot.descent_path(down, f))
    o.figure("learning_rates", lambda: fc.plot.learning_rates(f, 0.0, lrs=[0.9, 0.1], steps=5))


def odes(o: _Out) -> None:
    o.section("ODEs by neural networks (trial solution + residual loss)")
    t0 = time.perf_counter()
    sol = fc.solve_ode("x", (0.0, 1.0), y0=0.0)
    x = np.linspace(0, 1, 201)
    err = np.max(np.abs(sol(x) - x**2 / 2))
    o.p(f"y' = x, y(0) = 0 on [0, 1]: max |y - x**2/2| = {err:.2e} ({sol.nit} epochs, "
        f"{time.perf_counter() - t0:.2f} s)")
    o.figure("ode_y_prime_x", lambda: fc.plot.ode_solution(sol, exact=lambda t: t**2 / 2, exact_label="exact: x²/2",
                                                           equation="y' = x, y(0) = 0 on [0, 1]"))
    t0 = time.perf_counter()
    sys_sol = fc.solve_ode(["y2", "-y1"], (0.0, 2.0), y0=[0.0, 1.0])
    x = np.linspace(0, 2, 201)
    exact = np.stack([np.sin(x), np.cos(x)], axis=1)
    err = np.max(np.abs(sys_sol(x) - exact))
    o.p(f"system y1' = y2, y2' = -y1, y(0) = (0, 1) on [0, 2]: max error vs (sin, cos) = {err:.2e} "
        f"({time.perf_counter() - t0:.2f} s)")
    o.figure("ode_system", lambda: fc.plot.ode_solution(
        sys_sol, exact=lambda t: np.stack([np.sin(t), np.cos(t)], 1), exact_label="exact: (sin x, cos x)",
        equation="y1' = y2, y2' = −y1, y(0) = (0, 1) on [0, 2]"))


SECTIONS = [limits, numerical_differentiation, rules, partials, chain_rule, gradients, optimization, odes]


def run(out: Optional[str] = None, stream: Optional[TextIO] = None, *, progress: Optional[bool] = None) -> int:
    """Replay the course, printing every table to ``stream`` (default stdout).

    Parameters
    ----------
    out : str, optional
        The folder for the PNG figures (created if need be; needs matplotlib, the ``plot``
        extra). None: the tables only. :func:`default_out` is where the command line puts them.
    stream : file, optional
        Where the tables go.
    progress : bool, optional
        A progress line on stderr over the tour's sections; None: when stderr is a terminal.

    Returns
    -------
    int
        0 (the command's exit status).
    """
    stream = stream or sys.stdout
    if out is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print('figures need matplotlib: pip install "fastcalc-ml[plot]"; printing tables only', file=stream)
            out = None
        else:
            os.makedirs(out, exist_ok=True)
    with Progress(total=len(SECTIONS), desc="fastcalc tour", enable=progress) as bar:
        o = _Out(stream, out, bar if bar.enable else None)
        o.p(f"fastcalc {fc.__version__}: a tour of calculus for machine learning")
        start = time.perf_counter()
        for section in SECTIONS:
            bar.update(0, section=section.__name__)
            section(o)
            bar.update(1, section=section.__name__)
    o.bar = None
    o.p(f"\nDone in {time.perf_counter() - start:.1f} s.")
    if o.figures:
        o.p(f"{len(o.figures)} figures written to {os.path.abspath(out)}:")
        for path in o.figures:
            o.p(f"  {os.path.basename(path)}")
    return 0
