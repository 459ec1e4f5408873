"""Figures the book draws again and again: grids of digits and training curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


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
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 0.9, nrows * 1.05), squeeze=False)
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


def plot_history(history: Mapping[str, Sequence[float]], *, title: str | None = None) -> Figure:
    """Return a figure of accuracy and loss per epoch, training data beside test data.

    ``history`` is a Keras-style mapping: ``accuracy``, ``loss`` and, if the model was
    evaluated on held-out data after each epoch, ``val_accuracy`` and ``val_loss``.
    """
    missing = {"accuracy", "loss"} - set(history)
    if missing:
        raise ValueError(f"history lacks {sorted(missing)}; it has {sorted(history)}")
    fig, (acc_ax, loss_ax) = plt.subplots(1, 2, figsize=(10, 3.8))
    epochs = np.arange(1, len(history["loss"]) + 1)
    for ax, metric, label in ((acc_ax, "accuracy", "accuracy"), (loss_ax, "loss", "loss")):
        ax.plot(epochs, history[metric], marker="o", markersize=3, label="training data")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], marker="s", markersize=3, label="test data")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    acc_ax.set_title("Accuracy")
    loss_ax.set_title("Cross-entropy loss")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
