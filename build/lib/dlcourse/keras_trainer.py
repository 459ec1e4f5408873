"""The Keras side of the runner: ``compile`` and ``fit`` one epoch at a time.

Keras's own loop trains each epoch; a callback moves the progress bar and stops ``fit`` after
the batch in which a stop signal arrived.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

import numpy as np

from dlcourse import models
from dlcourse.config import OptimizerSpec, TrainConfig
from dlcourse.files import atomic_write
from dlcourse.inputs import Arrays, epoch_permutation, epoch_seed
from dlcourse.layout import SINGLE_PROCESS, ProcessLayout
from dlcourse.signals import StopFlag
from dlcourse.trainers import WEIGHTS_NAMES, Progress


class KerasTrainer:
    """Builds, trains and saves a Keras model; satisfies :class:`dlcourse.trainers.Trainer`."""

    weights_name = WEIGHTS_NAMES["keras"]
    checkpoint_name = "checkpoint.keras"

    def __init__(
        self,
        config: TrainConfig,
        device: str,
        layout: ProcessLayout = SINGLE_PROCESS,
    ) -> None:
        import keras

        if layout.world_size > 1:
            raise ValueError(
                "a Keras run cannot be spread over several torchrun processes; "
                "use --framework torch, or run it as one process"
            )
        self.keras = keras
        self.config = config
        self.device_name = "gpu:0" if device == "cuda" else "cpu:0"
        if device == "cpu" and keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            # Bit-for-bit repeatable CPU kernels, so a resumed run matches an uninterrupted one.
            tf.config.experimental.enable_op_determinism()
        keras.utils.set_random_seed(config.seed)
        with self._scope():
            self.model = models.keras_model(config.arch)
            self.model.compile(
                optimizer=self._optimizer(config.optimizer),
                loss="sparse_categorical_crossentropy",
                metrics=["accuracy"],
            )

    def _scope(self):
        """Return a context that places new variables and work on the run's device.

        Only TensorFlow needs the placement spelled out; the torch backend follows
        PyTorch's own choice of device, and a device scope there breaks its gradients.
        """
        if self.keras.backend.backend() != "tensorflow":
            return contextlib.nullcontext()
        return self.keras.device(self.device_name)

    def _optimizer(self, spec: OptimizerSpec):
        opt = self.keras.optimizers
        if spec.name == "sgd":
            return opt.SGD(
                learning_rate=spec.learning_rate, momentum=spec.momentum
            )
        if spec.name == "adam":
            return opt.Adam(
                learning_rate=spec.learning_rate, epsilon=spec.epsilon
            )
        return opt.Adadelta(
            learning_rate=spec.learning_rate, rho=spec.rho, epsilon=spec.epsilon
        )

    def _reseed_dropout(self, seed: int) -> None:
        """Point every layer's random stream at ``seed``; Keras does not save these states."""
        for index, layer in enumerate(self.model.layers):
            for value in vars(layer).values():
                if isinstance(value, self.keras.random.SeedGenerator):
                    start = np.array([seed + index, 0]).astype(
                        value.state.dtype
                    )
                    value.state.assign(start)

    def train_epoch(
        self, arrays: Arrays, epoch: int, stop: StopFlag, bar: Progress
    ) -> tuple[float, float] | None:
        """Train epoch ``epoch``; return its loss and accuracy, or None if ``stop`` was set."""
        order = epoch_permutation(self.config.seed, epoch, len(arrays.x_train))
        self._reseed_dropout(epoch_seed(self.config.seed, epoch))
        self.model.optimizer.learning_rate.assign(
            self.config.optimizer.rate_at(epoch)
        )
        trainer = self

        class Hooks(self.keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                bar.update(1)
                if stop:
                    trainer.model.stop_training = True

        with self._scope():
            history = self.model.fit(
                arrays.x_train[order],
                arrays.y_train[order],
                batch_size=self.config.batch_size,
                epochs=1,
                shuffle=False,
                verbose=0,
                callbacks=[Hooks()],
            )
        if stop:
            return None
        return float(history.history["loss"][-1]), float(
            history.history["accuracy"][-1]
        )

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Return the model's mean loss and accuracy on ``x``, ``y``."""
        with self._scope():
            scores = self.model.evaluate(
                x, y, batch_size=1000, verbose=0, return_dict=True
            )
        return float(scores["loss"]), float(scores["accuracy"])

    def save(self, path: Path) -> None:
        """Write the model with its optimizer state to ``path`` (a ``.keras`` file)."""
        atomic_write(path, self.model.save)

    def load(self, path: Path) -> None:
        """Restore the model and optimizer that ``save`` wrote."""
        with self._scope():
            self.model = self.keras.saving.load_model(path)

    def weights_digest(self) -> str:
        """Return a SHA-256 of the model's weights."""
        digest = hashlib.sha256()
        for weight in self.model.weights:
            digest.update(np.asarray(weight.numpy()).tobytes())
        return digest.hexdigest()

    def rank_digests(self) -> list[str]:
        """Return the weights' digest of the one process."""
        return [self.weights_digest()]

    def barrier(self) -> None:
        """Nothing to wait for: a Keras run is one process."""
