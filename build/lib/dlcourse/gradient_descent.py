"""Least squares for a linear model, solved exactly and by (mini-)batch gradient descent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def make_linear_data(
    n: int,
    weights: Sequence[float] = (2.0, -3.0),
    bias: float = 1.0,
    *,
    noise: float = 0.5,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Return inputs x of shape (n, len(weights)) and targets y = x·w + b + Gaussian noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(weights)))
    y = x @ np.asarray(weights, dtype=float) + bias + noise * rng.normal(size=n)
    return x, y


def predict(x: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    """Return the linear model's predictions x·w + b."""
    return x @ weights + bias


def mse(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray, bias: float
) -> float:
    """Return the mean squared error of the linear model on (x, y)."""
    return float(np.mean((predict(x, weights, bias) - y) ** 2))


def mse_gradients(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray, bias: float
) -> tuple[np.ndarray, float]:
    """Return the gradient of the mean squared error with respect to the weights and the bias."""
    residual = predict(x, weights, bias) - y
    return 2 * x.T @ residual / len(y), float(2 * residual.mean())


def least_squares(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Return the weights and bias that minimise the squared error, from the
    normal equations.
    """
    # A column of ones turns the bias into one more weight: solve (AᵀA) θ = Aᵀy
    # for θ = (w, b).
    a = np.column_stack([x, np.ones(len(x))])
    theta = np.linalg.solve(a.T @ a, a.T @ y)
    return theta[:-1], float(theta[-1])


@dataclass(frozen=True)
class DescentResult:
    """Where gradient descent ended, and the loss on all the data after every update."""

    weights: np.ndarray
    bias: float
    losses: np.ndarray  # losses[0] is the loss before the first update
    epochs: (
        np.ndarray
    )  # the epoch (a fraction after mini-batch updates) of each loss
    updates_per_epoch: int


def gradient_descent(
    x: np.ndarray,
    y: np.ndarray,
    *,
    learning_rate: float,
    epochs: int,
    batch_size: int | None = None,
    seed: int = 0,
) -> DescentResult:
    """Return the result of fitting y ≈ x·w + b by gradient descent on the mean
    squared error.

    ``batch_size=None`` uses every example in each update (batch gradient
    descent), 1 uses one (stochastic), anything between a mini-batch. The
    examples are shuffled every epoch.
    """
    n = len(y)
    batch_size = n if batch_size is None else batch_size
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must lie in 1..{n}, got {batch_size}")
    rng = np.random.default_rng(seed)
    weights, bias = np.zeros(x.shape[1]), 0.0
    losses = [mse(x, y, weights, bias)]
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            batch = order[start : start + batch_size]
            grad_w, grad_b = mse_gradients(x[batch], y[batch], weights, bias)
            weights = weights - learning_rate * grad_w
            bias = bias - learning_rate * grad_b
            losses.append(mse(x, y, weights, bias))
    updates_per_epoch = -(-n // batch_size)
    return DescentResult(
        weights=weights,
        bias=float(bias),
        losses=np.array(losses),
        epochs=np.arange(len(losses)) / updates_per_epoch,
        updates_per_epoch=updates_per_epoch,
    )
