"""Checks that every executed page of the built book says what produced it.

Run after a build (``pytest -m book``).
"""

from __future__ import annotations

import re

import bookpages
import pytest

from dlcourse import hardware

pytestmark = pytest.mark.book

ROOT = bookpages.ROOT
LINE = re.compile(
    r"Executed by this build on (?P<machine>.+?), with Python [\d.]+.*?, profile (?P<profile>\w+): "
    r"this page's code ran in (?P<seconds>\d+\.\d) s\. Built on \d{4}-\d\d-\d\d from commit "
    r"(?P<commit>[0-9a-f]{10}( with local changes)?|no git checkout)\."
)
CODE_CHAPTERS = [
    file
    for file in bookpages.toc_chapters()
    if "```{code-cell}" in (ROOT / f"{file}.md").read_text(encoding="utf-8")
]
EXAMPLES = sorted(
    f"book/gallery/{path.parent.name}/{path.stem}"
    for path in (ROOT / "gallery").glob("*/plot_*.py")
)


def _provenance(page_path: str) -> re.Match:
    lines = bookpages.page(page_path).select("p.dlcourse-provenance")
    assert len(lines) == 1, f"{page_path}: {len(lines)} provenance lines"
    found = LINE.fullmatch(lines[0].get_text(" ", strip=True))
    assert found, f"{page_path}: {lines[0].get_text()!r}"
    return found


@pytest.mark.parametrize("page", CODE_CHAPTERS + EXAMPLES)
def test_every_executed_page_says_what_produced_it(page):
    found = _provenance(f"{page}.html")
    assert found["machine"].startswith(hardware.cpu_model())
    assert found["profile"] in ("full", "smoke")


def test_pages_without_code_carry_no_provenance_line():
    for file in bookpages.toc_chapters():
        if file not in CODE_CHAPTERS:
            assert not bookpages.page(f"{file}.html").select(
                "p.dlcourse-provenance"
            ), file


def test_the_build_report_lists_every_chapter_and_example_with_its_time():
    page = bookpages.page("book/build_report.html")
    text = page.get_text(" ")
    for chapter in CODE_CHAPTERS:
        assert chapter.split("/")[-1] in text, (
            f"the build report does not list {chapter}"
        )
    times = {}
    for row in page.select("table tr"):
        cells = [
            cell.get_text(strip=True) for cell in row.find_all(["td", "th"])
        ]
        if len(cells) == 2 and cells[0].endswith(".py"):
            times[cells[0]] = float(cells[1])
    assert sorted(times) == sorted(
        f"{e.split('/')[-2]}/{e.split('/')[-1]}.py" for e in EXAMPLES
    )
    # The report's time for an example is the one its own page states.
    for example in EXAMPLES:
        stated = float(_provenance(f"{example}.html")["seconds"])
        assert (
            abs(
                times[f"{example.split('/')[-2]}/{example.split('/')[-1]}.py"]
                - stated
            )
            <= 0.06
        )
