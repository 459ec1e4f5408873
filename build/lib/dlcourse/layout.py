"""Where this process stands among the processes ``torchrun`` started to train one model."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessLayout:
    """This process's rank among ``world_size`` processes, and its GPU on the node."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0

    def __post_init__(self) -> None:
        if (
            self.world_size < 1
            or not 0 <= self.rank < self.world_size
            or self.local_rank < 0
        ):
            raise ValueError(
                f"rank {self.rank} (local {self.local_rank}) does not fit "
                f"{self.world_size} process(es)"
            )

    @classmethod
    def from_env(cls) -> ProcessLayout:
        """Return the layout torchrun describes in WORLD_SIZE, RANK and LOCAL_RANK."""
        try:
            return cls(
                world_size=int(os.environ.get("WORLD_SIZE", "1")),
                rank=int(os.environ.get("RANK", "0")),
                local_rank=int(os.environ.get("LOCAL_RANK", "0")),
            )
        except ValueError as err:
            raise ValueError(
                f"torchrun's WORLD_SIZE/RANK/LOCAL_RANK do not fit: {err}"
            ) from err

    @property
    def is_main(self) -> bool:
        """True for the one process that writes checkpoints, results and logs."""
        return self.rank == 0


# The layout of a run started without torchrun.
SINGLE_PROCESS = ProcessLayout()
