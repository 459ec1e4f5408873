"""Tests of dlcourse.inputs: the arrays a run trains on and each epoch's random streams."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from tinyruns import SMOKE, small_config

from dlcourse import inputs


def test_epoch_streams_are_fixed_by_seed_and_epoch():
    first = inputs.epoch_permutation(0, 3, 100)
    np.testing.assert_array_equal(first, inputs.epoch_permutation(0, 3, 100))
    assert not np.array_equal(first, inputs.epoch_permutation(0, 4, 100))
    assert sorted(first.tolist()) == list(range(100))
    assert (
        inputs.epoch_seed(0, 3)
        == inputs.epoch_seed(0, 3)
        != inputs.epoch_seed(0, 4)
    )


def test_standardized_inputs_have_zero_mean_and_unit_spread():
    arrays = inputs.prepare_data(
        replace(small_config("torch"), standardize=True), SMOKE
    )
    assert abs(float(arrays.x_train.mean())) < 1e-4
    assert float(arrays.x_train.std()) == pytest.approx(1.0, abs=1e-3)
    plain = inputs.prepare_data(small_config("torch"), SMOKE)
    assert (
        float(plain.x_train.min()) == 0.0 and float(plain.x_train.max()) == 1.0
    )


def test_shapes_follow_the_model_and_the_framework():
    flat = inputs.prepare_data(small_config("torch"), SMOKE)
    assert (
        flat.x_train.shape == (SMOKE.train_limit, 784)
        and flat.x_train.dtype == np.float32
    )
    assert (
        flat.x_test.shape == (SMOKE.test_limit, 784)
        and flat.y_test.dtype == np.int64
    )
    torch_images = inputs.prepare_data(small_config("torch", kind="cnn"), SMOKE)
    keras_images = inputs.prepare_data(small_config("keras", kind="cnn"), SMOKE)
    assert torch_images.x_train.shape[1:] == (1, 28, 28)
    assert keras_images.x_train.shape[1:] == (28, 28, 1)
