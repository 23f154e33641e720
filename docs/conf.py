"""Sphinx configuration of fastcalc's documentation (``sphinx-build -W -b html docs docs/_build/html``)."""
import os
import sys

sys.path.insert(0, os.path.abspath("_ext"))

import fastcalc  # noqa: E402  (the installed package, or PYTHONPATH=python in a development tree)

project = "fastcalc"
author = "The fastcalc contributors"
copyright = "2026, The fastcalc contributors"
release = fastcalc.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "tour_gallery",
    "plain_docstrings",
]

# The API reference lists every public member, with its docstring where it has one.
autodoc_default_options = {"members": True, "undoc-members": True, "member-order": "bysource",
                           "show-inheritance": True}
autodoc_typehints = "none"  # the signatures carry them; numpydoc's sections describe the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set = set()
numpydoc_xref_param_type = False

exclude_patterns = ["_build", "gallery", "_pending_docstrings.md"]
templates_path: list = []
html_theme = "alabaster"
html_static_path = ["_static"]
html_title = f"fastcalc {release}"
html_theme_options = {"description": "Calculus for machine learning, with a C++ core", "fixed_sidebar": True}
