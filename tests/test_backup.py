"""Tests of dlcourse.backup: a stop signal never leaves a half-written backup."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from dlcourse import backup  # noqa: E402
from dlcourse.cluster import EXIT_REQUEUE  # noqa: E402

EPOCHS = 4


def tiny_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def fit(model, callbacks):
    x = np.arange(24, dtype="float32").reshape(8, 3) / 24
    y = np.ones((8, 2), dtype="float32")
    return model.fit(x, y, epochs=EPOCHS, callbacks=callbacks, verbose=0)


class SignalAt(keras.callbacks.Callback):
    """Send this process ``number`` at the end of epoch ``epoch`` (0-based)."""

    def __init__(self, epoch: int, number: int = signal.SIGUSR1):
        super().__init__()
        self.epoch, self.number = epoch, number

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            os.kill(os.getpid(), self.number)


def test_a_signal_between_backups_exits_75_and_the_rerun_resumes(tmp_path):
    folder = tmp_path / "backup"
    # Listed before the backup: the signal comes after epoch 1's backup was written.
    with pytest.raises(SystemExit) as stopped:
        fit(tiny_model(), [SignalAt(1), backup.BackupAndRestore(str(folder))])
    assert stopped.value.code == EXIT_REQUEUE
    assert (folder / "training_metadata.json").read_text() == (
        '{"epoch": 1, "batch": 0}'
    )
    resumed = fit(tiny_model(), [backup.BackupAndRestore(str(folder))])
    # Epoch 1 is run again (its backup was not written), then 2 and 3.
    assert len(resumed.history["loss"]) == EPOCHS - 1
    assert not folder.exists()


def test_a_signal_while_the_backup_is_written_waits_until_it_is_whole(
    tmp_path, monkeypatch
):
    folder = tmp_path / "backup"
    model = tiny_model()
    save_weights = model.save_weights

    def signalled_while_saving(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        return save_weights(*args, **kwargs)

    monkeypatch.setattr(model, "save_weights", signalled_while_saving)
    with pytest.raises(SystemExit) as stopped:
        fit(model, [backup.BackupAndRestore(str(folder))])
    assert stopped.value.code == EXIT_REQUEUE
    # The first epoch's backup is whole: its metadata, written last, is there.
    assert (folder / "training_metadata.json").read_text() == (
        '{"epoch": 1, "batch": 0}'
    )
    restored = tiny_model()
    restored.load_weights(folder / "latest.weights.h5")
    for kept, loaded in zip(
        model.get_weights(), restored.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(kept, loaded)


def test_handlers_are_put_back_when_training_ends(tmp_path):
    before = signal.getsignal(signal.SIGUSR1)
    fit(tiny_model(), [backup.BackupAndRestore(str(tmp_path / "backup"))])
    assert signal.getsignal(signal.SIGUSR1) is before


def test_a_signal_after_the_last_backup_leaves_a_rerun_nothing_to_train(
    tmp_path,
):
    folder = tmp_path / "backup"
    with pytest.raises(SystemExit):
        fit(
            tiny_model(),
            [backup.BackupAndRestore(str(folder)), SignalAt(EPOCHS - 1)],
        )
    resumed = fit(tiny_model(), [backup.BackupAndRestore(str(folder))])
    assert resumed.history == {}
    assert not folder.exists()
