"""A tiny resumable "training run" that keeps the contract of the walltime-safe job scripts.

It takes ``--steps`` steps of ``--step-seconds`` each, adding a deterministic number per step.
On SIGUSR1 or SIGTERM it finishes the current step, writes ``OUT/checkpoint.json`` atomically and
exits with code 75 (``cluster.EXIT_REQUEUE``); run again, it resumes from the checkpoint. When all
steps are done it writes ``OUT/result.json``. Each start appends ``$SLURM_RESTART_COUNT`` to
``OUT/starts.txt``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from dlcourse.cluster import EXIT_REQUEUE


def atomic_write(path: Path, payload: bytes) -> None:
    """Write to a new file beside ``path``, then rename it over ``path``."""
    partial = path.with_name(path.name + ".tmp")
    partial.write_bytes(payload)
    os.replace(partial, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--step-seconds", type=float, default=0.5)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "starts.txt").open("a") as starts:
        starts.write(os.environ.get("SLURM_RESTART_COUNT", "-") + "\n")

    stop_requested = []
    for signum in (signal.SIGUSR1, signal.SIGTERM):
        signal.signal(
            signum, lambda number, frame: stop_requested.append(number)
        )

    checkpoint = args.out / "checkpoint.json"
    state = (
        json.loads(checkpoint.read_text())
        if checkpoint.exists()
        else {"step": 0, "total": 0}
    )
    while state["step"] < args.steps:
        time.sleep(args.step_seconds)
        state = {
            "step": state["step"] + 1,
            "total": state["total"] + state["step"] ** 2,
        }
        if stop_requested:
            atomic_write(checkpoint, json.dumps(state).encode())
            print(
                f"stopped at step {state['step']}: checkpoint written",
                flush=True,
            )
            return EXIT_REQUEUE
    atomic_write(args.out / "result.json", json.dumps(state).encode())
    print(f"finished {state['step']} steps", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
