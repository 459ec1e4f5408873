"""One writer per run directory: an exclusive ``flock`` on its ``.lock`` file.

Two processes asked for the same run (a job array, a requeued job that overlaps the old one)
do not train it twice: the second waits for the first, says so once, and then finds the
finished result, or the checkpoint to resume from if the first was stopped. The operating
system drops the lock when its holder dies, however it dies, so a killed run never blocks the
next one. The lock file stays: removing it while another process waits would let two in.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from dlcourse.signals import StopFlag, raise_if_stopped

LOCK_FILE = ".lock"
# How often a waiting process looks again, and checks for a stop signal meanwhile.
POLL_SECONDS = 0.2


def _holder(handle) -> str:
    """Return what the lock's holder wrote about itself, or a placeholder."""
    handle.seek(0)
    text = handle.read().strip()
    return text or "another process"


@contextlib.contextmanager
def held(
    run_dir: Path, stop: StopFlag, say: Callable[[str], None]
) -> Iterator[None]:
    """Hold ``run_dir``'s lock for the block, waiting for another holder to let go first.

    A stop signal while waiting raises TrainingInterrupted.
    """
    path = run_dir / LOCK_FILE
    with open(path, "a+", encoding="utf-8") as handle:
        for attempt in itertools.count():
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt == 0:
                    holder = _holder(handle)
                    say(
                        f"{holder} is training this run in {run_dir}; waiting for it to finish"
                    )
                raise_if_stopped(
                    stop, "nothing was trained while waiting for the other run"
                )
                time.sleep(POLL_SECONDS)
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
