"""Tests of dlcourse.signals: the stop flag and the exit status of a resumable stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest

from dlcourse import signals


def test_exit_status_is_sysexits_tempfail():
    assert signals.EXIT_RESUMABLE == 75


@pytest.mark.parametrize("signum", signals.StopFlag.SIGNALS)
def test_signal_sets_the_flag_and_the_old_handler_comes_back(signum):
    before = signal.getsignal(signum)
    stop = signals.StopFlag()
    with stop.installed():
        assert not stop
        os.kill(os.getpid(), signum)
        assert stop and stop.signal == signum
    assert signal.getsignal(signum) is before


def test_outside_the_main_thread_no_handler_is_installed():
    seen = []

    def worker():
        stop = signals.StopFlag()
        with stop.installed():
            seen.append(signal.getsignal(signal.SIGTERM))

    before = signal.getsignal(signal.SIGTERM)
    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [before]


def test_hold_until_exit_keeps_a_late_warning_from_killing_a_finished_command():
    """A SIGUSR1 that comes as the command exits leaves its status as it was."""
    code = (
        "import os, signal, sys\n"
        "from dlcourse import signals\n"
        "signals.catch_for_process()\n"
        "signals.hold_until_exit()\n"
        # What Python does to the handlers as it shuts down.
        "signal.signal(signal.SIGUSR1, signal.SIG_DFL)\n"
        "os.kill(os.getpid(), signal.SIGUSR1)\n"
        "sys.exit(0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
