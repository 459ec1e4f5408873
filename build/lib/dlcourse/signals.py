"""Stopping a run cleanly on a scheduler's warning: SIGUSR1 or SIGTERM sets a flag.

The runner checks the flag between its phases and the training loop after every batch; a run
that stops writes no partial epoch, raises :class:`TrainingInterrupted`, and the command exits
with :data:`EXIT_RESUMABLE`. The command line catches the signals from its first line on
(:func:`catch_for_process`), so a warning that arrives while the frameworks load or the data is
read ends the process with the same status; a library caller gets the signals caught only while
:func:`dlcourse.train.train` runs.
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
    """Set by SIGUSR1 or SIGTERM while installed; checked by the runner."""

    SIGNALS = tuple(
        s for s in (getattr(signal, "SIGUSR1", None), signal.SIGTERM) if s
    )

    def __init__(self) -> None:
        self.signal: int | None = None

    def __bool__(self) -> bool:
        return self.signal is not None

    def _handler(self, signum, _frame) -> None:
        self.signal = signum

    def install(self) -> dict:
        """Catch the stop signals from now on; return the handlers they had
        before.
        """
        previous = {sig: signal.getsignal(sig) for sig in self.SIGNALS}
        for sig in self.SIGNALS:
            signal.signal(sig, self._handler)
        return previous

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopFlag]:
        """Catch the stop signals for the duration of the block (main thread
        only).
        """
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = self.install()
        try:
            yield self
        finally:
            _restore(previous)


def _restore(previous: dict) -> None:
    """Give each signal back the handler ``previous`` holds for it."""
    for sig, old in previous.items():
        signal.signal(sig, old)


_process_flag: StopFlag | None = None
_process_previous: dict = {}


def catch_for_process() -> StopFlag:
    """Catch the stop signals for the rest of the process; return the flag they set."""
    global _process_flag
    if _process_flag is None:
        _process_flag = StopFlag()
        _process_previous.update(_process_flag.install())
    return _process_flag


def release_for_process() -> None:
    """Give the stop signals back the handlers they had before :func:`catch_for_process`."""
    global _process_flag
    _restore(_process_previous)
    _process_previous.clear()
    _process_flag = None


def hold_until_exit() -> None:
    """Keep the caught stop signals pending until the process exits (main thread only).

    Python gives every signal its default action while it shuts down, so a warning that came
    then would kill a run that has finished; blocked, it is never delivered.
    """
    if _process_flag is not None:
        signal.pthread_sigmask(signal.SIG_BLOCK, StopFlag.SIGNALS)


@contextlib.contextmanager
def stop_flag() -> Iterator[StopFlag]:
    """Yield the process's flag if the process catches the signals, else one for the block."""
    if _process_flag is not None:
        yield _process_flag
        return
    with StopFlag().installed() as flag:
        yield flag


def raise_if_stopped(stop: StopFlag, what: str) -> None:
    """Raise TrainingInterrupted if ``stop`` is set, saying what is left to resume from."""
    if stop:
        raise TrainingInterrupted(f"stopped by signal {stop.signal}; {what}")
