"""Checks of the "Draw a digit" page: the network it serves, and its widget in Chromium.

The export of a Keras model is checked on a small model of its own. After a build,
``pytest -m book`` compares the files the page loads with the saved network, and
``pytest -m browser`` draws on the page with a mouse, a finger and the keyboard, served from
127.0.0.1, and checks the page's preparation and forward pass against MNIST and Keras.
"""

from __future__ import annotations

import json
import math
import os
import re

import bookpages
import numpy as np
import pytest

from dlcourse import saved_runs

ROOT = bookpages.ROOT
PAGE = "book/draw_a_digit.html"
NETWORK = bookpages.HTML / "_static" / "draw_a_digit" / "network.json"
RUNS = ROOT / "gallery" / "mnist_models"
# Probabilities from the page's 32-bit arithmetic and from Keras's differ only by rounding.
TOLERANCE = 1e-4


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    return keras


@pytest.fixture
def exporter(monkeypatch):
    """The extension module that writes the network for the page."""
    monkeypatch.syspath_prepend(str(ROOT / "book" / "_ext"))
    import dlcourse_digit

    return dlcourse_digit


@pytest.fixture(scope="module")
def cnn():
    """The convolutional network the build's gallery example trained and saved."""
    return _keras().saving.load_model(
        saved_runs.load("cnn", RUNS).model_path(), compile=False
    )


def _read_network(manifest_path):
    """Return the manifest and each layer's arrays, as the page's script reads them."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    blob = (manifest_path.parent / manifest["weights"]).read_bytes()
    assert len(blob) == manifest["bytes"]
    arrays = [
        [
            np.frombuffer(blob, "<f4", a["size"], a["offset"]).reshape(
                a["shape"]
            )
            for a in layer["arrays"]
        ]
        for layer in manifest["layers"]
    ]
    return manifest, arrays


# ---- the export, on a small model --------------------------------------------------------------


def _small_model(padding="valid"):
    keras = _keras()
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(2, 3, activation="relu", padding=padding),
            keras.layers.MaxPooling2D(2),
            keras.layers.Dropout(0.5),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


def test_export_writes_every_layer_and_weight_exactly(exporter, tmp_path):
    model = _small_model()
    model.save(tmp_path / "small.keras")
    manifest, arrays = _read_network(
        exporter.export_network(tmp_path / "small.keras", tmp_path)
    )
    assert manifest["input_shape"] == [8, 8, 1]
    assert [layer["type"] for layer in manifest["layers"]] == [
        "Conv2D",
        "MaxPooling2D",
        "Dropout",
        "Flatten",
        "Dense",
    ]
    assert [layer.get("activation") for layer in manifest["layers"]] == [
        "relu",
        None,
        None,
        None,
        "softmax",
    ]
    assert (
        manifest["layers"][1]["pool_size"]
        == [2, 2]
        == manifest["layers"][1]["strides"]
    )
    for layer, written in zip(model.layers, arrays, strict=True):
        expected = layer.get_weights()
        assert len(written) == len(expected)
        for a, b in zip(written, expected, strict=True):
            assert a.shape == b.shape and np.array_equal(a, b)
    assert [a["name"] for a in manifest["layers"][0]["arrays"]] == [
        "kernel",
        "bias",
    ]


def test_export_refuses_a_missing_model_naming_the_example(exporter, tmp_path):
    with pytest.raises(
        exporter.ExtensionError, match=r"cnn\.keras is missing.*plot_cnn\.py"
    ):
        exporter.export_network(tmp_path / "cnn.keras", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_export_refuses_a_layer_the_page_cannot_compute(exporter, tmp_path):
    _small_model(padding="same").save(tmp_path / "same.keras")
    with pytest.raises(
        exporter.ExtensionError,
        match=r"cannot run layer conv2d.*padding 'same'",
    ):
        exporter.export_network(tmp_path / "same.keras", tmp_path / "out")


# ---- the built page ----------------------------------------------------------------------------


@pytest.mark.book
def test_page_serves_the_network_this_build_trained(cnn):
    bookpages.built(NETWORK)
    manifest, arrays = _read_network(NETWORK)
    assert manifest["model"] == "cnn.keras"
    assert [(layer["name"], layer["type"]) for layer in manifest["layers"]] == [
        (layer.name, type(layer).__name__) for layer in cnn.layers
    ]
    for layer, written in zip(cnn.layers, arrays, strict=True):
        for a, b in zip(written, layer.get_weights(), strict=True):
            assert np.array_equal(a, b), layer.name


@pytest.mark.book
def test_page_says_which_run_it_serves_and_loads_its_script():
    page = bookpages.page(PAGE)
    text = " ".join(page.get_text(" ").split())
    run = saved_runs.load("cnn", RUNS)
    assert f"test accuracy of {run.test_accuracy:.2%}" in text
    assert saved_runs.ran_on(run) in text
    scripts = [s.get("src", "") for s in page.select("script")]
    assert any(
        re.search(r"_static/draw_a_digit\.js(\?|$)", src) for src in scripts
    ), scripts
    assert any(
        "draw_a_digit.css" in link["href"]
        for link in page.select("link[rel=stylesheet]")
    )
    other = bookpages.page("book/your_own_digit.html")
    assert not any(
        "draw_a_digit.js" in s.get("src", "") for s in other.select("script")
    )
    assert other.select_one('a[href="draw_a_digit.html"]'), (
        "your_own_digit does not link the page"
    )


# ---- the widget in Chromium ---------------------------------------------------------------------

READY = "document.querySelector('[data-testid=status]').textContent.startsWith('Draw')"
# Every pixel of the drawing canvas is black.
BLANK = """() => {
    const canvas = document.querySelector("[data-testid=digit-canvas]");
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    return data.every((v, i) => i % 4 === 3 || v === 0);
}"""


@pytest.fixture
def open_page(chromium, serve):
    """Return a function that opens the page in a fresh context; no script error is allowed."""
    bookpages.built(bookpages.HTML / PAGE)
    base = serve(bookpages.HTML).url
    problems: list[str] = []
    contexts = []

    def open_(**options):
        context = bookpages.offline_context(
            chromium, viewport={"width": 1100, "height": 900}, **options
        )
        contexts.append(context)
        tab = context.new_page()
        bookpages.record_errors(tab, problems)
        tab.goto(base + PAGE, wait_until="networkidle")
        tab.wait_for_function(READY, timeout=30_000)
        tab.get_by_test_id("digit-canvas").scroll_into_view_if_needed()
        return tab

    yield open_
    for context in contexts:
        context.close()
    assert not problems, problems


def _points(tab, fractions):
    """Return page coordinates of points given as fractions of the drawing canvas."""
    box = tab.get_by_test_id("digit-canvas").bounding_box()
    return [
        (box["x"] + fx * box["width"], box["y"] + fy * box["height"])
        for fx, fy in fractions
    ]


ONE = [(0.5, 0.12), (0.5, 0.88)]
ZERO = [
    (
        0.5 + 0.26 * math.sin(2 * math.pi * k / 48),
        0.5 - 0.36 * math.cos(2 * math.pi * k / 48),
    )
    for k in range(50)
]


def _draw_with_mouse(tab, fractions):
    points = _points(tab, fractions)
    tab.mouse.move(*points[0])
    tab.mouse.down()
    for point in points[1:]:
        tab.mouse.move(*point, steps=max(2, 40 // len(points)))
    tab.mouse.up()


def _probabilities(tab):
    values = (
        tab.get_by_test_id("probabilities")
        .locator(".dlcourse-digit-value")
        .all_inner_texts()
    )
    return [float(v.rstrip("%")) / 100 for v in values]


def _expect():
    from playwright.sync_api import expect

    return expect


@pytest.mark.browser
def test_a_stroke_reads_as_1_and_after_clear_an_oval_as_0(open_page):
    tab = open_page()
    expect = _expect()
    prediction = tab.get_by_test_id("prediction")
    assert prediction.inner_text().strip() in ("", "–")
    assert tab.get_by_test_id("digit-canvas").evaluate(
        "c => getComputedStyle(c).touchAction"
    ) == ("none")
    _draw_with_mouse(tab, ONE)
    expect(prediction).to_have_text("1")
    probabilities = _probabilities(tab)
    assert len(probabilities) == 10 and abs(sum(probabilities) - 1) < 0.01
    assert max(probabilities) == probabilities[1]
    tab.get_by_test_id("clear").click()
    expect(prediction).to_have_text("–")
    assert tab.evaluate(BLANK)
    _draw_with_mouse(tab, ZERO)
    expect(prediction).to_have_text("0")


@pytest.mark.browser
def test_the_bars_follow_the_drawing_while_it_is_drawn(open_page):
    tab = open_page()
    points = _points(tab, ZERO)
    tab.mouse.move(*points[0])
    tab.mouse.down()
    for point in points[1:25]:
        tab.mouse.move(*point, steps=2)
    _expect()(tab.get_by_test_id("prediction")).to_have_text(
        re.compile(r"^\d$")
    )
    half = _probabilities(tab)
    for point in points[25:]:
        tab.mouse.move(*point, steps=2)
    _expect()(tab.get_by_test_id("prediction")).to_have_text("0")
    tab.mouse.up()
    assert _probabilities(tab) != half, (
        "the bars did not change while the oval was closed"
    )


@pytest.mark.browser
def test_a_finger_draws_too(open_page):
    tab = open_page(has_touch=True)
    touch = tab.context.new_cdp_session(tab)
    scrolled = tab.evaluate("window.scrollY")
    points = _points(tab, [(0.5, 0.12 + 0.76 * k / 30) for k in range(31)])
    finger = [[{"x": x, "y": y}] for x, y in points]
    for kind, touching in [("touchStart", finger[0])] + [
        ("touchMove", f) for f in finger[1:]
    ]:
        touch.send(
            "Input.dispatchTouchEvent", {"type": kind, "touchPoints": touching}
        )
    touch.send(
        "Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []}
    )
    _expect()(tab.get_by_test_id("prediction")).to_have_text("1")
    assert tab.evaluate("window.scrollY") == scrolled, (
        "the page scrolled under the finger"
    )


@pytest.mark.browser
def test_clear_is_a_button_reached_with_tab_that_clears(open_page):
    tab = open_page()
    _draw_with_mouse(tab, ONE)
    _expect()(tab.get_by_test_id("prediction")).to_have_text("1")
    tab.locator(
        "main h1:visible"
    ).first.click()  # Tab moves on from the title of the page
    focused = None
    for _ in range(300):
        tab.keyboard.press("Tab")
        focused = tab.evaluate("document.activeElement.dataset.testid || null")
        if focused == "clear":
            break
    assert focused == "clear", "Tab never reached the clear button"
    assert tab.evaluate("document.activeElement.tagName") == "BUTTON"
    tab.keyboard.press("Enter")
    _expect()(tab.get_by_test_id("prediction")).to_have_text("–")
    assert tab.evaluate(BLANK)
    assert _probabilities_text(tab) == [""] * 10


def _probabilities_text(tab):
    return (
        tab.get_by_test_id("probabilities")
        .locator(".dlcourse-digit-value")
        .all_inner_texts()
    )


@pytest.mark.browser
def test_the_pages_forward_pass_is_kerass_on_mnist_test_digits(
    open_page, cnn, mnist
):
    tab = open_page()
    images = mnist.test_images[:12].astype("float32") / 255
    expected = cnn.predict(images[..., None], verbose=0)
    got = np.array(
        tab.evaluate(
            """async (images) => {
                await dlcourseDigit.ready;
                return images.map((image) => Array.from(dlcourseDigit.predict(image)));
            }""",
            [image.ravel().tolist() for image in images],
        )
    )
    assert got.shape == (12, 10)
    assert np.abs(got - expected).max() < TOLERANCE
    assert np.array_equal(got.argmax(axis=1), expected.argmax(axis=1))


@pytest.mark.browser
def test_the_page_prepares_a_digit_drawn_large_as_mnist_has_it(
    open_page, mnist
):
    """An MNIST digit blown up ten times comes back as itself, give or take a pixel's shift."""
    tab = open_page()
    train = mnist.train_images.astype(np.int64)
    index = np.arange(28)
    mass = train.sum(axis=(1, 2))
    centre = [
        (train.sum(axis=2) @ index / mass).mean(),
        (train.sum(axis=1) @ index / mass).mean(),
    ]
    assert tab.evaluate("dlcourseDigit.target") == [round(c) for c in centre]
    picked = [
        image
        for image in mnist.test_images[:40]
        if image.max() == 255
        and max(np.ptp(np.nonzero(image), axis=1)) + 1 == 20
    ][:10]
    assert len(picked) >= 5
    for image in picked:
        large = np.kron(image, np.ones((10, 10), dtype=np.uint8))
        prepared = np.array(
            tab.evaluate(
                "([ink, side]) => Array.from(dlcourseDigit.prepare(ink, side, side))",
                [large.ravel().tolist(), large.shape[0]],
            )
        ).reshape(28, 28)
        difference = min(
            np.abs(prepared - np.roll(image, (dy, dx), axis=(0, 1))).max()
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        )
        assert difference < 0.01
