"""Tests of the dlcourse command line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from dlcourse import cli, gallery, live, profiles, reported


def _run(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _one_line(err: str) -> bool:
    return (
        err.startswith("dlcourse: ")
        and err.count("\n") == 1
        and "Traceback" not in err
    )


def test_list_shows_every_result_its_band_and_its_example(capsys):
    status, out, _ = _run(capsys, "list")
    assert status == 0
    rows = out.splitlines()[1:]
    assert len(rows) == len(reported.RESULTS)
    for result, row in zip(reported.RESULTS, rows, strict=True):
        band = f"{result.low:g}–{result.high:g}%"
        for cell in (result.name, result.reported_text(), band, result.example):
            assert cell in row, (cell, row)


def test_module_entry_point_runs():
    done = subprocess.run(
        [sys.executable, "-m", "dlcourse", "list"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "plot_cnn_expanded.py" in done.stdout


@pytest.mark.parametrize("name", ["plot_cnn", "plot_cnn.py", "cnn"])
def test_example_writes_the_gallery_script_here(
    capsys, tmp_path, monkeypatch, name
):
    monkeypatch.chdir(tmp_path)
    status, out, _ = _run(capsys, "example", name)
    assert status == 0 and "python plot_cnn.py" in out
    written = tmp_path / "plot_cnn.py"
    assert written.read_bytes() == gallery.find("plot_cnn").read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["plot_cnn.py"]


def test_example_never_overwrites_a_file(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plot_cnn.py").write_text("my changes\n")
    status, _, err = _run(capsys, "example", "plot_cnn")
    assert status == 2 and _one_line(err) and "already exists" in err
    assert (tmp_path / "plot_cnn.py").read_text() == "my changes\n"


def test_an_unknown_example_is_one_line_naming_the_known_ones(
    capsys, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    status, _, err = _run(capsys, "example", "plot_lenet")
    assert status == 2 and _one_line(err), err
    assert "no gallery example 'plot_lenet'; choose one of" in err
    assert "plot_cnn," in err and "plot_softmax_regression" in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "cnn"],
        ["fly"],
        ["data", "get"],
        ["live", "--port", "eighty"],
        ["live", "--host", "0.0.0.0"],
    ],
)
def test_argument_errors_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_data_verify_and_info(capsys):
    status, out, _ = _run(capsys, "data", "verify")
    assert (
        status == 0
        and "verified: 60,000 training and 10,000 test images" in out
    )
    status, out, _ = _run(capsys, "info")
    info = json.loads(out)
    assert status == 0 and info["cpu"] and "torch" in info["versions"]
    assert info["keras device"] and info["keras backend"]


def test_a_data_file_that_is_a_directory_is_one_line(
    capsys, tmp_path, monkeypatch
):
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").mkdir()
    monkeypatch.setenv("DLCOURSE_DATA", str(folder))
    monkeypatch.setattr("dlcourse.data.MIRRORS", ("http://127.0.0.1:9/",))
    status, _, err = _run(capsys, "data", "verify")
    assert status == 2 and _one_line(err), err
    assert "train-images-idx3-ubyte.gz" in err and "directory" in err


def test_a_bad_profile_is_one_line(capsys, monkeypatch):
    monkeypatch.setenv(profiles.ENV_VAR, "turbo")
    status, _, err = _run(capsys, "info")
    assert status == 2 and _one_line(err) and "'turbo' is not a profile" in err


def test_live_without_a_built_book_is_one_line(capsys, tmp_path):
    status, _, err = _run(capsys, "live", "--book", str(tmp_path / "html"))
    assert status == 2 and _one_line(err), err
    assert f"no built book in {tmp_path / 'html'}" in err and "--book" in err


def test_live_without_jupyter_server_is_one_line(capsys, tmp_path, monkeypatch):
    # How Python marks a module that cannot be imported: find_spec then finds nothing.
    monkeypatch.setitem(sys.modules, "jupyter_server", None)
    (tmp_path / "index.html").write_text("<p>the book</p>\n")
    status, _, err = _run(capsys, "live", "--book", str(tmp_path))
    assert status == 2 and _one_line(err), err
    assert (
        "needs jupyter-server" in err and 'pip install "dlcourse[live]"' in err
    )


def test_live_defaults_to_the_book_of_a_checkout_and_this_folder():
    args = cli.build_parser().parse_args(["live"])
    assert args.book == Path("_build/html") and args.workdir == Path()
    assert args.examples is None and args.port == 0 and args.log is None


def _get(url: str, **headers) -> bytes:
    """Return the body of a GET of ``url``, straight to it, whatever proxy is set."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(
        urllib.request.Request(url, headers=headers), timeout=10
    ) as answer:
        return answer.read()


@pytest.mark.slow
def test_live_serves_the_book_and_a_jupyter_server_that_wants_its_token(
    tmp_path,
):
    book = tmp_path / "html"
    book.mkdir()
    (book / "index.html").write_text("<p>the book</p>\n")
    port = live.free_port()
    command = [sys.executable, "-m", "dlcourse", "live", "--book", str(book)]
    command += ["--workdir", str(tmp_path), "--port", str(port)]
    command += ["--log", str(tmp_path / "jupyter.log")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        book_url = f"http://127.0.0.1:{port}/"
        assert book_url in process.stdout.readline()
        assert b"the book" in _get(book_url + "index.html")
        settings = json.loads(_get(book_url + "dlcourse-live.json"))
        jupyter = settings["baseUrl"]
        assert jupyter.startswith("http://127.0.0.1:") and jupyter != book_url
        token = f"token {settings['token']}"
        assert "version" in json.loads(
            _get(jupyter + "api", Authorization=token)
        )
        assert (
            json.loads(_get(jupyter + "api/kernels", Authorization=token)) == []
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            _get(jupyter + "api/kernels")
        assert refused.value.code == 403
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 0 and "Live mode stopped." in out
    # The Jupyter server stopped with it.
    with pytest.raises(urllib.error.URLError):
        _get(jupyter + "api")
