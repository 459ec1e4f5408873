"""Sphinx extension: the book's own style sheet, over the theme's, on every HTML page.

``static/dlcourse.css`` sets code in a size at which 80 columns fit the text column,
wraps long output lines, and darkens links on tinted boxes to a contrast that reads.
Outputs that show nothing (rich, which Keras prints its summaries with, leaves an empty
HTML display beside the text in a notebook) are dropped, so no empty box is drawn.
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx

STATIC = Path(__file__).parent / "static"
STYLE = "dlcourse.css"


def serve_style(app: Sphinx) -> None:
    """Have Sphinx copy ``static/`` (style sheet, page scripts) into ``_static``, once."""
    if (
        app.builder.format == "html"
        and str(STATIC) not in app.config.html_static_path
    ):
        app.config.html_static_path.append(str(STATIC))


def page_assets(app: Sphinx, page: str, script: str, sheet: str) -> None:
    """Serve ``static/`` and link ``script`` and ``sheet`` from ``static/`` into ``page`` alone."""

    def add(app: Sphinx, pagename: str, templatename, context, doctree) -> None:
        if pagename == page:
            app.add_js_file(script, defer="defer")
            app.add_css_file(sheet)

    app.connect("builder-inited", serve_style)
    # Before dlcourse_browser's html-page-context handler, which copies the list of scripts.
    app.connect("html-page-context", add, priority=400)


def drop_empty_outputs(app: Sphinx, doctree: nodes.document) -> None:
    """Remove each cell output all of whose forms (HTML, text) show nothing.

    Also each code block left empty, as a gallery example's settings-only cell is once
    sphinx-gallery has removed its ``# sphinx_gallery_...`` lines.
    """
    for block in list(doctree.findall(nodes.literal_block)):
        if not block.astext().strip() and block.parent is not None:
            block.parent.remove(block)
    for cell_output in list(doctree.findall(nodes.container)):
        if "cell_output" not in cell_output.get("classes", []):
            continue
        for output in list(cell_output.children):
            if isinstance(output, nodes.Element) and is_empty(output):
                cell_output.remove(output)
        if not cell_output.children:
            cell_output.parent.remove(cell_output)


def is_empty(output: nodes.Element) -> bool:
    """Return whether an output holds no picture and no text, in any of its forms."""
    if any(True for _ in output.findall(nodes.image)):
        return False
    forms = [*output.findall(nodes.raw), *output.findall(nodes.literal_block)]
    return bool(forms) and all(shows_nothing(form.astext()) for form in forms)


def shows_nothing(markup: str) -> bool:
    """Return whether HTML has no text and no picture: tags and white space only."""
    if re.search(
        r"<(img|svg|canvas|video|iframe|object)\b", markup, re.IGNORECASE
    ):
        return False
    return not re.sub(r"<[^>]*>", "", markup).strip()


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
