"""Checks of the built book as a reader sees it: in Debian's Chromium, driven by Playwright.

Run by ``nox -s browser`` after ``nox -s book`` (``pytest -m browser``). The HTML is served from
127.0.0.1 and every page of the table of contents, gallery included, is opened once: it must
load with no console error and no failed request, show every image, link only to pages and
anchors that exist, render its formulas, and ask nothing of any other host. Each page is then
checked for colour contrast in the light and in the dark theme, by axe-core (the accessibility
engine, fetched from npm), and for code blocks that would scroll sideways in a 1280 px window.
"""

from __future__ import annotations

import functools
import html
import http.server
import re
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

import bookpages
import pytest
import yaml

pytestmark = pytest.mark.browser

HTML = bookpages.HTML
# Raw TeX a reader would see where MathJax did not typeset a formula.
RAW_TEX = re.compile(r"\$\$|\\\(|\\\[")
# Lazy images load only when scrolled to; each must load, so all are asked for at once.
BROKEN_IMAGES = """async () => {
    const images = [...document.images];
    images.forEach(img => { img.loading = "eager"; });
    await Promise.all(images.map(img => img.decode().catch(() => null)));
    return images.filter(img => img.naturalWidth === 0).map(img => img.src);
}"""
# Once MathJax is done: the formulas it left as TeX, and the text outside code and formulas.
MATH = """async () => {
    if (window.MathJax?.startup?.promise) await MathJax.startup.promise;
    const formulas = [...document.querySelectorAll(".math")];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const text = [];
    while (walker.nextNode()) {
        const node = walker.currentNode;
        if (!node.parentElement.closest("pre, code, script, style, mjx-container"))
            text.push(node.textContent);
    }
    return {
        untypeset: formulas.filter(f => !f.querySelector("mjx-container"))
            .map(f => f.textContent.slice(0, 60)),
        text: text.join(" "),
    };
}"""
LINKS = "() => [...document.querySelectorAll('a[href]')].map(a => a.href)"
# axe-core from npm, fetched once beside the build: the WCAG checks browsers' tools run.
AXE = "axe-core@4"
AXE_DIR = bookpages.ROOT / "_build" / "vendor" / "axe-core"
# Text against its background: WCAG 2 AA, 4.5:1 (3:1 for large text), as axe measures it.
CONTRAST = """async () => {
    const result = await axe.run(document, {runOnly: ["color-contrast"]});
    return result.violations.flatMap(v => v.nodes.map(n =>
        n.target.join(" ") + ": " + n.any.map(a => a.message).join("; ")));
}"""
# Code blocks wider than their box, which a reader would have to scroll sideways.
SCROLLING_CODE = """() => [...document.querySelectorAll("div.highlight pre")]
    .filter(pre => pre.offsetParent !== null && pre.scrollWidth > pre.clientWidth + 1)
    .map(pre => pre.textContent.split("\\n")
        .reduce((a, b) => (b.length > a.length ? b : a), "").trim().slice(0, 90))"""


def toc_pages() -> list[str]:
    """Return every page the table of contents names, in order, its globs expanded."""
    toc = yaml.safe_load((bookpages.ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                pages.append(entry["file"])
            elif "glob" in entry:
                found = sorted(HTML.glob(entry["glob"] + ".html"))
                found = [
                    path.relative_to(HTML).with_suffix("").as_posix()
                    for path in found
                ]
                # No match keeps the pattern itself, so its test fails instead of vanishing.
                pages.extend(found or [entry["glob"]])
            walk(entry.get("sections", []))

    for part in toc["parts"]:
        walk(part["chapters"])
    return [f"{page}.html" for page in pages]


@functools.cache
def ids_in(path: Path) -> frozenset[str]:
    """Return the element ids of a built page: the anchors a link may point at."""
    text = path.read_text(encoding="utf-8")
    return frozenset(
        html.unescape(found) for found in re.findall(r'\sid="([^"]+)"', text)
    )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the files of a folder without logging every request."""

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def site():
    """Serve the built HTML from 127.0.0.1 on a free port; yield its base URL."""
    if not (HTML / "index.html").is_file():
        pytest.fail(f"{HTML} holds no book: build it first with `nox -s book`")
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class Reader:
    """One browser tab that opens pages of the book and lists what is wrong with each."""

    def __init__(self, tab, base: str) -> None:
        self.tab, self.base = tab, base
        self.problems: list[str] = []
        tab.on("console", self._console)
        tab.on(
            "pageerror",
            lambda error: self.problems.append(f"script error: {error}"),
        )
        tab.on("request", self._request)
        tab.on("requestfailed", self._failed)
        tab.on("response", self._response)

    def _local(self, url: str) -> bool:
        return url.startswith((self.base, "data:", "blob:"))

    def _console(self, message) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.problems.append(f"console error: {message.text} ({where})")

    def _request(self, request) -> None:
        if not self._local(request.url):
            self.problems.append(f"request to another host: {request.url}")

    def _failed(self, request) -> None:
        if self._local(request.url):
            self.problems.append(
                f"failed request: {request.url} ({request.failure})"
            )

    def _response(self, response) -> None:
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def open(self, page: str) -> list[str]:
        """Open ``page`` (relative to the book), wait until it has settled; return its problems."""
        self.problems = []
        self.tab.goto(self.base + page, wait_until="networkidle")
        return self.problems

    def check(self, page: str) -> list[str]:
        """Open ``page`` and return everything wrong with it, one line each."""
        problems = self.open(page)
        problems += [
            f"image not loaded: {src}"
            for src in self.tab.evaluate(BROKEN_IMAGES)
        ]
        math = self.tab.evaluate(MATH)
        if math["untypeset"]:
            first = " ".join(math["untypeset"][0].split())
            problems.append(
                f"{len(math['untypeset'])} formula(s) not typeset, first: {first}"
            )
        raw = list(RAW_TEX.finditer(math["text"]))
        if raw:
            around = " ".join(
                math["text"][
                    max(0, raw[0].start() - 30) : raw[0].end() + 30
                ].split()
            )
            problems.append(
                f"raw TeX in the text ({len(raw)} times), first: …{around}…"
            )
        links = sorted(set(self.tab.evaluate(LINKS)))
        problems += [
            f"broken link: {link}" for link in links if not self.resolves(link)
        ]
        return problems

    def resolves(self, link: str) -> bool:
        """Return whether a link into the book names a file, and an id in it, that exist."""
        if not link.startswith(self.base):
            return True
        parts = urlsplit(link)
        target = HTML / unquote(parts.path).removeprefix(
            urlsplit(self.base).path
        )
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            return False
        anchor = unquote(parts.fragment)
        return (
            not anchor or target.suffix != ".html" or anchor in ids_in(target)
        )


def fetch_axe() -> Path:
    """Return axe-core's browser script, fetched with ``npm pack`` unless already there."""
    sys.path.insert(0, str(bookpages.ROOT / "book" / "_ext"))
    try:
        import dlcourse_browser
    finally:
        sys.path.pop(0)
    try:
        return (
            dlcourse_browser.npm_fetch(AXE, "axe.min.js", AXE_DIR)
            / "axe.min.js"
        )
    except dlcourse_browser.NpmMissing as err:
        pytest.fail(f"{err}: axe-core checks the contrast")


@pytest.fixture(scope="session")
def axe() -> str:
    """Return the text of axe-core's script, to add to a page."""
    return fetch_axe().read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def reader(site, chromium):
    """Yield a Reader in one Chromium context and one tab, for the whole session."""
    # Anything for another host is refused at once (and reported by the Reader), not awaited.
    context = bookpages.offline_context(chromium)
    yield Reader(context.new_page(), site)
    context.close()


@pytest.mark.parametrize("page", toc_pages())
def test_page_is_whole_and_offline(reader, page):
    problems = reader.check(page)
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


def test_search_finds_dropout(reader):
    problems = reader.open("search.html?q=dropout")
    results = reader.tab.locator("#search-results ul.search li a")
    results.first.wait_for(timeout=15_000)
    found = [
        unquote(href)
        for href in results.evaluate_all("as => as.map(a => a.href)")
    ]
    assert any("book/dropout.html" in href for href in found), found
    assert not problems, "search.html:\n  " + "\n  ".join(problems)


@pytest.fixture(scope="session", params=["light", "dark"])
def themed_tab(request, site, chromium):
    """Yield a tab whose system setting is the light or the dark theme, and the theme."""
    context = bookpages.offline_context(
        chromium,
        viewport={"width": 1280, "height": 800},
        color_scheme=request.param,
    )
    yield context.new_page(), request.param
    context.close()


@pytest.mark.parametrize("page", toc_pages())
def test_text_keeps_its_contrast_in_both_themes(themed_tab, site, axe, page):
    tab, theme = themed_tab
    tab.goto(site + page, wait_until="networkidle")
    # The theme follows the system setting (default_mode: auto).
    assert tab.evaluate("document.documentElement.dataset.theme") == theme
    tab.add_script_tag(content=axe)
    low = tab.evaluate(CONTRAST)
    assert not low, f"{page}, {theme} theme:\n  " + "\n  ".join(low[:10])


# The content's images that a CSS filter changes (dims, say) in the current theme.
FILTERED_FIGURES = """() => [...document.querySelectorAll(".bd-content img")]
    .filter(img => getComputedStyle(img).filter !== "none")
    .map(img => img.src.split("/").pop() + ": " + getComputedStyle(img).filter)"""


@pytest.mark.parametrize(
    "page",
    [
        "book/convolutional_networks.html",
        "book/gallery/mnist_models/plot_cnn.html",
    ],
)
def test_figures_are_not_dimmed_in_either_theme(themed_tab, site, page):
    tab, theme = themed_tab
    tab.goto(site + page, wait_until="networkidle")
    assert tab.evaluate("document.images.length") > 0
    assert tab.evaluate(FILTERED_FIGURES) == [], f"{page}, {theme} theme"


@pytest.mark.parametrize("page", toc_pages())
def test_no_code_block_scrolls_sideways(reader, page):
    reader.open(page)
    reader.tab.set_viewport_size({"width": 1280, "height": 800})
    wide = reader.tab.evaluate(SCROLLING_CODE)
    assert not wide, (
        f"{page}: {len(wide)} block(s) scroll, widest lines:\n  "
        + ("\n  ".join(wide[:10]))
    )


# The search controls a reader can see: one, at any width.
VISIBLE_SEARCH = """() => [...document.querySelectorAll(
    "form.bd-search, .search-button-field, .search-button")]
    .filter(e => e.offsetParent !== null).length"""


@pytest.mark.parametrize("width", [1280, 390])
def test_one_search_box(reader, width):
    reader.tab.set_viewport_size({"width": width, "height": 800})
    reader.open("book/welcome.html")
    try:
        assert reader.tab.evaluate(VISIBLE_SEARCH) == 1
    finally:
        reader.tab.set_viewport_size({"width": 1280, "height": 720})
