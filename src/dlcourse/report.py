"""How a trained run is reported on a page: where it ran, its result beside the 2018 course's."""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np

from dlcourse.experiments import Experiment, in_band
from dlcourse.profiles import PROFILES
from dlcourse.train import RunResult

COLUMNS = ("2018 course", "this build", "band", "in band")


class ResultOutOfBand(AssertionError):
    """A full-fidelity result does not reproduce the value the 2018 course reported."""


def is_full_fidelity(result: RunResult) -> bool:
    """Return True if the run used the full data and all its epochs."""
    profile = PROFILES.get(result.profile)
    return profile is not None and profile.is_full


def is_comparable(experiment: Experiment, result: RunResult) -> bool:
    """Return True if the result ran the experiment as configured, at full fidelity."""
    return is_full_fidelity(result) and result.config == experiment.config.to_dict()


def describe_run(result: RunResult) -> str:
    """Return three lines saying on which device, for how long and with which profile it ran."""
    prov = result.provenance
    device = str(prov.get("device", "unknown"))
    hardware = prov.get("gpu") if device == "cuda" and prov.get("gpu") else prov.get("cpu")
    backend = f" on {prov['keras_backend']}" if prov.get("keras_backend") else ""
    framework = f"{prov.get('framework', '?')}{backend}"
    epochs = len(result.history)
    speed = np.mean([epoch["images_per_second"] for epoch in result.history])
    when = " (measured when this build first trained it)" if result.cached else ""
    return "\n".join(
        [
            f"device:  {device} ({hardware}), {framework}",
            f"time:    {result.wall_time:.1f} s of training for {epochs} epoch(s), "
            f"{speed:,.0f} images/s{when}",
            f"{result.profile_description}",
        ]
    )


def in_band_text(experiment: Experiment, result: RunResult) -> str:
    """Return 'yes' or 'no', or say that a cut-down profile's result is not checked."""
    if not is_full_fidelity(result):
        return f"not checked ({result.profile} profile)"
    if not is_comparable(experiment, result):
        return "not checked (another configuration)"
    return "yes" if in_band(experiment, result) else "no"


def comparison_table(rows: Iterable[tuple[Experiment, RunResult]]):
    """Return a pandas DataFrame, one row per experiment: 2018 course, this build, band, in band."""
    import pandas as pd

    records = {
        experiment.title: (
            experiment.reported_text(),
            f"{result.test_accuracy:.2%}",
            f"{experiment.low:g}–{experiment.high:g}%",
            in_band_text(experiment, result),
        )
        for experiment, result in rows
    }
    if not records:
        raise ValueError("comparison_table needs at least one (experiment, result) pair")
    table = pd.DataFrame.from_dict(records, orient="index", columns=list(COLUMNS))
    table.index.name = "model"
    return table


def require_in_band(experiment: Experiment, result: RunResult) -> None:
    """Raise ResultOutOfBand if a full-fidelity result lies outside the experiment's band.

    Results of a cut-down profile (e.g. ``smoke``) or of another configuration (other epochs,
    another framework) are not comparable and pass unchecked.
    """
    if is_comparable(experiment, result) and not in_band(experiment, result):
        raise ResultOutOfBand(
            f"{experiment.name}: measured {result.test_accuracy:.2%} lies outside the band "
            f"{experiment.low:g}–{experiment.high:g}% around the 2018 course's "
            f"{experiment.reported_text()} (run in {result.run_dir})"
        )


def predicted_labels(model, x: np.ndarray) -> np.ndarray:
    """Return the digit a trained Keras model or PyTorch module predicts for each row of ``x``."""
    if hasattr(model, "predict"):
        return np.asarray(model.predict(x, batch_size=1000, verbose=0)).argmax(axis=1)
    import torch

    with torch.no_grad():
        logits = torch.cat(
            [model(torch.from_numpy(x[i : i + 1000])) for i in range(0, len(x), 1000)]
        )
    return logits.argmax(dim=1).numpy()


def silence_native_stderr() -> None:
    """Send what compiled code writes straight to file descriptor 2 to the null device.

    TensorFlow's C++ runtime logs there as it loads and starts devices, whatever
    ``TF_CPP_MIN_LOG_LEVEL`` says; in a notebook kernel, Python's own warnings go through
    ``sys.stderr``, not descriptor 2, and still show.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
    finally:
        os.close(devnull)
