"""The plain PyTorch training loop: one epoch of training, and an evaluation.

``batches`` is any iterable of (inputs, labels) tensor pairs, e.g. a ``DataLoader`` or a list.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch.nn import functional

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


def train_epoch(
    model: torch.nn.Module, batches: Batches, optimizer: torch.optim.Optimizer
) -> tuple[float, float]:
    """Take one optimizer step per batch; return the mean training loss and
    accuracy.
    """
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for x, y in batches:
        optimizer.zero_grad()
        logits = model(x)
        loss = functional.cross_entropy(logits, y)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(y)
        correct += (logits.argmax(dim=1) == y).sum().item()
        seen += len(y)
    return total_loss / seen, correct / seen


def evaluate(model: torch.nn.Module, batches: Batches) -> tuple[float, float]:
    """Return the model's mean loss and accuracy over ``batches``, without training it."""
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    with torch.no_grad():
        for x, y in batches:
            logits = model(x)
            total_loss += functional.cross_entropy(
                logits, y, reduction="sum"
            ).item()
            correct += (logits.argmax(dim=1) == y).sum().item()
            seen += len(y)
    return total_loss / seen, correct / seen
