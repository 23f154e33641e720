"""Plot hooks render non-trivial PNGs with the Agg backend; fastcalc never imports matplotlib itself."""
import subprocess
import sys

import numpy as np
import pytest

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import fastcalc as fc  # noqa: E402
from fastcalc import plot  # noqa: E402


def _png_ok(fig, tmp_path, name):
    path = tmp_path / f"{name}.png"
    fig.savefig(path, dpi=60)
    img = plt.imread(path)
    assert img.shape[0] > 100 and img.shape[1] > 100
    assert float(np.std(img[..., :3])) > 0.02, "blank image"
    plt.close(fig)


def test_importing_fastcalc_does_not_import_matplotlib():
    code = "import sys, fastcalc, fastcalc.plot; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_step_error_plot(tmp_path):
    ax = plot.step_error(lambda x: x**2, 3.0, exact=6.0)
    assert len(ax.lines) >= 5 and ax.get_xscale() == "log"
    _png_ok(ax.figure, tmp_path, "step_error")


def test_tangent_plot(tmp_path):
    ax = plot.tangent(np.sin, 1.0)
    slope = np.polyfit(*ax.lines[1].get_data(), 1)[0]
    assert slope == pytest.approx(np.cos(1.0), rel=1e-9)
    _png_ok(ax.figure, tmp_path, "tangent")


@pytest.mark.parametrize("c", [0.0, np.inf])
def test_limit_plot(tmp_path, c):
    f = (lambda x: 1 / x) if c == 0 else np.sin
    ax = plot.limit(f, c)
    assert len(ax.lines) + len(ax.collections) >= 2
    _png_ok(ax.figure, tmp_path, "limit")


def f2(P):
    x, y = P[:, 0], P[:, 1]
    return x * np.exp(-(x**2 + y**2))


def test_surface_contour_gradient_partial(tmp_path):
    _png_ok(plot.surface(f2).figure, tmp_path, "surface")
    _png_ok(plot.contour(f2).figure, tmp_path, "contour")
    ax = plot.gradient_field(f2)
    assert any(type(c).__name__ == "Quiver" for c in ax.collections)
    _png_ok(ax.figure, tmp_path, "gradient_field")
    fig = plot.partial(f2, at=(0.5, 0.5), var="x")
    assert len(fig.axes) >= 2
    _png_ok(fig, tmp_path, "partial")


def test_descent_path_and_learning_rates(tmp_path):
    f = fc.expr("x**2 - 4*x + 4")
    res = fc.descent(f, [0.0, 4.0], lr=0.3, maxiter=6)
    ax = plot.descent_path(res, f)
    assert len(ax.lines) == 3  # the curve and two runs
    _png_ok(ax.figure, tmp_path, "descent_1d")
    g = fc.expr("(x**2 + y - 11)**2 + (x + y**2 - 7)**2")
    res2 = fc.descent(g, np.array([[0.0, 0.0], [-1.0, 1.0]]), lr=0.01, maxiter=30)
    _png_ok(plot.descent_path(res2, g).figure, tmp_path, "descent_2d")
    fig = plot.learning_rates(f, 0.0, lrs=[0.9, 0.1], steps=5)
    assert len(fig.axes) == 2 and "0.9" in fig.axes[0].get_title()
    _png_ok(fig, tmp_path, "learning_rates")


def test_ode_solution_plot(tmp_path):
    sol = fc.solve_ode("x", (0.0, 1.0), y0=0.0, maxiter=200)
    fig = plot.ode_solution(sol, exact=lambda x: x**2 / 2)
    assert len(fig.axes) == 3 and fig.axes[2].get_yscale() == "log"
    _png_ok(fig, tmp_path, "ode")


def test_without_matplotlib_the_error_says_what_to_install():
    code = ("import sys; sys.modules['matplotlib'] = None; sys.modules['matplotlib.pyplot'] = None\n"
            "import numpy as np, fastcalc.plot as p\n"
            "try:\n    p.tangent(np.sin, 1.0)\nexcept ImportError as e:\n    print(e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert 'pip install "fastcalc-ml[plot]"' in r.stdout, r.stdout + r.stderr


def _labelled(fig):
    """Every panel (colour bars aside) has both axis labels and a title, or the figure has one."""
    panels = [a for a in fig.axes if a.get_label() != "<colorbar>"]
    assert panels
    suptitle = fig._suptitle.get_text() if fig._suptitle is not None else ""
    for a in panels:
        assert a.get_xlabel() and a.get_ylabel(), (a.get_title(), a.get_xlabel(), a.get_ylabel())
        assert a.get_title() or suptitle


def test_every_figure_labels_its_axes_and_names_its_function():
    f = fc.expr("x**2 - 4*x + 4")
    g = fc.expr("x*exp(-(x**2 + y**2))")
    figures = {
        "x**2 - 4*x + 4": [plot.tangent(f, 3.0).figure, plot.descent_path(fc.descent(f, [0.0], lr=0.4, maxiter=5), f).figure,
                           plot.learning_rates(f, 0.0)],
        "1/x": [plot.limit(fc.expr("1/x"), 0.0).figure],
        "sin(x)": [plot.limit(fc.expr("sin(x)"), np.inf).figure, plot.step_error(fc.expr("sin(x)"), 1.0).figure],
        "x*exp(-(x**2 + y**2))": [plot.contour(g).figure, plot.gradient_field(g).figure, plot.partial(g, at=(0.5, 0.5))],
    }
    for text, figs in figures.items():
        for fig in figs:
            _labelled(fig)
            titles = [a.get_title() for a in fig.axes] + [fig._suptitle.get_text() if fig._suptitle else ""]
            assert any(text in t for t in titles), (text, titles)
            plt.close(fig)


def test_colour_bars_are_labelled():
    ax = plot.gradient_field(fc.expr("u*exp(-(u**2 + v**2))"))
    bars = [a for a in ax.figure.axes if a.get_label() == "<colorbar>"]
    assert len(bars) == 1 and bars[0].get_ylabel() == "f(u, v)"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("u", "v")  # the expression's own variable names
    plt.close(ax.figure)


def test_the_ode_figure_states_its_equation():
    sol = fc.solve_ode("x", (0.0, 1.0), y0=0.0, maxiter=50)
    fig = plot.ode_solution(sol, exact=lambda x: x**2 / 2, equation="y' = x, y(0) = 0")
    assert "y' = x, y(0) = 0" in fig._suptitle.get_text()
    _labelled(fig)
    plt.close(fig)
    fig = plot.ode_solution(sol)  # without one, from what the solution records
    assert "y' = x" in fig._suptitle.get_text()
    plt.close(fig)


def test_sin_at_infinity_fills_its_range_instead_of_aliasing():
    # A line through sin's samples on a log axis aliases into a false pattern once a pixel holds
    # several periods; the figure draws each pixel column's range, which there is all of [-1, 1].
    ax = plot.limit(np.sin, np.inf)
    band = ax.collections[0].get_paths()[0].vertices
    x, y = band[:, 0], band[:, 1]
    far = x > 1e3
    assert far.any()
    assert y[far].max() > 0.99 and y[far].min() < -0.99
    # the band's edges are the range per column: near x = 1 it is the curve itself (thin)
    near = (x > 1.0) & (x < 1.5)
    assert np.ptp(y[near]) < 0.3
    plt.close(ax.figure)


def test_one_over_x_ticks_do_not_crowd():
    ax = plot.limit(fc.expr("1/x"), 0.0)
    fig = ax.figure
    fig.canvas.draw()
    lo, hi = ax.get_ylim()
    ticks = [t for t in ax.get_yticks() if min(lo, hi) <= t <= max(lo, hi)]
    assert 0.0 in ticks and 3 <= len(ticks) <= 11
    pixels = np.sort([ax.transData.transform((1.0, t))[1] for t in ticks])
    assert np.min(np.diff(pixels)) > 20  # at least 20 px between labels (about two text heights)
    assert ax.get_title().startswith("f(x) = 1/x")
    plt.close(fig)
