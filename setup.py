"""Ship the gallery's example scripts in the wheel, as ``dlcourse/examples/plot_*.py``.

The scripts live once, in ``gallery/<topic>/``; building the wheel copies them in. An editable
install reads them from ``gallery/`` itself (see ``dlcourse.gallery``). Everything else about
the package is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

GALLERY = Path(__file__).resolve().parent / "gallery"


class BuildWithExamples(build_py):
    """Build the package, then add the gallery's scripts to it."""

    def run(self) -> None:
        package = Path(self.build_lib) / "dlcourse"
        if not self.editable_mode:
            # A module deleted from src/ must not reach the wheel from an older build.
            shutil.rmtree(package, ignore_errors=True)
        super().run()
        if self.editable_mode:
            return
        scripts = sorted(GALLERY.glob("*/plot_*.py"))
        if not scripts:
            raise RuntimeError(f"no example scripts in {GALLERY}")
        names = [script.name for script in scripts]
        if len(set(names)) != len(names):
            raise RuntimeError(f"two examples share a name in {GALLERY}")
        target = package / "examples"
        target.mkdir(parents=True, exist_ok=True)
        for script in scripts:
            shutil.copyfile(script, target / script.name)


setup(cmdclass={"build_py": BuildWithExamples})
