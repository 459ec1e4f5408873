"""The ``dlcourse`` command: list, train and reproduce experiments; fetch data; show the machine.

Examples::

    dlcourse list
    dlcourse train cnn --device cuda --out runs/cnn
    DLCOURSE_PROFILE=smoke dlcourse train mlp_relu --framework torch
    dlcourse reproduce
    dlcourse data fetch && dlcourse data verify
    dlcourse info
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

# TensorFlow's start-up chatter would bury the command's own output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class UsageError(Exception):
    """A bad name or value on the command line."""


def _show_warning(
    message, category, filename, lineno, file=None, line=None
) -> None:
    """Print a warning as the command's own line, without the source line that raised it."""
    print(f"dlcourse: warning: {message}", file=file or sys.stderr)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _list(args) -> int:
    from dlcourse import experiments

    print(
        f"{'experiment':<16} {'framework':<10} {'epochs':>6}  {'2018 result':>11}  band"
    )
    for e in experiments.EXPERIMENTS.values():
        band = f"{e.low:g}–{e.high:g}%"
        print(
            f"{e.name:<16} {e.config.framework:<10} {e.config.epochs:>6}  "
            f"{e.reported_text():>11}  {band}   {e.title}"
        )
    return 0


def _check_experiments(names: list[str]) -> None:
    """Raise UsageError naming the first of ``names`` that is no experiment."""
    from dlcourse import experiments

    for name in names:
        try:
            experiments.get(name)
        except KeyError as err:
            raise UsageError(err.args[0]) from None


def _train(args) -> int:
    from dlcourse import checkpoints, experiments, layout

    _check_experiments([args.name])
    result = experiments.run(
        args.name,
        framework=args.framework,
        device=args.device,
        epochs=args.epochs,
        out=args.out,
        progress=None,
    )
    if not layout.ProcessLayout.from_env().is_main:
        return 0
    print(
        f"{result.name}: test accuracy {result.test_accuracy:.2%}, test loss "
        f"{result.test_loss:.4f}, {len(result.history)} epoch(s), {result.wall_time:.1f} s "
        f"on {result.provenance['device']} ({result.profile} profile)"
    )
    print(f"result: {Path(result.run_dir) / checkpoints.RESULT_FILE}")
    return 0


def _reproduce(args) -> int:
    from dlcourse import experiments, profiles

    _check_experiments(args.names)
    profile = profiles.current_profile()
    print(profile.describe())
    rows = experiments.reproduce(args.names or None, device=args.device)
    print()
    print(
        f"{'experiment':<16} {'2018':>8} {'measured':>9} {'band':>14}  {'time':>7}  ok"
    )
    failures = 0
    for experiment, result in rows:
        ok = experiments.in_band(experiment, result)
        failures += not ok
        source = "cached" if result.cached else f"{result.wall_time:.0f} s"
        band = f"{experiment.low:g}–{experiment.high:g}%"
        print(
            f"{experiment.name:<16} {experiment.reported_text():>8} "
            f"{result.test_accuracy:>9.2%} {band:>14}  {source:>7}  {'yes' if ok else 'NO'}"
        )
    if not profile.is_full:
        print("(bands apply to the full profile only)")
        return 0
    if failures:
        print(f"{failures} result(s) outside their band", file=sys.stderr)
        return 1
    return 0


def _bench(args) -> int:
    from dlcourse import bench, profiles

    profile = profiles.current_profile()
    if not profile.is_full:
        print(
            f"{profile.describe()}: the times are not the book's",
            file=sys.stderr,
        )
    record = bench.measure(args.gallery, args.names, repeats=args.repeats)
    record["profile"] = profile.name
    if args.out:
        bench.save(record, args.out)
    print(bench.table(record))
    if args.out:
        print(f"saved: {args.out}")
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


def _info(args) -> int:
    import keras

    from dlcourse import hardware, profiles

    info = {
        "cpu": hardware.cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpus (torch)": hardware.gpu_names(),
        "keras backend": keras.backend.backend(),
        "keras sees a GPU": hardware.keras_sees_gpu(),
        "nvidia-smi": hardware.nvidia_smi(),
        "profile": profiles.current_profile().describe(),
        "versions": hardware.versions(),
    }
    print(json.dumps(info, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``dlcourse`` command."""
    from dlcourse import config, hardware

    parser = argparse.ArgumentParser(
        prog="dlcourse", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND"
    )

    sub.add_parser(
        "list", help="list the experiments and the results the course reported"
    )
    p = sub.add_parser(
        "train", help="train one experiment (or reuse its cached result)"
    )
    p.add_argument("name", help="experiment name (see `dlcourse list`)")
    p.add_argument(
        "--framework",
        choices=config.FRAMEWORKS,
        help="default: the experiment's",
    )
    p.add_argument("--device", choices=hardware.DEVICES, default="auto")
    p.add_argument("--epochs", type=_positive, help="default: the experiment's")
    p.add_argument(
        "--out", type=Path, help="run directory (default: the result cache)"
    )
    p = sub.add_parser(
        "reproduce", help="run experiments and compare with the 2018 results"
    )
    p.add_argument("names", nargs="*", help="experiments (default: all)")
    p.add_argument("--device", choices=hardware.DEVICES, default="auto")
    p = sub.add_parser(
        "bench", help="time the 2018 recipes against the fastest path"
    )
    p.add_argument("names", nargs="*", help="experiments (default: all)")
    p.add_argument(
        "--repeats", type=_positive, default=3, help="runs of each (default: 3)"
    )
    p.add_argument("--gallery", type=Path, default=Path("gallery/mnist_models"))
    p.add_argument("--out", type=Path, help="also save the record as JSON here")
    p = sub.add_parser("data", help="download or verify MNIST")
    p.add_argument("action", choices=("fetch", "verify"))
    p.add_argument(
        "--dir",
        type=Path,
        help="data folder (default: $DLCOURSE_DATA or the cache)",
    )
    sub.add_parser("info", help="show the hardware and library versions")
    try:
        from dlcourse import cluster

        cluster.add_cli(sub)
    except ImportError:
        pass
    return parser


# The commands that train, and so stop at a safe point on a scheduler's warning.
TRAINING_COMMANDS = ("train", "reproduce")

HANDLERS = {
    "list": _list,
    "train": _train,
    "reproduce": _reproduce,
    "bench": _bench,
    "data": _data,
    "info": _info,
}


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    from dlcourse import signals

    # From here on a scheduler's warning ends the process with the resumable status, whatever
    # it was doing when the signal came.
    stop = signals.catch_for_process()
    if argv is None:
        from dlcourse import native_log

        # Run as the dlcourse command: TensorFlow's native start-up chatter stays off stderr.
        native_log.quiet()
        warnings.showwarning = _show_warning
    from dlcourse import bench, checkpoints, data, files, hardware, seals

    try:
        args = build_parser().parse_args(argv)
        handler = getattr(args, "handler", None) or HANDLERS[args.command]
        signals.raise_if_stopped(stop, "nothing was started")
        if args.command not in TRAINING_COMMANDS:
            # Only training stops at a safe point; anything else ends on a signal as usual.
            signals.release_for_process()
        return handler(args)
    except signals.TrainingInterrupted as err:
        print(
            f"dlcourse: {err}; run the same command again to resume",
            file=sys.stderr,
        )
        return signals.EXIT_RESUMABLE
    except (
        UsageError,
        ValueError,
        data.DataError,
        hardware.DeviceError,
        files.StorageError,
        checkpoints.CheckpointError,
        seals.SealKeyError,
        bench.BenchError,
    ) as err:
        print(f"dlcourse: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dlcourse: interrupted", file=sys.stderr)
        return 130
    finally:
        if argv is None:
            signals.hold_until_exit()


if __name__ == "__main__":
    sys.exit(main())
