"""Checks of the "Train in the browser" page: the subset it serves, and its widget in Chromium.

The export is checked on small arrays of its own. After a build, ``pytest -m book`` compares
the files the page loads with MNIST and with what the page's code says it trained on, and
``pytest -m browser`` trains in Chromium, served from 127.0.0.1: with the book's settings the
test accuracy must land in the band the build measured in NumPy, a full-batch run must follow
NumPy's step for step, the sliders must answer the keyboard, and axe-core must find nothing.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import time

import bookpages
import numpy as np
import pytest

from dlcourse import data

ROOT = bookpages.ROOT
PAGE = "book/train_in_the_browser.html"
MANIFEST = bookpages.HTML / "_static" / "train_in_the_browser" / "subset.json"


@pytest.fixture
def exporter(monkeypatch):
    """The extension module that writes the subset for the page."""
    monkeypatch.syspath_prepend(str(ROOT / "book" / "_ext"))
    import dlcourse_retrain

    return dlcourse_retrain


def _read_subset(manifest_path):
    """Return the manifest and its arrays, read as the page's script reads them."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    raw = gzip.decompress(
        (manifest_path.parent / manifest["file"]).read_bytes()
    )
    assert len(raw) == manifest["bytes"]
    assert hashlib.sha256(raw).hexdigest() == manifest["sha256"]
    arrays = {}
    for part in manifest["arrays"]:
        size = int(np.prod(part["shape"]))
        arrays[part["name"]] = np.frombuffer(
            raw, np.uint8, size, part["offset"]
        ).reshape(part["shape"])
    return manifest, arrays


# ---- the export, on small arrays ---------------------------------------------------------------


def _small_mnist(rng):
    return data.MNIST(
        train_images=rng.integers(0, 256, (7, 28, 28), dtype=np.uint8),
        train_labels=rng.integers(0, 10, 7),
        test_images=rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        test_labels=rng.integers(0, 10, 4),
        directory=ROOT,
    )


def test_export_writes_the_first_images_exactly(exporter, tmp_path):
    mnist = _small_mnist(np.random.default_rng(0))
    path = exporter.export_subset(exporter.subset_arrays(mnist, 5, 3), tmp_path)
    manifest, arrays = _read_subset(path)
    assert manifest["format"] == "dlcourse-mnist-subset/1"
    assert list(arrays) == [
        "train_images",
        "train_labels",
        "test_images",
        "test_labels",
    ]
    assert np.array_equal(arrays["train_images"], mnist.train_images[:5])
    assert np.array_equal(arrays["train_labels"], mnist.train_labels[:5])
    assert np.array_equal(arrays["test_images"], mnist.test_images[:3])
    assert np.array_equal(arrays["test_labels"], mnist.test_labels[:3])
    for written in tmp_path.iterdir():
        assert written.stat().st_mode & 0o444 == 0o444, written.name


def test_export_gives_the_same_bytes_each_time(exporter, tmp_path):
    arrays = exporter.subset_arrays(
        _small_mnist(np.random.default_rng(1)), 5, 3
    )
    first = exporter.export_subset(arrays, tmp_path / "a")
    second = exporter.export_subset(arrays, tmp_path / "b")
    for name in (first.name, exporter.BLOB):
        assert (first.parent / name).read_bytes() == (
            second.parent / name
        ).read_bytes()


def test_export_refuses_values_that_are_not_bytes(exporter, tmp_path):
    arrays = exporter.subset_arrays(
        _small_mnist(np.random.default_rng(2)), 5, 3
    )
    arrays["train_labels"] = np.array([0, 1, 300, 2, 3])
    with pytest.raises(ValueError, match="train_labels holds values outside"):
        exporter.export_subset(arrays, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_subset_needs_an_image_of_each_split(exporter):
    with pytest.raises(ValueError, match="at least one image"):
        exporter.subset_arrays(_small_mnist(np.random.default_rng(3)), 5, 0)


# ---- the built page ----------------------------------------------------------------------------


def _page_text():
    return " ".join(bookpages.page(PAGE).get_text(" ").split())


def _percent(text):
    return float(text) / 100


def _band():
    """Return the band of test accuracies the page's code measured, as two fractions."""
    found = re.search(
        r"lands between (\d+\.\d+) ?% and (\d+\.\d+) ?%", _page_text()
    )
    assert found, f"{PAGE} gives no band of test accuracies"
    low, high = map(_percent, found.groups())
    assert 0 < low < high <= 1
    return low, high


def _settings():
    """Return the learning rate, batch size and epochs the page's code trained with."""
    found = re.search(
        r"learning rate ([\d.]+) ?, batches of (\d+) ?, (\d+) epochs",
        _page_text(),
    )
    assert found, f"{PAGE} does not name its settings"
    return float(found[1]), int(found[2]), int(found[3])


@pytest.mark.book
def test_page_serves_the_subset_its_code_trains_on(mnist):
    bookpages.built(MANIFEST)
    manifest, arrays = _read_subset(MANIFEST)
    found = re.search(
        r"That is ([\d,]+) training and ([\d,]+) test images", _page_text()
    )
    assert found, f"{PAGE} does not say how many images it trains on"
    n_train, n_test = (int(n.replace(",", "")) for n in found.groups())
    assert [part["shape"] for part in manifest["arrays"]] == [
        [n_train, 28, 28],
        [n_train],
        [n_test, 28, 28],
        [n_test],
    ]
    assert np.array_equal(arrays["train_images"], mnist.train_images[:n_train])
    assert np.array_equal(arrays["train_labels"], mnist.train_labels[:n_train])
    assert np.array_equal(arrays["test_images"], mnist.test_images[:n_test])
    assert np.array_equal(arrays["test_labels"], mnist.test_labels[:n_test])


@pytest.mark.book
def test_page_glues_its_band_and_settings_and_loads_its_script():
    low, high = _band()
    mean = re.search(r"(\d+\.\d+) ?% on average", _page_text())
    assert mean and low < _percent(mean[1]) < high
    assert _settings()
    page = bookpages.page(PAGE)
    scripts = [s.get("src", "") for s in page.select("script")]
    assert any(
        re.search(r"_static/train_in_the_browser\.js(\?|$)", src)
        for src in scripts
    ), scripts
    other = bookpages.page("book/softmax_regression.html")
    assert not any(
        "train_in_the_browser.js" in s.get("src", "")
        for s in other.select("script")
    )
    assert other.select_one('a[href="train_in_the_browser.html"]'), (
        "softmax_regression does not link the page"
    )


# ---- the widget in Chromium ---------------------------------------------------------------------

READY = "document.querySelector('[data-testid=status]').textContent.includes('press Train')"
SLIDERS = ("learning-rate", "batch-size", "epochs")


@pytest.fixture
def open_page(chromium, serve):
    """Return a function that opens the page in a fresh context; no script error is allowed.

    The function returns the tab and the list of every URL the page asked for.
    """
    bookpages.built(bookpages.HTML / PAGE)
    base = serve(bookpages.HTML).url
    problems: list[str] = []
    contexts = []

    def open_():
        context = bookpages.offline_context(
            chromium, viewport={"width": 1100, "height": 900}
        )
        contexts.append(context)
        tab = context.new_page()
        requests: list[str] = []
        tab.on("request", lambda request: requests.append(request.url))
        bookpages.record_errors(tab, problems)
        tab.goto(base + PAGE, wait_until="networkidle")
        tab.wait_for_function(READY, timeout=30_000)
        tab.get_by_test_id("train").scroll_into_view_if_needed()
        return tab, requests

    yield open_
    for context in contexts:
        context.close()
    assert not problems, problems


def _elsewhere(requests):
    return [
        url
        for url in requests
        if not url.startswith(("http://127.0.0.1:", "data:", "blob:"))
    ]


def _tab_to(tab, testid):
    """Press Tab until the element ``testid`` has the focus; fail if it never does."""
    tab.locator("main h1:visible").first.click()
    for _ in range(300):
        tab.keyboard.press("Tab")
        if tab.evaluate("document.activeElement.dataset.testid") == testid:
            return
    pytest.fail(f"Tab never reached {testid}")


def _value(tab, slider):
    return tab.get_by_test_id(f"{slider}-value").inner_text().strip()


@pytest.mark.browser
def test_training_with_the_books_settings_lands_in_the_builds_band(
    open_page, capsys
):
    tab, requests = open_page()
    learning_rate, batch_size, epochs = _settings()
    assert [_value(tab, slider) for slider in SLIDERS] == [
        f"{learning_rate:g}",
        str(batch_size),
        str(epochs),
    ]
    _tab_to(tab, "train")
    started = time.perf_counter()
    tab.keyboard.press("Enter")
    accuracy = tab.get_by_test_id("accuracy")
    tab.locator("[data-testid=accuracy][data-value]").wait_for(timeout=120_000)
    wall = time.perf_counter() - started
    measured = float(accuracy.get_attribute("data-value"))
    seconds = float(accuracy.get_attribute("data-seconds"))
    low, high = _band()
    with capsys.disabled():  # shown in the session's log, not only on failure
        print(
            f"\nChromium: {epochs} epochs, test accuracy {measured:.2%} "
            f"(the build's band {low:.2%} to {high:.2%}), "
            f"trained in {seconds:.2f} s ({wall:.2f} s from the key press)"
        )
    assert low <= measured <= high
    assert tab.get_by_test_id("epoch-results").locator("li").count() == epochs
    assert accuracy.inner_text() == f"{100 * measured:.2f} %"
    assert tab.get_by_test_id("train").inner_text() == "Train"
    assert "Trained" in tab.get_by_test_id("status").inner_text()
    assert requests and not _elsewhere(requests), _elsewhere(requests)


@pytest.mark.browser
def test_a_full_batch_run_follows_numpy_step_for_step(open_page):
    """With every image in one batch the shuffle changes nothing: the two must agree."""
    tab, _ = open_page()
    got = tab.evaluate(
        """() => [...dlcourseRetrain.train(
            {learningRate: 0.5, batchSize: Infinity, epochs: 4})]"""
    )
    _, arrays = _read_subset(MANIFEST)
    x = data.flatten(arrays["train_images"]).astype(np.float64)
    y = data.one_hot(arrays["train_labels"])
    x_test = data.flatten(arrays["test_images"])
    labels_test = arrays["test_labels"]
    W, b = np.zeros((x.shape[1], 10)), np.zeros(10)
    assert len(got) == 4
    for bad, message in [
        ("{batchSize: 0}", "batch size must be a whole number from 1, not 0"),
        ("{learningRate: -1}", "learning rate must be a positive number"),
        ("{epochs: 2.5}", "epochs must be a whole number from 1, not 2.5"),
    ]:
        thrown = tab.evaluate(
            f"""() => {{
                try {{ dlcourseRetrain.train({bad}); }}
                catch (error) {{ return error.message; }}
            }}"""
        )
        assert thrown and message in thrown, (bad, thrown)
    for step in got:
        z = x @ W + b
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        assert step["loss"] == pytest.approx(-np.log(p[y == 1]).mean(), 1e-5)
        grad = (p - y) / len(x)
        W -= 0.5 * x.T @ grad
        b -= 0.5 * grad.sum(axis=0)
        right = (x_test @ W + b).argmax(axis=1) == labels_test
        assert abs(step["accuracy"] - right.mean()) <= 1 / len(labels_test)


@pytest.mark.browser
def test_each_slider_is_reached_with_tab_and_moved_with_the_arrows(open_page):
    tab, _ = open_page()
    for slider in SLIDERS:
        _tab_to(tab, slider)
        assert tab.evaluate("document.activeElement.type") == "range"
        before = _value(tab, slider)
        tab.keyboard.press("ArrowRight")
        after = _value(tab, slider)
        assert after != before, f"{slider}: ArrowRight changed nothing"
        assert (
            tab.get_by_test_id(slider).get_attribute("aria-valuetext") == after
        )
        tab.keyboard.press("ArrowLeft")
        assert _value(tab, slider) == before
    label = tab.locator("label[for=dlcourse-retrain-epochs]").inner_text()
    assert label == "Epochs"


@pytest.mark.browser
def test_axe_finds_nothing_before_and_after_training(open_page):
    from test_book_browser import fetch_axe

    tab, _ = open_page()
    tab.add_script_tag(content=fetch_axe().read_text(encoding="utf-8"))
    # Every rule, over the page's own content: the article the widget is part of.
    check = """async () => (await axe.run("article.bd-article")).violations.flatMap(
        v => v.nodes.map(n => v.id + ": " + n.target.join(" ")))"""
    found = tab.evaluate(check)
    assert not found, "\n".join(found)
    tab.get_by_test_id("train").click()
    tab.locator("[data-testid=accuracy][data-value]").wait_for(timeout=120_000)
    found = tab.evaluate(check)
    assert not found, "\n".join(found)
