"""Checks of how the built pages look: code width, one summary block, figures, the gallery.

Run after a build (``pytest -m book``). What needs a browser (contrast, sideways scrolling)
is in ``test_book_browser.py``.
"""

from __future__ import annotations

import collections
import re
import struct
import sys
from pathlib import Path
from urllib.parse import urljoin

import bookpages
import pytest

pytestmark = pytest.mark.book

ROOT = bookpages.ROOT
HTML = bookpages.HTML
# Shown code fits this many columns: the text column of a 1280 px window holds 83.
COLUMNS = 80
GALLERY = ROOT / "gallery"
EXAMPLES = sorted(
    f"book/gallery/{p.parent.name}/{p.stem}"
    for p in GALLERY.glob("*/plot_*.py")
)
PAGES = [*bookpages.toc_chapters(), *EXAMPLES]


def _course_order() -> tuple[str, ...]:
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        import dlcourse_gallery
    finally:
        sys.path.pop(0)
    return dlcourse_gallery.COURSE_ORDER


def shown_code(page_path: str) -> list[str]:
    """Return the code blocks of a page as a reader sees them, outputs left out."""
    blocks = []
    for pre in bookpages.page(page_path).select("div.highlight pre"):
        if pre.find_parent(class_=["cell_output", "sphx-glr-script-out"]):
            continue
        blocks.append(pre.get_text())
    return blocks


@pytest.mark.parametrize("page", PAGES)
def test_shown_code_fits_the_column(page):
    long = [
        line
        for block in shown_code(f"{page}.html")
        for line in block.splitlines()
        if len(line) > COLUMNS
    ]
    assert not long, (
        f"{page}: {len(long)} line(s) over {COLUMNS} columns, first: {long[0]!r}"
    )


@pytest.mark.parametrize("page", PAGES)
def test_shown_code_carries_no_linter_comments(page):
    marked = [
        line.strip()
        for block in shown_code(f"{page}.html")
        for line in block.splitlines()
        if "# noqa" in line or "# type: ignore" in line
    ]
    assert not marked, f"{page}: {marked}"


@pytest.mark.parametrize("page", PAGES)
def test_keras_summaries_are_one_block(page):
    outputs = bookpages.page(f"{page}.html").select("pre")
    for pre in outputs:
        text = pre.get_text()
        if "Total params" in text or "Layer (type)" in text:
            assert "Layer (type)" in text and "Trainable params" in text, (
                f"{page}: a model summary split over several blocks: {text[:80]!r}"
            )


def test_gallery_index_shows_the_examples_in_course_order():
    index = bookpages.page("book/gallery/index.html")
    shown = []
    for thumb in index.select("div.sphx-glr-thumbcontainer"):
        href = thumb.select_one("a[href]")["href"]
        shown.append(Path(href.split("#")[0]).with_suffix(".py").name)
    order = _course_order()
    expected = sorted(shown, key=lambda name: (order.index(name), name))
    assert shown == expected
    assert sorted(shown) == sorted(Path(e).name + ".py" for e in EXAMPLES)


def test_every_example_is_in_the_course_order():
    assert sorted(_course_order()) == sorted(
        Path(e).name + ".py" for e in EXAMPLES
    )


@pytest.mark.parametrize("page", ["book/welcome", "book/gallery/index"])
def test_sidebar_lists_each_page_once(page):
    nav = bookpages.page(f"{page}.html").select_one("nav.bd-docs-nav")
    targets = [
        urljoin(f"{page}.html", a["href"]).split("#")[0]
        for a in nav.select("a[href]")
    ]
    repeated = {t: n for t, n in collections.Counter(targets).items() if n > 1}
    assert not repeated, f"{page}: listed more than once: {repeated}"
    assert f"{EXAMPLES[0]}.html" in targets


def _png_width(path: Path) -> int:
    """Return the pixel width written in a PNG file's header."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">I", header[16:20])[0]


@pytest.mark.parametrize(
    "chapter", [c for c in bookpages.toc_chapters() if c != "book/welcome"]
)
def test_chapter_figures_have_twice_the_pixels_they_are_shown_at(chapter):
    page_path = f"{chapter}.html"
    for img in bookpages.page(page_path).select(".cell_output img"):
        src = img["src"]
        if not src.endswith(".png"):
            continue
        # MyST-NB writes the width IPython gave the image into its style.
        width = re.search(r"width:\s*([\d.]+)px", img.get("style", ""))
        assert width, f"{chapter}: {src} has no width, so no 2x"
        pixels = _png_width(HTML / urljoin(page_path, src))
        shown = float(width.group(1))
        assert pixels >= 2 * shown - 1, (
            f"{chapter}: {src} {pixels} px at {shown}"
        )


@pytest.mark.parametrize("example", EXAMPLES)
def test_gallery_figures_come_at_twice_the_pixels(example):
    images = bookpages.page(f"{example}.html").select("img.sphx-glr-single-img")
    images += bookpages.page(f"{example}.html").select("img.sphx-glr-multi-img")
    assert images, f"{example} shows no figure"
    for img in images:
        assert re.search(r"\s2(\.0+)?x\b", img.get("srcset", "")), (
            f"{example}: {img['src']} offers no 2x image"
        )


@pytest.mark.parametrize("chapter", bookpages.toc_chapters())
def test_included_code_is_captioned_with_where_it_comes_from(chapter):
    source = (ROOT / f"{chapter}.md").read_text(encoding="utf-8")
    included = re.findall(r"```\{literalinclude\} (\S+)", source)
    captions = [
        caption.get_text(" ", strip=True)
        for caption in bookpages.page(f"{chapter}.html").select(
            "div.code-block-caption span.caption-text"
        )
    ]
    for target in included:
        path = (ROOT / "book" / target).resolve().relative_to(ROOT).as_posix()
        assert any(caption.startswith(path) for caption in captions), (
            f"{chapter}: the code from {path} has no caption naming it"
        )


@pytest.mark.parametrize("chapter", bookpages.toc_chapters())
def test_no_output_is_an_empty_box(chapter):
    empty = [
        output
        for output in bookpages.page(f"{chapter}.html").select(
            "div.cell_output > div.output"
        )
        if not output.get_text().strip() and not output.find(["img", "svg"])
    ]
    assert not empty, f"{chapter}: {len(empty)} empty output(s): {empty[0]}"
