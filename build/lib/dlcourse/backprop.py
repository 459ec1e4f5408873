"""A multilayer perceptron in NumPy, with backpropagation written out by hand."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dlcourse import activations

# Weight scale that keeps signals at about the same size from layer to layer: LeCun for
# sigmoid and tanh, He for the ReLU family, which zeroes half its inputs.
DEFAULT_GAIN = {
    "sigmoid": 1.0,
    "tanh": 1.0,
    "ReLU": np.sqrt(2.0),
    "leaky ReLU": np.sqrt(2.0),
}


@dataclass
class MLP:
    """A multilayer perceptron: one weight matrix (inputs × outputs) and bias per layer."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    activation: str = "sigmoid"

    @property
    def sizes(self) -> list[int]:
        """Return the width of every layer, the input first."""
        return [self.weights[0].shape[0], *(w.shape[1] for w in self.weights)]


def init_mlp(
    sizes: Sequence[int],
    activation: str = "sigmoid",
    *,
    gain: float | None = None,
    seed: int = 0,
) -> MLP:
    """Return an MLP with layer widths ``sizes``, weights drawn from N(0, gain² / fan-in)."""
    if activation not in activations.ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; pick from {list(activations.ACTIVATIONS)}"
        )
    gain = DEFAULT_GAIN.get(activation, 1.0) if gain is None else gain
    rng = np.random.default_rng(seed)
    weights = [
        rng.normal(scale=gain / np.sqrt(fan_in), size=(fan_in, fan_out))
        for fan_in, fan_out in itertools.pairwise(sizes)
    ]
    biases = [np.zeros(fan_out) for fan_out in sizes[1:]]
    return MLP(weights, biases, activation)


@dataclass
class Cache:
    """What the forward pass keeps for the backward pass: each layer's input and its z."""

    inputs: list[np.ndarray]
    pre_activations: list[np.ndarray]


def forward(mlp: MLP, x: np.ndarray) -> tuple[np.ndarray, Cache]:
    """Return the network's outputs (logits; the last layer has no activation)
    and the cache.
    """
    f = activations.ACTIVATIONS[mlp.activation].function
    cache = Cache(inputs=[], pre_activations=[])
    a = x
    last = len(mlp.weights) - 1
    for layer, (w, b) in enumerate(zip(mlp.weights, mlp.biases, strict=True)):
        z = a @ w + b
        cache.inputs.append(a)
        cache.pre_activations.append(z)
        a = z if layer == last else f(z)
    return a, cache


def softmax(logits: np.ndarray) -> np.ndarray:
    """Return the softmax of each row of ``logits``: positive numbers summing to 1."""
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def softmax_cross_entropy(
    logits: np.ndarray, labels: np.ndarray
) -> tuple[float, np.ndarray]:
    """Return the mean cross-entropy of softmax(logits) against integer labels,
    and its gradient.
    """
    n = len(labels)
    shifted = logits - logits.max(axis=1, keepdims=True)
    # log softmax = z - log(sum(exp z)), computed so that no probability
    # underflows to log(0).
    log_probabilities = shifted - np.log(
        np.exp(shifted).sum(axis=1, keepdims=True)
    )
    loss = -np.mean(log_probabilities[np.arange(n), labels])
    grad = np.exp(log_probabilities)
    grad[np.arange(n), labels] -= (
        1  # d loss / d logits = (softmax - one-hot) / n
    )
    return float(loss), grad / n


def backward(
    mlp: MLP, cache: Cache, grad_output: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Return the loss's gradients for every weight matrix and bias, given d
    loss / d output.
    """
    df = activations.ACTIVATIONS[mlp.activation].derivative
    grad_weights: list[np.ndarray] = [np.empty(0)] * len(mlp.weights)
    grad_biases: list[np.ndarray] = [np.empty(0)] * len(mlp.biases)
    # d loss / d z of the current layer, from the last layer down
    delta = grad_output
    for layer in reversed(range(len(mlp.weights))):
        grad_weights[layer] = cache.inputs[layer].T @ delta
        grad_biases[layer] = delta.sum(axis=0)
        if layer > 0:
            delta = (delta @ mlp.weights[layer].T) * df(
                cache.pre_activations[layer - 1]
            )
    return grad_weights, grad_biases


def loss_and_gradients(
    mlp: MLP, x: np.ndarray, labels: np.ndarray
) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
    """Return the cross-entropy loss on (x, labels) and its gradients for weights and biases."""
    logits, cache = forward(mlp, x)
    loss, grad_logits = softmax_cross_entropy(logits, labels)
    grad_weights, grad_biases = backward(mlp, cache, grad_logits)
    return loss, grad_weights, grad_biases


def sgd_step(
    mlp: MLP,
    grad_weights: list[np.ndarray],
    grad_biases: list[np.ndarray],
    learning_rate: float,
) -> None:
    """Move every parameter of ``mlp`` one step against its gradient, in place."""
    for w, gw in zip(mlp.weights, grad_weights, strict=True):
        w -= learning_rate * gw
    for b, gb in zip(mlp.biases, grad_biases, strict=True):
        b -= learning_rate * gb


def train(
    mlp: MLP,
    x: np.ndarray,
    labels: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int = 0,
) -> list[float]:
    """Train ``mlp`` in place by mini-batch gradient descent; return the mean
    loss of each epoch.
    """
    rng = np.random.default_rng(seed)
    epoch_losses = []
    for _ in range(epochs):
        order = rng.permutation(len(x))
        batch_losses = []
        for start in range(0, len(x), batch_size):
            batch = order[start : start + batch_size]
            loss, grad_weights, grad_biases = loss_and_gradients(
                mlp, x[batch], labels[batch]
            )
            sgd_step(mlp, grad_weights, grad_biases, learning_rate)
            batch_losses.append(loss)
        epoch_losses.append(float(np.mean(batch_losses)))
    return epoch_losses


def accuracy(mlp: MLP, x: np.ndarray, labels: np.ndarray) -> float:
    """Return the fraction of examples whose largest output is the true label."""
    logits, _ = forward(mlp, x)
    return float(np.mean(logits.argmax(axis=1) == labels))


def gradient_norms(grad_weights: Sequence[np.ndarray]) -> np.ndarray:
    """Return the Euclidean (Frobenius) norm of each layer's weight gradient."""
    return np.array([np.linalg.norm(g) for g in grad_weights])
