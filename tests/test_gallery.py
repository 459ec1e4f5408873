"""Gallery scripts are tutorials a student downloads: plain framework code, no build plumbing."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK_SCRIPTS = sorted((ROOT / "book" / "scripts").glob("*.py"))
SCRIPTS = sorted((ROOT / "gallery").glob("*/plot_*.py")) + BOOK_SCRIPTS
MODEL_SCRIPTS = sorted((ROOT / "gallery" / "mnist_models").glob("plot_*.py"))
# What a script that trains a model may take from the library: the data and the figures; the
# model, the optimizer and the training are written out in it.
ALLOWED = {"data", "plots"}


def _ids(paths):
    return [path.relative_to(ROOT).as_posix() for path in paths]


@pytest.mark.parametrize(
    "script",
    MODEL_SCRIPTS + BOOK_SCRIPTS,
    ids=_ids(MODEL_SCRIPTS + BOOK_SCRIPTS),
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
        "(nn.Module)" in text
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
