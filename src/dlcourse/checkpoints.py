"""A run directory's files: the checkpoint after each epoch, and the finished result.

A checkpoint is the framework's weights file plus ``checkpoint.json``, which records the key of
the run, the epochs done, their history and the weights' SHA-256. A finished run leaves
``result.json`` and its weights in place of the checkpoint. Every file is written atomically,
and each is checked before it is believed.
"""

from __future__ import annotations

import json
from pathlib import Path

from dlcourse.config import RunResult
from dlcourse.files import atomic_write, sha256_file
from dlcourse.trainers import Trainer

RESULT_FILE = "result.json"
CHECKPOINT_STATE = "checkpoint.json"


class CheckpointError(Exception):
    """A checkpoint or result in a run directory cannot be used."""


class OtherConfigurationError(CheckpointError):
    """The run directory holds a run of another configuration: a mistake, never overwritten."""


class DamagedCheckpointError(CheckpointError):
    """A checkpoint or result is unreadable, or its weights do not match their SHA-256."""


def read_checkpoint(run_dir: Path, key: str, trainer: Trainer) -> tuple[int, list[dict]]:
    """Load the checkpoint into ``trainer``; return the epochs done and their history.

    Returns (0, []) if there is no checkpoint. Raises OtherConfigurationError or
    DamagedCheckpointError.
    """
    state_path = run_dir / CHECKPOINT_STATE
    if not state_path.exists():
        return 0, []
    try:
        state = json.loads(state_path.read_text())
        weights = run_dir / state["weights"]
        epoch, history = int(state["epoch"]), list(state["history"])
    except (ValueError, KeyError, TypeError) as err:
        raise DamagedCheckpointError(f"{state_path} is unreadable ({err})") from err
    if state.get("key") != key:
        raise OtherConfigurationError(
            f"{run_dir} holds a checkpoint of another configuration; choose another directory"
        )
    if not weights.exists() or sha256_file(weights) != state.get("sha256"):
        raise DamagedCheckpointError(
            f"{weights} does not match its recorded SHA-256: it is damaged"
        )
    try:
        trainer.load(weights)
    except Exception as err:  # noqa: BLE001 - any failure to load means the file is unusable
        raise DamagedCheckpointError(
            f"{weights} could not be loaded ({type(err).__name__}: {err})"
        ) from err
    return epoch, history


def write_checkpoint(
    run_dir: Path, key: str, trainer: Trainer, epoch: int, history: list[dict]
) -> None:
    """Save the trainer's state after ``epoch`` epochs, then the state file that vouches for it."""
    weights = run_dir / trainer.checkpoint_name
    trainer.save(weights)
    state = {"key": key, "epoch": epoch, "history": history, "weights": weights.name}
    state["sha256"] = sha256_file(weights)
    atomic_write(run_dir / CHECKPOINT_STATE, json.dumps(state, indent=1).encode())


def remove_checkpoint(run_dir: Path, trainer: Trainer) -> None:
    """Delete the checkpoint's files, if there are any."""
    for name in (CHECKPOINT_STATE, trainer.checkpoint_name):
        (run_dir / name).unlink(missing_ok=True)


def write_result(run_dir: Path, result: RunResult) -> None:
    """Save a finished run's ``result.json``; its weights must already be in ``run_dir``."""
    atomic_write(run_dir / RESULT_FILE, result.to_json().encode())


def read_result(run_dir: Path, key: str | None = None) -> RunResult | None:
    """Return the result saved in ``run_dir``, or None if there is none.

    Raises DamagedCheckpointError if the result is unreadable or its weights are damaged, and
    OtherConfigurationError if it belongs to a different configuration than ``key``.
    """
    path = run_dir / RESULT_FILE
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text())
        result = RunResult(**raw)
    except (ValueError, TypeError) as err:
        raise DamagedCheckpointError(f"{path} is not a valid result ({err})") from err
    if key is not None and result.key != key:
        raise OtherConfigurationError(
            f"{run_dir} holds a run of another configuration (key {result.key[:12]}, "
            f"wanted {key[:12]}); choose another output directory"
        )
    weights = run_dir / result.weights
    if not weights.exists() or sha256_file(weights) != result.provenance.get("weights_sha256"):
        raise DamagedCheckpointError(
            f"{weights} is missing or damaged; delete {run_dir} and train again"
        )
    return result
