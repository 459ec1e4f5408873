"""How a trained run is reported on a page: where it ran, its result beside the 2018 course's."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from dlcourse.config import RunResult
from dlcourse.experiments import Experiment, in_band
from dlcourse.profiles import PROFILES

COLUMNS = ("2018 course", "this build", "band", "in band")
# The verdicts, marked so that a reader sees them at a glance.
IN_BAND, OUT_OF_BAND = "✓ yes", "✗ no"


class ResultOutOfBand(AssertionError):
    """A full-fidelity result does not reproduce the value the 2018 course reported."""


def is_full_fidelity(result: RunResult) -> bool:
    """Return True if the run used the full data and all its epochs."""
    profile = PROFILES.get(result.profile)
    return profile is not None and profile.is_full


def is_comparable(experiment: Experiment, result: RunResult) -> bool:
    """Return True if the result ran the experiment as configured, at full fidelity."""
    return (
        is_full_fidelity(result)
        and result.config == experiment.config.to_dict()
    )


def describe_run(result: RunResult) -> str:
    """Return three lines saying on which device, for how long and with which profile it ran."""
    prov = result.provenance
    device = str(prov.get("device", "unknown"))
    hardware = (
        prov.get("gpu")
        if device == "cuda" and prov.get("gpu")
        else prov.get("cpu")
    )
    backend = (
        f" on {prov['keras_backend']}" if prov.get("keras_backend") else ""
    )
    framework = f"{prov.get('framework', '?')}{backend}"
    epochs = len(result.history)
    speed = np.mean([epoch["images_per_second"] for epoch in result.history])
    when = (
        " (measured when this build first trained it)" if result.cached else ""
    )
    return "\n".join(
        [
            f"device:  {device} ({hardware}), {framework}",
            f"time:    {result.wall_time:.1f} s of training for {epochs} epoch(s), "
            f"{speed:,.0f} images/s{when}",
            f"{result.profile_description}",
        ]
    )


def machine_text(result: RunResult) -> str:
    """Return the machine a result was measured on, e.g. 'AMD EPYC 7B13 (2 cores), NVIDIA H100'."""
    prov = result.provenance
    cores = f" ({prov['cpu_count']} cores)" if prov.get("cpu_count") else ""
    gpu = f", {prov['gpu']}" if prov.get("gpu") else ""
    return f"{prov.get('cpu') or 'an unknown CPU'}{cores}{gpu}"


def in_band_text(experiment: Experiment, result: RunResult) -> str:
    """Return IN_BAND or OUT_OF_BAND, or say that a cut-down profile's result is unchecked."""
    if not is_full_fidelity(result):
        return f"not checked ({result.profile} profile)"
    if not is_comparable(experiment, result):
        return "not checked (another configuration)"
    return IN_BAND if in_band(experiment, result) else OUT_OF_BAND


def seed_table(rows: Iterable[tuple[Experiment, float, str]]):
    """Return a pandas DataFrame of the 2018 course's results beside this build's.

    Each row is (experiment, measured test accuracy as a fraction, in-band verdict); the
    columns are 2018 course, this build, band and in band, one row per experiment.
    """
    import pandas as pd

    records = {
        experiment.title: (
            experiment.reported_text(),
            f"{accuracy:.2%}",
            f"{experiment.low:g}–{experiment.high:g}%",
            verdict,
        )
        for experiment, accuracy, verdict in rows
    }
    if not records:
        raise ValueError(
            "a comparison table needs at least one experiment and its result"
        )
    table = pd.DataFrame.from_dict(
        records, orient="index", columns=list(COLUMNS)
    )
    # No name on the index: pandas would give it a header row of its own, empty but for it.
    return table


def comparison_table(rows: Iterable[tuple[Experiment, RunResult]]):
    """Return :func:`seed_table` for runs of the training engine."""
    return seed_table((e, r.test_accuracy, in_band_text(e, r)) for e, r in rows)


def require_in_band(experiment: Experiment, result: RunResult) -> None:
    """Raise ResultOutOfBand if a full-fidelity result lies outside the experiment's band.

    Results of a cut-down profile (e.g. ``smoke``) or of another configuration (other epochs,
    another framework) are not comparable and pass unchecked.
    """
    if is_comparable(experiment, result) and not in_band(experiment, result):
        raise ResultOutOfBand(
            f"{experiment.name}: measured {result.test_accuracy:.2%} lies outside the band "
            f"{experiment.low:g}–{experiment.high:g}% around the 2018 course's "
            f"{experiment.reported_text()} (measured on {machine_text(result)}, "
            f"run in {result.run_dir})"
        )


def predicted_labels(model, x: np.ndarray) -> np.ndarray:
    """Return the digit a trained Keras model or PyTorch module predicts for each row of ``x``."""
    if hasattr(model, "predict"):
        return np.asarray(model.predict(x, batch_size=1000, verbose=0)).argmax(
            axis=1
        )
    import torch

    with torch.no_grad():
        logits = torch.cat(
            [
                model(torch.from_numpy(x[i : i + 1000]))
                for i in range(0, len(x), 1000)
            ]
        )
    return logits.argmax(dim=1).numpy()
