"""Build the dlcourse library's wheel, and name what a downloaded example needs beside it.

The book build links the wheel from its pages (``dlcourse_downloads``, a Sphinx extension) and
``nox -s downloads`` installs it into a fresh environment; both build it with ``build_wheel``.
Run as a script, this builds the wheel into the folder given and prints its path.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]
# A wheel is built from the project's metadata and sources alone, never from stray build folders.
SOURCES = (
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "LICENSE",
    "src",
    "gallery",
)
# The frameworks a downloaded example imports; their versions are the library's requirements.
FRAMEWORKS = ("tensorflow", "keras", "torch", "matplotlib", "scikit-learn")
# Zip entries stamped with one fixed time: the same sources give the same bytes.
SOURCE_DATE_EPOCH = (
    "315532800"  # 1980-01-01, the earliest time a zip file can hold
)


def _name(requirement: str) -> str:
    """Return the distribution name a requirement starts with, e.g. 'tensorflow'."""
    return re.split(r"[\s\[<>=!~;@]", requirement, maxsplit=1)[0].lower()


def requirements(root: Path = ROOT, *, gpu: bool = False) -> list[str]:
    """Return the frameworks as the library requires them, e.g. ``["tensorflow>=2.16", ...]``.

    With ``gpu``, TensorFlow is named as the ``gpu`` extra names it (with its CUDA libraries).
    """
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    named = [*project["dependencies"], *extras["all"]]
    chosen = {_name(r): r for r in named if _name(r) in FRAMEWORKS}
    if gpu:
        chosen.update(
            {_name(r): r for r in project["optional-dependencies"]["gpu"]}
        )
    missing = [name for name in FRAMEWORKS if name not in chosen]
    if missing:
        raise ValueError(
            f"pyproject.toml does not require {', '.join(missing)}"
        )
    return [chosen[name] for name in FRAMEWORKS]


# Which of the wheel's extras provides each framework a script may import.
PROVIDED_BY = {"keras": "keras", "tensorflow": "keras", "torch": "torch"}


def extra_for(source: str) -> str:
    """Return the extra a script's imports need: ``"keras"``, ``"torch"``, or ``"all"``.

    A script that imports one framework needs its extra; one that imports both or neither
    (scikit-learn comes through the library) needs ``all``.
    """
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif (
            isinstance(node, ast.ImportFrom) and node.module and not node.level
        ):
            modules.add(node.module.split(".")[0])
    extras = {PROVIDED_BY[m] for m in modules if m in PROVIDED_BY}
    return extras.pop() if len(extras) == 1 else "all"


def build_wheel(
    dest: Path, *, root: Path = ROOT, python: str = sys.executable
) -> Path:
    """Build the library's wheel into ``dest`` and return its path.

    Built offline with ``python``'s own setuptools (no build isolation). An older dlcourse wheel
    in ``dest`` is removed; an identical one is left untouched, so its time stamp says when the
    library last changed.
    """
    with tempfile.TemporaryDirectory(prefix="dlcourse-wheel-") as scratch:
        project, wheels = Path(scratch) / "project", Path(scratch) / "wheels"
        # Nothing an example saved where it ran: its models, numbers and backups.
        ignore = shutil.ignore_patterns(
            "__pycache__",
            "*.pyc",
            "*.egg-info",
            "build",
            "*.keras",
            "*.json",
            "*.pt",
            "*.tmp",
            "*_backup",
        )
        for name in SOURCES:
            source = root / name
            if source.is_dir():
                shutil.copytree(source, project / name, ignore=ignore)
            elif source.exists():
                project.mkdir(exist_ok=True)
                shutil.copy2(source, project / name)
        command = [
            python,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
        ]
        done = subprocess.run(  # noqa: S603 - our own pip, on a copy of our own sources
            [*command, "--wheel-dir", str(wheels), str(project)],
            capture_output=True,
            text=True,
            env={**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH},
        )
        built = sorted(wheels.glob("dlcourse-*.whl"))
        if done.returncode != 0 or len(built) != 1:
            raise RuntimeError(
                f"building the dlcourse wheel with {python} failed "
                f"(exit status {done.returncode}):\n{done.stdout}{done.stderr}"
            )
        wheel = dest / built[0].name
        dest.mkdir(parents=True, exist_ok=True)
        for old in dest.glob("dlcourse-*.whl"):
            if old != wheel:
                old.unlink()
        if not (wheel.exists() and wheel.read_bytes() == built[0].read_bytes()):
            shutil.copyfile(built[0], wheel)
    return wheel


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(
            f"usage: {sys.argv[0]} FOLDER  (builds the dlcourse wheel into FOLDER)"
        )
    print(build_wheel(Path(sys.argv[1])))
