"""What a run ran on: the CPU, the GPU if any, and the versions of the libraries."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from functools import cache
from importlib import metadata

LIBRARIES = ("dlcourse", "numpy", "keras", "tensorflow", "torch")


@cache
def cpu_model() -> str:
    """Return the CPU's model name, e.g. 'Intel(R) Xeon(R) ...'."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_names() -> list[str]:
    """Return the names of the CUDA GPUs PyTorch can see (empty without one)."""
    import torch

    if not torch.cuda.is_available():
        return []
    return [
        torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())
    ]


def keras_device() -> str:
    """Return the device Keras computes on: the first GPU's name, or 'CPU'."""
    import keras

    backend = keras.config.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        # Logical devices are the ones TensorFlow set up and places work on.
        if not tf.config.list_logical_devices("GPU"):
            return "CPU"
        details = tf.config.experimental.get_device_details(
            tf.config.list_physical_devices("GPU")[0]
        )
        return details.get("device_name", "GPU")
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name()
        return "CPU"
    if backend == "jax":
        import jax

        first = jax.devices()[0]
        return first.device_kind if first.platform == "gpu" else "CPU"
    return "CPU"


def torch_device(tensor) -> str:
    """Return the name of the device a PyTorch tensor lives on: a GPU's, or 'CPU'."""
    import torch

    if tensor.device.type == "cuda":
        return torch.cuda.get_device_name(tensor.device)
    return tensor.device.type.upper()


def versions() -> dict[str, str]:
    """Return the installed versions of the libraries that decide a result."""
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def provenance(device: str, framework: str) -> dict[str, object]:
    """Return where and with what a run is made: CPU, GPU, device, versions."""
    backend = None
    if framework == "keras":
        import keras

        backend = keras.backend.backend()
    gpus = gpu_names() if device == "cuda" else []
    return {
        "device": device,
        "framework": framework,
        "keras_backend": backend,
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpu": gpus[0] if gpus else None,
        "host": platform.node(),
        "platform": platform.platform(),
        "versions": versions(),
    }


def nvidia_smi() -> str | None:
    """Return one line of GPU utilisation and memory from nvidia-smi, or None
    without it.
    """
    if shutil.which("nvidia-smi") is None:
        return None
    query = "--query-gpu=name,utilization.gpu,memory.used,memory.total"
    try:
        # Fixed arguments, no shell.
        out = subprocess.run(
            ["nvidia-smi", query, "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None
