"""Checks of the built chapter "Running on a cluster": its scripts and its timing table.

Run after a build (``pytest -m book``); ``DLCOURSE_HTML`` names the HTML folder when the book
was built elsewhere than ``_build/html``.
"""

from __future__ import annotations

import inspect
import textwrap

import bookpages
import pytest
from bs4 import BeautifulSoup

from dlcourse import checkpoints, cluster, files, loop, signals, torch_trainer

pytestmark = pytest.mark.book

PAGE = "book/running_on_a_cluster.html"
# The example folder and environment the chapter renders the course's jobs for.
WORKDIR = "/work/alice/dlcourse"
VENV = "/work/alice/dlcourse/.venv"


@pytest.fixture(scope="module")
def page() -> BeautifulSoup:
    return bookpages.page(PAGE)


def _code_blocks(page: BeautifulSoup) -> list[str]:
    """Return the text of every preformatted block: code, cell outputs, pasted scripts."""
    return [pre.get_text() for pre in page.select("pre")]


def test_the_chapter_shows_the_seed_job_for_slurm_and_pbs_in_tabs(page):
    tabs = page.select(".sd-tab-set")
    assert len(tabs) >= 2
    first = tabs[0]
    labels = [label.get_text(strip=True) for label in first.select("label")]
    assert labels == ["Slurm", "PBS"]
    slurm, pbs = (pane.get_text() for pane in first.select(".sd-tab-content"))
    assert "#SBATCH --job-name=cnn.tf.gpu" in slurm
    assert "#SBATCH --time=72:00:00" in slurm
    assert "#PBS -l walltime=72:00:00" in pbs
    assert "#PBS -l nodes=1:ppn=20:gpus=2" in pbs
    assert "#PBS -A loni_loniadmin1" in pbs


def test_the_chapter_shows_exactly_the_jobs_the_cluster_tests_submit(page):
    blocks = _code_blocks(page)
    jobs = cluster.course_jobs(WORKDIR, venv=VENV)
    for name, spec in jobs.items():
        script = cluster.render_jobscript(spec).strip()
        assert any(block.strip() == script for block in blocks), (
            f"{name} is not on the page"
        )
    text = "\n".join(blocks)
    assert "#SBATCH --signal=B:USR1@" in text
    assert 'scontrol requeue "$SLURM_JOB_ID"' in text
    assert "#PBS -l walltime=" in text
    assert (
        'srun torchrun --nnodes="$SLURM_JOB_NUM_NODES" --nproc-per-node=4'
        in text
    )


def test_the_chapter_resumes_a_warned_run_in_front_of_the_reader(page):
    outputs = "\n".join(o.get_text() for o in page.select(".cell_output"))
    assert f"first run, exit status {signals.EXIT_RESUMABLE}" in outputs
    assert "stopped by signal" in outputs
    assert "second run, exit status 0" in outputs
    assert "resuming after epoch" in outputs


def test_the_chapter_shows_the_plain_loop_first_then_each_addition_from_the_library(
    page,
):
    blocks = [block.strip() for block in _code_blocks(page)]
    shown = [
        loop.train_epoch,
        checkpoints.write_checkpoint,
        files.atomic_write,
        signals.StopFlag,
        torch_trainer.ShareOfBatches.__iter__,
        torch_trainer.ShareOfBatches.__init__,
        torch_trainer.TorchTrainer.train_epoch,
    ]
    places = []
    for obj in shown:
        source = textwrap.dedent(inspect.getsource(obj)).strip()
        assert source in blocks, (
            f"{obj.__qualname__} is not shown as the library has it"
        )
        places.append(blocks.index(source))
    assert places[0] == min(places), "the plain loop comes before the additions"
    outputs = "\n".join(o.get_text() for o in page.select(".cell_output"))
    assert (
        "batch 2: examples [4, 5, 6, 7]" in outputs
        and "stopped: True" in outputs
    )
    assert "batch 3:" not in outputs
    assert "process 1 of 2: [[1, 3], [5, 7], [9, 11]]" in outputs


def test_the_timing_table_has_measured_rows_and_says_which_device(page):
    tables = [
        t
        for t in page.select(".cell_output table")
        if "images/s" in t.get_text()
    ]
    assert len(tables) == 1, "the timing table is missing"
    header = [th.get_text(strip=True) for th in tables[0].select("thead th")]
    assert header[:2] == ["experiment", "device"]
    rows = [
        [td.get_text(strip=True) for td in tr.select("td")]
        for tr in tables[0].select("tbody tr")
    ]
    assert len(rows) >= 2
    column = dict(zip(header, range(len(header)), strict=True))
    for row in rows:
        assert row[column["device"]] in ("cpu", "cuda")
        assert row[column["processor"]]
        assert float(row[column["seconds per epoch"]]) > 0
        assert float(row[column["images/s"]].replace(",", "")) > 0
    glued = " ".join(
        span.get_text() for span in page.select("span.pasted-text")
    )
    assert "CPU (" in glued or "CUDA (" in glued


def test_the_deck_facts_and_a_real_log_line_are_there(page):
    outputs = "\n".join(o.get_text() for o in page.select(".cell_output"))
    # The deck's facts are a table of the text; what this build measured, outputs.
    deck = "\n".join(t.get_text(" ") for t in page.select("article table"))
    assert "960 NVIDIA Tesla K20x" in deck and "46th, November 2014" in deck
    assert "img/s" in outputs and " epoch 1/" in outputs
