"""Checks of the book's PDF: whole, with every chapter, the same results as the HTML, linked.

Run by ``nox -s pdf`` after it typeset the PDF (``pytest -m pdf``); ``DLCOURSE_PDF`` names the
file, by default ``dlcourse.pdf`` beside the HTML.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from urllib.parse import urljoin

import bookpages
import pytest

pytestmark = pytest.mark.pdf

PDF = Path(os.environ.get("DLCOURSE_PDF") or bookpages.HTML / "dlcourse.pdf")
# A percentage as the chapters print them: the measured accuracies.
PERCENT = re.compile(r"\b\d{2}\.\d{2} ?%")


@functools.cache
def reader():
    """Return the PDF opened with pypdf, or fail the test when there is none."""
    from pypdf import PdfReader

    if not PDF.is_file():
        pytest.fail(f"{PDF} is missing: typeset it with `nox -s pdf`")
    return PdfReader(PDF)


@functools.cache
def text() -> str:
    """Return the text of every page, whitespace collapsed."""
    return " ".join(
        " ".join(page.extract_text().split()) for page in reader().pages
    )


def outline_titles() -> list[str]:
    """Return the titles of the PDF's outline (its bookmarks), every level flattened."""
    titles = []

    def walk(entries) -> None:
        for entry in entries:
            if isinstance(entry, list):
                walk(entry)
            else:
                titles.append(" ".join(entry.title.split()))

    walk(reader().outline)
    return titles


def chapter_title(chapter: str) -> str:
    """Return a chapter's title as its HTML page shows it, without the permalink sign."""
    heading = bookpages.page(f"{chapter}.html").find("h1")
    return " ".join(heading.get_text(" ").replace("#", " ").split())


def test_the_pdf_is_a_whole_book():
    assert PDF.read_bytes()[:5] == b"%PDF-"
    # One page per chapter would be a broken typesetting; the book runs to well over a hundred.
    assert len(reader().pages) > 10 * len(bookpages.toc_chapters())


@pytest.mark.parametrize("chapter", bookpages.toc_chapters()[1:])
def test_every_chapter_is_in_the_outline(chapter):
    # The welcome page is the PDF's front matter, the others are its chapters.
    assert chapter_title(chapter).casefold() in {
        t.casefold() for t in outline_titles()
    }


def test_no_reference_is_left_unresolved():
    # LaTeX prints "??" for a reference it could not resolve.
    assert "??" not in text()


@pytest.mark.parametrize(
    "chapter",
    [
        "book/softmax_regression",
        "book/convolutional_networks",
        "book/more_data",
        "book/training_fast",
    ],
)
def test_the_pdf_shows_the_results_the_html_shows(chapter):
    shown = (
        bookpages.page(f"{chapter}.html")
        .select_one("article, main, body")
        .get_text(" ")
    )
    in_html = {p.replace(" ", "") for p in PERCENT.findall(shown)}
    in_pdf = {p.replace(" ", "") for p in PERCENT.findall(text())}
    assert in_html, f"{chapter} shows no measured percentage"
    assert in_html <= in_pdf, (
        f"in the HTML of {chapter} only: {sorted(in_html - in_pdf)}"
    )


def test_the_welcome_page_links_to_the_pdf():
    welcome = "book/welcome.html"
    links = [a["href"] for a in bookpages.page(welcome).select("a[href]")]
    pdfs = [
        bookpages.HTML / urljoin(welcome, href)
        for href in links
        if href.endswith(".pdf")
    ]
    assert pdfs, f"{welcome} has no link to the PDF"
    assert all(path.resolve() == PDF.resolve() for path in pdfs), pdfs
