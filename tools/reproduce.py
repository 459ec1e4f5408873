"""Reproduce the 2018 course's results by running the gallery's examples; print the table.

Each example that saves one of the chosen results runs once, alone in an empty folder, as a
reader would run it; the table sets each 2018 value beside what the example saved, with its
band and the device it ran on. The exit status is 1 if a result measured on the full data
leaves its band, 2 for a name that is no result.

    python tools/reproduce.py               # every result
    python tools/reproduce.py cnn softmax   # some of them
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import examples

from dlcourse import reported, saved_runs

COLUMNS = ("result", "2018", "measured", "band", "in band", "device")
WIDTHS = (16, 8, 10, 14, 12, 0)


def measure(
    names: Iterable[str] = (),
    gallery_dir: Path = examples.GALLERY,
    scratch: Path | None = None,
    log: Callable[[str], None] = print,
) -> list[tuple[reported.Reported, saved_runs.SavedRun]]:
    """Run the examples that save ``names`` (default: every result); return each with its run.

    Raises UnknownResultError for a name that is no result, before any example runs, and
    ExampleError for an example that fails (its folder is kept and named).
    """
    chosen = [reported.get(name) for name in (list(names) or reported.NAMES)]
    scripts: dict[Path, list[reported.Reported]] = {}
    for result in chosen:
        script = examples.script_for(result.name, gallery_dir)
        scripts.setdefault(script, []).append(result)
    scratch = Path(tempfile.mkdtemp(prefix="dlcourse-reproduce-", dir=scratch))
    rows = []
    for script, results in scripts.items():
        folder = scratch / script.stem
        log(f"running {script.name} in {folder}")
        try:
            seconds = examples.run_example(script, folder)
        except examples.ExampleError as err:
            raise examples.ExampleError(
                f"{err}\n(its folder: {folder})"
            ) from None
        log(f"{script.name} ran in {seconds:.0f} s")
        for result in results:
            try:
                rows.append((result, saved_runs.load(result.name, folder)))
            except saved_runs.SavedRunError as err:
                raise examples.ExampleError(str(err)) from None
    shutil.rmtree(scratch, ignore_errors=True)
    order = {result.name: i for i, result in enumerate(chosen)}
    return sorted(rows, key=lambda row: order[row[0].name])


def verdict(result: reported.Reported, run: saved_runs.SavedRun) -> str:
    """Return 'yes' or 'NO' for a run on the full data, 'not checked' for one on a subset."""
    if not run.is_full:
        return "not checked"
    return "yes" if result.in_band(run.test_accuracy) else "NO"


def table(rows: Iterable[tuple[reported.Reported, saved_runs.SavedRun]]) -> str:
    """Return the 2018 values beside the measured ones, with bands and devices, as text."""

    def line(cells) -> str:
        return " ".join(
            f"{cell:<{width}}" if width else cell
            for cell, width in zip(cells, WIDTHS, strict=True)
        ).rstrip()

    lines = [line(COLUMNS)]
    for result, run in rows:
        lines.append(
            line(
                (
                    result.name,
                    result.reported_text(),
                    f"{run.test_accuracy:.2%}",
                    f"{result.low:g}–{result.high:g}%",
                    verdict(result, run),
                    run.device,
                )
            )
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names",
        nargs="*",
        help=f"results (default: all): {', '.join(reported.NAMES)}",
    )
    parser.add_argument(
        "--gallery",
        type=Path,
        default=examples.GALLERY,
        help="the folder of the examples' topic folders (default: the repository's gallery)",
    )
    args = parser.parse_args(argv)
    try:
        rows = measure(args.names, gallery_dir=args.gallery)
    except reported.UnknownResultError as err:
        print(f"reproduce: {err}", file=sys.stderr)
        return 2
    except examples.ExampleError as err:
        print(f"reproduce: {err}", file=sys.stderr)
        return 1
    print()
    print(table(rows))
    outside = [
        result.name for result, run in rows if verdict(result, run) == "NO"
    ]
    if any(not run.is_full for _, run in rows):
        print("(runs on a subset of MNIST are not checked against the bands)")
    if outside:
        print(
            f"{len(outside)} result(s) outside their band: {', '.join(outside)}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
