"""Sphinx extension: a "Live code" button that makes a page's code editable and runnable.

On every chapter with code cells and every gallery example, a button under the title turns
the code into editable cells run by a Jupyter server on the reader's own computer, the one
``nox -s live`` or ``dlcourse live`` starts (see ``dlcourse.live``). The page learns the
server's address and token from ``dlcourse-live.json``, which only that command serves beside
the book: the built pages hold neither, and where no server answers the button says how to
start one. The cells are run by Thebe, fetched from npm at build time into ``_static/thebe``
and checked against its recorded hash; nothing is loaded from another host. sphinx-thebe's
own scripts (Thebe from a CDN, a Binder configuration), which Jupyter Book adds to every page,
are left out. The PDF has no button: it is raw HTML, which LaTeX skips.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dlcourse_browser
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

# Thebe 0.9 runs cells on a plain Jupyter server (0.8, sphinx-thebe's, needs its CDN).
THEBE = "thebe@0.9.3"
# The hash npm's registry gives for that tarball (`npm view thebe@0.9.3 dist.integrity`).
THEBE_INTEGRITY = (
    "sha512-Rb/7kVhtlffXra3kIe7OuIGE7awsm2/fGWxw21DiNfnWLnUQiDl9AWqYdshPwZPG/"
    "5DzLpsJRPix2xtCPtJmQQ=="
)
STATIC = Path(__file__).parent / "static"
SCRIPT = "dlcourse_live.js"
STYLE = "dlcourse_live.css"
# sphinx-thebe's scripts and style sheet: Thebe 0.8 from unpkg.com, run on mybinder.org.
THEBE_SCRIPTS = ("sphinx-thebe.js", "THEBE_JS_URL", "text/x-thebe-config")
THEBE_STYLE = "sphinx-thebe.css"
BUTTON = """<div class="dlcourse-live" data-kind="{kind}" data-page="{page}">
<button type="button" class="dlcourse-live-button">Live code</button>
<div class="dlcourse-live-status" role="status" aria-live="polite"></div>
</div>"""


def fetch_thebe(folder: Path) -> Path:
    """Return ``folder/thebe``, holding Thebe's browser files from npm (no source maps)."""
    try:
        thebe = dlcourse_browser.npm_fetch(
            THEBE, "lib", folder / "thebe", integrity=THEBE_INTEGRITY
        )
    except dlcourse_browser.NpmMissing as err:
        raise ExtensionError(f"{err}: Thebe runs the live code") from err
    except dlcourse_browser.NpmMismatch as err:
        raise ExtensionError(str(err)) from err
    # The pages need the scripts and the style sheet, not the maps or the type declarations.
    for found in thebe.glob("*.map"):
        found.unlink()
    shutil.rmtree(thebe / "types", ignore_errors=True)
    return thebe


def serve_thebe(app: Sphinx) -> None:
    """Fetch Thebe next to the output; have Sphinx copy it and the button's files."""
    if app.builder.format != "html":
        return
    vendor = Path(app.outdir).parent / "vendor" / "live"
    fetch_thebe(vendor)
    for folder in (vendor, STATIC):
        if str(folder) not in app.config.html_static_path:
            app.config.html_static_path.append(str(folder))


def page_kind(app: Sphinx, docname: str, doctree: nodes.document) -> str:
    """Return "chapter" for a page with code cells, "gallery" for an example, else ""."""
    conf = getattr(app.config, "sphinx_gallery_conf", None) or {}
    gallery = conf.get("gallery_dirs", [])
    gallery = [gallery] if isinstance(gallery, str) else gallery
    if any(
        docname.startswith(f"{folder}/")
        and docname.rsplit("/", 1)[-1].startswith("plot_")
        for folder in gallery
    ):
        return "gallery"
    for container in doctree.findall(nodes.container):
        if "cell" in container["classes"] and any(
            "cell_input" in child.get("classes", [])
            for child in container.children
        ):
            return "chapter"
    return ""


def add_button(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Drop sphinx-thebe's settings; put the button under the title of a page with code."""
    if app.builder.format != "html":
        return
    for raw in list(doctree.findall(nodes.raw)):
        if any(marker in raw.astext() for marker in THEBE_SCRIPTS) or (
            "kernelName =" in raw.astext()
        ):
            raw.parent.remove(raw)
    kind = page_kind(app, docname, doctree)
    section = next(iter(doctree.findall(nodes.section)), None)
    if not kind or section is None:
        return
    button = nodes.raw(
        "",
        BUTTON.format(kind=kind, page=docname.rsplit("/", 1)[-1]),
        format="html",
    )
    title = next(iter(section.findall(nodes.title)), None)
    section.insert(section.index(title) + 1 if title else 0, button)


def add_script(
    app: Sphinx, pagename, templatename, context: dict, doctree
) -> None:
    """Add the button's script to the pages that have it; leave out sphinx-thebe's files."""
    # Added first: the builder appends to the lists the context holds, not to copies of them.
    if doctree is not None and any(
        "dlcourse-live-button" in raw.astext()
        for raw in doctree.findall(nodes.raw)
    ):
        app.add_js_file(SCRIPT, defer="defer")
        app.add_css_file(STYLE)
    # In place: handlers after this one (MathJax's) append to the list the builder holds.
    scripts = context.get("script_files", [])
    scripts[:] = [
        script
        for script in scripts
        if not any(
            marker in (script.filename or "")
            or marker in script.attributes.get("body", "")
            or marker == script.attributes.get("type")
            for marker in THEBE_SCRIPTS
        )
    ]
    sheets = context.get("css_files", [])
    sheets[:] = [
        css for css in sheets if THEBE_STYLE not in (css.filename or "")
    ]


def setup(app: Sphinx) -> dict:
    """Register the hooks."""
    app.connect("builder-inited", serve_thebe)
    # After sphinx-thebe's (priority 500), which adds its settings to every page.
    app.connect("doctree-resolved", add_button, priority=600)
    app.connect("html-page-context", add_script, priority=400)
    return {
        "version": "1.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
