"""Writing files so that a crash never leaves half of one, and checking where they can go.

Every file-system fault comes out as a ``StorageError`` of one line: which path, what is wrong
with it, and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path


class StorageError(Exception):
    """A place to write to or read from cannot be used."""


_FULL = "free some space or choose another place"
_NOT_A_DIRECTORY = "a part of the path is a file, not a directory"

# What each fault of a place means, and what to do about it.
_FAULTS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("no space is left on the device", _FULL),
    errno.EDQUOT: ("the disk quota is used up", _FULL),
    errno.EACCES: (
        "permission denied",
        "fix its permissions or choose another place",
    ),
    errno.EPERM: (
        "the operation is not permitted",
        "fix its permissions or choose another place",
    ),
    errno.EROFS: ("the file system is read-only", "choose a writable place"),
    errno.ENOTDIR: (
        _NOT_A_DIRECTORY,
        "remove that file or choose another place",
    ),
    errno.EEXIST: (
        _NOT_A_DIRECTORY,
        "remove that file or choose another place",
    ),
    errno.EISDIR: (
        "it is a directory",
        "remove the directory or choose another name",
    ),
}


def file_kind(mode: int) -> str:
    """Return what a ``stat`` mode is, in words: "a directory", "a FIFO (named pipe)", ..."""
    kinds = (
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next(
        (name for test, name in kinds if test(mode)), "not a regular file"
    )


def _first_non_directory(path: Path) -> Path | None:
    """Return the first existing part of ``path``, from the root down, that is not a directory."""
    for part in (*reversed(path.parents), path):
        try:
            if not stat.S_ISDIR(os.stat(part).st_mode):
                return part
        except OSError:
            return None
    return None


def explain(err: OSError, path: Path) -> str:
    """Return what ``err`` means for ``path`` and what to do, as "what is wrong; what to do"."""
    reason, advice = _FAULTS.get(
        err.errno or 0, (err.strerror or str(err), "check the path")
    )
    if (
        reason == _NOT_A_DIRECTORY
        and (blocker := _first_non_directory(path)) is not None
    ):
        reason = f"{blocker} is {file_kind(os.stat(blocker).st_mode)}, not a directory"
    return f"{reason}; {advice}"


def atomic_write(path: Path, payload: bytes | Callable[[Path], None]) -> None:
    """Write ``payload`` to ``path`` so that readers see the old file or the
    new, never half.

    ``payload`` is the bytes to write, or a function that writes the file at the
    path it is given (a framework's own ``save``); that path keeps ``path``'s
    suffix. A fault of the place (full, read-only, not a directory, ...) raises
    ``StorageError``; nothing is left behind.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # A name unique to this call: two writers of one file never share a
        # temporary.
        fd, tmp = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix
        )
    except OSError as err:
        raise _write_error(err, path) from err
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(payload, bytes):
                handle.write(payload)
        if not isinstance(payload, bytes):
            payload(Path(tmp))
        # The bytes reach the disk before the new name does.
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError) and err.errno in _FAULTS:
            raise _write_error(err, path) from err
        raise


def _write_error(err: OSError, path: Path) -> StorageError:
    """Return the one-line StorageError for a failed write of ``path``."""
    return StorageError(f"cannot write {path}: {explain(err, path)}")


def require_writable_dir(path: Path, what: str) -> Path:
    """Return ``path`` as a directory this process can write into, created if missing.

    Checked before any work by creating and removing a file in it, so permissions, ACLs and
    read-only mounts are caught whoever runs it. ``what`` names the place in the message, e.g.
    "the run directory (--out)". Raises ``StorageError`` saying what is wrong.
    """
    path = Path(path)
    blocker = _first_non_directory(path)
    if blocker is not None:
        kind = file_kind(os.stat(blocker).st_mode)
        head = (
            f"{what} {path}"
            if blocker == path
            else f"{what} {path} cannot be made: {blocker}"
        )
        raise StorageError(
            f"{head} is {kind}, not a directory; remove it or choose another place"
        )
    if os.path.islink(path) and not path.exists():
        raise StorageError(
            f"{what} {path} is a broken symbolic link; remove it or choose another"
        )
    missing = [
        part for part in (path, *path.parents) if not os.path.lexists(part)
    ]
    probe = path / f".dlcourse-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"\0")
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as err:
        # Leave nothing of this attempt behind: the directories it made go too.
        for part in missing:
            with contextlib.suppress(OSError):
                part.rmdir()
        raise StorageError(
            f"{what} {path} cannot be written: {explain(err, path)}"
        ) from err
    return path


def sha256_file(path: Path) -> str:
    """Return the SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
