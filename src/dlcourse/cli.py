"""The ``dlcourse`` command: the 2018 results, the data, this machine, and the gallery's examples.

Examples::

    dlcourse list
    dlcourse example plot_cnn && python plot_cnn.py
    dlcourse data fetch && dlcourse data verify
    dlcourse info
    dlcourse live --book dlcourse-html
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import warnings
from pathlib import Path

# TensorFlow's start-up chatter would bury the command's own output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _show_warning(
    message, category, filename, lineno, file=None, line=None
) -> None:
    """Print a warning as the command's own line, without the source line that raised it."""
    print(f"dlcourse: warning: {message}", file=file or sys.stderr)


def _list(args) -> int:
    from dlcourse import reported

    print(f"{'result':<16} {'2018':>8}  {'band':<14} {'example':<28} title")
    for result in reported.RESULTS:
        band = f"{result.low:g}–{result.high:g}%"
        print(
            f"{result.name:<16} {result.reported_text():>8}  {band:<14} "
            f"{result.example:<28} {result.title}"
        )
    return 0


def _example(args) -> int:
    from dlcourse import gallery

    written = gallery.write(args.name, Path.cwd())
    print(f"wrote {written.name}; run it with: python {written.name}")
    return 0


def _data(args) -> int:
    from dlcourse import data

    paths = data.fetch_mnist(args.dir)
    if args.action == "verify":
        mnist = data.load_mnist(args.dir)
        print(
            f"verified: {len(mnist.train_images):,} training and {len(mnist.test_images):,} "
            f"test images in {mnist.directory}"
        )
    else:
        for path in paths.values():
            print(path)
    return 0


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _info(args) -> int:
    from dlcourse import hardware, profiles

    info: dict[str, object] = {
        "cpu": hardware.cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpus (torch)": hardware.gpu_names()
        if _installed("torch")
        else "torch is not installed",
    }
    if _installed("keras"):
        import keras

        info["keras backend"] = keras.config.backend()
        info["keras device"] = hardware.keras_device()
    else:
        info["keras device"] = "keras is not installed"
    info["nvidia-smi"] = hardware.nvidia_smi()
    info["profile"] = profiles.current_profile().describe()
    info["versions"] = hardware.versions()
    print(json.dumps(info, indent=2))
    return 0


def _live(args) -> int:
    from dlcourse import live

    settings = live.LiveSettings(
        book=args.book,
        chapters=args.workdir,
        examples=args.examples or args.workdir,
        port=args.port,
        log=args.log,
    )
    with live.LiveMode(settings) as mode:
        print(
            f'Live mode: open {mode.book_url} and press "Live code" on a page.'
        )
        print(
            f"Chapters run in {settings.chapters.resolve()}, gallery examples in "
            f"{settings.examples.resolve()}. Ctrl-C stops it.",
            flush=True,
        )
        try:
            mode.wait()
        except KeyboardInterrupt:
            print("Live mode stopped.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``dlcourse`` command."""
    parser = argparse.ArgumentParser(
        prog="dlcourse", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND"
    )
    sub.add_parser(
        "list",
        help="the 2018 course's results, their bands and the example that reproduces each",
    )
    p = sub.add_parser(
        "example", help="write a gallery example into the current folder"
    )
    p.add_argument("name", help="e.g. plot_cnn or plot_cnn.py")
    p = sub.add_parser("data", help="download or verify MNIST")
    p.add_argument("action", choices=("fetch", "verify"))
    p.add_argument(
        "--dir",
        type=Path,
        help="data folder (default: $DLCOURSE_DATA or the cache)",
    )
    sub.add_parser(
        "info", help="show the CPU, the GPUs and the library versions"
    )
    p = sub.add_parser(
        "live",
        help="serve the built book on 127.0.0.1 with a Jupyter server that runs its code",
    )
    p.add_argument(
        "--book",
        type=Path,
        default=Path("_build/html"),
        help="the folder of the book's HTML (default: _build/html)",
    )
    p.add_argument(
        "--workdir",
        type=Path,
        default=Path(),
        help="the folder the chapters' code runs in (default: this one)",
    )
    p.add_argument(
        "--examples",
        type=Path,
        help="the folder the gallery examples run in (default: --workdir)",
    )
    p.add_argument(
        "--port",
        type=int,
        default=0,
        help="the book's port on 127.0.0.1 (default: a free one)",
    )
    p.add_argument(
        "--log",
        type=Path,
        help="a file for the Jupyter server's log (default: this terminal)",
    )
    return parser


HANDLERS = {
    "list": _list,
    "example": _example,
    "data": _data,
    "info": _info,
    "live": _live,
}


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    from dlcourse import data, files, gallery, live, reported

    if argv is None:
        warnings.showwarning = _show_warning
    args = build_parser().parse_args(argv)
    try:
        return HANDLERS[args.command](args)
    except (
        ValueError,
        data.DataError,
        files.StorageError,
        gallery.UnknownExampleError,
        gallery.ExampleExistsError,
        reported.UnknownResultError,
        live.LiveError,
        OSError,
    ) as err:
        print(f"dlcourse: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dlcourse: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
