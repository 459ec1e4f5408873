"""The gallery's example scripts as the library ships them: find one, or write it into a folder.

The wheel carries every ``gallery/<topic>/plot_*.py`` under ``dlcourse/examples/``; in a clone
of the repository (an editable install) they are read from its ``gallery/`` folder.
"""

from __future__ import annotations

from pathlib import Path

from dlcourse import reported

PACKAGED = Path(__file__).with_name("examples")
REPOSITORY = Path(__file__).resolve().parents[2] / "gallery"
# The example that saves fast_NAME.json: the book's fastest path to each of a few results.
FAST_EXAMPLE = "plot_training_fast.py"
FAST_PREFIX = "fast_"


class UnknownExampleError(LookupError):
    """No example script of the gallery has this name."""

    def __str__(self) -> str:
        return str(self.args[0])


class ExampleExistsError(FileExistsError):
    """Writing an example would overwrite a file of the same name."""

    def __str__(self) -> str:
        return str(self.args[0])


def scripts() -> dict[str, Path]:
    """Return every example script by its file name, e.g. ``{"plot_cnn.py": Path(...)}``."""
    if PACKAGED.is_dir():
        found = PACKAGED.glob("plot_*.py")
    else:
        found = REPOSITORY.glob("*/plot_*.py")
    return {path.name: path for path in sorted(found)}


def find(name: str) -> Path:
    """Return the script ``name`` names: ``plot_cnn.py``, ``plot_cnn`` or ``cnn``.

    Raises UnknownExampleError naming the known examples.
    """
    known = scripts()
    stem = name.removesuffix(".py")
    for candidate in (f"{stem}.py", f"plot_{stem}.py"):
        if candidate in known:
            return known[candidate]
    choices = ", ".join(Path(script).stem for script in known) or "none found"
    raise UnknownExampleError(
        f"no gallery example {name!r}; choose one of {choices}"
    )


def write(name: str, folder: str | Path = ".") -> Path:
    """Write the example ``name`` into ``folder``; return the new file's path.

    Raises ExampleExistsError rather than overwrite a file of that name.
    """
    script = find(name)
    target = Path(folder) / script.name
    try:
        with open(target, "xb") as copy:
            copy.write(script.read_bytes())
    except FileExistsError:
        raise ExampleExistsError(
            f"{target} already exists; remove it or run this in another folder"
        ) from None
    return target


def example_for(result: str) -> str:
    """Return the file name of the example that saves ``result.json``.

    ``fast_NAME`` comes from :data:`FAST_EXAMPLE`; every other name is a 2018 result (see
    :mod:`dlcourse.reported`), saved by the example that reproduces it.
    """
    if result.startswith(FAST_PREFIX):
        reported.get(result.removeprefix(FAST_PREFIX))
        return FAST_EXAMPLE
    return reported.get(result).example
