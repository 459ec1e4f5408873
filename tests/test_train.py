"""Tests of dlcourse.train: end-to-end runs, the result cache, loading a trained model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tinyruns import SMOKE_3, metrics, small_config

from dlcourse import (
    checkpoints,
    config,
    experiments,
    hardware,
    profiles,
    runkeys,
    train,
)


@pytest.mark.parametrize("framework", config.FRAMEWORKS)
def test_smoke_run_end_to_end_and_cache_hit(tmp_path, framework):
    lines: list[str] = []
    result = train.train(
        small_config(framework),
        tmp_path / "run",
        profile=SMOKE_3,
        log=lines.append,
        progress=False,
    )
    assert len(result.history) == 3 and not result.cached
    assert result.test_accuracy > 0.5  # far above the 10% of guessing
    assert (
        result.profile == "smoke"
        and "NOT comparable" in result.profile_description
    )
    assert result.provenance["device"] == "cpu" and result.provenance["cpu"]
    assert (tmp_path / "run" / checkpoints.RESULT_FILE).exists()
    assert not (tmp_path / "run" / checkpoints.CHECKPOINT_STATE).exists()
    log_before = (tmp_path / "run" / "train.log").read_text()
    assert log_before.count("epoch") == 3

    lines.clear()
    again = train.train(
        small_config(framework),
        tmp_path / "run",
        profile=SMOKE_3,
        log=lines.append,
        progress=False,
    )
    assert again.cached and metrics(again) == metrics(result)
    assert lines == [f"run: cached result from {tmp_path / 'run'}"]
    assert (tmp_path / "run" / "train.log").read_text() == log_before

    model = train.load_model(again)
    assert model is not None


def test_load_result_of_an_empty_directory_is_none(tmp_path):
    assert train.load_result(tmp_path) is None


def test_asking_for_cuda_without_a_gpu_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(
        hardware.DeviceError, match="CUDA was requested but torch sees no GPU"
    ):
        train.train(
            small_config("torch"),
            "unused",
            device="cuda",
            profile=SMOKE_3,
            log=print,
        )
    assert not Path("unused").exists()


def test_keras_trains_on_the_torch_backend_too(tmp_path):
    """The same Keras model code runs with KERAS_BACKEND=torch, and is cached apart."""
    env = {**os.environ, profiles.ENV_VAR: "smoke", "KERAS_BACKEND": "torch"}
    command = [
        sys.executable,
        "-m",
        "dlcourse",
        "train",
        "softmax",
        "--epochs",
        "2",
    ]
    done = subprocess.run(
        [*command, "--out", str(tmp_path / "torch")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(
        (tmp_path / "torch" / checkpoints.RESULT_FILE).read_text()
    )
    assert result["provenance"]["keras_backend"] == "torch"
    assert len(result["history"]) == 2 and result["test_accuracy"] > 0.5
    softmax = experiments.config_for(experiments.get("softmax"), epochs=2)
    tf_key = runkeys.run_key(softmax, SMOKE_3, "cpu")
    assert result["key"] != tf_key
