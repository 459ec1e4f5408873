"""Live mode: the "Live code" button of the built pages, and the book's code run in Chromium.

The extension is first checked on a two-page book of its own, built here with Sphinx.
``pytest -m book`` (after ``nox -s book``) checks the button is on every page with code, and that
the pages hold none of sphinx-thebe's CDN or Binder settings. ``pytest -m browser`` (``nox -s
browser``) starts live mode as ``nox -s live`` starts it (``dlcourse.live``), with a real Jupyter
server and Python kernel; a reader presses "Live code", edits a cell of the softmax chapter and
runs it, then makes an edit that raises. Every request the page makes must stay on 127.0.0.1.
Without a server the button says how to start one.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

import bookpages
import pytest

from dlcourse import live

HTML = bookpages.HTML
CHAPTER = "book/softmax_regression.html"
EXAMPLE = "book/gallery/mnist_models/plot_softmax_regression.html"
# Python's kernel starts, and imports TensorFlow or PyTorch, in seconds; a busy machine is slow.
KERNEL_WAIT_MS = 120_000
RUN_WAIT_MS = 120_000
# The line of the chapter's training cell that sets its hyperparameters.
SETTINGS_LINE = (
    "n_train, batch_size, learning_rate, epochs = 10_000, 100, 0.5, 5"
)
# With a learning rate of 0 the weights stay 0: every image is called a 0, and 980 of the
# 10,000 test images are zeros.
STILL = "test accuracy 9.80%"


GALLERY_PAGES = sorted(
    f"book/gallery/{path.parent.name}/{path.stem}.html"
    for path in (bookpages.ROOT / "gallery").glob("*/plot_*.py")
)
# What sphinx-thebe puts on every page: Thebe 0.8 from unpkg.com, run on mybinder.org.
ELSEWHERE = ("unpkg.com", "mybinder.org", "text/x-thebe-config")


@pytest.mark.book
@pytest.mark.parametrize(
    "page_path", [f"{c}.html" for c in bookpages.toc_chapters()] + GALLERY_PAGES
)
def test_pages_with_code_have_the_button_and_no_thebe_from_elsewhere(
    page_path,
):
    page = bookpages.page(page_path)
    code = page.select("div.cell > div.cell_input, div.highlight-Python")
    boxes = page.select("div.dlcourse-live")
    if page_path in GALLERY_PAGES or page.select("div.cell > div.cell_input"):
        assert len(boxes) == 1, f"{page_path}: {len(boxes)} live code buttons"
        kind = "gallery" if page_path in GALLERY_PAGES else "chapter"
        assert boxes[0]["data-kind"] == kind and code
        assert boxes[0].select_one("button").get_text() == "Live code"
    else:
        assert not boxes, f"{page_path} has no code, but a live code button"
    text = str(page)
    assert not [found for found in ELSEWHERE if found in text], page_path


@pytest.mark.book
def test_thebe_is_in_static_and_no_server_is_in_the_book():
    thebe = HTML / "_static" / "thebe"
    assert (thebe / "index.js").is_file() and (thebe / "thebe.css").is_file()
    assert not list(thebe.glob("*.map")), "source maps are not served"
    # Only live mode serves the server's address and token, from memory.
    assert not list(HTML.rglob(live.SETTINGS_FILE))


# A two-page book: a chapter with a code cell, and a page with a code block but no cells.
SMALL_BOOK = {
    "conf.py": f"""import sys
sys.path.insert(0, {str(bookpages.ROOT / "book" / "_ext")!r})
extensions = ["myst_nb", "sphinx_thebe", "dlcourse_live"]
nb_execution_mode = "off"
html_theme = "sphinx_book_theme"
""",
    "index.md": """---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {name: python3, display_name: Python 3}
---
# A chapter

```{code-cell} ipython3
learning_rate = 0.5
```

```{toctree}
plain
```
""",
    "plain.md": "# Plain\n\n```python\nx = 1\n```\n",
}


@pytest.mark.slow
def test_the_extension_adds_the_button_where_there_are_cells_and_no_cdn(
    tmp_path,
):
    source, out = tmp_path / "source", tmp_path / "html"
    source.mkdir()
    for name, text in SMALL_BOOK.items():
        (source / name).write_text(text)
    command = [sys.executable, "-m", "sphinx", "-q", "-b", "html"]
    subprocess.run([*command, str(source), str(out)], check=True)
    chapter = (out / "index.html").read_text()
    plain = (out / "plain.html").read_text()
    # Under the title, and the script with it; not on a page without cells.
    assert re.search(
        r"</h1>\s*<div class=\"dlcourse-live\" data-kind=\"chapter\"", chapter
    )
    assert re.search(r"<script[^>]+_static/dlcourse_live\.js", chapter)
    assert "dlcourse-live" not in plain
    for page in (chapter, plain):
        assert not [found for found in ELSEWHERE if found in page]
        assert "sphinx-thebe" not in page
    assert (out / "_static" / "thebe" / "index.js").is_file()


@pytest.fixture(scope="module")
def live_book(tmp_path_factory):
    """Live mode for the built book, as ``nox -s live`` starts it; yield it."""
    if not (HTML / "index.html").is_file():
        pytest.fail(f"{HTML} holds no book: build it first with `nox -s book`")
    scratch = tmp_path_factory.mktemp("live")
    settings = live.LiveSettings(
        book=HTML,
        chapters=bookpages.ROOT / "book",
        examples=scratch,
        log=scratch / "jupyter.log",
    )
    with live.LiveMode(settings) as mode:
        yield mode


class Tab:
    """A Chromium tab that records every request and script error of the page."""

    def __init__(self, context) -> None:
        self.requests: list[str] = []
        self.errors: list[str] = []
        context.on("request", lambda request: self.requests.append(request.url))
        # Anything for another host is refused at once (and recorded), not awaited.
        context.route(bookpages.ELSEWHERE, lambda route: route.abort())
        self.page = context.new_page()
        self.page.on(
            "websocket", lambda socket: self.requests.append(socket.url)
        )
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def elsewhere(self) -> list[str]:
        """Return the requests for anything but 127.0.0.1 (and the page's own data)."""
        local = re.compile(r"^(https?|wss?)://127\.0\.0\.1:\d+/|^(data|blob):")
        return [url for url in self.requests if not local.match(url)]

    def go_live(self, url: str) -> None:
        """Open ``url`` and press "Live code"; return once the kernel is ready."""
        self.page.goto(url, wait_until="networkidle")
        self.page.get_by_role("button", name="Live code").click()
        self.page.locator(".dlcourse-live-ready").wait_for(
            timeout=KERNEL_WAIT_MS
        )

    def cell(self, text: str):
        """Return the page's live cell whose code holds ``text`` now, whatever it holds later."""
        cells = self.page.locator(".thebe-cell")
        holding = [
            index
            for index, code in enumerate(cells.all_inner_texts())
            if text in code
        ]
        assert len(holding) == 1, f"{len(holding)} live cells hold {text!r}"
        return cells.nth(holding[0])

    def run(self, cell, output, expected: str) -> float:
        """Press the cell's "run"; return the seconds until ``output`` shows ``expected``."""
        started = time.monotonic()
        cell.get_by_role("button", name="run", exact=True).click()
        output.filter(has_text=expected).wait_for(timeout=RUN_WAIT_MS)
        return time.monotonic() - started

    def code(self, cell) -> str:
        """Return the code in the cell's editor now."""
        return cell.locator(".CodeMirror").evaluate(
            "e => e.CodeMirror.getValue()"
        )


@pytest.fixture
def tab(chromium):
    """Yield a Tab in a fresh context, closed after the test."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    yield Tab(context)
    context.close()


def _chapter_output(cell):
    """Return the output area of a chapter's live cell."""
    return cell.locator("xpath=..").locator(":scope > div.cell_output")


@pytest.mark.browser
def test_an_edited_chapter_cell_runs_and_a_failing_edit_shows_its_error(
    tab, live_book
):
    tab.go_live(live_book.book_url + CHAPTER)
    # The cells the training cell needs: softmax, then the data, then Keras's cross-entropy.
    for code, shows in [
        ("def softmax(z)", "most likely digit"),
        ("mnist = data.load_mnist", "Y (predictions)"),
        ("keras_value = float(", "(Keras:"),
    ]:
        cell = tab.cell(code)
        tab.run(cell, _chapter_output(cell), shows)

    training = tab.cell(SETTINGS_LINE)
    output = _chapter_output(training)
    assert STILL not in output.inner_text()
    # A reader's edit: the learning rate, at the end of its line, 0.5 becomes 0.0.
    training.locator(".CodeMirror-line", has_text=SETTINGS_LINE).click()
    tab.page.keyboard.press("End")
    for _ in range(len("0.5, 5")):
        tab.page.keyboard.press("Backspace")
    tab.page.keyboard.type("0.0, 5")
    assert SETTINGS_LINE.replace("0.5", "0.0") in tab.code(training)
    seconds = tab.run(training, output, f"epoch 5: {STILL}")
    assert output.inner_text().count(STILL) == 5, output.inner_text()
    print(
        f"\nrun to output, the softmax chapter's training cell: {seconds:.1f} s"
    )

    # An edit that raises: the Python error, its name and message, shows in the page.
    training.locator(".CodeMirror").click()
    tab.page.keyboard.press("Control+A")
    tab.page.keyboard.type("print(learning_rate / undefined_rate)")
    tab.run(training, output, "NameError")
    assert "undefined_rate" in output.inner_text()

    assert not tab.errors, tab.errors
    assert not tab.elsewhere(), tab.elsewhere()


@pytest.mark.browser
def test_pytorch_cells_run_live(tab, live_book):
    tab.go_live(live_book.book_url + "book/tensors_autograd.html")
    code = "t = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])"
    cell = tab.cell(code)
    tab.run(cell, _chapter_output(cell), "torch.float32")
    assert not tab.elsewhere(), tab.elsewhere()


@pytest.mark.browser
def test_a_gallery_example_runs_in_its_own_folder(tab, live_book):
    tab.go_live(live_book.book_url + EXAMPLE)
    blocks = tab.page.locator(".sphx-glr-example-title div.highlight-Python")
    assert blocks.count() == 0, "a block of the example was left static"
    first = tab.page.locator(".thebe-cell").first
    first.locator(".CodeMirror").click()
    tab.page.keyboard.press("Control+A")
    tab.page.keyboard.type("import os; print('runs in', os.getcwd())")
    folder = str(live_book.settings.examples.resolve())
    tab.run(first, first.locator("xpath=following-sibling::*[1]"), folder)
    assert not tab.elsewhere(), tab.elsewhere()


@pytest.mark.browser
def test_without_a_server_the_button_says_how_to_start_one(tab, serve):
    site = serve(HTML)
    tab.page.goto(site.url + CHAPTER, wait_until="networkidle")
    button = tab.page.get_by_role("button", name="Live code")
    # A real button: reachable from the keyboard, pressed with Enter.
    button.focus()
    tab.page.keyboard.press("Enter")
    status = tab.page.locator(".dlcourse-live-status")
    status.filter(has_text="nox -s live").wait_for(timeout=10_000)
    assert "dlcourse live" in status.inner_text()
    # The page stays as it was built: its code static, its outputs in place.
    assert tab.page.locator(".thebe-cell").count() == 0
    assert tab.page.locator("div.cell_output").count() > 0
    assert not tab.errors, tab.errors
    assert not tab.elsewhere(), tab.elsewhere()
