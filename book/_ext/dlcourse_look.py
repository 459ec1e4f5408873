"""Sphinx extension: the book's own style sheet, over the theme's, on every HTML page.

``static/dlcourse.css`` sets code in a size at which 80 columns fit the text column,
wraps long output lines, and darkens links on tinted boxes to a contrast that reads.
Outputs that show nothing (rich, which Keras prints its summaries with, leaves an empty
HTML display beside the text in a notebook) are dropped, so no empty box is drawn.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx

STATIC = Path(__file__).parent / "static"
STYLE = "dlcourse.css"


def serve_style(app: Sphinx) -> None:
    """Have Sphinx copy the style sheet into ``_static``, once."""
    if (
        app.builder.format == "html"
        and str(STATIC) not in app.config.html_static_path
    ):
        app.config.html_static_path.append(str(STATIC))


def drop_empty_outputs(app: Sphinx, doctree: nodes.document) -> None:
    """Remove the cell outputs whose HTML is nothing but white space."""
    for output in list(doctree.findall(nodes.container)):
        classes = output.get("classes", [])
        if "output" not in classes or "text_html" not in classes:
            continue
        raws = list(output.findall(nodes.raw))
        if raws and all(not raw.astext().strip() for raw in raws):
            output.parent.remove(output)


def setup(app: Sphinx) -> dict:
    """Register the style sheet, after the theme's so that it wins."""
    app.connect("builder-inited", serve_style)
    app.connect("doctree-read", drop_empty_outputs)
    app.add_css_file(STYLE, priority=900)
    return {
        "version": "1.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
