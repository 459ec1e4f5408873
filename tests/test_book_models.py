"""Checks of the built chapters and gallery pages on the MNIST models.

Each chapter shows the 2018 course's result beside the one measured in the build; every result
the gallery examples saved lies in its band; each example's network is the library's network;
every figure is described. Run after a build (``pytest -m book``); ``DLCOURSE_HTML`` points at
another HTML folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import bookpages
import pytest
from bs4 import BeautifulSoup

from dlcourse import hardware, models, report, reported, saved_runs

pytestmark = pytest.mark.book

ROOT = bookpages.ROOT
HTML = bookpages.HTML
GALLERY = ROOT / "gallery" / "mnist_models"
# The examples that train convolutional networks, the ones a GPU speeds up most.
HEAVY_SCRIPTS = [
    "plot_cnn",
    "plot_cnn_expanded",
    "plot_pytorch_example",
    "plot_training_fast",
]

# The network each 2018 result's example trains, as the library builds it.
ARCHITECTURES = {
    "softmax": models.Architecture(kind="softmax"),
    "mlp_sigmoid": models.Architecture(kind="mlp", activation="sigmoid"),
    "mlp_tanh": models.Architecture(kind="mlp", activation="tanh"),
    "mlp_relu": models.Architecture(kind="mlp", activation="relu"),
    "mlp_dropout": models.Architecture(
        kind="mlp", activation="relu", dropout=0.25
    ),
    "cnn": models.Architecture(kind="cnn", dropout=0.25),
    "cnn_expanded": models.Architecture(kind="cnn", dropout=0.25),
    "pytorch_example": models.Architecture(kind="pytorch_example", dropout=0.5),
}

# Each chapter and the 2018 results it sets beside the measured ones.
CHAPTER_RESULTS = {
    "softmax_regression": ["softmax"],
    "deeper_networks": ["mlp_sigmoid", "mlp_tanh", "mlp_relu"],
    "dropout": ["mlp_relu", "mlp_dropout"],
    "convolutional_networks": ["cnn"],
    "more_data": ["cnn", "cnn_expanded"],
    "frameworks": ["pytorch_example"],
}
CHAPTERS = [*CHAPTER_RESULTS, "training_fast", "further_reading"]
TABLE_HEADER = ["2018 course", "this build", "band", "in band"]


_page = bookpages.page


def _comparison_rows(page: BeautifulSoup) -> dict[str, dict[str, str]]:
    """Return the rows of every 2018-vs-measured table on the page, keyed by model title."""
    rows = {}
    for table in page.select("table"):
        header = [
            th.get_text(strip=True)
            for th in table.select("thead tr")[0].find_all("th")
        ]
        if header[-len(TABLE_HEADER) :] != TABLE_HEADER:
            continue
        for tr in table.select("tbody tr"):
            title = tr.find("th").get_text(strip=True)
            cells = [td.get_text(strip=True) for td in tr.find_all("td")]
            rows[title] = dict(zip(TABLE_HEADER, cells, strict=True))
    return rows


def test_every_2018_result_has_its_network():
    assert set(ARCHITECTURES) == set(reported.NAMES)


@pytest.mark.parametrize("name", reported.NAMES)
def test_every_result_the_examples_saved_lies_in_its_band(name):
    result = reported.get(name)
    run = saved_runs.load(name, GALLERY)
    if not run.is_full:
        pytest.skip(
            f"{name} ran on {run.train_images:,} training images, not the full set"
        )
    assert result.in_band(run.test_accuracy), (
        f"{name}: measured {run.test_accuracy:.2%} lies outside the band "
        f"{result.low:g}–{result.high:g}% around the 2018 course's "
        f"{result.reported_text()}; {saved_runs.ran_on(run)}, on a machine with "
        f"{hardware.cpu_model()} ({os.cpu_count()} cores), in {GALLERY.relative_to(ROOT)}"
    )


def _layer_signature(layer) -> tuple:
    """Return a Keras layer's class and the settings that decide its shape and function."""
    config = layer.get_config()
    keys = (
        "units",
        "filters",
        "kernel_size",
        "strides",
        "padding",
        "pool_size",
        "rate",
    )
    return (
        type(layer).__name__,
        config.get("activation"),
        *(config.get(k) for k in keys),
    )


def _network_layers(model) -> list:
    """Return the model's layers, leaving out the random ones that only vary the training data."""
    return [
        layer for layer in model.layers if not layer.name.startswith("augment")
    ]


@pytest.mark.parametrize(
    "name", [n for n in reported.NAMES if n != "pytorch_example"]
)
def test_each_keras_example_trains_the_librarys_network(name):
    import keras

    saved = keras.saving.load_model(saved_runs.load(name, GALLERY).model_path())
    library = models.keras_model(ARCHITECTURES[name])
    assert [_layer_signature(x) for x in _network_layers(saved)] == [
        _layer_signature(x) for x in library.layers
    ]
    assert (
        sum(x.count_params() for x in _network_layers(saved))
        == library.count_params()
    )


def test_the_pytorch_example_trains_the_librarys_network():
    import torch

    saved = torch.load(
        saved_runs.load("pytorch_example", GALLERY).model_path(),
        weights_only=True,
        map_location="cpu",
    )
    library = models.torch_model(ARCHITECTURES["pytorch_example"]).state_dict()
    assert [tuple(t.shape) for t in saved.values()] == [
        tuple(t.shape) for t in library.values()
    ]


@pytest.mark.parametrize("chapter", CHAPTER_RESULTS)
def test_chapter_sets_each_seed_result_beside_the_measured_one(chapter):
    rows = _comparison_rows(_page(f"book/{chapter}.html"))
    assert rows, (
        f"{chapter}: no '2018 course | this build | band | in band' table"
    )
    for name in CHAPTER_RESULTS[chapter]:
        result = reported.get(name)
        assert result.title in rows, f"{chapter}: no row for {result.title}"
        row = rows[result.title]
        assert row["2018 course"] == result.reported_text()
        assert re.fullmatch(r"\d{1,3}\.\d{2}%", row["this build"]), row
        assert row["band"] == f"{result.low:g}–{result.high:g}%"
        # A full build fails on a result outside its band, so "no" must never be published.
        assert row["in band"] in (report.IN_BAND, "not checked"), row


@pytest.mark.parametrize("chapter", CHAPTER_RESULTS)
def test_chapter_says_what_data_its_results_saw_and_where_they_ran(chapter):
    text = _page(f"book/{chapter}.html").get_text()
    assert re.search(
        r"epochs, \d+ s of training on (the full training|[\d,]+ training)",
        text,
    )
    # From the device each run recorded, never from the machine that reads it.
    assert re.search(r"ran on \S", text), chapter
    assert "where there was one" not in text, chapter


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_figure_has_alt_text_and_a_caption(chapter):
    page = _page(f"book/{chapter}.html")
    for figure in page.select("figure"):
        image = figure.find("img")
        assert image is not None and image.get("alt", "").strip(), (
            f"{chapter}: {figure}"
        )
        caption = figure.find("figcaption")
        assert caption is not None and caption.get_text(strip=True), (
            f"{chapter}: no caption"
        )
        assert (HTML / "book" / image["src"]).is_file(), image["src"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_glued_values_are_filled_in_and_nothing_failed(chapter):
    page = _page(f"book/{chapter}.html")
    for span in page.select("span.pasted-text"):
        text = span.get_text()
        assert text.strip() and not text.startswith(("'", "‘")), (
            f"{chapter}: {text!r}"
        )
    assert "Traceback" not in page.get_text()


def test_every_chapter_has_figures_where_it_trains_a_model():
    for chapter in CHAPTER_RESULTS:
        assert _page(f"book/{chapter}.html").select("figure img"), (
            f"{chapter}: no figure"
        )


@pytest.mark.parametrize(
    "chapter", ["softmax_regression", "deeper_networks", "frameworks"]
)
def test_chapter_shows_framework_code_in_executed_cells(chapter):
    page = _page(f"book/{chapter}.html")
    code = " ".join(cell.get_text() for cell in page.select(".cell_input"))
    if chapter == "frameworks":
        assert "class Net(nn.Module)" in code and "loss.backward()" in code
        assert "optimizer.step()" in code
    else:
        assert "keras.Sequential(" in code
    if chapter == "softmax_regression":
        assert (
            "model.compile(" in code
            and "model.fit(" in code
            and "model.evaluate(" in code
        )


def test_softmax_chapter_prints_the_batch_shapes_and_the_worked_cross_entropy():
    page = _page("book/softmax_regression.html")
    outputs = " ".join(o.get_text() for o in page.select(".cell_output"))
    for shape in ("[60000, 784]", "[784, 10]", "[10]", "[60000, 10]"):
        assert shape in outputs
    glued = [span.get_text() for span in page.select("span.pasted-text")]
    # -ln 0.90, the seed's worked example of a "6".
    assert "0.105" in glued
    assert (
        len(page.select("figure")) >= 4
    )  # curves, templates, right and wrong digits


def test_cnn_chapter_shows_filters_feature_maps_and_history():
    page = _page("book/convolutional_networks.html")
    captions = " ".join(c.get_text() for c in page.select("figcaption")).lower()
    for topic in ("filter", "feature maps", "max-pooling", "test digits"):
        assert topic in captions, topic
    assert "AlexNet" in page.get_text() and "GoogLeNet" in page.get_text()


def test_frameworks_chapter_has_tabs_backends_and_the_shares_chart():
    page = _page("book/frameworks.html")
    labels = [
        label.get_text(strip=True) for label in page.select(".sd-tab-set label")
    ]
    assert labels == ["Keras", "PyTorch"]
    tables = " ".join(
        t.get_text(" ") for t in page.select(".cell_output table")
    )
    assert "tensorflow" in tables and "torch" in tables and "14.3" in tables
    assert "SoftmaxWithLoss" in page.get_text()  # the Caffe prototxt
    outputs = " ".join(o.get_text() for o in page.select(".cell_output"))
    assert "same layers and shapes as Net above: True" in outputs
    # The page writes the script it runs on each backend, so its download runs alone.
    code = " ".join(cell.get_text() for cell in page.select(".cell_input"))
    assert "%%writefile softmax_on_backend.py" in code
    assert '"softmax_on_backend.py"' in code and "KERAS_BACKEND" in code


def test_further_reading_links_the_courses():
    links = [
        a["href"] for a in _page("book/further_reading.html").select("a[href]")
    ]
    for course in ("coursera.org", "caltech.edu", "cs231n", "cs224n"):
        assert any(course in href for href in links), course


def test_gallery_has_a_page_for_every_models_script():
    scripts = sorted(path.stem for path in GALLERY.glob("plot_*.py"))
    assert set(HEAVY_SCRIPTS) <= set(scripts)
    for script in scripts:
        page = _page(f"book/gallery/mnist_models/{script}.html")
        images = page.select("img.sphx-glr-single-img, img.sphx-glr-multi-img")
        assert images, f"{script}: no figure"
        for image in images:
            assert image.get("alt", "").strip(), (
                f"{script}: an image without alt text"
            )
            assert (HTML / "book/gallery/mnist_models" / image["src"]).is_file()


@pytest.mark.parametrize("script", HEAVY_SCRIPTS)
def test_heavy_example_pages_state_where_and_how_long_they_trained(script):
    text = _page(f"book/gallery/mnist_models/{script}.html").get_text()
    assert re.search(
        r"trained in \d+(\.\d)? s on (tensorflow|jax|torch|cpu|cuda)", text
    ), script


# The examples that reproduce a 2018 result, and the fast path that trains the same networks.
SEED_SCRIPTS = sorted(
    {Path(result.example).stem for result in reported.RESULTS}
    | {"plot_training_fast"}
)


@pytest.mark.parametrize("script", SEED_SCRIPTS)
def test_gallery_pages_print_the_seed_value_beside_the_measured_one(script):
    text = _page(f"book/gallery/mnist_models/{script}.html").get_text()
    assert re.search(r"\d{1,3}\.\d{2}%.{0,30}2018", text) or re.search(
        r"2018: \d+\.\d+%\s+here: \d+\.\d+%", text
    ), f"{script}: no measured value beside the 2018 course's"


def test_fast_chapter_sets_the_fast_recipe_beside_the_2018_one():
    page = _page("book/training_fast.html")
    for table in page.select(".cell_output table"):
        header = [th.get_text(strip=True) for th in table.select("thead th")]
        if "speed-up" in header:
            assert "trained on" in header, header
            break
    else:
        pytest.fail("no table with a speed-up column on the fast chapter")
    rows = [
        [td.get_text(strip=True) for td in tr.find_all("td")]
        for tr in table.select("tbody tr")
    ]
    assert len(rows) == 3
    for row in rows:
        # 2018 course, 2018 recipe, fast recipe, trained on, speed-up
        assert re.fullmatch(r"\d+\.\d×", row[-1]), row
        assert all(
            re.fullmatch(r"\d{1,3}\.\d{2}% in \d+\.\d s", cell)
            for cell in row[1:3]
        ), row
    text = page.get_text()
    assert re.search(r"def train\(\s*model,\s*epochs", text)
    assert re.search(r"def training_step\(\s*model,\s*optimizer", text)


def test_fast_chapter_measures_what_each_change_is_worth():
    page = _page("book/training_fast.html")
    tables = [
        table
        for table in page.select(".cell_output table")
        if "change undone" in table.get_text()
    ]
    assert tables, "no table of the changes undone on the fast chapter"
    text = tables[0].get_text(" ")
    for change in (
        "one-cycle learning rate",
        "AdamW",
        "shifted digits",
        "label smoothing",
        "channels-last images",
        "batches sliced from one tensor",
    ):
        assert change in text, change
    assert len(re.findall(r"[+-]\d+\.\d{2} points", text)) == 4, text
    assert re.search(r"\d+\.\d{2}×", text), text
