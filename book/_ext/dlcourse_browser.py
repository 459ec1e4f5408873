"""Sphinx extension: pages that work in a reader's browser offline, without script errors.

At the start of an HTML build, MathJax 3's browser files (its npm package's ``es5/`` folder) are
fetched with ``npm pack`` into ``_build/vendor/static/mathjax`` unless already there, and Sphinx
copies them into the output's ``_static``; ``mathjax_path`` in ``_config.yml`` points at them.
Nothing of MathJax is committed. Each page also lists every script once: see
``drop_repeated_scripts``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

# MathJax 4 moved its files; mathjax_path is written for version 3.
MATHJAX = "mathjax@3"
logger = logging.getLogger(__name__)


class NpmMissing(RuntimeError):
    """npm, which fetches the packages the pages and their checks need, is not installed."""


class NpmMismatch(RuntimeError):
    """A package from npm is not the one expected: its hash differs from the recorded one."""


def npm_fetch(
    package: str, member: str, target: Path, integrity: str | None = None
) -> Path:
    """Return ``target``, holding ``member`` of npm's ``package``, fetched unless there.

    ``member`` is a folder of the package (its files become ``target``'s) or a file
    (copied into ``target``). ``npm pack`` checks the download against the registry's
    hash; where ``integrity`` is given, that hash must also be this one, so a package
    republished under the same version is refused. A dotfile in ``target`` says which
    package it holds, so a changed name fetches again.
    """
    # A dotfile, which Sphinx leaves out of _static.
    stamp = target / ".npm-package"
    if stamp.is_file() and stamp.read_text() == package:
        return target
    if shutil.which("npm") is None:
        raise NpmMissing(
            f"npm is needed to fetch {package}; install Node.js's npm"
        )
    with tempfile.TemporaryDirectory() as scratch:
        packed = subprocess.run(  # noqa: S603 - npm, asked for one package by its name
            ["npm", "pack", package, "--pack-destination", scratch, "--json"],  # noqa: S607
            check=True,
            capture_output=True,
            text=True,
        )
        packed = json.loads(packed.stdout)[0]
        if integrity is not None and packed["integrity"] != integrity:
            raise NpmMismatch(
                f"npm's {package} has the hash {packed['integrity']}, not the "
                f"expected {integrity}"
            )
        tarball = Path(scratch) / packed["filename"]
        with tarfile.open(tarball) as tar:
            tar.extractall(scratch, filter="data")
        source = Path(scratch) / "package" / member
        shutil.rmtree(target, ignore_errors=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            target.mkdir(parents=True)
            shutil.copyfile(source, target / source.name)
    stamp.write_text(package)
    logger.info(f"fetched {tarball.name} from npm into {target}")
    return target


def fetch_mathjax(static: Path) -> Path:
    """Return ``static/mathjax``, filled from npm's ``MATHJAX`` package unless already there."""
    try:
        return npm_fetch(MATHJAX, "es5", static / "mathjax")
    except NpmMissing as err:
        raise ExtensionError(f"{err}: MathJax renders the formulas") from err


def serve_mathjax(app: Sphinx) -> None:
    """Fetch MathJax next to the output and have Sphinx copy it into ``_static``."""
    if app.builder.format != "html":
        return
    static = Path(app.outdir).parent / "vendor" / "static"
    fetch_mathjax(static)
    if not (static / app.config.mathjax_path).is_file():
        raise ExtensionError(
            f"mathjax_path is {app.config.mathjax_path}, not a file of {MATHJAX}"
        )
    app.config.html_static_path.append(str(static))


def drop_repeated_scripts(
    app: Sphinx, pagename, templatename, context: dict, doctree
) -> None:
    """Keep the first of each script on a page.

    Sphinx 7.4 lists an inline script twice when an extension adds it after the builder
    started (sphinx-thebe's, sphinx-togglebutton's), and a ``const`` declared twice is a
    script error on every page.
    """
    seen = set()
    scripts = []
    for script in context.get("script_files", []):
        key = (
            script.filename or "",
            script.priority,
            *sorted(script.attributes.items()),
        )
        if key not in seen:
            seen.add(key)
            scripts.append(script)
    context["script_files"] = scripts


def setup(app: Sphinx) -> dict:
    """Register the hooks."""
    app.connect("builder-inited", serve_mathjax)
    app.connect("html-page-context", drop_repeated_scripts)
    return {
        "version": "1.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
