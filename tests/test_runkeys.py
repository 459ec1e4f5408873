"""Tests of dlcourse.runkeys: a run's key changes with what decides its numbers, only that."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
from tinyruns import SMOKE, SMOKE_3, small_config

from dlcourse import runkeys


def test_key_is_stable_and_follows_config_profile_device_and_processes():
    run = small_config("torch")
    key = runkeys.run_key(run, SMOKE, "cpu")
    assert key == runkeys.run_key(run, SMOKE, "cpu")
    assert key != runkeys.run_key(replace(run, seed=1), SMOKE, "cpu")
    assert key != runkeys.run_key(run, SMOKE_3, "cpu")
    assert key != runkeys.run_key(run, SMOKE, "cuda")
    assert key != runkeys.run_key(run, SMOKE, "cpu", world_size=2)


def test_key_needs_a_resolved_device():
    with pytest.raises(ValueError, match="resolved device"):
        runkeys.run_key(small_config("torch"), SMOKE, "auto")


def test_code_digest_covers_every_source_file_of_the_package(tmp_path):
    runkeys.code_digest.cache_clear()  # the package as it is now, not when first hashed
    copy = tmp_path / "dlcourse"
    shutil.copytree(
        runkeys.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__")
    )
    assert runkeys.code_digest(copy) == runkeys.code_digest()
    sources = sorted(copy.rglob("*.py"))
    assert {p.name for p in sources} >= {
        "data.py",
        "train.py",
        "cli.py",
        "plots.py",
    }
    digests = set()
    for source in sources:
        original = source.read_bytes()
        source.write_bytes(original + b"\n# changed\n")
        runkeys.code_digest.cache_clear()
        digests.add(runkeys.code_digest(copy))
        source.write_bytes(original)
    # Every file's change gives a key of its own, none the original's.
    assert len(digests) == len(sources) and runkeys.code_digest() not in digests
    (copy / "extra.py").write_text("")
    runkeys.code_digest.cache_clear()
    assert runkeys.code_digest(copy) != runkeys.code_digest()


def test_library_versions_name_the_framework_and_numpy():
    keras = runkeys.library_versions("keras")
    torch = runkeys.library_versions("torch")
    assert (
        keras["numpy"]
        and keras["keras"]
        and keras["backend"]
        and keras["python"]
    )
    assert torch["numpy"] and torch["torch"] and "keras" not in torch
