"""Tests of dlcourse.experiments: the registry of the 2018 course's results."""

from __future__ import annotations

import pytest

from dlcourse import config, experiments, profiles

# The 2018 course's results table, in %.
COURSE_TABLE = {
    "softmax": 91.7,
    "mlp_sigmoid": 97.35,
    "mlp_tanh": 98.06,
    "mlp_relu": 98.07,
    "mlp_dropout": 98.26,
    "cnn": 99.23,
    "cnn_expanded": 99.6,
    "pytorch_example": 98.45,
}


def test_registry_holds_the_course_table():
    assert {
        n: e.reported for n, e in experiments.EXPERIMENTS.items()
    } == COURSE_TABLE


@pytest.mark.parametrize(
    "experiment", experiments.EXPERIMENTS.values(), ids=lambda e: e.name
)
def test_bands_hold_the_reported_value(experiment):
    # The course's value plus or minus 0.3 percentage points, for every row.
    assert experiment.low == pytest.approx(experiment.reported - 0.3)
    assert experiment.high == pytest.approx(experiment.reported + 0.3)


def test_the_pytorch_example_runs_in_pytorch_and_the_rest_in_keras():
    frameworks = {
        n: e.config.framework for n, e in experiments.EXPERIMENTS.items()
    }
    assert frameworks.pop("pytorch_example") == "torch"
    assert set(frameworks.values()) == {"keras"}


def test_get_names_the_choices():
    with pytest.raises(KeyError, match="choose one of softmax, mlp_sigmoid"):
        experiments.get("alexnet")


def test_config_for_other_framework_and_epochs():
    config = experiments.config_for(
        experiments.get("cnn"), framework="torch", epochs=2
    )
    assert config.framework == "torch" and config.epochs == 2
    assert config.arch == experiments.get("cnn").config.arch


def test_run_uses_the_cache_and_in_band(monkeypatch, tmp_path):
    monkeypatch.setenv(experiments.CACHE_ENV_VAR, str(tmp_path))
    smoke = profiles.PROFILES["smoke"]
    first = experiments.run("softmax", profile=smoke, log=lambda line: None)
    assert tmp_path in __import__("pathlib").Path(first.run_dir).parents
    second = experiments.run("softmax", profile=smoke, log=lambda line: None)
    assert second.cached and second.key == first.key
    experiment = experiments.get("softmax")
    inside = config.RunResult(**{**first.__dict__, "test_accuracy": 0.917})
    outside = config.RunResult(**{**first.__dict__, "test_accuracy": 0.90})
    assert experiments.in_band(experiment, inside)
    assert not experiments.in_band(experiment, outside)
