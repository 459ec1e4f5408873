"""Tests of dlcourse.backprop: hand-written backpropagation against PyTorch autograd."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse import backprop

TORCH_ACTIVATION = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "ReLU": torch.relu,
}


def _torch_gradients(mlp, x, labels):
    """The same network in PyTorch: its loss and autograd's gradients."""
    weights = [torch.tensor(w, requires_grad=True) for w in mlp.weights]
    biases = [torch.tensor(b, requires_grad=True) for b in mlp.biases]
    a = torch.from_numpy(x)
    for layer, (w, b) in enumerate(zip(weights, biases, strict=True)):
        a = a @ w + b
        if layer < len(weights) - 1:
            a = TORCH_ACTIVATION[mlp.activation](a)
    loss = torch.nn.functional.cross_entropy(a, torch.from_numpy(labels))
    loss.backward()
    return (
        loss.item(),
        [w.grad.numpy() for w in weights],
        [b.grad.numpy() for b in biases],
    )


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    return rng.normal(size=(32, 6)), rng.integers(0, 4, size=32)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "ReLU"])
def test_gradients_match_pytorch_autograd(batch, activation):
    x, labels = batch
    mlp = backprop.init_mlp([6, 8, 5, 4], activation, seed=1)
    loss, grad_weights, grad_biases = backprop.loss_and_gradients(
        mlp, x, labels
    )
    torch_loss, torch_weights, torch_biases = _torch_gradients(mlp, x, labels)
    assert loss == pytest.approx(torch_loss, rel=1e-12)
    for ours, theirs in zip(
        grad_weights + grad_biases, torch_weights + torch_biases, strict=True
    ):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-13)


def test_gradient_matches_finite_differences(batch):
    x, labels = batch
    mlp = backprop.init_mlp([6, 5, 4], "tanh", seed=2)
    _, grad_weights, _ = backprop.loss_and_gradients(mlp, x, labels)
    eps = 1e-6
    for i, j in [(0, 0), (3, 2), (5, 4)]:
        mlp.weights[0][i, j] += eps
        up, _, _ = backprop.loss_and_gradients(mlp, x, labels)
        mlp.weights[0][i, j] -= 2 * eps
        down, _, _ = backprop.loss_and_gradients(mlp, x, labels)
        mlp.weights[0][i, j] += eps
        assert grad_weights[0][i, j] == pytest.approx(
            (up - down) / (2 * eps), rel=1e-5, abs=1e-9
        )


def test_softmax_cross_entropy_of_a_confident_right_answer_is_small():
    logits = np.array([[10.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    loss, grad = backprop.softmax_cross_entropy(logits, np.array([0, 1]))
    assert loss == pytest.approx((np.log1p(2 * np.exp(-10)) + np.log(3)) / 2)
    np.testing.assert_allclose(
        grad.sum(axis=1), 0, atol=1e-15
    )  # probabilities minus one-hot
    np.testing.assert_allclose(backprop.softmax(logits).sum(axis=1), 1)


def test_init_mlp_sizes_and_scale():
    mlp = backprop.init_mlp([400, 300, 10], "ReLU", seed=0)
    assert mlp.sizes == [400, 300, 10]
    assert [w.shape for w in mlp.weights] == [(400, 300), (300, 10)]
    assert mlp.weights[0].std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert all(not b.any() for b in mlp.biases)
    with pytest.raises(ValueError, match="unknown activation"):
        backprop.init_mlp([2, 2], "swish")


def test_training_learns_a_separable_problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    labels = (x[:, 0] * x[:, 1] > 0).astype(
        int
    )  # XOR of the signs: not linearly separable
    mlp = backprop.init_mlp([2, 16, 2], "tanh", seed=0)
    before = backprop.accuracy(mlp, x, labels)
    losses = backprop.train(
        mlp, x, labels, epochs=200, batch_size=32, learning_rate=0.5
    )
    assert losses[-1] < losses[0] / 3
    assert backprop.accuracy(mlp, x, labels) > max(0.95, before)


def test_deep_sigmoid_gradients_vanish_and_relu_gradients_do_not(batch):
    x, labels = batch
    sizes = [6] + [32] * 10 + [4]
    norms = {}
    for activation in ("sigmoid", "ReLU"):
        mlp = backprop.init_mlp(sizes, activation, seed=0)
        _, grad_weights, _ = backprop.loss_and_gradients(mlp, x, labels)
        norms[activation] = backprop.gradient_norms(grad_weights)
    sigmoid, relu = norms["sigmoid"], norms["ReLU"]
    assert (
        sigmoid[0] < sigmoid[-2] / 100
    )  # the first layer learns far slower than the last
    assert relu[0] > relu[-2] / 10
