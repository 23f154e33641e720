"""The distribution's name is the free one everywhere a user reads an install hint; the metadata,
LICENSE, CHANGELOG and CITATION agree with the package; cibuildwheel covers every platform."""
import re
import sys
from pathlib import Path

import pytest

import fastcalc

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
pytestmark = pytest.mark.skipif(not PYPROJECT.exists(), reason="not run from a source tree")
DIST = "fastcalc-ml"


def _pyproject():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))


def test_install_hints_name_the_distribution_not_the_taken_name():
    texts = {p: p.read_text(encoding="utf-8") for p in (ROOT / "python" / "fastcalc").rglob("*.py")}
    texts.update({p: p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *(ROOT / "docs").rglob("*.rst")]})
    wrong = re.compile(r"pip install [\"']?fastcalc(?![-\w])")
    bad = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p, t in texts.items() for m in wrong.finditer(t)]
    assert not bad, bad
    assert f'pip install "{DIST}[plot]"' in (ROOT / "python" / "fastcalc" / "plot.py").read_text(encoding="utf-8")


def test_metadata_is_complete():
    project = _pyproject()["project"]
    assert project["name"] == DIST
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert project["requires-python"].startswith(">=3.")
    assert {"Homepage", "Documentation", "Source", "Issues", "Changelog"} <= set(project["urls"])
    assert any(c.startswith("Programming Language :: Python :: 3.") for c in project["classifiers"])
    assert {"dask", "docs", "plot", "test", "progress"} <= set(project["optional-dependencies"])
    assert any(d.startswith("dask[array,distributed]") for d in project["optional-dependencies"]["test"])


def test_changelog_and_citation_carry_the_version():
    version = fastcalc.__version__
    assert f"## [{version}]" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^version: {re.escape(version)}$", (ROOT / "CITATION.cff").read_text(encoding="utf-8"), re.M)


def test_wheels_are_configured_for_every_platform():
    cibw = _pyproject()["tool"]["cibuildwheel"]
    assert set(cibw["linux"]["archs"]) == {"x86_64", "aarch64"}
    assert cibw["linux"]["manylinux-x86_64-image"].startswith("manylinux")
    assert cibw["linux"]["musllinux-aarch64-image"].startswith("musllinux")
    assert set(cibw["macos"]["archs"]) == {"x86_64", "arm64"}
    assert cibw["windows"]["archs"] == ["AMD64"]
    for platform in ("macos", "windows"):  # no OpenMP in Apple clang; MSVC has only OpenMP 2.0
        assert cibw[platform]["config-settings"]["cmake.define.FASTCALC_OPENMP"] == "OFF"
    assert "SOURCE_DATE_EPOCH" in cibw["environment-pass"]
