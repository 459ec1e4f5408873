"""Checks of what a reader downloads from the built book: chapter notebooks, example zips.

Run after a build (``pytest -m book``).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from urllib.parse import urljoin

import bookpages
import nbformat
import pytest

pytestmark = pytest.mark.book

ROOT = bookpages.ROOT
HTML = bookpages.HTML


def _executed_chapters() -> list[str]:
    """Return the chapters that hold code cells, as the table of contents names them."""
    chapters = []
    for file in bookpages.toc_chapters():
        if "```{code-cell}" in (ROOT / f"{file}.md").read_text(
            encoding="utf-8"
        ):
            chapters.append(file)
    return chapters


def _linked_file(page_path: str, href: str) -> Path:
    """Return the file under the HTML folder that a link on ``page_path`` points at."""
    return HTML / urljoin(page_path, href).split("#")[0]


@pytest.mark.parametrize("chapter", _executed_chapters())
def test_chapter_offers_its_executed_notebook(chapter):
    page_path = f"{chapter}.html"
    links = [a["href"] for a in bookpages.page(page_path).select("a[href]")]
    notebooks = [href for href in links if href.endswith(".ipynb")]
    assert notebooks, f"{chapter}: no .ipynb in the download menu"
    path = _linked_file(page_path, notebooks[0])
    assert path.is_file(), path
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and any(cell.outputs for cell in code), (
        f"{chapter}: a notebook without outputs"
    )
    # Glue is the book's: a reader's environment holds no MyST-NB.
    imports = [
        line
        for cell in code
        for line in cell.source.splitlines()
        if re.match(r"\s*(from|import)\s+myst_nb\b", line)
    ]
    assert not imports, f"{chapter}: the notebook imports MyST-NB: {imports}"
    # The MyST source stays downloadable beside it.
    assert any(href.endswith(f"{Path(chapter).name}.md") for href in links)


def test_gallery_offers_every_example_in_one_zip_of_scripts_and_one_of_notebooks():
    page_path = "book/gallery/index.html"
    links = [a["href"] for a in bookpages.page(page_path).select("a[href]")]
    zips = [
        _linked_file(page_path, href) for href in links if href.endswith(".zip")
    ]
    assert len(zips) == 2, f"the gallery's index links {len(zips)} zips, not 2"
    scripts = sorted(
        f"{p.parent.name}/{p.name}"
        for p in (ROOT / "gallery").glob("*/plot_*.py")
    )
    contents = []
    for path in zips:
        with zipfile.ZipFile(path) as archive:
            assert archive.testzip() is None, path
            contents.append(sorted(archive.namelist()))
    notebooks = sorted(script.replace(".py", ".ipynb") for script in scripts)
    assert sorted(contents) == sorted([scripts, notebooks])


GALLERY_SCRIPTS = sorted((ROOT / "gallery").glob("*/plot_*.py"))


@pytest.mark.parametrize(
    "script", GALLERY_SCRIPTS, ids=[s.name for s in GALLERY_SCRIPTS]
)
def test_example_page_installs_the_wheel_with_the_extra_its_script_imports(
    script, monkeypatch
):
    monkeypatch.syspath_prepend(str(ROOT / "book" / "_ext"))
    import dlcourse_wheel

    extra = dlcourse_wheel.extra_for(script.read_text(encoding="utf-8"))
    page = bookpages.page(
        f"book/gallery/{script.parent.name}/{script.stem}.html"
    )
    blocks = [pre.get_text() for pre in page.select("div.highlight pre")]
    installs = [
        line
        for block in blocks
        for line in block.splitlines()
        if "pip install" in line
    ]
    assert any(
        re.fullmatch(
            rf'pip install "\./dlcourse-[\w.]+-py3-none-any\.whl\[{extra}\]"',
            line.strip(),
        )
        for line in installs
    ), (script.name, installs)
