"""Sphinx extension: the "Draw a digit" page's network and script, served from the book itself.

When an HTML build has finished, and so the gallery examples have run, the convolutional
network that ``gallery/mnist_models/plot_cnn.py`` trained and saved (``cnn.keras``) is written
into the output's ``_static/draw_a_digit/``: ``network.json`` lists its layers, their settings
and where each weight array lies in ``network.bin``, which holds the arrays one after the other
as little-endian 32-bit floats. The page's script (``static/draw_a_digit.js``) and style sheet,
copied by Sphinx into ``_static``, are added to that page only. A build without the saved
network fails, saying which example makes it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dlcourse_look
import numpy as np
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

PAGE = "book/draw_a_digit"
MODEL = Path("gallery") / "mnist_models" / "cnn.keras"
OUTPUT = "draw_a_digit"  # the folder under _static the page's script reads from
FORMAT = "dlcourse-network/1"
# What the page's script computes; any other setting would give other numbers than Keras.
ACTIVATIONS = {"relu", "softmax", "linear"}
logger = logging.getLogger(__name__)


def _layer_settings(layer) -> dict:
    """Return what the browser needs of one layer; raise ExtensionError for what it cannot do."""
    kind = type(layer).__name__
    config = layer.get_config()
    problem = None
    if kind in ("Conv2D", "Dense") and config["activation"] not in ACTIVATIONS:
        problem = f"activation {config['activation']!r}"
    elif kind == "Conv2D":
        if config["padding"] != "valid" or tuple(config["strides"]) != (1, 1):
            problem = f"padding {config['padding']!r} with strides {config['strides']}"
        elif (
            tuple(config["dilation_rate"]) != (1, 1)
            or config.get("groups", 1) != 1
        ):
            problem = "dilation or groups"
    elif kind == "MaxPooling2D" and config["padding"] != "valid":
        problem = f"padding {config['padding']!r}"
    elif kind not in ("Dense", "MaxPooling2D", "Flatten", "Dropout"):
        problem = "its type"
    if config.get("data_format", "channels_last") != "channels_last":
        problem = f"data format {config['data_format']!r}"
    if problem:
        raise ExtensionError(
            f"the digit page's script cannot run layer {layer.name} ({kind}): {problem}"
        )
    settings = {"name": layer.name, "type": kind}
    if kind in ("Conv2D", "Dense"):
        settings["activation"] = config["activation"]
    if kind == "MaxPooling2D":
        settings["pool_size"] = list(config["pool_size"])
        settings["strides"] = list(config["strides"] or config["pool_size"])
    return settings


def export_network(model_path: Path, folder: Path) -> Path:
    """Write the Keras model's layers and weights into ``folder``; return ``network.json``.

    The model is read in Keras's safe mode, which refuses any saved Python code.
    """
    if not model_path.is_file():
        raise ExtensionError(
            f"{model_path} is missing: the page {PAGE} serves the network that "
            f"gallery/mnist_models/plot_cnn.py trains and saves; run that example there "
            "(building the book with its gallery does)"
        )
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    model = keras.saving.load_model(model_path, compile=False, safe_mode=True)
    layers, blobs, offset = [], [], 0
    for layer in model.layers:
        settings = _layer_settings(layer)
        settings["arrays"] = []
        for variable, value in zip(
            layer.weights, layer.get_weights(), strict=True
        ):
            blob = np.ascontiguousarray(value, dtype="<f4").tobytes()
            settings["arrays"].append(
                {
                    "name": variable.name,
                    "shape": list(value.shape),
                    "offset": offset,
                    "size": value.size,
                }
            )
            blobs.append(blob)
            offset += len(blob)
        layers.append(settings)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "network.bin").write_bytes(b"".join(blobs))
    manifest = {
        "format": FORMAT,
        "model": model_path.name,
        "input_shape": list(model.input_shape[1:]),
        "weights": "network.bin",
        "dtype": "float32, little-endian",
        "bytes": offset,
        "layers": layers,
    }
    path = folder / "network.json"
    path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return path


def write_network(app: Sphinx, exception: Exception | None) -> None:
    """After a successful HTML build, write the trained network where the page's script reads it."""
    if (
        exception is not None
        or app.builder.format != "html"
        or PAGE not in app.env.found_docs
    ):
        return
    path = export_network(
        Path(app.srcdir) / MODEL, Path(app.outdir) / "_static" / OUTPUT
    )
    logger.info(f"wrote the network of {MODEL} into {path.parent}")


def setup(app: Sphinx) -> dict:
    """Register the hooks."""
    dlcourse_look.page_assets(app, PAGE, "draw_a_digit.js", "draw_a_digit.css")
    app.connect("build-finished", write_network)
    return {
        "version": "1.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
