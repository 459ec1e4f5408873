"""Tests of dlcourse.report: the 2018-vs-measured table, and the labels a model predicts."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse import models, report, reported

SOFTMAX = reported.get("softmax")


def test_seed_table_rows_and_columns():
    cnn = reported.get("cnn")
    table = report.seed_table(
        [(SOFTMAX, 0.9172, report.IN_BAND), (cnn, 0.95, report.OUT_OF_BAND)]
    )
    assert list(table.columns) == list(report.COLUMNS)
    assert list(table.index) == [SOFTMAX.title, cnn.title]
    assert table.loc[SOFTMAX.title].tolist() == [
        "91.7%",
        "91.72%",
        "91.4–92%",
        report.IN_BAND,
    ]
    assert table.loc[cnn.title, "in band"] == report.OUT_OF_BAND


def test_seed_table_shows_the_course_text_of_an_approximate_result():
    expanded = reported.get("cnn_expanded")
    table = report.seed_table([(expanded, 0.996, report.IN_BAND)])
    assert table.iloc[0]["2018 course"] == "≈99.6%"


def test_seed_table_needs_rows():
    with pytest.raises(ValueError, match="at least one"):
        report.seed_table([])


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
