"""Fault tests of the runner: every fault is refused with one line or ends in the right result.

Tried as a careless user and a flaky cluster would: edited state files, kills at any point of a
run, two runs of one experiment at once, scheduler signals during start-up, and places that
cannot be written. "The right result" is the uninterrupted run's, to the last bit.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from tinyruns import SMOKE_3, metrics, small_config

from dlcourse import (
    checkpoints,
    cli,
    experiments,
    profiles,
    seals,
    signals,
    train,
)

# A small PyTorch run for the processes these tests kill: about a second an epoch here.
COMMAND = [
    "-m",
    "dlcourse",
    "train",
    "pytorch_example",
    "--framework",
    "torch",
    "--epochs",
    "3",
]
EPOCHS = 3


def _interrupted_run(run_dir: Path) -> None:
    """Leave a checkpoint after epoch 1 of a 3-epoch run in ``run_dir``."""

    def log(line: str) -> None:
        if "epoch 1/" in line:
            os.kill(os.getpid(), signal.SIGUSR1)

    with pytest.raises(signals.TrainingInterrupted):
        train.train(small_config("torch"), run_dir, profile=SMOKE_3, log=log)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted 3-epoch run that every faulty run must end up matching."""
    run_dir = tmp_path_factory.mktemp("reference")
    return train.train(
        small_config("torch"), run_dir, profile=SMOKE_3, log=print
    )


def _edit_json(path: Path, change) -> None:
    """Apply ``change`` to the JSON object in ``path`` and write it back."""
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record, indent=1))


def _reseal_without_the_key(record: dict) -> None:
    """Forge a seal as someone without the key might: a plain SHA-256 of the record."""
    body = {k: v for k, v in record.items() if k != seals.SEAL_FIELD}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    record[seals.SEAL_FIELD] = hashlib.sha256(text.encode()).hexdigest()


def _claim_three_epochs(state: dict) -> None:
    state["epoch"] = 3


def _claim_three_epochs_resealed(state: dict) -> None:
    state["epoch"] = 3
    state["history"] = state["history"] * 3
    _reseal_without_the_key(state)


def _better_first_epoch(state: dict) -> None:
    state["history"][0]["val_accuracy"] = 0.99


def _weights_of_another_run(state: dict) -> None:
    state["weights"] = "../reference/checkpoint.pt"


CHECKPOINT_EDITS = [
    _claim_three_epochs,
    _claim_three_epochs_resealed,
    _better_first_epoch,
    _weights_of_another_run,
]


@pytest.mark.parametrize(
    "edit", CHECKPOINT_EDITS, ids=lambda f: f.__name__.strip("_")
)
def test_an_edited_checkpoint_is_refused_and_the_run_trained_again(
    tmp_path, reference, edit
):
    run_dir = tmp_path / "run"
    _interrupted_run(run_dir)
    _edit_json(run_dir / checkpoints.CHECKPOINT_STATE, edit)
    lines: list[str] = []
    result = train.train(
        small_config("torch"), run_dir, profile=SMOKE_3, log=lines.append
    )
    refusals = [line for line in lines if "refusing the checkpoint" in line]
    assert len(refusals) == 1 and "training again from epoch 1" in refusals[0]
    assert not any("resuming" in line for line in lines)
    assert metrics(result) == metrics(reference)


def test_a_flipped_bit_in_the_checkpoint_is_refused(tmp_path, reference):
    run_dir = tmp_path / "run"
    _interrupted_run(run_dir)
    state = run_dir / checkpoints.CHECKPOINT_STATE
    text = state.read_bytes()
    position = text.index(b'"epoch": 1') + len(b'"epoch": ')
    state.write_bytes(
        text[:position] + bytes([text[position] ^ 0x02]) + text[position + 1 :]
    )
    assert b'"epoch": 3' in state.read_bytes()
    lines: list[str] = []
    result = train.train(
        small_config("torch"), run_dir, profile=SMOKE_3, log=lines.append
    )
    assert any("refusing the checkpoint" in line for line in lines)
    assert metrics(result) == metrics(reference)


def _better_accuracy(record: dict) -> None:
    record["test_accuracy"] = 0.99


def _better_accuracy_everywhere_resealed(record: dict) -> None:
    record["test_accuracy"] = record["history"][-1]["val_accuracy"] = 0.99
    _reseal_without_the_key(record)


def _fewer_epochs(record: dict) -> None:
    record["history"] = record["history"][:1]


def _no_seal(record: dict) -> None:
    del record[seals.SEAL_FIELD]


RESULT_EDITS = [
    _better_accuracy,
    _better_accuracy_everywhere_resealed,
    _fewer_epochs,
    _no_seal,
]


@pytest.mark.parametrize(
    "edit", RESULT_EDITS, ids=lambda f: f.__name__.strip("_")
)
def test_an_edited_result_is_refused_and_the_run_trained_again(
    tmp_path, reference, edit
):
    run_dir = tmp_path / "run"
    train.train(small_config("torch"), run_dir, profile=SMOKE_3, log=print)
    _edit_json(run_dir / checkpoints.RESULT_FILE, edit)
    with pytest.raises(checkpoints.DamagedCheckpointError):
        train.load_result(run_dir)
    lines: list[str] = []
    result = train.train(
        small_config("torch"), run_dir, profile=SMOKE_3, log=lines.append
    )
    assert sum("refusing the result" in line for line in lines) == 1
    assert not result.cached and metrics(result) == metrics(reference)
    assert train.load_result(run_dir).test_accuracy == reference.test_accuracy


def test_a_result_sealed_under_another_key_is_refused(
    tmp_path, monkeypatch, reference
):
    run_dir = tmp_path / "run"
    train.train(small_config("torch"), run_dir, profile=SMOKE_3, log=print)
    monkeypatch.setenv(seals.KEY_ENV_VAR, str(tmp_path / "another.key"))
    with pytest.raises(checkpoints.DamagedCheckpointError, match="seal fails"):
        train.load_result(run_dir)


# --- processes killed, signalled, or run twice at once ---------------------------------------


class Process:
    """A ``dlcourse train`` process whose output lines are collected as they come."""

    def __init__(self, run_dir: Path, env: dict[str, str], *extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, *COMMAND, "--out", str(run_dir), *extra],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.errors: list[str] = []
        self.seen = threading.Condition()
        self._readers = [
            threading.Thread(
                target=self._read,
                args=(self.proc.stdout, self.lines),
                daemon=True,
            ),
            threading.Thread(
                target=self._read,
                args=(self.proc.stderr, self.errors),
                daemon=True,
            ),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream, into: list[str]) -> None:
        for line in stream:
            with self.seen:
                into.append(line.rstrip("\n"))
                self.seen.notify_all()

    def wait_for_line(self, text: str, timeout: float = 120) -> bool:
        """Wait until a line holding ``text`` is printed; False if the process ended first."""
        with self.seen:
            return self.seen.wait_for(
                lambda: (
                    any(text in line for line in self.lines)
                    or self.proc.poll() is not None
                ),
                timeout,
            ) and any(text in line for line in self.lines)

    def catches_stop_signals(self) -> bool:
        """Return True once the process has handlers for SIGUSR1 and SIGTERM."""
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return False
        caught = int(
            next(
                line
                for line in status.splitlines()
                if line.startswith("SigCgt:")
            )[7:],
            16,
        )
        return all(
            caught >> (sig - 1) & 1 for sig in (signal.SIGUSR1, signal.SIGTERM)
        )

    def finish(self, timeout: float = 300) -> int:
        """Wait for the process to end; return its exit status."""
        status = self.proc.wait(timeout)
        for reader in self._readers:
            reader.join(10)
        return status

    def kill(self) -> None:
        self.proc.kill()
        self.finish()


@pytest.fixture
def env(tmp_path):
    """The environment of a train process: smoke data, unbuffered output, a cache of its own."""
    return {
        **os.environ,
        profiles.ENV_VAR: "smoke",
        experiments.CACHE_ENV_VAR: str(tmp_path / "cache"),
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def process_reference(tmp_path, env):
    """The result of one uninterrupted train process, and how long its start-up took."""
    run_dir = tmp_path / "reference"
    began = time.monotonic()
    process = Process(run_dir, env)
    assert process.wait_for_line("epoch 1/")
    first_epoch_line = time.monotonic() - began
    assert process.finish() == 0, process.errors
    result = train.load_result(run_dir)
    startup = first_epoch_line - result.history[0]["seconds"]
    return result, startup


def _run_files(run_dir: Path) -> list[str]:
    return sorted(p.name for p in run_dir.iterdir())


FINISHED_FILES = sorted(
    [checkpoints.RESULT_FILE, "model.pt", "train.log", ".lock"]
)


def _after_kill(run_dir: Path) -> str:
    """Return what a kill left in ``run_dir``, in a few words: the state a restart finds."""
    if not run_dir.exists():
        return "nothing"
    names = set(_run_files(run_dir))
    parts = [
        name
        for name in sorted(names)
        if name.startswith(".") and name != ".lock"
    ]
    if checkpoints.RESULT_FILE in names:
        parts.insert(0, "result")
    elif checkpoints.CHECKPOINT_STATE in names:
        state = json.loads((run_dir / checkpoints.CHECKPOINT_STATE).read_text())
        parts.insert(0, f"checkpoint after epoch {state['epoch']}")
    return ", ".join(parts) or "no checkpoint"


@pytest.mark.slow
def test_sigkill_in_every_phase_ten_times_ends_with_the_uninterrupted_result(
    tmp_path, env, process_reference
):
    """Each trial kills a run in start-up, mid-epoch, during a checkpoint write and during the
    final save, restarting it after each kill; the fifth start must finish it exactly."""
    reference, startup = process_reference
    epoch_seconds = min(epoch["seconds"] for epoch in reference.history)
    draw = random.Random(2018)
    report = []
    for trial in range(10):
        run_dir = tmp_path / f"trial{trial}"
        found = []
        # Start-up: before the first epoch has begun.
        process = Process(run_dir, env)
        time.sleep(draw.uniform(0, 0.9 * startup))
        process.kill()
        assert not any("epoch 1/" in line for line in process.lines), (
            "killed too late"
        )
        found.append(_after_kill(run_dir))
        # Mid-epoch: some way into the second epoch.
        process = Process(run_dir, env)
        assert process.wait_for_line("epoch 1/"), process.errors
        time.sleep(draw.uniform(0.1, 0.8) * epoch_seconds)
        process.kill()
        found.append(_after_kill(run_dir))
        # During a checkpoint write: just after an epoch's line, before its checkpoint lands.
        process = Process(run_dir, env)
        assert process.wait_for_line(f"/{EPOCHS}:"), process.errors
        time.sleep(draw.uniform(0, 0.005))
        process.kill()
        found.append(_after_kill(run_dir))
        # During the final save: after the last epoch's line.
        process = Process(run_dir, env)
        assert (
            process.wait_for_line(f"epoch {EPOCHS}/{EPOCHS}")
            or process.proc.poll() == 0
        )
        time.sleep(draw.uniform(0, 0.01))
        process.kill()
        found.append(_after_kill(run_dir))
        # The run then ends as if nothing had happened, leaving only what a finished run leaves.
        process = Process(run_dir, env)
        assert process.finish() == 0, process.errors
        result = train.load_result(run_dir)
        assert metrics(result) == metrics(reference), (
            f"trial {trial}: {process.lines}"
        )
        assert result.test_accuracy == reference.test_accuracy
        assert _run_files(run_dir) == FINISHED_FILES
        report.append(f"trial {trial}: " + " | ".join(found))
    print(
        "after each kill (start-up | mid-epoch | checkpoint write | final save):"
    )
    print("\n".join(report))


@pytest.mark.slow
def test_two_runs_of_one_experiment_at_once_train_it_once(
    tmp_path, env, process_reference
):
    reference, _ = process_reference
    run_dir = tmp_path / "run"
    first, second = Process(run_dir, env), Process(run_dir, env)
    assert first.finish() == 0, first.errors
    assert second.finish() == 0, second.errors
    both = first.lines + second.lines
    assert sum("waiting for it to finish" in line for line in both) == 1
    assert sum("cached result" in line for line in both) == 1
    result = train.load_result(run_dir)
    assert metrics(result) == metrics(reference)
    # One writer: the log holds each epoch's line exactly once.
    log = (run_dir / "train.log").read_text().splitlines()
    assert [line.split(":")[0] for line in log] == [
        f"pytorch_example epoch {n}/{EPOCHS}" for n in range(1, EPOCHS + 1)
    ]


@pytest.mark.slow
def test_two_runs_in_the_result_cache_at_once_train_it_once(tmp_path, env):
    command = [sys.executable, *COMMAND]
    both = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        for _ in "ab"
    ]
    outputs = [p.communicate(timeout=300)[0] for p in both]
    assert [p.returncode for p in both] == [0, 0]
    assert sum("cached result" in out for out in outputs) == 1
    results = sorted(
        (tmp_path / "cache" / "pytorch_example").glob("*/result.json")
    )
    assert len(results) == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    "stop", [signal.SIGUSR1, signal.SIGTERM], ids=["SIGUSR1", "SIGTERM"]
)
def test_a_stop_signal_during_start_up_exits_resumable(
    tmp_path, env, process_reference, stop
):
    """From the moment the process catches the signals, a warning ends it with status 75."""
    _, startup = process_reference
    draw = random.Random(stop)
    for attempt in range(3):
        run_dir = tmp_path / f"run{attempt}"
        process = Process(run_dir, env)
        deadline = time.monotonic() + 30
        while not process.catches_stop_signals():
            assert process.proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.001)
        time.sleep(draw.uniform(0, 0.8 * startup))
        process.proc.send_signal(stop)
        assert process.finish() == signals.EXIT_RESUMABLE, process.errors
        assert any(
            "run the same command again to resume" in line
            for line in process.errors
        )
        assert not any("Traceback" in line for line in process.errors)
        # Started again, it trains the whole run.
        again = Process(run_dir, env)
        assert (
            again.finish() == 0 and (run_dir / checkpoints.RESULT_FILE).exists()
        )


@pytest.mark.slow
def test_a_stop_signal_while_waiting_for_another_run_exits_resumable(
    tmp_path, env
):
    run_dir = tmp_path / "run"
    # Long enough that the first is still training when it is signalled in turn.
    first = Process(run_dir, env, "--epochs", "40")
    assert first.wait_for_line("epoch 1/")
    second = Process(run_dir, env, "--epochs", "40")
    assert second.wait_for_line("waiting for it to finish")
    second.proc.send_signal(signal.SIGUSR1)
    assert second.finish() == signals.EXIT_RESUMABLE
    assert first.proc.poll() is None, (
        "the waiting run's signal reached the training one"
    )
    first.proc.send_signal(signal.SIGUSR1)
    assert first.finish() == signals.EXIT_RESUMABLE


# --- bad input: one line, exit status 2, nothing loaded or left behind -------------------------


def _one_line(capsys, *argv: str) -> str:
    """Run the command; return its one line of error after checking it exited with status 2."""
    status = cli.main(list(argv))
    err = capsys.readouterr().err
    assert status == 2, err
    assert (
        err.startswith("dlcourse: ")
        and err.count("\n") == 1
        and "Traceback" not in err
    )
    return err


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """A data folder with nothing in it and no way to download: using it would fail."""
    monkeypatch.setenv(profiles.ENV_VAR, "smoke")
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "no-data-here"))
    monkeypatch.setattr("dlcourse.data.MIRRORS", ("http://127.0.0.1:9/",))


def test_out_naming_a_file_is_refused_before_the_data_is_read(
    tmp_path, capsys, no_data
):
    (tmp_path / "out").write_text("my notes")
    err = _one_line(
        capsys,
        "train",
        "softmax",
        "--framework",
        "torch",
        "--out",
        str(tmp_path / "out"),
    )
    assert str(tmp_path / "out") in err and "not a directory" in err
    assert (tmp_path / "out").read_text() == "my notes"


def test_a_cache_naming_a_file_is_refused_before_the_data_is_read(
    tmp_path, capsys, monkeypatch, no_data
):
    (tmp_path / "cache").write_text("")
    monkeypatch.setenv(experiments.CACHE_ENV_VAR, str(tmp_path / "cache"))
    err = _one_line(capsys, "train", "softmax", "--framework", "torch")
    assert "result cache" in err and str(tmp_path / "cache") in err


def test_an_unknown_experiment_among_several_is_named_before_any_runs(
    capsys, no_data
):
    err = _one_line(capsys, "reproduce", "cnn", "nosuch")
    assert "no experiment 'nosuch'" in err


def test_cuda_is_checked_before_the_cache_answers(
    tmp_path, capsys, monkeypatch
):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    monkeypatch.setenv(profiles.ENV_VAR, "smoke")
    monkeypatch.setenv(experiments.CACHE_ENV_VAR, str(tmp_path))
    argv = ["train", "mlp_relu", "--framework", "torch", "--epochs", "1"]
    assert cli.main(argv) == 0
    capsys.readouterr()
    assert "cached result" in (cli.main(argv), capsys.readouterr().out)[1]
    err = _one_line(capsys, *argv, "--device", "cuda")
    assert "CUDA was requested" in err


def test_a_data_file_that_is_a_directory_is_named(
    tmp_path, capsys, monkeypatch
):
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").mkdir()
    monkeypatch.setenv("DLCOURSE_DATA", str(folder))
    monkeypatch.setenv(profiles.ENV_VAR, "smoke")
    err = _one_line(
        capsys,
        "train",
        "softmax",
        "--framework",
        "torch",
        "--out",
        str(tmp_path / "r"),
    )
    assert "train-images-idx3-ubyte.gz" in err and "directory" in err


def test_a_full_disk_ends_with_one_line_and_leaves_no_partial_file(
    capsys, monkeypatch, tmpfs
):
    monkeypatch.setenv(profiles.ENV_VAR, "smoke")
    small = tmpfs("size=64k")
    # The CNN's checkpoint (about 14 MB) cannot fit in 64 KiB.
    err = _one_line(
        capsys,
        "train",
        "cnn",
        "--framework",
        "torch",
        "--out",
        str(small / "r"),
    )
    assert "no space" in err and str(small) in err
    leftovers = [
        p.name for p in (small / "r").iterdir() if p.name.startswith(".")
    ]
    assert leftovers in ([], [".lock"]), leftovers
