"""Checks of the built book's tabs: a reader who picks PyTorch once sees PyTorch everywhere.

Run by ``nox -s book`` after the build (``pytest -m book``).
"""

from __future__ import annotations

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
