"""Shared helpers for the checks of the built HTML book."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
# DLCOURSE_HTML names the HTML folder when the book was built elsewhere than _build/html.
HTML = Path(os.environ.get("DLCOURSE_HTML") or ROOT / "_build" / "html")
# Debian's chromium: Playwright's own browser download is not reachable from CI.
CHROMIUM = Path("/usr/bin/chromium")
# Headless, as root in a container, and never calling home (updates, field trials, first run).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


# Any address but this machine's: the book must need nothing from the network.
ELSEWHERE = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")


def offline_context(browser, **options):
    """Return a new context of ``browser`` (Playwright's ``new_context`` options) in which a
    request for another host is refused at once, not awaited."""
    context = browser.new_context(**options)
    context.route(ELSEWHERE, lambda route: route.abort())
    return context


def record_errors(tab, problems: list[str]) -> None:
    """Append each script error and console error of ``tab`` to ``problems``."""
    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    tab.on(
        "console",
        lambda m: m.type == "error" and problems.append(f"console: {m.text}"),
    )


def toc_chapters() -> list[str]:
    """Return the chapter files the table of contents names, in order, gallery pages left out."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc["parts"]:
        files += [
            entry["file"] for entry in part["chapters"] if "file" in entry
        ]
    return [file for file in files if not file.startswith("book/gallery")]


def built(path: Path) -> Path:
    """Return ``path``, a file the book's build writes, or fail the test saying to build."""
    if not path.is_file():
        pytest.fail(
            f"{path} is missing: build the book first with `nox -s book`"
        )
    return path


def page(relative: str) -> BeautifulSoup:
    """Return the parsed built page at ``relative`` under the HTML folder, or fail the test."""
    path = built(HTML / relative)
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
