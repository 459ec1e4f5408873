"""Tests of dlcourse.gallery: the example scripts the library ships, found and written out."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlcourse import gallery, reported

ROOT = Path(__file__).resolve().parents[1]


def test_every_gallery_script_is_found_once_by_its_name():
    in_repository = sorted(ROOT.glob("gallery/*/plot_*.py"))
    found = gallery.scripts()
    assert sorted(found) == sorted(p.name for p in in_repository)
    assert len(found) == len(in_repository), "two examples share a name"
    for path in in_repository:
        assert gallery.find(path.stem).read_bytes() == path.read_bytes()


def test_every_saved_result_names_an_example_that_exists():
    for name in reported.NAMES:
        script = gallery.find(gallery.example_for(name))
        assert f"{name}" in script.read_text(encoding="utf-8"), name
    assert gallery.example_for("fast_cnn") == gallery.FAST_EXAMPLE
    assert gallery.find(gallery.FAST_EXAMPLE).is_file()


def test_unknown_names_are_refused_naming_the_known_ones():
    with pytest.raises(gallery.UnknownExampleError, match="choose one of"):
        gallery.find("plot_lenet")
    with pytest.raises(reported.UnknownResultError):
        gallery.example_for("fast_lenet")


def test_write_refuses_to_overwrite(tmp_path):
    written = gallery.write("plot_softmax_regression.py", tmp_path)
    assert written == tmp_path / "plot_softmax_regression.py"
    written.write_text("edited")
    with pytest.raises(gallery.ExampleExistsError, match="already exists"):
        gallery.write("plot_softmax_regression", tmp_path)
    assert written.read_text() == "edited"


def test_a_wheel_reads_the_scripts_packaged_beside_the_module(
    tmp_path, monkeypatch
):
    (tmp_path / "plot_only.py").write_text("print('hi')\n")
    monkeypatch.setattr(gallery, "PACKAGED", tmp_path)
    assert gallery.scripts() == {"plot_only.py": tmp_path / "plot_only.py"}
