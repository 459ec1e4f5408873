"""The speed benchmark: each 2018 result, trained by the course's recipe and by the fastest path.

It runs the gallery's own examples, each copied alone into an empty folder, ``repeats`` times in
turn, and reads the numbers each example saved (``NAME.json``: the seconds its own code
measured for training and testing, and the test accuracy). The 2018 recipes are the examples
that reproduce the course (``plot_cnn.py``, ...); the fastest path is ``plot_training_fast.py``,
which saves ``fast_NAME.json`` for each network it trains. The medians of the repeats, and their
ratio, make the table; on a machine with a GPU the fast example runs on the CPU too.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from dlcourse import experiments, files, hardware

# The example that trains each 2018 result with the course's recipe, and the name the fast
# example saves its run of the same network under (None: the book has no faster recipe).
RECIPES: dict[str, tuple[str, str | None]] = {
    "softmax": ("plot_softmax_regression.py", "fast_softmax"),
    "mlp_sigmoid": ("plot_five_layer_network.py", None),
    "mlp_tanh": ("plot_five_layer_network.py", None),
    "mlp_relu": ("plot_five_layer_network.py", "fast_mlp_relu"),
    "mlp_dropout": ("plot_five_layer_network.py", None),
    "cnn": ("plot_cnn.py", "fast_cnn"),
    "cnn_expanded": ("plot_cnn_expanded.py", None),
    "pytorch_example": ("plot_pytorch_example.py", None),
}
FAST_SCRIPT = "plot_training_fast.py"
# An example that runs longer than this has hung; the slowest takes minutes.
EXAMPLE_TIMEOUT_S = 3600


class BenchError(RuntimeError):
    """An example failed, or left no numbers behind."""


@dataclass(frozen=True)
class Sample:
    """One run of one recipe: the seconds its code measured and the accuracy it reached."""

    seconds: float
    accuracy: float


def run_example(
    script: Path, folder: Path, env: dict[str, str] | None = None
) -> float:
    """Run ``script`` alone in the empty ``folder``; return its wall-clock seconds.

    What it prints goes to ``folder/output.txt``; a failure raises BenchError with its end.
    """
    folder.mkdir(parents=True)
    shutil.copy2(script, folder / script.name)
    log = folder / "output.txt"
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        try:
            # This interpreter and a gallery file, no shell.
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
            raise BenchError(
                f"{script.name} ran past {EXAMPLE_TIMEOUT_S} s; see {log}"
            ) from err
    if done.returncode != 0:
        tail = "".join(
            log.read_text(encoding="utf-8", errors="replace").splitlines(True)[
                -15:
            ]
        )
        raise BenchError(
            f"{script.name} failed with status {done.returncode}:\n{tail}"
        )
    return time.perf_counter() - started


def read_sample(folder: Path, name: str) -> Sample:
    """Return the seconds and accuracy an example saved in ``folder/name.json``."""
    path = folder / f"{name}.json"
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        return Sample(
            float(saved["train_seconds"]), float(saved["test_accuracy"])
        )
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise BenchError(
            f"{path} does not hold an example's numbers: {err}"
        ) from err


def _check_names(names: Iterable[str]) -> list[str]:
    chosen = list(names) or list(RECIPES)
    unknown = [name for name in chosen if name not in RECIPES]
    if unknown:
        raise ValueError(
            f"no benchmark for {', '.join(unknown)}; choose from {', '.join(RECIPES)}"
        )
    return chosen


def measure(
    gallery: Path,
    names: Iterable[str] = (),
    repeats: int = 3,
    scratch: Path | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, object]:
    """Run the recipes of ``names`` (default: all) ``repeats`` times; return the bench record."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, not {repeats}")
    chosen = _check_names(names)
    scripts = sorted({RECIPES[name][0] for name in chosen})
    fast_names = {name: RECIPES[name][1] for name in chosen if RECIPES[name][1]}
    for script in [*scripts, FAST_SCRIPT] if fast_names else scripts:
        if not (gallery / script).is_file():
            raise BenchError(f"no example {script} in {gallery}")
    # Where a GPU is present the fast path runs on it and, for the second table, on the CPU.
    gpus = hardware.gpu_names()
    devices = (
        {"cuda": {}, "cpu": {"CUDA_VISIBLE_DEVICES": ""}}
        if gpus
        else {"cpu": {}}
    )
    scratch = Path(tempfile.mkdtemp(prefix="dlcourse-bench-", dir=scratch))
    reference: dict[str, list[Sample]] = {name: [] for name in chosen}
    fast: dict[str, dict[str, list[Sample]]] = {
        d: {n: [] for n in fast_names} for d in devices
    }
    started = time.perf_counter()
    for repeat in range(1, repeats + 1):
        for script in scripts:
            folder = scratch / f"{repeat}-{Path(script).stem}"
            seconds = run_example(gallery / script, folder)
            log(f"repeat {repeat}/{repeats}: {script} ran in {seconds:.0f} s")
            for name in chosen:
                if RECIPES[name][0] == script:
                    reference[name].append(read_sample(folder, name))
        for device, env in devices.items() if fast_names else ():
            folder = scratch / f"{repeat}-fast-{device}"
            seconds = run_example(gallery / FAST_SCRIPT, folder, env)
            log(
                f"repeat {repeat}/{repeats}: {FAST_SCRIPT} on {device} ran in {seconds:.0f} s"
            )
            for name, saved_as in fast_names.items():
                fast[device][name].append(read_sample(folder, saved_as))
    shutil.rmtree(scratch, ignore_errors=True)
    device = next(iter(devices))
    results = {}
    for name in chosen:
        results[name] = summarise(
            name, reference[name], fast[device].get(name, [])
        )
        if len(devices) > 1 and name in fast_names:
            results[name]["fast_cpu_seconds"] = _median_seconds(
                fast["cpu"][name]
            )
    return {
        "repeats": repeats,
        "device": device,
        "cpu": hardware.cpu_model(),
        "cores": os.cpu_count(),
        "gpu": gpus,
        "versions": hardware.versions(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "bench_seconds": time.perf_counter() - started,
        "experiments": results,
    }


def _median_seconds(samples: list[Sample]) -> float:
    return statistics.median(sample.seconds for sample in samples)


def summarise(
    name: str, reference: list[Sample], fast: list[Sample]
) -> dict[str, object]:
    """Return one experiment's medians, the speed-up and whether each reached the 2018 value."""
    target = experiments.get(name).reported / 100
    row: dict[str, object] = {
        "reported": target,
        "reference_seconds": _median_seconds(reference),
        "reference_accuracy": statistics.median(s.accuracy for s in reference),
        "reference_samples": [vars(s) for s in reference],
    }
    row["reference_reached"] = row["reference_accuracy"] >= target
    if fast:
        row["fast_seconds"] = _median_seconds(fast)
        row["accuracy"] = statistics.median(s.accuracy for s in fast)
        row["fast_reached"] = row["accuracy"] >= target
        row["speedup"] = row["reference_seconds"] / row["fast_seconds"]
        row["fast_samples"] = [vars(s) for s in fast]
    else:
        row.update(
            fast_seconds=None, accuracy=row["reference_accuracy"], speedup=None
        )
    return row


def table(record: dict[str, object]) -> str:
    """Return the bench record as a text table, one row per experiment."""
    header = (
        "experiment",
        "2018",
        "recipe s",
        "acc",
        "fast s",
        "acc",
        "speed-up",
    )
    lines = [f"{header[0]:<16}{''.join(f'{h:>10}' for h in header[1:])}"]
    for name, row in record["experiments"].items():
        cells = [f"{row['reported']:.2%}", f"{row['reference_seconds']:.1f}"]
        cells.append(f"{row['reference_accuracy']:.2%}")
        if row["fast_seconds"] is None:
            cells += ["—", "—", "—"]
        else:
            cells += [f"{row['fast_seconds']:.1f}", f"{row['accuracy']:.2%}"]
            cells.append(f"{row['speedup']:.1f}×")
        lines.append(f"{name:<16}{''.join(f'{c:>10}' for c in cells)}")
    gpu = ", ".join(record["gpu"]) or "no GPU"
    lines.append(
        f"median of {record['repeats']} on {record['cpu']} ({record['cores']} cores, {gpu}); "
        "seconds of training and testing as each example measured them"
    )
    cpu_rows = [
        (n, r)
        for n, r in record["experiments"].items()
        if "fast_cpu_seconds" in r
    ]
    if cpu_rows:
        lines.append(
            f"{'fast path':<16}{'cuda s':>10}{'cpu s':>10}{'GPU gain':>10}"
        )
        for name, row in cpu_rows:
            gain = row["fast_cpu_seconds"] / row["fast_seconds"]
            lines.append(
                f"{name:<16}{row['fast_seconds']:>10.1f}{row['fast_cpu_seconds']:>10.1f}"
                f"{gain:>9.1f}×"
            )
    return "\n".join(lines)


def save(record: dict[str, object], path: Path) -> None:
    """Write the record to ``path`` as JSON, all at once."""
    files.require_writable_dir(path.parent, "the bench's folder")
    files.atomic_write(path, json.dumps(record, indent=1).encode() + b"\n")
