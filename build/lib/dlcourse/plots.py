"""The book's figures: digits, training curves, and what a model learned.

Grids of digits (:func:`plot_digits`), one run's curves (:func:`plot_history`) or several runs'
(:func:`plot_runs`), and pictures of weights: softmax templates, convolution filters and
feature maps (:func:`plot_weight_templates`, :func:`plot_filters`, :func:`plot_maps`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def plot_digits(
    images: np.ndarray,
    labels: Sequence[int] | np.ndarray | None = None,
    *,
    ncols: int = 10,
    title: str | None = None,
) -> Figure:
    """Return a figure showing ``images`` (n, 28, 28) in a grid, each titled by its label."""
    if len(images) == 0:
        raise ValueError("plot_digits needs at least one image")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"got {len(images)} images but {len(labels)} labels")
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(ncols * 0.9, nrows * 1.05), squeeze=False
    )
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= len(images):
            continue
        ax.imshow(images[index], cmap="gray_r", vmin=0, vmax=255)
        if labels is not None:
            ax.set_title(str(labels[index]), fontsize=10, pad=2)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_history(
    history: Mapping[str, Sequence[float]],
    *,
    title: str | None = None,
    reference: float | None = None,
    reference_label: str = "2018 course",
) -> Figure:
    """Return a figure of accuracy and loss per epoch, training data beside test data.

    ``history`` is a Keras-style mapping: ``accuracy``, ``loss`` and, if the model was
    evaluated on held-out data after each epoch, ``val_accuracy`` and ``val_loss``.
    ``reference``, a test accuracy between 0 and 1 (the 2018 course's, say), is drawn
    as a dashed line across the accuracy panel.
    """
    if reference is not None and not 0 <= reference <= 1:
        raise ValueError(
            f"reference is an accuracy between 0 and 1, not {reference}"
        )
    missing = {"accuracy", "loss"} - set(history)
    if missing:
        raise ValueError(
            f"history lacks {sorted(missing)}; it has {sorted(history)}"
        )
    fig, (acc_ax, loss_ax) = plt.subplots(1, 2, figsize=(10, 3.8))
    epochs = np.arange(1, len(history["loss"]) + 1)
    for ax, metric, label in (
        (acc_ax, "accuracy", "accuracy"),
        (loss_ax, "loss", "loss"),
    ):
        ax.plot(
            epochs,
            history[metric],
            marker="o",
            markersize=3,
            label="training data",
        )
        if f"val_{metric}" in history:
            ax.plot(
                epochs,
                history[f"val_{metric}"],
                marker="s",
                markersize=3,
                label="test data",
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    if reference is not None:
        acc_ax.axhline(
            reference, color="black", linestyle="--", label=reference_label
        )
    acc_ax.legend()
    loss_ax.legend()
    acc_ax.set_title("Accuracy")
    loss_ax.set_title("Cross-entropy loss")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


METRIC_LABELS = {
    "accuracy": "training accuracy",
    "loss": "training loss",
    "val_accuracy": "test accuracy",
    "val_loss": "test loss",
}


def plot_runs(
    histories: Mapping[str, Mapping[str, Sequence[float]]],
    metrics: Sequence[str] = ("val_accuracy", "val_loss"),
    *,
    title: str | None = None,
) -> Figure:
    """Return one panel per metric, with one line per run; histories are Keras-style mappings."""
    if not histories:
        raise ValueError("plot_runs needs at least one history")
    for name, history in histories.items():
        missing = set(metrics) - set(history)
        if missing:
            raise ValueError(f"history {name!r} lacks {sorted(missing)}")
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(5 * len(metrics), 3.8), squeeze=False
    )
    for ax, metric in zip(axes.flat, metrics, strict=True):
        for name, history in histories.items():
            values = history[metric]
            ax.plot(
                np.arange(1, len(values) + 1),
                values,
                marker="o",
                markersize=3,
                label=name,
            )
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(METRIC_LABELS.get(metric, metric))
        ax.set_title(METRIC_LABELS.get(metric, metric).capitalize())
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_maps(
    maps: Sequence[np.ndarray] | np.ndarray,
    titles: Sequence[str] | None = None,
    *,
    ncols: int = 8,
    cmap: str = "gray_r",
    symmetric: bool = False,
    size: float = 1.2,
    title: str | None = None,
) -> Figure:
    """Return a figure of 2-D arrays in a grid, each on its own colour scale.

    ``symmetric`` centres each scale on zero (for weights, where the sign matters).
    """
    maps = [np.asarray(m, dtype=float) for m in maps]
    if not maps or any(m.ndim != 2 for m in maps):
        raise ValueError("plot_maps needs at least one 2-D array")
    if titles is not None and len(titles) != len(maps):
        raise ValueError(f"got {len(maps)} maps but {len(titles)} titles")
    ncols = min(ncols, len(maps))
    nrows = -(-len(maps) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(ncols * size, nrows * size * 1.15), squeeze=False
    )
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= len(maps):
            continue
        values = maps[index]
        limit = float(np.abs(values).max()) or 1.0
        scale = {"vmin": -limit, "vmax": limit} if symmetric else {}
        ax.imshow(values, cmap=cmap, **scale)
        if titles is not None:
            ax.set_title(titles[index], fontsize=9, pad=2)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_weight_templates(weights: np.ndarray, *, side: int = 28) -> Figure:
    """Return ten side x side images of a softmax layer's weights (n_pixels, n_classes).

    Red pixels count as evidence for the class, blue ones against it.
    """
    weights = np.asarray(weights)
    if weights.ndim != 2 or weights.shape[0] != side * side:
        raise ValueError(
            f"expected weights of shape ({side * side}, classes), got {weights.shape}"
        )
    templates = [
        weights[:, digit].reshape(side, side)
        for digit in range(weights.shape[1])
    ]
    titles = [str(digit) for digit in range(weights.shape[1])]
    return plot_maps(
        templates, titles, ncols=5, cmap="RdBu_r", symmetric=True, size=1.6
    )


def plot_filters(kernels: np.ndarray, *, ncols: int = 8) -> Figure:
    """Return a figure of a first convolution layer's filters, Keras layout (h, w, 1, n)."""
    kernels = np.asarray(kernels)
    if kernels.ndim != 4 or kernels.shape[2] != 1:
        raise ValueError(
            f"expected kernels of shape (h, w, 1, n), got {kernels.shape}"
        )
    filters = [kernels[:, :, 0, index] for index in range(kernels.shape[3])]
    titles = [str(index) for index in range(len(filters))]
    return plot_maps(
        filters, titles, ncols=ncols, cmap="RdBu_r", symmetric=True, size=0.9
    )
