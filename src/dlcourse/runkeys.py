"""The content address of a run: a hash of everything that decides its numbers.

Two runs with the same key train the same model on the same data with the same code and
library versions, so a finished run found under its key is reused instead of trained again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from dlcourse import data, hardware
from dlcourse.config import TrainConfig
from dlcourse.profiles import Profile

# The library's files whose code decides a run's numbers, shared and per framework.
CODE_FILES = {
    "all": ("config.py", "models.py", "augment.py", "inputs.py", "train.py"),
    "keras": ("keras_trainer.py",),
    "torch": ("loop.py", "torch_trainer.py"),
}


def code_digest(framework: str) -> str:
    """Return the SHA-256 of the library code a run in ``framework`` executes."""
    here = Path(__file__).parent
    names = CODE_FILES["all"] + CODE_FILES[framework]
    return hashlib.sha256(b"".join((here / name).read_bytes() for name in names)).hexdigest()


def _keras_backend() -> str:
    """Return the Keras backend in use with its version, e.g. 'tensorflow 2.21.0'."""
    import keras

    name = keras.backend.backend()
    return f"{name} {hardware.versions().get(name, '')}".strip()


def run_key(config: TrainConfig, profile: Profile, world_size: int = 1) -> str:
    """Return the content address of a run: config, profile, data, code, versions, processes."""
    versions = hardware.versions()
    material = {
        "config": config.to_dict(),
        "profile": asdict(profile),
        "data": [spec.sha256 for spec in data.MNIST_FILES],
        "code": code_digest(config.framework),
        "framework": versions.get("torch" if config.framework == "torch" else "keras"),
        "backend": _keras_backend() if config.framework == "keras" else None,
    }
    if world_size > 1:
        material["world_size"] = world_size
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
