"""Writing files so that a crash never leaves half of one, and checking what was written."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: Path, payload: bytes | Callable[[Path], None]) -> None:
    """Write ``payload`` to ``path`` so that readers see the old file or the new, never half.

    ``payload`` is the bytes to write, or a function that writes the file at the path it is
    given (a framework's own ``save``); that path keeps ``path``'s suffix.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
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
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def sha256_file(path: Path) -> str:
    """Return the SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
