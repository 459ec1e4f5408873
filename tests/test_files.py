"""Tests of dlcourse.files: atomic writes and file digests."""

from __future__ import annotations

import hashlib
import os

import pytest

from dlcourse import files


def test_atomic_write_replaces_the_file(tmp_path):
    target = tmp_path / "sub" / "result.json"
    files.atomic_write(target, b"old")
    files.atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in target.parent.iterdir()] == ["result.json"]


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "result.json"
    files.atomic_write(target, b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        files.atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_atomic_write_hands_a_saver_a_path_with_the_same_suffix(tmp_path):
    seen = []

    def save(path):
        seen.append(path)
        path.write_bytes(b"weights")

    files.atomic_write(tmp_path / "model.keras", save)
    assert seen[0].suffix == ".keras" and seen[0].parent == tmp_path
    assert (tmp_path / "model.keras").read_bytes() == b"weights"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_a_failing_saver_leaves_nothing_behind(tmp_path):
    def save(path):
        path.write_bytes(b"half")
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):
        files.atomic_write(tmp_path / "model.pt", save)
    assert list(tmp_path.iterdir()) == []


def test_sha256_file_matches_hashlib(tmp_path):
    payload = os.urandom(3 << 20)
    (tmp_path / "blob").write_bytes(payload)
    assert files.sha256_file(tmp_path / "blob") == hashlib.sha256(payload).hexdigest()
