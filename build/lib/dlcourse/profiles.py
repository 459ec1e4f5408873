"""Profiles: full fidelity by default, or a fast one for development and tests.

``DLCOURSE_PROFILE=smoke`` trains on a small subset for a single epoch, so a whole pipeline
runs in seconds. Results made under it say so wherever they appear.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

ENV_VAR = "DLCOURSE_PROFILE"


@dataclass(frozen=True)
class Profile:
    """How much of the data and how many epochs a run uses; ``None`` means all of it."""

    name: str
    train_limit: int | None = None
    test_limit: int | None = None
    max_epochs: int | None = None

    @property
    def is_full(self) -> bool:
        """True when nothing is cut short: the results are comparable with published ones."""
        return (
            self.train_limit is None
            and self.test_limit is None
            and self.max_epochs is None
        )

    def describe(self) -> str:
        """Return a one-line description, e.g. for a page or a log."""
        if self.is_full:
            return (
                f"profile {self.name}: full training and test sets, all epochs"
            )
        parts = [
            f"{self.train_limit:,} training images"
            if self.train_limit
            else "all training images",
            f"{self.test_limit:,} test images"
            if self.test_limit
            else "all test images",
            f"at most {self.max_epochs} epoch(s)"
            if self.max_epochs
            else "all epochs",
        ]
        return f"profile {self.name}: {', '.join(parts)}; NOT comparable with published results"


PROFILES = {
    "full": Profile("full"),
    "smoke": Profile(
        "smoke", train_limit=2_000, test_limit=1_000, max_epochs=1
    ),
}


def current_profile() -> Profile:
    """Return the profile named by ``$DLCOURSE_PROFILE`` (default ``full``)."""
    name = os.environ.get(ENV_VAR, "").strip() or "full"
    if name not in PROFILES:
        raise ValueError(
            f"{ENV_VAR}={name!r} is not a profile; use one of {', '.join(sorted(PROFILES))}"
        )
    return PROFILES[name]
