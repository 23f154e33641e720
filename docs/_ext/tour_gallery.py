"""The gallery: ``fastcalc tour``'s figures, made at build time, captioned from tour.FIGURES.

``.. tour-gallery::`` runs the tour once per build (into ``docs/gallery/``, ignored by git) and
places every figure with its caption, so the gallery always shows what the installed fastcalc
draws and lists exactly the tour's figures.
"""
from __future__ import annotations

import io
import os

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

OUT = "gallery"


def _make_figures(app) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from fastcalc import tour

    out = os.path.join(app.srcdir, OUT)
    os.makedirs(out, exist_ok=True)
    tour.run(out=out, stream=io.StringIO(), progress=False)
    missing = [name for name in tour.FIGURES if not os.path.exists(os.path.join(out, f"{name}.png"))]
    if missing:
        raise RuntimeError(f"the tour did not write {missing}")


class TourGallery(SphinxDirective):
    has_content = False

    def run(self):
        from fastcalc import tour

        lines = []
        for name, caption in tour.FIGURES.items():
            lines += [f".. figure:: /{OUT}/{name}.png", f"   :alt: {name}", "   :width: 100%", "",
                      f"   ``{name}.png``: {caption}", ""]
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source="tour-gallery"), self.content_offset, container)
        return container.children


def setup(app):
    app.connect("builder-inited", _make_figures)
    app.add_directive("tour-gallery", TourGallery)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
