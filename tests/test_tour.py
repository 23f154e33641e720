"""The tour runs end to end and prints the course's figures (what the arithmetic gives)."""
import io
import subprocess
import sys

import pytest

from fastcalc import tour


@pytest.fixture(scope="module")
def tour_output(tmp_path_factory):
    out = tmp_path_factory.mktemp("tour")
    try:
        import matplotlib

        matplotlib.use("Agg")
        folder = str(out)
    except ImportError:
        folder = None
    buf = io.StringIO()
    assert tour.run(out=folder, stream=buf) == 0
    return buf.getvalue(), out, folder is not None


def test_tables_carry_the_course_figures(tour_output):
    text, _, _ = tour_output
    for figure in ["6.009999999999849", "6.000999999999479", "6.000100000012054", "6.000009999951316",
                   "1.0000000000000002", "2*x - 4", "2*x + 1", "2**x*log(2)", "1 - tanh(x)**2", "3*cos(3*x)",
                   "-46 sin 4t - 72 cos 4t", "left and right disagree", "oscillates", "1.99936", "2.65536",
                   "1.34464", "min at 2.0", "atan2"]:
        assert figure in text, figure
    assert "-64 sin 4t" in text  # named as the course's slip, not used


def test_every_figure_is_written(tour_output):
    text, out, with_figures = tour_output
    if not with_figures:
        pytest.skip("matplotlib not installed (the plot extra)")
    names = {p.name for p in out.iterdir()}
    expected = {"limit_one_over_x.png", "limit_sin_at_infinity.png", "step_error.png", "tangent.png",
                "partial_x.png", "surface.png", "gradient_field.png", "descent_path.png", "learning_rates.png",
                "ode_y_prime_x.png", "ode_system.png"}
    assert expected <= names
    assert all((out / n).stat().st_size > 5000 for n in expected)


def test_console_script_entry_point():
    r = subprocess.run([sys.executable, "-m", "fastcalc", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and "fastcalc" in r.stdout
