"""A run directory's files: the checkpoint after each epoch, and the finished result.

A checkpoint is the framework's weights file plus ``checkpoint.json``, which records the key of
the run, the epochs done, their history and the weights' SHA-256. A finished run leaves
``result.json`` and its weights in place of the checkpoint. Every file is written atomically,
and each state file is sealed whole (:mod:`dlcourse.seals`): a file is believed only if its seal
holds, its parts agree with each other, and the weights match their SHA-256.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from dlcourse import seals
from dlcourse.config import RunResult, TrainConfig
from dlcourse.files import atomic_write, sha256_file
from dlcourse.trainers import WEIGHTS_NAMES, Trainer

RESULT_FILE = "result.json"
CHECKPOINT_STATE = "checkpoint.json"
# The figures every epoch of a history holds, besides its number.
EPOCH_FIELDS = (
    "loss",
    "accuracy",
    "val_loss",
    "val_accuracy",
    "seconds",
    "images_per_second",
)


class CheckpointError(Exception):
    """A checkpoint or result in a run directory cannot be used."""


class OtherConfigurationError(CheckpointError):
    """The run directory holds a run of another configuration: a mistake, never overwritten."""


class DamagedCheckpointError(CheckpointError):
    """A checkpoint or result is unreadable, altered, or inconsistent: it is not believed."""


def _read_record(path: Path) -> dict:
    """Return the JSON object in ``path`` if its seal holds; raise DamagedCheckpointError if not."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, ValueError) as err:
        raise DamagedCheckpointError(f"{path} is unreadable ({err})") from err
    if not isinstance(record, dict) or not seals.is_sealed(record):
        raise DamagedCheckpointError(
            f"{path} was altered after it was written (its seal fails)"
        )
    return record


def _check_history(history: object, epochs: int, where: Path) -> list[dict]:
    """Return ``history`` if it is ``epochs`` numbered epochs of finite figures."""
    fine = (
        isinstance(history, list)
        and len(history) == epochs
        and all(
            isinstance(epoch, dict)
            and epoch.get("epoch") == number
            and all(
                isinstance(epoch.get(k), (int, float)) for k in EPOCH_FIELDS
            )
            for number, epoch in enumerate(history, start=1)
        )
    )
    if not fine:
        raise DamagedCheckpointError(
            f"{where}: its history does not hold {epochs} epoch(s)"
        )
    return history


def _check_weights(
    run_dir: Path, name: object, wanted: str, sha256: object
) -> Path:
    """Return the weights file ``run_dir/name`` if ``name`` is ``wanted`` and matches ``sha256``."""
    if name != wanted:
        raise DamagedCheckpointError(
            f"{run_dir}: its weights should be {wanted}, not {name!r}"
        )
    weights = run_dir / wanted
    if not weights.is_file() or sha256_file(weights) != sha256:
        raise DamagedCheckpointError(
            f"{weights} is missing or does not match its SHA-256"
        )
    return weights


def read_checkpoint(
    run_dir: Path, key: str, config: TrainConfig, trainer: Trainer
) -> tuple[int, list[dict]]:
    """Load the checkpoint into ``trainer``; return the epochs done and their history.

    Returns (0, []) if there is no checkpoint. Raises OtherConfigurationError or
    DamagedCheckpointError.
    """
    state_path = run_dir / CHECKPOINT_STATE
    if not state_path.exists():
        return 0, []
    state = _read_record(state_path)
    if state.get("key") != key:
        raise OtherConfigurationError(
            f"{run_dir} holds a checkpoint of another configuration, or of another version of "
            "the code or libraries; delete it or choose another directory"
        )
    epoch = state.get("epoch")
    if not isinstance(epoch, int) or not 1 <= epoch <= config.epochs:
        raise DamagedCheckpointError(
            f"{state_path}: {epoch!r} is not an epoch of this run"
        )
    history = _check_history(state.get("history"), epoch, state_path)
    weights = _check_weights(
        run_dir,
        state.get("weights"),
        trainer.checkpoint_name,
        state.get("sha256"),
    )
    try:
        trainer.load(weights)
    except Exception as err:
        # Any failure to load means the file is unusable.
        raise DamagedCheckpointError(
            f"{weights} could not be loaded ({type(err).__name__}: {err})"
        ) from err
    return epoch, history


def write_checkpoint(
    run_dir: Path, key: str, trainer: Trainer, epoch: int, history: list[dict]
) -> None:
    """Save the trainer's state after ``epoch`` epochs, then the state file that
    vouches for it.
    """
    weights = run_dir / trainer.checkpoint_name
    trainer.save(weights)
    state = {
        "key": key,
        "epoch": epoch,
        "history": history,
        "weights": weights.name,
    }
    state["sha256"] = sha256_file(weights)
    atomic_write(
        run_dir / CHECKPOINT_STATE,
        json.dumps(seals.sealed(state), indent=1).encode(),
    )


def remove_checkpoint(run_dir: Path, trainer: Trainer) -> None:
    """Delete the checkpoint's files, if there are any."""
    for name in (CHECKPOINT_STATE, trainer.checkpoint_name):
        (run_dir / name).unlink(missing_ok=True)


def remove_result(run_dir: Path) -> None:
    """Delete a finished run's state file, so that it is trained again."""
    (run_dir / RESULT_FILE).unlink(missing_ok=True)


def remove_leftovers(run_dir: Path, trainer: Trainer) -> list[Path]:
    """Delete temporary files that a killed writer left in ``run_dir``; return them.

    Only the one process that holds the run directory's lock may call this.
    """
    names = (
        RESULT_FILE,
        CHECKPOINT_STATE,
        trainer.checkpoint_name,
        trainer.weights_name,
    )
    found = []
    for name in names:
        stem, suffix = Path(name).stem, Path(name).suffix
        found += [p for p in run_dir.glob(f".{stem}.*{suffix}") if p.is_file()]
    for path in found:
        path.unlink(missing_ok=True)
    return found


def write_result(run_dir: Path, result: RunResult) -> None:
    """Save a finished run's ``result.json``; its weights must already be in ``run_dir``."""
    record = seals.sealed(json.loads(result.to_json()))
    atomic_write(
        run_dir / RESULT_FILE,
        json.dumps(record, indent=2, sort_keys=True).encode(),
    )


def _check_result(result: RunResult, path: Path) -> None:
    """Raise DamagedCheckpointError unless the result's parts agree with each other."""
    try:
        config = TrainConfig.from_dict(result.config)
    except (TypeError, ValueError, KeyError) as err:
        raise DamagedCheckpointError(
            f"{path}: its configuration is not valid ({err})"
        ) from err
    history = _check_history(result.history, config.epochs, path)
    last = history[-1]
    agree = (
        result.test_accuracy == last["val_accuracy"]
        and result.test_loss == last["val_loss"]
        and math.isclose(
            result.wall_time, sum(epoch["seconds"] for epoch in history)
        )
    )
    if not agree:
        raise DamagedCheckpointError(
            f"{path}: its final metrics are not its last epoch's"
        )


def read_result(run_dir: Path, key: str | None = None) -> RunResult | None:
    """Return the result saved in ``run_dir``, or None if there is none.

    Raises DamagedCheckpointError if the result is unreadable, altered, inconsistent, or its
    weights are damaged, and OtherConfigurationError if it belongs to a configuration other
    than ``key``.
    """
    path = run_dir / RESULT_FILE
    if not path.exists():
        return None
    record = _read_record(path)
    record.pop(seals.SEAL_FIELD)
    try:
        result = RunResult(**record)
    except TypeError as err:
        raise DamagedCheckpointError(
            f"{path} is not a valid result ({err})"
        ) from err
    if key is not None and result.key != key:
        raise OtherConfigurationError(
            f"{run_dir} holds a run of another configuration, or of another version of the "
            f"code or libraries (key {str(result.key)[:12]}, wanted {key[:12]}); delete it or "
            "choose another directory"
        )
    _check_result(result, path)
    framework = (
        result.config.get("framework")
        if isinstance(result.config, dict)
        else None
    )
    wanted = WEIGHTS_NAMES.get(framework, "")
    _check_weights(
        run_dir, result.weights, wanted, result.provenance.get("weights_sha256")
    )
    return result
