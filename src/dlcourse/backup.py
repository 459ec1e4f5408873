"""Keras's ``BackupAndRestore``, stopped by a job's warning between backups.

Keras writes its backup in place: a program killed while it writes leaves a
half-written weights file, and the next run cannot load it.
:class:`BackupAndRestore` takes the warning (``SIGUSR1``, as
``#SBATCH --signal=B:USR1@300`` sends it through the job script) or
``SIGTERM`` as a request: the run stops at once if no backup is being
written, or right after the one being written is whole, and exits with
:data:`EXIT_REQUEUE`. The job script requeues on that status, and the next
run resumes from the backup.
"""

from __future__ import annotations

import signal
import sys

import keras

from dlcourse.cluster import EXIT_REQUEUE

# The signals that ask a run to stop: the job's warning, the scheduler's end.
STOP_SIGNALS = (signal.SIGUSR1, signal.SIGTERM)


class BackupAndRestore(keras.callbacks.BackupAndRestore):
    """Back up after every epoch; on a stop signal, exit with ``EXIT_REQUEUE``
    once no backup is half-written.

    Takes the arguments of ``keras.callbacks.BackupAndRestore``. The signals'
    handlers are set when training begins and put back when it ends.
    """

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.stop_requested = False
        self._writing = False
        self._previous = {
            number: signal.signal(number, self._request_stop)
            for number in STOP_SIGNALS
        }

    def _request_stop(self, number, frame):
        self.stop_requested = True
        # Handlers run between bytecodes: a backup being written ends first.
        if not self._writing:
            sys.exit(EXIT_REQUEUE)

    def on_epoch_end(self, epoch, logs=None):
        self._writing = True
        super().on_epoch_end(epoch, logs)
        self._writing = False
        if self.stop_requested:
            sys.exit(EXIT_REQUEUE)

    def on_train_end(self, logs=None):
        # Training is done: the backup is deleted whole; signals stop nothing.
        self._writing = True
        super().on_train_end(logs)
        for number, handler in self._previous.items():
            signal.signal(number, handler)
