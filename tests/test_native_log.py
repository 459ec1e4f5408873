"""Tests of dlcourse.native_log: TensorFlow's start-up noise goes, every other byte stays."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest

from dlcourse import native_log

pytestmark = pytest.mark.skipif(
    os.name != "posix", reason="the filter works on POSIX only"
)

# Lines TensorFlow 2.21 printed to stderr during `dlcourse train softmax` on a CPU-only machine.
NOISE_SEEN = [
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    b"I0000 00:00:1796107963.777580    5674 port.cc:153] oneDNN custom operations are on. You may"
    b" see slightly different numerical results due to floating-point round-off errors from"
    b" different computation orders. To turn them off, set the environment variable"
    b" `TF_ENABLE_ONEDNN_OPTS=0`.",
    b"I0000 00:00:1796107963.777895    5674 cudart_stub.cc:31] Could not find cuda drivers on your"
    b" machine, GPU will not be used.",
    b"E0000 00:00:1796107967.280410    5674 cuda_platform.cc:52] failed call to cuInit: INTERNAL:"
    b" CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    b"E0000 00:00:1796107968.066902    5674 node_def_util.cc:682] NodeDef mentions attribute"
    b" use_unbounded_threadpool which is not in the op definition: Op<name=MapDataset;"
    b" signature=input_dataset:variant, other_arguments: -> handle:variant> This may be expected"
    b" if your graph generating binary is newer  than this binary. Unknown attributes will be"
    b" ignored. NodeDef: {{node ParallelMapDatasetV2/_15}}",
]
# Lines like them that say something is wrong: they must reach the user.
REAL = [
    b"E0000 00:00:1796107967.280410    5674 cuda_platform.cc:52] failed call to cuInit: INTERNAL:"
    b" CUDA error: Failed call to cuInit: CUDA_ERROR_SYSTEM_DRIVER_MISMATCH",
    b"E0000 00:00:1796107968.066902    5674 node_def_util.cc:682] NodeDef mentions attribute"
    b" some_other_attribute which is not in the op definition",
    b"F0000 00:00:1796107968.066902    5674 port.cc:153] Check failed: ok",
    b"W0000 00:00:1796107968.066902    5674 gpu_device.cc:2342] Cannot dlopen some GPU libraries.",
    b"Traceback (most recent call last):",
    b"ERROR: All log messages were lost",
]


@pytest.mark.parametrize("line", NOISE_SEEN)
def test_every_line_seen_is_noise_with_or_without_its_line_end(line):
    assert native_log.is_noise(line)
    assert native_log.is_noise(line + b"\n")


@pytest.mark.parametrize("line", REAL)
def test_real_errors_are_not_noise(line):
    assert not native_log.is_noise(line)


def test_the_filter_drops_noise_and_passes_the_rest_unchanged():
    lines = native_log.LineFilter()
    text = b"".join(
        line + b"\n"
        for line in [NOISE_SEEN[0], REAL[0], NOISE_SEEN[3], REAL[4]]
    )
    assert lines.feed(text) + lines.close() == REAL[0] + b"\n" + REAL[4] + b"\n"


def test_a_progress_bar_passes_at_once_piece_by_piece():
    lines = native_log.LineFilter()
    assert lines.feed(b"\r 10%|#") == b"\r 10%|#"
    assert lines.feed(b"#") == b"#"
    assert lines.feed(b"\r 20%|##") == b"\r 20%|##"
    assert lines.feed(b"\n") == b"\n"
    assert lines.close() == b""


def test_a_line_that_may_be_noise_waits_for_its_end():
    noise, real = NOISE_SEEN[3] + b"\n", REAL[0] + b"\n"
    lines = native_log.LineFilter()
    assert lines.feed(noise[:3]) == b""
    assert lines.feed(noise[3:40]) == b""
    assert lines.feed(noise[40:] + real[:50]) == b""
    assert lines.feed(real[50:]) == real
    # Cut off before its end, a noise line is still dropped; anything else still arrives.
    assert lines.feed(noise[:-1]) == b""
    assert lines.close() == b""
    assert lines.feed(b"E12") == b""
    assert lines.close() == b"E12"


def _run_child(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python after ``native_log.quiet()``; capture its output."""
    prelude = "import os, sys\nfrom dlcourse import native_log\nassert native_log.quiet()\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        timeout=120,
        env={**os.environ, **env},
    )


def test_a_quiet_process_shows_its_errors_but_not_the_noise():
    noise, absl, real = (
        line + b"\n" for line in (NOISE_SEEN[3], NOISE_SEEN[0], REAL[0])
    )
    child = _run_child(
        f"""
        assert native_log.quiet()  # A second call changes nothing.
        os.write(2, {noise!r})
        os.write(2, {real!r})
        print("own message", file=sys.stderr)
        os.write(2, {absl!r})
        sys.stderr.write("\\r 50%|#####")
        raise SystemExit("last words")
        """
    )
    assert child.returncode == 1
    # Python's own writes go straight to stderr; native ones pass the filter, a moment later.
    assert child.stderr.count(real) == 1
    assert (
        child.stderr.replace(real, b"")
        == b"own message\n\r 50%|#####last words\n"
    )


def test_children_forks_and_a_crash_lose_nothing_and_block_nothing():
    written = NOISE_SEEN[2] + b"\nfrom a child\n"
    grandchild = f"import os; os.write(2, {written!r})"
    child = _run_child(
        f"""
        import resource, subprocess
        subprocess.run([sys.executable, "-c", {grandchild!r}], check=True)
        if os.fork() == 0:
            os.write(2, b"from a fork\\n")
            os._exit(0)
        os.wait()
        os.write(2, b"before the crash\\n")
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # No core file in the working folder.
        os.abort()
        """
    )
    assert child.returncode < 0
    assert child.stderr.splitlines() == [
        b"from a child",
        b"from a fork",
        b"before the crash",
    ]


def test_the_filter_can_be_turned_off():
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from dlcourse import native_log; print(native_log.quiet())",
        ],
        capture_output=True,
        env={**os.environ, native_log.SHOW_ALL_ENV: "all"},
        timeout=60,
    )
    assert shown.stdout == b"False\n"


def _without_head(line: bytes) -> bytes:
    """Return a native log line without its time and thread, which differ from run to run."""
    return re.sub(rb"^[IWEF]\d{4} [\d:.]+ +\d+ ", b"", line)


@pytest.mark.slow
def test_importing_tensorflow_under_quiet_prints_none_of_its_start_up_noise():
    code = "import tensorflow as tf; print(int(tf.constant(1) + 1))"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    runs = [
        subprocess.run(
            [sys.executable, "-c", prelude + code],
            capture_output=True,
            env=env,
            timeout=300,
            check=True,
        )
        for prelude in (
            "",
            "from dlcourse import native_log; native_log.quiet(); ",
        )
    ]
    loud, quiet = (run.stderr.splitlines() for run in runs)
    assert [run.stdout for run in runs] == [b"2\n", b"2\n"]
    assert any(native_log.is_noise(line) for line in loud)
    assert not any(b"E0000" in line or b"cuInit" in line for line in quiet)
    # Whatever else TensorFlow says still arrives.
    expected = [
        _without_head(line) for line in loud if not native_log.is_noise(line)
    ]
    assert [_without_head(line) for line in quiet] == expected
