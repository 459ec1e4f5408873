"""Sphinx extension: the "Train in the browser" page's subset of MNIST and its script.

When an HTML build has finished, the first ``N_TRAIN`` training and the first ``N_TEST`` test
images of MNIST, with their labels, are written into the output's ``_static/train_in_the_browser/``:
``subset.json`` says where each array lies in ``subset.bin.gz``, which holds the four arrays one
after the other as unsigned bytes, gzip-compressed, and gives the SHA-256 of the uncompressed
bytes. The page's script (``static/train_in_the_browser.js``) and style sheet, copied by Sphinx
into ``_static``, are added to that page only. The page's own code takes the same subset.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import dlcourse_look
import numpy as np
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

from dlcourse import data, files

PAGE = "book/train_in_the_browser"
OUTPUT = "train_in_the_browser"  # the folder under _static the page's script reads from
FORMAT = "dlcourse-mnist-subset/1"
MANIFEST = "subset.json"
BLOB = "subset.bin.gz"
# As many as the page's code takes: a few thousand images train in seconds in a browser.
N_TRAIN = 5_000
N_TEST = 2_000
logger = logging.getLogger(__name__)


def subset_arrays(
    mnist: data.MNIST, n_train: int, n_test: int
) -> dict[str, np.ndarray]:
    """Return the first ``n_train`` training and ``n_test`` test images and labels, as uint8.

    Fewer where the loaded MNIST is cut shorter (a smoke profile); a count below one raises.
    """
    if n_train < 1 or n_test < 1:
        raise ValueError(
            f"a subset needs at least one image of each split, not {n_train} and {n_test}"
        )
    return {
        "train_images": mnist.train_images[:n_train],
        "train_labels": mnist.train_labels[:n_train],
        "test_images": mnist.test_images[:n_test],
        "test_labels": mnist.test_labels[:n_test],
    }


def export_subset(arrays: dict[str, np.ndarray], folder: Path) -> Path:
    """Write the arrays into ``folder`` as ``subset.bin.gz`` and ``subset.json``; return the latter.

    Each file is written whole or not at all; the manifest, written last, names the hash of the
    bytes it describes, so a reader never pairs a new manifest with an old blob unnoticed.
    """
    parts, blobs, offset = [], [], 0
    for name, array in arrays.items():
        if array.min(initial=0) < 0 or array.max(initial=0) > 255:
            raise ValueError(f"{name} holds values outside 0..255")
        blob = np.ascontiguousarray(array, dtype=np.uint8).tobytes()
        parts.append(
            {"name": name, "shape": list(array.shape), "offset": offset}
        )
        blobs.append(blob)
        offset += len(blob)
    raw = b"".join(blobs)
    manifest = {
        "format": FORMAT,
        "source": "MNIST, the first images of each split",
        "file": BLOB,
        "compression": "gzip",
        "dtype": "uint8",
        "bytes": len(raw),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "arrays": parts,
    }
    text = json.dumps(manifest, indent=1) + "\n"
    path = folder / MANIFEST
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return path  # the same subset is already there
    # mtime=0: the same subset gives the same file, build after build.
    files.atomic_write(folder / BLOB, _readable(gzip.compress(raw, 9, mtime=0)))
    files.atomic_write(path, _readable(text.encode()))
    return path


def _readable(payload: bytes):
    """Return a writer of ``payload`` whose file all may read, as a web server must."""

    def write(temporary: Path) -> None:
        temporary.write_bytes(payload)
        temporary.chmod(0o644)

    return write


def write_subset(app: Sphinx, exception: Exception | None) -> None:
    """After a successful HTML build, write the subset where the page's script reads it."""
    if (
        exception is not None
        or app.builder.format != "html"
        or PAGE not in app.env.found_docs
    ):
        return
    try:
        mnist = data.load_mnist(progressbar=False)
    except data.DataError as err:
        raise ExtensionError(
            f"the page {PAGE} serves a subset of MNIST: {err}"
        ) from err
    path = export_subset(
        subset_arrays(mnist, N_TRAIN, N_TEST),
        Path(app.outdir) / "_static" / OUTPUT,
    )
    logger.info(f"wrote the MNIST subset of {PAGE} into {path.parent}")


def setup(app: Sphinx) -> dict:
    """Register the hooks."""
    dlcourse_look.page_assets(
        app, PAGE, "train_in_the_browser.js", "train_in_the_browser.css"
    )
    app.connect("build-finished", write_subset)
    return {
        "version": "1.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
