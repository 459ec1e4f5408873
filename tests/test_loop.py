"""Tests of dlcourse.loop, the plain PyTorch loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse import loop, models


def _batches(x: np.ndarray, y: np.ndarray, order: np.ndarray, size: int):
    """The batches of ``order``, as tensors: what a reader would write by hand."""
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    return [
        (x[order[i : i + size]], y[order[i : i + size]])
        for i in range(0, len(order), size)
    ]


def test_one_epoch_of_the_plain_loop_lowers_the_loss():
    torch.manual_seed(0)
    model = models.torch_model(models.Architecture("mlp", "relu"))
    generator = np.random.default_rng(0)
    x = generator.random((64, models.NUM_PIXELS), dtype=np.float32)
    y = generator.integers(0, models.NUM_CLASSES, size=64)
    batches = _batches(x, y, np.arange(64), 16)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.003)
    before, _ = loop.evaluate(model, batches)
    loss, accuracy = loop.train_epoch(model, batches, optimizer)
    after, _ = loop.evaluate(model, batches)
    assert after < before
    assert 0.0 <= accuracy <= 1.0 and loss > 0


def test_evaluate_leaves_the_weights_and_gradients_alone():
    model = models.torch_model(models.Architecture("softmax"))
    x = np.ones((10, models.NUM_PIXELS), dtype=np.float32)
    batches = _batches(x, np.zeros(10, dtype=np.int64), np.arange(10), 4)
    before = [p.detach().clone() for p in model.parameters()]
    loss, accuracy = loop.evaluate(model, batches)
    assert all(p.grad is None for p in model.parameters())
    assert all(
        torch.equal(a, b)
        for a, b in zip(before, model.parameters(), strict=True)
    )
    with torch.no_grad():
        expected = torch.nn.functional.cross_entropy(
            model(torch.from_numpy(x)), torch.zeros(10).long()
        )
    assert loss == pytest.approx(float(expected))
    assert not model.training
