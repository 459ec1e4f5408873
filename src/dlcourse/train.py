"""Train a model in Keras or PyTorch, one epoch at a time, with checkpoints and a result cache.

:func:`train` runs a :class:`TrainConfig` in a run directory. After every epoch it writes a
checkpoint atomically, so a run that is killed and started again resumes from the last finished
epoch and ends with the same numbers as one that never stopped: each epoch's shuffling and
dropout are drawn from random streams seeded by (seed, epoch), not by what ran before.
A finished run leaves ``result.json`` and the weights; asking for it again returns that result
without training. On SIGUSR1 or SIGTERM (a scheduler's warning before the time limit) the run
stops at the next batch and raises :class:`TrainingInterrupted`, its last checkpoint intact.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from dlcourse import augment, data, hardware, models
from dlcourse.profiles import Profile, current_profile

FRAMEWORKS = ("keras", "torch")
OPTIMIZERS = ("sgd", "adam", "adadelta")
AUGMENTATIONS = (None, "shifts")
RESULT_FILE = "result.json"
CHECKPOINT_STATE = "checkpoint.json"
# Exit status for "checkpointed, start me again to resume" (EX_TEMPFAIL from sysexits.h).
EXIT_RESUMABLE = 75


class TrainingInterrupted(Exception):
    """Training stopped on a signal; the run directory holds a checkpoint to resume from."""


class CheckpointError(Exception):
    """A checkpoint or result in a run directory is damaged or belongs to another run."""


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
            raise ValueError(f"unknown optimizer {self.name!r}; choose one of {OPTIMIZERS}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning rate must be positive, got {self.learning_rate}")
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
            raise ValueError(f"unknown framework {self.framework!r}; choose one of {FRAMEWORKS}")
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


# --- keys, files ------------------------------------------------------------------------------

_CODE_FILES = ("models.py", "train.py", "augment.py")


def effective_config(config: TrainConfig, profile: Profile) -> TrainConfig:
    """Return the config as a profile runs it: its epochs capped by the profile."""
    if profile.max_epochs is not None and config.epochs > profile.max_epochs:
        return replace(config, epochs=profile.max_epochs)
    return config


def _keras_backend() -> str:
    """Return the Keras backend in use with its version, e.g. 'tensorflow 2.21.0'."""
    import keras

    name = keras.backend.backend()
    return f"{name} {hardware.versions().get(name, '')}".strip()


def run_key(config: TrainConfig, profile: Profile, world_size: int = 1) -> str:
    """Return the content address of a run: config, profile, data, code, versions, processes."""
    here = Path(__file__).parent
    code = hashlib.sha256(b"".join((here / name).read_bytes() for name in _CODE_FILES))
    versions = hardware.versions()
    material = {
        "config": config.to_dict(),
        "profile": asdict(profile),
        "data": [spec.sha256 for spec in data.MNIST_FILES],
        "code": code.hexdigest(),
        "framework": versions.get("torch" if config.framework == "torch" else "keras"),
        "backend": _keras_backend() if config.framework == "keras" else None,
    }
    if world_size > 1:
        material["world_size"] = world_size
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def atomic_write(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` so that readers see the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_result(run_dir: Path, key: str | None = None) -> RunResult | None:
    """Return the finished result in ``run_dir``, or None if there is none.

    Raises CheckpointError if the result is unreadable, its weights are damaged, or it belongs
    to a different configuration than ``key``.
    """
    path = Path(run_dir) / RESULT_FILE
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text())
        result = RunResult(**raw)
    except (ValueError, TypeError) as err:
        raise CheckpointError(f"{path} is not a valid result ({err})") from err
    if key is not None and result.key != key:
        raise CheckpointError(
            f"{run_dir} holds a run of another configuration (key {result.key[:12]}, "
            f"wanted {key[:12]}); choose another output directory"
        )
    weights = Path(run_dir) / result.weights
    if not weights.exists() or _sha256_file(weights) != raw.get("provenance", {}).get(
        "weights_sha256"
    ):
        raise CheckpointError(f"{weights} is missing or damaged; delete {run_dir} and train again")
    result.run_dir = str(run_dir)
    result.cached = True
    return result


# --- signals ----------------------------------------------------------------------------------


class StopFlag:
    """Set by SIGUSR1 or SIGTERM while training runs; checked after every batch."""

    SIGNALS = tuple(s for s in (getattr(signal, "SIGUSR1", None), signal.SIGTERM) if s)

    def __init__(self) -> None:
        self.signal: int | None = None

    def __bool__(self) -> bool:
        return self.signal is not None

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopFlag]:
        """Catch the stop signals for the duration of the block (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {sig: signal.getsignal(sig) for sig in self.SIGNALS}

        def handler(signum, _frame):
            self.signal = signum

        for sig in self.SIGNALS:
            signal.signal(sig, handler)
        try:
            yield self
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


# --- data -------------------------------------------------------------------------------------


@dataclass
class Arrays:
    """Training and test data as float32 arrays shaped for the model, labels as int64."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def prepare_data(config: TrainConfig, profile: Profile, mnist: data.MNIST | None = None) -> Arrays:
    """Return the arrays a run trains and tests on, cut to the profile and augmented."""
    mnist = mnist or data.load_mnist()
    train_images, train_labels = mnist.train_images, mnist.train_labels
    test_images, test_labels = mnist.test_images, mnist.test_labels
    if profile.train_limit is not None:
        train_images, train_labels = (
            train_images[: profile.train_limit],
            train_labels[: profile.train_limit],
        )
    if profile.test_limit is not None:
        test_images, test_labels = (
            test_images[: profile.test_limit],
            test_labels[: profile.test_limit],
        )
    if config.augment == "shifts":
        train_images, train_labels = augment.expand_with_shifts(train_images, train_labels)

    mean, std = 0.0, 1.0
    if config.standardize:
        mean, std = float(train_images.mean()) / 255.0, float(train_images.std()) / 255.0

    def shaped(images: np.ndarray) -> np.ndarray:
        scaled = (images.astype(np.float32) / 255.0 - mean) / std
        if not config.arch.takes_images:
            return scaled.reshape(len(images), -1)
        if config.framework == "torch":
            return scaled[:, None, :, :]  # channels first: (n, 1, 28, 28)
        return scaled[..., None]  # channels last: (n, 28, 28, 1)

    return Arrays(
        shaped(train_images),
        np.array(train_labels, dtype=np.int64),
        shaped(test_images),
        np.array(test_labels, dtype=np.int64),
    )


def epoch_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    """Return the order in which epoch ``epoch`` visits ``n`` examples; the same on every run."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def epoch_seed(seed: int, epoch: int) -> int:
    """Return the seed of an epoch's dropout stream."""
    return int(np.random.default_rng([seed, epoch, 1]).integers(2**31 - 1))


# --- several processes -----------------------------------------------------------------------


@dataclass(frozen=True)
class Distributed:
    """Where this process stands in a ``torchrun`` job: its rank among ``world_size``."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0

    @classmethod
    def from_env(cls) -> Distributed:
        """Return the layout torchrun describes in WORLD_SIZE, RANK and LOCAL_RANK."""
        try:
            return cls(
                int(os.environ.get("WORLD_SIZE", "1")),
                int(os.environ.get("RANK", "0")),
                int(os.environ.get("LOCAL_RANK", "0")),
            )
        except ValueError as err:
            raise ValueError(
                f"torchrun's WORLD_SIZE/RANK/LOCAL_RANK are not numbers: {err}"
            ) from err

    @property
    def is_main(self) -> bool:
        """True for the one process that writes checkpoints, results and logs."""
        return self.rank == 0


# --- framework back ends ---------------------------------------------------------------------


class KerasTrainer:
    """Builds, trains and saves a Keras model."""

    weights_name = "model.keras"
    checkpoint_name = "checkpoint.keras"

    def __init__(self, config: TrainConfig, device: str, dist: Distributed = Distributed()) -> None:
        import keras

        if dist.world_size > 1:
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
            return opt.SGD(learning_rate=spec.learning_rate, momentum=spec.momentum)
        if spec.name == "adam":
            return opt.Adam(learning_rate=spec.learning_rate, epsilon=spec.epsilon)
        return opt.Adadelta(learning_rate=spec.learning_rate, rho=spec.rho, epsilon=spec.epsilon)

    def _reseed_dropout(self, seed: int) -> None:
        """Point every layer's random stream at ``seed``; Keras does not save these states."""
        for index, layer in enumerate(self.model.layers):
            for value in vars(layer).values():
                if isinstance(value, self.keras.random.SeedGenerator):
                    start = np.array([seed + index, 0]).astype(value.state.dtype)
                    value.state.assign(start)

    def train_epoch(
        self, arrays: Arrays, epoch: int, stop: StopFlag, bar
    ) -> tuple[float, float] | None:
        order = epoch_permutation(self.config.seed, epoch, len(arrays.x_train))
        self._reseed_dropout(epoch_seed(self.config.seed, epoch))
        self.model.optimizer.learning_rate.assign(self.config.optimizer.rate_at(epoch))
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
        return float(history.history["loss"][-1]), float(history.history["accuracy"][-1])

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        with self._scope():
            scores = self.model.evaluate(x, y, batch_size=1000, verbose=0, return_dict=True)
        return float(scores["loss"]), float(scores["accuracy"])

    def save(self, path: Path) -> None:
        # Keras insists on the suffix, so the temporary file keeps it.
        tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
        self.model.save(tmp)
        os.replace(tmp, path)

    def load(self, path: Path) -> None:
        with self._scope():
            self.model = self.keras.saving.load_model(path)

    def barrier(self) -> None:
        """Nothing to wait for: a Keras run is one process."""

    def rank_digests(self) -> list[str]:
        """Return the weights' digest of the one process."""
        return [self.weights_digest()]

    def weights_digest(self) -> str:
        """Return a SHA-256 of the model's weights."""
        digest = hashlib.sha256()
        for weight in self.model.weights:
            digest.update(np.asarray(weight.numpy()).tobytes())
        return digest.hexdigest()


class TorchTrainer:
    """Builds, trains and saves a PyTorch model."""

    weights_name = "model.pt"
    checkpoint_name = "checkpoint.pt"

    def __init__(self, config: TrainConfig, device: str, dist: Distributed = Distributed()) -> None:
        import torch

        self.torch = torch
        self.config = config
        self.dist = dist
        if dist.world_size > 1 and config.batch_size % dist.world_size:
            raise ValueError(
                f"batch size {config.batch_size} does not split evenly over "
                f"{dist.world_size} processes"
            )
        self.device = torch.device(f"cuda:{dist.local_rank}" if device == "cuda" else "cpu")
        torch.manual_seed(config.seed)
        # The bare network, saved and loaded; ``model`` may wrap it for several processes.
        self.net = models.torch_model(config.arch).to(self.device)
        self.model = self.net
        if dist.world_size > 1:
            import torch.distributed
            from torch.nn.parallel import DistributedDataParallel

            if not torch.distributed.is_initialized():
                # NCCL moves gradients between GPUs; gloo between CPU processes.
                backend = "nccl" if device == "cuda" else "gloo"
                torch.distributed.init_process_group(backend)
            ids = [dist.local_rank] if device == "cuda" else None
            self.model = DistributedDataParallel(self.net, device_ids=ids)
        self.optimizer = self._optimizer(config.optimizer)
        self._tensors: dict[int, object] = {}

    def _all_sum(self, *values: float) -> list[float]:
        """Return the values summed over all processes (themselves in a single process)."""
        if self.dist.world_size == 1:
            return list(values)
        tensor = self.torch.tensor(values, dtype=self.torch.float64, device=self.device)
        self.torch.distributed.all_reduce(tensor)
        return tensor.tolist()

    def barrier(self) -> None:
        """Wait until every process gets here (no-op in a single process)."""
        if self.dist.world_size > 1:
            self.torch.distributed.barrier()

    def weights_digest(self) -> str:
        """Return a SHA-256 of the network's weights."""
        digest = hashlib.sha256()
        for tensor in self.net.state_dict().values():
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()

    def rank_digests(self) -> list[str]:
        """Return every process's weights digest, in rank order: equal when in step."""
        mine = self.weights_digest()
        if self.dist.world_size == 1:
            return [mine]
        torch = self.torch
        local = torch.tensor(list(bytes.fromhex(mine)), dtype=torch.uint8, device=self.device)
        gathered = [torch.empty_like(local) for _ in range(self.dist.world_size)]
        torch.distributed.all_gather(gathered, local)
        return [bytes(t.cpu().tolist()).hex() for t in gathered]

    def _optimizer(self, spec: OptimizerSpec):
        optim, params = self.torch.optim, self.model.parameters()
        if spec.name == "sgd":
            return optim.SGD(params, lr=spec.learning_rate, momentum=spec.momentum)
        if spec.name == "adam":
            return optim.Adam(params, lr=spec.learning_rate, eps=spec.epsilon)
        return optim.Adadelta(params, lr=spec.learning_rate, rho=spec.rho, eps=spec.epsilon)

    def _on_device(self, array: np.ndarray):
        """Return the array as a tensor on the training device, converted once per run."""
        if id(array) not in self._tensors:
            self._tensors[id(array)] = self.torch.from_numpy(array).to(self.device)
        return self._tensors[id(array)]

    def train_epoch(
        self, arrays: Arrays, epoch: int, stop: StopFlag, bar
    ) -> tuple[float, float] | None:
        torch = self.torch
        functional = torch.nn.functional
        x, y = self._on_device(arrays.x_train), self._on_device(arrays.y_train)
        world, rank = self.dist.world_size, self.dist.rank
        order = epoch_permutation(self.config.seed, epoch, len(x))
        # Process r takes every world-th example from r on: the processes' batches together
        # are exactly the batches one process would take, so the result barely depends on world.
        order = order[: len(order) // world * world][rank::world]
        order = torch.from_numpy(order).to(self.device)
        batch_size = self.config.batch_size // world
        torch.manual_seed(epoch_seed(self.config.seed, epoch) + rank)
        for group in self.optimizer.param_groups:
            group["lr"] = self.config.optimizer.rate_at(epoch)
        self.model.train()
        total_loss, correct, seen = 0.0, 0, 0
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            inputs, targets = x[batch], y[batch]
            self.optimizer.zero_grad(set_to_none=True)
            logits = self.model(inputs)
            loss = functional.cross_entropy(logits, targets)
            loss.backward()
            self.optimizer.step()
            total_loss += float(loss.detach()) * len(batch)
            correct += int((logits.argmax(dim=1) == targets).sum())
            seen += len(batch)
            bar.update(1)
            # Every process stops at the same batch if any of them was signalled.
            if self._all_sum(1.0 if stop else 0.0)[0]:
                return None
        total_loss, correct, seen = self._all_sum(total_loss, correct, seen)
        return total_loss / seen, correct / seen

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        torch = self.torch
        inputs, targets = self._on_device(x), self._on_device(y)
        self.net.eval()
        total_loss, correct = 0.0, 0
        with torch.no_grad():
            for start in range(0, len(inputs), 1000):
                logits = self.net(inputs[start : start + 1000])
                batch_targets = targets[start : start + 1000]
                total_loss += float(
                    torch.nn.functional.cross_entropy(logits, batch_targets, reduction="sum")
                )
                correct += int((logits.argmax(dim=1) == batch_targets).sum())
        return total_loss / len(inputs), correct / len(inputs)

    def save(self, path: Path) -> None:
        state = {"model": self.net.state_dict(), "optimizer": self.optimizer.state_dict()}
        tmp = path.with_name(f".{path.name}.tmp")
        self.torch.save(state, tmp)
        os.replace(tmp, path)

    def load(self, path: Path) -> None:
        # weights_only: a checkpoint is data, never code to run.
        state = self.torch.load(path, map_location=self.device, weights_only=True)
        self.net.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])


def _trainer(config: TrainConfig, device: str, dist: Distributed = Distributed()):
    return (KerasTrainer if config.framework == "keras" else TorchTrainer)(config, device, dist)


# --- the run ----------------------------------------------------------------------------------


def _read_checkpoint(run_dir: Path, key: str, trainer) -> tuple[int, list[dict]]:
    """Load the checkpoint into ``trainer``; return the epochs done and their history."""
    state_path = run_dir / CHECKPOINT_STATE
    if not state_path.exists():
        return 0, []
    try:
        state = json.loads(state_path.read_text())
        weights = run_dir / state["weights"]
        epoch, history = int(state["epoch"]), list(state["history"])
    except (ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"{state_path} is unreadable ({err})") from err
    if state.get("key") != key:
        raise CheckpointError(
            f"{run_dir} holds a checkpoint of another configuration; choose another directory"
        )
    if not weights.exists() or _sha256_file(weights) != state.get("sha256"):
        raise CheckpointError(f"{weights} does not match its recorded SHA-256: it is damaged")
    try:
        trainer.load(weights)
    except Exception as err:  # noqa: BLE001 - any failure to load means the file is unusable
        raise CheckpointError(
            f"{weights} could not be loaded ({type(err).__name__}: {err})"
        ) from err
    return epoch, history


def _write_checkpoint(run_dir: Path, key: str, trainer, epoch: int, history: list[dict]) -> None:
    weights = run_dir / trainer.checkpoint_name
    trainer.save(weights)
    state = {"key": key, "epoch": epoch, "history": history, "weights": weights.name}
    state["sha256"] = _sha256_file(weights)
    atomic_write(run_dir / CHECKPOINT_STATE, json.dumps(state, indent=1).encode())


def train(
    config: TrainConfig,
    run_dir: str | os.PathLike[str],
    *,
    name: str = "run",
    device: str = "auto",
    profile: Profile | None = None,
    mnist: data.MNIST | None = None,
    log: Callable[[str], None] = print,
    progress: bool | None = None,
) -> RunResult:
    """Train ``config`` in ``run_dir`` (resuming or reusing what is there); return the result.

    ``progress=None`` shows a progress bar only on a terminal. Raises TrainingInterrupted on
    SIGUSR1/SIGTERM, DeviceError if the device is unavailable, CheckpointError if ``run_dir``
    holds another configuration's run. Under ``torchrun`` every process trains its share of
    each batch and only the first writes files and logs.
    """
    profile = profile or current_profile()
    config = effective_config(config, profile)
    dist = Distributed.from_env()
    run_dir = Path(run_dir)
    key = run_key(config, profile, dist.world_size)
    done = load_result(run_dir, key)
    if done is not None:
        log(f"{name}: cached result from {run_dir}")
        return done

    say = log if dist.is_main else (lambda line: None)
    device = hardware.resolve_device(device, config.framework)
    if not profile.is_full:
        say(f"{name}: {profile.describe()}")
    arrays = prepare_data(config, profile, mnist)
    trainer = _trainer(config, device, dist)
    try:
        start_epoch, history = _read_checkpoint(run_dir, key, trainer)
    except CheckpointError as err:
        if "another configuration" in str(err):
            raise
        say(f"{name}: refusing the checkpoint: {err}; training again from epoch 1")
        trainer.barrier()
        if dist.is_main:
            for stale in (CHECKPOINT_STATE, trainer.checkpoint_name):
                (run_dir / stale).unlink(missing_ok=True)
        trainer = _trainer(config, device, dist)
        start_epoch, history = 0, []
    if start_epoch:
        say(f"{name}: resuming after epoch {start_epoch} of {config.epochs}")
    if dist.world_size > 1:
        say(f"{name}: {dist.world_size} processes share each batch of {config.batch_size}")

    batches = math.ceil(len(arrays.x_train) / config.batch_size)
    stop = StopFlag()
    run_dir.mkdir(parents=True, exist_ok=True)
    log_handle = (
        open(run_dir / "train.log", "a", encoding="utf-8")  # noqa: SIM115 - closed below
        if dist.is_main
        else contextlib.nullcontext()
    )
    with stop.installed(), log_handle:
        for epoch in range(start_epoch, config.epochs):
            began = time.perf_counter()
            with tqdm(
                total=batches,
                desc=f"{name} epoch {epoch + 1}/{config.epochs}",
                unit="batch",
                disable=(not progress or not dist.is_main) if progress is not None else None,
                file=sys.stderr,
                leave=False,
            ) as bar:
                trained = trainer.train_epoch(arrays, epoch, stop, bar)
            if trained is None:
                say(f"{name}: stopped by signal {stop.signal} in epoch {epoch + 1}")
                raise TrainingInterrupted(
                    f"stopped by signal {stop.signal}; "
                    f"{epoch} epoch(s) are checkpointed in {run_dir}"
                )
            loss, accuracy = trained
            val_loss, val_accuracy = trainer.evaluate(arrays.x_test, arrays.y_test)
            seconds = time.perf_counter() - began
            history.append(
                {
                    "epoch": epoch + 1,
                    "loss": loss,
                    "accuracy": accuracy,
                    "val_loss": val_loss,
                    "val_accuracy": val_accuracy,
                    "seconds": seconds,
                    "images_per_second": len(arrays.x_train) / seconds,
                }
            )
            line = (
                f"{name} epoch {epoch + 1}/{config.epochs}: loss {loss:.4f} acc {accuracy:.2%} | "
                f"test loss {val_loss:.4f} acc {val_accuracy:.2%} | {seconds:.1f} s, "
                f"{len(arrays.x_train) / seconds:,.0f} img/s"
            )
            gpu = hardware.nvidia_smi() if device == "cuda" and dist.is_main else None
            if gpu:
                line += f" | GPU {gpu}"
            say(line)
            if dist.is_main:
                log_handle.write(line + "\n")
                log_handle.flush()
                _write_checkpoint(run_dir, key, trainer, epoch + 1, history)
            trainer.barrier()

    weights = run_dir / trainer.weights_name
    digests = trainer.rank_digests()
    if dist.is_main:
        trainer.save(weights)
    trainer.barrier()
    provenance = hardware.provenance(device, config.framework)
    provenance["weights_sha256"] = _sha256_file(weights)
    provenance["world_size"] = dist.world_size
    provenance["rank_weight_digests"] = digests
    result = RunResult(
        name=name,
        key=key,
        config=config.to_dict(),
        profile=profile.name,
        profile_description=profile.describe(),
        history=history,
        test_accuracy=history[-1]["val_accuracy"],
        test_loss=history[-1]["val_loss"],
        wall_time=sum(epoch["seconds"] for epoch in history),
        provenance=provenance,
        run_dir=str(run_dir),
        weights=weights.name,
    )
    if dist.is_main:
        atomic_write(run_dir / RESULT_FILE, result.to_json().encode())
        for finished in (CHECKPOINT_STATE, trainer.checkpoint_name):
            (run_dir / finished).unlink(missing_ok=True)
    trainer.barrier()
    return result


def load_model(result: RunResult):
    """Return the trained model of a result: a Keras model, or a PyTorch module in eval mode."""
    config = TrainConfig.from_dict(result.config)
    weights = Path(result.run_dir) / result.weights
    if config.framework == "keras":
        import keras

        return keras.saving.load_model(weights)
    import torch

    module = models.torch_model(config.arch)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    module.load_state_dict(state["model"])
    return module.eval()
