"""The results the 2018 course reported, the band each must be reproduced in, and its example.

Each :class:`Reported` names the gallery example that measures it (``plot_cnn.py``) and the
name that example saves its numbers under (``cnn.json``). The recipes themselves live in the
examples alone: this module holds the course's numbers, not how to train them.
"""

from __future__ import annotations

from dataclasses import dataclass

# Each band is the course's value ± 0.3 percentage points.
BAND = 0.3


@dataclass(frozen=True)
class Reported:
    """A test accuracy (in %) the 2018 course reported, and the example that reproduces it."""

    name: str
    title: str
    reported: float
    example: str
    reported_as: str = ""

    @property
    def low(self) -> float:
        """Return the lowest accuracy (in %) that reproduces the result."""
        return round(self.reported - BAND, 2)

    @property
    def high(self) -> float:
        """Return the highest accuracy (in %) that reproduces the result."""
        return round(self.reported + BAND, 2)

    def reported_text(self) -> str:
        """Return the value as the course wrote it, e.g. '91.7%' or '≈99.6%'."""
        return self.reported_as or f"{self.reported:g}%"

    def in_band(self, accuracy: float) -> bool:
        """Return True if a test accuracy (a fraction) lies in the band."""
        return self.low <= 100 * accuracy <= self.high


RESULTS = (
    Reported(
        "softmax", "Softmax regression", 91.7, "plot_softmax_regression.py"
    ),
    Reported(
        "mlp_sigmoid",
        "5-layer MLP, sigmoid",
        97.35,
        "plot_five_layer_network.py",
    ),
    Reported(
        "mlp_tanh", "5-layer MLP, tanh", 98.06, "plot_five_layer_network.py"
    ),
    Reported(
        "mlp_relu", "5-layer MLP, ReLU", 98.07, "plot_five_layer_network.py"
    ),
    Reported(
        "mlp_dropout",
        "5-layer MLP, ReLU, dropout 0.25",
        98.26,
        "plot_five_layer_network.py",
    ),
    Reported("cnn", "CNN (2 conv, max-pool, dense 256)", 99.23, "plot_cnn.py"),
    Reported(
        "cnn_expanded",
        "CNN on an expanded training set",
        99.6,
        "plot_cnn_expanded.py",
        reported_as="≈99.6%",
    ),
    Reported(
        "pytorch_example",
        "PyTorch's MNIST example net",
        98.45,
        "plot_pytorch_example.py",
    ),
)
NAMES = tuple(result.name for result in RESULTS)


class UnknownResultError(KeyError):
    """No result of the 2018 course has this name."""

    def __str__(self) -> str:
        return str(self.args[0])


def get(name: str) -> Reported:
    """Return the reported result ``name``; raise UnknownResultError naming the known ones."""
    for result in RESULTS:
        if result.name == name:
            return result
    raise UnknownResultError(
        f"no 2018 result named {name!r}; choose one of {', '.join(NAMES)}"
    )
