"""Figures of what a model learned: weight templates, convolution filters, feature maps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


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
        raise ValueError(f"expected weights of shape ({side * side}, classes), got {weights.shape}")
    templates = [weights[:, digit].reshape(side, side) for digit in range(weights.shape[1])]
    titles = [str(digit) for digit in range(weights.shape[1])]
    return plot_maps(templates, titles, ncols=5, cmap="RdBu_r", symmetric=True, size=1.6)


def plot_filters(kernels: np.ndarray, *, ncols: int = 8) -> Figure:
    """Return a figure of a first convolution layer's filters, Keras layout (h, w, 1, n)."""
    kernels = np.asarray(kernels)
    if kernels.ndim != 4 or kernels.shape[2] != 1:
        raise ValueError(f"expected kernels of shape (h, w, 1, n), got {kernels.shape}")
    filters = [kernels[:, :, 0, index] for index in range(kernels.shape[3])]
    titles = [str(index) for index in range(len(filters))]
    return plot_maps(filters, titles, ncols=ncols, cmap="RdBu_r", symmetric=True, size=0.9)


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
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.8), squeeze=False)
    for ax, metric in zip(axes.flat, metrics, strict=True):
        for name, history in histories.items():
            values = history[metric]
            ax.plot(np.arange(1, len(values) + 1), values, marker="o", markersize=3, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(METRIC_LABELS.get(metric, metric))
        ax.set_title(METRIC_LABELS.get(metric, metric).capitalize())
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
