"""Docstrings that are not yet numpydoc are shown as written (a literal block) instead of being
parsed as reStructuredText, where their ``|x|`` and indentation would break the build.

A docstring counts as numpydoc once it has a section (a title underlined with dashes, such as
``Parameters`` or ``Examples``); from then on numpydoc renders it fully. Docstrings of one
paragraph of plain prose without markup characters are left alone too.
"""
from __future__ import annotations

import inspect
import re

_SECTION = re.compile(r"^\s*-{3,}\s*$")
_RISKY = re.compile(r"[|*`_\\]|^\s{2,}\S", re.M)


def _numpydoc(lines) -> bool:
    return any(_SECTION.match(line) for line in lines[1:])


def process(app, what, name, obj, options, lines) -> None:
    """After numpydoc (priority 600): for an object whose own docstring has no numpydoc
    section, show that docstring verbatim (its first line as the summary when it is safe)."""
    doc = inspect.getdoc(obj) if obj is not None else None
    if not doc or not lines:
        return
    original = doc.splitlines()
    if _numpydoc(original):
        return
    text = "\n".join(original)
    if not _RISKY.search(text) and "\n\n" not in text.strip() and ">>>" not in text:
        return
    summary = original[0]
    body = original[1:] if not _RISKY.search(summary) else original
    while body and not body[0].strip():
        body = body[1:]
    head = [summary, ""] if body is not original else []
    lines[:] = head + (["::", ""] + ["    " + line for line in body] + [""] if body else [])


def setup(app):
    app.connect("autodoc-process-docstring", process, priority=600)  # after numpydoc (500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
