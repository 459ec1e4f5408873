"""Tests of dlcourse.loop, the plain PyTorch loop, and of the runner built around it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from tinyruns import SMOKE, NoBar, small_config

from dlcourse import inputs, loop, models, signals
from dlcourse.layout import ProcessLayout
from dlcourse.torch_trainer import ShareOfBatches, TorchTrainer


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


def test_the_runner_epoch_is_the_plain_loop_on_the_same_batches():
    """One process: the trainer's additions change nothing about what the loop computes."""
    run = replace(small_config("torch"), epochs=2)
    arrays = inputs.prepare_data(run, replace(SMOKE, train_limit=500))
    trainer = TorchTrainer(run, "cpu")

    torch.manual_seed(run.seed)
    model = models.torch_model(run.arch)
    optimizer = torch.optim.Adam(
        model.parameters(),
        lr=run.optimizer.learning_rate,
        eps=run.optimizer.epsilon,
    )
    for epoch in range(run.epochs):
        order = inputs.epoch_permutation(run.seed, epoch, len(arrays.x_train))
        torch.manual_seed(
            inputs.epoch_seed(run.seed, epoch)
        )  # the epoch's dropout
        for group in optimizer.param_groups:
            group["lr"] = run.optimizer.rate_at(epoch)
        plain = loop.train_epoch(
            model,
            _batches(arrays.x_train, arrays.y_train, order, run.batch_size),
            optimizer,
        )
        runner = trainer.train_epoch(arrays, epoch, signals.StopFlag(), NoBar())
        assert runner == plain
        theirs = trainer.net.state_dict()
        assert all(
            torch.equal(value, theirs[name])
            for name, value in model.state_dict().items()
        )
    assert trainer.evaluate(arrays.x_test, arrays.y_test) == loop.evaluate(
        model,
        _batches(
            arrays.x_test, arrays.y_test, np.arange(len(arrays.x_test)), 1000
        ),
    )


def test_each_process_takes_every_world_th_example():
    x = torch.arange(10).float()[:, None]
    y = torch.arange(10)
    order = np.array([9, 8, 7, 6, 5, 4, 3, 2, 1, 0])
    shares = [
        [
            b[1].tolist()
            for b in ShareOfBatches(
                x, y, order, 4, ProcessLayout(2, r, r), lambda: False, NoBar()
            )
        ]
        for r in range(2)
    ]
    # Two processes, global batches of 4: each takes 2 of every 4, together all of them.
    assert shares == [[[9, 7], [5, 3], [1]], [[8, 6], [4, 2], [0]]]


def test_batches_end_after_the_batch_in_which_the_stop_came():
    x, y = torch.zeros(10, 1), torch.arange(10)
    asked = []

    def should_stop() -> bool:
        asked.append(True)
        return len(asked) == 2

    batches = ShareOfBatches(
        x, y, np.arange(10), 3, ProcessLayout(), should_stop, NoBar()
    )
    assert [b[1].tolist() for b in batches] == [[0, 1, 2], [3, 4, 5]]
    assert batches.stopped
