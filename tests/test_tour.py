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


def test_the_tour_says_where_its_figures_are(tour_output):
    text, out, with_figures = tour_output
    if not with_figures:
        pytest.skip("matplotlib not installed (the plot extra)")
    assert f"figures written to {out}" in text


def test_every_figure_has_a_gallery_caption(tour_output):
    _, out, with_figures = tour_output
    if not with_figures:
        pytest.skip("matplotlib not installed (the plot extra)")
    assert {p.stem for p in out.glob("*.png")} == set(tour.FIGURES)


def test_figures_go_under_the_cache_folder_unless_told(tmp_path, monkeypatch):
    from fastcalc import cli

    seen = {}
    monkeypatch.setattr(tour, "run", lambda out, stream, progress: seen.update(out=out, progress=progress) or 0)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FASTCALC_CACHE", str(tmp_path / "cache"))
    assert cli.main(["tour"]) == 0
    assert seen["out"] == str(tmp_path / "cache" / "tour") and (tmp_path / "cache" / "tour").is_dir()
    assert cli.main(["tour", "--out", "here", "--no-progress"]) == 0
    assert seen == {"out": "here", "progress": False}
    assert cli.main(["tour", "--no-figures"]) == 0 and seen["out"] is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]  # nothing in the working folder


def test_the_cache_folder_follows_the_platform_and_falls_back_to_temp(tmp_path, monkeypatch):
    import tempfile

    from fastcalc import _paths

    monkeypatch.delenv("FASTCALC_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(sys, "platform", "linux")
    assert _paths.cache_dir() == str(tmp_path / "xdg" / "fastcalc")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    got = _paths.writable_dir(str(blocker / "tour"), "fastcalc-tour-test")
    assert got.startswith(tempfile.gettempdir()) and "fastcalc-tour-test" in got
