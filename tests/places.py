"""Places that cannot be written, and special files, for the file-system fault tests."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest


def mount_tmpfs(folder: Path, options: str) -> None:
    """Mount a small tmpfs on ``folder``, or skip the test saying why that cannot be done here."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
            capture_output=True,
            text=True,
        )
    except FileNotFoundError:
        pytest.skip("no mount command here")
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")


def make_socket(path: Path) -> None:
    """Leave a bound Unix socket at ``path``."""
    # Bound by a relative name: socket paths are limited to 108 bytes, tmp_path may be longer.
    cwd = Path.cwd()
    os.chdir(path.parent)
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(path.name)
    finally:
        os.chdir(cwd)
