"""Fixtures shared by the test modules."""

from __future__ import annotations

import functools
import gc
import gzip
import http.server
import os
import shutil
import subprocess
import threading
from pathlib import Path

import bookpages
import pytest
from places import mount_tmpfs

from dlcourse import data, profiles

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST, whole, from $DLCOURSE_DATA or the user's cache, whatever the profile."""
    return data.load_mnist(progressbar=False, profile=profiles.PROFILES["full"])


@pytest.fixture(scope="session")
def mirror_dir(tmp_path_factory) -> Path:
    """A folder laid out like a public mirror: the four real MNIST files, gzip'd."""
    folder = tmp_path_factory.mktemp("mirror")
    for name, path in data.fetch_mnist(progressbar=False).items():
        if path.suffix == ".gz":
            shutil.copyfile(path, folder / path.name)
        else:
            (folder / f"{name}.gz").write_bytes(
                gzip.compress(path.read_bytes(), compresslevel=1)
            )
    return folder


class _Server:
    """A static HTTP server on 127.0.0.1 that records the paths it was asked for."""

    def __init__(self, folder: Path) -> None:
        self.requests: list[str] = []
        log = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the name http.server dispatches to
                log.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        handler = functools.partial(Handler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, daemon=True
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    """Return a function that serves a folder over HTTP for the length of the test."""
    servers: list[_Server] = []

    def start(folder: Path) -> _Server:
        server = _Server(folder).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def tmpfs(tmp_path):
    """Return a function that mounts a tmpfs with the options given; unmounted after the test."""
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        folder = tmp_path / f"tmpfs{len(mounted)}"
        folder.mkdir()
        mount_tmpfs(folder, options)
        mounted.append(folder)
        return folder

    yield mount
    gc.collect()  # files a failed write left open are closed before the unmount
    for folder in reversed(mounted):
        subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture
def read_only_dir(tmp_path, tmpfs):
    """A folder nobody can write into: a read-only mount for root, mode 0500 for anyone else."""
    if os.geteuid() == 0:
        # Root ignores permission bits, but not a read-only mount.
        yield tmpfs("ro,size=64k")
        return
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o500)
    yield folder
    folder.chmod(0o700)


@pytest.fixture(scope="session")
def chromium():
    """Yield Debian's Chromium, headless and driven by Playwright, shared by the whole session."""
    if not bookpages.CHROMIUM.exists():
        pytest.fail(
            f"{bookpages.CHROMIUM} is missing: `nox -s browser` installs Debian's chromium"
        )
    # Imported here, so that collecting the other tests does not need Playwright.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(bookpages.CHROMIUM),
            args=bookpages.CHROMIUM_ARGS,
        )
        yield browser
        browser.close()
