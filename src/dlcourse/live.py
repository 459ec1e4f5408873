"""Live mode: the built book served on 127.0.0.1 beside a Jupyter server that runs its code.

The book's pages have a "Live code" button (``book/_ext/dlcourse_live.py``); it asks the
folder it was served from for ``dlcourse-live.json``, which only this module serves: the Jupyter
server's address and its token, and the folder each kind of page runs in. The Jupyter server
listens on 127.0.0.1 only, wants the token, and answers pages of the book's origin alone.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import io
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
# The file the pages' script reads; served from memory, never written into the book.
SETTINGS_FILE = "dlcourse-live.json"
# What runs the cells: the server, and the Python kernel it starts in this environment.
NEEDED = {"jupyter_server": "jupyter-server", "ipykernel": "ipykernel"}
INSTALL = 'pip install "dlcourse[live]"'


class LiveError(RuntimeError):
    """Live mode cannot start: something it needs is missing, or the server failed."""


@dataclass(frozen=True)
class LiveSettings:
    """What live mode serves and where the code of each kind of page runs."""

    book: Path  # the built HTML book
    chapters: Path  # the folder a chapter's cells run in
    examples: Path  # the folder a gallery example's cells run in
    port: int = 0  # the book's port on 127.0.0.1; 0 picks a free one
    # Where the Jupyter server logs; None: this terminal.
    log: Path | None = None

    def check(self) -> None:
        """Raise LiveError naming what is missing: the server's packages or the book."""
        missing = [
            name
            for module, name in NEEDED.items()
            if importlib.util.find_spec(module) is None
        ]
        if missing:
            raise LiveError(
                f"live mode needs {' and '.join(missing)}, not installed: {INSTALL}"
            )
        if not (self.book / "index.html").is_file():
            raise LiveError(
                f"no built book in {self.book} (no index.html): build it with "
                "`nox -s book`, or pass --book with the folder of the book's HTML"
            )
        for folder in (self.chapters, self.examples):
            if not folder.is_dir():
                raise LiveError(f"{folder} is not a folder")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class _BookHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the book's files and the live settings, to requests for this host alone."""

    def __init__(self, *args, settings: bytes, host: str, **kwargs):
        self.settings, self.host = settings, host
        super().__init__(*args, **kwargs)

    def send_head(self):
        # Another name for this address (DNS rebinding) must not read the token.
        if self.headers.get("Host") != self.host:
            self.send_error(403, f"open http://{self.host}/")
            return None
        if self.path.split("?", 1)[0] == f"/{SETTINGS_FILE}":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(self.settings)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            return io.BytesIO(self.settings)
        return super().send_head()

    def log_message(self, *args):
        pass


class LiveMode:
    """The book on one port of 127.0.0.1 and a Jupyter server on another; a context manager."""

    def __init__(self, settings: LiveSettings) -> None:
        self.settings = settings
        self.token = secrets.token_urlsafe(32)
        self.jupyter_url = ""
        self.book_url = ""
        self._jupyter: subprocess.Popen | None = None
        self._log = None
        self._book: http.server.ThreadingHTTPServer | None = None
        self._serving: threading.Thread | None = None

    def __enter__(self) -> LiveMode:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, timeout: float = 60) -> None:
        """Start both servers; raise LiveError if the Jupyter server does not answer."""
        self.settings.check()
        self._book = http.server.ThreadingHTTPServer(
            (HOST, self.settings.port), http.server.BaseHTTPRequestHandler
        )
        book_port = self._book.server_address[1]
        self.book_url = f"http://{HOST}:{book_port}/"
        try:
            self._start_jupyter(origin=self.book_url.rstrip("/"))
            self._wait_for_jupyter(timeout)
        except BaseException:
            self.stop()
            raise
        served = json.dumps(
            {
                "baseUrl": self.jupyter_url,
                "token": self.token,
                "folders": {
                    "chapter": str(self.settings.chapters.resolve()),
                    "gallery": str(self.settings.examples.resolve()),
                },
            }
        ).encode()
        self._book.RequestHandlerClass = functools.partial(
            _BookHandler,
            directory=str(self.settings.book),
            settings=served,
            host=f"{HOST}:{book_port}",
        )
        self._serving = threading.Thread(
            target=self._book.serve_forever, daemon=True
        )
        self._serving.start()

    def _start_jupyter(self, origin: str) -> None:
        port = free_port()
        self.jupyter_url = f"http://{HOST}:{port}/"
        # The kernels get this environment (the data's folder, Keras's backend); the token is
        # read by the server from it, kept off its command line, which others can list.
        env = {**os.environ, "JUPYTER_TOKEN": self.token}
        if self.settings.log:
            self._log = open(self.settings.log, "ab")
        command = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            f"--ServerApp.ip={HOST}",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.allow_origin={origin}",
            f"--ServerApp.root_dir={self.settings.chapters.resolve()}",
            # Cells run code already; no shell in the browser besides.
            "--ServerApp.terminals_enabled=False",
            # Every page opened starts a kernel; one no tab is connected to any more, left
            # idle for 5 minutes, is shut down, with the memory its framework holds.
            "--MappingKernelManager.cull_idle_timeout=300",
            "--MappingKernelManager.cull_interval=60",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            # The reader runs live mode as root (a container, say): the server then refuses
            # to start unless told.
            command.append("--ServerApp.allow_root=True")
        # Its own process group: the terminal's Ctrl-C stops live mode, which stops the server.
        self._jupyter = subprocess.Popen(  # noqa: S603 - this Python, fixed arguments
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT if self._log else None,
            start_new_session=True,
        )

    def _wait_for_jupyter(self, timeout: float) -> None:
        request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1, built here
            f"{self.jupyter_url}api/status",
            headers={"Authorization": f"token {self.token}"},
        )
        # Straight to 127.0.0.1, whatever proxy the environment names.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._jupyter.poll() is not None:
                where = (
                    f": see {self.settings.log}" if self.settings.log else ""
                )
                raise LiveError(
                    f"the Jupyter server stopped at start, status {self._jupyter.returncode}"
                    + where
                )
            try:
                with opener.open(request, timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise LiveError(
            f"the Jupyter server did not answer on {self.jupyter_url} in {timeout:.0f} s"
        )

    def wait(self) -> None:
        """Return never while the Jupyter server runs; raise LiveError once it has stopped."""
        status = self._jupyter.wait()
        raise LiveError(f"the Jupyter server stopped, status {status}")

    def stop(self) -> None:
        """Stop the Jupyter server (and its kernels) and the book's server."""
        if self._jupyter is not None and self._jupyter.poll() is None:
            # SIGTERM: the server shuts its kernels down before it exits.
            self._jupyter.send_signal(signal.SIGTERM)
            try:
                self._jupyter.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self._jupyter.pid, signal.SIGKILL)
                self._jupyter.wait()
        self._jupyter = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._serving is not None:
            self._book.shutdown()
            self._serving = None
        if self._book is not None:
            self._book.server_close()
            self._book = None
