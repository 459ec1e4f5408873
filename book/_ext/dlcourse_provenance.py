"""Sphinx extension: one line on every executed page saying what produced it.

Each chapter that runs code, and each gallery example, ends with a line naming the build's
machine (CPU, cores, GPU), the library versions, the profile, the time the page's code took and
the commit the book was built from.
"""

from __future__ import annotations

import html
import json
import os
import subprocess
import time
from pathlib import Path

from sphinx.application import Sphinx

# How each library is named on a page.
LIBRARY_NAMES = {
    "python": "Python",
    "keras": "Keras",
    "tensorflow": "TensorFlow",
    "torch": "PyTorch",
}


def commit_of(folder: Path) -> str:
    """Return the checkout's commit, short, with a mark when files differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=10", "HEAD"],  # noqa: S607 - git from PATH, no shell
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "no git checkout"
    return f"{head} with local changes" if status else head


def build_facts(folder: Path) -> dict[str, str]:
    """Return what every page's line says about the build: machine, versions, profile, commit."""
    from dlcourse import hardware, profiles

    gpus = hardware.gpu_names()
    versions = hardware.versions()
    return {
        "machine": f"{hardware.cpu_model()} ({os.cpu_count()} cores, "
        f"{', '.join(gpus) if gpus else 'no GPU'})",
        "libraries": ", ".join(
            f"{label} {versions[name]}"
            for name, label in LIBRARY_NAMES.items()
            if name in versions
        ),
        "profile": profiles.current_profile().name,
        "commit": commit_of(folder),
        "date": time.strftime("%Y-%m-%d"),
    }


def record_build(app: Sphinx) -> None:
    """Work out the build's facts once, at the start (kept off the configuration, which
    Sphinx compares between builds: a new date there would make every page outdated)."""
    app.dlcourse_build = build_facts(Path(app.srcdir))


def page_seconds(app: Sphinx, pagename: str) -> float | None:
    """Return how long the page's code ran: a chapter's notebook, or a gallery example."""
    from myst_nb.sphinx_ import NbMetadataCollector

    try:
        executed = NbMetadataCollector.get_exec_data(app.env, pagename)
    except KeyError:
        executed = None
    if executed and executed.get("runtime") is not None:
        return float(executed["runtime"])
    cost = Path(app.srcdir) / f"{pagename}.cost.json"
    if Path(pagename).name.startswith("plot_") and cost.is_file():
        return float(json.loads(cost.read_text(encoding="utf-8"))["time"])
    return None


def add_provenance(
    app: Sphinx, pagename: str, templatename, context, doctree
) -> None:
    """Append the line to the page's body where its code ran in this build."""
    seconds = page_seconds(app, pagename)
    if doctree is None or seconds is None or "body" not in context:
        return
    facts = app.dlcourse_build
    line = (
        f"Executed by this build on {facts['machine']}, with {facts['libraries']}, profile "
        f"{facts['profile']}: this page's code ran in {seconds:.1f} s. Built on {facts['date']} "
        f"from commit {facts['commit']}."
    )
    context["body"] += (
        f'\n<p class="dlcourse-provenance"><small>{html.escape(line)}</small></p>\n'
    )


def setup(app: Sphinx) -> dict:
    """Register the hooks."""
    app.connect("builder-inited", record_build)
    app.connect("html-page-context", add_provenance)
    return {
        "version": "1.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
