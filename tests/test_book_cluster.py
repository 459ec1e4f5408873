"""Checks of the built chapter "Running on a cluster": its scripts and its GPU table.

Run after a build (``pytest -m book``); ``DLCOURSE_HTML`` names the HTML folder when the book
was built elsewhere than ``_build/html``.
"""

from __future__ import annotations

import json
from pathlib import Path

import bookpages
import pytest
from bs4 import BeautifulSoup

from dlcourse import cluster

pytestmark = pytest.mark.book

PAGE = "book/running_on_a_cluster.html"
ROOT = Path(__file__).resolve().parents[1]
# The folder, environment and modules the chapter renders the course's jobs for.
WORKDIR = "/work/alice/course"
VENV = "/work/alice/dl"
MODULES = ["python/3.11"]


@pytest.fixture(scope="module")
def page() -> BeautifulSoup:
    return bookpages.page(PAGE)


def _code_blocks(page: BeautifulSoup) -> list[str]:
    """Return the text of every preformatted block: code, cell outputs, pasted scripts."""
    return [pre.get_text() for pre in page.select("pre")]


def test_the_chapter_shows_the_cnn_job_for_slurm_and_pbs_in_tabs(page):
    first = page.select(".sd-tab-set")[0]
    labels = [label.get_text(strip=True) for label in first.select("label")]
    assert labels == ["Slurm", "PBS"]
    slurm, pbs = (pane.get_text() for pane in first.select(".sd-tab-content"))
    assert "#SBATCH --gpus=1" in slurm and "python plot_cnn.py" in slurm
    assert "#PBS -l select=1:ncpus=4:ngpus=1" in pbs
    assert "#PBS -N cnn.tf.gpu" in pbs and "python plot_cnn.py" in pbs
    for text in (slurm, pbs):
        assert len(text.strip().splitlines()) <= 15


def test_the_chapter_shows_exactly_the_jobs_the_cluster_tests_submit(page):
    blocks = [block.strip() for block in _code_blocks(page)]
    jobs = cluster.course_jobs(WORKDIR, venv=VENV, modules=MODULES)
    for name, spec in jobs.items():
        script = cluster.render_jobscript(spec).strip()
        assert script in blocks, f"{name} is not on the page"
    text = "\n".join(blocks)
    assert 'pip install "dlcourse[keras]" "tensorflow[and-cuda]"' in text
    assert "nvidia-smi" in text and "torch.cuda.device_count()" in text
    assert "BackupAndRestore(" in text
    assert (
        'srun torchrun --nnodes="$SLURM_JOB_NUM_NODES" --nproc-per-node=4'
        in text
    )


def test_the_chapter_shows_the_cluster_example_as_the_gallery_has_it(page):
    blocks = "\n".join(_code_blocks(page))
    script = (
        ROOT / "gallery" / "mnist_models" / cluster.CLUSTER_EXAMPLE
    ).read_text()
    for piece in (
        'os.replace(checkpoint + ".tmp", checkpoint)',
        "signal.signal(s, request_stop)",
        "sys.exit(requeue_status)",
        "DistributedSampler(train_set, world_size, rank, seed=seed)",
        "nn.parallel.DistributedDataParallel(net)",
    ):
        assert piece in script and piece in blocks, piece
    for gone in ("experiments.run", "dlcourse train", "torch_trainer"):
        assert gone not in page.get_text()


def test_the_gpu_table_shows_what_the_examples_saved_on_the_h200(page):
    record = json.loads(
        (ROOT / "book" / "measurements" / "nvidia-h200.json").read_text()
    )
    tables = [
        t
        for t in page.select(".cell_output table")
        if "GPU speed-up" in t.get_text()
    ]
    assert len(tables) == 1, "the GPU table is missing"
    header = [th.get_text(strip=True) for th in tables[0].select("thead th")]
    assert header[:4] == ["example", "device", "test accuracy", "training s"]
    rows = [
        [td.get_text(strip=True) for td in tr.select("td")]
        for tr in tables[0].select("tbody tr")
    ]
    gpu = record["machine"]["gpu"]
    assert rows and all(row[1] == gpu for row in rows)
    assert any(row[0] == "plot_cnn.py (cnn)" for row in rows)


def test_the_deck_facts_are_a_table_of_the_text(page):
    deck = "\n".join(t.get_text(" ") for t in page.select("article table"))
    assert "960 NVIDIA Tesla K20x" in deck and "46th, November 2014" in deck
