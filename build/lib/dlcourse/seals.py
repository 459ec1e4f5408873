"""Seals on what a run writes: an HMAC of the whole record under a key kept outside run folders.

A checkpoint's or result's state file carries a seal over every field in it (the run's key,
epochs, history, metrics, the weights' SHA-256). An edit to the file, by hand or by a flipped
bit, breaks the seal; so does a copy whose seal was recomputed without the key, which lives in
the per-user cache (``$DLCOURSE_SEAL_KEY`` names another file), never in a run directory.
A run directory copied to another user or machine is therefore trained again there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

import pooch

KEY_ENV_VAR = "DLCOURSE_SEAL_KEY"
SEAL_FIELD = "seal"
KEY_BYTES = 32


def key_path() -> Path:
    """Return the file that holds this user's sealing key."""
    if os.environ.get(KEY_ENV_VAR):
        return Path(os.environ[KEY_ENV_VAR]).expanduser()
    return Path(pooch.os_cache("dlcourse")) / "seal.key"


def _key() -> bytes:
    """Return this user's sealing key, creating it on first use."""
    path = key_path()
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = secrets.token_bytes(KEY_BYTES)
        try:
            # O_EXCL: of two processes creating it at once, one writes and both read its key.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(fresh)
                handle.flush()
                os.fsync(handle.fileno())
        key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise SealKeyError(
            f"{path} is not a sealing key ({len(key)} bytes, not {KEY_BYTES}); delete it, and "
            "runs sealed with the old key are trained again"
        )
    return key


class SealKeyError(Exception):
    """The sealing key file exists but cannot be a key."""


def _digest(record: dict) -> str:
    """Return the HMAC-SHA256 of a record's canonical JSON, without its seal."""
    body = {name: value for name, value in record.items() if name != SEAL_FIELD}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hmac.new(_key(), text.encode(), hashlib.sha256).hexdigest()


def sealed(record: dict) -> dict:
    """Return a copy of ``record`` with its seal added."""
    return {**record, SEAL_FIELD: _digest(record)}


def is_sealed(record: dict) -> bool:
    """Return True if ``record`` carries the seal this user's key gives it."""
    seal = record.get(SEAL_FIELD)
    if not isinstance(seal, str):
        return False
    try:
        expected = _digest(record)
    except (TypeError, ValueError):
        return False
    return hmac.compare_digest(seal, expected)
