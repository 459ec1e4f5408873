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
    history = {
        "accuracy": [0.8, 0.9],
        "loss": [0.5, 0.3],
        "val_accuracy": [0.85, 0.88],
    }
    fig = plots.plot_history(history)
    acc_ax, loss_ax = fig.axes
    assert [line.get_label() for line in acc_ax.lines] == [
        "training data",
        "test data",
    ]
    assert [line.get_label() for line in loss_ax.lines] == ["training data"]
    assert acc_ax.get_xlabel() == "epoch"
    np.testing.assert_array_equal(acc_ax.lines[1].get_ydata(), [0.85, 0.88])


def test_plot_history_draws_the_reference_dashed_and_whole_epochs():
    history = {"accuracy": [0.8, 0.9, 0.95], "loss": [0.5, 0.3, 0.2]}
    fig = plots.plot_history(history, reference=0.9923)
    acc_ax, loss_ax = fig.axes
    reference = acc_ax.lines[-1]
    assert reference.get_label() == "2018 course"
    assert reference.get_linestyle() == "--"
    np.testing.assert_array_equal(reference.get_ydata(), [0.9923, 0.9923])
    assert "2018 course" not in [line.get_label() for line in loss_ax.lines]
    fig.canvas.draw()
    for ax in fig.axes:
        ticks = ax.get_xticks()
        np.testing.assert_array_equal(ticks, np.round(ticks))


def test_plot_history_refuses_a_reference_given_in_percent():
    with pytest.raises(ValueError, match="between 0 and 1, not 99.23"):
        plots.plot_history({"accuracy": [0.9], "loss": [0.3]}, reference=99.23)


def test_plot_history_names_what_is_missing():
    with pytest.raises(ValueError, match="lacks \\['loss'\\]"):
        plots.plot_history({"accuracy": [0.9]})


def test_plot_maps_draws_each_map_with_its_title():
    maps = [np.full((5, 5), value) for value in range(5)]
    fig = plots.plot_maps(maps, ["a", "b", "c", "d", "e"], ncols=3)
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(drawn) == 5 and len(fig.axes) == 6
    assert [ax.get_title() for ax in drawn] == ["a", "b", "c", "d", "e"]


def test_plot_maps_symmetric_scale_centres_on_zero():
    fig = plots.plot_maps([np.array([[-1.0, 3.0]])], symmetric=True)
    assert fig.axes[0].images[0].get_clim() == (-3.0, 3.0)


def test_plot_maps_rejects_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        plots.plot_maps([np.zeros(3)])
    with pytest.raises(ValueError, match="2 maps but 1 titles"):
        plots.plot_maps([np.zeros((2, 2))] * 2, ["x"])


def test_weight_templates_are_the_columns_as_images():
    weights = np.arange(784 * 10, dtype=float).reshape(784, 10)
    fig = plots.plot_weight_templates(weights)
    drawn = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in drawn] == [str(d) for d in range(10)]
    np.testing.assert_array_equal(
        drawn[3].images[0].get_array(), weights[:, 3].reshape(28, 28)
    )
    with pytest.raises(ValueError, match="784"):
        plots.plot_weight_templates(np.zeros((100, 10)))


def test_plot_filters_shows_one_image_per_filter():
    kernels = np.random.default_rng(0).normal(size=(3, 3, 1, 32))
    fig = plots.plot_filters(kernels)
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(drawn) == 32
    np.testing.assert_array_equal(
        drawn[7].images[0].get_array(), kernels[:, :, 0, 7]
    )
    with pytest.raises(ValueError, match="h, w, 1, n"):
        plots.plot_filters(np.zeros((3, 3, 32, 32)))


def test_plot_runs_draws_one_line_per_run_in_each_panel():
    histories = {
        "sigmoid": {"val_accuracy": [0.9, 0.95], "val_loss": [0.3, 0.2]},
        "relu": {"val_accuracy": [0.93, 0.97], "val_loss": [0.25, 0.1]},
    }
    fig = plots.plot_runs(histories)
    accuracy_ax, loss_ax = fig.axes
    assert [line.get_label() for line in accuracy_ax.lines] == [
        "sigmoid",
        "relu",
    ]
    assert (
        accuracy_ax.get_ylabel() == "test accuracy"
        and loss_ax.get_ylabel() == "test loss"
    )
    np.testing.assert_array_equal(loss_ax.lines[1].get_ydata(), [0.25, 0.1])
    np.testing.assert_array_equal(loss_ax.lines[1].get_xdata(), [1, 2])


def test_plot_runs_names_a_missing_metric():
    with pytest.raises(ValueError, match=r"'relu' lacks \['val_loss'\]"):
        plots.plot_runs({"relu": {"val_accuracy": [0.9]}})
    with pytest.raises(ValueError, match="at least one"):
        plots.plot_runs({})
