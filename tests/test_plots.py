"""Tests of dlcourse.plots."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from dlcourse import plots


def test_plot_digits_draws_one_image_per_digit():
    images = np.zeros((12, 28, 28), dtype=np.uint8)
    fig = plots.plot_digits(images, list(range(12)), ncols=5)
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(drawn) == 12
    assert [ax.get_title() for ax in drawn[:3]] == ["0", "1", "2"]
    assert len(fig.axes) == 15  # 3 rows of 5; the last 3 stay empty


def test_plot_digits_rejects_mismatched_labels():
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        plots.plot_digits(np.zeros((3, 28, 28)), [1, 2])
    with pytest.raises(ValueError, match="at least one"):
        plots.plot_digits(np.zeros((0, 28, 28)))


def test_plot_history_plots_train_and_test_curves():
    history = {"accuracy": [0.8, 0.9], "loss": [0.5, 0.3], "val_accuracy": [0.85, 0.88]}
    fig = plots.plot_history(history)
    acc_ax, loss_ax = fig.axes
    assert [line.get_label() for line in acc_ax.lines] == ["training data", "test data"]
    assert [line.get_label() for line in loss_ax.lines] == ["training data"]
    assert acc_ax.get_xlabel() == "epoch"
    np.testing.assert_array_equal(acc_ax.lines[1].get_ydata(), [0.85, 0.88])


def test_plot_history_names_what_is_missing():
    with pytest.raises(ValueError, match="lacks \\['loss'\\]"):
        plots.plot_history({"accuracy": [0.9]})
