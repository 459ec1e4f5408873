"""Tests of dlcourse.files: atomic writes, file digests, and every fault of a place to write."""

from __future__ import annotations

import errno
import hashlib
import os

import pytest
from places import make_socket

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
    assert (
        files.sha256_file(tmp_path / "blob")
        == hashlib.sha256(payload).hexdigest()
    )


# --- faults of the place written to -----------------------------------------------------------


@pytest.fixture
def full_dir(tmpfs):
    """A folder on a 256 KiB file system: writing a megabyte there fails with ENOSPC."""
    return tmpfs("size=256k")


MEGABYTE = b"\0" * (1 << 20)


def test_atomic_write_on_a_full_disk_keeps_the_old_file_and_leaves_nothing(
    full_dir,
):
    target = full_dir / "result.json"
    files.atomic_write(target, b"old")
    with pytest.raises(
        files.StorageError, match="no space is left on the device"
    ) as err:
        files.atomic_write(target, MEGABYTE)
    assert str(target) in str(err.value) and "\n" not in str(err.value)
    assert target.read_bytes() == b"old"
    assert [p.name for p in full_dir.iterdir()] == ["result.json"]


def test_a_saver_that_fills_the_disk_leaves_nothing(full_dir):
    with pytest.raises(files.StorageError, match="free some space") as err:
        files.atomic_write(
            full_dir / "model.pt", lambda path: path.write_bytes(MEGABYTE)
        )
    assert str(full_dir / "model.pt") in str(err.value)
    assert list(full_dir.iterdir()) == []


def test_atomic_write_into_a_read_only_place(read_only_dir):
    target = read_only_dir / "sub" / "result.json"
    with pytest.raises(
        files.StorageError, match="read-only|permission denied"
    ) as err:
        files.atomic_write(target, b"new")
    assert str(target) in str(err.value)
    assert list(read_only_dir.iterdir()) == []


@pytest.mark.parametrize("below", [(), ("sub",)], ids=["parent", "grandparent"])
def test_atomic_write_below_a_file_names_the_file(tmp_path, below):
    blocker = tmp_path / "runs"
    blocker.write_bytes(b"not a folder")
    target = blocker.joinpath(*below, "result.json")
    with pytest.raises(files.StorageError) as err:
        files.atomic_write(target, b"new")
    message = str(err.value)
    assert message.startswith(f"cannot write {target}: ")
    assert f"{blocker} is a regular file, not a directory" in message
    assert [p.name for p in tmp_path.iterdir()] == ["runs"]


def test_atomic_write_onto_a_directory(tmp_path):
    (tmp_path / "result.json").mkdir()
    with pytest.raises(files.StorageError, match="it is a directory") as err:
        files.atomic_write(tmp_path / "result.json", b"new")
    assert str(tmp_path / "result.json") in str(err.value)
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


@pytest.mark.parametrize(
    "code",
    [
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.EISDIR,
    ],
    ids=errno.errorcode.get,
)
def test_each_fault_becomes_one_line_and_leaves_nothing(
    tmp_path, monkeypatch, code
):
    def failing_fsync(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(files.StorageError) as err:
        files.atomic_write(tmp_path / "result.json", b"new")
    message = str(err.value)
    assert message.startswith(f"cannot write {tmp_path / 'result.json'}: ")
    assert (
        "\n" not in message and os.strerror(code) not in message
    )  # our words, not errno's
    assert list(tmp_path.iterdir()) == []


def test_temporary_names_are_unique_per_call(tmp_path):
    seen = []
    for _ in range(3):
        files.atomic_write(
            tmp_path / "model.keras", lambda path: seen.append(path.name)
        )
    assert len(set(seen)) == 3


# --- require_writable_dir ---------------------------------------------------------------------

WHAT = "the run directory (--out)"


def test_require_writable_dir_creates_the_directory_and_leaves_nothing(
    tmp_path,
):
    target = tmp_path / "runs" / "x"
    assert files.require_writable_dir(target, WHAT) == target
    assert target.is_dir() and list(target.iterdir()) == []
    files.require_writable_dir(
        target, WHAT
    )  # an existing directory is fine too
    assert list(target.iterdir()) == []


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda path: path.write_bytes(b"x"), "a regular file"),
        (os.mkfifo, "a FIFO (named pipe)"),
        (lambda path: path.symlink_to("/dev/null"), "a character device"),
        (make_socket, "a socket"),
    ],
    ids=["file", "fifo", "link-to-device", "socket"],
)
def test_require_writable_dir_refuses_what_is_not_a_directory(
    tmp_path, make, kind
):
    target = tmp_path / "out"
    make(target)
    with pytest.raises(files.StorageError) as err:
        files.require_writable_dir(target, WHAT)
    assert str(err.value) == (
        f"{WHAT} {target} is {kind}, not a directory; remove it or choose another place"
    )


def test_require_writable_dir_below_a_file(tmp_path):
    (tmp_path / "runs").write_bytes(b"x")
    target = tmp_path / "runs" / "a" / "b"
    with pytest.raises(files.StorageError) as err:
        files.require_writable_dir(target, "the result cache ($DLCOURSE_CACHE)")
    assert str(err.value).startswith(
        f"the result cache ($DLCOURSE_CACHE) {target} cannot be made: "
        f"{tmp_path / 'runs'} is a regular file, not a directory"
    )


def test_require_writable_dir_refuses_a_broken_link(tmp_path):
    (tmp_path / "out").symlink_to(tmp_path / "gone")
    with pytest.raises(files.StorageError, match="broken symbolic link") as err:
        files.require_writable_dir(tmp_path / "out", WHAT)
    assert str(tmp_path / "out") in str(err.value)
    assert not (tmp_path / "gone").exists()


def test_require_writable_dir_tries_a_write_in_a_read_only_place(read_only_dir):
    target = read_only_dir / "runs"
    with pytest.raises(
        files.StorageError, match="read-only|permission denied"
    ) as err:
        files.require_writable_dir(target, WHAT)
    assert str(err.value).startswith(f"{WHAT} {target} cannot be written: ")
    assert list(read_only_dir.iterdir()) == []


def test_require_writable_dir_removes_what_it_made_when_the_probe_fails(tmpfs):
    # Two inodes: the root and one directory, so the probe file itself finds no room.
    place = tmpfs("size=256k,nr_inodes=2")
    with pytest.raises(files.StorageError, match="no space is left") as err:
        files.require_writable_dir(place / "runs", WHAT)
    assert str(place / "runs") in str(err.value)
    assert list(place.iterdir()) == []
