"""The result objects of fastcalc, one family with one set of conventions (like scipy's).

Every result is immutable, reads as attributes (``r.x``) and as a mapping (``r["x"]``,
``dict(r)``, ``list(r)`` gives the field names), and prints as an aligned table of its fields.
The common fields mean the same thing everywhere:

``success``
    True only when the result can be trusted to within its error estimate or tolerance.
``status``
    0 for success; another integer says what went wrong (each function documents its codes).
``message``
    The status in words.
``nfev``, ``nit``
    Evaluations of the function, iterations of the method (where they apply).

Concrete result types are frozen dataclasses deriving from :class:`Result`. In Jupyter a result
shows as a table of its fields (``_repr_html_``).
"""
from __future__ import annotations

import dataclasses
import html
from collections.abc import Mapping
from typing import Any, Iterator, Tuple

import numpy as np

__all__ = ["Result"]


def _brief(value: Any) -> str:
    """A value as one short readable line (arrays summarized)."""
    if isinstance(value, np.ndarray):
        if value.size <= 6:
            return np.array2string(value, precision=8, separator=", ", max_line_width=10**6).replace("\n", "")
        return f"array(shape={value.shape}, dtype={value.dtype})"
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)) and len(value) > 6:
        return f"{type(value).__name__} of {len(value)}"
    text = repr(value)
    return text if len(text) <= 100 else text[:97] + "..."


class Result(Mapping):
    """Base of every fastcalc result: attribute and mapping access, a readable repr.

    Subclasses are ``@dataclasses.dataclass(frozen=True, repr=False, eq=False)``; fields whose
    names start with an underscore are private (not listed, not printed).

    Examples
    --------
    >>> import dataclasses
    >>> @dataclasses.dataclass(frozen=True, repr=False, eq=False)
    ... class Found(Result):
    ...     x: float
    ...     success: bool = True
    >>> r = Found(x=2.0)
    >>> r.x, r["x"], list(r)
    (2.0, 2.0, ['x', 'success'])
    >>> r
    Found(
            x: 2
      success: True
    )
    """

    __slots__ = ()

    @classmethod
    def _field_names(cls) -> Tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls) if not f.name.startswith("_"))

    def __getitem__(self, key: str) -> Any:
        if key in self._field_names():
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._field_names())

    def __len__(self) -> int:
        return len(self._field_names())

    # Results hold arrays: identity, not elementwise comparison, as for scipy's results.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        names = [n for n in self._field_names() if getattr(self, n) is not None]
        if not names:
            return f"{type(self).__name__}()"
        width = max(len(n) for n in names)
        rows = [f"  {n.rjust(width)}: {_brief(getattr(self, n))}" for n in names]
        return f"{type(self).__name__}(\n" + "\n".join(rows) + "\n)"

    def _repr_html_(self) -> str:
        """The fields as an HTML table (Jupyter shows results this way)."""
        names = [n for n in self._field_names() if getattr(self, n) is not None]
        rows = "".join(
            f"<tr><th style='text-align:right'>{html.escape(n)}</th>"
            f"<td style='text-align:left'><code>{html.escape(_brief(getattr(self, n)))}</code></td></tr>"
            for n in names)
        caption = html.escape(type(self).__name__)
        return f"<table><caption style='text-align:left'><b>{caption}</b></caption>{rows}</table>"
