"""Training runs small enough for a test: a few seconds each on a CPU."""

from __future__ import annotations

from dataclasses import replace

from dlcourse import config, profiles
from dlcourse.models import Architecture

SMOKE = profiles.PROFILES["smoke"]
# Three epochs on the smoke subset: long enough to interrupt, short enough for a test.
SMOKE_3 = replace(SMOKE, max_epochs=None)


def small_config(
    framework: str, kind: str = "mlp", epochs: int = 3
) -> config.TrainConfig:
    """Return a small dropout network's config, trained with Adam in batches of 100."""
    return config.TrainConfig(
        arch=Architecture(kind, "relu", dropout=0.25),
        framework=framework,
        optimizer=config.OptimizerSpec("adam", learning_rate=0.003),
        batch_size=100,
        epochs=epochs,
        seed=7,
    )


def metrics(result: config.RunResult) -> list[float]:
    """Return every epoch's training and test loss and accuracy, in one flat list."""
    keys = ("loss", "accuracy", "val_loss", "val_accuracy")
    return [epoch[k] for epoch in result.history for k in keys]


class NoBar:
    """A progress bar that shows nothing."""

    def update(self, n: int = 1) -> None:
        pass
