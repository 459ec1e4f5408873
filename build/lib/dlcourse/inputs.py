"""The arrays a run trains and tests on, and the fixed random streams of each epoch.

Each epoch's order of examples and its dropout seed are drawn from (seed, epoch) alone, never
from what ran before, so a run resumed after epoch k trains epoch k + 1 exactly as a run that
never stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlcourse import augment, data
from dlcourse.config import TrainConfig
from dlcourse.profiles import Profile


@dataclass
class Arrays:
    """Training and test data as float32 arrays shaped for the model, labels as int64."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def prepare_data(
    config: TrainConfig, profile: Profile, mnist: data.MNIST | None = None
) -> Arrays:
    """Return the arrays a run trains and tests on, cut to the profile and augmented."""
    mnist = data.subset(mnist or data.load_mnist(), profile)
    train_images, train_labels = mnist.train_images, mnist.train_labels
    test_images, test_labels = mnist.test_images, mnist.test_labels
    if config.augment == "shifts":
        train_images, train_labels = augment.expand_with_shifts(
            train_images, train_labels
        )

    mean, std = 0.0, 1.0
    if config.standardize:
        mean, std = (
            float(train_images.mean()) / 255.0,
            float(train_images.std()) / 255.0,
        )

    def shaped(images: np.ndarray) -> np.ndarray:
        scaled = (images.astype(np.float32) / 255.0 - mean) / std
        if not config.arch.takes_images:
            return scaled.reshape(len(images), -1)
        if config.framework == "torch":
            return scaled[:, None, :, :]  # channels first: (n, 1, 28, 28)
        return scaled[..., None]  # channels last: (n, 28, 28, 1)

    return Arrays(
        x_train=shaped(train_images),
        y_train=np.array(train_labels, dtype=np.int64),
        x_test=shaped(test_images),
        y_test=np.array(test_labels, dtype=np.int64),
    )


def epoch_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    """Return the order in which epoch ``epoch`` visits ``n`` examples; the same
    on every run.
    """
    return np.random.default_rng([seed, epoch]).permutation(n)


def epoch_seed(seed: int, epoch: int) -> int:
    """Return the seed of an epoch's dropout stream."""
    return int(np.random.default_rng([seed, epoch, 1]).integers(2**31 - 1))
