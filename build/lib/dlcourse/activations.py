"""Activation functions of artificial neurons and their derivatives, in NumPy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


def step(z: np.ndarray) -> np.ndarray:
    """Return 1 where z > 0 and 0 elsewhere: the perceptron's hard decision."""
    return (np.asarray(z) > 0).astype(float)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Return 1 / (1 + exp(-z)), computed without overflow for large |z|."""
    z = np.asarray(z, dtype=float)
    # exp of a non-positive number never overflows; pick the form that needs
    # only that.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_grad(z: np.ndarray) -> np.ndarray:
    """Return the derivative of the sigmoid, sigmoid(z) * (1 - sigmoid(z))."""
    s = sigmoid(z)
    return s * (1 - s)


def tanh(z: np.ndarray) -> np.ndarray:
    """Return the hyperbolic tangent of z."""
    return np.tanh(z)


def tanh_grad(z: np.ndarray) -> np.ndarray:
    """Return the derivative of tanh, 1 - tanh(z)**2."""
    return 1 - np.tanh(z) ** 2


def relu(z: np.ndarray) -> np.ndarray:
    """Return max(0, z), element by element."""
    return np.maximum(0.0, z)


def relu_grad(z: np.ndarray) -> np.ndarray:
    """Return the derivative of ReLU: 1 where z > 0, else 0 (0 at z = 0, as frameworks do)."""
    return (np.asarray(z) > 0).astype(float)


def leaky_relu(z: np.ndarray, slope: float = 0.1) -> np.ndarray:
    """Return max(slope * z, z): ReLU that keeps a small slope for negative inputs."""
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, z, slope * z)


def leaky_relu_grad(z: np.ndarray, slope: float = 0.1) -> np.ndarray:
    """Return the derivative of the leaky ReLU: 1 where z > 0, else ``slope``."""
    return np.where(np.asarray(z) > 0, 1.0, slope)


def elu(z: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Return the ELU: z for z > 0, alpha * (exp(z) - 1) otherwise."""
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0)))


def elu_grad(z: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Return the derivative of the ELU: 1 for z > 0, alpha * exp(z) otherwise."""
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0)))


def _pieces(
    x: np.ndarray, weights: Sequence[float], biases: Sequence[float]
) -> np.ndarray:
    """Return weights[k] * x + biases[k] for every piece k, stacked along a new last axis."""
    x = np.asarray(x, dtype=float)[..., np.newaxis]
    return x * np.asarray(weights, dtype=float) + np.asarray(
        biases, dtype=float
    )


def maxout(
    x: np.ndarray, weights: Sequence[float], biases: Sequence[float]
) -> np.ndarray:
    """Return max_k(weights[k] * x + biases[k]): the largest of several linear pieces."""
    pieces = _pieces(x, weights, biases)
    return pieces.max(axis=-1)


def maxout_grad(
    x: np.ndarray, weights: Sequence[float], biases: Sequence[float]
) -> np.ndarray:
    """Return the derivative of ``maxout`` with respect to x: the slope of the winning piece."""
    pieces = _pieces(x, weights, biases)
    return np.asarray(weights, dtype=float)[pieces.argmax(axis=-1)]


class Activation(NamedTuple):
    """An activation function of one array and its derivative."""

    function: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray], np.ndarray]


# Maxout drawn with two pieces, max(x, -0.5 x + 0.5), so it differs from the ReLU family.
MAXOUT_WEIGHTS, MAXOUT_BIASES = (1.0, -0.5), (0.0, 0.5)

ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(sigmoid, sigmoid_grad),
    "tanh": Activation(tanh, tanh_grad),
    "ReLU": Activation(relu, relu_grad),
    "leaky ReLU": Activation(leaky_relu, leaky_relu_grad),
    "maxout": Activation(
        lambda x: maxout(x, MAXOUT_WEIGHTS, MAXOUT_BIASES),
        lambda x: maxout_grad(x, MAXOUT_WEIGHTS, MAXOUT_BIASES),
    ),
    "ELU": Activation(elu, elu_grad),
}


def plot_activations(
    names: Sequence[str] = tuple(ACTIVATIONS),
    *,
    lim: float = 4.0,
    ncols: int = 3,
) -> Figure:
    """Return a grid of panels, one per activation, each drawing the function and its derivative."""
    x = np.linspace(-lim, lim, 401)
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(3.3 * ncols, 2.6 * nrows),
        squeeze=False,
        sharex=True,
    )
    for ax, name in zip(axes.flat[: len(names)], names, strict=True):
        activation = ACTIVATIONS[name]
        ax.plot(x, activation.function(x), label="f(z)", color="tab:blue")
        ax.plot(
            x,
            activation.derivative(x),
            label="f'(z)",
            color="tab:orange",
            linestyle="--",
        )
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.axvline(0, color="grey", linewidth=0.5)
        ax.set_title(name)
        ax.set_xlabel("z")
        ax.set_ylabel("value")
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(names) :]:
        ax.axis("off")
    axes.flat[0].legend(loc="upper left")
    fig.tight_layout()
    return fig
