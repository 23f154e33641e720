"""Results render in Jupyter as an HTML table of their fields, escaped, arrays summarized."""
import dataclasses
import re
from typing import Optional

import numpy as np

from fastcalc.results import Result


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Sample(Result):
    x: np.ndarray
    message: str
    nit: int
    error: Optional[float] = None
    _private: int = 0


def test_html_table_has_one_row_per_public_field():
    r = Sample(x=np.arange(3.0), message="f(x) < 0 & done", nit=7)
    page = r._repr_html_()
    assert page.startswith("<table>") and page.endswith("</table>") and "<b>Sample</b>" in page
    rows = re.findall(r"<tr><th[^>]*>(.*?)</th><td[^>]*><code>(.*?)</code></td></tr>", page)
    assert [name for name, _ in rows] == ["x", "message", "nit"]  # None and private fields left out
    values = dict(rows)
    assert values["x"] == "[0., 1., 2.]"
    assert values["message"] == "&#x27;f(x) &lt; 0 &amp; done&#x27;"  # escaped, never raw markup
    assert values["nit"] == "7"


def test_large_arrays_are_summarized_not_dumped():
    page = Sample(x=np.zeros((1000, 3)), message="ok", nit=1)._repr_html_()
    assert "array(shape=(1000, 3), dtype=float64)" in page and len(page) < 1000
