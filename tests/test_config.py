"""Tests of dlcourse.config: the run's dataclasses, their checks and their JSON form."""

from __future__ import annotations

import json

import pytest
from tinyruns import SMOKE, small_config

from dlcourse import config, profiles


def test_profile_caps_the_epochs():
    run = small_config("torch", epochs=12)
    assert config.effective_config(run, SMOKE).epochs == 1
    assert config.effective_config(run, profiles.PROFILES["full"]) is run


def test_config_round_trips_through_json():
    run = small_config("keras")
    assert (
        config.TrainConfig.from_dict(json.loads(json.dumps(run.to_dict())))
        == run
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"framework": "caffe"}, "unknown framework 'caffe'"),
        ({"epochs": 0}, "at least 1"),
        ({"augment": "rotations"}, "unknown augmentation"),
    ],
)
def test_bad_configs_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        config.TrainConfig(**{**small_config("torch").__dict__, **changes})


def test_optimizer_rate_decays_per_epoch_and_is_checked():
    spec = config.OptimizerSpec("adam", learning_rate=0.002, decay=0.5)
    assert [spec.rate_at(epoch) for epoch in range(3)] == [0.002, 0.001, 0.0005]
    with pytest.raises(ValueError, match="unknown optimizer"):
        config.OptimizerSpec("rmsprop", learning_rate=0.1)
    with pytest.raises(ValueError, match="decay"):
        config.OptimizerSpec("sgd", learning_rate=0.1, decay=1.5)
