"""Tests of dlcourse.runkeys: a run's key changes with what decides its numbers, only that."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tinyruns import SMOKE, SMOKE_3, small_config

from dlcourse import runkeys


def test_key_is_stable_and_follows_config_profile_and_processes():
    run = small_config("torch")
    key = runkeys.run_key(run, SMOKE)
    assert key == runkeys.run_key(run, SMOKE)
    assert key != runkeys.run_key(replace(run, seed=1), SMOKE)
    assert key != runkeys.run_key(run, SMOKE_3)
    assert key != runkeys.run_key(run, SMOKE, world_size=2)


def test_every_code_file_exists_and_each_framework_hashes_its_own():
    for name in sum(runkeys.CODE_FILES.values(), ()):
        assert (Path(runkeys.__file__).parent / name).is_file(), name
    assert runkeys.code_digest("keras") != runkeys.code_digest("torch")
