"""Tests of dlcourse.augment."""

from __future__ import annotations

import numpy as np

from dlcourse import augment


def test_shift_moves_ink_and_fills_with_zeros():
    image = np.zeros((1, 5, 5), dtype=np.uint8)
    image[0, 2, 2] = 255
    image[0, 4, 4] = 7
    down = augment.shift_images(image, 1, 0)
    assert down[0, 3, 2] == 255 and down[0, 2, 2] == 0
    assert down.sum() == 255  # the pixel on the bottom edge fell off
    left = augment.shift_images(image, 0, -1)
    assert left[0, 2, 1] == 255 and left[0, 4, 3] == 7
    assert not augment.shift_images(image, 5, 0).any()


def test_expand_with_shifts_gives_five_copies():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1])
    more_images, more_labels = augment.expand_with_shifts(images, labels)
    assert more_images.shape == (20, 28, 28)
    assert more_labels.tolist() == labels.tolist() * 5
    np.testing.assert_array_equal(more_images[:4], images)
    np.testing.assert_array_equal(
        more_images[4:8], augment.shift_images(images, 1, 0)
    )
