"""Tests of live mode's servers: what they serve, and to whom."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request

import pytest

from dlcourse import live


def _request(
    url: str, method: str = "GET", **headers
) -> tuple[int, dict, bytes]:
    """Return the status, headers and body of a request, straight to 127.0.0.1."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with opener.open(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), refused.read()


@pytest.fixture(scope="module")
def mode(tmp_path_factory):
    """Live mode for a one-page book; yield it."""
    folder = tmp_path_factory.mktemp("live")
    book = folder / "html"
    book.mkdir()
    (book / "index.html").write_text("<p>the book</p>\n")
    (folder / "examples").mkdir()
    settings = live.LiveSettings(
        book=book,
        chapters=folder,
        examples=folder / "examples",
        log=folder / "jupyter.log",
    )
    with live.LiveMode(settings) as started:
        yield started


pytestmark = pytest.mark.slow


def test_the_pages_learn_the_server_its_token_and_their_folders(mode):
    status, headers, body = _request(mode.book_url + live.SETTINGS_FILE)
    assert status == 200 and headers["Cache-Control"] == "no-store"
    settings = json.loads(body)
    assert settings["baseUrl"] == mode.jupyter_url
    assert settings["token"] == mode.token and len(mode.token) >= 32
    assert settings["folders"] == {
        "chapter": str(mode.settings.chapters.resolve()),
        "gallery": str(mode.settings.examples.resolve()),
    }


def test_another_name_for_the_address_gets_neither_book_nor_token(mode):
    # A page of another site whose name resolves to 127.0.0.1 (DNS rebinding).
    port = mode.book_url.rstrip("/").rsplit(":", 1)[1]
    for path in ("/" + live.SETTINGS_FILE, "/index.html"):
        connection = http.client.HTTPConnection(
            "127.0.0.1", int(port), timeout=10
        )
        connection.request(
            "GET", path, headers={"Host": f"evil.example:{port}"}
        )
        answer = connection.getresponse()
        body = answer.read()
        connection.close()
        assert answer.status == 403 and mode.token.encode() not in body


def test_the_jupyter_server_wants_the_token_and_the_books_origin(mode):
    kernels = mode.jupyter_url + "api/kernels"
    assert _request(kernels)[0] == 403
    token = f"token {mode.token}"
    status, _, body = _request(kernels, Authorization=token)
    assert status == 200 and json.loads(body) == []
    book = mode.book_url.rstrip("/")
    for origin, allowed in [(book, True), ("http://127.0.0.1:1", False)]:
        _, headers, _ = _request(
            kernels,
            "OPTIONS",
            Origin=origin,
            **{"Access-Control-Request-Method": "POST"},
        )
        assert (headers.get("Access-Control-Allow-Origin") == origin) is allowed


def test_a_missing_folder_is_named(tmp_path):
    book = tmp_path / "html"
    book.mkdir()
    (book / "index.html").write_text("<p>the book</p>\n")
    settings = live.LiveSettings(
        book=book, chapters=tmp_path, examples=tmp_path / "gone"
    )
    with pytest.raises(live.LiveError, match="gone is not a folder"):
        settings.check()
