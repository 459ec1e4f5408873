"""Tests of dlcourse.train: end-to-end runs, the cache, resuming, damaged checkpoints."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dlcourse import experiments, hardware, profiles, train
from dlcourse.models import Architecture

SMOKE = profiles.PROFILES["smoke"]
# Three epochs on the smoke subset: long enough to interrupt, short enough for a test.
SMOKE_3 = replace(SMOKE, max_epochs=None)


def _config(framework: str, kind: str = "mlp", epochs: int = 3) -> train.TrainConfig:
    return train.TrainConfig(
        Architecture(kind, "relu", dropout=0.25),
        framework,
        train.OptimizerSpec("adam", learning_rate=0.003),
        batch_size=100,
        epochs=epochs,
        seed=7,
    )


def _metrics(result: train.RunResult) -> list[float]:
    """Every epoch's training and test loss and accuracy, in one flat list."""
    keys = ("loss", "accuracy", "val_loss", "val_accuracy")
    return [epoch[k] for epoch in result.history for k in keys]


@pytest.mark.parametrize("framework", train.FRAMEWORKS)
def test_smoke_run_end_to_end_and_cache_hit(tmp_path, framework):
    lines: list[str] = []
    result = train.train(
        _config(framework), tmp_path / "run", profile=SMOKE_3, log=lines.append, progress=False
    )
    assert len(result.history) == 3 and not result.cached
    assert result.test_accuracy > 0.5  # far above the 10% of guessing
    assert result.profile == "smoke" and "NOT comparable" in result.profile_description
    assert result.provenance["device"] == "cpu" and result.provenance["cpu"]
    assert (tmp_path / "run" / train.RESULT_FILE).exists()
    assert not (tmp_path / "run" / train.CHECKPOINT_STATE).exists()
    log_before = (tmp_path / "run" / "train.log").read_text()
    assert log_before.count("epoch") == 3

    lines.clear()
    again = train.train(
        _config(framework), tmp_path / "run", profile=SMOKE_3, log=lines.append, progress=False
    )
    assert again.cached and _metrics(again) == _metrics(result)
    assert lines == [f"run: cached result from {tmp_path / 'run'}"]
    assert (tmp_path / "run" / "train.log").read_text() == log_before

    model = train.load_model(again)
    assert model is not None


@pytest.mark.parametrize("framework", train.FRAMEWORKS)
def test_one_optimizer_step_lowers_the_loss(framework):
    config = replace(_config(framework), batch_size=256)
    arrays = train.prepare_data(config, replace(SMOKE, train_limit=256))
    trainer = train._trainer(config, "cpu")
    before, _ = trainer.evaluate(arrays.x_train, arrays.y_train)
    with _no_bar() as bar:
        trainer.train_epoch(arrays, 0, train.StopFlag(), bar)
    after, _ = trainer.evaluate(arrays.x_train, arrays.y_train)
    assert after < before


class _no_bar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n):
        pass


def _interrupt_after_first_epoch(lines: list[str]):
    """A log that sends this process SIGUSR1 once the first epoch is reported."""

    def log(line: str) -> None:
        lines.append(line)
        if "epoch 1/" in line:
            os.kill(os.getpid(), signal.SIGUSR1)

    return log


@pytest.mark.parametrize("framework", train.FRAMEWORKS)
def test_signal_checkpoints_and_resume_matches_uninterrupted(tmp_path, framework):
    config = _config(framework)
    reference = train.train(config, tmp_path / "ref", profile=SMOKE_3, log=print, progress=False)

    lines: list[str] = []
    with pytest.raises(train.TrainingInterrupted, match="1 epoch"):
        train.train(
            config,
            tmp_path / "run",
            profile=SMOKE_3,
            log=_interrupt_after_first_epoch(lines),
            progress=False,
        )
    state = json.loads((tmp_path / "run" / train.CHECKPOINT_STATE).read_text())
    assert state["epoch"] == 1 and not (tmp_path / "run" / train.RESULT_FILE).exists()

    lines.clear()
    resumed = train.train(config, tmp_path / "run", profile=SMOKE_3, log=lines.append)
    assert any("resuming after epoch 1 of 3" in line for line in lines)
    assert _metrics(resumed) == pytest.approx(_metrics(reference), abs=1e-6)


@pytest.mark.parametrize("damage", ["weights", "state"])
def test_damaged_checkpoint_is_refused_and_training_restarts(tmp_path, damage):
    config = _config("torch")
    reference = train.train(config, tmp_path / "ref", profile=SMOKE_3, log=print)
    run_dir = tmp_path / "run"
    with pytest.raises(train.TrainingInterrupted):
        train.train(config, run_dir, profile=SMOKE_3, log=_interrupt_after_first_epoch([]))
    if damage == "weights":
        weights = run_dir / "checkpoint.pt"
        weights.write_bytes(weights.read_bytes()[:100])
    else:
        (run_dir / train.CHECKPOINT_STATE).write_text("{not json")
    lines: list[str] = []
    result = train.train(config, run_dir, profile=SMOKE_3, log=lines.append)
    refusal = [line for line in lines if "refusing the checkpoint" in line]
    assert refusal and "training again from epoch 1" in refusal[0]
    assert not any("resuming" in line for line in lines)
    assert _metrics(result) == pytest.approx(_metrics(reference), abs=1e-6)


def test_run_directory_of_another_configuration_is_refused(tmp_path):
    train.train(_config("torch"), tmp_path / "run", profile=SMOKE_3, log=print)
    other = replace(_config("torch"), seed=8)
    with pytest.raises(train.CheckpointError, match="another configuration"):
        train.train(other, tmp_path / "run", profile=SMOKE_3, log=print)


def test_damaged_result_weights_are_detected(tmp_path):
    result = train.train(_config("torch"), tmp_path / "run", profile=SMOKE_3, log=print)
    (tmp_path / "run" / result.weights).write_bytes(b"garbage")
    with pytest.raises(train.CheckpointError, match="damaged"):
        train.load_result(tmp_path / "run", result.key)


def test_profile_cap_and_keys():
    config = _config("torch", epochs=12)
    capped = train.effective_config(config, SMOKE)
    assert capped.epochs == 1
    assert train.effective_config(config, profiles.PROFILES["full"]) is config
    assert train.run_key(config, SMOKE) != train.run_key(replace(config, seed=1), SMOKE)
    assert train.run_key(config, SMOKE) == train.run_key(config, SMOKE)


def test_epoch_streams_are_fixed_by_seed_and_epoch():
    first = train.epoch_permutation(0, 3, 100)
    np.testing.assert_array_equal(first, train.epoch_permutation(0, 3, 100))
    assert not np.array_equal(first, train.epoch_permutation(0, 4, 100))
    assert sorted(first.tolist()) == list(range(100))


def test_asking_for_cuda_without_a_gpu_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(hardware.DeviceError, match="CUDA was requested but torch sees no GPU"):
        train.train(_config("torch"), "unused", device="cuda", profile=SMOKE_3, log=print)
    assert not Path("unused").exists()


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "result.json"
    train.atomic_write(target, b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        train.atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


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
    env = {**os.environ, profiles.ENV_VAR: "smoke", experiments.CACHE_ENV_VAR: str(tmp_path)}
    reference = subprocess.run(
        [*command, "--out", str(tmp_path / "ref")], env=env, capture_output=True, text=True
    )
    assert reference.returncode == 0, reference.stderr

    run_dir = tmp_path / "run"
    victim = subprocess.Popen([*command, "--out", str(run_dir)], env=env)
    state = run_dir / train.CHECKPOINT_STATE
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if state.exists() and json.loads(state.read_text())["epoch"] >= 2:
            break
        time.sleep(0.02)
    victim.kill()
    victim.wait()
    assert not (run_dir / train.RESULT_FILE).exists(), "the run ended before it could be killed"

    restart = subprocess.run(
        [*command, "--out", str(run_dir)], env=env, capture_output=True, text=True
    )
    assert restart.returncode == 0, restart.stderr
    assert "resuming after epoch" in restart.stdout
    expected = json.loads((tmp_path / "ref" / train.RESULT_FILE).read_text())
    got = json.loads((run_dir / train.RESULT_FILE).read_text())
    assert got["test_accuracy"] == expected["test_accuracy"]
    assert got["test_loss"] == pytest.approx(expected["test_loss"], abs=1e-9)


def test_standardized_inputs_have_zero_mean_and_unit_spread():
    config = replace(_config("torch"), standardize=True)
    arrays = train.prepare_data(config, SMOKE)
    assert abs(float(arrays.x_train.mean())) < 1e-4
    assert float(arrays.x_train.std()) == pytest.approx(1.0, abs=1e-3)
    plain = train.prepare_data(_config("torch"), SMOKE)
    assert float(plain.x_train.min()) == 0.0 and float(plain.x_train.max()) == 1.0


def test_keras_trains_on_the_torch_backend_too(tmp_path):
    """The same Keras model code runs with KERAS_BACKEND=torch, and is cached apart."""
    env = {**os.environ, profiles.ENV_VAR: "smoke", "KERAS_BACKEND": "torch"}
    command = [sys.executable, "-m", "dlcourse", "train", "softmax", "--epochs", "2"]
    done = subprocess.run(
        [*command, "--out", str(tmp_path / "torch")], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "torch" / train.RESULT_FILE).read_text())
    assert result["provenance"]["keras_backend"] == "torch"
    assert len(result["history"]) == 2 and result["test_accuracy"] > 0.5
    tf_key = train.run_key(experiments.config_for(experiments.get("softmax"), epochs=2), SMOKE_3)
    assert result["key"] != tf_key
