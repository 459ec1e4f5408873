"""Run the gallery's example scripts as a reader would: each alone in an empty folder.

Shared by ``reproduce.py`` and ``bench.py``. An example runs with this Python (the stack's,
with the library installed), and leaves what it saved (``NAME.json``, its models) in its folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from dlcourse import gallery

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "gallery"
# An example that runs longer than this has hung; the slowest takes minutes.
EXAMPLE_TIMEOUT_S = 3600
# The lines of a failed example's output that its error quotes.
TAIL_LINES = 15


class ExampleError(RuntimeError):
    """An example failed, ran too long, or left no numbers behind."""


def find_script(name: str, gallery_dir: Path = GALLERY) -> Path:
    """Return the script ``gallery_dir/<topic>/name`` (or ``gallery_dir/name``)."""
    found = [
        *gallery_dir.glob(name),
        *gallery_dir.glob(f"*/{name}"),
    ]
    if not found:
        raise ExampleError(f"no example {name} in {gallery_dir}")
    return found[0]


def script_for(result: str, gallery_dir: Path = GALLERY) -> Path:
    """Return the script that saves ``result.json``; UnknownResultError for an unknown name."""
    return find_script(gallery.example_for(result), gallery_dir)


def run_example(
    script: Path, folder: Path, env: dict[str, str] | None = None
) -> float:
    """Copy ``script`` alone into the new ``folder``, run it there; return its wall-clock seconds.

    What it prints goes to ``folder/output.txt``; a failure raises ExampleError with its end.
    """
    folder.mkdir(parents=True)
    shutil.copy2(script, folder / script.name)
    log = folder / "output.txt"
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        try:
            done = subprocess.run(
                [sys.executable, script.name],
                cwd=folder,
                env={**os.environ, "MPLBACKEND": "Agg", **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=EXAMPLE_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as err:
            raise ExampleError(
                f"{script.name} ran past {EXAMPLE_TIMEOUT_S} s; see {log}"
            ) from err
    if done.returncode != 0:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines(
            True
        )
        raise ExampleError(
            f"{script.name} failed with status {done.returncode}:\n"
            + "".join(lines[-TAIL_LINES:])
        )
    return time.perf_counter() - started
