"""Checks of the built chapters and gallery pages on the MNIST models.

Each chapter shows the 2018 course's result beside the one measured in the build; every GPU
example says where, how long and with which profile it trained; every figure is described.
Run after a build (``pytest -m book``); ``DLCOURSE_HTML`` points at another HTML folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from dlcourse import experiments

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("DLCOURSE_HTML") or ROOT / "_build" / "html")
GALLERY = ROOT / "gallery" / "mnist_models"
GPU_MARKER = "# dlcourse: gpu"

# Each chapter and the experiments whose 2018 result it sets beside the measured one.
CHAPTER_EXPERIMENTS = {
    "softmax_regression": ["softmax"],
    "deeper_networks": ["mlp_sigmoid", "mlp_tanh", "mlp_relu"],
    "dropout": ["mlp_relu", "mlp_dropout"],
    "convolutional_networks": ["cnn"],
    "more_data": ["cnn", "cnn_expanded"],
    "frameworks": ["pytorch_example"],
}
CHAPTERS = [*CHAPTER_EXPERIMENTS, "further_reading"]
TABLE_HEADER = ["2018 course", "this build", "band", "in band"]


def _page(relative: str) -> BeautifulSoup:
    path = HTML / relative
    if not path.is_file():
        pytest.fail(f"{path} is missing: build the book first (nox -s book)")
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _comparison_rows(page: BeautifulSoup) -> dict[str, dict[str, str]]:
    """Return the rows of every 2018-vs-measured table on the page, keyed by model title."""
    rows = {}
    for table in page.select("table"):
        header = [th.get_text(strip=True) for th in table.select("thead tr")[0].find_all("th")]
        if header[-len(TABLE_HEADER) :] != TABLE_HEADER:
            continue
        for tr in table.select("tbody tr"):
            title = tr.find("th").get_text(strip=True)
            cells = [td.get_text(strip=True) for td in tr.find_all("td")]
            rows[title] = dict(zip(TABLE_HEADER, cells, strict=True))
    return rows


def _gpu_scripts() -> list[str]:
    return sorted(
        path.stem
        for path in GALLERY.glob("plot_*.py")
        if GPU_MARKER in path.read_text(encoding="utf-8").splitlines()
    )


@pytest.mark.parametrize("chapter", CHAPTER_EXPERIMENTS)
def test_chapter_sets_each_seed_result_beside_the_measured_one(chapter):
    rows = _comparison_rows(_page(f"book/{chapter}.html"))
    assert rows, f"{chapter}: no '2018 course | this build | band | in band' table"
    for name in CHAPTER_EXPERIMENTS[chapter]:
        experiment = experiments.get(name)
        assert experiment.title in rows, f"{chapter}: no row for {experiment.title}"
        row = rows[experiment.title]
        assert row["2018 course"] == experiment.reported_text()
        assert re.fullmatch(r"\d{1,3}\.\d{2}%", row["this build"]), row
        assert row["band"] == f"{experiment.low:g}–{experiment.high:g}%"
        # A full build fails on a result outside its band, so "no" must never be published.
        assert row["in band"] == "yes" or row["in band"].startswith("not checked ("), row


@pytest.mark.parametrize("chapter", CHAPTER_EXPERIMENTS)
def test_chapter_says_which_profile_made_its_results(chapter):
    text = _page(f"book/{chapter}.html").get_text()
    assert re.search(r"profile (full|smoke): ", text), f"{chapter}: the profile is not shown"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_figure_has_alt_text_and_a_caption(chapter):
    page = _page(f"book/{chapter}.html")
    for figure in page.select("figure"):
        image = figure.find("img")
        assert image is not None and image.get("alt", "").strip(), f"{chapter}: {figure}"
        caption = figure.find("figcaption")
        assert caption is not None and caption.get_text(strip=True), f"{chapter}: no caption"
        assert (HTML / "book" / image["src"]).is_file(), image["src"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_glued_values_are_filled_in_and_nothing_failed(chapter):
    page = _page(f"book/{chapter}.html")
    for span in page.select("span.pasted-text"):
        text = span.get_text()
        assert text.strip() and not text.startswith(("'", "‘")), f"{chapter}: {text!r}"
    assert "Traceback" not in page.get_text()


def test_every_chapter_has_figures_where_it_trains_a_model():
    for chapter in CHAPTER_EXPERIMENTS:
        assert _page(f"book/{chapter}.html").select("figure img"), f"{chapter}: no figure"


def test_softmax_chapter_prints_the_batch_shapes_and_the_worked_cross_entropy():
    page = _page("book/softmax_regression.html")
    outputs = " ".join(o.get_text() for o in page.select(".cell_output"))
    for shape in ("[60000, 784]", "[784, 10]", "[10]", "[60000, 10]"):
        assert shape in outputs
    glued = [span.get_text() for span in page.select("span.pasted-text")]
    # -ln 0.90, the seed's worked example of a "6".
    assert "0.105" in glued
    assert len(page.select("figure")) >= 4  # curves, templates, right and wrong digits


def test_cnn_chapter_shows_filters_feature_maps_and_history():
    page = _page("book/convolutional_networks.html")
    captions = " ".join(c.get_text() for c in page.select("figcaption")).lower()
    for topic in ("filter", "feature maps", "max-pooling", "test digits"):
        assert topic in captions, topic
    assert "AlexNet" in page.get_text() and "GoogLeNet" in page.get_text()


def test_frameworks_chapter_has_tabs_backends_and_the_shares_chart():
    page = _page("book/frameworks.html")
    labels = [label.get_text(strip=True) for label in page.select(".sd-tab-set label")]
    assert labels == ["Keras", "PyTorch"]
    tables = " ".join(t.get_text(" ") for t in page.select(".cell_output table"))
    assert "tensorflow" in tables and "torch" in tables and "14.3" in tables
    assert "SoftmaxWithLoss" in page.get_text()  # the Caffe prototxt


def test_further_reading_links_the_courses():
    links = [a["href"] for a in _page("book/further_reading.html").select("a[href]")]
    for course in ("coursera.org", "caltech.edu", "cs231n", "cs224n"):
        assert any(course in href for href in links), course


def test_gallery_has_a_page_for_every_models_script():
    scripts = sorted(path.stem for path in GALLERY.glob("plot_*.py"))
    assert {"plot_cnn", "plot_cnn_expanded", "plot_pytorch_example"} <= set(_gpu_scripts())
    for script in scripts:
        page = _page(f"book/gallery/mnist_models/{script}.html")
        images = page.select("img.sphx-glr-single-img, img.sphx-glr-multi-img")
        assert images, f"{script}: no figure"
        for image in images:
            assert image.get("alt", "").strip(), f"{script}: an image without alt text"
            assert (HTML / "book/gallery/mnist_models" / image["src"]).is_file()


@pytest.mark.parametrize("script", _gpu_scripts())
def test_gpu_example_pages_state_device_time_and_profile(script):
    text = _page(f"book/gallery/mnist_models/{script}.html").get_text()
    assert re.search(r"device:\s+(cpu|cuda) \(", text), f"{script}: no device"
    assert re.search(r"time:\s+\d+\.\d s of training", text), f"{script}: no training time"
    assert re.search(r"profile (full|smoke): ", text), f"{script}: no profile"


@pytest.mark.parametrize("script", ["plot_mlp_activations", "plot_dropout", "plot_cnn_expanded"])
def test_gallery_pages_show_the_seed_table(script):
    rows = _comparison_rows(_page(f"book/gallery/mnist_models/{script}.html"))
    assert rows, f"{script}: no 2018-vs-measured table"
    assert all(re.fullmatch(r"\d{1,3}\.\d{2}%", row["this build"]) for row in rows.values())
