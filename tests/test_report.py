"""Tests of dlcourse.report: run descriptions, the 2018-vs-measured table, the band check."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse import experiments, models, report
from dlcourse.config import RunResult

SOFTMAX = experiments.get("softmax")


def _result(
    accuracy: float,
    *,
    profile: str = "full",
    device: str = "cpu",
    config: dict | None = None,
    cached: bool = False,
) -> RunResult:
    description = {
        "full": "profile full: full training and test sets, all epochs",
        "smoke": "profile smoke: 2,000 training images, 1,000 test images, at most 1 epoch(s); "
        "NOT comparable with published results",
    }[profile]
    epoch = {
        "loss": 0.3,
        "accuracy": accuracy,
        "val_loss": 0.3,
        "val_accuracy": accuracy,
        "seconds": 2.0,
        "images_per_second": 30_000.0,
    }
    return RunResult(
        name="softmax",
        key="0" * 64,
        config=config or SOFTMAX.config.to_dict(),
        profile=profile,
        profile_description=description,
        history=[
            {**epoch, "epoch": 1},
            {**epoch, "epoch": 2, "images_per_second": 10_000.0},
        ],
        test_accuracy=accuracy,
        test_loss=0.3,
        wall_time=4.0,
        provenance={
            "device": device,
            "framework": "keras",
            "keras_backend": "tensorflow",
            "cpu": "Test CPU 3000",
            "cpu_count": 2,
            "gpu": "NVIDIA H100" if device == "cuda" else None,
        },
        run_dir="/runs/softmax",
        weights="model.keras",
        cached=cached,
    )


def test_describe_run_names_device_time_and_profile():
    lines = report.describe_run(_result(0.917)).splitlines()
    assert lines[0] == "device:  cpu (Test CPU 3000), keras on tensorflow"
    assert (
        lines[1] == "time:    4.0 s of training for 2 epoch(s), 20,000 images/s"
    )
    assert lines[2] == "profile full: full training and test sets, all epochs"


def test_describe_run_names_the_gpu_and_a_cached_run():
    text = report.describe_run(_result(0.917, device="cuda", cached=True))
    assert text.startswith("device:  cuda (NVIDIA H100)")
    assert "measured when this build first trained it" in text


def test_comparison_table_rows_and_columns():
    rows = [(SOFTMAX, _result(0.9172)), (experiments.get("cnn"), _result(0.95))]
    table = report.comparison_table(rows)
    assert list(table.columns) == [
        "2018 course",
        "this build",
        "band",
        "in band",
    ]
    assert list(table.index) == [SOFTMAX.title, experiments.get("cnn").title]
    first = table.loc[SOFTMAX.title]
    assert first.tolist() == ["91.7%", "91.72%", "91.4–92%", report.IN_BAND]
    # The cnn row holds a softmax config: not the experiment as configured, so not judged.
    assert (
        table.loc[experiments.get("cnn").title, "in band"]
        == "not checked (another configuration)"
    )


def test_comparison_table_says_when_a_result_is_not_checked():
    table = report.comparison_table([(SOFTMAX, _result(0.80, profile="smoke"))])
    assert table.iloc[0]["in band"] == "not checked (smoke profile)"
    assert table.iloc[0]["this build"] == "80.00%"
    outside = report.comparison_table([(SOFTMAX, _result(0.90))])
    assert outside.iloc[0]["in band"] == report.OUT_OF_BAND


def test_comparison_table_shows_the_seed_text_of_an_approximate_result():
    expanded = experiments.get("cnn_expanded")
    result = _result(0.996, config=expanded.config.to_dict())
    table = report.comparison_table([(expanded, result)])
    assert table.iloc[0]["2018 course"] == "≈99.6%"
    assert table.iloc[0]["in band"] == report.IN_BAND


def test_comparison_table_needs_rows():
    with pytest.raises(ValueError, match="at least one"):
        report.comparison_table([])


def test_require_in_band_fails_a_full_result_outside_its_band():
    with pytest.raises(
        report.ResultOutOfBand, match=r"softmax: measured 90\.00%.*91\.4–92%"
    ):
        report.require_in_band(SOFTMAX, _result(0.90))
    report.require_in_band(SOFTMAX, _result(0.917))


def test_require_in_band_names_the_machine_that_measured():
    with pytest.raises(
        report.ResultOutOfBand, match=r"measured on Test CPU 3000 \(2 cores\)\W"
    ):
        report.require_in_band(SOFTMAX, _result(0.90))
    with pytest.raises(
        report.ResultOutOfBand, match=r"\(2 cores\), NVIDIA H100"
    ):
        report.require_in_band(SOFTMAX, _result(0.90, device="cuda"))


def test_machine_text_without_a_core_count():
    result = _result(0.9)
    del result.provenance["cpu_count"]
    assert report.machine_text(result) == "Test CPU 3000"


def test_require_in_band_lets_cut_down_and_other_runs_pass():
    report.require_in_band(SOFTMAX, _result(0.50, profile="smoke"))
    two_epochs = {**SOFTMAX.config.to_dict(), "epochs": 2}
    report.require_in_band(SOFTMAX, _result(0.50, config=two_epochs))
    assert not report.is_comparable(SOFTMAX, _result(0.50, config=two_epochs))
    assert report.is_comparable(SOFTMAX, _result(0.50))


def test_predicted_labels_of_a_torch_module_match_numpy():
    import torch

    module = models.torch_model(models.Architecture("softmax"))
    x = np.random.default_rng(0).random(
        (2_500, models.NUM_PIXELS), dtype=np.float32
    )
    with torch.no_grad():
        weight, bias = module[0].weight.numpy(), module[0].bias.numpy()
    expected = (x @ weight.T + bias).argmax(axis=1)
    np.testing.assert_array_equal(
        report.predicted_labels(module.eval(), x), expected
    )


@pytest.mark.slow
def test_predicted_labels_of_a_keras_model_match_numpy():
    model = models.keras_model(models.Architecture("softmax"))
    weight, bias = (np.asarray(w) for w in model.layers[0].get_weights())
    x = np.random.default_rng(1).random(
        (50, models.NUM_PIXELS), dtype=np.float32
    )
    expected = (x @ weight + bias).argmax(axis=1)
    np.testing.assert_array_equal(report.predicted_labels(model, x), expected)
