"""Gallery scripts are tutorials a student downloads: plain framework code, no build plumbing."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "gallery").glob("*/plot_*.py"))
MODEL_SCRIPTS = sorted((ROOT / "gallery" / "mnist_models").glob("plot_*.py"))
# What a script that trains a model may take from the library: the data, the figures, the
# name of the device that trained and Keras's backup guarded against a job's warning signal;
# the model, the optimizer and the training are written out.
ALLOWED = {"data", "plots", "hardware", "backup"}


def _ids(paths):
    return [path.relative_to(ROOT).as_posix() for path in paths]


@pytest.mark.parametrize(
    "script",
    MODEL_SCRIPTS,
    ids=_ids(MODEL_SCRIPTS),
)
def test_script_takes_only_data_and_plots_from_the_library(script):
    tree = ast.parse(script.read_text(encoding="utf-8"))
    taken = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "dlcourse"
        ):
            submodule = node.module.removeprefix("dlcourse").lstrip(".")
            taken |= (
                {submodule}
                if submodule
                else {alias.name for alias in node.names}
            )
        elif isinstance(node, ast.Import):
            taken |= {
                a.name.removeprefix("dlcourse.")
                for a in node.names
                if a.name.startswith("dlcourse.")
            }
            assert "dlcourse" not in {a.name for a in node.names}, (
                "import the modules by name"
            )
    assert taken <= ALLOWED, (
        f"{script.name} imports {sorted(taken - ALLOWED)} from dlcourse"
    )


@pytest.mark.parametrize("script", SCRIPTS, ids=_ids(SCRIPTS))
def test_script_carries_no_build_plumbing(script):
    text = script.read_text(encoding="utf-8")
    for plumbing in (
        "# dlcourse:",
        "require_in_band",
        "silence_native_stderr",
        "os.dup2",
    ):
        assert plumbing not in text, f"{script.name} carries {plumbing!r}"
    for line in text.splitlines():
        # sphinx-gallery strips its own per-file settings from what a reader downloads.
        if "sphinx_gallery" in line:
            assert line.startswith("# sphinx_gallery_"), line


@pytest.mark.parametrize("script", MODEL_SCRIPTS, ids=_ids(MODEL_SCRIPTS))
def test_model_script_sets_its_hyperparameters_as_plain_variables(script):
    tree = ast.parse(script.read_text(encoding="utf-8"))
    plain = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert {"batch_size", "epochs", "learning_rate", "seed"} <= plain, sorted(
        plain
    )


@pytest.mark.parametrize("script", MODEL_SCRIPTS, ids=_ids(MODEL_SCRIPTS))
def test_model_script_trains_with_visible_framework_code(script):
    text = script.read_text(encoding="utf-8")
    keras_way = (
        "keras.Sequential(" in text and ".compile(" in text and ".fit(" in text
    )
    torch_way = (
        ("(nn.Module)" in text or "nn.Sequential(" in text)
        and "loss.backward()" in text
        and "optimizer.step()" in text
    )
    assert keras_way or torch_way, (
        f"{script.name} shows no model and no training"
    )
    # Walltime-safe with the frameworks' own means: a Keras backup or a torch checkpoint.
    if "epochs = " in text and script.stem in ("plot_cnn", "plot_cnn_expanded"):
        assert "BackupAndRestore(" in text
    if torch_way:
        assert "torch.save(" in text and "weights_only=True" in text


def test_each_example_starts_with_kerass_float32_policy(monkeypatch):
    import keras

    monkeypatch.syspath_prepend(str(ROOT / "book" / "_ext"))
    import dlcourse_gallery

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        dlcourse_gallery.reset_keras_policy({}, "plot_cnn.py")
        assert keras.mixed_precision.global_policy().name == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


# The GPU flag: one sphinx-gallery setting in the header of each example that trains a CNN.
GALLERY_SCRIPTS = sorted((ROOT / "gallery").glob("*/plot_*.py"))
CONVOLUTIONS = ("layers.Conv2D(", "nn.Conv2d(")
RECORD = ROOT / "book" / "measurements" / "nvidia-h200.json"


@pytest.fixture(scope="module")
def gpu_ext():
    import sys

    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    import dlcourse_gpu

    return dlcourse_gpu


@pytest.mark.parametrize("script", GALLERY_SCRIPTS, ids=_ids(GALLERY_SCRIPTS))
def test_exactly_the_examples_that_train_a_cnn_are_gpu_flagged(gpu_ext, script):
    text = script.read_text(encoding="utf-8")
    trains_a_cnn = any(conv in text for conv in CONVOLUTIONS)
    assert gpu_ext.gpu_flagged(text) == trains_a_cnn, (
        f"{script.name}: add or remove '# sphinx_gallery_dlcourse_gpu = True'"
    )
    if trains_a_cnn:
        # One line, in the header: after the docstring, before the first cell.
        header = text.split("# %%", 1)[0]
        assert header.count("sphinx_gallery_dlcourse_gpu") == 1


def test_gpu_marker_is_read_as_sphinx_gallery_reads_it(gpu_ext):
    assert gpu_ext.gpu_flagged(
        '"""T\n=\n"""\n# sphinx_gallery_dlcourse_gpu = True\n'
    )
    assert not gpu_ext.gpu_flagged("# sphinx_gallery_dlcourse_gpu = False\n")
    assert not gpu_ext.gpu_flagged("# sphinx_gallery_thumbnail_number = 2\n")
    assert not gpu_ext.gpu_flagged("gpu = True  # dlcourse_gpu\n")


def test_gpu_marker_stays_off_the_page_and_out_of_the_notebook():
    from sphinx_gallery.py_source_parser import remove_config_comments

    source = (ROOT / "gallery" / "mnist_models" / "plot_cnn.py").read_text()
    assert "sphinx_gallery_dlcourse_gpu" in source
    assert "sphinx_gallery_dlcourse_gpu" not in remove_config_comments(source)


def _run(gpu_ext, name, device, seconds, images=60_000):
    return gpu_ext.Run(
        name=name,
        device=device,
        train_seconds=seconds,
        train_images=images,
        full=images == 60_000,
    )


def test_gpu_box_gives_this_builds_time_and_the_gpu_record(gpu_ext):
    runs = [
        _run(gpu_ext, "fast_cnn", "CPU", 300.4),
        _run(gpu_ext, "x", "CPU", 20),
    ]
    record = gpu_ext.Measured("NVIDIA H200", "2026-12-04", 10.3, 29.0)
    assert gpu_ext.gpu_box_text(runs, [record]) == (
        "GPU recommended: ~320 s on this build's CPU; 10 s on an NVIDIA H200, "
        "29 s on that machine's CPU alone (measured 2026-12-04)."
    )
    assert gpu_ext.gpu_box_text(runs, []) == (
        "GPU recommended: ~320 s on this build's CPU."
    )


def test_gpu_box_names_the_device_the_runs_recorded_and_a_subset(gpu_ext):
    runs = [_run(gpu_ext, "cnn", "NVIDIA A100", 61.2, images=2_000)]
    assert gpu_ext.gpu_box_text(runs, []) == (
        "GPU recommended: ~61 s on this build's NVIDIA A100 (on a subset of MNIST)."
    )


def test_ran_on_text_comes_from_each_saved_run(gpu_ext):
    runs = [
        _run(gpu_ext, "softmax", "CPU", 12.3),
        _run(gpu_ext, "cnn", "NVIDIA H200", 58.7, images=2_000),
    ]
    assert gpu_ext.ran_on_text(runs) == (
        "This build's runs: softmax ran on CPU (12 s of training); "
        "cnn ran on NVIDIA H200 (59 s of training on 2,000 images)."
    )


def test_gpu_record_of_each_example_as_measured(gpu_ext):
    record = json.loads(RECORD.read_text())
    (cnn,) = gpu_ext.measured("plot_cnn.py")
    saved = next(r for r in record["runs"] if r["example"] == "plot_cnn.py")
    assert cnn.gpu_seconds == saved["saved"]["cnn"]["train_seconds"]
    assert (cnn.machine, cnn.date, cnn.cpu_seconds) == (
        "NVIDIA H200",
        record["date"],
        None,
    )
    (fast,) = gpu_ext.measured("plot_training_fast.py")
    assert fast.cpu_seconds == pytest.approx(29.05 + 8.06 + 0.48, abs=0.01)
    # Stopped at the machine's time limit: it saved nothing, so no time is claimed.
    assert gpu_ext.measured("plot_cnn_expanded.py") == []


def test_badge_goes_on_the_thumbnails_of_flagged_pages_only(gpu_ext):
    thumbnail = (
        '.. raw:: html\n\n    <div class="sphx-glr-thumbcontainer" tooltip="x">\n\n'
        ".. only:: html\n\n  .. image:: /a.png\n    :alt:\n\n  :doc:`/book/gallery/m/{}`\n"
    )
    source = thumbnail.format("plot_cnn") + thumbnail.format("plot_softmax")
    badged = gpu_ext.badge_thumbnails(source, {"book/gallery/m/plot_cnn"})
    assert badged.count(gpu_ext.BADGE) == 1
    assert badged.index(gpu_ext.BADGE) < badged.index("plot_cnn`")


def test_the_runs_an_example_saved_are_recorded_beside_its_page(
    gpu_ext, tmp_path
):
    examples, pages = (
        tmp_path / "gallery" / "m",
        tmp_path / "book" / "gallery" / "m",
    )
    examples.mkdir(parents=True)
    (examples / "plot_x.py").write_text("")
    (examples / "old.json").write_text('{"train_seconds": 1}')
    conf = {
        "src_dir": str(tmp_path),
        "examples_dirs": ["gallery"],
        "gallery_dirs": ["book/gallery"],
    }
    gpu_ext.record_saved_runs(conf, None, "before")
    gpu_ext.record_saved_runs(conf, "plot_x.py", "before")
    (examples / "new.json").write_text('{"train_seconds": 2}')
    (examples / "other.json").write_text('{"not": "a run"}')
    gpu_ext.record_saved_runs(conf, "plot_x.py", "after")
    record = json.loads((pages / "plot_x.runs.json").read_text())
    assert record == {
        "example": "plot_x.py",
        "folder": "gallery/m",
        "saved": ["new"],
    }


@pytest.mark.parametrize(
    ("script", "extra"),
    [
        ("mnist_models/plot_cnn.py", "keras"),
        ("mnist_models/plot_pytorch_example.py", "torch"),
        ("foundations/plot_classical_baselines.py", "all"),
    ],
)
def test_a_page_installs_the_extra_its_script_imports(
    script, extra, monkeypatch
):
    monkeypatch.syspath_prepend(str(ROOT / "book" / "_ext"))
    import dlcourse_wheel

    source = (ROOT / "gallery" / script).read_text(encoding="utf-8")
    assert dlcourse_wheel.extra_for(source) == extra


# Checks of the built book's gallery pages (``pytest -m book``, after a build).
def _page_of(script: Path) -> str:
    return f"book/gallery/{script.parent.name}/{script.stem}.html"


def _flagged():
    import sys

    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    import dlcourse_gpu

    return [
        s for s in GALLERY_SCRIPTS if dlcourse_gpu.gpu_flagged(s.read_text())
    ]


@pytest.mark.book
@pytest.mark.parametrize("script", _flagged(), ids=lambda s: s.name)
def test_book_flagged_example_has_the_gpu_box_at_its_top(script):
    import bookpages

    page = bookpages.page(_page_of(script))
    box = page.select_one("div.dlcourse-gpu-box")
    assert box is not None, f"{script.name}: no GPU box"
    text = " ".join(box.get_text(" ", strip=True).split()).replace("’", "'")
    assert re.search(
        r"GPU recommended ?: ~[\d,]+ s on this build's \S", text
    ), text
    # At the top: before the example's first line of code.
    first_code = page.select_one("div.highlight")
    assert first_code is None or box.sourceline < first_code.sourceline
    record = json.loads(RECORD.read_text())
    ran = [
        r
        for r in record["runs"]
        if r["example"] == script.name and r["setting"] == "GPU" and r["saved"]
    ]
    if ran:
        assert "on an NVIDIA H200, " in text or "on an NVIDIA H200 (" in text, (
            text
        )
        assert f"(measured {record['date']})" in text


@pytest.mark.book
@pytest.mark.parametrize(
    "index", ["book/gallery/index.html", "book/gallery/mnist_models/index.html"]
)
def test_book_thumbnails_of_flagged_examples_carry_the_gpu_badge(index):
    import bookpages

    flagged = {s.stem for s in _flagged()}
    seen = set()
    for thumb in bookpages.page(index).select("div.sphx-glr-thumbcontainer"):
        link = thumb.select_one("a[href]")
        stem = Path(link["href"].split("#")[0]).stem
        seen.add(stem)
        badge = thumb.select_one(".dlcourse-gpu-badge")
        if stem in flagged:
            assert badge is not None and badge.get_text() == "GPU", stem
        else:
            assert badge is None, f"{stem} is not flagged but has a GPU badge"
    assert flagged & seen, f"{index} shows none of the flagged examples"


@pytest.mark.book
@pytest.mark.parametrize("script", GALLERY_SCRIPTS, ids=_ids(GALLERY_SCRIPTS))
def test_book_example_page_says_where_its_runs_ran_as_they_recorded(script):
    import bookpages

    record_file = (
        ROOT
        / "book"
        / "gallery"
        / script.parent.name
        / f"{script.stem}.runs.json"
    )
    assert record_file.is_file(), (
        f"{script.name} ran without its runs being recorded"
    )
    record = json.loads(record_file.read_text())
    page = bookpages.page(_page_of(script))
    box = page.select_one("div.dlcourse-runs")
    if not record["saved"]:
        assert box is None or "ran on" not in box.get_text()
        return
    assert box is not None, f"{script.name}: no line saying where its runs ran"
    text = " ".join(box.get_text(" ", strip=True).split())
    for name in record["saved"]:
        saved = json.loads(
            (ROOT / record["folder"] / f"{name}.json").read_text()
        )
        assert f"{name} ran on {saved['device']} (" in text, (name, text)


@pytest.mark.book
def test_book_build_report_lists_devices_and_the_gpu_record():
    import bookpages

    page = bookpages.page("book/build_report.html")
    text = page.get_text(" ", strip=True)
    assert "NVIDIA H200" in text
    headers = [
        " ".join(th.get_text(" ", strip=True).split())
        for th in page.select("th")
    ]
    for column in (
        "device",
        "training seconds",
        "GPU seconds",
        "CPU-only seconds",
        "test accuracy",
    ):
        assert column in headers, (column, headers)
