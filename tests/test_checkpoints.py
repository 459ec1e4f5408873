"""Tests of dlcourse.checkpoints: resuming after a stop, damaged and foreign run directories."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest
from tinyruns import SMOKE_3, metrics, small_config

from dlcourse import checkpoints, config, experiments, profiles, signals, train


def _interrupt_after_first_epoch(lines: list[str]):
    """A log that sends this process SIGUSR1 once the first epoch is reported."""

    def log(line: str) -> None:
        lines.append(line)
        if "epoch 1/" in line:
            os.kill(os.getpid(), signal.SIGUSR1)

    return log


@pytest.mark.parametrize("framework", config.FRAMEWORKS)
def test_signal_checkpoints_and_resume_matches_uninterrupted(
    tmp_path, framework
):
    run = small_config(framework)
    reference = train.train(
        run, tmp_path / "ref", profile=SMOKE_3, log=print, progress=False
    )

    lines: list[str] = []
    with pytest.raises(signals.TrainingInterrupted, match="1 epoch"):
        train.train(
            run,
            tmp_path / "run",
            profile=SMOKE_3,
            log=_interrupt_after_first_epoch(lines),
            progress=False,
        )
    state = json.loads(
        (tmp_path / "run" / checkpoints.CHECKPOINT_STATE).read_text()
    )
    assert (
        state["epoch"] == 1
        and not (tmp_path / "run" / checkpoints.RESULT_FILE).exists()
    )

    lines.clear()
    resumed = train.train(
        run, tmp_path / "run", profile=SMOKE_3, log=lines.append
    )
    assert any("resuming after epoch 1 of 3" in line for line in lines)
    assert metrics(resumed) == pytest.approx(metrics(reference), abs=1e-6)


@pytest.mark.parametrize("damage", ["weights", "state"])
def test_damaged_checkpoint_is_refused_and_training_restarts(tmp_path, damage):
    run = small_config("torch")
    reference = train.train(run, tmp_path / "ref", profile=SMOKE_3, log=print)
    run_dir = tmp_path / "run"
    with pytest.raises(signals.TrainingInterrupted):
        train.train(
            run, run_dir, profile=SMOKE_3, log=_interrupt_after_first_epoch([])
        )
    if damage == "weights":
        weights = run_dir / "checkpoint.pt"
        weights.write_bytes(weights.read_bytes()[:100])
    else:
        (run_dir / checkpoints.CHECKPOINT_STATE).write_text("{not json")
    lines: list[str] = []
    result = train.train(run, run_dir, profile=SMOKE_3, log=lines.append)
    refusal = [line for line in lines if "refusing the checkpoint" in line]
    assert refusal and "training again from epoch 1" in refusal[0]
    assert not any("resuming" in line for line in lines)
    assert metrics(result) == pytest.approx(metrics(reference), abs=1e-6)


def test_run_directory_of_another_configuration_is_refused(tmp_path):
    train.train(
        small_config("torch"), tmp_path / "run", profile=SMOKE_3, log=print
    )
    other = replace(small_config("torch"), seed=8)
    with pytest.raises(
        checkpoints.OtherConfigurationError, match="another configuration"
    ):
        train.train(other, tmp_path / "run", profile=SMOKE_3, log=print)


def test_checkpoint_of_another_configuration_is_kept_and_refused(tmp_path):
    run_dir = tmp_path / "run"
    with pytest.raises(signals.TrainingInterrupted):
        train.train(
            small_config("torch"),
            run_dir,
            profile=SMOKE_3,
            log=_interrupt_after_first_epoch([]),
        )
    state = (run_dir / checkpoints.CHECKPOINT_STATE).read_bytes()
    other = replace(small_config("torch"), seed=8)
    with pytest.raises(checkpoints.OtherConfigurationError):
        train.train(other, run_dir, profile=SMOKE_3, log=print)
    assert (run_dir / checkpoints.CHECKPOINT_STATE).read_bytes() == state


def test_damaged_result_weights_are_detected(tmp_path):
    result = train.train(
        small_config("torch"), tmp_path / "run", profile=SMOKE_3, log=print
    )
    (tmp_path / "run" / result.weights).write_bytes(b"garbage")
    with pytest.raises(
        checkpoints.DamagedCheckpointError, match="does not match its SHA-256"
    ):
        train.load_result(tmp_path / "run", result.key)
    with pytest.raises(checkpoints.CheckpointError):
        checkpoints.read_result(tmp_path / "run")


def test_unreadable_result_is_a_damaged_checkpoint(tmp_path):
    (tmp_path / checkpoints.RESULT_FILE).write_text("[1, 2")
    with pytest.raises(checkpoints.DamagedCheckpointError, match="unreadable"):
        checkpoints.read_result(tmp_path)


@pytest.mark.slow
def test_sigkill_mid_run_then_restart_matches_uninterrupted(tmp_path):
    """A training process killed outright resumes from its last epoch in a new process."""
    command = [
        sys.executable,
        "-m",
        "dlcourse",
        "train",
        "pytorch_example",
        "--epochs",
        "6",
    ]
    env = {
        **os.environ,
        profiles.ENV_VAR: "smoke",
        experiments.CACHE_ENV_VAR: str(tmp_path),
    }
    reference = subprocess.run(
        [*command, "--out", str(tmp_path / "ref")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert reference.returncode == 0, reference.stderr

    run_dir = tmp_path / "run"
    victim = subprocess.Popen([*command, "--out", str(run_dir)], env=env)
    state = run_dir / checkpoints.CHECKPOINT_STATE
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if state.exists() and json.loads(state.read_text())["epoch"] >= 2:
            break
        time.sleep(0.02)
    victim.kill()
    victim.wait()
    assert not (run_dir / checkpoints.RESULT_FILE).exists(), (
        "the run ended before the kill"
    )

    restart = subprocess.run(
        [*command, "--out", str(run_dir)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert restart.returncode == 0, restart.stderr
    assert "resuming after epoch" in restart.stdout
    expected = json.loads(
        (tmp_path / "ref" / checkpoints.RESULT_FILE).read_text()
    )
    got = json.loads((run_dir / checkpoints.RESULT_FILE).read_text())
    assert got["test_accuracy"] == expected["test_accuracy"]
    assert got["test_loss"] == pytest.approx(expected["test_loss"], abs=1e-9)
