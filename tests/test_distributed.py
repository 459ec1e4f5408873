"""Training under torchrun: two CPU processes with gloo against one process.

The checks of a layout that cannot work (an uneven batch split, Keras) are in test_trainers.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dlcourse import checkpoints, experiments, profiles

pytestmark = pytest.mark.slow

COMMAND = [
    "-m",
    "dlcourse",
    "train",
    "mlp_relu",
    "--framework",
    "torch",
    "--epochs",
    "3",
]


def _digest(weights: Path) -> str:
    """Digest of a saved network's tensors, computed the way the runner does."""
    state = torch.load(weights, map_location="cpu", weights_only=True)["model"]
    digest = hashlib.sha256()
    for tensor in state.values():
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


def test_two_gloo_processes_match_one_process(tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    assert torchrun, "torchrun is installed with torch"
    env = {
        **os.environ,
        profiles.ENV_VAR: "smoke",
        experiments.CACHE_ENV_VAR: str(tmp_path / "cache"),
        # A hostname that does not resolve must not stop gloo on a single machine.
        "GLOO_SOCKET_IFNAME": "lo",
    }
    single = subprocess.run(
        [sys.executable, *COMMAND, "--out", str(tmp_path / "one")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert single.returncode == 0, single.stderr
    pair = subprocess.run(
        [
            torchrun,
            "--standalone",
            "--nproc_per_node=2",
            *COMMAND,
            "--out",
            str(tmp_path / "two"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pair.returncode == 0, pair.stderr
    assert "2 processes share each batch of 128" in pair.stdout
    # Only the first process reports and writes.
    assert pair.stdout.count("test accuracy") == 1

    one = json.loads((tmp_path / "one" / checkpoints.RESULT_FILE).read_text())
    two = json.loads((tmp_path / "two" / checkpoints.RESULT_FILE).read_text())
    digests = two["provenance"]["rank_weight_digests"]
    assert two["provenance"]["world_size"] == 2 and len(digests) == 2
    assert digests[0] == digests[1], (
        "the two processes ended with different weights"
    )
    assert digests[0] == _digest(tmp_path / "two" / two["weights"])
    # The same global batches in the same order: only summation order differs.
    # Stated tolerance: 0.5 percentage points of test accuracy, 0.01 of test loss.
    assert abs(two["test_accuracy"] - one["test_accuracy"]) <= 0.005
    assert two["test_loss"] == pytest.approx(one["test_loss"], abs=0.01)
    assert (
        one["key"] != two["key"]
    )  # cached separately: a different way of training
