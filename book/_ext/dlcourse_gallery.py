"""The gallery: what sphinx-gallery does between examples, their order, one contents list.

All examples run in the build's one process: :func:`reset_keras_policy` runs between two.
:class:`CourseOrder` sorts them as the chapters use them. As a Sphinx extension, this module
also drops the toctrees sphinx-gallery writes into its index pages: ``_toc.yml`` lists the
examples, and with both the sidebar listed every example four times.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

# The book's table of contents, which lists the examples in course order.
TOC = Path(__file__).resolve().parents[2] / "_toc.yml"

# A toctree directive with its options and entries: the indented or blank lines after it.
TOCTREE = re.compile(r"^\.\. toctree::\n(?:(?:[ \t]+.*)?\n)*", re.MULTILINE)


def reset_keras_policy(gallery_conf, fname) -> None:
    """Give each example Keras's default float32 policy, whatever the example before it set.

    An example that computes in bfloat16 sets Keras's global policy, which would otherwise
    carry over into the next one; a reader who runs an example alone starts from float32.
    """
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.mixed_precision.set_global_policy("float32")


def toc_examples(toc: Path = TOC) -> tuple[str, ...]:
    """Return the examples' file names in the order ``_toc.yml`` lists their pages."""
    names = []

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            page = Path(entry.get("file", ""))
            if page.parent.parent.name == "gallery" and page.name.startswith(
                "plot_"
            ):
                names.append(f"{page.name}.py")
            walk(entry.get("sections", []))

    for part in yaml.safe_load(toc.read_text(encoding="utf-8"))["parts"]:
        walk(part["chapters"])
    return tuple(names)


# The examples in the order the chapters that use them come in the book: the sidebar's.
COURSE_ORDER = toc_examples()


class CourseOrder:
    """Sort key for ``within_subsection_order``: the examples in the order of the course.

    An example missing from ``COURSE_ORDER`` comes after the listed ones, by file name.
    """

    def __init__(self, src_dir) -> None:
        self.src_dir = src_dir

    def __call__(self, filename: str) -> tuple[int, str]:
        try:
            return COURSE_ORDER.index(filename), filename
        except ValueError:
            return len(COURSE_ORDER), filename

    def __repr__(self) -> str:
        # sphinx-gallery keeps the key's repr in the environment: a stable one, no rebuild.
        return f"<{type(self).__name__}>"


def drop_gallery_toctrees(app, docname: str, source: list[str]) -> None:
    """Remove sphinx-gallery's toctrees from its index pages, before Sphinx reads them."""
    gallery_dirs = app.config.sphinx_gallery_conf.get("gallery_dirs", [])
    if isinstance(gallery_dirs, str):
        gallery_dirs = [gallery_dirs]
    if docname.endswith("/index") and any(
        docname.startswith(folder.rstrip("/") + "/") for folder in gallery_dirs
    ):
        source[0] = TOCTREE.sub("", source[0])


def setup(app) -> dict:
    """Register the hook that leaves the gallery's contents to ``_toc.yml``."""
    app.connect("source-read", drop_gallery_toctrees)
    return {
        "version": "1.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
