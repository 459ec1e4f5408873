"""Sessions that lint, test and build the course book.

Plain ``nox`` runs what CI runs: ``lint``, ``tests``, ``cluster`` and ``book``.
All sessions share one environment (``.nox/stack``) holding the framework stack,
so the ~3 GB of TensorFlow, PyTorch and Jupyter Book install once, not once per session.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nox
import tomllib

nox.options.sessions = ["lint", "tests", "cluster", "book"]
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
    args = session.posargs or ["-m", "not book and not cluster"]
    run(session, env, "pytest", *args)


@nox.session(venv_backend="none")
def cluster(session: nox.Session) -> None:
    """Submit generated batch scripts to a single-node Slurm cluster started on 127.0.0.1.

    Installs Debian's munge, Slurm and its PBS wrappers with apt-get where they are missing
    (root only), starts the daemons, runs ``pytest -m cluster`` and always stops the daemons.
    """
    # The test suite's Slurm helper knows the packages and how to start and stop the daemons.
    sys.path.insert(0, str(ROOT / "tests" / "cluster"))
    import localslurm

    if localslurm.missing_programs():
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            session.skip("Slurm is not installed, and installing it needs root and apt-get")
        apt = {"DEBIAN_FRONTEND": "noninteractive"}
        session.run("apt-get", "update", "--quiet", env=apt, external=True)
        install = ["apt-get", "install", "--quiet", "--yes", "--no-install-recommends"]
        session.run(*install, *localslurm.DEBIAN_PACKAGES, env=apt, external=True)
    elif os.geteuid() != 0:
        session.skip("starting the Slurm daemons needs root")
    env = stack(session)
    # A short path: munged's socket lives in it, and socket paths are limited to ~100 bytes.
    scratch = Path(tempfile.mkdtemp(prefix="dlcourse-slurm-"))
    slurm = localslurm.LocalSlurm(scratch)
    env.update(SLURM_CONF=str(slurm.conf), PATH=f"{env['PATH']}{os.pathsep}/usr/sbin")
    try:
        session.log(f"Starting Slurm in {scratch}")
        run(session, env, "python", localslurm.__file__, "start", str(scratch))
        run(session, env, "pytest", "-m", "cluster", *session.posargs)
    finally:
        slurm.stop()
    shutil.rmtree(scratch, ignore_errors=True)


@nox.session(venv_backend="none")
def reproduce(session: nox.Session) -> None:
    """Train every experiment at full fidelity and print the 2018-vs-measured table.

    Fails when a result falls outside its band. Cached results are reused
    (``$DLCOURSE_CACHE``, default ``~/.cache/dlcourse/runs``); names as arguments pick a subset.
    """
    env = stack(session)
    env["DLCOURSE_PROFILE"] = "full"
    run(session, env, "dlcourse", "reproduce", *session.posargs)


@nox.session(venv_backend="none")
def book(session: nox.Session) -> None:
    """Build the HTML book, executing every chapter and gallery script, then check the result."""
    env = stack(session)
    # Runs trained for the book live with the build: a fresh build measures everything afresh,
    # and pages of the same build share each run instead of training it twice.
    env["DLCOURSE_CACHE"] = os.environ.get("DLCOURSE_CACHE", str(BUILD / "runs"))
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
