"""Train a model in Keras or PyTorch, one epoch at a time, with checkpoints and a result cache.

:func:`train` runs a :class:`~dlcourse.config.TrainConfig` in a run directory. After every
epoch it writes a checkpoint (:mod:`dlcourse.checkpoints`), so a run that is killed and started
again resumes from the last finished epoch and ends with the same numbers as one that never
stopped: each epoch's shuffling and dropout are drawn from random streams seeded by
(seed, epoch), not by what ran before (:mod:`dlcourse.inputs`). A finished run leaves
``result.json`` and the weights; asking for it again returns that result without training. On
SIGUSR1 or SIGTERM the run stops at the next batch and raises
:class:`~dlcourse.signals.TrainingInterrupted`, its last checkpoint intact. One process at a
time holds a run directory (:mod:`dlcourse.runlock`); the files it leaves are sealed whole and
checked before they are believed (:mod:`dlcourse.checkpoints`).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

# Text bars everywhere: a notebook shows them on stderr, with no widget scripts to load.
from tqdm import tqdm

from dlcourse import (
    checkpoints,
    data,
    files,
    hardware,
    models,
    runlock,
    signals,
)
from dlcourse.config import RunResult, TrainConfig, effective_config
from dlcourse.files import sha256_file
from dlcourse.inputs import Arrays, prepare_data
from dlcourse.layout import ProcessLayout
from dlcourse.profiles import Profile, current_profile
from dlcourse.runkeys import run_key
from dlcourse.trainers import Trainer, make_trainer


def load_result(
    run_dir: str | os.PathLike[str], key: str | None = None
) -> RunResult | None:
    """Return the finished result in ``run_dir``, marked as cached, or None if there is none.

    Raises a CheckpointError if the result is unreadable, altered or inconsistent, its weights
    are damaged, or it belongs to a different configuration than ``key``.
    """
    result = checkpoints.read_result(Path(run_dir), key)
    if result is None:
        return None
    return replace(result, run_dir=str(run_dir), cached=True)


def _reusable_result(
    run_dir: Path, key: str, layout: ProcessLayout, say: Callable[[str], None]
) -> RunResult | None:
    """Return the finished run in ``run_dir`` if it can be believed; refuse a damaged one.

    A damaged result is removed (by the main process) so the run is trained again; one of
    another configuration is a mistake and raises OtherConfigurationError.
    """
    try:
        return load_result(run_dir, key)
    except checkpoints.DamagedCheckpointError as err:
        say(f"refusing the result: {err}; training again")
        if layout.is_main:
            checkpoints.remove_result(run_dir)
        return None


def _start(
    run_dir: Path,
    key: str,
    config: TrainConfig,
    device: str,
    layout: ProcessLayout,
    say: Callable[[str], None],
) -> tuple[Trainer, int, list[dict]]:
    """Return a trainer with the checkpoint loaded, the epochs done and their history.

    A damaged checkpoint is deleted and training starts again from epoch 1; one of another
    configuration is a mistake and raises OtherConfigurationError.
    """
    trainer = make_trainer(config, device, layout)
    if layout.is_main:
        for leftover in checkpoints.remove_leftovers(run_dir, trainer):
            say(
                f"removed {leftover.name}, left by a run that was killed while writing it"
            )
    try:
        start_epoch, history = checkpoints.read_checkpoint(
            run_dir, key, config, trainer
        )
    except checkpoints.DamagedCheckpointError as err:
        say(f"refusing the checkpoint: {err}; training again from epoch 1")
        trainer.barrier()
        if layout.is_main:
            checkpoints.remove_checkpoint(run_dir, trainer)
        return make_trainer(config, device, layout), 0, []
    return trainer, start_epoch, history


def _epoch_record(
    epoch: int,
    trained: tuple[float, float],
    tested: tuple[float, float],
    seconds: float,
    n: int,
) -> dict:
    """Return one epoch's line of the history."""
    (loss, accuracy), (val_loss, val_accuracy) = trained, tested
    return {
        "epoch": epoch,
        "loss": loss,
        "accuracy": accuracy,
        "val_loss": val_loss,
        "val_accuracy": val_accuracy,
        "seconds": seconds,
        "images_per_second": n / seconds,
    }


def _log_line(name: str, epochs: int, record: dict) -> str:
    """Return an epoch's log line: its losses, accuracies and speed."""
    return (
        f"{name} epoch {record['epoch']}/{epochs}: loss {record['loss']:.4f} "
        f"acc {record['accuracy']:.2%} | test loss {record['val_loss']:.4f} "
        f"acc {record['val_accuracy']:.2%} | {record['seconds']:.1f} s, "
        f"{record['images_per_second']:,.0f} img/s"
    )


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
    SIGUSR1/SIGTERM, DeviceError if the device is unavailable, StorageError if ``run_dir``
    cannot be written, OtherConfigurationError if ``run_dir`` holds another configuration's
    run. One process at a time trains in ``run_dir``; a second waits for it. Under
    ``torchrun`` every process trains its share of each batch and only the first writes files
    and logs.
    """
    profile = profile or current_profile()
    config = effective_config(config, profile)
    layout = ProcessLayout.from_env()
    run_dir = Path(run_dir)
    say = log if layout.is_main else (lambda line: None)
    with signals.stop_flag() as stop:
        # The device is checked before the cache: a CPU result is no answer to a CUDA request.
        device = hardware.resolve_device(device, config.framework)
        key = run_key(config, profile, device, layout.world_size)
        if layout.is_main:
            files.require_writable_dir(run_dir, "the run directory")
        lock = (
            runlock.held(run_dir, stop, say)
            if layout.is_main
            else contextlib.nullcontext()
        )
        with lock:
            done = _reusable_result(run_dir, key, layout, say)
            if done is not None:
                say(f"{name}: cached result from {run_dir}")
                return done
            signals.raise_if_stopped(stop, "nothing was trained yet")
            if not profile.is_full:
                say(f"{name}: {profile.describe()}")
            arrays = prepare_data(config, profile, mnist)
            signals.raise_if_stopped(stop, "nothing was trained yet")
            return _train_in(
                run_dir,
                key,
                config,
                arrays,
                stop,
                name=name,
                device=device,
                profile=profile,
                layout=layout,
                say=say,
                progress=progress,
            )


def _train_in(
    run_dir: Path,
    key: str,
    config: TrainConfig,
    arrays: Arrays,
    stop: signals.StopFlag,
    *,
    name: str,
    device: str,
    profile: Profile,
    layout: ProcessLayout,
    say: Callable[[str], None],
    progress: bool | None,
) -> RunResult:
    """Train from the checkpoint in ``run_dir`` (if any) to the end; return the result."""
    trainer, start_epoch, history = _start(
        run_dir,
        key,
        config,
        device,
        layout,
        lambda line: say(f"{name}: {line}"),
    )
    if start_epoch:
        say(f"{name}: resuming after epoch {start_epoch} of {config.epochs}")
    if layout.world_size > 1:
        say(
            f"{name}: {layout.world_size} processes share each batch of {config.batch_size}"
        )
    log_file = (
        # Closed below.
        open(run_dir / "train.log", "a", encoding="utf-8")
        if layout.is_main
        else contextlib.nullcontext()
    )
    with log_file:
        for epoch in range(start_epoch, config.epochs):
            if stop:
                say(
                    f"{name}: stopped by signal {stop.signal} before epoch {epoch + 1}"
                )
                signals.raise_if_stopped(
                    stop, f"{epoch} epoch(s) are checkpointed in {run_dir}"
                )
            began = time.perf_counter()
            with tqdm(
                total=-(-len(arrays.x_train) // config.batch_size),
                desc=f"{name} epoch {epoch + 1}/{config.epochs}",
                unit="batch",
                disable=(not progress or not layout.is_main)
                if progress is not None
                else None,
                file=sys.stderr,
                leave=False,
            ) as bar:
                trained = trainer.train_epoch(arrays, epoch, stop, bar)
            if trained is None:
                say(
                    f"{name}: stopped by signal {stop.signal} in epoch {epoch + 1}"
                )
                signals.raise_if_stopped(
                    stop, f"{epoch} epoch(s) are checkpointed in {run_dir}"
                )
            tested = trainer.evaluate(arrays.x_test, arrays.y_test)
            seconds = time.perf_counter() - began
            record = _epoch_record(
                epoch + 1, trained, tested, seconds, len(arrays.x_train)
            )
            history.append(record)
            line = _log_line(name, config.epochs, record)
            gpu = (
                hardware.nvidia_smi()
                if device == "cuda" and layout.is_main
                else None
            )
            if gpu:
                line += f" | GPU {gpu}"
            say(line)
            if layout.is_main:
                log_file.write(line + "\n")
                log_file.flush()
                checkpoints.write_checkpoint(
                    run_dir, key, trainer, epoch + 1, history
                )
            trainer.barrier()
    signals.raise_if_stopped(
        stop, f"all {config.epochs} epochs are checkpointed in {run_dir}"
    )

    weights = run_dir / trainer.weights_name
    digests = trainer.rank_digests()
    if layout.is_main:
        trainer.save(weights)
    trainer.barrier()
    provenance = hardware.provenance(device, config.framework)
    provenance["weights_sha256"] = sha256_file(weights)
    provenance["world_size"] = layout.world_size
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
    if layout.is_main:
        checkpoints.write_result(run_dir, result)
        checkpoints.remove_checkpoint(run_dir, trainer)
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
