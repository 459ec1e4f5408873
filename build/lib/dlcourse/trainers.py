"""What the runner asks of a framework: the :class:`Trainer` interface, and the factory.

:class:`~dlcourse.keras_trainer.KerasTrainer` and :class:`~dlcourse.torch_trainer.TorchTrainer`
both satisfy it, so :func:`dlcourse.train.train` runs either without knowing which.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from dlcourse.config import TrainConfig
from dlcourse.inputs import Arrays
from dlcourse.layout import SINGLE_PROCESS, ProcessLayout
from dlcourse.signals import StopFlag

# The finished weights' file name in each framework, with the framework's own suffix.
WEIGHTS_NAMES = {"keras": "model.keras", "torch": "model.pt"}


class Progress(Protocol):
    """A progress bar, such as tqdm's: told each time a batch is done."""

    def update(self, n: int = 1) -> object: ...


class Trainer(Protocol):
    """A model with its optimizer, trained one epoch at a time and saved between epochs."""

    # File names of the finished weights and of the checkpoint, with the framework's suffix.
    weights_name: str
    checkpoint_name: str

    def train_epoch(
        self, arrays: Arrays, epoch: int, stop: StopFlag, bar: Progress
    ) -> tuple[float, float] | None:
        """Train epoch ``epoch``; return its loss and accuracy, or None if ``stop`` was set."""
        ...

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Return the model's mean loss and accuracy on ``x``, ``y``."""
        ...

    def save(self, path: Path) -> None:
        """Write the model and optimizer state to ``path``, atomically."""
        ...

    def load(self, path: Path) -> None:
        """Restore the model and optimizer state that ``save`` wrote."""
        ...

    def weights_digest(self) -> str:
        """Return a SHA-256 of the model's weights."""
        ...

    def rank_digests(self) -> list[str]:
        """Return every process's weights digest, in rank order: equal when in step."""
        ...

    def barrier(self) -> None:
        """Wait until every process gets here (no-op in a single process)."""
        ...


def make_trainer(
    config: TrainConfig, device: str, layout: ProcessLayout = SINGLE_PROCESS
) -> Trainer:
    """Return a fresh trainer for ``config`` in its framework, on ``device`` ('cpu', 'cuda')."""
    if config.framework == "keras":
        from dlcourse.keras_trainer import KerasTrainer

        return KerasTrainer(config, device, layout)
    from dlcourse.torch_trainer import TorchTrainer

    return TorchTrainer(config, device, layout)
