"""The maintainer's tools (tools/): the benchmark and the reproduction run gallery examples.

They run example scripts in empty folders and read back what they saved; here the examples are
small stand-ins, but for one real example on the smoke profile.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path

import pytest

from dlcourse import reported

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "gallery"
sys.path.insert(0, str(ROOT / "tools"))
bench = importlib.import_module("bench")
examples = importlib.import_module("examples")
reproduce = importlib.import_module("reproduce")

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
    fast = examples.find_script(bench.FAST_SCRIPT).read_text()
    for name in reported.NAMES:
        script, fast_name = bench.recipe(name)
        path = examples.find_script(script)
        assert name in path.read_text(), f"{script} saves no {name}.json"
        if fast_name:
            # The fast example saves fast_NAME.json for each network of its recipes.
            assert fast_name == f"fast_{name}" and f'"{name}": (' in fast, name


def test_the_command_refuses_an_unknown_experiment(capsys):
    assert bench.main(["lenet"]) == 2
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
    argv = ["pytorch_example", "--repeats", "2", "--gallery", str(gallery)]
    assert bench.main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"pytorch_example +98\.45% +31\.0 +98\.50%", printed), (
        printed
    )
    saved = json.loads(out.read_text())["experiments"]["pytorch_example"]
    assert saved["reference_seconds"] == 31


# --- reproduce ---------------------------------------------------------------------------

# A stand-in example: saves each of NAMES with ACCURACY, on the full data or a subset.
SAVES = """
import json
for name in {names!r}:
    record = {{"test_accuracy": {accuracy!r}, "train_seconds": 2.0,
              "train_images": {train}, "test_images": {test},
              "history": {{"loss": [1.0]}}, "device": "Test GPU"}}
    json.dump(record, open(name + ".json", "w"))
"""


def _stand_in(gallery, script, names, accuracy, full=True):
    folder = gallery / "mnist_models"
    folder.mkdir(parents=True, exist_ok=True)
    train, test = (60_000, 10_000) if full else (2_000, 1_000)
    text = SAVES.format(names=names, accuracy=accuracy, train=train, test=test)
    (folder / script).write_text(text)


def test_reproduce_runs_each_example_once_and_tabulates_band_and_device(
    tmp_path,
):
    gallery = tmp_path / "gallery"
    names = ["mlp_tanh", "mlp_relu"]
    _stand_in(gallery, "plot_five_layer_network.py", names, 0.9807)
    logged = []
    rows = reproduce.measure(
        names, gallery_dir=gallery, scratch=tmp_path, log=logged.append
    )
    assert [result.name for result, _ in rows] == names
    assert sum(line.startswith("running ") for line in logged) == 1
    text = reproduce.table(rows)
    assert text.splitlines()[0].split() == [
        "result",
        "2018",
        "measured",
        "band",
        "in",
        "band",
        "device",
    ]
    assert re.search(
        r"mlp_tanh +98\.06% +98\.07% +97\.76–98\.36% +yes +Test GPU", text
    )
    assert not list(tmp_path.glob("dlcourse-reproduce-*"))


def test_reproduce_fails_a_full_result_outside_its_band(
    tmp_path, monkeypatch, capsys
):
    gallery = tmp_path / "gallery"
    _stand_in(gallery, "plot_cnn.py", ["cnn"], 0.97)
    assert reproduce.main(["cnn", "--gallery", str(gallery)]) == 1
    out, err = capsys.readouterr()
    assert re.search(r"cnn +99\.23% +97\.00% .* NO +Test GPU", out), out
    assert "1 result(s) outside their band: cnn" in err


def test_reproduce_does_not_judge_a_run_on_a_subset(tmp_path):
    gallery = tmp_path / "gallery"
    _stand_in(gallery, "plot_cnn.py", ["cnn"], 0.5, full=False)
    rows = reproduce.measure(["cnn"], gallery_dir=gallery, scratch=tmp_path)
    assert reproduce.verdict(*rows[0]) == "not checked"


def test_reproduce_names_an_unknown_result_in_one_line(capsys):
    assert reproduce.main(["cnn", "lenet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no 2018 result named 'lenet'" in err


def test_reproduce_names_a_failing_example_and_keeps_its_folder(tmp_path):
    gallery = tmp_path / "gallery" / "mnist_models"
    gallery.mkdir(parents=True)
    (gallery / "plot_cnn.py").write_text(
        "print('loading'); raise SystemExit(3)\n"
    )
    with pytest.raises(examples.ExampleError, match="failed with status 3"):
        reproduce.measure(["cnn"], gallery_dir=gallery.parent, scratch=tmp_path)
    assert next(tmp_path.glob("dlcourse-reproduce-*/plot_cnn/output.txt"))


@pytest.mark.slow
def test_reproduce_runs_a_real_example_as_a_reader_would(monkeypatch, capsys):
    monkeypatch.setenv("DLCOURSE_PROFILE", "smoke")
    assert reproduce.main(["softmax"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("softmax "))
    assert "not checked" in row and not row.endswith("unknown"), row
