"""The PyTorch side of the runner: the plain loop of :mod:`dlcourse.loop`, with additions.

The loop itself is unchanged; what the runner needs beyond it lives here, around it:

- :class:`ShareOfBatches` feeds the loop this process's share of each batch, moves the progress
  bar, and ends the epoch at a batch boundary when a stop signal arrives;
- :class:`TorchTrainer` seeds each epoch's dropout, sets the learning rate, wraps the network in
  DistributedDataParallel under ``torchrun``, averages the results over processes, and saves
  and loads checkpoints.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
import torch.distributed
from torch.nn.parallel import DistributedDataParallel

from dlcourse import loop, models
from dlcourse.config import OptimizerSpec, TrainConfig
from dlcourse.files import atomic_write
from dlcourse.inputs import Arrays, epoch_permutation, epoch_seed
from dlcourse.layout import SINGLE_PROCESS, ProcessLayout
from dlcourse.signals import StopFlag
from dlcourse.trainers import WEIGHTS_NAMES, Progress

# Examples per forward pass when evaluating: memory, not the result, decides it.
EVAL_BATCH = 1000


class ShareOfBatches:
    """This process's share of every batch of an epoch, as (inputs, labels) pairs on the device.

    Process r of ``world`` takes every world-th example of ``order`` from r on: together the
    processes' batches are exactly the batches one process would take. After each batch the bar
    moves on and ``should_stop()`` is asked; if it says yes, iteration ends and ``stopped`` is set.
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        order: np.ndarray,
        batch_size: int,
        layout: ProcessLayout,
        should_stop: Callable[[], bool],
        bar: Progress,
    ) -> None:
        world = layout.world_size
        mine = order[: len(order) // world * world][layout.rank :: world]
        self.order = torch.from_numpy(mine).to(x.device)
        self.x, self.y = x, y
        self.batch_size = batch_size // world
        self.should_stop = should_stop
        self.bar = bar
        self.stopped = False

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for start in range(0, len(self.order), self.batch_size):
            batch = self.order[start : start + self.batch_size]
            yield self.x[batch], self.y[batch]
            self.bar.update(1)
            if self.should_stop():
                self.stopped = True
                return


class TorchTrainer:
    """Builds, trains and saves a PyTorch model; satisfies :class:`dlcourse.trainers.Trainer`."""

    weights_name = WEIGHTS_NAMES["torch"]
    checkpoint_name = "checkpoint.pt"

    def __init__(
        self,
        config: TrainConfig,
        device: str,
        layout: ProcessLayout = SINGLE_PROCESS,
    ) -> None:
        self.config = config
        self.layout = layout
        if layout.world_size > 1 and config.batch_size % layout.world_size:
            raise ValueError(
                f"batch size {config.batch_size} does not split evenly over "
                f"{layout.world_size} processes"
            )
        self.device = torch.device(
            f"cuda:{layout.local_rank}" if device == "cuda" else "cpu"
        )
        torch.manual_seed(config.seed)
        # The bare network, saved and loaded; ``model`` may wrap it for several
        # processes.
        self.net = models.torch_model(config.arch).to(self.device)
        self.model = self.net
        if layout.world_size > 1:
            if not torch.distributed.is_initialized():
                # NCCL moves gradients between GPUs; gloo between CPU processes.
                backend = "nccl" if device == "cuda" else "gloo"
                torch.distributed.init_process_group(backend)
            ids = [layout.local_rank] if device == "cuda" else None
            self.model = DistributedDataParallel(self.net, device_ids=ids)
        self.optimizer = self._optimizer(config.optimizer)
        self._tensors: dict[int, torch.Tensor] = {}

    def _optimizer(self, spec: OptimizerSpec) -> torch.optim.Optimizer:
        optim, params = torch.optim, self.model.parameters()
        if spec.name == "sgd":
            return optim.SGD(
                params, lr=spec.learning_rate, momentum=spec.momentum
            )
        if spec.name == "adam":
            return optim.Adam(params, lr=spec.learning_rate, eps=spec.epsilon)
        return optim.Adadelta(
            params, lr=spec.learning_rate, rho=spec.rho, eps=spec.epsilon
        )

    def _on_device(self, array: np.ndarray) -> torch.Tensor:
        """Return the array as a tensor on the training device, converted once per run."""
        if id(array) not in self._tensors:
            self._tensors[id(array)] = torch.from_numpy(array).to(self.device)
        return self._tensors[id(array)]

    def _all_sum(self, *values: float) -> list[float]:
        """Return the values summed over all processes (themselves in a single process)."""
        if self.layout.world_size == 1:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        torch.distributed.all_reduce(tensor)
        return tensor.tolist()

    def train_epoch(
        self, arrays: Arrays, epoch: int, stop: StopFlag, bar: Progress
    ) -> tuple[float, float] | None:
        """Train epoch ``epoch``; return its loss and accuracy, or None if
        ``stop`` was set.
        """
        seed, world = self.config.seed, self.layout.world_size
        batches = ShareOfBatches(
            self._on_device(arrays.x_train),
            self._on_device(arrays.y_train),
            epoch_permutation(seed, epoch, len(arrays.x_train)),
            self.config.batch_size,
            self.layout,
            # Every process stops at the same batch if any of them was
            # signalled.
            should_stop=lambda: self._all_sum(1.0 if stop else 0.0)[0] > 0,
            bar=bar,
        )
        torch.manual_seed(epoch_seed(seed, epoch) + self.layout.rank)
        for group in self.optimizer.param_groups:
            group["lr"] = self.config.optimizer.rate_at(epoch)
        loss, accuracy = loop.train_epoch(self.model, batches, self.optimizer)
        if batches.stopped:
            return None
        # Every process saw as many examples: the mean over all is the mean of
        # their means.
        loss, accuracy = self._all_sum(loss, accuracy)
        return loss / world, accuracy / world

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Return the model's mean loss and accuracy on ``x``, ``y``."""
        inputs, targets = self._on_device(x), self._on_device(y)
        batches = (
            (
                inputs[start : start + EVAL_BATCH],
                targets[start : start + EVAL_BATCH],
            )
            for start in range(0, len(inputs), EVAL_BATCH)
        )
        return loop.evaluate(self.net, batches)

    def save(self, path: Path) -> None:
        """Write the network's and the optimizer's state to ``path``."""
        state = {
            "model": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
        }
        # Serialised in memory first: a full disk then fails in our write, with
        # its OSError.
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write(path, buffer.getvalue())

    def load(self, path: Path) -> None:
        """Restore the network's and the optimizer's state that ``save`` wrote."""
        # weights_only: a checkpoint is data, never code to run.
        state = torch.load(path, map_location=self.device, weights_only=True)
        self.net.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])

    def weights_digest(self) -> str:
        """Return a SHA-256 of the network's weights."""
        digest = hashlib.sha256()
        for tensor in self.net.state_dict().values():
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()

    def rank_digests(self) -> list[str]:
        """Return every process's weights digest, in rank order: equal when in step."""
        mine = self.weights_digest()
        if self.layout.world_size == 1:
            return [mine]
        local = torch.tensor(
            list(bytes.fromhex(mine)), dtype=torch.uint8, device=self.device
        )
        gathered = [
            torch.empty_like(local) for _ in range(self.layout.world_size)
        ]
        torch.distributed.all_gather(gathered, local)
        return [bytes(t.cpu().tolist()).hex() for t in gathered]

    def barrier(self) -> None:
        """Wait until every process gets here (no-op in a single process)."""
        if self.layout.world_size > 1:
            torch.distributed.barrier()
