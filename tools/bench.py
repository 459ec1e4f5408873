"""Time each 2018 result's recipe against the book's fastest path, both as gallery examples.

It runs the gallery's own examples, each copied alone into an empty folder, ``repeats`` times in
turn, and reads the numbers each example saved (``NAME.json``: the seconds its own code
measured for training and testing, and the test accuracy). The 2018 recipes are the examples
that reproduce the course (``plot_cnn.py``, ...); the fastest path is ``plot_training_fast.py``,
which saves ``fast_NAME.json`` for each network it trains. The medians of the repeats, and their
ratio, make the table; on a machine with a GPU the fast example runs on the CPU too.

    python tools/bench.py                              # every result, three repeats
    python tools/bench.py cnn --repeats 5 --out bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import examples
from examples import ExampleError as BenchError

from dlcourse import files, gallery, hardware, profiles, reported

# The results the fast example also trains, saving each as fast_NAME.json.
FAST = ("softmax", "mlp_relu", "cnn")
FAST_SCRIPT = gallery.FAST_EXAMPLE


@dataclass(frozen=True)
class Sample:
    """One run of one recipe: the seconds its code measured and the accuracy it reached."""

    seconds: float
    accuracy: float


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


def recipe(name: str) -> tuple[str, str | None]:
    """Return the example of the 2018 result ``name`` and its fast twin's saved name, or None."""
    fast = f"{gallery.FAST_PREFIX}{name}" if name in FAST else None
    return reported.get(name).example, fast


def _check_names(names: Iterable[str]) -> list[str]:
    chosen = list(names) or list(reported.NAMES)
    unknown = [name for name in chosen if name not in reported.NAMES]
    if unknown:
        raise ValueError(
            f"no benchmark for {', '.join(unknown)}; choose from {', '.join(reported.NAMES)}"
        )
    return chosen


def measure(
    gallery_dir: Path,
    names: Iterable[str] = (),
    repeats: int = 3,
    scratch: Path | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, object]:
    """Run the recipes of ``names`` (default: all) ``repeats`` times; return the bench record."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, not {repeats}")
    chosen = _check_names(names)
    scripts = sorted({recipe(name)[0] for name in chosen})
    fast_names = {name: recipe(name)[1] for name in chosen if recipe(name)[1]}
    paths = {
        script: examples.find_script(script, gallery_dir)
        for script in ([*scripts, FAST_SCRIPT] if fast_names else scripts)
    }
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
            seconds = examples.run_example(paths[script], folder)
            log(f"repeat {repeat}/{repeats}: {script} ran in {seconds:.0f} s")
            for name in chosen:
                if recipe(name)[0] == script:
                    reference[name].append(read_sample(folder, name))
        for device, env in devices.items() if fast_names else ():
            folder = scratch / f"{repeat}-fast-{device}"
            seconds = examples.run_example(paths[FAST_SCRIPT], folder, env)
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
    target = reported.get(name).reported / 100
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


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="results (default: all)")
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of each (default: 3)"
    )
    parser.add_argument("--gallery", type=Path, default=examples.GALLERY)
    parser.add_argument(
        "--out", type=Path, help="also save the record as JSON here"
    )
    args = parser.parse_args(argv)
    try:
        profile = profiles.current_profile()
        if not profile.is_full:
            print(f"{profile.describe()}: the times are not the book's")
        record = measure(args.gallery, args.names, repeats=args.repeats)
        record["profile"] = profile.name
        if args.out:
            save(record, args.out)
    except (ValueError, BenchError, files.StorageError) as err:
        print(f"bench: {err}", file=sys.stderr)
        return 2
    print(table(record))
    if args.out:
        print(f"saved: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
