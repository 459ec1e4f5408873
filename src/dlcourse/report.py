"""How a result is reported on a page: the 2018 course's value beside this build's."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from dlcourse.reported import Reported

COLUMNS = ("2018 course", "this build", "band", "in band")
# The verdicts, marked so that a reader sees them at a glance.
IN_BAND, OUT_OF_BAND = "✓ yes", "✗ no"


def seed_table(rows: Iterable[tuple[Reported, float, str]]):
    """Return a pandas DataFrame of the 2018 course's results beside this build's.

    Each row is (reported result, measured test accuracy as a fraction, in-band verdict); the
    columns are 2018 course, this build, band and in band, one row per result.
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
