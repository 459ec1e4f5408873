"""What decides a training run's outcome, and what a finished run reports: small dataclasses.

A :class:`TrainConfig` (model, framework, :class:`OptimizerSpec`, batch size, epochs, ...) is
built once, at the edge (the experiments registry, the command line); a finished run is a
:class:`RunResult`, stored as ``result.json``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace

from dlcourse import models
from dlcourse.profiles import Profile

FRAMEWORKS = ("keras", "torch")
OPTIMIZERS = ("sgd", "adam", "adadelta")
AUGMENTATIONS = (None, "shifts")


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer and its settings, spelled the same for Keras and PyTorch."""

    name: str
    learning_rate: float
    momentum: float = 0.0
    rho: float = 0.95
    epsilon: float = 1e-7
    # The learning rate is multiplied by this after every epoch (1.0: constant).
    decay: float = 1.0

    def __post_init__(self) -> None:
        if self.name not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {self.name!r}; choose one of {OPTIMIZERS}"
            )
        if not self.learning_rate > 0:
            raise ValueError(
                f"learning rate must be positive, got {self.learning_rate}"
            )
        if not 0 < self.decay <= 1:
            raise ValueError(f"decay must lie in (0, 1], got {self.decay}")

    def rate_at(self, epoch: int) -> float:
        """Return the learning rate of epoch ``epoch`` (counted from 0)."""
        return self.learning_rate * self.decay**epoch


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run's outcome."""

    arch: models.Architecture
    framework: str
    optimizer: OptimizerSpec
    batch_size: int
    epochs: int
    augment: str | None = None
    seed: int = 0
    # Shift and scale the pixels to mean 0 and standard deviation 1 over the training set.
    standardize: bool = False

    def __post_init__(self) -> None:
        if self.framework not in FRAMEWORKS:
            raise ValueError(
                f"unknown framework {self.framework!r}; choose one of {FRAMEWORKS}"
            )
        if self.batch_size < 1 or self.epochs < 1:
            raise ValueError("batch size and epochs must be at least 1")
        if self.augment not in AUGMENTATIONS:
            raise ValueError(
                f"unknown augmentation {self.augment!r}; choose one of {AUGMENTATIONS}"
            )

    def to_dict(self) -> dict:
        """Return the config as plain JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> TrainConfig:
        """Return the config that ``to_dict`` produced."""
        return cls(
            **{
                **raw,
                "arch": models.Architecture(**raw["arch"]),
                "optimizer": OptimizerSpec(**raw["optimizer"]),
            }
        )


def effective_config(config: TrainConfig, profile: Profile) -> TrainConfig:
    """Return the config as a profile runs it: its epochs capped by the profile."""
    if profile.max_epochs is not None and config.epochs > profile.max_epochs:
        return replace(config, epochs=profile.max_epochs)
    return config


@dataclass
class RunResult:
    """A finished run: its configuration, per-epoch history, final test metrics, provenance."""

    name: str
    key: str
    config: dict
    profile: str
    profile_description: str
    history: list[dict]
    test_accuracy: float
    test_loss: float
    wall_time: float
    provenance: dict
    run_dir: str
    weights: str
    cached: bool = field(default=False, compare=False)

    def history_dict(self) -> dict[str, list[float]]:
        """Return the history as Keras-style lists: accuracy, loss, val_accuracy, val_loss."""
        keys = ("accuracy", "loss", "val_accuracy", "val_loss")
        return {k: [epoch[k] for epoch in self.history] for k in keys}

    def to_json(self) -> str:
        """Return the result as JSON text (without the ``cached`` flag)."""
        raw = asdict(self)
        raw.pop("cached")
        return json.dumps(raw, indent=2, sort_keys=True)
