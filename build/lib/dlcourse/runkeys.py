"""The content address of a run: a hash of everything that decides its numbers.

Two runs with the same key train the same model on the same data, on the same kind of device,
with the same code (every source file of the package) and the same library versions, so a
finished run found under its key is reused instead of trained again. The command line, the
book and scripts that call :func:`dlcourse.experiments.run` all get their keys from
:func:`run_key`.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from dlcourse import data, hardware
from dlcourse.config import TrainConfig
from dlcourse.profiles import Profile

PACKAGE_DIR = Path(__file__).resolve().parent
# The libraries whose versions decide a run's numbers, besides the framework's own.
NUMERIC_LIBRARIES = ("numpy",)


# Once per process: the code that runs is the code imported, not what is on disk later.
@functools.cache
def code_digest(package: Path = PACKAGE_DIR) -> str:
    """Return the SHA-256 of every Python source file of the package, with their names."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _keras_backend(versions: dict[str, str]) -> str:
    """Return the Keras backend in use with its version, e.g. 'tensorflow 2.21.0'."""
    import keras

    name = keras.backend.backend()
    return f"{name} {versions.get(name, '')}".strip()


def library_versions(framework: str) -> dict[str, str | None]:
    """Return the versions of Python and of the libraries a run in ``framework`` computes with."""
    versions = hardware.versions()
    names = [*NUMERIC_LIBRARIES, "torch" if framework == "torch" else "keras"]
    found: dict[str, str | None] = {
        name: versions.get(name) for name in ["python", *names]
    }
    if framework == "keras":
        found["backend"] = _keras_backend(versions)
    return found


def run_key(
    config: TrainConfig, profile: Profile, device: str, world_size: int = 1
) -> str:
    """Return the content address of a run: config, profile, data, code, versions, device."""
    if device not in ("cpu", "cuda"):
        raise ValueError(
            f"a run's key needs a resolved device, 'cpu' or 'cuda', not {device!r}"
        )
    material = {
        "config": config.to_dict(),
        "profile": asdict(profile),
        # load_mnist refuses any file whose payload does not have exactly these digests.
        "data": [spec.sha256 for spec in data.MNIST_FILES],
        "code": code_digest(),
        "libraries": library_versions(config.framework),
        "device": device,
    }
    if world_size > 1:
        material["world_size"] = world_size
    return hashlib.sha256(
        json.dumps(material, sort_keys=True).encode()
    ).hexdigest()
