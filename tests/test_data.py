"""Tests of dlcourse.data: the real files, bad files, downloads, and the profiles' subsets."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import threading
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
from places import make_socket

from dlcourse import data, profiles

# Published per-digit counts of the MNIST training set.
TRAIN_CLASS_COUNTS = [
    5923,
    6742,
    5958,
    6131,
    5842,
    5421,
    5918,
    6265,
    5851,
    5949,
]


# --- the real files -------------------------------------------------------------------------


def test_real_mnist_shapes_and_types(mnist):
    assert mnist.train_images.shape == (60_000, 28, 28)
    assert mnist.test_images.shape == (10_000, 28, 28)
    assert mnist.train_labels.shape == (60_000,)
    assert mnist.test_labels.shape == (10_000,)
    assert mnist.train_images.dtype == np.uint8
    assert mnist.train_labels.dtype == np.int64


def test_real_mnist_values(mnist):
    assert mnist.train_images.min() == 0 and mnist.train_images.max() == 255
    assert set(np.unique(mnist.test_labels)) == set(range(10))
    assert np.bincount(mnist.train_labels).tolist() == TRAIN_CLASS_COUNTS
    # The first training digits of the original file, in order.
    assert mnist.train_labels[:8].tolist() == [5, 0, 4, 1, 9, 2, 1, 3]


def test_arrays_are_read_only(mnist):
    with pytest.raises(ValueError):
        mnist.train_images[0, 0, 0] = 1
    with pytest.raises(ValueError):
        mnist.test_labels[0] = 3


def test_flatten_and_one_hot(mnist):
    rows = data.flatten(mnist.test_images[:5])
    assert rows.shape == (5, 784) and rows.dtype == np.float32
    assert 0.0 <= rows.min() and rows.max() <= 1.0
    np.testing.assert_allclose(
        rows[0].reshape(28, 28) * 255, mnist.test_images[0], atol=1e-4
    )
    encoded = data.one_hot(np.array([8, 0]))
    assert encoded.tolist()[0] == [0, 0, 0, 0, 0, 0, 0, 0, 1, 0]
    assert encoded.sum(axis=1).tolist() == [1, 1]
    with pytest.raises(ValueError, match="0..9"):
        data.one_hot(np.array([10]))


def test_data_dir_order(tmp_path, monkeypatch):
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "from-env"))
    assert data.data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert data.data_dir() == tmp_path / "from-env"
    monkeypatch.delenv(data.ENV_VAR)
    assert data.data_dir().name == "mnist" and "dlcourse" in str(
        data.data_dir()
    )


def test_plain_idx_files_are_accepted(tmp_path, mirror_dir):
    for gz in mirror_dir.iterdir():
        (tmp_path / gz.stem).write_bytes(gzip.decompress(gz.read_bytes()))
    mnist = data.load_mnist(tmp_path, mirrors=[], progressbar=False)
    assert mnist.test_images.shape == (10_000, 28, 28)


# --- bad files --------------------------------------------------------------------------------


def _idx(magic: int, dims: tuple[int, ...], values: np.ndarray) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(
        d.to_bytes(4, "big") for d in dims
    )
    return header + values.astype(np.uint8).tobytes()


def _small_set(folder: Path, **override: bytes) -> Path:
    """Write four small, well-formed IDX files (3 train, 2 test), with some replaced."""
    rng = np.random.default_rng(0)
    files = {
        "train-images-idx3-ubyte": _idx(
            0x803, (3, 28, 28), rng.integers(0, 256, (3, 28, 28))
        ),
        "train-labels-idx1-ubyte": _idx(0x801, (3,), np.array([1, 2, 3])),
        "t10k-images-idx3-ubyte": _idx(
            0x803, (2, 28, 28), rng.integers(0, 256, (2, 28, 28))
        ),
        "t10k-labels-idx1-ubyte": _idx(0x801, (2,), np.array([4, 5])),
    }
    files.update(override)
    folder.mkdir(parents=True, exist_ok=True)
    for name, payload in files.items():
        (folder / f"{name}.gz").write_bytes(gzip.compress(payload))
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(
    ("override", "culprit", "message"),
    [
        (
            {"train-labels-idx1-ubyte": _idx(0x803, (3,), np.array([1, 2, 3]))},
            "train-labels",
            "magic number",
        ),
        (
            {
                "t10k-images-idx3-ubyte": _idx(
                    0x803, (2, 27, 27), np.zeros((2, 27, 27))
                )
            },
            "t10k-images",
            "27x27",
        ),
        (
            {
                "t10k-images-idx3-ubyte": _idx(
                    0x803, (3, 28, 28), np.zeros((2, 28, 28))
                )
            },
            "t10k-images",
            "declares dimensions",
        ),
        (
            {"train-labels-idx1-ubyte": _idx(0x801, (2,), np.array([1, 2]))},
            "train-labels",
            "do not belong together",
        ),
        (
            {"t10k-labels-idx1-ubyte": _idx(0x801, (2,), np.array([4, 11]))},
            "t10k-labels",
            "label 11 at index 1 is outside 0-9",
        ),
        ({}, "train-images", "SHA-256"),
    ],
    ids=[
        "magic",
        "image-size",
        "dimensions",
        "count-mismatch",
        "label-range",
        "hash",
    ],
)
def test_bad_files_raise_one_clear_error(tmp_path, override, culprit, message):
    folder = _small_set(tmp_path / "data", **override)
    before = _snapshot(folder)
    with pytest.raises(data.DataError, match=message) as err:
        data.load_mnist(folder, mirrors=[], progressbar=False)
    assert culprit in str(err.value)
    # Nothing was written, and a second attempt is refused the same way: no bad data is cached.
    assert _snapshot(folder) == before
    with pytest.raises(data.DataError, match=message):
        data.load_mnist(folder, mirrors=[], progressbar=False)


def test_truncated_gzip(tmp_path):
    folder = _small_set(tmp_path / "data")
    labels = folder / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[:-12])
    with pytest.raises(data.DataError, match="truncated or corrupt") as err:
        data.load_mnist(folder, mirrors=[], progressbar=False)
    assert "t10k-labels" in str(err.value)


def test_empty_file(tmp_path):
    folder = _small_set(tmp_path / "data", **{"train-labels-idx1-ubyte": b""})
    with pytest.raises(data.DataError, match="too short"):
        data.load_mnist(folder, mirrors=[], progressbar=False)


# --- faults of the paths: one line naming the path, found before any data is read ------------


def _error_within(seconds: float, call) -> BaseException | None:
    """Return what ``call`` raises, failing the test if it blocks (say, on opening a FIFO)."""
    caught: list[BaseException] = []

    def run():
        try:
            call()
        except BaseException as err:  # noqa: BLE001 - handed to the test to judge
            caught.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: it blocked"
    return caught[0] if caught else None


def _load(folder) -> None:
    # A closed port: were a download attempted, the message would say so.
    data.load_mnist(folder, mirrors=["http://127.0.0.1:9/"], progressbar=False)


def test_a_data_folder_that_is_a_file(tmp_path, monkeypatch):
    folder = tmp_path / "mnist"
    folder.write_bytes(b"not a folder")
    expected = (
        f"the data folder {folder} is a regular file, not a folder; "
        f"set {data.ENV_VAR} (or pass the directory) to the folder that holds the MNIST files"
    )
    with pytest.raises(data.DataError) as err:
        data.check_data_files(folder)
    assert str(err.value) == expected
    monkeypatch.setenv(data.ENV_VAR, str(folder))
    with pytest.raises(data.DataError) as err:
        _load(None)
    assert str(err.value) == expected


def test_a_data_folder_below_a_file(tmp_path):
    (tmp_path / "mnist").write_bytes(b"not a folder")
    folder = tmp_path / "mnist" / "raw"
    with pytest.raises(data.DataError) as err:
        _load(folder)
    assert str(err.value).startswith(
        f"the data folder {folder} cannot be used: {tmp_path / 'mnist'} is a regular file"
    )


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (Path.mkdir, "is a directory, not a data file"),
        (os.mkfifo, "is a FIFO (named pipe), not a data file"),
        (
            lambda path: path.symlink_to("/dev/null"),
            "is a character device, not a data file",
        ),
        (make_socket, "is a socket, not a data file"),
        (
            lambda path: path.symlink_to(path.parent / "gone"),
            "is a broken symbolic link",
        ),
    ],
    ids=["directory", "fifo", "link-to-device", "socket", "broken-link"],
)
def test_a_data_file_that_is_not_a_regular_file(tmp_path, make, kind):
    folder = _small_set(tmp_path / "data")
    culprit = folder / "t10k-labels-idx1-ubyte.gz"
    culprit.unlink()
    make(culprit)
    for call in (data.check_data_files, _load):
        err = _error_within(10, lambda call=call: call(folder))
        assert isinstance(err, data.DataError), err
        assert str(err).startswith(f"{culprit} {kind}") and "\n" not in str(err)


def test_an_unreadable_data_file(tmp_path):
    folder = _small_set(tmp_path / "data")
    culprit = folder / "train-labels-idx1-ubyte.gz"
    culprit.chmod(0)
    if os.geteuid() != 0:
        with pytest.raises(data.DataError) as err:
            data.check_data_files(folder)
        message = str(err.value)
    else:
        # Root reads any file: the check runs in a child without the capabilities that allow it.
        if shutil.which("setpriv") is None:
            pytest.skip(
                "running as root, and no setpriv to drop the override of file modes"
            )
        drop = "--bounding-set=-dac_override,-dac_read_search"
        child = subprocess.run(
            [
                "setpriv",
                drop,
                sys.executable,
                "-c",
                CHECK_IN_A_CHILD,
                str(folder),
            ],
            capture_output=True,
            text=True,
        )
        assert child.returncode == 3, child.stderr
        message = child.stdout.strip()
    assert message.startswith(f"{culprit}: permission denied; make it readable")


CHECK_IN_A_CHILD = """
import sys
from dlcourse import data
try:
    data.check_data_files(sys.argv[1])
except data.DataError as err:
    print(err)
    sys.exit(3)
"""


def test_an_io_error_while_reading(tmp_path):
    if not Path("/proc/self/mem").exists():
        pytest.skip("no /proc/self/mem here to give a real I/O error")
    folder = _small_set(tmp_path / "data")
    culprit = folder / "t10k-images-idx3-ubyte.gz"
    culprit.unlink()
    # Reading a process's memory at address 0 is a real EIO from a regular-looking file.
    culprit.symlink_to("/proc/self/mem")
    with pytest.raises(data.DataError) as err:
        _load(folder)
    assert str(err.value) == (
        f"{culprit} cannot be read (Input/output error); check the disk, "
        "or delete the file and fetch it again"
    )


def test_missing_files_need_a_folder_that_takes_a_download(read_only_dir):
    folder = read_only_dir
    with pytest.raises(data.DataError) as err:
        _load(folder)
    what = f"the data folder (${data.ENV_VAR})"
    assert str(err.value).startswith(f"{what} {folder} cannot be written: ")


def _gzip_of_zeros(path: Path, size: int) -> None:
    """Write a gzip of ``size`` zero bytes, a block at a time: the file stays small."""
    block = bytes(1 << 20)
    with gzip.open(path, "wb") as out:
        for start in range(0, size, len(block)):
            out.write(block[: size - start])


def test_a_decompression_bomb_is_refused_after_reading_little_more_than_mnist(
    tmp_path,
):
    folder = _small_set(tmp_path / "data")
    bomb = folder / "t10k-images-idx3-ubyte.gz"
    limit = data.idx_size(data.TEST_IMAGES)
    _gzip_of_zeros(bomb, 10 * limit)
    assert bomb.stat().st_size < limit // 50
    tracemalloc.start()
    try:
        with pytest.raises(data.DataError, match="decompression bomb") as err:
            data.read_payload(bomb, data.TEST_IMAGES)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (
        peak < 4 * limit
    )  # decompressing the whole of it would take 10 times the limit
    assert str(err.value).startswith(
        f"{bomb}: holds more than the {limit:,} bytes of "
    )
    with pytest.raises(data.DataError, match="decompression bomb"):
        _load(folder)


def test_a_plain_file_larger_than_mnist_is_refused(tmp_path):
    folder = _small_set(tmp_path / "data")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    culprit = folder / "t10k-labels-idx1-ubyte"
    culprit.write_bytes(bytes(10 * data.idx_size(data.TEST_LABELS)))
    with pytest.raises(
        data.DataError, match="holds more than the 10,008 bytes"
    ) as err:
        _load(folder)
    assert str(culprit) in str(err.value)


def test_idx_size_is_the_size_of_each_real_file():
    for spec, path in zip(
        data.MNIST_FILES, data.check_data_files().values(), strict=True
    ):
        assert len(data.read_payload(path, spec)) == data.idx_size(spec)


def test_check_data_files_reads_no_data(monkeypatch):
    def no_reading(*args):
        raise AssertionError("check_data_files read a data file")

    monkeypatch.setattr(data, "read_payload", no_reading)
    copies = data.check_data_files()
    assert list(copies) == [spec.name for spec in data.MNIST_FILES]
    assert all(
        path is not None and path.parent == data.data_dir()
        for path in copies.values()
    )


# --- downloads --------------------------------------------------------------------------------


def test_download_verifies_and_caches(tmp_path, mirror_dir, serve, mnist):
    server = serve(mirror_dir)
    cache = tmp_path / "cache"
    fetched = data.load_mnist(cache, mirrors=[server.url], progressbar=False)
    assert sorted(server.requests) == sorted(
        f"/{s.name}.gz" for s in data.MNIST_FILES
    )
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        f"{s.name}.gz" for s in data.MNIST_FILES
    )
    np.testing.assert_array_equal(fetched.train_images, mnist.train_images)
    np.testing.assert_array_equal(fetched.test_labels, mnist.test_labels)
    # A second call is a cache hit: no request reaches the server.
    data.load_mnist(cache, mirrors=[server.url], progressbar=False)
    assert len(server.requests) == 4


def test_download_falls_back_to_next_mirror(tmp_path, mirror_dir, serve):
    server = serve(mirror_dir)
    cache = tmp_path / "cache"
    data.fetch_mnist(
        cache, mirrors=[server.url + "gone/", server.url], progressbar=False
    )
    assert len([r for r in server.requests if r.startswith("/gone/")]) == 4
    assert len(list(cache.iterdir())) == 4


def test_damaged_download_is_never_cached(tmp_path, mirror_dir, serve):
    bad_mirror = tmp_path / "bad-mirror"
    shutil.copytree(mirror_dir, bad_mirror)
    # A faithful gzip of a payload with one byte changed: valid structure, wrong content.
    labels = bad_mirror / "train-labels-idx1-ubyte.gz"
    payload = bytearray(gzip.decompress(labels.read_bytes()))
    payload[-1] = (payload[-1] + 1) % 10
    labels.write_bytes(gzip.compress(bytes(payload)))
    truncated = bad_mirror / "t10k-images-idx3-ubyte.gz"
    truncated.write_bytes(truncated.read_bytes()[:1000])
    server = serve(bad_mirror)
    cache = tmp_path / "cache"
    with pytest.raises(data.DataError) as err:
        data.fetch_mnist(cache, mirrors=[server.url], progressbar=False)
    assert "SHA-256" in str(err.value) and "train-labels" in str(err.value)
    # The good file before it landed; the bad one, and no temporary file, did not.
    assert [p.name for p in cache.iterdir()] == ["train-images-idx3-ubyte.gz"]


def test_offline_without_files_fails_fast(tmp_path, monkeypatch):
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    start = time.monotonic()
    # Port 9 (discard) is closed on 127.0.0.1; .invalid never resolves anywhere.
    mirrors = ["http://127.0.0.1:9/", "http://mnist.invalid/"]
    with pytest.raises(data.DataError, match=data.ENV_VAR) as err:
        data.load_mnist(tmp_path / "empty", mirrors=mirrors, progressbar=False)
    assert time.monotonic() - start < 15
    assert "connect to the internet" in str(err.value)
    assert list((tmp_path / "empty").iterdir()) == []


# --- profiles ---------------------------------------------------------------------------------


@pytest.fixture
def fresh_announcements(monkeypatch):
    """Forget which profiles were announced, so this test sees the first warning."""
    monkeypatch.setattr(data, "_announced", set())


def test_smoke_profile_gives_the_first_images_and_says_so_once(
    monkeypatch, fresh_announcements, mnist
):
    monkeypatch.setenv(profiles.ENV_VAR, "smoke")
    with pytest.warns(
        data.SubsetWarning, match="NOT comparable with published ones"
    ) as caught:
        small = data.load_mnist(progressbar=False)
    assert len(caught) == 1
    assert "first 2,000 training and 1,000 test images" in str(
        caught[0].message
    )
    assert (
        caught[0].filename == __file__
    )  # the warning points at the caller's line
    assert small.train_images.shape == (
        2_000,
        28,
        28,
    ) and small.train_labels.shape == (2_000,)
    assert small.test_images.shape == (
        1_000,
        28,
        28,
    ) and small.test_labels.shape == (1_000,)
    np.testing.assert_array_equal(
        small.train_images, mnist.train_images[:2_000]
    )
    np.testing.assert_array_equal(small.test_labels, mnist.test_labels[:1_000])
    with pytest.raises(ValueError):
        small.train_images[0, 0, 0] = 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = data.load_mnist(
            progressbar=False
        )  # no second warning in the same process
    assert len(again.train_images) == 2_000
    assert not small.is_full


def test_full_profile_returns_everything_silently(
    monkeypatch, fresh_announcements, mnist
):
    monkeypatch.delenv(profiles.ENV_VAR, raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        full = data.load_mnist(progressbar=False)
        explicit = data.load_mnist(
            progressbar=False, profile=profiles.PROFILES["full"]
        )
    # The very arrays of the official split, not copies or cuts.
    for loaded in (full, explicit):
        assert loaded.train_images is mnist.train_images
        assert loaded.test_labels is mnist.test_labels
    assert len(full.train_images) == 60_000 and len(full.test_labels) == 10_000
    assert full.is_full and explicit.is_full


def test_profile_argument_wins_over_the_environment(
    monkeypatch, fresh_announcements
):
    monkeypatch.setenv(profiles.ENV_VAR, "smoke")
    full = data.load_mnist(progressbar=False, profile=profiles.PROFILES["full"])
    assert len(full.train_images) == 60_000
    monkeypatch.delenv(profiles.ENV_VAR)
    with pytest.warns(data.SubsetWarning):
        small = data.load_mnist(
            progressbar=False, profile=profiles.PROFILES["smoke"]
        )
    assert len(small.train_images) == 2_000


def test_cutting_twice_changes_nothing(mnist):
    smoke = profiles.PROFILES["smoke"]
    once = data.subset(mnist, smoke)
    twice = data.subset(once, smoke)
    for field in ("train_images", "train_labels", "test_images", "test_labels"):
        np.testing.assert_array_equal(
            getattr(twice, field), getattr(once, field)
        )
    assert data.subset(mnist, profiles.PROFILES["full"]) is mnist


# --- the validation split -------------------------------------------------------------------


def test_validation_split_is_seeded_disjoint_and_sized():
    images = np.arange(100).reshape(100, 1)
    labels = np.arange(100) % 10
    x_train, y_train, x_val, y_val = data.validation_split(
        images, labels, 20, 50
    )
    assert (len(x_train), len(x_val)) == (50, 20)
    assert not set(x_train[:, 0]) & set(x_val[:, 0])
    np.testing.assert_array_equal(
        y_train, x_train[:, 0] % 10
    )  # labels travel with images
    again = data.validation_split(images, labels, 20, 50)
    np.testing.assert_array_equal(again[2], x_val)
    order = np.random.default_rng(0).permutation(100)
    np.testing.assert_array_equal(x_val[:, 0], order[:20])
    rest = data.validation_split(images, labels, 20)
    assert len(rest[0]) == 80


@pytest.mark.parametrize(
    ("n_validation", "n_train"), [(0, None), (100, None), (20, 81), (20, 0)]
)
def test_validation_split_refuses_sizes_that_do_not_fit(n_validation, n_train):
    with pytest.raises(ValueError, match="must lie in"):
        data.validation_split(
            np.zeros((100, 1)), np.zeros(100), n_validation, n_train
        )
