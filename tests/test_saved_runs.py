"""Reading back what the gallery examples saved: the numbers, and refusal of damaged files."""

from __future__ import annotations

import json
import sys

import pytest

from dlcourse import gallery, report, reported, saved_runs
from dlcourse.saved_runs import SavedRunError

HISTORY = {"loss": [0.5, 0.3], "accuracy": [0.9, 0.95], "val_loss": [0.4, 0.35]}


def _save(folder, name="cnn", **changes):
    record = {
        "test_accuracy": 0.9925,
        "train_seconds": 12.5,
        "train_images": 60_000,
        "test_images": 10_000,
        "history": HISTORY,
    }
    record.update(changes)
    (folder / f"{name}.json").write_text(json.dumps(record))
    return folder


def test_load_returns_the_saved_numbers(tmp_path):
    run = saved_runs.load("cnn", _save(tmp_path))
    assert run.test_accuracy == 0.9925 and run.train_seconds == 12.5
    assert run.epochs == 2 and run.is_full
    assert run.history == HISTORY


def test_a_run_on_a_subset_is_not_full_and_says_so(tmp_path):
    run = saved_runs.load(
        "cnn", _save(tmp_path, train_images=2_000, test_images=1_000)
    )
    assert not run.is_full
    assert "NOT comparable" in saved_runs.describe(run)
    table = saved_runs.comparison_table([(reported.get("cnn"), run)])
    assert table.iloc[0]["in band"] == "not checked"


def test_comparison_table_checks_the_band(tmp_path):
    inside = saved_runs.load("cnn", _save(tmp_path))
    table = saved_runs.comparison_table([(reported.get("cnn"), inside)])
    row = table.loc[reported.get("cnn").title]
    assert list(row) == ["99.23%", "99.25%", "98.93–99.53%", report.IN_BAND]
    outside = saved_runs.load("cnn", _save(tmp_path, test_accuracy=0.97))
    assert not reported.get("cnn").in_band(outside.test_accuracy)
    table = saved_runs.comparison_table([(reported.get("cnn"), outside)])
    assert table.iloc[0]["in band"] == report.OUT_OF_BAND


def test_missing_run_names_the_file_and_what_to_run(tmp_path):
    with pytest.raises(
        SavedRunError,
        match=r"cnn\.json does not exist; run the gallery example",
    ):
        saved_runs.load("cnn", tmp_path)


@pytest.mark.parametrize(
    ("changes", "fault"),
    [
        ({"test_accuracy": 1.5}, "not a fraction"),
        ({"test_accuracy": "0.99"}, "finite number"),
        ({"train_seconds": None}, "finite number"),
        ({"train_images": True}, "finite number"),
        (
            {"history": {"loss": [0.1], "accuracy": [0.9, 0.95]}},
            "one value per epoch",
        ),
        ({"history": {"accuracy": [0.9]}}, "map metric names"),
        ({"history": {"loss": [0.1], "note": "x"}}, "one value per epoch"),
    ],
)
def test_malformed_runs_are_refused(tmp_path, changes, fault):
    with pytest.raises(SavedRunError, match=fault):
        saved_runs.load("cnn", _save(tmp_path, **changes))


def test_not_json_and_not_an_object_are_refused(tmp_path):
    (tmp_path / "cnn.json").write_text("{not json")
    with pytest.raises(SavedRunError, match="not valid JSON"):
        saved_runs.load("cnn", tmp_path)
    (tmp_path / "cnn.json").write_text("[1, 2]")
    with pytest.raises(SavedRunError, match="JSON object"):
        saved_runs.load("cnn", tmp_path)


def test_model_path_finds_the_saved_model(tmp_path):
    run = saved_runs.load("cnn", _save(tmp_path))
    with pytest.raises(SavedRunError, match="no saved model"):
        run.model_path()
    (tmp_path / "cnn.pt").write_bytes(b"")
    assert run.model_path() == tmp_path / "cnn.pt"


# A stand-in for a gallery example: it saves NAME.json where it runs, or fails with status 3.
STAND_IN = """
import json, sys
record = {{"test_accuracy": 0.99, "train_seconds": 1.0, "train_images": 60000,
          "test_images": 10000, "history": {{"loss": [0.1]}}, "device": "CPU"}}
json.dump(record, open({name!r} + ".json", "w"))
print("trained", {name!r})
sys.exit({status})
"""


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    """Return a function making the gallery's examples stand-ins that save ``name``."""
    examples = tmp_path / "gallery" / "mnist_models"
    examples.mkdir(parents=True)
    monkeypatch.setattr(gallery, "PACKAGED", tmp_path / "no-such-folder")
    monkeypatch.setattr(gallery, "REPOSITORY", tmp_path / "gallery")
    here = tmp_path / "empty"
    here.mkdir()
    monkeypatch.chdir(here)

    def make(script: str, name: str, status: int = 0) -> None:
        text = STAND_IN.format(name=name, status=status)
        (examples / script).write_text(text)

    return make


def test_load_or_run_reads_an_existing_folder_without_running(
    tmp_path, stand_in
):
    stand_in("plot_cnn.py", "cnn", status=3)
    run = saved_runs.load_or_run("cnn", _save(tmp_path))
    assert run.folder == tmp_path and run.test_accuracy == 0.9925


def test_load_or_run_runs_the_example_where_the_folder_is_missing(
    tmp_path, stand_in, capsys
):
    stand_in("plot_cnn.py", "cnn")
    run = saved_runs.load_or_run("cnn", tmp_path / "mnist_models")
    assert run.folder == tmp_path / "empty" and run.device == "CPU"
    out = capsys.readouterr().out
    assert out.startswith(
        f"{tmp_path / 'mnist_models'} does not exist: running the example plot_cnn.py here"
    )
    assert out.count("\n") == 1
    # A second call reads what the first one saved here, and runs nothing.
    saved_runs.load_or_run("cnn", tmp_path / "mnist_models")
    assert capsys.readouterr().out == ""


def test_load_or_run_takes_fast_runs_from_the_fast_example(tmp_path, stand_in):
    stand_in(gallery.FAST_EXAMPLE, "fast_cnn")
    run = saved_runs.load_or_run("fast_cnn", tmp_path / "absent")
    assert run.name == "fast_cnn"


def test_a_failing_example_raises_with_its_exit_status(tmp_path, stand_in):
    stand_in("plot_pytorch_example.py", "pytorch_example", status=3)
    with pytest.raises(
        SavedRunError,
        match="failed with exit status 3(.|\n)*trained pytorch_example",
    ):
        saved_runs.load_or_run("pytorch_example", tmp_path / "absent")


def test_load_or_run_refuses_a_name_no_example_saves(tmp_path, stand_in):
    with pytest.raises(reported.UnknownResultError, match="'lenet'"):
        saved_runs.load_or_run("lenet", tmp_path / "absent")


def test_load_or_run_runs_with_this_python(tmp_path, stand_in, monkeypatch):
    calls = []
    monkeypatch.setattr(
        saved_runs.subprocess,
        "run",
        lambda args, **kw: (
            calls.append(args) or (_ for _ in ()).throw(OSError("stop"))
        ),
    )
    stand_in("plot_cnn.py", "cnn")
    with pytest.raises(OSError, match="stop"):
        saved_runs.load_or_run("cnn", tmp_path / "absent")
    assert calls[0][0] == sys.executable
    assert calls[0][1].endswith("plot_cnn.py") and len(calls[0]) == 2
