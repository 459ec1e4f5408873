"""The course's models, each built the same way in Keras 3 and in PyTorch.

An :class:`Architecture` names a model and its few options; :func:`keras_model` and
:func:`torch_model` build it in either framework with the same layers and the same number of
parameters. Layer sizes that follow from the input (the width of a flattened feature map) are
computed, not typed.
"""

from __future__ import annotations

from dataclasses import dataclass

IMAGE_SIDE = 28
NUM_PIXELS = IMAGE_SIDE * IMAGE_SIDE
NUM_CLASSES = 10

MLP_HIDDEN = (200, 100, 60, 30)
ACTIVATIONS = ("sigmoid", "tanh", "relu")
KINDS = ("softmax", "mlp", "cnn", "pytorch_example", "lenet")


@dataclass(frozen=True)
class Architecture:
    """Which model to build: its kind, the activation of an MLP, and its dropout rate."""

    kind: str
    activation: str = "relu"
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"unknown model kind {self.kind!r}; choose one of {', '.join(KINDS)}"
            )
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {self.activation!r}; choose one of {', '.join(ACTIVATIONS)}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")

    @property
    def takes_images(self) -> bool:
        """True if the model reads 28x28 images, False if it reads rows of 784 pixels."""
        return self.kind in ("cnn", "pytorch_example", "lenet")


def conv_output_side(side: int, kernel: int, pool: int = 1) -> int:
    """Return the side of a square feature map after a 'valid' convolution and max-pooling."""
    return (side - kernel + 1) // pool


def _cnn_flat_size() -> int:
    """Width of the seed CNN's flattened features: two 3x3 convolutions, then 2x2 pooling."""
    side = conv_output_side(conv_output_side(IMAGE_SIDE, 3), 3, pool=2)
    return 32 * side * side


def _pytorch_example_flat_size() -> int:
    """Width of the PyTorch example's flattened features: (5x5 conv, 2x2 pool) twice."""
    side = conv_output_side(conv_output_side(IMAGE_SIDE, 5, pool=2), 5, pool=2)
    return 20 * side * side


def _lenet_flat_size() -> int:
    """Width of LeNet's flattened features: (5x5 conv, 2x2 pool) twice, 50 maps."""
    side = conv_output_side(conv_output_side(IMAGE_SIDE, 5, pool=2), 5, pool=2)
    return 50 * side * side


# --- Keras -----------------------------------------------------------------------------------


def keras_model(arch: Architecture):
    """Return an uncompiled ``keras.Sequential`` for ``arch``, ending in a softmax."""
    import keras
    from keras import layers

    if arch.kind == "softmax":
        body = [layers.Dense(NUM_CLASSES, activation="softmax")]
        inputs = keras.Input(shape=(NUM_PIXELS,))
    elif arch.kind == "mlp":
        body = []
        for width in MLP_HIDDEN:
            body.append(layers.Dense(width, activation=arch.activation))
            if arch.dropout:
                body.append(layers.Dropout(arch.dropout))
        body.append(layers.Dense(NUM_CLASSES, activation="softmax"))
        inputs = keras.Input(shape=(NUM_PIXELS,))
    elif arch.kind == "cnn":
        body = [
            layers.Conv2D(32, 3, activation="relu"),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(arch.dropout),
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            layers.Dropout(arch.dropout),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ]
        inputs = keras.Input(shape=(IMAGE_SIDE, IMAGE_SIDE, 1))
    elif arch.kind == "pytorch_example":
        body = [
            layers.Conv2D(10, 5),
            layers.MaxPooling2D(2),
            layers.Activation("relu"),
            layers.Conv2D(20, 5),
            layers.SpatialDropout2D(arch.dropout),
            layers.MaxPooling2D(2),
            layers.Activation("relu"),
            layers.Flatten(),
            layers.Dense(50, activation="relu"),
            layers.Dropout(arch.dropout),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ]
        inputs = keras.Input(shape=(IMAGE_SIDE, IMAGE_SIDE, 1))
    else:  # lenet
        body = [
            layers.Conv2D(20, 5),
            layers.MaxPooling2D(2),
            layers.Conv2D(50, 5),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(500, activation="relu"),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ]
        inputs = keras.Input(shape=(IMAGE_SIDE, IMAGE_SIDE, 1))
    return keras.Sequential([inputs, *body], name=arch.kind)


# --- PyTorch ---------------------------------------------------------------------------------


def torch_model(arch: Architecture):
    """Return a ``torch.nn.Sequential`` for ``arch`` that outputs logits (no softmax).

    PyTorch folds the softmax into its loss (``cross_entropy``) for numerical stability, so
    the last layer gives the evidence z; apply ``softmax`` to read probabilities.
    """
    from torch import nn

    activation = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}[
        arch.activation
    ]
    if arch.kind == "softmax":
        return nn.Sequential(nn.Linear(NUM_PIXELS, NUM_CLASSES))
    if arch.kind == "mlp":
        modules: list[nn.Module] = []
        width_in = NUM_PIXELS
        for width in MLP_HIDDEN:
            modules += [nn.Linear(width_in, width), activation()]
            if arch.dropout:
                modules.append(nn.Dropout(arch.dropout))
            width_in = width
        modules.append(nn.Linear(width_in, NUM_CLASSES))
        return nn.Sequential(*modules)
    if arch.kind == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 32, 3),
            nn.ReLU(),
            nn.Conv2d(32, 32, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Dropout(arch.dropout),
            nn.Flatten(),
            nn.Linear(_cnn_flat_size(), 256),
            nn.ReLU(),
            nn.Dropout(arch.dropout),
            nn.Linear(256, NUM_CLASSES),
        )
    if arch.kind == "pytorch_example":
        return nn.Sequential(
            nn.Conv2d(1, 10, 5),
            nn.MaxPool2d(2),
            nn.ReLU(),
            nn.Conv2d(10, 20, 5),
            nn.Dropout2d(arch.dropout),
            nn.MaxPool2d(2),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(_pytorch_example_flat_size(), 50),
            nn.ReLU(),
            nn.Dropout(arch.dropout),
            nn.Linear(50, NUM_CLASSES),
        )
    return nn.Sequential(
        nn.Conv2d(1, 20, 5),
        nn.MaxPool2d(2),
        nn.Conv2d(20, 50, 5),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(_lenet_flat_size(), 500),
        nn.ReLU(),
        nn.Linear(500, NUM_CLASSES),
    )


def count_parameters(model) -> int:
    """Return the number of trainable parameters of a Keras model or a PyTorch module."""
    if hasattr(model, "count_params"):
        return int(sum(int(w.numpy().size) for w in model.trainable_weights))
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))
