"""The gallery's cluster example, run as a cluster runs it: stopped by a signal and resumed,
shared by two processes under torchrun, refused where the GPU it asks for is missing."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dlcourse import cluster

SCRIPT = (
    Path(__file__).resolve().parents[1]
    / "gallery"
    / "mnist_models"
    / "plot_training_on_a_cluster.py"
)
CHECKPOINT = "cluster_example_checkpoint.pt"
RESULT = "cluster_example.json"


def settings(text: str) -> dict[str, object]:
    """Return the script's plain settings: its top-level names set to constants."""
    return {
        target.id: node.value.value
        for node in ast.parse(text).body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def script_copy(folder: Path, epochs: int) -> Path:
    """Copy the script into ``folder`` with ``epochs`` changed, as a student would edit it."""
    text = SCRIPT.read_text()
    line = f"epochs = {settings(text)['epochs']}\n"
    assert line in text
    copy = folder / SCRIPT.name
    copy.write_text(text.replace(line, f"epochs = {epochs}\n", 1))
    return copy


def environment(**changes: str) -> dict[str, str]:
    """Return the environment of a smoke-sized run that draws no figure on screen."""
    env = {**os.environ, "DLCOURSE_PROFILE": "smoke", "MPLBACKEND": "Agg"}
    env.pop("WORLD_SIZE", None)
    return {**env, **changes}


def torchrun(processes: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={processes}",
    ]


def stop_after_first_checkpoint(
    argv: list[str], folder: Path, signal_number: int, env: dict[str, str]
) -> subprocess.CompletedProcess:
    """Start ``argv`` in ``folder``, signal it once its first checkpoint exists; return the run."""
    process = subprocess.Popen(
        argv,
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (folder / CHECKPOINT).exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no checkpoint after 120 s"
        time.sleep(0.01)
    process.send_signal(signal_number)
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(argv, process.returncode, out, err)


def test_the_script_asks_for_a_requeue_with_the_status_the_job_scripts_expect():
    assert (
        settings(SCRIPT.read_text())["requeue_status"] == cluster.EXIT_REQUEUE
    )


@pytest.mark.slow
@pytest.mark.parametrize("signal_number", [signal.SIGUSR1, signal.SIGTERM])
def test_a_signalled_run_checkpoints_exits_75_and_the_next_run_finishes_it(
    tmp_path, signal_number
):
    epochs = 30
    stopped_dir, straight_dir = tmp_path / "stopped", tmp_path / "straight"
    for folder in (stopped_dir, straight_dir):
        folder.mkdir()
    script = script_copy(stopped_dir, epochs)
    argv = [sys.executable, str(script)]
    stopped = stop_after_first_checkpoint(
        argv, stopped_dir, signal_number, environment()
    )
    assert stopped.returncode == cluster.EXIT_REQUEUE, stopped.stderr
    assert "checkpoint written" in stopped.stdout
    assert (stopped_dir / CHECKPOINT).exists()
    assert not (stopped_dir / RESULT).exists()

    resumed = subprocess.run(
        argv, cwd=stopped_dir, env=environment(), capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming at epoch" in resumed.stdout
    assert not (stopped_dir / CHECKPOINT).exists()
    result = json.loads((stopped_dir / RESULT).read_text())
    assert len(result["history"]["loss"]) == epochs
    assert result["device"] == "CPU" and result["processes"] == 1

    # Resumed mid-epoch, it ends where a run that never stopped ends.
    straight = subprocess.run(
        [sys.executable, str(script_copy(straight_dir, epochs))],
        cwd=straight_dir,
        env=environment(),
        capture_output=True,
        text=True,
    )
    assert straight.returncode == 0, straight.stderr
    reference = json.loads((straight_dir / RESULT).read_text())
    for key, values in reference["history"].items():
        assert result["history"][key] == pytest.approx(values, abs=1e-6), key


@pytest.mark.slow
def test_two_gloo_processes_train_one_model_and_only_the_first_writes(
    tmp_path,
):
    folder = tmp_path / "ddp"
    folder.mkdir()
    script = script_copy(folder, 2)
    done = subprocess.run(
        [*torchrun(2), str(script)],
        cwd=folder,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("test accuracy:") == 1
    assert "2 process(es) on cpu" in done.stdout
    assert sorted(p.name for p in folder.iterdir()) == [
        "cluster_example.json",
        "cluster_example.pt",
        SCRIPT.name,
    ]
    result = json.loads((folder / RESULT).read_text())
    assert result["processes"] == 2 and result["device"] == "CPU"
    assert len(result["history"]["val_accuracy"]) == 2


@pytest.mark.slow
def test_torchrun_passes_a_warning_on_and_a_second_torchrun_resumes(tmp_path):
    epochs = 40
    script = script_copy(tmp_path, epochs)
    argv = [*torchrun(2), str(script)]
    # torchrun hands SIGTERM on to its workers; the batch script's trap sends TERM to it.
    stopped = stop_after_first_checkpoint(
        argv, tmp_path, signal.SIGTERM, environment()
    )
    assert stopped.returncode != 0
    assert stopped.stdout.count("checkpoint written") == 1, stopped.stderr
    resumed = subprocess.run(
        argv, cwd=tmp_path, env=environment(), capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming at epoch" in resumed.stdout
    result = json.loads((tmp_path / RESULT).read_text())
    assert len(result["history"]["loss"]) == epochs


def test_a_gpu_requested_where_none_exists_fails_in_one_clear_line(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    done = subprocess.run(
        [sys.executable, str(SCRIPT)],
        cwd=tmp_path,
        env=environment(DEVICE="cuda"),
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "error: DEVICE=cuda, but PyTorch sees no GPU on this machine"
    ]
    assert list(tmp_path.iterdir()) == []
