"""The benchmark runs real example scripts in empty folders and reads back what they saved."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dlcourse import bench, cli

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "gallery" / "mnist_models"

# An example that saves the numbers NAMES in the folder it runs in: its n-th run (counted in
# the file $BENCH_COUNTER) took SECONDS[n] seconds and reached ACCURACY.
EXAMPLE = """
import json, os
counter = os.environ["BENCH_COUNTER_{stem}"]
runs = int(open(counter).read()) if os.path.exists(counter) else 0
open(counter, "w").write(str(runs + 1))
for name in {names!r}:
    record = {{"train_seconds": {seconds!r}[runs], "test_accuracy": {accuracy!r}}}
    json.dump({{**record, "history": {{"loss": [1.0]}}}}, open(name + ".json", "w"))
"""


def _example(
    gallery: Path, stem: str, names, seconds, accuracy, monkeypatch
) -> None:
    gallery.mkdir(exist_ok=True)
    text = EXAMPLE.format(
        stem=stem, names=list(names), seconds=list(seconds), accuracy=accuracy
    )
    (gallery / f"{stem}.py").write_text(text)
    monkeypatch.setenv(f"BENCH_COUNTER_{stem}", str(gallery / f"{stem}.count"))


def test_measure_takes_the_median_of_the_repeats_and_their_ratio(
    tmp_path, monkeypatch
):
    gallery = tmp_path / "gallery"
    _example(
        gallery,
        "plot_softmax_regression",
        ["softmax"],
        [9.0, 30.0, 10.0],
        0.92,
        monkeypatch,
    )
    _example(
        gallery,
        "plot_training_fast",
        ["fast_softmax"],
        [1.0, 2.0, 9.0],
        0.915,
        monkeypatch,
    )
    lines = []
    record = bench.measure(
        gallery, ["softmax"], repeats=3, scratch=tmp_path, log=lines.append
    )
    row = record["experiments"]["softmax"]
    assert row["reference_seconds"] == 10.0 and row["fast_seconds"] == 2.0
    assert row["speedup"] == 5.0
    assert row["accuracy"] == 0.915 and row["fast_reached"] is False
    assert (
        row["reference_accuracy"] == 0.92 and row["reference_reached"] is True
    )
    assert [s["seconds"] for s in row["fast_samples"]] == [1.0, 2.0, 9.0]
    assert record["repeats"] == 3 and record["device"] == "cpu"
    assert len(lines) == 6 and all(line.startswith("repeat ") for line in lines)
    # Every repeat ran in a folder of its own, and the bench's folders are gone.
    assert not list(tmp_path.glob("dlcourse-bench-*"))


def test_an_experiment_without_a_fast_path_has_none(tmp_path, monkeypatch):
    gallery = tmp_path / "gallery"
    names = ["mlp_sigmoid", "mlp_tanh", "mlp_relu", "mlp_dropout"]
    _example(
        gallery, "plot_five_layer_network", names, [14.0], 0.981, monkeypatch
    )
    _example(
        gallery,
        "plot_training_fast",
        ["fast_mlp_relu"],
        [4.0],
        0.982,
        monkeypatch,
    )
    record = bench.measure(
        gallery, ["mlp_tanh", "mlp_relu"], repeats=1, scratch=tmp_path
    )
    tanh, relu = (
        record["experiments"]["mlp_tanh"],
        record["experiments"]["mlp_relu"],
    )
    assert tanh["fast_seconds"] is None and tanh["speedup"] is None
    assert relu["speedup"] == 3.5
    text = bench.table(record)
    assert re.search(r"mlp_tanh .*—", text) and re.search(
        r"mlp_relu .*3\.5×", text
    )
    assert "median of 1 on" in text


def test_a_failing_example_is_named_with_the_end_of_its_output(tmp_path):
    gallery = tmp_path / "gallery"
    gallery.mkdir()
    (gallery / "plot_cnn_expanded.py").write_text(
        "print('loading'); raise SystemExit(3)\n"
    )
    with pytest.raises(
        bench.BenchError, match=r"plot_cnn_expanded.py failed with status 3"
    ):
        bench.measure(gallery, ["cnn_expanded"], repeats=1, scratch=tmp_path)
    output = next(
        tmp_path.glob("dlcourse-bench-*/1-plot_cnn_expanded/output.txt")
    )
    assert output.read_text() == "loading\n"


def test_an_example_that_saves_no_numbers_is_refused(tmp_path):
    gallery = tmp_path / "gallery"
    gallery.mkdir()
    (gallery / "plot_pytorch_example.py").write_text(
        "open('pytorch_example.json', 'w')\n"
    )
    with pytest.raises(
        bench.BenchError, match=r"pytorch_example.json does not hold"
    ):
        bench.measure(gallery, ["pytorch_example"], repeats=1, scratch=tmp_path)


def test_unknown_names_missing_examples_and_no_repeats_are_refused(tmp_path):
    with pytest.raises(
        ValueError, match=r"no benchmark for lenet; choose from softmax"
    ):
        bench.measure(GALLERY, ["lenet"])
    with pytest.raises(ValueError, match="repeats must be at least 1"):
        bench.measure(GALLERY, ["cnn"], repeats=0)
    with pytest.raises(bench.BenchError, match=r"no example plot_cnn.py in"):
        bench.measure(tmp_path, ["cnn"], repeats=1)


def test_save_writes_the_record_whole(tmp_path):
    record = {"repeats": 1, "experiments": {"cnn": {"speedup": 4.2}}}
    bench.save(record, tmp_path / "build" / "bench.json")
    assert json.loads((tmp_path / "build" / "bench.json").read_text()) == record
    assert [p.name for p in (tmp_path / "build").iterdir()] == ["bench.json"]


def test_every_recipe_names_a_gallery_example_and_a_network_the_fast_one_trains():
    fast = (GALLERY / bench.FAST_SCRIPT).read_text()
    for name, (script, fast_name) in bench.RECIPES.items():
        assert (GALLERY / script).is_file(), script
        assert name in (GALLERY / script).read_text(), (
            f"{script} saves no {name}.json"
        )
        if fast_name:
            # The fast example saves fast_NAME.json for each network of its recipes.
            assert fast_name == f"fast_{name}" and f'"{name}": (' in fast, name


def test_the_command_refuses_an_unknown_experiment(capsys):
    assert cli.main(["bench", "lenet", "--gallery", str(GALLERY)]) == 2
    assert "no benchmark for lenet" in capsys.readouterr().err


def test_the_command_prints_the_table_and_saves_it(
    tmp_path, monkeypatch, capsys
):
    gallery = tmp_path / "gallery"
    _example(
        gallery,
        "plot_pytorch_example",
        ["pytorch_example"],
        [30.0, 32.0],
        0.985,
        monkeypatch,
    )
    out = tmp_path / "bench.json"
    argv = [
        "bench",
        "pytorch_example",
        "--repeats",
        "2",
        "--gallery",
        str(gallery),
    ]
    assert cli.main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"pytorch_example +98\.45% +31\.0 +98\.50%", printed), (
        printed
    )
    assert (
        json.loads(out.read_text())["experiments"]["pytorch_example"][
            "reference_seconds"
        ]
        == 31
    )
