"""Sphinx extension: which gallery examples want a GPU, and where each example's models ran.

An example that trains a convolutional network carries one line in its header,
``# sphinx_gallery_dlcourse_gpu = True``: a sphinx-gallery per-file setting, which
``remove_config_comments`` keeps off its page and out of its notebook. For such an example the
build puts a "GPU" badge on its thumbnail and a box at the top of its page: "GPU recommended:
~N s on this build's CPU", N being the training time the example saved (``NAME.json``,
summed over the models it trains), beside what ``book/measurements/*.json`` recorded for it on
a GPU machine. Every example page that saved runs says where they ran, as the example recorded
it ("ran on CPU", "ran on NVIDIA ..."), never from whether this machine has a GPU.

Which ``NAME.json`` files an example wrote is seen while sphinx-gallery runs it
(:func:`record_saved_runs`, one of its ``reset_modules``) and kept beside its page as
``plot_NAME.runs.json``; the pages read the saved runs after the gallery ran.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
MEASUREMENTS = ROOT / "book" / "measurements"
# The per-file setting that flags an example, as sphinx-gallery's own parser reads it.
MARKER = "dlcourse_gpu"
RECORD_SUFFIX = ".runs.json"
# What the library reads for a run saved without its device.
UNKNOWN = "unknown"
# A thumbnail as sphinx-gallery writes it into an index page, up to the link to its page.
THUMBNAIL = re.compile(
    r'(<div class="sphx-glr-thumbcontainer"[^>]*>)(?P<between>.*?):doc:`(?P<doc>[^`]+)`',
    re.DOTALL,
)
BADGE = '<span class="dlcourse-gpu-badge">GPU</span>'


def gpu_flagged(source: str) -> bool:
    """Return whether an example's source carries ``# sphinx_gallery_dlcourse_gpu = True``."""
    from sphinx_gallery.py_source_parser import extract_file_config

    return extract_file_config(source).get(MARKER) is True


@dataclass(frozen=True)
class Run:
    """What an example saved for one model: its name, device and training time."""

    name: str
    device: str
    train_seconds: float
    train_images: int
    full: bool


@dataclass(frozen=True)
class Measured:
    """An example's training time as a record in ``book/measurements`` has it."""

    machine: str
    date: str
    gpu_seconds: float
    cpu_seconds: float | None


def measured(example: str, folder: Path = MEASUREMENTS) -> list[Measured]:
    """Return each record's training time for ``example`` (e.g. ``plot_cnn.py``) on its GPU.

    A record counts where the example finished on the GPU and saved its runs; the time on
    the same machine's CPU alone comes with it where the record has one.
    """
    found = []
    for path in sorted(folder.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        seconds: dict[str, float] = {}
        for run in record["runs"]:
            if run["example"] != example or run["exit_status"] != 0:
                continue
            saved = run["saved"].values()
            if not saved:
                continue
            where = "gpu" if run["setting"] == "GPU" else "cpu"
            seconds[where] = sum(s["train_seconds"] for s in saved)
        if "gpu" in seconds:
            found.append(
                Measured(
                    machine=record["machine"]["gpu"],
                    date=record["date"],
                    gpu_seconds=seconds["gpu"],
                    cpu_seconds=seconds.get("cpu"),
                )
            )
    return found


def _devices(runs: list[Run]) -> str:
    """Return the devices the runs name, in order, each once: 'CPU', 'NVIDIA H200'."""
    devices = list(dict.fromkeys(run.device for run in runs))
    return "machine" if UNKNOWN in devices else " and ".join(devices)


def _article(machine: str) -> str:
    """Return 'an' before 'NVIDIA H200' or 'AMD ...', 'a' before a consonant."""
    vowel = machine[:1].upper() in "AEIOU" or machine.startswith("NVIDIA")
    return "an" if vowel else "a"


def ran_on_text(runs: list[Run]) -> str:
    """Return where each saved run ran, e.g. 'This build's run: cnn ran on CPU (58 s).'"""
    parts = []
    for run in runs:
        seconds = f"{run.train_seconds:.0f} s of training"
        if not run.full:
            seconds += f" on {run.train_images:,} images"
        if run.device == UNKNOWN:
            parts.append(f"{run.name} (device not recorded; {seconds})")
        else:
            parts.append(f"{run.name} ran on {run.device} ({seconds})")
    label = "This build's run" if len(runs) == 1 else "This build's runs"
    return f"{label}: {'; '.join(parts)}."


def gpu_box_text(runs: list[Run], records: list[Measured]) -> str:
    """Return the first sentence of a flagged example's box.

    'GPU recommended: ~N s on this build's CPU', N the training time the runs saved, then
    what each GPU record measured for the same example.
    """
    text = "GPU recommended"
    if runs:
        total = sum(run.train_seconds for run in runs)
        text += f": ~{total:.0f} s on this build's {_devices(runs)}"
        if not all(run.full for run in runs):
            text += " (on a subset of MNIST)"
    for record in records:
        text += f"; {record.gpu_seconds:.0f} s on {_article(record.machine)} {record.machine}"
        if record.cpu_seconds is not None:
            text += f", {record.cpu_seconds:.0f} s on that machine's CPU alone"
        text += f" (measured {record.date})"
    return text + "."


def _example_paths(gallery_conf: dict, fname: str) -> tuple[Path, Path] | None:
    """Return an example's source script and the folder its page is written into."""
    src_dir = Path(gallery_conf["src_dir"])
    examples, galleries = (
        gallery_conf["examples_dirs"],
        gallery_conf["gallery_dirs"],
    )
    if isinstance(examples, str):
        examples, galleries = [examples], [galleries]
    for example_dir, gallery_dir in zip(examples, galleries, strict=True):
        for script in sorted((src_dir / example_dir).glob(f"**/{fname}")):
            inside = script.parent.relative_to(src_dir / example_dir)
            return script, src_dir / gallery_dir / inside
    return None


def _saved_files(folder: Path) -> dict[Path, int]:
    return {path: path.stat().st_mtime_ns for path in folder.glob("*.json")}


_before: dict[str, dict[Path, int]] = {}


def record_saved_runs(gallery_conf, fname, when) -> None:
    """Note which ``NAME.json`` runs an example wrote while sphinx-gallery ran it.

    Called before and after each example (``reset_modules_order: both``); afterwards writes
    ``plot_NAME.runs.json`` beside the example's page: its folder and the names it saved.
    """
    paths = _example_paths(gallery_conf, fname) if fname else None
    if paths is None:
        return
    script, page_dir = paths
    if when == "before":
        _before[fname] = _saved_files(script.parent)
        return
    before = _before.pop(fname, {})
    names = []
    for path, stamp in sorted(_saved_files(script.parent).items()):
        if before.get(path) == stamp:
            continue
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(saved, dict) and "train_seconds" in saved:
            names.append(path.stem)
    page_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "example": fname,
        "folder": script.parent.relative_to(gallery_conf["src_dir"]).as_posix(),
        "saved": names,
    }
    (page_dir / f"{Path(fname).stem}{RECORD_SUFFIX}").write_text(
        json.dumps(record, indent=1), encoding="utf-8"
    )


class ExampleRuns(SphinxDirective):
    """At the top of an example's page: the GPU box, and where its saved runs ran."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        script = self.arguments[0]
        page = Path(self.env.srcdir, self.env.docname)
        flagged = gpu_flagged(
            page.with_name(script).read_text(encoding="utf-8")
        )
        record_path = page.with_name(f"{page.name}{RECORD_SUFFIX}")
        if not record_path.is_file():
            logger.warning(
                "%s: no record of the runs %s saved (%s): it did not run in this build; "
                "delete %s.md5 beside it to have sphinx-gallery run it again",
                self.env.docname,
                script,
                record_path,
                script,
                location=(self.env.docname, self.lineno),
            )
            return []
        self.env.note_dependency(str(record_path))
        record = json.loads(record_path.read_text(encoding="utf-8"))
        runs = [
            self._load(name, Path(self.env.srcdir, record["folder"]))
            for name in record["saved"]
        ]
        paragraphs = []
        if flagged:
            for path in sorted(MEASUREMENTS.glob("*.json")):
                self.env.note_dependency(str(path))
            text = gpu_box_text(runs, measured(script))
            head = "GPU recommended"
            paragraphs.append(
                nodes.paragraph(
                    "",
                    "",
                    nodes.strong(head, head),
                    nodes.Text(text.removeprefix(head)),
                )
            )
        if runs:
            paragraphs.append(
                nodes.paragraph("", "", nodes.Text(ran_on_text(runs)))
            )
        if not paragraphs:
            return []
        classes = ["dlcourse-runs"] + (["dlcourse-gpu-box"] if flagged else [])
        return [nodes.container("", *paragraphs, classes=classes)]

    def _load(self, name: str, folder: Path) -> Run:
        from dlcourse import saved_runs

        self.env.note_dependency(str(folder / f"{name}.json"))
        run = saved_runs.load(name, folder)
        return Run(
            name=run.name,
            device=run.device,
            train_seconds=run.train_seconds,
            train_images=run.train_images,
            full=run.is_full,
        )


def _gallery_dirs(config) -> list[str]:
    dirs = getattr(config, "sphinx_gallery_conf", {}).get("gallery_dirs", [])
    return [dirs] if isinstance(dirs, str) else list(dirs)


def _title_end(source: str) -> int | None:
    """Return where the first section title of a reST page ends (after its underline)."""
    title = re.search(r"^[^\n]+\n(=+)[ \t]*\n", source, re.MULTILINE)
    return title.end() if title else None


def badge_thumbnails(source: str, flagged_docs: set[str]) -> str:
    """Return an index page's reST with a GPU badge in the thumbnail of each flagged page."""

    def badge(match: re.Match) -> str:
        if match.group("doc").lstrip("/") not in flagged_docs:
            return match.group(0)
        return match.group(1) + BADGE + match.group(0)[len(match.group(1)) :]

    return THUMBNAIL.sub(badge, source)


def add_to_gallery_pages(app: Sphinx, docname: str, source: list[str]) -> None:
    """Put the runs box under an example page's title; badge thumbnails on an index page."""
    inside = [
        d.rstrip("/")
        for d in _gallery_dirs(app.config)
        if docname.startswith(f"{d.rstrip('/')}/")
    ]
    if not inside:
        return
    page = Path(app.srcdir, docname)
    if page.name.startswith("plot_"):
        at = _title_end(source[0])
        if at is not None and page.with_suffix(".py").is_file():
            directive = f"\n.. example-runs:: {page.name}.py\n\n"
            source[0] = source[0][:at] + directive + source[0][at:]
        return
    if page.name == "index":
        flagged = {
            Path(script.relative_to(app.srcdir)).with_suffix("").as_posix()
            for folder in inside
            for script in Path(app.srcdir, folder).glob("**/plot_*.py")
            if gpu_flagged(script.read_text(encoding="utf-8"))
        }
        source[0] = badge_thumbnails(source[0], flagged)


def reread_gallery_indexes(
    app: Sphinx, env, added, changed, removed
) -> list[str]:
    """Have Sphinx read the gallery's index pages again: a script's flag may have changed."""
    return [
        docname
        for docname in env.found_docs
        if Path(docname).name == "index"
        and any(
            docname.startswith(f"{d.rstrip('/')}/")
            for d in _gallery_dirs(app.config)
        )
    ]


def setup(app: Sphinx) -> dict:
    """Register the directive and the hooks that place it and the badges."""
    app.add_directive("example-runs", ExampleRuns)
    app.connect("source-read", add_to_gallery_pages)
    app.connect("env-get-outdated", reread_gallery_indexes)
    return {
        "version": "1.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
