"""Sessions that lint, test and build the course book.

Plain ``nox`` runs what CI runs: ``lint``, ``tests`` and ``book``.
All sessions share one environment (``.nox/stack``) holding the framework stack,
so the ~3 GB of TensorFlow, PyTorch and Jupyter Book install once, not once per session.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import nox
import tomllib

nox.options.sessions = ["lint", "tests", "book"]
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).resolve().parent
STACK = ROOT / ".nox" / "stack"
BUILD = ROOT / "_build"
HTML = BUILD / "html"
# The newest torch this book is verified with; below 2.14 a CPU-only 2.13 wheel keeps CI small.
TORCH = "torch>=2.4,<2.14"
EXTRAS = "book,test,lint"


def _stack_stamp() -> str:
    """Return a digest of everything that decides what the shared environment holds."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [project["dependencies"], project["optional-dependencies"], TORCH, EXTRAS, sys.version]
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()


def stack(session: nox.Session) -> dict[str, str]:
    """Create or reuse the shared environment; return the variables that activate it."""
    bindir = STACK / "bin"
    stamp_file = STACK / ".dlcourse-stamp"
    stamp = _stack_stamp()
    if not (stamp_file.exists() and stamp_file.read_text() == stamp):
        session.log(f"Installing the framework stack into {STACK}")
        if not (bindir / "python").exists():
            session.run(sys.executable, "-m", "venv", str(STACK), external=True)
        pip = [str(bindir / "python"), "-m", "pip", "install", "--quiet"]
        session.run(*pip, "--upgrade", "pip", external=True)
        session.run(*pip, TORCH, "-e", f".[{EXTRAS}]", external=True)
        stamp_file.write_text(stamp)
    env = {
        "VIRTUAL_ENV": str(STACK),
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        # TensorFlow's start-up chatter is noise in logs and on rendered pages.
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "tensorflow"),
    }
    return env


def run(session: nox.Session, env: dict[str, str], tool: str, *args: str) -> None:
    """Run one of the shared environment's programs."""
    session.run(str(STACK / "bin" / tool), *args, env=env, external=True)


@nox.session(venv_backend="none")
def lint(session: nox.Session) -> None:
    """Check style and common mistakes with ruff."""
    env = stack(session)
    run(session, env, "ruff", "check", "src", "tests", "gallery", "noxfile.py")
    run(session, env, "ruff", "format", "--check", "src", "tests", "gallery", "noxfile.py")


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """Run the library's test suite (everything but the checks of the built book)."""
    env = stack(session)
    args = session.posargs or ["-m", "not book"]
    run(session, env, "pytest", *args)


@nox.session(venv_backend="none")
def book(session: nox.Session) -> None:
    """Build the HTML book, executing every chapter and gallery script, then check the result."""
    env = stack(session)
    run(
        session,
        env,
        "jupyter-book",
        "build",
        str(ROOT),
        "--path-output",
        str(ROOT),
        "--builder",
        "html",
        "--warningiserror",
        "--keep-going",
        *session.posargs,
    )
    run(session, env, "pytest", "-m", "book")
    session.log(f"The book is in {HTML / 'index.html'}")
