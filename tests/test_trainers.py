"""Tests of dlcourse.trainers and the two trainers behind it, Keras and PyTorch."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from tinyruns import SMOKE, NoBar, small_config

from dlcourse import config, experiments, inputs, signals, trainers
from dlcourse.keras_trainer import KerasTrainer
from dlcourse.layout import ProcessLayout
from dlcourse.torch_trainer import TorchTrainer


def test_the_factory_picks_the_framework():
    assert isinstance(
        trainers.make_trainer(small_config("torch"), "cpu"), TorchTrainer
    )
    assert isinstance(
        trainers.make_trainer(small_config("keras"), "cpu"), KerasTrainer
    )


@pytest.mark.parametrize("framework", config.FRAMEWORKS)
def test_one_epoch_lowers_the_loss(framework):
    run = replace(small_config(framework), batch_size=256)
    arrays = inputs.prepare_data(run, replace(SMOKE, train_limit=256))
    trainer = trainers.make_trainer(run, "cpu")
    before, _ = trainer.evaluate(arrays.x_train, arrays.y_train)
    trained = trainer.train_epoch(arrays, 0, signals.StopFlag(), NoBar())
    after, _ = trainer.evaluate(arrays.x_train, arrays.y_train)
    assert trained is not None and after < before


@pytest.mark.parametrize("framework", config.FRAMEWORKS)
def test_a_set_stop_flag_ends_the_epoch_after_one_batch(framework):
    run = small_config(framework)
    arrays = inputs.prepare_data(run, SMOKE)
    trainer = trainers.make_trainer(run, "cpu")
    stop = signals.StopFlag()
    stop.signal = 10
    bar = _CountingBar()
    assert trainer.train_epoch(arrays, 0, stop, bar) is None
    assert bar.count == 1


@pytest.mark.parametrize("framework", config.FRAMEWORKS)
def test_save_then_load_restores_the_weights(tmp_path, framework):
    run = small_config(framework)
    arrays = inputs.prepare_data(run, replace(SMOKE, train_limit=200))
    trained = trainers.make_trainer(run, "cpu")
    trained.train_epoch(arrays, 0, signals.StopFlag(), NoBar())
    path = tmp_path / trained.checkpoint_name
    trained.save(path)
    fresh = trainers.make_trainer(replace(run, seed=run.seed + 1), "cpu")
    assert fresh.weights_digest() != trained.weights_digest()
    fresh.load(path)
    assert fresh.weights_digest() == trained.weights_digest()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    np.testing.assert_allclose(
        fresh.evaluate(arrays.x_test, arrays.y_test),
        trained.evaluate(arrays.x_test, arrays.y_test),
    )


def test_uneven_batch_split_is_refused():
    run = replace(experiments.get("pytorch_example").config, batch_size=101)
    with pytest.raises(
        ValueError, match="does not split evenly over 2 processes"
    ):
        TorchTrainer(run, "cpu", ProcessLayout(world_size=2))


def test_keras_cannot_run_under_torchrun():
    with pytest.raises(ValueError, match="use --framework torch"):
        KerasTrainer(
            experiments.get("softmax").config, "cpu", ProcessLayout(2, 1, 1)
        )


class _CountingBar:
    def __init__(self) -> None:
        self.count = 0

    def update(self, n: int = 1) -> None:
        self.count += n
