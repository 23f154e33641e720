"""The documentation's examples run and say what fastcalc really prints; every public name is in
the API reference; every public member has a docstring, or its text waits in
docs/_pending_docstrings.md for the file's owner to apply."""
import dataclasses
import doctest
import importlib
import inspect
import re
import runpy
from pathlib import Path

import pytest

import fastcalc as fc

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

pytestmark = pytest.mark.skipif(not DOCS.is_dir(), reason="the docs/ folder is not beside the tests")


def _needs(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


PAGES = sorted(p.relative_to(DOCS).as_posix() for p in list(DOCS.glob("*.rst")) + list(DOCS.glob("guide/*.rst")))
NEEDS = {"guide/dask.rst": "dask.distributed"}


@pytest.mark.parametrize("page", PAGES)
def test_the_examples_of_each_page_run(page):
    if page in NEEDS and not _needs(NEEDS[page]):
        pytest.skip(f"{NEEDS[page]} not installed")
    result = doctest.testfile(str(DOCS / page), module_relative=False, optionflags=FLAGS, globs={}, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in docs/{page} failed (see above)"


MODULES = ["fastcalc", "fastcalc.results", "fastcalc._progress", "fastcalc.plot", "fastcalc.dask",
           "fastcalc.expressions.expr", "fastcalc.differentiate", "fastcalc.limits", "fastcalc.optimize",
           "fastcalc.ode", "fastcalc.tour"]
MODULE_NEEDS = {"fastcalc.plot": "matplotlib", "fastcalc.dask": "dask.distributed"}


@pytest.mark.parametrize("name", MODULES)
def test_the_examples_in_docstrings_run(name):
    if name in MODULE_NEEDS and not _needs(MODULE_NEEDS[name]):
        pytest.skip(f"{MODULE_NEEDS[name]} not installed")
    if name == "fastcalc.plot":
        import matplotlib

        matplotlib.use("Agg")
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in finder.find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (see above)"
    if name == "fastcalc.plot":
        import matplotlib.pyplot as plt

        plt.close("all")


def test_readme_examples_run(capsys):
    main = runpy.run_path(str(ROOT / "scripts" / "readme_examples.py"))["main"]
    assert main([str(ROOT / "README.md")]) == 0
    assert re.search(r"\d+ README example blocks ran", capsys.readouterr().out)


# ---- the API reference and the docstrings ----------------------------------------------------

def _api_names():
    text = (DOCS / "api.rst").read_text(encoding="utf-8")
    names, current = set(), ""
    for line in text.splitlines():
        m = re.match(r"\.\. currentmodule:: (\S+)", line)
        if m:
            current = m.group(1)
        m = re.match(r"\.\. auto(?:function|class|exception|data|module):: (\S+)", line)
        if m:
            target = m.group(1)
            names.add(target if target.startswith("fastcalc") else f"{current}.{target}")
    return names


def _public():
    """(qualified name, object) of every public function and class fastcalc documents."""
    from fastcalc import limits, plot

    out = [(f"fastcalc.{n}", getattr(fc, n)) for n in fc.__all__ if n not in ("__version__", "plot")]
    out += [(f"fastcalc.plot.{n}", getattr(plot, n)) for n in plot.__all__]
    out += [("fastcalc.limits.Continuity", limits.Continuity)]  # (Result: exported as fastcalc.Result)
    if _needs("dask.distributed"):
        import fastcalc.dask as fcd

        out += [(f"fastcalc.dask.{n}", getattr(fcd, n)) for n in fcd.__all__]
    return out


def test_the_api_reference_lists_every_public_name():
    listed = _api_names()
    missing = [name for name, _ in _public() if name not in listed]
    assert not missing, f"add to docs/api.rst: {missing}"


def _field_documented(cls, field: str) -> bool:
    doc = inspect.getdoc(cls) or ""
    if re.search(rf"^{re.escape(field)}\s*:", doc, flags=re.M):  # a numpydoc Attributes entry
        return True
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return False
    return re.search(rf"^\s+{re.escape(field)}\s*:[^\n]*#:", source, flags=re.M) is not None


def _undocumented():
    """Qualified names of public functions, classes, methods, properties and dataclass fields
    without documentation."""
    missing = []
    for qual, obj in _public():
        short = qual.replace("fastcalc.", "", 1)
        if not inspect.getdoc(obj):
            missing.append(short)
        if not inspect.isclass(obj):
            continue
        for name, member in vars(obj).items():
            if name.startswith("_") and name != "__call__":
                continue
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            if isinstance(member, property) or inspect.isfunction(member):
                if not (member.__doc__ or "").strip():
                    missing.append(f"{short}.{name}")
        if dataclasses.is_dataclass(obj):
            for f in dataclasses.fields(obj):
                if not f.name.startswith("_") and not _field_documented(obj, f.name):
                    missing.append(f"{short}.{f.name}")
    return missing


def _pending():
    text = (DOCS / "_pending_docstrings.md").read_text(encoding="utf-8")
    return set(re.findall(r"^### `([^`]+)`", text, flags=re.M))


def test_every_public_member_is_documented_or_its_docstring_is_pending():
    pending = _pending()
    missing = [name for name in _undocumented() if name not in pending]
    assert not missing, ("public members without a docstring: write one, or (in a file you do not own) "
                         f"put its text in docs/_pending_docstrings.md: {missing}")


def test_pending_docstrings_are_still_pending():
    stale = sorted(_pending() - set(_undocumented()))
    assert not stale, f"documented now (or renamed): remove from docs/_pending_docstrings.md: {stale}"
