"""Checks of the built book's tabs: a reader who picks PyTorch once sees PyTorch everywhere.

Run by ``nox -s book`` after the build (``pytest -m book``).
"""

from __future__ import annotations

import re
from collections import defaultdict

import bookpages
import pytest

pytestmark = pytest.mark.book

# The sync key of each framework's tab (sphinx-design's ``:sync:``), the same on every page.
FRAMEWORKS = {"Keras": "keras", "PyTorch": "torch"}


def tab_sets() -> list[tuple[str, list]]:
    """Return every tab set of the built book as (page, its tabs' labels)."""
    found = []
    for path in sorted(bookpages.HTML.glob("book/**/*.html")):
        page = path.relative_to(bookpages.HTML).as_posix()
        for tab_set in bookpages.page(page).select("div.sd-tab-set"):
            found.append(
                (
                    page,
                    tab_set.find_all(
                        "label", class_="sd-tab-label", recursive=False
                    ),
                )
            )
    return found


def test_every_pair_of_tabs_is_one_choice_across_the_book():
    keys = defaultdict(set)
    unsynced = []
    for page, labels in tab_sets():
        names = [label.get_text(strip=True) for label in labels]
        # A pair (Keras | PyTorch, Slurm | PBS) is a choice; a longer set lists things to read.
        if len(labels) != 2 and not FRAMEWORKS.keys() & set(names):
            continue
        for label, name in zip(labels, names, strict=True):
            if label.get("data-sync-group") == "tab" and label.get(
                "data-sync-id"
            ):
                keys[name].add(label["data-sync-id"])
            else:
                unsynced.append(f"{page}: {name}")
    assert not unsynced, f"tabs with no :sync: key: {unsynced}"
    assert keys.keys() >= FRAMEWORKS.keys(), (
        "no Keras | PyTorch tabs found in the book"
    )
    assert {name: keys[name] for name in FRAMEWORKS} == {
        k: {v} for k, v in FRAMEWORKS.items()
    }
    assert all(len(ids) == 1 for ids in keys.values()), (
        f"one label, several keys: {dict(keys)}"
    )


# The chapters that train a model for MNIST: each shows it in Keras and in PyTorch.
MODEL_CHAPTERS = (
    "book/softmax_regression.html",
    "book/deeper_networks.html",
    "book/dropout.html",
    "book/convolutional_networks.html",
    "book/more_data.html",
)


def framework_pairs(page: str) -> list[dict[str, object]]:
    """Return the page's Keras | PyTorch tab sets, each as {label: its tab's content}."""
    pairs = []
    for tab_set in bookpages.page(page).select("div.sd-tab-set"):
        labels = [
            label.get_text(strip=True)
            for label in tab_set.find_all(
                "label", class_="sd-tab-label", recursive=False
            )
        ]
        contents = tab_set.find_all(
            "div", class_="sd-tab-content", recursive=False
        )
        if labels == list(FRAMEWORKS):
            pairs.append(dict(zip(labels, contents, strict=True)))
    return pairs


def parameter_count(text: str, pattern: str) -> int | None:
    """Return the number the pattern's group matches in text, without its commas."""
    found = re.search(pattern, text)
    return int(found.group(1).replace(",", "")) if found else None


@pytest.mark.parametrize("page", MODEL_CHAPTERS)
def test_every_model_chapter_shows_its_model_in_keras_and_in_pytorch(page):
    pairs = framework_pairs(page)
    assert pairs, f"{page} has no Keras | PyTorch tabs"
    counted = 0
    for pair in pairs:
        for name, content in pair.items():
            cells = content.select("div.cell")
            assert cells, f"{page}: a {name} tab holds no code cell"
            assert all(cell.select("div.cell_input") for cell in cells)
            assert any(cell.select("div.cell_output") for cell in cells), (
                f"{page}: the code of a {name} tab printed nothing"
            )
        # Keras's summary, and the line each PyTorch cell prints.
        keras = parameter_count(
            pair["Keras"].get_text(), r"Trainable params: ([\d,]+)"
        )
        torch = parameter_count(
            pair["PyTorch"].get_text(), r"([\d,]+) parameters"
        )
        if keras is not None or torch is not None:
            assert keras == torch, (
                f"{page}: Keras has {keras} parameters, PyTorch {torch}"
            )
            counted += 1
    assert counted, f"{page}: no tab pair counts the model's parameters"
