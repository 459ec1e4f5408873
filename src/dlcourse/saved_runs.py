"""Runs the gallery examples saved: their numbers, read back for a chapter or a check.

Each MNIST example trains its models and leaves, for each, ``NAME.json`` (test accuracy,
training time, the sizes of the data and the per-epoch history) beside the saved model
(``NAME.keras`` or ``NAME.pt``). A chapter reads them instead of training the same model again;
a chapter downloaded without them runs the example that makes them (:func:`load_or_run`).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dlcourse import gallery, report
from dlcourse.reported import Reported

# The official split: a run on fewer images is not comparable with published results.
FULL_TRAIN_IMAGES = 60_000
FULL_TEST_IMAGES = 10_000


class SavedRunError(Exception):
    """A saved run is missing or its file does not hold what an example writes."""


@dataclass(frozen=True)
class SavedRun:
    """The numbers an example saved for one trained model."""

    name: str
    test_accuracy: float
    train_seconds: float
    train_images: int
    test_images: int
    history: dict[str, list[float]]
    folder: Path
    # The device the example reports it trained on: a GPU's name, or "CPU".
    device: str = "unknown"

    @property
    def epochs(self) -> int:
        """Return how many epochs the history records."""
        return len(self.history["loss"])

    @property
    def is_full(self) -> bool:
        """True if the model trained and was tested on the whole official split."""
        return (self.train_images, self.test_images) == (
            FULL_TRAIN_IMAGES,
            FULL_TEST_IMAGES,
        )

    def model_path(self) -> Path:
        """Return the saved model's file: ``NAME.keras``, or ``NAME.pt`` for PyTorch."""
        for suffix in (".keras", ".pt"):
            path = self.folder / f"{self.name}{suffix}"
            if path.is_file():
                return path
        raise SavedRunError(
            f"no saved model {self.name}.keras or {self.name}.pt in {self.folder}"
        )


def _number(raw: dict, key: str, path: Path) -> float:
    value = raw.get(key)
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
    ):
        raise SavedRunError(
            f"{path}: {key!r} must be a finite number, got {value!r}"
        )
    return value


def load(name: str, folder: str | os.PathLike[str]) -> SavedRun:
    """Return the run ``name`` saved in ``folder``; raise SavedRunError if absent or malformed."""
    path = Path(folder) / f"{name}.json"
    if not path.is_file():
        raise SavedRunError(
            f"no saved run {name!r}: {path} does not exist; run the gallery example that trains "
            f"{name!r} in {Path(folder)} first (building the book does)"
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SavedRunError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(raw, dict):
        raise SavedRunError(f"{path} must hold a JSON object")
    accuracy = _number(raw, "test_accuracy", path)
    if not 0 <= accuracy <= 1:
        raise SavedRunError(
            f"{path}: test_accuracy {accuracy} is not a fraction in [0, 1]"
        )
    history = raw.get("history")
    if not isinstance(history, dict) or "loss" not in history:
        raise SavedRunError(
            f"{path}: 'history' must map metric names to per-epoch values"
        )
    lengths = {
        len(values) for values in history.values() if isinstance(values, list)
    }
    if len(lengths) != 1 or len(history) != sum(
        isinstance(v, list) for v in history.values()
    ):
        raise SavedRunError(
            f"{path}: every metric in 'history' needs one value per epoch"
        )
    return SavedRun(
        name=name,
        test_accuracy=float(accuracy),
        train_seconds=float(_number(raw, "train_seconds", path)),
        train_images=int(_number(raw, "train_images", path)),
        test_images=int(_number(raw, "test_images", path)),
        history={
            metric: [float(v) for v in values]
            for metric, values in history.items()
        },
        folder=Path(folder),
        device=_device(raw, path),
    )


def load_or_run(name: str, folder: str | os.PathLike[str]) -> SavedRun:
    """Return the run ``name`` saved in ``folder``, making it here first if ``folder`` is absent.

    Where ``folder`` does not exist at all (a chapter's notebook downloaded into an empty folder),
    the gallery example that saves ``NAME.json`` runs in the current folder, with this Python,
    unless an earlier run left ``NAME.json`` here; the run is then read from here. A failing
    example raises SavedRunError with its exit status.
    """
    if Path(folder).exists():
        return load(name, folder)
    here = Path.cwd()
    if (here / f"{name}.json").is_file():
        return load(name, here)
    script = gallery.find(gallery.example_for(name))
    print(
        f"{Path(folder)} does not exist: running the example {script.name} here to make "
        f"{name}.json (it trains its models, which takes a while)",
        flush=True,
    )
    # This interpreter and one of the library's own example scripts, no shell.
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=here,
        env={**os.environ, "MPLBACKEND": "Agg"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        check=False,
    )
    if done.returncode != 0:
        tail = "".join(done.stdout.splitlines(True)[-15:])
        raise SavedRunError(
            f"the example {script.name} failed with exit status {done.returncode}; "
            f"the end of its output:\n{tail}"
        )
    return load(name, here)


def _device(raw: dict, path: Path) -> str:
    device = raw.get("device", "unknown")
    if not isinstance(device, str) or not device.strip():
        raise SavedRunError(
            f"{path}: 'device' must name the device it ran on, got {device!r}"
        )
    return device.strip()


def describe(run: SavedRun) -> str:
    """Return one line: accuracy, epochs, training time and the data it saw."""
    data = (
        "the full training and test sets"
        if run.is_full
        else (
            f"{run.train_images:,} training and {run.test_images:,} test images, "
            "NOT comparable with published results"
        )
    )
    return (
        f"{run.name}: {run.test_accuracy:.2%} test accuracy after {run.epochs} epochs, "
        f"{run.train_seconds:.0f} s of training on {data}, {ran_on(run)}"
    )


def ran_on(run: SavedRun) -> str:
    """Return where the run trained, as its example recorded it: 'ran on CPU' or 'ran on <GPU>'."""
    if run.device == "unknown":
        return "device not recorded"
    return f"ran on {run.device}"


def comparison_table(rows: Iterable[tuple[Reported, SavedRun]]):
    """Return the 2018 course's results beside the saved runs' (see :func:`report.seed_table`)."""
    return report.seed_table(
        (
            result,
            run.test_accuracy,
            (
                report.IN_BAND
                if result.in_band(run.test_accuracy)
                else report.OUT_OF_BAND
            )
            if run.is_full
            else "not checked",
        )
        for result, run in rows
    )
