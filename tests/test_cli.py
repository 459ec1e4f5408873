"""Tests of the dlcourse command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dlcourse import checkpoints, cli, experiments, profiles, signals


def _run(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_list_shows_every_experiment_with_its_2018_value(capsys):
    status, out, _ = _run(capsys, "list")
    assert status == 0
    for experiment in experiments.EXPERIMENTS.values():
        assert experiment.name in out and experiment.reported_text() in out


def test_module_entry_point_runs():
    done = subprocess.run(
        [sys.executable, "-m", "dlcourse", "list"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "cnn_expanded" in done.stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["train", "resnet"],
            "no experiment 'resnet'; choose one of softmax, ",
        ),
        (["train", "softmax", "--device", "cuda"], "CUDA was requested"),
    ],
)
def test_bad_names_and_values_give_one_line_and_exit_2(capsys, argv, message):
    import torch

    if "cuda" in argv and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    status, out, err = _run(capsys, *argv)
    assert status == 2
    assert err.startswith("dlcourse: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "softmax", "--epochs", "0"],
        ["train", "softmax", "--framework", "caffe"],
        ["fly"],
    ],
)
def test_argument_errors_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_bad_profile_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.setenv(profiles.ENV_VAR, "turbo")
    status, _, err = _run(capsys, "train", "softmax")
    assert status == 2 and "'turbo' is not a profile" in err


def test_train_smoke_then_cached(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv(profiles.ENV_VAR, "smoke")
    monkeypatch.setenv(experiments.CACHE_ENV_VAR, str(tmp_path))
    status, out, _ = _run(capsys, "train", "mlp_relu", "--framework", "torch")
    assert status == 0
    assert (
        "profile smoke" in out
        and "test accuracy" in out
        and "(smoke profile)" in out
    )
    result_path = out.strip().splitlines()[-1].removeprefix("result: ")
    result = json.loads(open(result_path).read())
    assert (
        result["name"] == "mlp_relu"
        and result["config"]["framework"] == "torch"
    )
    status, out, _ = _run(capsys, "train", "mlp_relu", "--framework", "torch")
    assert status == 0 and "cached result" in out


def test_sigusr1_exits_resumable(tmp_path):
    """The walltime contract: a warning signal makes `train` checkpoint and exit 75."""
    env = {**os.environ, profiles.ENV_VAR: "smoke"}
    command = [
        sys.executable,
        "-m",
        "dlcourse",
        "train",
        "pytorch_example",
        "--epochs",
        "50",
    ]
    proc = subprocess.Popen(
        [*command, "--out", str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in proc.stdout:
        if "epoch 1/50" in line:
            proc.send_signal(__import__("signal").SIGUSR1)
            break
    out = proc.stdout.read()
    assert proc.wait(timeout=120) == signals.EXIT_RESUMABLE
    assert "stopped by signal" in out
    state = json.loads((tmp_path / checkpoints.CHECKPOINT_STATE).read_text())
    assert state["epoch"] >= 1


def test_reproduce_prints_the_table(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv(profiles.ENV_VAR, "smoke")
    monkeypatch.setenv(experiments.CACHE_ENV_VAR, str(tmp_path))
    status, out, _ = _run(capsys, "reproduce", "softmax", "mlp_relu")
    assert (
        status == 0
    )  # under the smoke profile the bands are reported, not enforced
    assert "bands apply to the full profile only" in out
    table = out[out.index("experiment ") :]
    rows = [
        line
        for line in table.splitlines()
        if line.startswith(("softmax ", "mlp_relu "))
    ]
    assert len(rows) == 2 and all("91.7%" in r or "98.07%" in r for r in rows)


def test_data_verify_and_info(capsys):
    status, out, _ = _run(capsys, "data", "verify")
    assert (
        status == 0
        and "verified: 60,000 training and 10,000 test images" in out
    )
    status, out, _ = _run(capsys, "info")
    info = json.loads(out)
    assert status == 0 and info["cpu"] and "torch" in info["versions"]


@pytest.mark.slow
def test_a_keras_run_prints_only_its_own_lines(tmp_path):
    """TensorFlow's native start-up lines do not reach the terminal of `dlcourse train`."""
    env = {**os.environ, profiles.ENV_VAR: "smoke"}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    command = [
        sys.executable,
        "-m",
        "dlcourse",
        "train",
        "softmax",
        "--epochs",
        "1",
    ]
    done = subprocess.run(
        [*command, "--out", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert all(
        line.startswith("dlcourse: ") for line in done.stderr.splitlines()
    ), done.stderr
    assert all(
        line.startswith(("softmax", "result: "))
        for line in done.stdout.splitlines()
    )
