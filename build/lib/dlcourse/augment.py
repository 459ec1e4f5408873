"""More training data from the data we have: shifted copies of each digit."""

from __future__ import annotations

import numpy as np

# (rows, columns) to move the ink by: down, up, right, left.
ONE_PIXEL_SHIFTS = ((1, 0), (-1, 0), (0, 1), (0, -1))


def shift_images(images: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Return images (n, h, w) moved by ``rows`` down and ``cols`` right, filled
    with zeros.
    """
    shifted = np.zeros_like(images)
    height, width = images.shape[1:3]
    if abs(rows) >= height or abs(cols) >= width:
        return shifted
    src_rows = slice(max(0, -rows), height - max(0, rows))
    dst_rows = slice(max(0, rows), height - max(0, -rows))
    src_cols = slice(max(0, -cols), width - max(0, cols))
    dst_cols = slice(max(0, cols), width - max(0, -cols))
    shifted[:, dst_rows, dst_cols] = images[:, src_rows, src_cols]
    return shifted


def expand_with_shifts(
    images: np.ndarray, labels: np.ndarray, shifts=ONE_PIXEL_SHIFTS
) -> tuple[np.ndarray, np.ndarray]:
    """Return the images followed by one shifted copy per shift, with their
    labels.

    With the default four one-pixel shifts, 60,000 training images become
    300,000.
    """
    copies = [images] + [
        shift_images(images, rows, cols) for rows, cols in shifts
    ]
    return np.concatenate(copies), np.tile(labels, len(copies))
