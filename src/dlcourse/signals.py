"""Stopping a run cleanly on a scheduler's warning: SIGUSR1 or SIGTERM sets a flag.

The training loop checks the flag after every batch; a run that stops writes no partial epoch,
raises :class:`TrainingInterrupted`, and the command exits with :data:`EXIT_RESUMABLE`.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

# Exit status for "checkpointed, start me again to resume" (EX_TEMPFAIL from sysexits.h).
# The batch scripts of dlcourse.cluster requeue a job that exits with it.
EXIT_RESUMABLE = 75


class TrainingInterrupted(Exception):
    """Training stopped on a signal; the run directory holds a checkpoint to resume from."""


class StopFlag:
    """Set by SIGUSR1 or SIGTERM while training runs; checked after every batch."""

    SIGNALS = tuple(s for s in (getattr(signal, "SIGUSR1", None), signal.SIGTERM) if s)

    def __init__(self) -> None:
        self.signal: int | None = None

    def __bool__(self) -> bool:
        return self.signal is not None

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopFlag]:
        """Catch the stop signals for the duration of the block (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {sig: signal.getsignal(sig) for sig in self.SIGNALS}

        def handler(signum, _frame):
            self.signal = signum

        for sig in self.SIGNALS:
            signal.signal(sig, handler)
        try:
            yield self
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
