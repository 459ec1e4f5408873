"""Keep TensorFlow's known-harmless native start-up lines off the terminal, and nothing else.

TensorFlow's C++ code logs to file descriptor 2 itself, and no setting drops just its chatter:
TensorFlow 2.21 prints its ``I`` lines (oneDNN is on, no CUDA driver) whatever
``TF_CPP_MIN_LOG_LEVEL`` says, as absl logs everything until it is set up, and level 3, which
hides the ``E`` lines below, hides real errors too.
:func:`quiet` therefore points descriptor 2 at a pipe read by a small filter process that
passes every byte on except whole lines that match one of :data:`NOISE`. A process, not a
thread, so that a crash's last words (a fatal ``F`` line, then ``abort``) still arrive.

Python's own ``sys.stderr`` is given the original descriptor, so tracebacks, warnings and
progress bars are written as before, at once, to a stream that is still a terminal when it was
one. Only native writes and child processes' stderr pass through the filter.
``DLCOURSE_NATIVE_LOG=all`` turns the filter off.
"""

from __future__ import annotations

import atexit
import os
import re
import signal
import subprocess
import sys

SHOW_ALL_ENV = "DLCOURSE_NATIVE_LOG"
# absl's line head: severity, MMDD, time, thread id (``I0000 00:00:1796107963.777580    5674``).
_HEAD = rb"[IWEF]\d{4} [\d:.]+ +\d+ "
NOISE = (
    # absl's notice that it is not set up yet; TensorFlow's two libraries print it once each.
    re.compile(
        rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written"
    ),
    # Every CPU run uses oneDNN; the line only says so and how to turn it off.
    re.compile(_HEAD + rb"port\.cc:\d+\] oneDNN custom operations are on\."),
    # A machine without NVIDIA's driver: TensorFlow runs on the CPU, as it should there.
    re.compile(
        _HEAD
        + rb"cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine"
    ),
    # The same from CUDA: no driver library (303) or no GPU visible. Other failures still show.
    re.compile(
        _HEAD + rb"cuda_platform\.cc:\d+\] failed call to cuInit: "
        rb".*(?:UNKNOWN ERROR \(303\)|CUDA_ERROR_NO_DEVICE)"
    ),
    # tf.data's graphs name an attribute this build's op lacks; TensorFlow ignores it (2.18+).
    re.compile(
        _HEAD
        + rb"node_def_util\.cc:\d+\] NodeDef mentions attribute use_unbounded_threadpool "
    ),
)
# A line not yet ended waits for its end only while it may still become a noise line.
_NATIVE_START = re.compile(rb"[IWEF]\d{0,4}")
_ABSL_START = b"WARNING: All log messages"
_LONGEST_LINE = 1 << 16
_FILTER_SIGNALS = ("SIGINT", "SIGTERM", "SIGUSR1", "SIGUSR2")

_filter: subprocess.Popen | None = None


def quiet() -> bool:
    """Filter :data:`NOISE` out of descriptor 2 from now on; return whether the filter runs.

    Call it once at start-up, before TensorFlow is imported; later calls change nothing.
    """
    global _filter
    if _filter is not None:
        return True
    if (
        os.name != "posix"
        or os.environ.get(SHOW_ALL_ENV) == "all"
        or not __file__.endswith(".py")
    ):
        return False
    try:
        terminal = os.dup(2)
    except OSError:  # No stderr at all: nothing to keep quiet.
        return False
    read_end, write_end = os.pipe()
    try:
        # -I: only the standard library, whatever the working directory or PYTHONPATH holds.
        # This interpreter and this file, no shell.
        _filter = subprocess.Popen(
            [sys.executable, "-I", __file__],
            stdin=read_end,
            stdout=terminal,
            stderr=terminal,
        )
    except OSError:
        for fd in (terminal, read_end, write_end):
            os.close(fd)
        return False
    os.close(read_end)
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    os.dup2(write_end, 2)
    os.close(write_end)
    if sys.stderr is not None and sys.stderr is sys.__stderr__:
        sys.stderr = _text_stream(terminal, sys.stderr)
    atexit.register(_finish, os.getpid(), terminal)
    return True


def _text_stream(fd: int, like):
    """Return a text stream on ``fd`` that encodes and flushes as the stream ``like`` does."""
    # It becomes sys.stderr: open as long as the process, never closing the descriptor.
    stream = open(
        fd,
        "w",
        encoding=like.encoding,
        errors=like.errors,
        buffering=1,
        closefd=False,
    )
    stream.reconfigure(write_through=True)
    return stream


def _finish(owner: int, terminal: int) -> None:
    """Give descriptor 2 back to the terminal and let the filter pass on what it still holds."""
    if (
        os.getpid() != owner or _filter is None
    ):  # A forked child: the filter is its parent's.
        return
    if sys.stderr is not None:
        sys.stderr.flush()
    os.dup2(terminal, 2)
    try:
        # The filter ends when the last writer is gone; a child still running may hold on.
        _filter.wait(timeout=2)
    except subprocess.TimeoutExpired:
        pass


def is_noise(line: bytes) -> bool:
    """Return whether a line (with or without its line end) is one of :data:`NOISE`."""
    return any(pattern.match(line) for pattern in NOISE)


def _may_become_noise(partial: bytes) -> bool:
    """Return whether a line that has not ended yet may still turn out to be noise."""
    native = _NATIVE_START.fullmatch(partial[:5]) and partial[5:6] in (
        b"",
        b" ",
    )
    return bool(native) or _ABSL_START.startswith(partial[: len(_ABSL_START)])


class LineFilter:
    """Pass bytes through, less the lines of :data:`NOISE`; ``\\r`` ends a piece like ``\\n``.

    ``feed`` returns what may be written now: a piece that has not ended is passed on at once,
    as progress bars need, unless it may still become a noise line.
    """

    def __init__(self) -> None:
        self.held = b""
        self.passing = (
            False  # The start of the current piece is already passed on.
        )

    def feed(self, data: bytes) -> bytes:
        """Return the part of ``held + data`` that may be written now."""
        data, self.held = self.held + data, b""
        out = []
        start = 0
        for end in (m.end() for m in re.finditer(rb"[\r\n]", data)):
            piece = data[start:end]
            start = end
            if self.passing or not is_noise(piece):
                out.append(piece)
            self.passing = False
        rest = data[start:]
        if rest:
            if (
                self.passing
                or not _may_become_noise(rest)
                or len(rest) > _LONGEST_LINE
            ):
                out.append(rest)
                self.passing = True
            else:
                self.held = rest
        return b"".join(out)

    def close(self) -> bytes:
        """Return what is still held, unless it is a noise line without its line end."""
        rest, self.held = self.held, b""
        return b"" if is_noise(rest) else rest


def forward(source: int, sink: int) -> None:
    """Copy ``source`` to ``sink`` until end of file, less the noise; never stop reading early."""
    lines = LineFilter()
    sink_open = True
    while True:
        data = os.read(source, 1 << 16)
        out = lines.feed(data) if data else lines.close()
        while out and sink_open:
            try:
                out = out[os.write(sink, out) :]
            except OSError:  # The terminal is gone; keep reading so that writers never block.
                sink_open = False
        if not data:
            return


if __name__ == "__main__":
    # The filter process: a scheduler's or Ctrl-C's signal is for the program, which may still
    # have things to say before it exits; the filter ends when the pipe's last writer is gone.
    for name in _FILTER_SIGNALS:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    try:
        forward(0, 1)
    except (
        Exception
    ):  # A fault in the filter must not swallow the rest: copy it unchanged.
        while chunk := os.read(0, 1 << 16):
            os.write(1, chunk)
