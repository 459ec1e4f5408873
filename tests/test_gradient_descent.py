"""Tests of dlcourse.gradient_descent: least squares and descent, against NumPy and PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse import gradient_descent as gd


@pytest.fixture(scope="module")
def problem():
    return gd.make_linear_data(
        200, weights=(2.0, -3.0), bias=1.0, noise=0.5, seed=1
    )


def test_make_linear_data_follows_the_model(problem):
    x, y = problem
    assert x.shape == (200, 2) and y.shape == (200,)
    residual = y - (x @ [2.0, -3.0] + 1.0)
    assert 0.4 < residual.std() < 0.6  # the noise level asked for


def test_least_squares_matches_numpy_lstsq(problem):
    x, y = problem
    weights, bias = gd.least_squares(x, y)
    theta, *_ = np.linalg.lstsq(
        np.column_stack([x, np.ones(len(x))]), y, rcond=None
    )
    np.testing.assert_allclose([*weights, bias], theta, rtol=1e-10)
    np.testing.assert_allclose([*weights, bias], [2.0, -3.0, 1.0], atol=0.15)


def test_mse_gradients_match_pytorch_autograd(problem):
    x, y = problem
    weights, bias = np.array([0.3, -0.7]), 0.2
    w = torch.tensor(weights, requires_grad=True)
    b = torch.tensor(bias, dtype=torch.float64, requires_grad=True)
    loss = ((torch.from_numpy(x) @ w + b - torch.from_numpy(y)) ** 2).mean()
    loss.backward()
    grad_w, grad_b = gd.mse_gradients(x, y, weights, bias)
    assert gd.mse(x, y, weights, bias) == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(grad_w, w.grad.numpy(), rtol=1e-12)
    assert grad_b == pytest.approx(b.grad.item(), rel=1e-12)


@pytest.mark.parametrize("batch_size", [None, 16, 1])
def test_every_variant_reaches_the_exact_solution(problem, batch_size):
    x, y = problem
    exact_w, exact_b = gd.least_squares(x, y)
    # Smaller batches are noisier: a smaller step keeps them near the minimum.
    rate = {None: 0.1, 16: 0.05, 1: 0.005}[batch_size]
    result = gd.gradient_descent(
        x, y, learning_rate=rate, epochs=60, batch_size=batch_size
    )
    np.testing.assert_allclose(result.weights, exact_w, atol=0.05)
    assert result.bias == pytest.approx(exact_b, abs=0.05)
    assert result.losses[-1] < 1.05 * gd.mse(x, y, exact_w, exact_b)
    assert result.losses[-1] < result.losses[0] / 10


def test_updates_per_epoch_and_the_epoch_axis(problem):
    x, y = problem
    for batch_size, updates in [(None, 1), (1, 200), (64, 4)]:
        result = gd.gradient_descent(
            x, y, learning_rate=0.01, epochs=3, batch_size=batch_size
        )
        assert result.updates_per_epoch == updates
        assert len(result.losses) == 3 * updates + 1
        assert result.epochs[0] == 0 and result.epochs[-1] == pytest.approx(3)


def test_batch_descent_is_deterministic_and_rejects_bad_batches(problem):
    x, y = problem
    first = gd.gradient_descent(
        x, y, learning_rate=0.1, epochs=5, batch_size=8, seed=3
    )
    again = gd.gradient_descent(
        x, y, learning_rate=0.1, epochs=5, batch_size=8, seed=3
    )
    np.testing.assert_array_equal(first.losses, again.losses)
    with pytest.raises(ValueError, match="batch_size"):
        gd.gradient_descent(x, y, learning_rate=0.1, epochs=1, batch_size=0)
