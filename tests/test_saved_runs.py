"""Reading back what the gallery examples saved: the numbers, and refusal of damaged files."""

from __future__ import annotations

import json

import pytest

from dlcourse import experiments, report, saved_runs
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
    table = saved_runs.comparison_table([(experiments.get("cnn"), run)])
    assert table.iloc[0]["in band"] == "not checked"


def test_comparison_table_checks_the_band(tmp_path):
    inside = saved_runs.load("cnn", _save(tmp_path))
    table = saved_runs.comparison_table([(experiments.get("cnn"), inside)])
    row = table.loc[experiments.get("cnn").title]
    assert list(row) == ["99.23%", "99.25%", "98.93–99.53%", report.IN_BAND]
    outside = saved_runs.load("cnn", _save(tmp_path, test_accuracy=0.97))
    assert not experiments.in_band(experiments.get("cnn"), outside)
    table = saved_runs.comparison_table([(experiments.get("cnn"), outside)])
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
