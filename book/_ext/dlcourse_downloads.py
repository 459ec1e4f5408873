"""Sphinx extension: the library's wheel beside the downloads, and how to run a downloaded example.

At the start of a build the library's wheel is built (``dlcourse_wheel.build_wheel``) and its
file name, version included, becomes the ``dlcourse_wheel`` setting and the MyST substitution
``{{ dlcourse_wheel }}``. The ``run-example`` directive links the wheel as a download and shows
the commands that run an example in a fresh virtual environment; every sphinx-gallery page gets
one, just above its download buttons (example pages) or at its end (index pages). Every
executed chapter offers its executed notebook (``.ipynb``, outputs included) in the page's
download menu, beside its MyST source.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import dlcourse_wheel
from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util.docutils import SphinxDirective

VENV = "python3 -m venv dl && . dl/bin/activate"


def build_wheel(app: Sphinx, config: Config) -> None:
    """Build the wheel next to the output and record its path in the configuration."""
    wheel = dlcourse_wheel.build_wheel(Path(app.outdir).parent / "wheel")
    config.dlcourse_wheel = str(wheel)
    if "myst_substitutions" in config:
        config.myst_substitutions = {
            **config.myst_substitutions,
            "dlcourse_wheel": wheel.name,
        }


class RunExample(SphinxDirective):
    """Say how to run a downloaded example: ``.. run-example:: plot_cnn.py``."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        script = self.arguments[0]
        wheel = Path(self.config.dlcourse_wheel)
        # A download link as the :download: role makes it: Sphinx copies the file into _downloads.
        link = addnodes.download_reference(
            "",
            "",
            reftarget="/"
            + Path(os.path.relpath(wheel, self.env.srcdir)).as_posix(),
            refdoc=self.env.docname,
            refdomain="",
            reftype="download",
            refexplicit=True,
            refwarn=False,
        )
        link += nodes.literal(
            wheel.name, wheel.name, classes=["xref", "download"]
        )
        if Path(self.env.docname).name == Path(script).stem:
            what = [
                nodes.Text(
                    "Download this example's script and the library's wheel, "
                )
            ]
        else:
            what = [
                nodes.Text("Download an example's script, say "),
                nodes.literal(script, script),
                nodes.Text(
                    " (the links are at the end of its page), and the library's wheel, "
                ),
            ]
        intro = nodes.paragraph(
            "",
            "",
            nodes.strong("", "Run it on your own machine."),
            nodes.Text(" "),
            *what,
            link,
            nodes.Text(
                ", into one folder. There, make a virtual environment holding the frameworks "
                "and the library, and run the script:"
            ),
        )
        # The wheel with the extra that brings the frameworks the script imports.
        extra = dlcourse_wheel.extra_for(self._script_source(script))
        commands = (
            f'{VENV}\npip install "./{wheel.name}[{extra}]"\npython {script}'
        )
        block = nodes.literal_block(commands, commands, language="bash")
        gpu = dlcourse_wheel.requirements(gpu=True)[0]
        notebook = Path(script).with_suffix(".ipynb").name
        which = [
            nodes.literal(f"[{extra}]", f"[{extra}]"),
            nodes.Text(" installs the framework this script imports; "),
            nodes.literal("[all]", "[all]"),
            nodes.Text(" installs every framework the book uses"),
        ]
        if extra == "all":
            which = [
                nodes.literal("[all]", "[all]"),
                nodes.Text(" installs every framework the book uses"),
            ]
        note = nodes.paragraph(
            "",
            "",
            *which,
            nodes.Text(". On a GPU node, add "),
            nodes.literal(f'"{gpu}"', f'"{gpu}"'),
            nodes.Text(
                " for Keras (PyTorch's Linux wheels carry their CUDA libraries)."
                " To run the notebook instead, add "
            ),
            nodes.literal("jupyterlab", "jupyterlab"),
            nodes.Text(" to the install and type "),
            nodes.literal(f"jupyter lab {notebook}", f"jupyter lab {notebook}"),
            nodes.Text("."),
        )
        return [intro, block, note]

    def _script_source(self, script: str) -> str:
        """Return the text of the gallery example ``script`` names."""
        dirs = getattr(self.config, "sphinx_gallery_conf", {}).get(
            "examples_dirs", []
        )
        for folder in [dirs] if isinstance(dirs, str) else dirs:
            for path in sorted(
                Path(self.env.srcdir, folder).glob(f"**/{script}")
            ):
                return path.read_text(encoding="utf-8")
        raise self.error(f"no gallery example {script}")


def _gallery_dirs(config: Config) -> list[str]:
    """Return the folders, relative to the source folder, that sphinx-gallery writes pages into."""
    dirs = getattr(config, "sphinx_gallery_conf", {}).get("gallery_dirs", [])
    return [dirs] if isinstance(dirs, str) else list(dirs)


def add_to_gallery_page(app: Sphinx, docname: str, source: list[str]) -> None:
    """Append a ``run-example`` to a generated gallery page, above its download buttons."""
    inside = [
        d
        for d in _gallery_dirs(app.config)
        if docname.startswith(f"{d.rstrip('/')}/")
    ]
    name = Path(docname).name
    if not inside or name == "sg_execution_times":
        return
    if name.startswith("plot_"):
        script = f"{name}.py"
    else:
        # An index page: name the first example under it.
        scripts = sorted(Path(app.srcdir, docname).parent.rglob("plot_*.py"))
        if not scripts:
            return
        script = scripts[0].name
    directive = f"\n.. run-example:: {script}\n\n"
    # sphinx-gallery's download buttons follow the label ``.. _sphx_glr_download_<page>:``.
    buttons = re.search(
        r"^\.\. _sphx_glr_download_", source[0], flags=re.MULTILINE
    )
    at = buttons.start() if buttons else len(source[0])
    source[0] = source[0][:at] + directive + source[0][at:]


def _executed_notebook(config, pagename: str) -> bytes | None:
    """Return the page's notebook with the outputs it shows, or None for a page without one.

    MyST-NB writes each notebook it reads into its output folder: with the outputs when it ran
    the notebook, without them when it took them from its cache; those come from the cache here.
    """
    import nbformat
    from jupyter_cache import get_cache

    path = Path(config.output_folder) / f"{pagename}.ipynb"
    if not path.is_file():
        return None
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    if code and not any(cell.outputs for cell in code):
        try:
            _, notebook = get_cache(
                config.execution_cache_path
            ).merge_match_into_notebook(notebook)
        except KeyError:
            return None
    return nbformat.writes(notebook).encode("utf-8")


def offer_executed_notebook(
    app: Sphinx, pagename: str, templatename, context, doctree
) -> None:
    """Put a chapter's executed notebook beside its source, and in its download menu.

    The book theme lists ``ipynb_source`` as the ``.ipynb`` download, a file under ``_sources``.
    """
    config = getattr(app.env, "mystnb_config", None)
    if doctree is None or config is None or context.get("ipynb_source"):
        return
    executed = _executed_notebook(config, pagename)
    if executed is None:
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(executed)
    context["ipynb_source"] = f"{pagename}.ipynb"


def setup(app: Sphinx) -> dict:
    """Register the setting, the directive and the hooks."""
    app.add_config_value("dlcourse_wheel", "", "env")
    app.add_directive("run-example", RunExample)
    app.connect("config-inited", build_wheel)
    app.connect("source-read", add_to_gallery_page)
    # Before the theme builds its download menu (priority 501).
    app.connect("html-page-context", offer_executed_notebook, priority=400)
    return {
        "version": "1.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
