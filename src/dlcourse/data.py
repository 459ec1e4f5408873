"""MNIST: find the four IDX files, download them if needed, verify and parse them.

The files are looked for in, in order: the ``directory`` argument, the ``DLCOURSE_DATA``
environment variable, and a per-user cache directory. Missing files are downloaded there from
the public mirrors. Every payload is checked against the SHA-256 of the original, decompressed
file, so any faithful gzip of it is accepted and nothing else is. Under a cut-down profile
(``DLCOURSE_PROFILE=smoke``) ``load_mnist`` returns only the first images of each split.
Every fault of a path (a folder that is a file, a FIFO, no permission, an I/O error, a file
larger than MNIST's) is a ``DataError`` of one line, found before any data is loaded.
"""

from __future__ import annotations

import errno
import functools
import gzip
import hashlib
import os
import stat
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pooch

from dlcourse import files, profiles

ENV_VAR = "DLCOURSE_DATA"
NUM_CLASSES = 10
IMAGE_SIDE = 28

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

# IDX magic numbers: two zero bytes, the element type (0x08 = unsigned byte), the rank.
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class IdxFile:
    """One of the four MNIST files: its name and the SHA-256 of its decompressed payload."""

    name: str
    sha256: str
    magic: int
    count: int


TRAIN_IMAGES = IdxFile(
    "train-images-idx3-ubyte",
    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    IMAGES_MAGIC,
    60_000,
)
TRAIN_LABELS = IdxFile(
    "train-labels-idx1-ubyte",
    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    LABELS_MAGIC,
    60_000,
)
TEST_IMAGES = IdxFile(
    "t10k-images-idx3-ubyte",
    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    IMAGES_MAGIC,
    10_000,
)
TEST_LABELS = IdxFile(
    "t10k-labels-idx1-ubyte",
    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    LABELS_MAGIC,
    10_000,
)
MNIST_FILES: tuple[IdxFile, ...] = (
    TRAIN_IMAGES,
    TRAIN_LABELS,
    TEST_IMAGES,
    TEST_LABELS,
)


class DataError(Exception):
    """A data file is missing, unreachable or not what it claims to be."""


@dataclass(frozen=True)
class MNIST:
    """The official MNIST split: uint8 images of shape (n, 28, 28) and int64 labels 0-9."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    directory: Path

    @property
    def is_full(self) -> bool:
        """True if both splits are whole: results compare with published ones."""
        return (len(self.train_images), len(self.test_images)) == (
            TRAIN_IMAGES.count,
            TEST_IMAGES.count,
        )


def data_dir(directory: str | os.PathLike[str] | None = None) -> Path:
    """Return the directory MNIST is read from: the argument, ``$DLCOURSE_DATA``, or the cache."""
    if directory is not None:
        return Path(directory).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    return Path(pooch.os_cache("dlcourse")) / "mnist"


def idx_size(spec: IdxFile) -> int:
    """Return the bytes of ``spec``'s IDX payload: the header, then one byte per value."""
    rank = spec.magic & 0xFF
    per_item = IMAGE_SIDE * IMAGE_SIDE if rank == 3 else 1
    return 4 + 4 * rank + spec.count * per_item


def check_data_files(
    directory: str | os.PathLike[str] | None = None,
) -> dict[str, Path | None]:
    """Return the local copy of each MNIST file by name (None where it must be downloaded).

    Cheap, and reads no data: checks that the data folder is a folder, that each copy is a
    regular file this process can open, and, if any is missing, that the folder can take a
    download. Raises ``DataError`` saying which path is wrong and what to do.
    """
    folder = data_dir(directory)
    try:
        mode = os.stat(folder).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as err:
        raise DataError(
            f"the data folder {folder} cannot be used: {files.explain(err, folder)}"
        ) from err
    if mode is not None and not stat.S_ISDIR(mode):
        raise DataError(
            f"the data folder {folder} is {files.file_kind(mode)}, not a folder; "
            f"set {ENV_VAR} (or pass the directory) to the folder that holds the MNIST files"
        )
    copies = {spec.name: _local_copy(folder, spec) for spec in MNIST_FILES}
    if None in copies.values():
        try:
            files.require_writable_dir(folder, f"the data folder (${ENV_VAR})")
        except files.StorageError as err:
            raise DataError(str(err)) from err
    return copies


def _local_copy(directory: Path, spec: IdxFile) -> Path | None:
    """Return the gzip'd or plain copy of ``spec`` in ``directory``, checked openable, if any."""
    for candidate in (directory / f"{spec.name}.gz", directory / spec.name):
        try:
            # stat, not open: opening a FIFO would block until someone writes to it.
            mode = os.stat(candidate).st_mode
        except FileNotFoundError:
            if os.path.islink(candidate):
                raise DataError(
                    f"{candidate} is a broken symbolic link; remove it or point it at the file"
                ) from None
            continue
        except OSError as err:
            raise _read_error(candidate, err) from err
        if not stat.S_ISREG(mode):
            raise DataError(
                f"{candidate} is {files.file_kind(mode)}, not a data file; remove it, "
                f"or set {ENV_VAR} to a folder that holds the MNIST files"
            )
        try:
            os.close(os.open(candidate, os.O_RDONLY | os.O_NONBLOCK))
        except OSError as err:
            raise _read_error(candidate, err) from err
        return candidate
    return None


def _read_error(path: Path, err: OSError) -> DataError:
    """Return the one-line DataError for a data file that cannot be read."""
    if err.errno in (errno.EACCES, errno.EPERM):
        return DataError(
            f"{path}: permission denied; make it readable (chmod a+r) "
            f"or set {ENV_VAR} to a folder with a copy you can read"
        )
    return DataError(
        f"{path} cannot be read ({err.strerror or err}); check the disk, "
        "or delete the file and fetch it again"
    )


def read_payload(
    path: Path, spec: IdxFile, source: Path | None = None
) -> bytes:
    """Return the file's IDX bytes, decompressed if gzip'd, refusing more than ``spec`` holds.

    At most one byte more than ``spec``'s IDX size is ever read or decompressed, so a
    decompression bomb costs no more memory than MNIST. Faults name ``source`` (or ``path``).
    """
    source = source or path
    limit = idx_size(spec)
    try:
        with open(path, "rb") as handle:
            gzipped = handle.read(2) == GZIP_MAGIC
            handle.seek(0)
            reader = gzip.GzipFile(fileobj=handle) if gzipped else handle
            payload = reader.read(limit + 1)
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise DataError(
            f"{source}: the gzip data is truncated or corrupt ({err}); "
            "delete the file and fetch it again"
        ) from err
    except OSError as err:
        raise _read_error(source, err) from err
    if len(payload) > limit:
        raise DataError(
            f"{source}: holds more than the {limit:,} bytes of {spec.name} "
            "(a decompression bomb, or not MNIST); delete it and fetch it again"
        )
    return payload


def parse_idx(payload: bytes, spec: IdxFile, source: Path) -> np.ndarray:
    """Return the IDX payload as an array of unsigned bytes, its header checked against ``spec``."""
    if len(payload) < 4:
        raise DataError(
            f"{source}: {len(payload)} bytes is too short for an IDX header"
        )
    magic = int.from_bytes(payload[:4], "big")
    if magic != spec.magic:
        raise DataError(
            f"{source}: IDX magic number is 0x{magic:08x}, expected 0x{spec.magic:08x} "
            f"for {spec.name}; is this the right file?"
        )
    rank = magic & 0xFF
    header_len = 4 + 4 * rank
    if len(payload) < header_len:
        raise DataError(
            f"{source}: the IDX header is cut short ({len(payload)} bytes)"
        )
    shape = tuple(
        int.from_bytes(payload[4 + 4 * i : 8 + 4 * i], "big")
        for i in range(rank)
    )
    if rank == 3 and shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataError(
            f"{source}: images are {shape[1]}x{shape[2]} pixels, expected {IMAGE_SIDE}x{IMAGE_SIDE}"
        )
    expected_len = header_len + int(np.prod(shape))
    if len(payload) != expected_len:
        raise DataError(
            f"{source}: the header declares dimensions {shape} ({expected_len} bytes) "
            f"but the payload has {len(payload)} bytes"
        )
    return np.frombuffer(payload, dtype=np.uint8, offset=header_len).reshape(
        shape
    )


def check_payload_hash(payload: bytes, spec: IdxFile, source: Path) -> None:
    """Raise DataError unless the payload is byte-identical to the original
    MNIST file.
    """
    digest = hashlib.sha256(payload).hexdigest()
    if digest != spec.sha256:
        raise DataError(
            f"{source}: SHA-256 of the decompressed data is {digest}, "
            f"expected {spec.sha256}; "
            "the file is damaged or not the original MNIST: delete it and "
            "fetch it again"
        )


class VerifyingDownloader:
    """A pooch downloader that refuses a file unless its decompressed payload has the right hash.

    Pooch downloads into a temporary file and moves it into place only if this returns,
    so a damaged or partial download never lands in the data directory.
    """

    def __init__(
        self, spec: IdxFile, *, progressbar: bool, timeout: float
    ) -> None:
        self.spec = spec
        self.http = pooch.HTTPDownloader(
            progressbar=progressbar, timeout=timeout
        )

    def __call__(
        self,
        url: str,
        output_file: str,
        pooch_instance: object,
        check_only=False,
    ):
        result = self.http(
            url, output_file, pooch_instance, check_only=check_only
        )
        if check_only:
            return result
        path = Path(output_file)
        payload = read_payload(path, self.spec, Path(url))
        parse_idx(payload, self.spec, Path(url))
        check_payload_hash(payload, self.spec, Path(url))
        return result


def fetch_mnist(
    directory: str | os.PathLike[str] | None = None,
    *,
    mirrors: Sequence[str] = MIRRORS,
    progressbar: bool = True,
    timeout: float = 30.0,
) -> dict[str, Path]:
    """Make sure the four files are in the data directory; return their paths by file name.

    Files already present are not touched; missing ones are downloaded from the first mirror
    that serves a verified copy.
    """
    folder = data_dir(directory)
    copies = check_data_files(folder)
    paths: dict[str, Path] = {}
    for spec in MNIST_FILES:
        local = copies[spec.name]
        paths[spec.name] = (
            local
            if local is not None
            else _download(
                spec, folder, mirrors, progressbar=progressbar, timeout=timeout
            )
        )
    return paths


def _download(
    spec: IdxFile,
    folder: Path,
    mirrors: Sequence[str],
    *,
    progressbar: bool,
    timeout: float,
) -> Path:
    """Download one file into ``folder`` from the first mirror that works; return its path."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(
            f"cannot create the data directory {folder}: {err}"
        ) from err
    failures = []
    for mirror in mirrors:
        url = f"{mirror.rstrip('/')}/{spec.name}.gz"
        try:
            fetched = pooch.retrieve(
                url,
                known_hash=None,
                fname=f"{spec.name}.gz",
                path=folder,
                downloader=VerifyingDownloader(
                    spec, progressbar=progressbar, timeout=timeout
                ),
            )
            return Path(fetched)
        except DataError as err:
            failures.append(str(err))
        except Exception as err:
            # Any network or disk fault means: next mirror.
            failures.append(f"{url}: {type(err).__name__}: {err}")
    raise DataError(
        f"{spec.name} is not in {folder} and could not be downloaded:\n  "
        + "\n  ".join(failures)
        + f"\nSet {ENV_VAR} to a folder holding the four MNIST files, or connect to the internet."
    )


class SubsetWarning(UserWarning):
    """Only part of MNIST was loaded: results are not comparable with published ones."""


# The profiles already announced in this process: the warning is given once, not on every load.
_announced: set[str] = set()


def load_mnist(
    directory: str | os.PathLike[str] | None = None,
    *,
    mirrors: Sequence[str] = MIRRORS,
    progressbar: bool = True,
    profile: profiles.Profile | None = None,
) -> MNIST:
    """Return MNIST's official 60,000/10,000 split, downloading the files if they are missing.

    Under a cut-down ``profile`` (default: the one ``$DLCOURSE_PROFILE`` names) only the first
    images and labels of each split are returned, with a ``SubsetWarning`` the first time.
    The arrays are read-only and shared between calls, so loading again costs nothing.
    """
    profile = profile or profiles.current_profile()
    paths = fetch_mnist(directory, mirrors=mirrors, progressbar=progressbar)
    mnist = subset(
        _load_verified(tuple(paths[spec.name] for spec in MNIST_FILES)), profile
    )
    cut = (profile.train_limit, profile.test_limit) != (None, None)
    if cut and profile.name not in _announced:
        _announced.add(profile.name)
        warnings.warn(
            f"{profile.name} profile ({profiles.ENV_VAR}): only the first "
            f"{len(mnist.train_images):,} training and {len(mnist.test_images):,} test images "
            "of MNIST; results are NOT comparable with published ones",
            SubsetWarning,
            stacklevel=2,
        )
    return mnist


def subset(mnist: MNIST, profile: profiles.Profile) -> MNIST:
    """Return the first images and labels of each split that ``profile`` allows (all under full).

    The arrays are views of the read-only originals; cutting a cut set again changes nothing.
    """
    n_train, n_test = profile.train_limit, profile.test_limit
    if n_train is None and n_test is None:
        return mnist
    return replace(
        mnist,
        train_images=mnist.train_images[:n_train],
        train_labels=mnist.train_labels[:n_train],
        test_images=mnist.test_images[:n_test],
        test_labels=mnist.test_labels[:n_test],
    )


@functools.lru_cache(maxsize=4)
def _load_verified(paths: tuple[Path, ...]) -> MNIST:
    """Parse and verify the four files (train images, train labels, test images, test labels)."""
    payloads = [
        read_payload(path, spec)
        for path, spec in zip(paths, MNIST_FILES, strict=True)
    ]
    arrays = [
        parse_idx(payload, spec, path)
        for payload, spec, path in zip(
            payloads, MNIST_FILES, paths, strict=True
        )
    ]
    for images_at, labels_at in ((0, 1), (2, 3)):
        n_images, n_labels = len(arrays[images_at]), len(arrays[labels_at])
        if n_images != n_labels:
            raise DataError(
                f"{paths[images_at]} holds {n_images} images but {paths[labels_at]} holds "
                f"{n_labels} labels; the two files do not belong together"
            )
    for labels_at in (1, 3):
        labels = arrays[labels_at]
        if labels.size and labels.max() >= NUM_CLASSES:
            bad = int(np.argmax(labels >= NUM_CLASSES))
            raise DataError(
                f"{paths[labels_at]}: label {int(labels[bad])} at index {bad} is outside 0-9"
            )
    for payload, spec, path in zip(payloads, MNIST_FILES, paths, strict=True):
        check_payload_hash(payload, spec, path)
    train_images, train_labels, test_images, test_labels = arrays
    return MNIST(
        train_images=train_images,
        train_labels=_read_only(train_labels.astype(np.int64)),
        test_images=test_images,
        test_labels=_read_only(test_labels.astype(np.int64)),
        directory=paths[0].parent,
    )


def _read_only(array: np.ndarray) -> np.ndarray:
    """Return the array marked read-only, so the copy shared between callers stays intact."""
    array.setflags(write=False)
    return array


def flatten(images: np.ndarray) -> np.ndarray:
    """Return images as float32 rows of 784 intensities in [0, 1]."""
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


def one_hot(labels: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Return a float32 matrix with a single 1 per row, in the column of each label."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in 0..{num_classes - 1}")
    return np.eye(num_classes, dtype=np.float32)[labels]


def validation_split(
    images: np.ndarray,
    labels: np.ndarray,
    n_validation: int,
    n_train: int | None = None,
    seed=0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(x_train, y_train, x_val, y_val)``: a seeded shuffle, validation
    images first.

    The first ``n_validation`` of the shuffled images validate; the next
    ``n_train`` (all the rest by default) train, so the two never share an image
    and every run draws the same split.
    """
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    available = len(images) - n_validation
    if n_validation < 1 or available < 1:
        raise ValueError(
            f"n_validation must lie in 1..{len(images) - 1}, not {n_validation}"
        )
    n_train = available if n_train is None else n_train
    if not 1 <= n_train <= available:
        raise ValueError(
            f"n_train must lie in 1..{available} after the validation images"
        )
    order = np.random.default_rng(seed).permutation(len(images))
    validation, train = (
        order[:n_validation],
        order[n_validation : n_validation + n_train],
    )
    return images[train], labels[train], images[validation], labels[validation]
